"""Old home of ``Module``, ``Linear``, activations, ``Dropout``, ``Sequential``, BCE losses.

They now live one concept family per file (``module``, ``linear``,
``activation``, ``dropout``, ``container``, ``loss``); this module re-exports
them so that old imports and pickles naming ``fastdense.nn.modules`` still work.
"""

from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .container import Sequential
from .dropout import Dropout
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss
from .module import Module, RemovableHandle

__all__ = [
    "Module",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "Identity",
    "Dropout",
    "Sequential",
    "BCEWithLogitsLoss",
    "BCELoss",
    "RemovableHandle",
]
