"""``fastdense predict``: a saved model's predictions for each row of a CSV."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Tuple

from . import _features
from ._common import UsageError, check_writable, pandas, read_csv


def register(sub: Any) -> None:
    pr = sub.add_parser(
        "predict",
        help="predict a CSV file with a saved model",
        description="Write one row per input row: a classifier's predicted label and one "
        "probability column per class (proba_<class>; multilabel: per target column), a "
        "regressor's predicted value(s). Columns the model was not trained on (e.g. the "
        "target) are ignored.",
    )
    pr.add_argument("model", metavar="MODEL")
    pr.add_argument("data", metavar="DATA.csv")
    pr.add_argument("--out", metavar="preds.csv", help="output CSV (default: stdout)")
    pr.add_argument("--sep", default=None, help="the CSV's field separator (default ',')")


def load(path: str) -> Tuple[Any, Dict[str, Any]]:
    """A model file of ``fastdense train`` (estimator, extra), its CLI metadata checked."""
    import numpy as np

    from ..io.model_file import load_model

    if not os.path.exists(path):
        raise UsageError(f"no such file: {path}")
    try:
        est, extra = load_model(path)
        info = extra["info"]
        columns = info.get("columns")
        if not columns:
            raise ValueError(f"{path} does not record its input columns")
        ts = info.get("target_scaling")
        if ts is not None:
            n_out = int(getattr(est, "n_outputs_", 1))
            ok = isinstance(ts, dict) and all(
                isinstance(ts.get(k), list)
                and len(ts[k]) == n_out
                and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
                    for v in ts[k]
                )
                for k in ("mean", "scale")
            )
            if not ok or not all(v > 0 for v in ts["scale"]) or not hasattr(est, "loss"):
                raise ValueError(
                    f"{path}: its target scaling must be finite numbers, one "
                    "mean and one scale > 0 per output of a regressor"
                )
    except (ValueError, OSError) as exc:  # every load failure (docs/reliability.md)
        raise UsageError(f"cannot load the model {path}: {exc}") from None
    return est, extra


def predictions(est: Any, info: Dict[str, Any], X: Any) -> Any:
    """The DataFrame `fastdense predict` writes."""
    import numpy as np

    pd = pandas()
    targets = info.get("targets") or [info.get("target", "target")]
    if hasattr(est, "classes_"):
        proba = est.predict_proba(X)
        if getattr(est, "out_activation_", None) == "logistic" and est.n_outputs_ > 1:
            # multilabel: one 0/1 prediction and one probability per target column
            cols: Dict[str, Any] = {}
            for j, t in enumerate(targets):
                cols[f"prediction_{t}"] = (proba[:, j] > 0.5).astype(np.int64)
            for j, t in enumerate(targets):
                cols[f"proba_{t}"] = proba[:, j]
            return pd.DataFrame(cols)
        labels = est.classes_[np.argmax(proba, axis=1)]
        cols = {"prediction": labels}
        cols.update({f"proba_{c}": proba[:, j] for j, c in enumerate(est.classes_)})
        return pd.DataFrame(cols)
    values = np.asarray(est.predict(X), dtype=np.float64).reshape(X.shape[0], -1)
    ts = info.get("target_scaling")
    if ts:
        values = values * np.asarray(ts["scale"]) + np.asarray(ts["mean"])
    if values.shape[1] == 1:
        return pd.DataFrame({"prediction": values[:, 0]})
    return pd.DataFrame({f"prediction_{t}": values[:, j] for j, t in enumerate(targets)})


def run(args: argparse.Namespace, out: Any = None) -> Any:
    """``fastdense predict``: label and class probabilities, or values, for each row."""
    out = sys.stdout if out is None else out
    pandas()
    check_writable(args.out, "predictions")
    est, extra = load(args.model)
    info = extra["info"]
    df = read_csv(args.data, args.sep)
    X, _ = _features.features(
        df, info["columns"], info.get("one_hot", {}), info.get("impute", {}), args.data
    )
    if extra["mean"] is not None:
        X = (X - extra["mean"]) / extra["scale"]
    result = predictions(est, info, X)
    if args.out:  # atomically: a full disk leaves the previous file, never a truncated one
        from ..io import atomic_write

        atomic_write(args.out, result.to_csv(index=False).encode("utf-8"))
        print(f"Wrote {len(result)} predictions to {args.out}", file=sys.stderr)
    else:
        result.to_csv(out, index=False)
    return result
