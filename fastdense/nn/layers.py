"""Old home of the containers, normalisation, more activations and the other losses.

They now live one concept family per file (``container``, ``flatten``,
``normalization``, ``activation``, ``loss``); this module re-exports them so
that old imports and pickles naming ``fastdense.nn.layers`` still work.
"""

from .activation import ELU, GELU, LogSoftmax, SiLU, Softmax, Softplus
from .container import ModuleDict, ModuleList
from .flatten import Flatten
from .loss import CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .normalization import BatchNorm1d, LayerNorm

__all__ = [
    "ModuleList",
    "ModuleDict",
    "BatchNorm1d",
    "LayerNorm",
    "Flatten",
    "GELU",
    "SiLU",
    "ELU",
    "Softplus",
    "MSELoss",
    "L1Loss",
    "SmoothL1Loss",
    "HuberLoss",
    "Softmax",
    "LogSoftmax",
    "CrossEntropyLoss",
    "NLLLoss",
]
