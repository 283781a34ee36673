"""Build the compiled kernels of fastdense.

All Cython directives live here. Set ``FASTDENSE_DEBUG=1`` at build time to
turn bounds checking, negative indexing checks and initialisation checks back
on (slow; for debugging and the memory-safety run).

On x86-64 each compiled module is also built for two newer instruction sets
(x86-64-v3: AVX2; x86-64-v4: AVX-512) into ``fastdense._avx2`` and
``fastdense._avx512``; ``fastdense._simd`` picks, at import, the widest one
the CPU runs. The variants are compiled from the same C with multiply-add
contraction off (``-ffp-contract=off``; MSVC: ``/fp:precise``), so no
multiply-add is fused: they give the baseline's results bit for bit, only
with wider vectors. ``FASTDENSE_SIMD_BUILD=0`` skips them; other
architectures (arm64) build the baseline only.

The flags depend on the compiler that setuptools picked, which is known only
when the build runs: :func:`compiler_flags` chooses them from :data:`FLAGS`,
one table keyed by compiler family, and the ``build_ext`` below applies them.
Release builds are linked stripped (no debug symbols in the wheel).
"""

import os
import shutil
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTDENSE_DEBUG", "0") not in ("", "0")
# FASTDENSE_OPENMP=0 builds without OpenMP on purpose: every call then runs on one thread,
# with the same results.
OPENMP = os.environ.get("FASTDENSE_OPENMP", "1") not in ("", "0")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}


def _compiled_modules():
    """The compiled modules' names, from ``fastdense/_simd.py`` (which loads them): written once.

    _simd.py is read as a standalone file (it imports only the standard library), so the
    build does not import the fastdense package and its dependencies.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_fastdense_simd",
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "fastdense", "_simd.py"),
    )
    simd = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(simd)
    return list(simd.MODULES)


MODULES = _compiled_modules()

# Per compiler family ("unix": gcc and clang; "msvc"), what each build option
# adds as (compile flags, link flags). A new option (e.g. OpenMP) is one more
# key in each family. -O3, never -ffast-math/-Ofast: those set flush-to-zero
# for the whole process and change the rounding we test against.
FLAGS = {
    "unix": {
        "release": (["-O3", "-fno-math-errno"], []),
        "debug": (["-O0", "-g"], []),
        # x86-64 microarchitecture levels, multiply-add contraction off
        "_avx2": (["-march=x86-64-v3", "-ffp-contract=off"], []),
        "_avx512": (["-march=x86-64-v4", "-ffp-contract=off"], []),
        # Python's own CFLAGS carry -g: strip at link (macOS's ld: -S drops debug info)
        "strip": ([], ["-Wl,-S"] if sys.platform == "darwin" else ["-s"]),
        # our own threads (fastdense/_parallel.pxd): at compile and link time
        "openmp": (["-fopenmp"], ["-fopenmp"]),
    },
    "msvc": {
        "release": (["/O2"], []),
        "debug": (["/Od", "/Zi"], ["/DEBUG"]),
        # /fp:precise is MSVC's default; said explicitly because /fp:fast would contract
        "_avx2": (["/arch:AVX2", "/fp:precise"], []),
        "_avx512": (["/arch:AVX512", "/fp:precise"], []),
        "strip": ([], []),  # MSVC links without debug information unless /DEBUG
        "openmp": (["/openmp"], []),
    },
}
FLAGS["mingw32"] = FLAGS["unix"]

SIMD_VARIANTS = ["_avx2", "_avx512"]

NO_COMPILER = (
    "fastdense has no wheel for this platform and Python, so pip is building it from "
    "source, which needs a C compiler, and none was found ({}). Install one (Debian/Ubuntu: "
    "`sudo apt install build-essential python3-dev`; Fedora/RHEL: `sudo dnf install gcc "
    "python3-devel`; macOS: `xcode-select --install`; Windows: Microsoft C++ Build Tools), "
    "then run pip again."
)


def compiler_flags(compiler_type, options):
    """(compile flags, link flags) of `options` (keys of FLAGS) for a compiler family."""
    table = FLAGS.get(compiler_type, FLAGS["unix"])
    compile_args, link_args = [], []
    for option in options:
        c, link = table[option]
        compile_args += c
        link_args += link
    return compile_args, link_args


def _target_is_x86_64():
    # sysconfig's platform follows cibuildwheel's cross-compilation settings
    # (_PYTHON_HOST_PLATFORM), unlike platform.machine()
    return sysconfig.get_platform().lower().endswith(("x86_64", "amd64", "intel"))


def _simd_variants():
    if DEBUG or os.environ.get("FASTDENSE_SIMD_BUILD", "1") in ("", "0"):
        return []
    if not _target_is_x86_64():
        return []
    return SIMD_VARIANTS


class BuildExt(build_ext):
    """build_ext with flags chosen for the compiler in use, a clear message when
    there is none, and the SIMD variants the compiler cannot build left out."""

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        self._check_compiler(ctype)
        _cythonize(self.extensions)
        if self.parallel is None:  # the six modules are independent: use every core
            self.parallel = os.cpu_count() or 1
        kept = []
        for ext in self.extensions:
            variant = getattr(ext, "fastdense_variant", None)
            options = ["debug"] if DEBUG else ["release", "strip"]
            if OPENMP and self._accepts(ctype, compiler_flags(ctype, ["openmp"])[0]):
                # without OpenMP (Apple's clang without libomp) every call runs on one
                # thread, with the same results
                options.append("openmp")
            if variant:
                options.append(variant)
                if not self._accepts(ctype, compiler_flags(ctype, [variant])[0]):
                    print(
                        f"fastdense: the compiler does not take the {variant} flags; "
                        f"skipping {ext.name}"
                    )
                    continue
                # the same C under the variant's own path, so that its object file is its
                # own too (one shared path lets parallel builds overwrite each other's)
                folder = os.path.join(self.build_temp, "src", variant)
                os.makedirs(folder, exist_ok=True)
                copies = []
                for src in ext.sources:
                    copy = os.path.join(folder, os.path.basename(src))
                    shutil.copyfile(src, copy)
                    copies.append(copy)
                ext.sources = copies
            compile_args, link_args = compiler_flags(ctype, options)
            ext.extra_compile_args = list(ext.extra_compile_args) + compile_args
            ext.extra_link_args = list(ext.extra_link_args) + link_args
            kept.append(ext)
        self.extensions = kept
        super().build_extensions()

    def _check_compiler(self, ctype):
        if ctype == "msvc":
            try:
                self.compiler.initialize()
            except Exception as exc:  # setuptools' message lists vcvarsall and versions
                sys.exit("error: " + NO_COMPILER.format(exc))
            return
        cc = getattr(self.compiler, "compiler_so", None) or ["cc"]
        if shutil.which(cc[0]) is None:
            sys.exit("error: " + NO_COMPILER.format(f"`{cc[0]}` is not on PATH"))

    _accepted = {}

    def _accepts(self, ctype, flags):
        """Whether the compiler builds a trivial file with `flags`."""
        key = tuple(flags)
        if key not in self._accepted:
            with tempfile.TemporaryDirectory() as tmp:
                src = os.path.join(tmp, "probe.c")
                with open(src, "w") as f:
                    f.write("int probe(void) { return 0; }\n")
                try:
                    self.compiler.compile([src], output_dir=tmp, extra_postargs=flags)
                    self._accepted[key] = True
                except Exception:
                    self._accepted[key] = False
        return self._accepted[key]


def _extension(name, sources, variant=None):
    ext = Extension(
        name,
        sources,
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # libm named at link time binds expf/logf/exp/log/pow to their current glibc
        # symbol versions; left out, they bind to the oldest ones, which go through an
        # error-handling wrapper first (same values, a slower call)
        libraries=[] if sys.platform == "win32" else ["m"],
    )
    ext.fastdense_variant = variant
    return ext


def _cythonize(extensions):
    """Generate the C of the .pyx sources (only when building: the sdist and its metadata
    need no Cython run), and point every extension, variants included, at it."""
    pyx = sorted({s for ext in extensions for s in ext.sources if s.endswith(".pyx")})
    if pyx:
        cythonize(pyx, compiler_directives=DIRECTIVES, quiet=True)
    for ext in extensions:
        ext.sources = [s[: -len(".pyx")] + ".c" if s.endswith(".pyx") else s for s in ext.sources]


baseline = [_extension(f"fastdense.{name}", [f"fastdense/{name}.pyx"]) for name in MODULES]
# The variants compile the C that Cython generates for the baseline; a module keeps its
# name's last part, so fastdense._avx2._kernels is PyInit__kernels too.
variants = [
    _extension(f"fastdense.{pkg}.{name}", [f"fastdense/{name}.pyx"], pkg)
    for pkg in _simd_variants()
    for name in MODULES
]

setup(ext_modules=baseline + variants, cmdclass={"build_ext": BuildExt})
