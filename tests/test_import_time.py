"""`import fastdense` stays light: nothing heavy is imported until a name needs it."""

import os
import subprocess
import sys
import tempfile

import fastdense

# the folder holding the package under test (never the unbuilt source root)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))
HEAVY = (
    "sklearn",
    "scipy.linalg",
    "scipy.special",
    "scipy.sparse",
    "scipy.optimize",
    "pandas",
    "matplotlib",
    "rich",
    "torch",
    "onnx",
    "dask",
    "ray",
    "fastdense.nn",
    "fastdense.autograd",
    "fastdense.estimator",
    "fastdense.estimators",
)


def _run(code):
    env = dict(os.environ, PYTHONPATH=_ROOT)
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        ).stdout


def _loaded(statement):
    code = f"import sys\n{statement}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    return _run(code).strip()


def test_import_fastdense_and_its_kernels_is_light():
    assert _loaded("import fastdense") == "[]"
    assert _loaded("import fastdense.kernels") == "[]"
    assert _loaded("import fastdense.cli") == "[]"


def test_lazy_names_resolve_and_scipy_blas_imports_normally_afterwards():
    out = _run(
        "import sys, fastdense as fd\n"
        "assert 'scipy.linalg.cython_blas' not in sys.modules\n"
        "assert fd.nn.Linear(2, 3).weight.shape == (3, 2)\n"
        "assert fd.Tensor is fd.autograd.Tensor and callable(fd.save) and fd.SIMD\n"
        "assert 'DenseClassifier' in dir(fd) and 'sklearn' not in sys.modules\n"
        "import scipy.linalg.cython_blas as cb, scipy.linalg\n"
        "assert scipy.linalg.cython_blas is cb and 'dgemm' in cb.__pyx_capi__\n"
        "import numpy as np; from fastdense import kernels\n"
        "print(fd.DenseBinaryClassifier.__name__)\n"
    )
    assert out.strip() == "DenseBinaryClassifier"


def test_unknown_name_is_an_attribute_error():
    out = _run(
        "import fastdense\ntry:\n    fastdense.nope\nexcept AttributeError as e:\n    print(e)\n"
    )
    assert "has no attribute 'nope'" in out
