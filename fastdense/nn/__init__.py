"""PyTorch-compatible neural-network modules (``torch.nn`` for dense binary classifiers).

Examples
--------
>>> import numpy as np, fastdense as fd
>>> from fastdense import nn
>>> _ = fd.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
>>> loss = nn.BCEWithLogitsLoss()(model(np.ones((4, 3))), np.ones((4, 1)))
>>> loss.backward()
>>> model[0].weight._grad.shape
(8, 3)
"""

from ..autograd import Parameter
from . import functional, init, utils
from .layers import (
    ELU,
    GELU,
    BatchNorm1d,
    CrossEntropyLoss,
    Flatten,
    HuberLoss,
    L1Loss,
    LayerNorm,
    LogSoftmax,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    SiLU,
    SmoothL1Loss,
    Softmax,
    Softplus,
)
from .modules import (
    BCELoss,
    BCEWithLogitsLoss,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)

__all__ = [
    "Module",
    "Parameter",
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
    "functional",
    "init",
    "utils",
]
