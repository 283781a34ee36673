"""PyTorch-compatible neural-network modules (``torch.nn``), one concept family per file.

``module`` (Module and hooks), ``container``, ``linear``, ``activation``,
``normalization``, ``dropout``, ``loss``, ``embedding``, ``flatten``; their
functional forms in ``functional``, initialisers in ``init``, helpers in ``utils``.

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
from .activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    RReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softmax2d,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .dropout import AlphaDropout, Dropout, Dropout1d, FeatureAlphaDropout
from .embedding import Embedding, EmbeddingBag
from .flatten import Flatten, Unflatten
from .linear import Bilinear, Identity, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .module import Module
from .normalization import BatchNorm1d, GroupNorm, LayerNorm, RMSNorm

__all__ = [
    "Module",
    "Parameter",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
    "Identity",
    "Linear",
    "Bilinear",
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "PReLU",
    "RReLU",
    "ELU",
    "CELU",
    "SELU",
    "GELU",
    "SiLU",
    "Mish",
    "Hardswish",
    "Hardsigmoid",
    "Hardtanh",
    "Softplus",
    "Softshrink",
    "Hardshrink",
    "Tanhshrink",
    "Threshold",
    "LogSigmoid",
    "Softsign",
    "Tanh",
    "Sigmoid",
    "GLU",
    "Softmax",
    "Softmin",
    "LogSoftmax",
    "Softmax2d",
    "BatchNorm1d",
    "LayerNorm",
    "GroupNorm",
    "RMSNorm",
    "Dropout",
    "Dropout1d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "L1Loss",
    "MSELoss",
    "SmoothL1Loss",
    "HuberLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "KLDivLoss",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
    "CosineEmbeddingLoss",
    "HingeEmbeddingLoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "Embedding",
    "EmbeddingBag",
    "Flatten",
    "Unflatten",
    "functional",
    "init",
    "utils",
]
