"""Build the compiled kernels of fastdense.

All Cython directives live here. Set ``FASTDENSE_DEBUG=1`` at build time to
turn bounds checking, negative indexing checks and initialisation checks back
on (slow; for debugging and the memory-safety run).

On x86-64 each compiled module is also built for two newer instruction sets
(x86-64-v3: AVX2; x86-64-v4: AVX-512) into ``fastdense._avx2`` and
``fastdense._avx512``; ``fastdense._simd`` picks, at import, the widest one
the CPU runs. The variants are compiled from the same C with
``-ffp-contract=off``, so no multiply-add is fused: they give the baseline's
results bit for bit, only with wider vectors. ``FASTDENSE_SIMD_BUILD=0``
skips them.
"""
import os
import platform
import tempfile

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



def _compiled_modules():
    """The compiled modules' names, from ``fastdense/_simd.py`` (which loads them): written once.

    _simd.py is read as a standalone file (it imports only the standard library), so the
    build does not import the fastdense package and its dependencies.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_fastdense_simd", os.path.join(os.path.dirname(os.path.abspath(__file__)), "fastdense", "_simd.py")
    )
    simd = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(simd)
    return list(simd.MODULES)


MODULES = _compiled_modules()

# (subpackage, flags): x86-64 microarchitecture levels, contraction off.
SIMD_VARIANTS = [
    ("_avx2", ["-march=x86-64-v3", "-ffp-contract=off"]),
    ("_avx512", ["-march=x86-64-v4", "-ffp-contract=off"]),
]


def _compiler_accepts(flags):
    """Whether the C compiler setuptools will use compiles a trivial file with `flags`."""
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        try:
            compiler.compile([src], output_dir=tmp, extra_postargs=flags)
        except Exception:
            return False
    return True


def _simd_variants():
    if DEBUG or os.environ.get("FASTDENSE_SIMD_BUILD", "1") in ("", "0"):
        return []
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    return [(pkg, flags) for pkg, flags in SIMD_VARIANTS if _compiler_accepts(flags)]


def _openmp_flags():
    """(compile flags, link flags) for OpenMP with the compiler setuptools will use.

    gcc and clang take ``-fopenmp`` at compile and link time, MSVC ``/openmp`` at
    compile time. A compiler without OpenMP (Apple's clang without libomp)
    builds without it: fastdense then runs every call on one thread, with the
    same results. ``FASTDENSE_OPENMP=0`` builds without it on purpose.
    """
    if os.environ.get("FASTDENSE_OPENMP", "1") in ("", "0"):
        return [], []
    from setuptools._distutils.ccompiler import new_compiler

    if new_compiler().compiler_type == "msvc":
        return ["/openmp"], []
    if _compiler_accepts(["-fopenmp"]):
        return ["-fopenmp"], ["-fopenmp"]
    return [], []


OPENMP_COMPILE, OPENMP_LINK = _openmp_flags()


def _extension(name, sources, extra=()):
    return Extension(
        name,
        sources,
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS + OPENMP_COMPILE + list(extra),
        extra_link_args=OPENMP_LINK,
    )


baseline = cythonize(
    [_extension(f"fastdense.{name}", [f"fastdense/{name}.pyx"]) for name in MODULES],
    compiler_directives=DIRECTIVES,
)
# The variants compile the C that cythonize generated for the baseline; a module
# keeps its name's last part, so fastdense._avx2._kernels is PyInit__kernels too.
variants = [
    _extension(f"fastdense.{pkg}.{ext.name.rsplit('.', 1)[1]}", list(ext.sources), flags)
    for pkg, flags in _simd_variants()
    for ext in baseline
]

setup(ext_modules=baseline + variants)
