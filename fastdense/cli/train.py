"""``fastdense train``: fit one of the three estimators on a CSV and save it with its
preprocessing. Four steps: :func:`read` (the CSV, the columns and the target, hence the
estimator), :func:`preprocess` (encoding, gaps, scaling), :func:`fit`, :func:`report`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, TextIO

from . import _features
from ._common import (
    TrainingInterrupted,
    UsageError,
    activation_choices,
    check_writable,
    columns_list,
    cv_folds,
    nonneg_float,
    parse_hidden,
    positive_float,
    positive_int,
    read_csv,
    regression_loss_choices,
    solver_choices,
)
from ._progress import fit_with_progress, interruptions

# an integer-valued numeric target with more distinct values than this is a quantity
# (regression) rather than class labels; --task decides otherwise
_MAX_CLASSES_AUTO = 20


def register(sub: Any) -> None:
    t = sub.add_parser(
        "train",
        help="train on a CSV file and save the model",
        description="Train on a CSV file (one row per example, a header row) and save the "
        "model. The target decides the estimator: two classes DenseBinaryClassifier, more "
        "DenseClassifier, several 0/1 --target columns DenseClassifier (multilabel), a "
        f"numeric quantity (non-integer values or more than {_MAX_CLASSES_AUTO} distinct "
        "values) DenseRegressor; --task overrides. Features are standardized (mean 0, "
        "variance 1) unless --no-scale, and so is a regression target; the scaling is saved "
        "with the model.",
    )
    t.add_argument("data", metavar="DATA.csv")
    t.add_argument(
        "--target",
        required=True,
        action="append",
        metavar="COLUMN",
        help="the column to predict; repeat it for several (multilabel 0/1 "
        "columns, or several regression targets)",
    )
    t.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="what the target is (default auto: see above)",
    )
    t.add_argument(
        "--loss",
        default=None,
        help="regression loss, one of DenseRegressor's loss choices (default "
        "squared_error; a wrong name lists them); classifiers use the log loss",
    )
    t.add_argument(
        "--hidden",
        type=parse_hidden,
        default=(100,),
        metavar="64,32",
        help="hidden layer sizes (default 100)",
    )
    t.add_argument(
        "--activation",
        default="relu",
        help="hidden activation, one of the estimators' activation choices (default "
        "relu; a wrong name lists them)",
    )
    t.add_argument("--solver", default="adam", help="one of the estimators' solvers (default adam)")
    t.add_argument("--alpha", type=nonneg_float, default=1e-4, help="L2 strength")
    t.add_argument("--batch-size", type=positive_int, default=None)
    t.add_argument("--learning-rate-init", type=positive_float, default=1e-3)
    t.add_argument("--max-iter", type=positive_int, default=200, help="epochs (default 200)")
    t.add_argument(
        "--early-stopping",
        action="store_true",
        help="hold out 10%% and stop when its score stops improving",
    )
    t.add_argument("--random-state", type=int, default=0)
    t.add_argument("--drop", metavar="COL,COL", help="columns to ignore (e.g. an id)")
    t.add_argument(
        "--one-hot",
        action="store_true",
        help="one-hot encode non-numeric feature columns (default: an error)",
    )
    t.add_argument(
        "--impute",
        action="store_true",
        help="fill missing feature values (numeric: the column's median; text: its "
        "most frequent value), learned here and saved with the model (default: "
        "a missing value is an error)",
    )
    t.add_argument(
        "--no-scale",
        action="store_true",
        help="do not standardize the features (nor a regression target)",
    )
    t.add_argument("--sep", default=None, help="the CSV's field separator (default ',')")
    t.add_argument(
        "--cv",
        type=cv_folds,
        default=None,
        metavar="K",
        help="also print the K-fold cross-validated score",
    )
    t.add_argument(
        "--out", default="model.safetensors", help="model file (default model.safetensors)"
    )
    t.add_argument("--plot", metavar="curve.png", help="also save the loss curve (matplotlib)")
    t.add_argument("--quiet", action="store_true", help="print nothing but warnings and errors")


@dataclass
class Training:
    """What the four steps hand on to each other."""

    args: argparse.Namespace
    df: Any = None
    targets: List[str] = field(default_factory=list)
    task: str = ""  # binary, multiclass, multilabel, regression
    y: Any = None
    labels: str = ""  # the target's description, for the report
    columns: List[str] = field(default_factory=list)
    X: Any = None
    X_raw: Any = None
    mean: Any = None
    scale: Any = None
    info: Dict[str, Any] = field(default_factory=dict)
    estimator: Any = None
    result: Dict[str, Any] = field(default_factory=dict)


def run(args: argparse.Namespace, out: Optional[TextIO] = None) -> Dict[str, Any]:
    """``fastdense train``: fit on a CSV, print the score, save the model (and a plot)."""
    out = sys.stdout if out is None else out
    if args.quiet:
        out = open(os.devnull, "w")
    try:
        job = read(args)
        preprocess(job, out)
        fit(job, out)
        return report(job, out)
    finally:
        if args.quiet:
            out.close()


# ------------------------------------------------------------------------- read


def read(args: argparse.Namespace) -> Training:
    """Check the options, read the CSV, pick the target(s) and the task."""
    check_writable(args.out, "model")
    check_writable(args.plot, "plot")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install 'fastdense[plot]'") from None
    for name, value, choices in (
        ("--activation", args.activation, activation_choices()),
        ("--solver", args.solver, solver_choices()),
    ):
        if value not in choices:
            raise UsageError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    if args.early_stopping and args.solver == "lbfgs":
        raise UsageError("--early-stopping needs --solver adam or sgd")
    job = Training(args, df=read_csv(args.data, args.sep))
    df = job.df
    targets = list(dict.fromkeys(args.target))
    unknown = [t for t in targets if t not in df.columns]
    if unknown:
        raise UsageError(
            f"unknown target column{'s' if len(unknown) > 1 else ''} "
            f"{columns_list(unknown)}; {args.data} has "
            f"columns {columns_list(df.columns)}"
        )
    drop = [c for c in (args.drop or "").split(",") if c]
    unknown = [c for c in drop if c not in df.columns]
    if unknown:
        raise UsageError(f"--drop: unknown column(s) {columns_list(unknown)}")
    for t in targets:
        if df[t].isna().any():
            raise UsageError(
                f"target column {t!r} has missing values "
                f"({int(df[t].isna().sum())} rows); drop those rows first"
            )
    job.targets = targets
    job.columns = [c for c in df.columns if c not in targets and c not in drop]
    if not job.columns:
        raise UsageError("no feature columns left (all but the target were dropped)")
    job.task, job.y, job.labels = _task(df, targets, args.task)
    if args.loss is not None:
        if job.task != "regression":
            raise UsageError(
                f"--loss applies to regression (DenseRegressor); this {job.task} "
                "target is fitted with the log loss"
            )
        if args.loss not in regression_loss_choices():
            raise UsageError(
                f"--loss: {args.loss!r} is not one of {', '.join(regression_loss_choices())}"
            )
    if args.cv and job.task in ("binary", "multiclass"):
        import numpy as np

        if np.min(np.unique(job.y, return_counts=True)[1]) < args.cv:
            raise UsageError(f"--cv {args.cv}: the rarest class has fewer than {args.cv} rows")
    return job


def _task(df: Any, targets: List[str], task: str):
    """(task, y, description) from the target column(s) and --task."""
    import numpy as np
    import pandas as pd

    cols = [df[t] for t in targets]
    numeric = [pd.api.types.is_numeric_dtype(c) and not pd.api.types.is_bool_dtype(c) for c in cols]
    quantity = [
        num
        and (not np.all(np.mod(c.to_numpy(dtype=float), 1) == 0) or c.nunique() > _MAX_CLASSES_AUTO)
        for c, num in zip(cols, numeric)
    ]
    names = columns_list(targets)
    if task == "regression" or (task == "auto" and all(quantity)):
        bad = [t for t, num in zip(targets, numeric) if not num]
        if bad:
            raise UsageError(
                f"--task regression needs numeric targets; {columns_list(bad)} is not numeric"
            )
        y = np.column_stack([c.to_numpy(dtype=np.float64) for c in cols])
        why = "" if task == "regression" else "; --task classification to classify instead"
        return (
            "regression",
            (y[:, 0] if len(targets) == 1 else y),
            (f"target {names}: numeric, regression{why}"),
        )
    if len(targets) > 1:
        indicators = []
        for t, c in zip(targets, cols):
            values = set(c.unique().tolist())
            if not values <= {0, 1}:  # (True == 1, False == 0)
                raise UsageError(
                    f"several --target columns are multilabel targets, each 0/1 (or "
                    f"true/false); {t!r} has {len(values)} distinct values, e.g. "
                    f"{columns_list(sorted(map(str, values))[:3])}. "
                    "For several quantities pass --task regression"
                )
            indicators.append(c.to_numpy().astype(np.int64))
        return "multilabel", np.column_stack(indicators), f"multilabel targets {names}"
    classes = cols[0].unique()
    if len(classes) < 2:
        raise UsageError(
            f"target column {targets[0]!r} has a single value ({classes[0]!r}): nothing to learn"
        )
    hint = "; --task regression to regress instead" if task == "auto" and numeric[0] else ""
    shown = columns_list(sorted(map(str, classes)))
    kind = "binary" if len(classes) == 2 else "multiclass"
    return kind, cols[0].to_numpy(), f"target {names}: {len(classes)} classes {shown}{hint}"


# ------------------------------------------------------------------- preprocess


def preprocess(job: Training, out: TextIO) -> None:
    """Encode, fill and scale the features (and a regression target); record how."""
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    args = job.args
    categories, fill = _features.plan(
        job.df,
        job.columns,
        one_hot=args.one_hot,
        impute=args.impute,
        path=args.data,
        err=sys.stderr,
    )
    X, _ = _features.features(job.df, job.columns, categories, fill, args.data)
    job.X_raw = job.X = X
    if not args.no_scale:
        scaler = StandardScaler().fit(X)
        job.mean, job.scale = scaler.mean_, scaler.scale_
        job.X = scaler.transform(X)
    job.info = {
        "columns": [str(c) for c in job.columns],
        "one_hot": categories,
        "target": str(job.targets[0]),
        "targets": [str(t) for t in job.targets],
        "task": job.task,
    }
    if fill:
        job.info["impute"] = fill
        print(_features.describe_fill(job.df, fill, categories), file=out)
    if (
        job.task == "regression"
        and not args.no_scale
        and (args.loss or "squared_error") == ("squared_error")
    ):
        # the network learns the standardized target; predict and export undo it
        y2 = np.asarray(job.y, dtype=np.float64).reshape(len(job.y), -1)
        t_mean, t_scale = y2.mean(0), y2.std(0)
        t_scale[t_scale == 0] = 1.0
        job.info["target_scaling"] = {"mean": t_mean.tolist(), "scale": t_scale.tolist()}


def scaled_target(job: Training) -> Any:
    """The target the network is fitted on (a regression target standardized)."""
    import numpy as np

    ts = job.info.get("target_scaling")
    if not ts:
        return job.y
    y = (np.asarray(job.y, np.float64).reshape(len(job.y), -1) - ts["mean"]) / ts["scale"]
    return y[:, 0] if np.ndim(job.y) == 1 else y


# -------------------------------------------------------------------------- fit


def make_estimator(job: Training) -> Any:
    from .. import estimators

    args = job.args
    cls = {
        "binary": estimators.DenseBinaryClassifier,
        "multiclass": estimators.DenseClassifier,
        "multilabel": estimators.DenseClassifier,
        "regression": estimators.DenseRegressor,
    }[job.task]
    params = dict(
        hidden_layer_sizes=args.hidden,
        activation=args.activation,
        solver=args.solver,
        alpha=args.alpha,
        batch_size=args.batch_size or "auto",
        learning_rate_init=args.learning_rate_init,
        max_iter=args.max_iter,
        early_stopping=args.early_stopping,
        random_state=args.random_state,
    )
    if args.loss is not None:
        params["loss"] = args.loss
    return cls(**params)


def fit(job: Training, out: TextIO) -> None:
    from ..io.model_file import save_model

    args = job.args
    job.estimator = est = make_estimator(job)
    print(
        f"Training {est!r}\non {job.X.shape[0]} rows x {job.X.shape[1]} features of "
        f"{args.data} ({job.labels})",
        file=out,
    )
    start = time.perf_counter()
    try:
        fit_with_progress(est, job.X, scaled_target(job), args.quiet, out)
    except ValueError as exc:  # e.g. early stopping's validation split too small
        raise UsageError(f"training failed: {exc}") from None
    except TrainingInterrupted as stop:
        if stop.epochs >= 1:  # keep what was trained; an unfinished epoch is not kept
            save_model(est, args.out, mean=job.mean, scale=job.scale, info=job.info)
            stop.saved = args.out
        raise
    job.result["seconds"] = time.perf_counter() - start


# ----------------------------------------------------------------------- report


def _metric(task: str) -> str:
    return (
        "R^2"
        if task == "regression"
        else ("subset accuracy" if task == "multilabel" else "accuracy")
    )


def report(job: Training, out: TextIO) -> Dict[str, Any]:
    """Print the training score (and the cross-validated one), save the model and plot."""
    from ..io.model_file import save_model

    args, est = job.args, job.estimator
    y = scaled_target(job)
    score = float(est.score(job.X, y))
    unit = "iterations" if args.solver == "lbfgs" else "epochs"
    print(
        f"Trained in {job.result['seconds']:.3f} s, {est.n_iter_} {unit}; training "
        f"{_metric(job.task)} {score:.4f}",
        file=out,
    )
    result: Dict[str, Any] = {
        "train_score": score,
        "n_iter": est.n_iter_,
        "task": job.task,
        "estimator": type(est).__name__,
    }
    if job.task != "regression":
        result["train_accuracy"] = score
    if args.cv:
        from sklearn.base import clone
        from sklearn.model_selection import cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = clone(est) if args.no_scale else make_pipeline(StandardScaler(), clone(est))
        try:
            with interruptions(lambda: None, " (cross-validation)"):
                scores = cross_val_score(model, job.X_raw, y, cv=args.cv)
        except TrainingInterrupted:  # the trained model is kept: save it, then stop
            save_model(est, args.out, mean=job.mean, scale=job.scale, info=job.info)
            raise TrainingInterrupted(est.n_iter_, args.out) from None
        print(
            f"{args.cv}-fold cross-validated {_metric(job.task)}: {scores.mean():.4f} ± "
            f"{scores.std():.4f}",
            file=out,
        )
        result["cv_score"] = float(scores.mean())
        if job.task != "regression":
            result["cv_accuracy"] = result["cv_score"]
    save_model(est, args.out, mean=job.mean, scale=job.scale, info=job.info)
    print(f"Saved the model to {args.out}", file=out)
    if args.plot:
        if args.solver == "lbfgs":
            print("No plot: --solver lbfgs records no loss per epoch", file=out)
        else:
            from ..plot import loss_curve

            loss_curve(est).savefig(args.plot, dpi=110)
            print(f"Saved the loss curve to {args.plot}", file=out)
    return result
