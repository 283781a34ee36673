"""Figures for a fitted estimator and for benchmark results (needs matplotlib).

Both functions return a :class:`matplotlib.figure.Figure` built without
pyplot (no global state, no GUI backend needed): save it with
``fig.savefig("curve.png")`` or show it in a notebook. Install matplotlib with
``pip install "fastdense[plot]"``.

Examples
--------
>>> from sklearn.datasets import make_classification
>>> from fastdense import DenseBinaryClassifier
>>> from fastdense.plot import loss_curve
>>> X, y = make_classification(200, random_state=0)
>>> clf = DenseBinaryClassifier((8,), max_iter=20, early_stopping=True, random_state=0)
>>> fig = loss_curve(clf.fit(X, y))  # doctest: +SKIP
>>> fig.savefig("curve.png")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Sequence, Union

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["loss_curve", "benchmark"]


def _figure(**kwargs: Any) -> "Figure":
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "fastdense.plot needs matplotlib: pip install 'fastdense[plot]' (or matplotlib)"
        ) from exc
    return Figure(**kwargs)


def loss_curve(clf: Any, *, title: str | None = None) -> "Figure":
    """Training loss per epoch and, with a validation set, its loss and score.

    Parameters
    ----------
    clf : DenseBinaryClassifier or sklearn MLPClassifier (or a Pipeline ending in one)
        Fitted with ``solver='sgd'`` or ``'adam'`` (they record ``loss_curve_``).
    title : str, optional
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with the line ``"training loss"`` (epochs 1..n_iter_) and,
        when the estimator has a ``validation_loss_curve_`` (a validation set
        given to fit, or early stopping), the line ``"validation loss"`` on
        the same axis (the same loss without the L2 term); with validation
        scores, a second y axis (twin of the first) with the line
        ``"validation score"`` and a marker at the best epoch.
    """
    if hasattr(clf, "steps"):  # a Pipeline: plot its final estimator
        clf = clf.steps[-1][1]
    curve = getattr(clf, "loss_curve_", None)
    if curve is None:
        if not hasattr(clf, "coefs_"):
            raise ValueError("loss_curve needs a fitted estimator; call fit first")
        raise ValueError(
            "this estimator has no loss_curve_: only the stochastic solvers "
            "('sgd', 'adam') record the loss per epoch, not 'lbfgs'"
        )
    fig = _figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    epochs = list(range(1, len(curve) + 1))
    ax.plot(epochs, list(curve), color="C0", label="training loss")
    val_loss = getattr(clf, "validation_loss_curve_", None)
    if val_loss:
        ax.plot(epochs[: len(val_loss)], list(val_loss), color="C2", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (+ L2 in training)" if val_loss else "training loss (mean BCE + L2)")
    handles = ax.get_lines()[:]
    scores = getattr(clf, "validation_scores_", None)
    if scores:
        ax2 = ax.twinx()
        ax2.plot(epochs[: len(scores)], list(scores), color="C1", label="validation score")
        best = max(range(len(scores)), key=lambda i: scores[i])
        ax2.plot([best + 1], [scores[best]], "o", color="C1", label="best validation score")
        ax2.set_ylabel("validation score")
        handles += ax2.get_lines()[:1]
    ax.legend(handles=handles, loc="best")
    ax.set_title(title or f"{type(clf).__name__}: {len(curve)} epochs")
    ax.grid(alpha=0.3)
    return fig


def benchmark(
    results: Union[Sequence[Mapping[str, Any]], Mapping[str, Any]],
    *,
    dtype: str | None = None,
    title: str | None = None,
) -> "Figure":
    """Seconds per epoch of each competitor, per config, as grouped bars (log scale).

    Parameters
    ----------
    results : list of dict, or dict with key ``"results"``
        The records of ``fastdense bench`` / ``benchmarks/bench_fit.py``
        (``--json FILE`` writes ``{"header": ..., "results": [...]}``); each
        needs ``config``, ``competitor``, ``median`` and ``dtype`` (``min``
        and ``max`` draw error bars when present).
    dtype : str, optional
        Which dtype's records to draw (default: the first one present).
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes; one bar container per competitor (labelled with its name),
        one bar per config, heights = median seconds per epoch.
    """
    records: List[Mapping[str, Any]]
    if isinstance(results, Mapping):
        if "results" not in results:
            raise ValueError("expected a list of benchmark records or a dict with 'results'")
        records = list(results["results"])
    else:
        records = list(results)
    missing = [k for k in ("config", "competitor", "median") if records and k not in records[0]]
    if not records or missing:
        raise ValueError(
            "benchmark() needs the records of `fastdense bench --json` / bench_fit.py"
            + (f"; missing keys {missing}" if missing else "; got none")
        )
    dtypes = list(dict.fromkeys(str(r.get("dtype", "")) for r in records))
    dtype = dtypes[0] if dtype is None else dtype
    if dtype not in dtypes:
        raise ValueError(f"no records for dtype {dtype!r}; have {dtypes}")
    chosen = [r for r in records if str(r.get("dtype", "")) == dtype]
    configs = list(dict.fromkeys(str(r["config"]) for r in chosen))
    competitors = list(dict.fromkeys(str(r["competitor"]) for r in chosen))
    table: Dict[tuple, Mapping[str, Any]] = {
        (str(r["config"]), str(r["competitor"])): r for r in chosen
    }

    import numpy as np

    fig = _figure(figsize=(max(6.4, 1.6 * len(configs) + 3), 4.0), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(competitors)
    x = np.arange(len(configs))
    for k, name in enumerate(competitors):
        med = [float(table[(c, name)]["median"]) if (c, name) in table else np.nan for c in configs]
        err = None
        if all("min" in table.get((c, name), {}) for c in configs):
            lo = [m - float(table[(c, name)]["min"]) for c, m in zip(configs, med)]
            hi = [float(table[(c, name)]["max"]) - m for c, m in zip(configs, med)]
            err = [lo, hi]
        ax.bar(x + (k + 0.5) * width - 0.4, med, width, yerr=err, label=name, capsize=2)
    ax.set_xticks(x, configs)
    ax.set_yscale("log")
    ax.set_ylabel("seconds per epoch (median)")
    ax.set_xlabel("config")
    ax.set_title(title or f"Training time per epoch ({dtype}); lower is better")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig
