"""Old home of ``RMSprop`` and ``Adagrad``, kept so old imports and pickles work.

The rules now live in :mod:`fastdense.optim.rmsprop` and
:mod:`fastdense.optim.adagrad`, one module per rule as in ``torch.optim``.
"""

from .adagrad import Adagrad
from .rmsprop import RMSprop

__all__ = ["RMSprop", "Adagrad"]
