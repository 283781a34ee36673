"""scipy's BLAS held at one thread while fastdense's own threads run.

The compiled entry points that split products across fastdense's threads
(``fastdense._parallel``) call BLAS from each of those threads; BLAS must then
run each call on one thread: its own pool would oversubscribe the cores and,
when another process holds a core, OpenBLAS's spinning workers make a fit many
times slower. It also keeps every block of a product the same single-threaded
BLAS call whatever the thread counts, so results do not depend on them.

``hold()`` / ``release()`` bracket such a call (the entry points pair them in
try/finally). Holds nest and overlap across Python threads: the first sets the
library to one thread, the last gives it back its count. Only the OpenBLAS
that ``scipy.linalg.cython_blas`` calls is touched (a scipy wheel bundles its
own; numpy's is another library), and only for the length of the call.
"""

import glob
import os
import threading

_lock = threading.Lock()
_holders = 0
_saved = None  # the thread count to give back
_setter = None  # (get, set) of scipy's OpenBLAS, found on first use; () if none
_SYMBOLS = ("scipy_openblas", "openblas")


def _scipy_openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS scipy's cython_blas calls, or ()."""
    global _setter
    if _setter is not None:
        return _setter
    import ctypes

    import scipy

    found = ()
    libs = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _SYMBOLS:
            for suffix in ("", "64_"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype, get.argtypes = ctypes.c_int, []
                    put.restype, put.argtypes = None, [ctypes.c_int]
                    found = (get, put)
                    break
            if found:
                break
        if found:
            break
    if not found:  # scipy linked to a shared BLAS (conda, distributions): threadpoolctl finds it
        found = _threadpoolctl_blas()
    _setter = found
    return found


def _threadpoolctl_blas():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency of scikit-learn
        return ()
    libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    scipy_libs = [c for c in libs if "scipy" in c.filepath and "numpy" not in c.filepath]
    chosen = scipy_libs or [c for c in libs if "numpy.libs" not in c.filepath]
    if not chosen:
        return ()
    lib = chosen[0]
    return (lib.get_num_threads, lib.set_num_threads)


def hold():
    """Set scipy's BLAS to one thread until the matching ``release()``."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            blas = _scipy_openblas()
            if blas:
                n = blas[0]()
                _saved = n
                if n != 1:
                    blas[1](1)
        _holders += 1


def release():
    """Undo one ``hold()``; the last one gives scipy's BLAS its thread count back."""
    global _holders, _saved
    with _lock:
        _holders -= 1
        if _holders == 0:
            blas = _scipy_openblas()
            if blas and _saved is not None and _saved != 1:
                blas[1](_saved)
            _saved = None


def _after_fork_in_child():
    """A fork taken while another thread held BLAS: the child starts with no holds."""
    global _lock, _holders, _saved
    _lock = threading.Lock()
    if _holders and _setter and _saved is not None and _saved != 1:
        _setter[1](_saved)
    _holders, _saved = 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
