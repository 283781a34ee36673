"""``fastdense info``: versions, compiled modules, BLAS libraries and threads."""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, Optional, TextIO

from .. import __version__


def register(sub: Any) -> None:
    sub.add_parser("info", help="versions, BLAS libraries and threads")


def run(args: Any = None, out: Optional[TextIO] = None) -> Dict[str, Any]:
    """``fastdense info``: versions, compiled modules, BLAS libraries and threads."""
    out = sys.stdout if out is None else out
    import platform

    from threadpoolctl import threadpool_info

    from .. import _kernels, _train

    print(
        f"fastdense {__version__} ({os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})",
        file=out,
    )
    print(
        f"Python {platform.python_version()} ({sys.executable}), {platform.platform()}, "
        f"{os.cpu_count()} CPUs",
        file=out,
    )
    versions: Dict[str, Optional[str]] = {}
    from importlib.metadata import PackageNotFoundError, version

    for name in (
        "numpy",
        "scipy",
        "scikit-learn",
        "threadpoolctl",
        "safetensors",
        "pandas",
        "matplotlib",
        "rich",
        "torch",
    ):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:  # not installed: say so, don't fail
            versions[name] = None
    print(
        "Packages: " + ", ".join(f"{k} {v or '(not installed)'}" for k, v in versions.items()),
        file=out,
    )
    from .. import SIMD

    print(f"Compiled modules ({SIMD} build): {_kernels.__name__}, {_train.__name__}", file=out)
    print("Thread pools (fastdense's BLAS is scipy's, via scipy.linalg.cython_blas):", file=out)
    pools = threadpool_info()
    for p in pools:
        print(
            f"  {p.get('user_api')}: {p.get('internal_api')} {p.get('version')}, "
            f"{p.get('num_threads')} threads"
            f"{', ' + str(p['architecture']) if p.get('architecture') else ''} "
            f"({p.get('filepath')})",
            file=out,
        )
    if not pools:
        print("  (none detected)", file=out)
    return {"versions": versions, "threadpools": pools, "simd": SIMD}
