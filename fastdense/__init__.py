"""fastdense: fast dense neural networks on the CPU.

Cython kernels (BLAS matrix products with fused element-wise work) under a
scikit-learn estimator and a PyTorch-compatible module API.
"""

import os as _os
from typing import TYPE_CHECKING as _TYPE_CHECKING

from . import _simd
from ._version import __version__

# The compiled modules (_kernels, _train) load from the widest build this CPU
# runs, the first time anything imports them (fastdense._simd.BuildFinder): not
# here, so that `import fastdense` (and `fastdense --version`) loads no NumPy.
_builds = _simd.install(__name__, _os.path.dirname(__file__))

# Every public name is imported when first used (PEP 562), so that `import fastdense`
# costs almost nothing: the compiled modules bring NumPy and SciPy's top level, the
# estimators scikit-learn (about 1 s), the nn API its modules. {name: (module,
# attribute or None for the module itself)}.
_LAZY = {
    "kernels": ("kernels", None),
    "nn": ("nn", None),
    "optim": ("optim", None),
    "DenseBinaryClassifier": ("estimators.binary", "DenseBinaryClassifier"),
    "DenseClassifier": ("estimators.classifier", "DenseClassifier"),
    "DenseRegressor": ("estimators.regressor", "DenseRegressor"),
    "DenseFeatures": ("estimators.features", "DenseFeatures"),
    "Tensor": ("autograd", "Tensor"),
    "Parameter": ("autograd", "Parameter"),
    "no_grad": ("autograd", "no_grad"),
    "enable_grad": ("autograd", "enable_grad"),
    "manual_seed": ("_random", "manual_seed"),
    "from_torch": ("interop", "from_torch"),
    "to_torch": ("interop", "to_torch"),
    "save": ("serialization", "save"),
    "load": ("serialization", "load"),
    "VersionWarning": ("_validation", "VersionWarning"),
    "gradcheck": ("_gradcheck", "gradcheck"),
    "GradcheckError": ("_gradcheck", "GradcheckError"),
}

__all__ = ["__version__", "SIMD", *_LAZY]

if _TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    SIMD: str
    from . import kernels, nn, optim
    from ._gradcheck import GradcheckError, gradcheck
    from ._random import manual_seed
    from ._validation import VersionWarning
    from .autograd import Parameter, Tensor, enable_grad, no_grad
    from .estimators import DenseBinaryClassifier, DenseClassifier, DenseFeatures, DenseRegressor
    from .interop import from_torch, to_torch
    from .serialization import load, save


def __getattr__(name):
    if name == "SIMD":
        #: Which build of the compiled modules runs: "avx512", "avx2" or "baseline".
        from . import _kernels  # noqa: F401  (the build is chosen at this import)

        return _builds.build
    if name in _LAZY or name in _simd.MODULES:  # (`fastdense._train` after `import fastdense`)
        import importlib

        module_name, attribute = _LAZY.get(name, (name, None))
        module = importlib.import_module(f".{module_name}", __name__)
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | {"SIMD"})
