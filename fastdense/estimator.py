"""The estimators' home before :mod:`fastdense.estimators`: a re-export, so old code and pickles work.

Pickles made before the move name ``fastdense.estimator.DenseBinaryClassifier``
and its optimizer states ``fastdense.estimator._SGDState`` / ``_AdamState``;
they load into the same classes, now defined in :mod:`fastdense.estimators`.
"""

from .estimators._base import _DenseBase
from .estimators._optimizers import _AdamState, _SGDState
from .estimators.binary import DenseBinaryClassifier
from .estimators.classifier import _ClassifierCore

__all__ = ["DenseBinaryClassifier", "_DenseBase", "_ClassifierCore", "_SGDState", "_AdamState"]
