"""fastdense.plot: the figures render (Agg) and hold the right series."""

import json
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastdense import DenseBinaryClassifier  # noqa: E402
from fastdense.plot import benchmark, loss_curve  # noqa: E402


def render(fig, tmp_path, name="f.png"):
    path = tmp_path / name
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def lines_by_label(fig):
    return {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}


@pytest.fixture(scope="module")
def Xy():
    return make_classification(300, n_features=6, random_state=0)


def test_loss_curve(Xy, tmp_path):
    X, y = Xy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = DenseBinaryClassifier((8,), max_iter=25, random_state=0).fit(X, y)
    fig = loss_curve(clf)
    render(fig, tmp_path)
    lines = lines_by_label(fig)
    assert set(lines) == {"training loss"}
    np.testing.assert_array_equal(lines["training loss"].get_xdata(), np.arange(1, 26))
    np.testing.assert_allclose(lines["training loss"].get_ydata(), clf.loss_curve_)


def test_loss_curve_with_early_stopping_in_a_pipeline(Xy, tmp_path):
    X, y = Xy
    pipe = make_pipeline(
        StandardScaler(),
        DenseBinaryClassifier(
            (8,), max_iter=60, early_stopping=True, n_iter_no_change=5, random_state=0
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    clf = pipe[-1]
    fig = loss_curve(pipe)
    render(fig, tmp_path)
    lines = lines_by_label(fig)
    assert {"training loss", "validation score", "best validation score"} <= set(lines)
    np.testing.assert_allclose(lines["training loss"].get_ydata(), clf.loss_curve_)
    np.testing.assert_allclose(lines["validation score"].get_ydata(), clf.validation_scores_)
    assert lines["best validation score"].get_ydata()[0] == clf.best_validation_score_
    assert len(fig.axes) == 2  # the score has its own y axis


def test_loss_curve_draws_the_validation_loss(Xy, tmp_path):
    X, y = Xy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = DenseBinaryClassifier((8,), max_iter=12, random_state=0)
        clf.fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    fig = loss_curve(clf)
    render(fig, tmp_path)
    lines = lines_by_label(fig)
    assert {"training loss", "validation loss", "validation score"} <= set(lines)
    np.testing.assert_array_equal(lines["validation loss"].get_xdata(), np.arange(1, 13))
    np.testing.assert_allclose(lines["validation loss"].get_ydata(), clf.validation_loss_curve_)
    # the two losses share one y axis; the score has its own
    assert lines["validation loss"].axes is lines["training loss"].axes
    assert lines["validation score"].axes is not lines["training loss"].axes


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_loss_curve_errors(Xy):
    X, y = Xy
    with pytest.raises(ValueError, match="fit"):
        loss_curve(DenseBinaryClassifier())
    clf = DenseBinaryClassifier((4,), solver="lbfgs", max_iter=20).fit(X, y)
    with pytest.raises(ValueError, match="lbfgs"):
        loss_curve(clf)


RECORDS = [
    {"config": c, "dtype": d, "competitor": k, "median": m, "min": m * 0.9, "max": m * 1.2}
    for d in ("float32", "float64")
    for c, base in (("T", 0.001), ("S", 0.01))
    for k, m in (("fastdense", base), ("MLPClassifier", base * 5), ("GEMM floor", base / 3))
]


def test_benchmark_bars(tmp_path):
    fig = benchmark({"header": "h", "results": json.loads(json.dumps(RECORDS))})
    render(fig, tmp_path)
    (ax,) = fig.axes
    containers = {c.get_label(): c for c in ax.containers if hasattr(c, "patches")}
    assert list(containers) == ["fastdense", "MLPClassifier", "GEMM floor"]
    heights = [p.get_height() for p in containers["MLPClassifier"].patches]
    np.testing.assert_allclose(heights, [0.005, 0.05])  # float32, configs T and S
    assert [t.get_text() for t in ax.get_xticklabels()] == ["T", "S"]
    assert ax.get_yscale() == "log"
    fig64 = benchmark(RECORDS, dtype="float64")
    assert "float64" in fig64.axes[0].get_title()


def test_benchmark_errors():
    with pytest.raises(ValueError, match="records"):
        benchmark([])
    with pytest.raises(ValueError, match="missing keys"):
        benchmark([{"config": "T"}])
    with pytest.raises(ValueError, match="float16"):
        benchmark(RECORDS, dtype="float16")
