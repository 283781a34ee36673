"""The scikit-learn estimators: drop-ins for MLPClassifier and MLPRegressor, on one core.

- :class:`DenseClassifier` (:mod:`.classifier`): MLPClassifier for binary,
  multi-class and multilabel targets;
- :class:`DenseBinaryClassifier` (:mod:`.binary`): the classifier restricted
  to binary targets, with ``decision_function``;
- :class:`DenseRegressor` (:mod:`.regressor`): MLPRegressor, squared error
  or Poisson loss, and the absolute error and Huber losses;
- :class:`DenseFeatures` (:mod:`.features`): a fitted network's hidden-layer
  activations as a transformer.

They share :mod:`._base` (parameters, fit, predict, persistence), which
runs the solvers of :mod:`._solvers` with the optimizer states of
:mod:`._optimizers` and reports to scikit-learn's callbacks through
:mod:`._callbacks`; :mod:`._params` holds the parameters' defaults,
constraints and docs once. Importing this package imports scikit-learn:
``import fastdense`` does not (its estimator names are lazy).
"""

from .binary import DenseBinaryClassifier
from .classifier import DenseClassifier
from .features import DenseFeatures
from .regressor import DenseRegressor

__all__ = ["DenseBinaryClassifier", "DenseClassifier", "DenseFeatures", "DenseRegressor"]
