"""PyTorch-compatible optimizers (``torch.optim``): PyTorch's update rules.

One module per rule, as in ``torch.optim``. SGD, Adam, AdamW, RMSprop and
Adagrad run in the compiled kernels; the other rules are NumPy on the
parameters' arrays, in PyTorch's order of operations.

Examples
--------
>>> from fastdense import nn, optim
>>> model = nn.Linear(3, 1)
>>> opt = optim.Adam(model.parameters(), lr=1e-3)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
"""

from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "ASGD",
    "NAdam",
    "RAdam",
    "Rprop",
    "LBFGS",
    "Adafactor",
    "Muon",
    "lr_scheduler",
    "swa_utils",
]

# what torch.optim has and fastdense does not, with the reason (an AttributeError that says so)
_NOT_PROVIDED = {
    "SparseAdam": "sparse gradients (torch.sparse) are out of fastdense's scope",
}


def __getattr__(name: str):
    if name in _NOT_PROVIDED:
        raise AttributeError(
            f"fastdense.optim has no attribute {name!r}: fastdense does not "
            f"implement torch.optim.{name} ({_NOT_PROVIDED[name]}; see "
            "docs/pytorch_api.md)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
