"""The ``fastdense`` command line (also ``python -m fastdense``).

    fastdense                       the main job: train on scikit-learn's breast cancer
                                    data, compare with MLPClassifier, save the model
    fastdense train DATA.csv --target COLUMN [--hidden 64,32] [--max-iter N]
                                    [--out model.safetensors] [--plot curve.png] ...
    fastdense predict MODEL DATA.csv [--out preds.csv]
    fastdense export MODEL --onnx model.onnx [--float32] [--opset N] [--zipmap]
                                    the model and its preprocessing as one ONNX graph
    fastdense bench [--quick]       DenseBinaryClassifier vs MLPClassifier, PyTorch, NumPy
    fastdense info                  versions, BLAS libraries and threads
    fastdense selfcheck             the kernels against the NumPy reference, timed

User mistakes (a missing file, an unknown column, a bad value) print one line
``fastdense: error: ...`` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from typing import (TYPE_CHECKING, Any, Dict, List, NoReturn, Optional, Sequence,
                    TextIO, Tuple)

from . import __version__, _activations

if TYPE_CHECKING:
    import numpy as np

__all__ = ["main"]

DEMO_MODEL = "breast_cancer.safetensors"


class UsageError(Exception):
    """A mistake in the command line or its input: reported in one line, exit status 2."""


class TrainingInterrupted(Exception):
    """Ctrl-C during training; `epochs` finished before it (exit status 130)."""

    def __init__(self, epochs: int, saved: Optional[str] = None) -> None:
        super().__init__(epochs, saved)
        self.epochs, self.saved = epochs, saved


_INTERRUPTED = "Training interrupted by user."


# ---------------------------------------------------------------- progress


class EpochProgress:
    """A scikit-learn fit callback that shows one step per epoch.

    A rich progress bar when `stream` is a terminal and rich is installed;
    otherwise plain lines (every `every` epochs, and the last one).
    Used through ``DenseBinaryClassifier.set_callbacks`` (scikit-learn >= 1.9).
    """

    def __init__(self, total: int, stream: Optional[TextIO] = None, bar: Optional[bool] = None,
                 every: Optional[int] = None) -> None:
        self.total = int(total)
        self.stream = sys.stdout if stream is None else stream
        if bar is None:
            bar = _isatty(self.stream) and _has_rich()
        self.bar = bool(bar)
        self.every = every or max(1, self.total // 20)
        self._progress: Any = None
        self._task: Any = None
        self._last_printed = 0
        self._epoch = 0
        self._line = ""

    def setup(self, estimator: Any, context: Any) -> None:
        self._last_printed = self._epoch = 0
        if self.bar:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)

            self._progress = Progress(
                TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                TextColumn("epochs  {task.description}"), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total)

    def on_fit_task_begin(self, estimator: Any, context: Any) -> None:
        pass

    def on_fit_task_end(self, estimator: Any, context: Any) -> bool:
        if context.task_name != "epoch":
            return False
        self._epoch = context.task_id + 1
        loss = float(getattr(estimator, "loss_", float("nan")))
        scores = getattr(estimator, "validation_scores_", None)
        text = f"loss {loss:.6f}" + (f"  validation score {scores[-1]:.4f}" if scores else "")
        if self.bar:
            self._progress.update(self._task, completed=self._epoch, description=text)
        else:
            self._line = f"epoch {self._epoch:>4}/{self.total}  {text}"
            if self._epoch == 1 or self._epoch % self.every == 0:
                self._emit()
        return False

    def _emit(self) -> None:
        print(self._line, file=self.stream, flush=True)
        self._last_printed = self._epoch

    def teardown(self, estimator: Any, context: Any) -> None:
        if self.bar and self._progress is not None:
            self._progress.update(self._task, total=self._epoch or self.total)
            self._progress.stop()
            self._progress = None
        elif self._epoch and self._last_printed != self._epoch:
            self._emit()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _fit_with_progress(clf: Any, X: Any, y: Any, quiet: bool, out: TextIO) -> Any:
    """Fit `clf`, showing one progress step per epoch (sgd/adam)."""
    if not quiet and clf.solver != "lbfgs":
        if hasattr(clf, "set_callbacks"):  # scikit-learn >= 1.9
            clf.set_callbacks(EpochProgress(clf.max_iter, out))
        else:  # older scikit-learn: MLPClassifier's "Iteration N, loss = ..." lines
            clf.set_params(verbose=True)
    with _interruptions(lambda: getattr(clf, "n_iter_", 0)):
        try:
            clf.fit(X, y)
        finally:
            if hasattr(clf, "set_callbacks"):
                clf.set_callbacks()
            clf.set_params(verbose=False)
    return clf


class _interruptions:
    """Ctrl-C inside a fit, made visible: the estimator (as MLPClassifier) catches it,
    warns and returns; here that warning becomes :class:`TrainingInterrupted`.

    ConvergenceWarnings are dropped (the progress shows the epochs); any other
    warning is printed as one ``fastdense: warning: ...`` line.
    """

    def __init__(self, epochs: Any) -> None:
        self._epochs = epochs
        self._catcher = warnings.catch_warnings(record=True)

    def __enter__(self) -> None:
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc_info: Any) -> None:
        self._catcher.__exit__(*exc_info)
        from sklearn.exceptions import ConvergenceWarning

        interrupted = False
        for w in self._caught:
            if str(w.message) == _INTERRUPTED:
                interrupted = True
            elif not issubclass(w.category, ConvergenceWarning):
                print(f"fastdense: warning: {w.message}", file=sys.stderr)
        if interrupted and exc_info[0] is None:
            raise TrainingInterrupted(int(self._epochs() or 0))


# ----------------------------------------------------------------- main job


def run_demo(out_path: Optional[str] = DEMO_MODEL, cv: int = 5, quiet: bool = False,
             out: TextIO = sys.stdout) -> Dict[str, Any]:
    """The main job: train, compare with MLPClassifier by cross-validation, save.

    Returns a dict of what it printed (accuracies, times, speed-up, path).
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ._bench import fmt_seconds
    from .estimators import DenseBinaryClassifier

    data = load_breast_cancer()
    X, y = data.data, data.target
    params = dict(hidden_layer_sizes=(64, 32), max_iter=200, random_state=0)
    print(f"fastdense {__version__}: the main job", file=out)
    print(f"Data: scikit-learn's breast cancer set, {X.shape[0]} tumours x {X.shape[1]} "
          f"features, target 'malignant' (0) / 'benign' (1); standardized.", file=out)
    print("Model: DenseBinaryClassifier(hidden_layer_sizes=(64, 32), solver='adam', "
          "max_iter=200, random_state=0)\n", file=out)

    scaler = StandardScaler().fit(X)
    clf = DenseBinaryClassifier(**params)
    start = time.perf_counter()
    _fit_with_progress(clf, scaler.transform(X), y, quiet, out)
    fit_s = time.perf_counter() - start
    print(f"\nTrained in {fit_s:.3f} s: {clf.n_iter_} epochs, final loss {clf.loss_:.4f}, "
          f"training accuracy {clf.score(scaler.transform(X), y):.3f}\n", file=out)

    folds = StratifiedKFold(cv, shuffle=True, random_state=0)
    results = {}
    for name, est in (("fastdense DenseBinaryClassifier", DenseBinaryClassifier(**params)),
                      ("scikit-learn MLPClassifier", MLPClassifier(**params))):
        model = make_pipeline(StandardScaler(), est)
        with _interruptions(lambda: None):
            t0 = time.perf_counter()
            scores = cross_val_score(model, X, y, cv=folds)
            results[name] = (scores, time.perf_counter() - t0)
    Xs = scaler.transform(X)
    to_model, per_epoch = _steady_state(DenseBinaryClassifier, MLPClassifier, params, Xs, y)
    print(f"{cv}-fold cross-validated accuracy (same folds, same parameters), the time to "
          f"a trained model (one fit on all {X.shape[0]} rows) and per epoch:", file=out)
    print(f"| model | accuracy | time for the {cv} fits | time to model | time per epoch |",
          file=out)
    print("|---|---|---|---|---|", file=out)
    for k, (name, (scores, secs)) in enumerate(results.items()):
        print(f"| {name} | {scores.mean():.4f} ± {scores.std():.4f} | {secs:.3f} s | "
              f"{to_model[k]:.3f} s | {fmt_seconds(per_epoch[k])} |", file=out)
    (fd_scores, fd_s), (sk_scores, sk_s) = results.values()
    speedup = sk_s / fd_s
    print(f"Speed-up: {speedup:.1f}x (MLPClassifier time / fastdense time) for the {cv} "
          f"cross-validated fits,\n          {to_model[1] / to_model[0]:.1f}x to a trained "
          f"model,\n          {per_epoch[1] / per_epoch[0]:.1f}x per epoch (steady state: "
          f"(a {1 + _EPOCHS}-epoch fit - a 1-epoch fit) / {_EPOCHS}, median of "
          f"{_ROUNDS})\n", file=out)

    if out_path:
        from ._model_file import save_model

        save_model(clf, out_path, mean=scaler.mean_, scale=scaler.scale_,
                   info={"columns": [str(c) for c in data.feature_names], "one_hot": {},
                         "target": "target", "dataset": "sklearn.datasets.load_breast_cancer"})
        print(f"Saved the model to {out_path}", file=out)
        print(f"  predict: fastdense predict {out_path} DATA.csv  (columns: the 30 "
              "feature names of load_breast_cancer)", file=out)
    print("Next: fastdense train YOUR.csv --target COLUMN; fastdense bench --quick; "
          "fastdense --help", file=out)
    return {"fastdense_accuracy": float(fd_scores.mean()),
            "mlp_accuracy": float(sk_scores.mean()), "fastdense_seconds": fd_s,
            "mlp_seconds": sk_s, "speedup": speedup, "path": out_path,
            "n_iter": clf.n_iter_, "to_model_seconds": to_model,
            "epoch_seconds": per_epoch, "epoch_speedup": per_epoch[1] / per_epoch[0]}


_EPOCHS, _ROUNDS = 40, 3  # the main job's steady-state measurement: ~0.2 s


def _steady_state(ours: Any, theirs: Any, params: Dict[str, Any], X: Any,
                  y: Any) -> Tuple[List[float], List[float]]:
    """Seconds to a trained model (one fit with `params`) and seconds per epoch
    ((a (1 + E)-epoch fit - a 1-epoch fit) / E, no early stopping; median of
    interleaved rounds) of the two estimator classes, in that order."""
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    fixed = dict(params, tol=0.0, n_iter_no_change=10**9)

    def fit_time(cls: Any, **kwargs: Any) -> float:
        est = cls(**kwargs)
        t0 = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - t0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        to_model = [fit_time(cls, **params) for cls in (ours, theirs)]
        rounds: List[List[float]] = [[], []]
        for _ in range(_ROUNDS):
            for k, cls in enumerate((ours, theirs)):
                short = fit_time(cls, **dict(fixed, max_iter=1))
                long = fit_time(cls, **dict(fixed, max_iter=1 + _EPOCHS))
                rounds[k].append(max(long - short, 1e-9) / _EPOCHS)
    return to_model, [float(np.median(r)) for r in rounds]


# -------------------------------------------------------------------- train


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise UsageError("reading CSV files needs pandas: pip install 'fastdense[cli]' "
                         "(or pandas)") from None
    return pd


def _read_csv(path: str) -> Any:
    pd = _pandas()
    if not os.path.exists(path):
        raise UsageError(f"no such file: {path}")
    if os.path.isdir(path):
        raise UsageError(f"{path} is a directory, not a CSV file")
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UsageError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot read {path} as CSV: {msg}") from None
    if df.shape[0] == 0:
        raise UsageError(f"{path} has a header but no rows")
    return df


def _columns_list(cols: Sequence[Any]) -> str:
    shown = ", ".join(repr(str(c)) for c in list(cols)[:20])
    return shown + (f", ... ({len(cols)} in all)" if len(cols) > 20 else "")


def _features(df: Any, columns: Sequence[str], one_hot: Dict[str, List[Any]],
              path: str) -> Tuple[np.ndarray, List[str]]:
    """The numeric feature matrix: `columns` in order, one-hot columns expanded."""
    import numpy as np

    pd = _pandas()

    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UsageError(f"{path} lacks the model's column(s) {_columns_list(missing)}")
    blocks, names, infinite = [], [], []
    for c in columns:
        col = df[c]
        if c in one_hot:
            cats = one_hot[c]
            values = col.astype(str).where(col.notna(), None)
            unseen = sorted(set(values.dropna()) - set(map(str, cats)))
            if unseen:
                raise UsageError(f"column {c!r} has value(s) not seen in training: "
                                 f"{_columns_list(unseen)}")
            for cat in cats:
                blocks.append((values == str(cat)).to_numpy(dtype=np.float64))
                names.append(f"{c}={cat}")
            continue
        if col.isna().any():
            raise UsageError(f"column {c!r} has missing values ({int(col.isna().sum())} rows)"
                             f" in {path}; fill or drop them first")
        if pd.api.types.is_bool_dtype(col):
            col = col.astype(np.float64)
        if not pd.api.types.is_numeric_dtype(col):
            raise UsageError(f"column {c!r} is not numeric in {path}")
        values = col.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            infinite.append(c)
        blocks.append(values)
        names.append(str(c))
    if infinite:
        raise UsageError(f"column(s) {_columns_list(infinite)} of {path} hold infinite values "
                         "(inf / -inf); replace or drop them first")
    return np.column_stack(blocks), names


def _parse_hidden(text: str) -> Tuple[int, ...]:
    try:
        sizes = tuple(int(t) for t in text.replace(" ", "").split(",") if t != "")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 64,32; got {text!r}") from None
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive integers; got {text!r}")
    return sizes


def _cv_folds(text: str) -> int:
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"cross-validation needs at least 2 folds; got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _nonneg_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0; got {text!r}")
    return value


def _check_writable(path: Optional[str], what: str) -> None:
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write the {what} to {path}: no such directory {folder}")


def run_train(args: argparse.Namespace, out: TextIO = sys.stdout) -> Dict[str, Any]:
    """``fastdense train``: fit on a CSV, print accuracy, save the model (and a plot)."""
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    from .estimators import DenseBinaryClassifier

    _check_writable(args.out, "model")
    _check_writable(args.plot, "plot")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install 'fastdense[plot]'") from None
    df = _read_csv(args.data)
    if args.target not in df.columns:
        raise UsageError(f"unknown target column {args.target!r}; {args.data} has columns "
                         f"{_columns_list(df.columns)}")
    drop = [c for c in (args.drop or "").split(",") if c]
    unknown = [c for c in drop if c not in df.columns]
    if unknown:
        raise UsageError(f"--drop: unknown column(s) {_columns_list(unknown)}")
    y_col = df[args.target]
    if y_col.isna().any():
        raise UsageError(f"target column {args.target!r} has missing values "
                         f"({int(y_col.isna().sum())} rows)")
    classes = y_col.unique()
    if len(classes) != 2:
        raise UsageError(f"target column {args.target!r} has {len(classes)} distinct "
                         f"value(s); a binary target (exactly 2) is needed")
    columns = [c for c in df.columns if c != args.target and c not in drop]
    if not columns:
        raise UsageError("no feature columns left (all but the target were dropped)")

    pd = _pandas()

    non_numeric = [c for c in columns
                   if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))]
    if non_numeric and not args.one_hot:
        raise UsageError(f"non-numeric feature column(s) {_columns_list(non_numeric)}: "
                         "encode them first, drop them with --drop, or pass --one-hot")
    one_hot = {c: sorted(map(str, df[c].dropna().unique())) for c in non_numeric}
    X, names = _features(df, columns, one_hot, args.data)
    y = y_col.to_numpy()

    X_raw = X
    mean = scale = None
    if not args.no_scale:
        scaler = StandardScaler().fit(X)
        mean, scale = scaler.mean_, scaler.scale_
        X = scaler.transform(X)
    clf = DenseBinaryClassifier(
        hidden_layer_sizes=args.hidden, activation=args.activation, solver=args.solver,
        alpha=args.alpha, batch_size=args.batch_size or "auto",
        learning_rate_init=args.learning_rate_init, max_iter=args.max_iter,
        early_stopping=args.early_stopping, random_state=args.random_state,
    )
    if args.early_stopping and args.solver == "lbfgs":
        raise UsageError("--early-stopping needs --solver adam or sgd")
    if args.cv and np.min(np.unique(y, return_counts=True)[1]) < args.cv:
        raise UsageError(f"--cv {args.cv}: the rarer class has fewer than {args.cv} rows")
    print(f"Training {clf!r}\non {X.shape[0]} rows x {X.shape[1]} features of {args.data} "
          f"(target {args.target!r}: {_columns_list(sorted(map(str, classes)))})", file=out)
    start = time.perf_counter()
    from ._model_file import save_model

    info = {"columns": [str(c) for c in columns], "one_hot": one_hot,
            "target": str(args.target)}
    try:
        _fit_with_progress(clf, X, y, args.quiet, out)
    except ValueError as exc:  # e.g. early stopping's validation split too small
        raise UsageError(f"training failed: {exc}") from None
    except TrainingInterrupted as stop:
        if stop.epochs >= 1:  # keep what was trained; an unfinished epoch is not kept
            save_model(clf, args.out, mean=mean, scale=scale, info=info)
            stop.saved = args.out
        raise
    secs = time.perf_counter() - start
    print(f"Trained in {secs:.3f} s, {clf.n_iter_} {'iterations' if args.solver == 'lbfgs' else 'epochs'}; "
          f"training accuracy {clf.score(X, y):.4f}", file=out)
    result: Dict[str, Any] = {"train_accuracy": float(clf.score(X, y)), "n_iter": clf.n_iter_}
    if args.cv:
        from sklearn.base import clone
        from sklearn.model_selection import cross_val_score

        from sklearn.pipeline import make_pipeline

        model = clone(clf) if args.no_scale else make_pipeline(StandardScaler(), clone(clf))
        try:
            with _interruptions(lambda: None):
                scores = cross_val_score(model, X_raw, y, cv=args.cv)
        except TrainingInterrupted:  # the trained model is kept: save it, then stop
            save_model(clf, args.out, mean=mean, scale=scale, info=info)
            raise TrainingInterrupted(clf.n_iter_, args.out) from None
        print(f"{args.cv}-fold cross-validated accuracy: {scores.mean():.4f} ± "
              f"{scores.std():.4f}", file=out)
        result["cv_accuracy"] = float(scores.mean())
    save_model(clf, args.out, mean=mean, scale=scale, info=info)
    print(f"Saved the model to {args.out}", file=out)
    if args.plot:
        if clf.solver == "lbfgs":
            print("No plot: --solver lbfgs records no loss per epoch", file=out)
        else:
            from .plot import loss_curve

            loss_curve(clf).savefig(args.plot, dpi=110)
            print(f"Saved the loss curve to {args.plot}", file=out)
    return result


# ------------------------------------------------------------------ predict


def run_predict(args: argparse.Namespace, out: TextIO = sys.stdout) -> Any:
    """``fastdense predict``: label and probability for each row of a CSV."""
    pd = _pandas()

    from ._model_file import load_model

    if not os.path.exists(args.model):
        raise UsageError(f"no such file: {args.model}")
    _check_writable(args.out, "predictions")
    try:
        clf, extra = load_model(args.model)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    info = extra["info"]
    columns = info.get("columns")
    if not columns:
        raise UsageError(f"{args.model} does not record its input columns")
    df = _read_csv(args.data)
    X, _ = _features(df, columns, info.get("one_hot", {}), args.data)
    if extra["mean"] is not None:
        X = (X - extra["mean"]) / extra["scale"]
    proba = clf.predict_proba(X)[:, 1]
    labels = clf.classes_[(proba > 0.5).astype(int)]
    result = pd.DataFrame({"prediction": labels, f"proba_{clf.classes_[1]}": proba})
    if args.out:
        result.to_csv(args.out, index=False)
        print(f"Wrote {len(result)} predictions to {args.out}", file=sys.stderr)
    else:
        result.to_csv(out, index=False)
    return result


# ------------------------------------------------------------------- export


def run_export(args: argparse.Namespace, out: Optional[TextIO] = None) -> Any:
    """``fastdense export``: the model file and its preprocessing as an ONNX graph."""
    out = sys.stdout if out is None else out
    if not os.path.exists(args.model):
        raise UsageError(f"no such file: {args.model}")
    _check_writable(args.onnx, "ONNX model")
    try:
        import onnx

        from .onnx._cli import cli_model_to_onnx
    except ImportError:
        raise UsageError("export needs onnx: pip install 'fastdense[onnx]'") from None
    try:
        model = cli_model_to_onnx(args.model, dtype="float32" if args.float32 else None,
                                  opset=args.opset, zipmap=args.zipmap)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    onnx.save(model, args.onnx)
    names = ", ".join(f"{i.name} ({'string' if i.type.tensor_type.elem_type == 8 else 'float64'})"
                      for i in model.graph.input)
    print(f"Wrote {args.onnx}: inputs {names}; outputs "
          f"{', '.join(o.name for o in model.graph.output)}", file=out)
    props = {p.key: p.value for p in model.metadata_props}
    print(f"  {props['not_included']}", file=out)
    return model


# -------------------------------------------------------------- bench, info


def run_bench(args: argparse.Namespace, out: TextIO = sys.stdout) -> List[Dict[str, Any]]:
    """``fastdense bench``: the fit comparison of benchmarks/bench_fit.py."""
    from ._bench import CONFIGS, machine_header, run_fit_benchmark

    configs = [c.strip().upper() for c in args.configs.split(",") if c.strip()]
    bad = [c for c in configs if c not in CONFIGS]
    if bad or not configs:
        raise UsageError(f"--configs: unknown config(s) {bad}; choose from "
                         f"{','.join(CONFIGS)}")
    dtypes = [d.strip() for d in args.dtypes.split(",")] if args.dtypes else None
    if dtypes and any(d not in ("float32", "float64") for d in dtypes):
        raise UsageError(f"--dtypes: use float32 and/or float64; got {args.dtypes!r}")
    _check_writable(args.json, "results")
    _check_writable(args.plot, "plot")
    records = run_fit_benchmark(configs, dtypes, quick=args.quick, epochs=args.epochs,
                                rounds=args.rounds, use_torch=not args.no_torch, out=out)
    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump({"header": machine_header(), "results": records}, f, indent=2)
        print(f"\nWrote {args.json}", file=out)
    if args.plot:
        from .plot import benchmark

        benchmark(records).savefig(args.plot, dpi=110)
        print(f"Wrote {args.plot}", file=out)
    return records


def run_info(out: TextIO = sys.stdout) -> Dict[str, Any]:
    """``fastdense info``: versions, compiled modules, BLAS libraries and threads."""
    import platform

    from threadpoolctl import threadpool_info

    from . import _kernels, _train

    print(f"fastdense {__version__} ({os.path.dirname(os.path.abspath(__file__))})", file=out)
    print(f"Python {platform.python_version()} ({sys.executable}), {platform.platform()}, "
          f"{os.cpu_count()} CPUs", file=out)
    versions: Dict[str, Optional[str]] = {}
    from importlib.metadata import PackageNotFoundError, version

    for name in ("numpy", "scipy", "scikit-learn", "threadpoolctl", "safetensors", "pandas",
                 "matplotlib", "rich", "torch"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:  # not installed: say so, don't fail
            versions[name] = None
    print("Packages: " + ", ".join(f"{k} {v or '(not installed)'}" for k, v in versions.items()),
          file=out)
    from . import SIMD

    print(f"Compiled modules ({SIMD} build): {_kernels.__name__}, {_train.__name__}",
          file=out)
    print("Thread pools (fastdense's BLAS is scipy's, via scipy.linalg.cython_blas):", file=out)
    pools = threadpool_info()
    for p in pools:
        print(f"  {p.get('user_api')}: {p.get('internal_api')} {p.get('version')}, "
              f"{p.get('num_threads')} threads"
              f"{', ' + str(p['architecture']) if p.get('architecture') else ''} "
              f"({p.get('filepath')})", file=out)
    if not pools:
        print("  (none detected)", file=out)
    return {"versions": versions, "threadpools": pools, "simd": SIMD}


# ------------------------------------------------------------------ parsing


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit status 2."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="fastdense", description=(
        "Fast dense neural networks for binary classification. Without a command: "
        "train on scikit-learn's breast cancer data, compare with MLPClassifier, save "
        "the model."), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"fastdense {__version__}")
    p.add_argument("--out", default=DEMO_MODEL,
                   help=f"where the main job saves its model (default {DEMO_MODEL})")
    p.add_argument("--no-save", action="store_true", help="main job: do not save the model")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    t = sub.add_parser("train", help="train on a CSV file and save the model",
                       description="Train DenseBinaryClassifier on a CSV file (one row per "
                       "example, a header row) and save it. Features are standardized "
                       "(mean 0, variance 1) unless --no-scale; the scaling is saved with "
                       "the model.")
    t.add_argument("data", metavar="DATA.csv")
    t.add_argument("--target", required=True, metavar="COLUMN", help="the binary label column")
    t.add_argument("--hidden", type=_parse_hidden, default=(100,), metavar="64,32",
                   help="hidden layer sizes (default 100)")
    t.add_argument("--activation", default="relu",
                   choices=_activations.ESTIMATOR_ACTIVATIONS)
    t.add_argument("--solver", default="adam", choices=["adam", "sgd", "lbfgs"])
    t.add_argument("--alpha", type=_nonneg_float, default=1e-4, help="L2 strength")
    t.add_argument("--batch-size", type=_positive_int, default=None)
    t.add_argument("--learning-rate-init", type=_positive_float, default=1e-3)
    t.add_argument("--max-iter", type=_positive_int, default=200, help="epochs (default 200)")
    t.add_argument("--early-stopping", action="store_true",
                   help="hold out 10%% and stop when its accuracy stops improving")
    t.add_argument("--random-state", type=int, default=0)
    t.add_argument("--drop", metavar="COL,COL", help="columns to ignore (e.g. an id)")
    t.add_argument("--one-hot", action="store_true",
                   help="one-hot encode non-numeric feature columns (default: an error)")
    t.add_argument("--no-scale", action="store_true", help="do not standardize the features")
    t.add_argument("--cv", type=_cv_folds, default=None, metavar="K",
                   help="also print K-fold cross-validated accuracy")
    t.add_argument("--out", default="model.safetensors",
                   help="model file (default model.safetensors)")
    t.add_argument("--plot", metavar="curve.png", help="also save the loss curve (matplotlib)")
    t.add_argument("--quiet", action="store_true", help="no per-epoch progress")

    pr = sub.add_parser("predict", help="predict a CSV file with a saved model",
                        description="Write one row per input row: the predicted label and "
                        "the probability of the positive class. Columns the model was not "
                        "trained on (e.g. the target) are ignored.")
    pr.add_argument("model", metavar="MODEL")
    pr.add_argument("data", metavar="DATA.csv")
    pr.add_argument("--out", metavar="preds.csv", help="output CSV (default: stdout)")

    e = sub.add_parser("export", help="write a saved model as ONNX, preprocessing included",
                       description="Write a model file of `fastdense train` as one ONNX graph "
                       "that takes the CSV's raw numeric columns (input X, float64) and one "
                       "string input per one-hot column, and applies the saved scaling and "
                       "one-hot encoding (needs onnx: pip install 'fastdense[onnx]').")
    e.add_argument("model", metavar="MODEL")
    e.add_argument("--onnx", required=True, metavar="model.onnx", help="the ONNX file to write")
    e.add_argument("--float32", action="store_true", help="run the network in float32")
    e.add_argument("--opset", type=_positive_int, default=None, help="ONNX opset (default 19)")
    e.add_argument("--zipmap", action="store_true",
                   help="probabilities as skl2onnx's ZipMap (needs --float32)")

    b = sub.add_parser("bench", help="time training against MLPClassifier, PyTorch, NumPy",
                       description="The fit comparison of benchmarks/bench_fit.py: seconds "
                       "per epoch of each competitor, medians of interleaved rounds.")
    b.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    b.add_argument("--configs", default="T,S,M,L", help="sizes among T,S,M,L; MC (10 classes) and R (regression)")
    b.add_argument("--dtypes", default=None, help="float32,float64 (--quick: float32)")
    b.add_argument("--epochs", type=_positive_int, default=None)
    b.add_argument("--rounds", type=_positive_int, default=None)
    b.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    b.add_argument("--json", metavar="FILE", help="also write the records as JSON")
    b.add_argument("--plot", metavar="FILE", help="also draw them (fastdense.plot.benchmark)")

    sub.add_parser("info", help="versions, BLAS libraries and threads")
    s = sub.add_parser("selfcheck", help="check the kernels against NumPy and time them")
    s.add_argument("--repeats", type=_positive_int, default=20, help="timed calls per round")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``fastdense`` and ``python -m fastdense``; returns the exit status."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # during start-up or argument parsing
        print("fastdense: interrupted", file=sys.stderr)
        return 130


def _main(argv: Optional[Sequence[str]]) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command is None:
            out_path = None if args.no_save else args.out
            _check_writable(out_path, "model")
            run_demo(out_path, quiet=args.quiet)
        elif args.command == "train":
            run_train(args)
        elif args.command == "predict":
            run_predict(args)
        elif args.command == "export":
            run_export(args)
        elif args.command == "bench":
            run_bench(args)
        elif args.command == "info":
            run_info()
        elif args.command == "selfcheck":
            from ._selfcheck import selfcheck

            selfcheck(repeats=args.repeats)
    except UsageError as exc:
        print(f"fastdense: error: {exc}", file=sys.stderr)
        return 2
    except TrainingInterrupted as stop:
        if stop.saved:
            what = f"saved the model trained so far to {stop.saved}"
        else:
            target = getattr(args, "out", None) if args.command in (None, "train") else None
            what = "no model saved" + (f"; {target} left unchanged" if target else "")
        print(f"fastdense: interrupted after {stop.epochs} complete epoch(s); {what}",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("fastdense: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `fastdense predict ... | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
