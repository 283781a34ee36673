"""fastdense: fast dense neural networks on the CPU.

Cython kernels (BLAS matrix products with fused element-wise work) under a
scikit-learn estimator and a PyTorch-compatible module API.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from ._version import __version__
from ._simd import scipy_blas_preloaded as _scipy_blas_preloaded, select as _select_simd

try:
    with _scipy_blas_preloaded():
        #: Which build of the compiled modules runs: "avx512", "avx2" or "baseline".
        SIMD = _select_simd(__name__)
        from . import _kernels, _train  # noqa: F401
except ImportError as exc:  # pragma: no cover - only in an unbuilt source tree
    raise ImportError(
        "fastdense's compiled kernels are not built. Install the package with "
        "`pip install .` and run Python from outside the source tree (or build "
        "in place with `python setup.py build_ext --inplace`)."
    ) from exc

# Every public name is imported when first used (PEP 562), so that `import fastdense`
# costs NumPy, SciPy's top level and the compiled modules only: the estimators import
# scikit-learn (about 1 s), the nn API its modules. {name: (module, attribute or None
# for the module itself)}.
_LAZY = {
    "kernels": ("kernels", None), "nn": ("nn", None), "optim": ("optim", None),
    "DenseBinaryClassifier": ("estimators.binary", "DenseBinaryClassifier"),
    "DenseClassifier": ("estimators.classifier", "DenseClassifier"),
    "DenseRegressor": ("estimators.regressor", "DenseRegressor"),
    "Tensor": ("autograd", "Tensor"), "Parameter": ("autograd", "Parameter"),
    "no_grad": ("autograd", "no_grad"), "enable_grad": ("autograd", "enable_grad"),
    "manual_seed": ("_random", "manual_seed"),
    "from_torch": ("interop", "from_torch"), "to_torch": ("interop", "to_torch"),
    "save": ("serialization", "save"), "load": ("serialization", "load"),
    "VersionWarning": ("_validation", "VersionWarning"),
    "gradcheck": ("_gradcheck", "gradcheck"), "GradcheckError": ("_gradcheck", "GradcheckError"),
}

__all__ = ["__version__", *_LAZY]

if _TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from . import kernels, nn, optim
    from ._gradcheck import GradcheckError, gradcheck
    from ._random import manual_seed
    from ._validation import VersionWarning
    from .autograd import Parameter, Tensor, enable_grad, no_grad
    from .estimators import DenseBinaryClassifier, DenseClassifier
    from .interop import from_torch, to_torch
    from .estimators import DenseRegressor
    from .serialization import load, save


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        module = importlib.import_module(f".{module_name}", __name__)
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
