"""PyTorch-compatible neural-network modules (``torch.nn``), one concept family per file.

``module`` (Module and hooks), ``container``, ``linear``, ``activation``,
``normalization``, ``dropout``, ``loss``, ``embedding``, ``flatten``, ``distance``; their
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
from . import (
    activation,
    container,
    distance,
    dropout,
    embedding,
    flatten,
    functional,
    init,
    linear,
    loss,
    normalization,
    utils,
)

# Each family module's __all__ is the one list of its public names: the namespace
# re-exports them (a new module class is one entry there, not three).
from .activation import *  # noqa: F403
from .container import *  # noqa: F403
from .distance import *  # noqa: F403
from .dropout import *  # noqa: F403
from .embedding import *  # noqa: F403
from .flatten import *  # noqa: F403
from .lazy import LazyModuleMixin, UninitializedParameter
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import Module
from .normalization import *  # noqa: F403

__all__ = [
    "Module",
    "Parameter",
    "UninitializedParameter",
    "LazyModuleMixin",
    *container.__all__,
    *linear.__all__,
    *activation.__all__,
    *normalization.__all__,
    *dropout.__all__,
    *loss.__all__,
    *embedding.__all__,
    *flatten.__all__,
    *distance.__all__,
    "functional",
    "init",
    "utils",
]
