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
from .estimator import DenseBinaryClassifier
from .classifier import DenseClassifier
from .regressor import DenseRegressor
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
