"""DenseFeatures: a fitted network's hidden-layer activations as a scikit-learn transformer.

A meta-transformer in the manner of :class:`sklearn.feature_selection.SelectFromModel`:
``fit`` fits a clone of a fastdense estimator (or, with ``prefit=True``, takes
a deep copy of a fitted one), ``transform`` runs the fitted network's compiled
prediction path and returns one hidden layer's activations instead of the
output (eval mode: whatever the prediction path does at predict time).
"""

from copy import deepcopy
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import _DenseBase

__all__ = ["DenseFeatures"]


class DenseFeatures(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """The activations of a hidden layer of a fastdense network, as features.

    Fits a fastdense estimator (:class:`~fastdense.DenseClassifier`,
    :class:`~fastdense.DenseBinaryClassifier` or
    :class:`~fastdense.DenseRegressor`) and transforms X into the activations
    of one of its hidden layers: a learned, non-linear embedding to feed a
    linear model, a tree ensemble or a nearest-neighbour search. Computed by
    the same compiled forward pass as ``predict`` (no dropout, running
    statistics: the network as it predicts).

    Parameters
    ----------
    estimator : DenseClassifier, DenseBinaryClassifier or DenseRegressor
        The network. Cloned and fitted by :meth:`fit`, unless ``prefit``.

    layer : int, default=-1
        Which hidden layer: an index into ``hidden_layer_sizes`` (negative
        values count from the last hidden layer, as Python's indexing). A
        ValueError names ``layer`` if the network has no such hidden layer.

    prefit : bool, default=False
        Whether ``estimator`` is already fitted: :meth:`fit` then only checks
        it and keeps a deep copy (as SelectFromModel), whatever X and y are.

    Attributes
    ----------
    estimator_ : estimator
        The fitted network: a fitted clone, or a deep copy with ``prefit=True``.

    layer_ : int
        The hidden layer's index into ``hidden_layer_sizes``, non-negative.

    n_features_in_ : int
        Number of features of X (the network's).

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features of X, when the network was fitted on named features.

    See Also
    --------
    sklearn.feature_selection.SelectFromModel : The meta-transformer this one follows.

    Notes
    -----
    Feature names out are ``densefeatures_layer{k}_{j}``: unit j of layer k,
    numbered as ``n_layers_`` numbers them (the input is layer 0, the first
    hidden layer is layer 1).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from fastdense import DenseClassifier, DenseFeatures
    >>> X, y = load_iris(return_X_y=True)
    >>> features = DenseFeatures(DenseClassifier(hidden_layer_sizes=(8, 4), solver="lbfgs",
    ...                                          max_iter=200, random_state=0), layer=0)
    >>> features.fit_transform(X, y).shape
    (150, 8)
    >>> features.get_feature_names_out()[:2].tolist()
    ['densefeatures_layer1_0', 'densefeatures_layer1_1']
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "layer": [Integral],
        "prefit": ["boolean"],
    }

    def __init__(self, estimator: Any, *, layer: int = -1, prefit: bool = False) -> None:
        self.estimator = estimator
        self.layer = layer
        self.prefit = prefit

    @staticmethod
    def _check_network(estimator):
        if not isinstance(estimator, _DenseBase):
            raise TypeError(
                "DenseFeatures takes a fastdense DenseClassifier, DenseBinaryClassifier or "
                f"DenseRegressor; got {type(estimator).__name__}"
            )

    def _resolved_layer(self):
        """``layer`` as a non-negative index into the fitted hidden layers, or ValueError."""
        n_hidden = int(self.estimator_.n_layers_) - 2
        layer = self.layer
        if (
            isinstance(layer, (bool, np.bool_))
            or not isinstance(layer, Integral)
            or not (-n_hidden <= layer < n_hidden)
        ):
            raise ValueError(
                f"layer={layer!r} is not a hidden layer of this network: it has "
                f"{n_hidden} hidden layer{'s' if n_hidden != 1 else ''} (layer takes "
                f"{-n_hidden} .. {n_hidden - 1})"
            )
        return int(layer) % n_hidden

    @_fit_context(prefer_skip_nested_validation=False)  # the estimator validates its own
    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> "DenseFeatures":
        """Fit the network (a clone of ``estimator``), or take a copy of a prefit one.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets of the network.

        **fit_params : dict
            Passed to the estimator's ``fit`` (e.g. ``sample_weight``,
            ``X_val``/``y_val``); with metadata routing enabled, routed to it
            as it requests them. Ignored with ``prefit=True``.

        Returns
        -------
        self : DenseFeatures
            The fitted transformer.
        """
        self._check_network(self.estimator)
        if self.prefit:
            try:
                check_is_fitted(self.estimator, "coefs_")
            except NotFittedError as exc:
                raise NotFittedError(
                    "With prefit=True, `estimator` must be a fitted estimator."
                ) from exc
            self.estimator_ = deepcopy(self.estimator)
        else:
            if _routing_enabled():
                fit_params = process_routing(self, "fit", **fit_params).estimator.fit
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.layer_ = self._resolved_layer()
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        elif "feature_names_in_" in self.__dict__:
            del self.feature_names_in_
        return self

    @property
    def n_features_in_(self) -> int:
        """Number of features of X (the fitted network's)."""
        try:
            check_is_fitted(self)
        except NotFittedError as exc:
            raise AttributeError(
                f"{type(self).__name__} object has no n_features_in_ attribute."
            ) from exc
        return int(self.estimator_.n_features_in_)

    def transform(self, X: Any) -> np.ndarray:
        """The activations of hidden layer ``layer`` for each row of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data, checked as the network's ``predict`` checks it.

        Returns
        -------
        features : ndarray of shape (n_samples, hidden_layer_sizes[layer])
            The hidden layer's activations, in the network's dtype.
        """
        check_is_fitted(self)
        return self.estimator_._validated_decision(X, layer=self._resolved_layer())

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the hidden units: ``densefeatures_layer{k}_{j}``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the names seen in ``fit`` (as scikit-learn's
            transformers check them); they do not enter the output names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per unit of the hidden layer: k is the layer's number
            counting the input as layer 0, j the unit.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        layer = self._resolved_layer()
        width = self.estimator_.coefs_[layer].shape[1]
        prefix = f"{type(self).__name__.lower()}_layer{layer + 1}"
        return np.asarray([f"{prefix}_{j}" for j in range(width)], dtype=object)

    def get_metadata_routing(self) -> MetadataRouter:
        """The metadata routing of this transformer: fit's parameters go to the estimator's fit.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`.
        """
        return MetadataRouter(owner=self).add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = not self.prefit
        return tags
