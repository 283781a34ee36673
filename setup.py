"""Build the compiled kernels of fastdense.

All Cython directives live here. Set ``FASTDENSE_DEBUG=1`` at build time to
turn bounds checking, negative indexing checks and initialisation checks back
on (slow; for debugging and the memory-safety run).
"""
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTDENSE_DEBUG", "0") not in ("", "0")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

# -O3, never -ffast-math/-Ofast: those set flush-to-zero for the whole process
# and change the rounding we test against.
COMPILE_ARGS = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno"]

MODULES = ["_kernels", "_train"]

extensions = [
    Extension(
        f"fastdense.{name}",
        [f"fastdense/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
    )
    for name in MODULES
]

setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES))
