"""The shared base of the estimators: parameters, fit, the solvers, predict.

``_DenseBase`` is scikit-learn's ``BaseMultilayerPerceptron`` run by the
compiled loops of ``fastdense._train``: it follows it step by step
(initialisation, shuffling, validation split, batches, loss, L2 scaling,
optimizer rules, stopping rules, messages), so the same ``random_state``,
data and hyperparameters give the same model up to floating-point rounding.
The estimators (:mod:`.binary`, :mod:`.classifier`, :mod:`.regressor`) own
their targets (``_validate_input``), output layer (``_output_activation``,
``_output``), the shape of their predictions (``_finish_predict``), their
default score and their ``__init__``.

All parameters live in one flat buffer laid out as scikit-learn's ``_pack``
(coefs raveled in (n_in, n_out) order, then intercepts); ``coefs_`` and
``intercepts_`` are views of it. Every door that hands the kernels a network
(fit, partial_fit, predict, unpickling, an edit of ``coefs_``) proves it
first with :func:`fastdense._network.check_network`.
"""

import warnings
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import _activations, _fast_input, _train, _version
from .._network import FittedNetwork, as_float_array, check_network, check_optimizer_state
from .._validation import MAX_BLAS_DIM as _MAX_BLAS_DIM
from .._validation import warn_if_other_version
from ._callbacks import _Callbacks, _CallbackSupportMixin
from ._optimizers import _AdamState, _SGDState
from ._params import CONSTRAINTS, DEFAULTS, LAYER_KEYWORDS
from ._solvers import _SolverMixin
from ._validation_set import check_presence, check_validation_set

if TYPE_CHECKING:  # pragma: no cover
    from .. import nn

__all__ = ["_DenseBase"]

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_LEAKY_RELU_SLOPE: float = 0.01  # DEFAULTS["leaky_relu_slope"], torch.nn.LeakyReLU's default
_MAX_LAYERS = _train.MAX_WEIGHT_LAYERS  # the kernels keep per-layer pointers on the stack
# Rows per predict chunk: about this many activations live at once.
_PREDICT_CHUNK_ELEMENTS = 1 << 18

_DIVERGED_HINT = (
    " Training diverged (stopped after {} iterations); lower learning_rate_init,"
    " scale the features (e.g. StandardScaler) or use dtype='float64'."
)
_NAN_OUTPUT = (
    "The network's output is NaN: its weights are not finite (a diverged fit?) or"
    " the input overflowed. Refit with a lower learning_rate_init or scaled features."
)


def _kernel_activation(name):
    """The kernel code of the estimator activation `name` (ValueError for anything else,
    e.g. an edited or unpickled ``activation``)."""
    return _activations.get(name).code


def _check_class_weight(class_weight):
    """Each weight of a class_weight dict (or per-label list of dicts) finite and >= 0.

    A negative weight turns the loss upside down and NaN poisons every
    gradient: the fit diverges without saying why. The input is what is wrong.
    """
    dicts = class_weight if isinstance(class_weight, list) else [class_weight]
    for d in dicts:
        if not isinstance(d, dict):
            continue
        for label, w in d.items():
            try:
                ok = bool(np.isfinite(w)) and w >= 0
            except TypeError:
                ok = False
            if not ok:
                raise ValueError(
                    f"class_weight[{label!r}] = {w!r}: class weights must be finite numbers >= 0"
                )


class _DenseBase(_SolverMixin, _CallbackSupportMixin, BaseEstimator):
    """The shared core of the estimators: parameters, solvers, the epoch loop, predict.

    Subclasses own their targets (``_validate_input``, ``_check_targets_state``),
    their output layer (``_output_activation``, ``_output``), the shape of
    their predictions (``_finish_predict``), their default validation score
    (``_default_score``), ``partial_fit`` and ``__init__``
    (:func:`._params.init_with`).
    """

    _parameter_constraints: dict = CONSTRAINTS

    # -------------------------------------------------------- parameters

    def _bind_views(self, params, layout):
        """Publish the flat buffer `params` as this estimator's network; coefs_/intercepts_ view it.

        `layout` is a ``_train.Layout`` or the layer widths to build one from.
        The network is ONE immutable :class:`~fastdense._network.FittedNetwork`
        in ``_fitted_net``, replaced as a whole (see :meth:`_snapshot`).
        """
        if not isinstance(layout, _train.Layout):
            layout = _train.Layout(layout, batch_norm=bool(getattr(self, "batch_norm", False)))
        self._publish(FittedNetwork(params, layout))

    def _publish(self, net):
        self._fitted_net = net
        self.coefs_ = net.coefs
        self.intercepts_ = net.intercepts

    def _snapshot(self):
        """The fitted network every reader uses: one FittedNetwork, read once.

        If ``coefs_`` / ``intercepts_`` are no longer the views the current
        network handed out (a user replaced an array, as MLPClassifier users
        sometimes do), the edit is proven, packed into a new buffer and
        published first. Proven means :func:`fastdense._network.check_network`:
        a refit in another thread that left ``coefs_`` of one network beside
        ``intercepts_`` of another is a ValueError, never a mixed call.
        """
        net = self.__dict__.get("_fitted_net")
        if net is not None and net.serves(self.coefs_, self.intercepts_):
            return net
        coefs, intercepts = self._edited_network()
        tail = self._batch_norm_tail()  # the batch norms' parameters and statistics
        layout = _train.Layout(self._checked_units(coefs, intercepts), batch_norm=tail is not None)
        parts = [a.ravel() for a in coefs + intercepts]
        if tail is not None:
            if tail.ndim != 1 or tail.shape[0] != layout.n_params - layout.bn_start:
                raise ValueError(
                    f"the batch-norm state has {tail.shape} values; the network "
                    f"needs {layout.n_params - layout.bn_start}"
                )
            parts.append(as_float_array(tail, "batch-norm state", coefs[0].dtype, cast_floats=True))
        net = FittedNetwork(np.concatenate(parts), layout)
        self._publish(net)
        return net

    def _flat_params(self):
        """(the flat parameter buffer, its layer widths) of :meth:`_snapshot`'s network."""
        net = self._snapshot()
        return net.params, net.units

    # read-only views of the published network, for the solvers and tools
    _params = property(lambda self: self._net_or_none("params"))
    _layout = property(lambda self: self._fitted_net.layout)
    _units = property(lambda self: self._fitted_net.layout.units)
    _coef_off = property(lambda self: self._fitted_net.layout.coef_off)
    _icpt_off = property(lambda self: self._fitted_net.layout.icpt_off)
    _units_list = property(lambda self: self._fitted_net.units)
    _n_in = property(lambda self: self._fitted_net.n_in)
    _width = property(lambda self: self._fitted_net.width)

    def _net_or_none(self, name):
        net = self.__dict__.get("_fitted_net")
        return None if net is None else getattr(net, name)

    def _batch_norm_tail(self):
        """The batch-norm part of the network (gamma, beta, running statistics per hidden
        layer, flat) to keep when coefs_/intercepts_ are re-packed; None without."""
        net = self.__dict__.get("_fitted_net")
        if net is not None:
            return net.params[net.layout.bn_start :].copy() if net.layout.batch_norm else None
        return self.__dict__.pop("_batch_norm_state", None)  # an unpickled estimator

    def _edited_network(self):
        """coefs_ / intercepts_ as the user left them, numeric arrays cast to the fitted dtype.

        Casting keeps what an edit like ``coefs_[0] = np.zeros(...)`` meant;
        anything that is not a list of numeric arrays is a TypeError, and the
        shapes are proven by :meth:`_checked_units`.
        """
        dtype = np.dtype(getattr(self, "_fit_dtype", np.float64))
        lists = []
        for name in ("coefs_", "intercepts_"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{name} must be a list of arrays; got {type(value).__name__}")
            arrays = [
                as_float_array(a, f"{name}[{i}]", dtype, cast_floats=True)
                for i, a in enumerate(value)
            ]
            lists.append(arrays)
        return lists[0], lists[1]

    def _checked_units(self, coefs, intercepts):
        """The layer widths of a network proven consistent with this estimator (or ValueError)."""
        n_features = getattr(self, "n_features_in_", None)
        units, _ = check_network(
            coefs,
            intercepts,
            n_outputs=getattr(self, "n_outputs_", None),
            max_layers=_MAX_LAYERS - 1,
            dtype=getattr(self, "_fit_dtype", None),
            n_features=None if n_features is None else int(n_features),
        )
        return units

    # ------------------------------------------------------- persistence

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        tail = self._batch_norm_tail() if "_fitted_net" in state else None
        if tail is not None:  # coefs_/intercepts_ carry the weights, this the batch norms
            state["_batch_norm_state"] = tail
        state.pop("_fitted_net", None)  # coefs_/intercepts_ carry the weights
        state.pop("_own_random_state", None)  # a private shortcut, rebuilt on the next fit
        state["_fastdense_version"] = _version.__version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        warn_if_other_version(state.pop("_fastdense_version", None), type(self).__name__)
        for name in LAYER_KEYWORDS:  # a pickle from before the parameter existed
            state.setdefault(name, DEFAULTS[name])
        # what the kernels index is rebuilt from coefs_ / intercepts_, never taken as given
        # (older versions pickled these beside coefs_)
        for private in (
            "_fitted_net",
            "_params",
            "_views",
            "_layout",
            "_units",
            "_coef_off",
            "_icpt_off",
            "_n_in",
            "_units_list",
            "_width",
        ):
            state.pop(private, None)
        super().__setstate__(state)
        if "coefs_" in state:  # re-link the unpickled arrays to one flat buffer, proven
            self._snapshot()
            self._check_fitted_state()

    def _check_fitted_state(self):
        """The fitted attributes beside the weights agree with them (unpickling, loading)."""
        self._check_targets_state()
        if getattr(self, "out_activation_", None) != self._output_activation():
            raise ValueError(
                f"out_activation_ is {getattr(self, 'out_activation_', None)!r}; "
                f"this network needs {self._output_activation()!r}"
            )
        _kernel_activation(self.activation)
        opt = getattr(self, "_optimizer", None)
        if opt is not None:
            for name in ("state1", "state2"):  # a read-only memmap (joblib) is copied:
                arr = getattr(opt, name, None)  # the kernels update the state in place
                if isinstance(arr, np.ndarray) and not arr.flags.writeable:
                    setattr(opt, name, np.array(arr))
            self._check_optimizer(opt)

    def _check_optimizer(self, opt):
        """An optimizer state that partial_fit / warm_start may hand to the kernel."""
        if type(opt) not in (_SGDState, _AdamState):
            raise ValueError(
                f"the fitted optimizer state is a {type(opt).__name__}; "
                "expected scikit-learn's SGD or Adam state"
            )
        check_optimizer_state(
            opt.state1,
            opt.state2,
            n_params=self._params.shape[0],
            dtype=self._params.dtype,
            kind="adam" if type(opt) is _AdamState else "sgd",
        )

    # ------------------------------------------------------------- input

    def _validate_params(self):
        # scikit-learn's check, with its constraint objects built once per class
        # (a third of a small fit's set-up); its own validation gives any error
        if not _fast_input.params_valid(self):
            super()._validate_params()

    @classmethod
    def _get_param_names(cls):
        # the __init__ signature, read once per class (get_params runs on every fit)
        return _fast_input.param_names(cls, super()._get_param_names)

    def _dtype_spec(self):
        if self.dtype is None:
            return (np.float64, np.float32)
        return np.dtype(self.dtype).type

    def _sample_weight(self, sample_weight, X, y_raw, incremental):
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if getattr(self, "class_weight", None) is None:
            return sample_weight
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported in partial_fit: the class "
                "frequencies of the whole data are unknown. Compute the weights once "
                "with sklearn.utils.class_weight.compute_class_weight and pass a dict."
            )
        _check_class_weight(self.class_weight)
        cw = compute_sample_weight(self.class_weight, y_raw).astype(X.dtype, copy=False)
        return cw if sample_weight is None else sample_weight * cw

    @staticmethod
    def _kernel_X(X, dtype):
        """(dense 2-D C array, CSR data, CSR indptr, CSR indices) for the kernels."""
        empty_i = np.zeros(0, dtype=np.intp)
        if sp.issparse(X):
            # scipy builds a CSR from user arrays without checking the indices; the
            # sparse kernel indexes the weights with them, so prove them in range first
            X.check_format(full_check=True)
            X = X.tocsr()
            data = np.ascontiguousarray(X.data, dtype=dtype)
            indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
            indices = np.ascontiguousarray(X.indices, dtype=np.intp)
            if indptr.shape[0] == 0:  # never: a CSR has n + 1 row pointers
                indptr = np.zeros(1, dtype=np.intp)
            dense = np.zeros((0, X.shape[1]), dtype=dtype)
            return dense, data, indptr, indices
        return (np.ascontiguousarray(X, dtype=dtype), np.zeros(0, dtype=dtype), empty_i, empty_i)

    def _output_code(self):
        """The compiled output layer and loss (``_train.OUTPUT_CODES``) of this network."""
        return _train.OUTPUT_CODES[self.out_activation_]

    def _net_spec(self, output=0, net=None, training=False):
        """The network (`net`, else the published one) as the kernels run it, with the
        current ``activation``, its slope, (DenseRegressor's) ``huber_delta`` and, for
        `training`, the dropout rates (prediction never drops: it skips reading them,
        which is most of a 1-row prediction's Python time)."""
        layout = (self._fitted_net if net is None else net).layout
        return _train.NetSpec(
            layout,
            _kernel_activation(self.activation),
            float(self.leaky_relu_slope),
            output,
            huber_delta=float(getattr(self, "huber_delta", 1.0)),
            dropout=self._dropout_rates(len(layout.units) - 2) if training else None,
        )

    def _dropout_rates(self, n_hidden):
        """One dropout probability per hidden layer, or None for no dropout.

        ``dropout`` is one float or a sequence of one float in [0, 1) per
        hidden layer (ValueError naming it otherwise).
        """
        p = self.dropout
        if np.ndim(p) == 0:
            rates = [p] * n_hidden
        else:
            rates = list(np.asarray(p, dtype=object).ravel()) if np.ndim(p) == 1 else None
            if rates is None or len(rates) != n_hidden:
                raise ValueError(
                    f"dropout must be a float or one probability per hidden "
                    f"layer ({n_hidden}); got {p!r}"
                )
        for r in rates:
            if (
                isinstance(r, (bool, np.bool_))
                or not isinstance(r, (Real, np.floating, np.integer))
                or not 0 <= float(r) < 1
            ):
                raise ValueError(f"dropout probabilities must be in [0, 1); got {p!r}")
        rates = [float(r) for r in rates]
        return rates if any(rates) else None

    # --------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        X_val: Any = None,
        y_val: Any = None,
        sample_weight_val: Any = None,
    ) -> Any:
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data (CSR/CSC sparse input runs a sparse first layer).

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets: class labels (or a label indicator matrix) for the
            classifiers, real values for the regressor.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (multiplied by the ``class_weight`` weights).

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            A validation set (``HistGradientBoosting*``'s keywords), checked
            like X. Each epoch (sgd/adam) or iteration (lbfgs) appends its loss
            (the training loss without the L2 term) to
            ``validation_loss_curve_`` and its score (``scoring``, default
            accuracy / R^2) to ``validation_scores_``. With
            ``early_stopping=True`` it replaces the ``validation_fraction``
            split: the stopping rule and the restored best weights use it. In a
            ``Pipeline`` it is not transformed by the earlier steps unless the
            pipeline has ``transform_input=["X_val"]`` (metadata routing).

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            The validation targets: labels the classifier learned from y (or
            a regressor's values with y's number of outputs). Required with X_val.

        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation loss and score (``class_weight`` is
            not applied to a given validation set, as in HistGradientBoosting).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation = (
            (X_val, y_val, sample_weight_val)
            if check_presence(X_val, y_val, sample_weight_val)
            else None
        )
        return self._fit(
            X, y, sample_weight=sample_weight, incremental=False, validation=validation
        )

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    def _fit(self, X, y, sample_weight=None, incremental=False, validation=None):
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        bad = [
            h
            for h in hidden_layer_sizes
            if isinstance(h, (bool, np.bool_)) or not isinstance(h, Integral)
        ]
        if bad:  # MLPClassifier raises TypeError for these too (from np.zeros)
            raise TypeError(
                f"hidden_layer_sizes must be integers; got {self.hidden_layer_sizes!r} "
                f"({bad[0]!r} is a {type(bad[0]).__name__})"
            )
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
        if len(hidden_layer_sizes) + 1 > _MAX_LAYERS:
            raise ValueError(
                f"at most {_MAX_LAYERS - 1} hidden layers are supported; got "
                f"{len(hidden_layer_sizes)}"
            )
        hidden_layer_sizes = [int(h) for h in hidden_layer_sizes]
        if self._dropout_rates(len(hidden_layer_sizes)) and self.solver == "lbfgs":
            raise ValueError(
                "dropout is not available with solver='lbfgs': a random mask makes the "
                "loss change between evaluations, which breaks L-BFGS's line search. Use "
                "solver='adam' or 'sgd', or dropout=0.0"
            )
        if self.batch_norm and self.solver == "lbfgs":
            raise ValueError(
                "batch_norm is not available with solver='lbfgs': each loss evaluation "
                "would move the running statistics. Use solver='adam' or 'sgd'"
            )
        self._check_blas_sizes(X, hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        X, y, y_raw = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X, y_raw, incremental)
        n_features = X.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [y.shape[1]]
        self._random_state = self._seeded_random_state()
        vset = None
        if validation is not None:  # proven before the network is (re)built
            dtype = X.dtype if first_pass else self._flat_params()[0].dtype
            vset = check_validation_set(self, *validation, dtype=dtype, n_outputs=layer_units[-1])

        if first_pass:
            self._initialize(layer_units, X.dtype)
        else:
            params, units_before = self._flat_params()
            if self._layout.batch_norm != bool(self.batch_norm):
                raise ValueError(
                    f"warm_start/partial_fit need the same network: it was fitted with "
                    f"batch_norm={self._layout.batch_norm}, now batch_norm={self.batch_norm}"
                )
            if units_before != layer_units:
                raise ValueError(
                    f"warm_start/partial_fit need the same network shape: fitted "
                    f"layer sizes {units_before}, now {layer_units}"
                )
            if params.dtype != X.dtype:
                X = X.astype(params.dtype)
                if sample_weight is not None:
                    sample_weight = sample_weight.astype(params.dtype)

        self._begin_validation_curves(vset is not None, first_pass)

        if self.solver in _STOCHASTIC_SOLVERS:
            max_subtasks = 1 if incremental else self.max_iter
        else:  # one subtask per L-BFGS iteration, plus the one scipy never runs
            max_subtasks = self.max_iter + 1
        callbacks = _Callbacks.begin(self, X, y_raw, sample_weight, max_subtasks)

        epochs_before = len(getattr(self, "loss_curve_", None) or ())
        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, y, sample_weight, incremental, callbacks, vset)
        else:
            self._fit_lbfgs(X, y, sample_weight, callbacks, vset)

        if not np.isfinite(self._params).all():
            # inf -> NaN: any NaN weight makes every output NaN, which predict refuses
            self._params[~np.isfinite(self._params)] = np.nan
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
                + _DIVERGED_HINT.format(self.n_iter_)
                + " The estimator refuses to predict with these weights."
            )
        loss = getattr(self, "loss_", None)  # none yet if interrupted in epoch 1
        if (
            loss is not None
            and not np.isfinite(loss)
            and not (self.early_stopping and self.solver in _STOCHASTIC_SOLVERS)
        ):
            raise ValueError(
                f"Solver produced a non-finite loss ({loss})." + _DIVERGED_HINT.format(self.n_iter_)
            )
        # this call's epochs only: an earlier fit on other labels says nothing of this run
        curve = getattr(self, "loss_curve_", None) if self.solver != "lbfgs" else None
        curve = curve[epochs_before:] if curve else None
        if curve and curve[-1] > 1.0 and curve[-1] > 4 * min(curve):
            # finite but blown up: worse than a constant guess and far above the best epoch
            warnings.warn(
                f"Training diverged: the loss rose from {min(curve):.4g} to "
                f"{curve[-1]:.4g}. Lower learning_rate_init or scale the features.",
                ConvergenceWarning,
            )
        if callbacks is not None:
            callbacks.end_fit()
        return self

    def _seeded_random_state(self):
        """``check_random_state(self.random_state)``, as scikit-learn's MLP calls it on every fit.

        For an integer seed, the generator this estimator made for the last
        call is re-seeded instead of replaced: ``RandomState.seed(seed)``
        leaves the very state ``RandomState(seed)`` starts from, without the
        ~0.1 ms of building a new MT19937 (a fixed cost of every fit and
        partial_fit). Only a generator the estimator made itself, and no one
        else holds, is ever re-seeded -- never the global one or a user's.
        """
        seed, own = self.random_state, self.__dict__.get("_own_random_state")
        if (
            own is not None
            and own is self.__dict__.get("_random_state")
            and isinstance(seed, Integral)
        ):
            own.seed(seed)
            return own
        rng = check_random_state(seed)
        self._own_random_state = rng if isinstance(seed, Integral) else None
        return rng

    def _check_blas_sizes(self, X, hidden_layer_sizes):
        """Reject sizes BLAS's 32-bit ints cannot take, before any copy or allocation."""
        shape = getattr(X, "shape", None)
        if shape is None or len(shape) != 2:
            return  # validate_data gives the error (or converts a list)
        n_samples, n_features = (int(d) for d in shape)
        if n_features > _MAX_BLAS_DIM:
            raise ValueError(
                f"X has {n_features} features; at most {_MAX_BLAS_DIM} are supported "
                "(BLAS takes 32-bit sizes)"
            )
        widest = max(hidden_layer_sizes, default=0)
        if widest > _MAX_BLAS_DIM:
            raise ValueError(
                f"hidden_layer_sizes has a layer of {widest} units; at most "
                f"{_MAX_BLAS_DIM} are supported (BLAS takes 32-bit sizes)"
            )
        if self.solver == "lbfgs" and n_samples > _MAX_BLAS_DIM:
            raise ValueError(
                f"solver='lbfgs' computes on all {n_samples} rows at once; at most "
                f"{_MAX_BLAS_DIM} are supported (BLAS takes 32-bit sizes). Use "
                "solver='adam' or 'sgd' (minibatches) for more rows"
            )
        if (
            self.solver != "lbfgs"
            and self.batch_size != "auto"
            and min(int(self.batch_size), n_samples) > _MAX_BLAS_DIM
        ):
            raise ValueError(
                f"batch_size={self.batch_size} exceeds {_MAX_BLAS_DIM}, the largest size BLAS takes"
            )

    def _initialize(self, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = int(layer_units[-1])
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        self._fit_dtype = np.dtype(dtype)
        layout = _train.Layout(layer_units, batch_norm=bool(self.batch_norm))
        params = np.empty(layout.n_params, dtype=dtype)
        if layout.batch_norm:
            params[layout.bn_start :] = layout.initial_batch_norm(dtype)
        self._bind_views(params, layout)
        # Glorot uniform, coefs then intercepts per layer, as MLPClassifier draws them.
        factor = _activations.get(self.activation).glorot_factor
        for i in range(self.n_layers_ - 1):
            fan_in, fan_out = layer_units[i], layer_units[i + 1]
            bound = np.sqrt(factor / (fan_in + fan_out))
            self.coefs_[i][...] = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            self.intercepts_[i][...] = self._random_state.uniform(-bound, bound, fan_out)
        self._best_params = params.copy()
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    # ----------------------------------------------------------- predict

    def _decision_validated(self, X, net=None, layer=-1):
        """The logits (n, n_outputs) of an already validated X, forward in row chunks.

        With `layer` l >= 0 (a hidden layer's index, < n_layers_ - 2), the
        activations (n, hidden_layer_sizes[l]) of that hidden layer instead,
        from the same compiled forward pass.
        """
        if net is None:
            net = self._snapshot()
        dtype = net.params.dtype
        if X.ndim != 2 or X.shape[1] != net.n_in:
            raise ValueError(
                f"X has {X.shape[1] if X.ndim == 2 else X.shape} features, but the network's "
                f"first layer (coefs_[0]) takes {net.n_in}; was n_features_in_ edited?"
            )
        Xd, xs_data, xs_indptr, xs_indices = self._kernel_X(X, dtype)
        n = X.shape[0]
        out = np.empty((n, net.units[layer + 1 if layer >= 0 else -1]), dtype=dtype)
        chunk, acts = self._predict_buffer(n, net)
        _train.decision_function(
            self._net_spec(net=net),
            Xd,
            xs_data,
            xs_indptr,
            xs_indices,
            n,
            net.params,
            acts,
            chunk,
            out.reshape(-1),
            layer,
        )
        return out

    def _predict_fast(self, X, binary_proba=False):
        """The logits (or, with `binary_proba`, the (n, 2) probabilities) in one compiled call.

        For the common call only: a C-ordered ndarray of the fitted dtype and
        width, with no feature names in play, finite (proven in the same
        call). These are the checks validate_data would make, without its
        fixed cost (most of the time of a small prediction). None for
        anything else, for non-finite X and for NaN logits: the caller then
        takes the full path, which raises the proper errors.
        """
        if not (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.shape[0] > 0
            and X.flags.c_contiguous
            and "feature_names_in_" not in self.__dict__
            and "_fitted_net" in self.__dict__
            and X.shape[1] == self.__dict__.get("n_features_in_")
        ):
            return None
        net = self._snapshot()
        params = net.params
        if X.dtype != params.dtype or X.shape[1] != net.n_in:
            return None
        n = X.shape[0]
        out = np.empty((n, 2 if binary_proba else net.units[-1]), dtype=params.dtype)
        chunk, acts = self._predict_buffer(n, net)
        status = _train.predict_dense(
            self._net_spec(net=net), X, params, acts, chunk, out, binary_proba
        )
        return None if status else out

    @staticmethod
    def _predict_buffer(n, net):
        """(rows per forward chunk, the activation buffer of one chunk) for predicting n rows.

        Memory is O(chunk x width), not O(n); a chunk is at least one row.
        """
        chunk = int(max(1, min(max(n, 1), _PREDICT_CHUNK_ELEMENTS // net.width)))
        return chunk, np.empty(chunk * net.width, dtype=net.params.dtype)

    def _validated_decision(self, X, layer=-1):
        """The logits (or, with `layer` >= 0, that hidden layer's activations) of a user's X."""
        z = self._predict_fast(X) if layer < 0 else None
        if z is not None:
            return z
        check_is_fitted(self)
        net = self._snapshot()
        dtype = net.params.dtype
        # float64 X is kept as it is for a float32 network, then cast unless it holds
        # values beyond float32's range: those run a float64 copy of the network, as
        # MLPClassifier's float64 X @ float32 coefs computes them
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            reset=False,
            dtype=(np.float64, np.float32) if dtype == np.float32 else dtype,
        )
        if X.dtype != dtype:
            values = X.data if sp.issparse(X) else X
            if values.size and np.abs(values).max() > np.finfo(dtype).max:
                net = FittedNetwork(net.params.astype(X.dtype), net.layout)
            else:
                X = X.astype(dtype)
        z = self._decision_validated(X, net, layer)
        if np.isnan(z).any():  # never a silent constant prediction from NaN weights
            raise ValueError(_NAN_OUTPUT)
        return z

    @property
    def module_(self) -> "nn.Sequential":
        """The fitted network as a :class:`fastdense.nn.Sequential`, in PyTorch's layout.

        ``Linear(n_in, n_out)`` layers with ``weight = coefs_[i].T`` and
        ``bias = intercepts_[i]``, each hidden one followed by its activation
        module (``nn.Identity`` for ``"identity"``; the registry's
        ``fastdense._activations``), with ``batch_norm`` an ``nn.BatchNorm1d``
        before it (its running statistics; ``num_batches_tracked`` is not
        kept and reads 0), with ``dropout`` an ``nn.Dropout`` after it (the
        module is returned in eval mode), and no output sigmoid:
        ``module_(X)`` is the output layer's pre-activation (the logits), an
        (n, n_outputs) tensor. Its
        ``state_dict()`` loads into the equivalent ``torch.nn.Sequential``.
        Built anew (a copy of the weights) on each access, so it always matches
        the current ``coefs_``; building it does not consume the random stream
        of :func:`fastdense.manual_seed`.
        """
        check_is_fitted(self, "coefs_")
        net = self._snapshot()  # proves an edited coefs_ / intercepts_ first
        from .. import nn
        from .._random import default_generator

        entry = _activations.get(self.activation)
        kwargs = (
            {"negative_slope": float(self.leaky_relu_slope)} if entry.name == "leaky_relu" else {}
        )
        rates = self._dropout_rates(len(net.coefs) - 1) or []
        norms = net.layout.batch_norm_state(net.params) if net.layout.batch_norm else []
        generator = default_generator()
        saved = generator.bit_generator.state
        try:
            layers: list = []
            for i, (W, b) in enumerate(zip(net.coefs, net.intercepts)):
                linear = nn.Linear(W.shape[0], W.shape[1], dtype=W.dtype)
                linear.load_state_dict({"weight": W.T, "bias": b})
                layers.append(linear)
                if i < len(net.coefs) - 1 and norms:
                    gamma, beta, mean, var = norms[i]
                    norm = nn.BatchNorm1d(W.shape[1], dtype=W.dtype)
                    norm.load_state_dict(
                        {
                            "weight": gamma,
                            "bias": beta,
                            "running_mean": mean,
                            "running_var": var,
                            "num_batches_tracked": norm.num_batches_tracked,
                        }
                    )
                    layers.append(norm)
                if i < len(net.coefs) - 1:
                    layers.append(getattr(nn, entry.module)(**kwargs))
                    if rates and rates[i] > 0:
                        layers.append(nn.Dropout(rates[i]))
        finally:
            generator.bit_generator.state = saved
        net = nn.Sequential(*layers)
        net.eval()
        return net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _predict(self, X):
        """``predict``: the output layer's values of X, shaped as the estimator returns them."""
        return self._finish_predict(self._output(self._validated_decision(X)))
