"""``DenseRegressor``'s import path before :mod:`fastdense.estimators` (old code and pickles)."""

from .estimators.regressor import DenseRegressor

__all__ = ["DenseRegressor"]
