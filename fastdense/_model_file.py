"""The command line's model files: a fitted DenseBinaryClassifier plus its input preprocessing.

One safetensors file (no pickle) holds the network's weights (``coefs.0``,
``intercepts.0``, ... in the estimator's own layout and dtype), the
standardization the CLI applied (``preprocess.mean``, ``preprocess.scale``,
absent with ``--no-scale``) and, as string metadata, the estimator's
parameters, its classes, the input column names, the one-hot categories and
the target column's name, so that ``fastdense predict`` can apply the same
preprocessing to a new CSV.

Built on :func:`fastdense.serialization.save_arrays` / ``load_arrays``. Where
the package has ``fastdense.save``'s estimator format (``serialization.
_estimator_arrays`` / ``_estimator_from``), the estimator is stored in that
format, so the file is also a ``fastdense.load``-able estimator with the
preprocessing as extra entries; otherwise in the format below.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .estimator import DenseBinaryClassifier
from . import serialization
from .serialization import load_arrays, save_arrays

FORMAT = "fastdense-cli-model/1"

__all__ = ["save_model", "load_model"]


def _json_params(clf: DenseBinaryClassifier) -> Dict[str, Any]:
    """The estimator's parameters that survive JSON unchanged (others keep their defaults)."""
    out: Dict[str, Any] = {}
    for key, value in clf.get_params(deep=False).items():
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, type):  # dtype=np.float32
            value = np.dtype(value).name
        try:
            if json.loads(json.dumps(value)) == value:
                out[key] = value
        except (TypeError, ValueError):
            pass
    return out


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
    clf._flat_params()
    extra: Dict[str, np.ndarray] = {}
    if mean is not None and scale is not None:
        extra["preprocess.mean"] = np.asarray(mean, dtype=np.float64)
        extra["preprocess.scale"] = np.asarray(scale, dtype=np.float64)
    estimator_arrays = getattr(serialization, "_estimator_arrays", None)
    if estimator_arrays is not None:  # fastdense.save's format, plus the CLI's entries
        est_arrays, est_meta = estimator_arrays(clf)
        est_arrays.update(extra)
        save_arrays(est_arrays, path,
                    metadata=dict(est_meta, format=FORMAT, info=json.dumps(info or {})))
        return
    arrays: Dict[str, np.ndarray] = {}
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        arrays[f"coefs.{i}"] = np.asarray(W)
        arrays[f"intercepts.{i}"] = np.asarray(b)
    arrays.update(extra)
    classes = np.asarray(clf.classes_)
    meta = {
        "format": FORMAT,
        "estimator": "DenseBinaryClassifier",
        "params": json.dumps(_json_params(clf)),
        "classes": json.dumps(classes.tolist()),
        "classes_dtype": classes.dtype.kind,
        "n_iter": json.dumps(int(getattr(clf, "n_iter_", 0))),
        "loss_curve": json.dumps([float(v) for v in (getattr(clf, "loss_curve_", None) or [])]),
        "info": json.dumps(info or {}),
    }
    names = getattr(clf, "feature_names_in_", None)
    if names is not None:
        meta["feature_names_in"] = json.dumps([str(n) for n in names])
    save_arrays(arrays, path, metadata=meta)


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
    estimator_from = getattr(serialization, "_estimator_from", None)
    if meta.get("fastdense_kind") == "DenseBinaryClassifier" and estimator_from is not None:
        try:
            clf = estimator_from(arrays, meta)
            info = json.loads(meta.get("info", "{}"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{os.fspath(path)!r}: damaged fastdense model file ({exc})") from None
        return clf, {"mean": arrays.get("preprocess.mean"),
                     "scale": arrays.get("preprocess.scale"), "info": info}
    try:
        params = json.loads(meta["params"])
        classes_list: List[Any] = json.loads(meta["classes"])
        info = json.loads(meta.get("info", "{}"))
        n_layers = sum(1 for k in arrays if k.startswith("coefs."))
        coefs = [arrays[f"coefs.{i}"] for i in range(n_layers)]
        intercepts = [arrays[f"intercepts.{i}"] for i in range(n_layers)]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)!r}: incomplete fastdense model file ({exc})") from None
    if n_layers == 0 or len(classes_list) != 2:
        raise ValueError(f"{os.fspath(path)!r}: incomplete fastdense model file")
    from sklearn.preprocessing import LabelBinarizer

    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    clf = DenseBinaryClassifier(**params)
    kind = meta.get("classes_dtype", "")
    classes = np.asarray(classes_list, dtype=object if kind == "O" else None)
    clf._label_binarizer = LabelBinarizer().fit(classes)
    clf.classes_ = clf._label_binarizer.classes_
    clf.n_features_in_ = int(coefs[0].shape[0])
    if "feature_names_in" in meta:
        clf.feature_names_in_ = np.asarray(json.loads(meta["feature_names_in"]), dtype=object)
    clf.n_layers_ = n_layers + 1
    clf.n_outputs_ = 1
    clf.out_activation_ = "logistic"
    clf.n_iter_ = int(json.loads(meta.get("n_iter", "0")))
    curve = json.loads(meta.get("loss_curve", "[]"))
    if curve:
        clf.loss_curve_ = curve
        clf.loss_ = curve[-1]
    clf._fit_dtype = np.dtype(coefs[0].dtype)
    clf.coefs_ = [np.array(W) for W in coefs]
    clf.intercepts_ = [np.array(b) for b in intercepts]
    clf._flat_params()  # one flat buffer that coefs_/intercepts_ view, as after fit
    extra = {
        "mean": arrays.get("preprocess.mean"),
        "scale": arrays.get("preprocess.scale"),
        "info": info,
    }
    return clf, extra
