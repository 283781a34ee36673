"""``DenseClassifier``'s import path before :mod:`fastdense.estimators` (old code and pickles)."""

from .estimators.classifier import DenseClassifier

__all__ = ["DenseClassifier"]
