"""The command line's model files: a fitted DenseBinaryClassifier plus its input preprocessing.

One safetensors file (no pickle) in :func:`fastdense.save`'s estimator format,
so it is also a :func:`fastdense.load`-able estimator, with two extra entries
for the standardization the CLI applied (``preprocess.mean``,
``preprocess.scale``; absent with ``--no-scale``) and, as string metadata, the
input column names, the one-hot categories and the target column's name, so
that ``fastdense predict`` can apply the same preprocessing to a new CSV.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .estimator import DenseBinaryClassifier
from .serialization import _estimator_arrays, _estimator_from, load_arrays, save_arrays

FORMAT = "fastdense-cli-model/1"

__all__ = ["save_model", "load_model"]


def save_model(
    clf: DenseBinaryClassifier,
    path: "str | os.PathLike[str]",
    *,
    mean: Optional[np.ndarray] = None,
    scale: Optional[np.ndarray] = None,
    info: Optional[Dict[str, Any]] = None,
) -> None:
    """Write a fitted estimator (and the standardization applied before it) to `path`.

    `info` is JSON-able metadata for the CLI (input columns, one-hot
    categories, target name).
    """
    arrays, meta = _estimator_arrays(clf)
    if mean is not None and scale is not None:
        arrays["preprocess.mean"] = np.asarray(mean, dtype=np.float64)
        arrays["preprocess.scale"] = np.asarray(scale, dtype=np.float64)
    save_arrays(arrays, path, metadata=dict(meta, format=FORMAT, info=json.dumps(info or {})))


def load_model(path: "str | os.PathLike[str]") -> Tuple[DenseBinaryClassifier, Dict[str, Any]]:
    """Read a file written by :func:`save_model`.

    Returns
    -------
    clf : DenseBinaryClassifier
        Fitted: predict / predict_proba / decision_function work.
    extra : dict
        ``mean`` and ``scale`` (arrays or None) and ``info`` (the CLI's metadata).

    Raises
    ------
    ValueError
        If the file is not a safetensors file written by the fastdense CLI.
    """
    arrays, meta = load_arrays(path)
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{os.fspath(path)!r} is not a fastdense command-line model file "
            f"(format {meta.get('format')!r}; expected {FORMAT!r})"
        )
    try:
        clf = _estimator_from(arrays, meta)
        info = json.loads(meta.get("info", "{}"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)!r}: damaged fastdense model file ({exc})") from None
    return clf, {"mean": arrays.get("preprocess.mean"),
                 "scale": arrays.get("preprocess.scale"), "info": info}
