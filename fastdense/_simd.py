"""Pick, at import, the widest build of the compiled modules that this CPU runs.

``setup.py`` builds ``fastdense._kernels`` and ``fastdense._train`` for
baseline x86-64 and, where it can, again for x86-64-v3 (AVX2) into
``fastdense._avx2`` and for x86-64-v4 (AVX-512) into ``fastdense._avx512``,
all from the same C with no fused multiply-adds, so every build gives the same
numbers bit for bit. :class:`BuildFinder` (installed by ``import fastdense``)
loads the chosen build under the baseline names the first time anything
imports them. ``FASTDENSE_SIMD=baseline`` (or ``avx2``, ``avx512``) forces a
choice, e.g. to compare builds.
"""

import contextlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys

#: Preference order, with the CPU features (NumPy's names) each build needs.
VARIANTS = {
    "avx512": ("AVX512_SKX", "AVX2", "FMA3", "F16C"),
    "avx2": ("AVX2", "FMA3", "F16C"),
}
#: The compiled modules (setup.py builds exactly these: the list is written here only).
MODULES = ("_kernels", "_train")


def _cpu_features():
    try:
        from numpy._core._multiarray_umath import (  # type: ignore[import-not-found]
            __cpu_features__,
        )
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__  # type: ignore[import-not-found]
    return __cpu_features__


def wanted_build():
    """``FASTDENSE_SIMD``, checked: "auto", "baseline" or a name of VARIANTS."""
    wanted = os.environ.get("FASTDENSE_SIMD", "auto").lower()
    if wanted not in ("auto", "baseline") and wanted not in VARIANTS:
        raise ValueError(
            f"FASTDENSE_SIMD must be 'auto', 'baseline' or one of {list(VARIANTS)}; got {wanted!r}"
        )
    return wanted


def _extension_file(folder, module):
    """The path of the compiled module `module` in `folder`, or None."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, module + suffix)
        if os.path.exists(path):
            return path
    return None


def _build_folder(package_dir, build):
    """Where the compiled modules of `build` ("baseline" or a name of VARIANTS) are."""
    return package_dir if build == "baseline" else os.path.join(package_dir, f"_{build}")


def select(package_dir):
    """The name of the widest build in `package_dir` this CPU runs ("baseline" if none).

    A build counts when all of its compiled modules are there; FASTDENSE_SIMD
    can ask for one (or for the baseline). Nothing is imported but NumPy's
    CPU feature table.
    """
    wanted = wanted_build()
    if wanted == "baseline":
        return "baseline"
    features = _cpu_features()
    for name, needed in VARIANTS.items():
        if wanted not in ("auto", name) or not all(features.get(f) for f in needed):
            continue
        if all(_extension_file(_build_folder(package_dir, name), m) for m in MODULES):
            return name
    return "baseline"


class _PreloadingLoader(importlib.machinery.ExtensionFileLoader):
    """An extension module's loader that runs its initialisation inside
    :func:`scipy_blas_preloaded` (where it binds SciPy's BLAS)."""

    def create_module(self, spec):
        with scipy_blas_preloaded(), bounded_spin_openmp():
            return super().create_module(spec)

    def exec_module(self, module):
        with scipy_blas_preloaded():
            super().exec_module(module)


class BuildFinder:
    """Loads ``<package>._kernels`` and ``<package>._train`` from the chosen build.

    An entry of ``sys.meta_path``: the first import of either module (``from .
    import _kernels``, ``import fastdense._train``, an unpickled object) picks
    the build once (:func:`select`) and loads the module under its usual name
    from that build's file, so nothing can import another build by mistake,
    and ``import fastdense`` itself loads no compiled code (nor NumPy).
    """

    def __init__(self, package, package_dir):
        self.package = package
        self.package_dir = package_dir
        self.build = None  # chosen at the first import of a compiled module

    def find_spec(self, fullname, path=None, target=None):
        parent, _, leaf = fullname.rpartition(".")
        if parent != self.package or leaf not in MODULES:
            return None
        if self.build is None:
            self.build = select(self.package_dir)
        origin = _extension_file(_build_folder(self.package_dir, self.build), leaf)
        if origin is None:
            raise ImportError(
                "fastdense's compiled kernels are not built. Install the package with "
                "`pip install .` and run Python from outside the source tree (or build "
                "in place with `python setup.py build_ext --inplace`).",
                name=fullname,
            )
        return importlib.util.spec_from_file_location(
            fullname, origin, loader=_PreloadingLoader(fullname, origin)
        )


def install(package, package_dir):
    """The :class:`BuildFinder` of `package` in ``sys.meta_path`` (added once)."""
    wanted_build()  # a bad FASTDENSE_SIMD fails at import, before any work
    for finder in sys.meta_path:
        if isinstance(finder, BuildFinder) and finder.package == package:
            return finder
    finder = BuildFinder(package, package_dir)
    sys.meta_path.insert(0, finder)
    return finder


# The spin of GNU libgomp's idle threads while fastdense's modules load it:
# 10,000 polls (about 0.1-0.3 ms) instead of its default 300,000 (several ms).
OPENMP_SPIN_COUNT = "10000"


@contextlib.contextmanager
def bounded_spin_openmp():
    """Load the compiled modules with OpenMP's idle threads spinning briefly.

    Loading a compiled module starts the OpenMP runtime (GNU libgomp), which
    reads ``GOMP_SPINCOUNT`` and ``OMP_WAIT_POLICY`` once, then. A thread that
    finds no work spins for the count, then sleeps. Its default count (several
    milliseconds of spinning) takes CPU time from the threads being waited for
    when other processes hold the cores; a passive policy (no spin) makes every
    parallel region wake sleeping threads, which costs more than the region
    saves on mid-sized networks (docs/performance.md has the measurements).
    A brief spin keeps the threads awake between the regions of one minibatch.
    When other processes hold the cores, the epoch loop's team tuner
    (fastdense._parallel) moves a fit to one thread.
    The variable is set only for the load, only if the user set neither it nor
    ``OMP_WAIT_POLICY``, and removed again (child processes do not inherit it).
    If another library started the same runtime first, its setting stands.
    """
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        yield
        return
    os.environ["GOMP_SPINCOUNT"] = OPENMP_SPIN_COUNT
    try:
        yield
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)


@contextlib.contextmanager
def scipy_blas_preloaded():
    """Let the compiled modules bind SciPy's BLAS without importing ``scipy.linalg``.

    They take their BLAS function pointers from ``scipy.linalg.cython_blas``
    when they are first imported; importing that module the usual way first
    runs ``scipy.linalg``'s ``__init__`` (about 0.3 s, most of ``import
    fastdense``). Inside this context the extension module is loaded from its
    file under its own name, without its parent package's ``__init__``; on
    exit the name is taken out of ``sys.modules`` again, so a later ``import
    scipy.linalg.cython_blas`` goes the usual way (and gets the same module
    object: an extension module is initialised once per process). Nothing
    changes if ``scipy.linalg`` is already imported or the file is not found.
    """
    name = "scipy.linalg.cython_blas"
    if name in sys.modules or "scipy.linalg" in sys.modules:
        yield
        return
    import scipy  # the package's own __init__ is light (tens of ms)

    folder = os.path.join(os.path.dirname(scipy.__file__), "linalg")
    paths = [
        os.path.join(folder, "cython_blas" + suffix)
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    ]
    path = next((p for p in paths if os.path.exists(p)), None)
    if path is None:  # an unusual SciPy layout: the usual import, slower
        yield
        return
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield
    finally:
        if sys.modules.get(name) is module:
            del sys.modules[name]
