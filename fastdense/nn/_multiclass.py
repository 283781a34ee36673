"""Old home of softmax, log-softmax and the multi-class losses (now in ``functional``).

Kept so that imports of ``fastdense.nn._multiclass`` keep working.
"""

from .functional import cross_entropy, log_softmax, nll_loss, one_hot, softmax

__all__ = ["softmax", "log_softmax", "cross_entropy", "nll_loss", "one_hot"]
