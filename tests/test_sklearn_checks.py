"""scikit-learn's estimator checks, with no expected failures."""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor


@parametrize_with_checks(
    [
        DenseBinaryClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0),
        DenseBinaryClassifier(
            hidden_layer_sizes=(6, 4), solver="lbfgs", max_iter=20, random_state=0
        ),
        # enough iterations for the checks' training scores (accuracy > 0.83, R^2 > 0.5)
        DenseClassifier(
            hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01, random_state=0
        ),
        DenseClassifier(hidden_layer_sizes=(6, 4), solver="lbfgs", max_iter=50, random_state=0),
        DenseRegressor(
            hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01, random_state=0
        ),
        DenseRegressor(hidden_layer_sizes=(6, 4), solver="lbfgs", max_iter=50, random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
