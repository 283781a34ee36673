"""Pick, at import, the widest build of the compiled modules that this CPU runs.

``setup.py`` builds ``fastdense._kernels`` and ``fastdense._train`` for
baseline x86-64 and, where it can, again for x86-64-v3 (AVX2) into
``fastdense._avx2`` and for x86-64-v4 (AVX-512) into ``fastdense._avx512``,
all from the same C with no fused multiply-adds, so every build gives the same
numbers bit for bit. :func:`select` registers the chosen build under the
baseline names before anything imports them. ``FASTDENSE_SIMD=baseline``
(or ``avx2``, ``avx512``) forces a choice, e.g. to compare builds.
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
MODULES = ("_kernels", "_train")


def _cpu_features():
    try:
        from numpy._core._multiarray_umath import (  # type: ignore[import-not-found]
            __cpu_features__,
        )
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__  # type: ignore[import-not-found]
    return __cpu_features__


def select(package):
    """Register the best build of `package`'s compiled modules; return its name.

    Returns "baseline" when no newer build fits the CPU, was built, or is
    asked for (``FASTDENSE_SIMD``).
    """
    wanted = os.environ.get("FASTDENSE_SIMD", "auto").lower()
    if wanted == "baseline":
        return "baseline"
    if wanted != "auto" and wanted not in VARIANTS:
        raise ValueError(
            f"FASTDENSE_SIMD must be 'auto', 'baseline' or one of {list(VARIANTS)}; got {wanted!r}"
        )
    features = _cpu_features()
    for name, needed in VARIANTS.items():
        if wanted not in ("auto", name) or not all(features.get(f) for f in needed):
            continue
        try:
            modules = {m: importlib.import_module(f"{package}._{name}.{m}") for m in MODULES}
        except ImportError:  # not built here (another platform, or FASTDENSE_SIMD_BUILD=0)
            continue
        for m, module in modules.items():
            sys.modules[f"{package}.{m}"] = module
            setattr(sys.modules[package], m, module)
        return name
    return "baseline"


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
    paths = [os.path.join(folder, "cython_blas" + suffix)
             for suffix in importlib.machinery.EXTENSION_SUFFIXES]
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
