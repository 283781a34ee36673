"""The main job (``fastdense`` without a command): the three estimators on scikit-learn's
bundled data sets, each against scikit-learn's MLP by cross-validation, in seconds."""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any, Dict, List, Optional, TextIO, Tuple

from .. import __version__
from ._progress import fit_with_progress, interruptions

DEMO_MODEL = "breast_cancer.safetensors"


def run_demo(
    out_path: Optional[str] = DEMO_MODEL,
    cv: int = 5,
    quiet: bool = False,
    out: Optional[TextIO] = None,
) -> Dict[str, Any]:
    """The main job: train a binary classifier, compare it with MLPClassifier by
    cross-validation, do the same for a multi-class and a regression problem, save
    the binary model.

    Returns a dict of what it printed (scores, times, speed-ups, path).
    """
    out = sys.stdout if out is None else out
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .._bench import fmt_seconds
    from ..estimators import DenseBinaryClassifier

    data = load_breast_cancer()
    X, y = data.data, data.target
    params = dict(hidden_layer_sizes=(64, 32), max_iter=200, random_state=0)
    print(f"fastdense {__version__}: the main job (binary, multi-class, regression)\n", file=out)
    print(
        f"Binary classification: scikit-learn's breast cancer set, {X.shape[0]} tumours x {X.shape[1]} "
        f"features, target 'malignant' (0) / 'benign' (1); standardized.",
        file=out,
    )
    print(
        "Model: DenseBinaryClassifier(hidden_layer_sizes=(64, 32), solver='adam', "
        "max_iter=200, random_state=0)\n",
        file=out,
    )

    scaler = StandardScaler().fit(X)
    clf = DenseBinaryClassifier(**params)
    start = time.perf_counter()
    fit_with_progress(clf, scaler.transform(X), y, quiet, out)
    fit_s = time.perf_counter() - start
    print(
        f"\nTrained in {fit_s:.3f} s: {clf.n_iter_} epochs, final loss {clf.loss_:.4f}, "
        f"training accuracy {clf.score(scaler.transform(X), y):.3f}\n",
        file=out,
    )

    folds = StratifiedKFold(cv, shuffle=True, random_state=0)
    results = {}
    for name, est in (
        ("fastdense DenseBinaryClassifier", DenseBinaryClassifier(**params)),
        ("scikit-learn MLPClassifier", MLPClassifier(**params)),
    ):
        model = make_pipeline(StandardScaler(), est)
        with interruptions(lambda: None, convergence=False):
            t0 = time.perf_counter()
            scores = cross_val_score(model, X, y, cv=folds)
            results[name] = (scores, time.perf_counter() - t0)
    Xs = scaler.transform(X)
    to_model, per_epoch = _steady_state(DenseBinaryClassifier, MLPClassifier, params, Xs, y)
    print(
        f"{cv}-fold cross-validated accuracy (same folds, same parameters), the time to "
        f"a trained model (one fit on all {X.shape[0]} rows) and per epoch:",
        file=out,
    )
    print(
        f"| model | accuracy | time for the {cv} fits | time to model | time per epoch |", file=out
    )
    print("|---|---|---|---|---|", file=out)
    for k, (name, (scores, secs)) in enumerate(results.items()):
        print(
            f"| {name} | {scores.mean():.4f} ± {scores.std():.4f} | {secs:.3f} s | "
            f"{to_model[k]:.3f} s | {fmt_seconds(per_epoch[k])} |",
            file=out,
        )
    (fd_scores, fd_s), (sk_scores, sk_s) = results.values()
    speedup = sk_s / fd_s
    print(
        f"Speed-up: {speedup:.1f}x (MLPClassifier time / fastdense time) for the {cv} "
        f"cross-validated fits,\n          {to_model[1] / to_model[0]:.1f}x to a trained "
        f"model,\n          {per_epoch[1] / per_epoch[0]:.1f}x per epoch (steady state: "
        f"(a {1 + _EPOCHS}-epoch fit - a 1-epoch fit) / {_EPOCHS}, median of "
        f"{_ROUNDS})\n",
        file=out,
    )

    others = _other_tasks(cv, out)

    if out_path:
        from ..io.model_file import save_model

        save_model(
            clf,
            out_path,
            mean=scaler.mean_,
            scale=scaler.scale_,
            info={
                "columns": [str(c) for c in data.feature_names],
                "one_hot": {},
                "target": "target",
                "dataset": "sklearn.datasets.load_breast_cancer",
            },
        )
        print(f"Saved the model to {out_path}", file=out)
        print(
            f"  predict: fastdense predict {out_path} DATA.csv  (columns: the 30 "
            "feature names of load_breast_cancer)",
            file=out,
        )
    print(
        "Next: fastdense train YOUR.csv --target COLUMN; fastdense bench --quick; fastdense --help",
        file=out,
    )
    return {
        "fastdense_accuracy": float(fd_scores.mean()),
        "mlp_accuracy": float(sk_scores.mean()),
        "fastdense_seconds": fd_s,
        "mlp_seconds": sk_s,
        "speedup": speedup,
        "path": out_path,
        "n_iter": clf.n_iter_,
        "to_model_seconds": to_model,
        "epoch_seconds": per_epoch,
        "epoch_speedup": per_epoch[1] / per_epoch[0],
        **others,
    }


_EPOCHS, _ROUNDS = 40, 3  # the main job's steady-state measurement: ~0.2 s


def _steady_state(
    ours: Any, theirs: Any, params: Dict[str, Any], X: Any, y: Any
) -> Tuple[List[float], List[float]]:
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


def _other_tasks(cv: int, out: TextIO) -> Dict[str, Any]:
    """Multi-class (wine, DenseClassifier) and regression (diabetes, DenseRegressor), each
    cross-validated beside scikit-learn's MLP with the same parameters and folds."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.datasets import load_diabetes, load_wine
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..estimators import DenseClassifier, DenseRegressor

    wine, diabetes = load_wine(), load_diabetes()
    tasks = [
        (
            "multi-class",
            "accuracy",
            wine,
            f"scikit-learn's wine set, {wine.data.shape[0]} wines x {wine.data.shape[1]} "
            f"features, {len(wine.target_names)} cultivars",
            dict(hidden_layer_sizes=(64, 32), max_iter=200, random_state=0),
            DenseClassifier,
            MLPClassifier,
            StratifiedKFold(cv, shuffle=True, random_state=0),
            lambda est: make_pipeline(StandardScaler(), est),
        ),
        # the target (disease progression, 25..346) standardized too, as MLPRegressor needs
        (
            "regression",
            "R^2",
            diabetes,
            f"scikit-learn's diabetes set, {diabetes.data.shape[0]} patients x "
            f"{diabetes.data.shape[1]} features, disease progression after a year",
            dict(hidden_layer_sizes=(16,), alpha=1.0, max_iter=200, random_state=0),
            DenseRegressor,
            MLPRegressor,
            KFold(cv, shuffle=True, random_state=0),
            lambda est: TransformedTargetRegressor(
                make_pipeline(StandardScaler(), est), transformer=StandardScaler()
            ),
        ),
    ]
    results: Dict[str, Any] = {}
    for task, metric, data, text, params, ours, theirs, folds, wrap in tasks:
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        print(
            f"{task.capitalize()}: {text}; {cv}-fold cross-validated {metric}, "
            f"{ours.__name__}({shown}) and {theirs.__name__} (same parameters):",
            file=out,
        )
        print(f"| model | {metric} | time for the {cv} fits |", file=out)
        print("|---|---|---|", file=out)
        times = []
        for est in (ours(**params), theirs(**params)):
            with interruptions(lambda: None, convergence=False):
                t0 = time.perf_counter()
                scores = cross_val_score(wrap(est), data.data, data.target, cv=folds)
                times.append(time.perf_counter() - t0)
            lib = "fastdense" if est.__module__.startswith("fastdense") else "scikit-learn"
            print(
                f"| {lib} {type(est).__name__} | {scores.mean():.4f} ± {scores.std():.4f} | "
                f"{times[-1]:.3f} s |",
                file=out,
            )
            results[f"{task}_{lib}_score"] = float(scores.mean())
        results[f"{task}_speedup"] = times[1] / times[0]
        print(f"Speed-up: {times[1] / times[0]:.1f}x\n", file=out)
    return results
