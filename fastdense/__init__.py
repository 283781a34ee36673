"""fastdense: fast dense neural networks on the CPU.

Cython kernels (BLAS matrix products with fused element-wise work) under a
scikit-learn estimator and a PyTorch-compatible module API.
"""

from ._version import __version__
from ._simd import select as _select_simd

#: Which build of the compiled modules runs: "avx512", "avx2" or "baseline".
SIMD = _select_simd(__name__)

try:
    from . import _kernels  # noqa: F401
except ImportError as exc:  # pragma: no cover - only in an unbuilt source tree
    raise ImportError(
        "fastdense's compiled kernels are not built. Install the package with "
        "`pip install .` and run Python from outside the source tree (or build "
        "in place with `python setup.py build_ext --inplace`)."
    ) from exc

from . import kernels
from ._random import manual_seed
from .autograd import Parameter, Tensor, enable_grad, no_grad
from . import nn, optim
from .interop import from_torch, to_torch
from .serialization import load, save
from ._validation import VersionWarning
from ._gradcheck import GradcheckError, gradcheck

__all__ = ["__version__", "kernels", "DenseBinaryClassifier", "DenseClassifier",
           "DenseRegressor", "nn", "optim", "Tensor",
           "Parameter", "no_grad", "enable_grad", "manual_seed", "from_torch", "to_torch",
           "save", "load", "VersionWarning", "gradcheck", "GradcheckError"]

# The estimators import scikit-learn (about 1 s): only when first used (PEP 562), so that
# `import fastdense`, `fastdense --help` and the kernels and nn API start fast.
_LAZY = {"DenseBinaryClassifier": "estimator", "DenseClassifier": "classifier",
         "DenseRegressor": "regressor"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
