"""scikit-learn's callback protocol (>= 1.9) on DenseBinaryClassifier, and the CLI's progress."""

import io
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn.callback")

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastdense import DenseBinaryClassifier  # noqa: E402
from fastdense.cli import EpochProgress  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class Recorder:
    """Records every hook; asks to stop after epoch `stop_after` (0-based task id)."""

    def __init__(self, X=None, y=None, stop_after=None):
        self.events, self.scores, self.X, self.y = [], [], X, y
        self.stop_after = stop_after

    def setup(self, estimator, context):
        self.events.append(("setup",))

    def teardown(self, estimator, context):
        self.events.append(("teardown",))

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id))
        if fitted_estimator is not None and self.X is not None and context.task_name != "fit":
            self.scores.append(fitted_estimator.score(self.X, self.y))
        return context.task_name == "epoch" and context.task_id == self.stop_after


@pytest.fixture(scope="module")
def Xy():
    X, y = make_classification(200, n_features=5, random_state=0)
    return StandardScaler().fit_transform(X), y


def test_one_subtask_per_epoch(Xy):
    X, y = Xy
    rec = Recorder()
    clf = DenseBinaryClassifier((6,), max_iter=7, random_state=0).set_callbacks(rec)
    clf.fit(X, y)
    expected = [("setup",), ("begin", "fit", 0)]
    for i in range(7):
        expected += [("begin", "epoch", i), ("end", "epoch", i)]
    expected += [("end", "fit", 0), ("teardown",)]
    assert rec.events == expected and clf.n_iter_ == 7


def test_callbacks_do_not_change_the_model(Xy):
    X, y = Xy
    plain = DenseBinaryClassifier((6,), max_iter=9, random_state=0).fit(X, y)
    rec = Recorder(X, y)
    watched = DenseBinaryClassifier((6,), max_iter=9, random_state=0).set_callbacks(rec).fit(X, y)
    for a, b in zip(plain.coefs_ + plain.intercepts_, watched.coefs_ + watched.intercepts_):
        np.testing.assert_array_equal(a, b)
    # fitted_estimator at each epoch's end is the model as it was then: the last one is final
    assert len(rec.scores) == 9
    assert rec.scores[-1] == plain.score(X, y)


def test_a_callback_can_stop_the_fit(Xy):
    X, y = Xy
    clf = DenseBinaryClassifier((6,), max_iter=50, random_state=0)
    clf.set_callbacks(Recorder(stop_after=3)).fit(X, y)
    assert clf.n_iter_ == 4 and len(clf.loss_curve_) == 4


def test_early_stopping_ends_every_epoch_it_began(Xy):
    X, y = Xy
    rec = Recorder()
    clf = DenseBinaryClassifier(
        (6,), max_iter=200, early_stopping=True, n_iter_no_change=2, random_state=0
    ).set_callbacks(rec)
    clf.fit(X, y)
    begins = [e for e in rec.events if e[:2] == ("begin", "epoch")]
    ends = [e for e in rec.events if e[:2] == ("end", "epoch")]
    assert len(begins) == len(ends) == clf.n_iter_ < 200


def test_lbfgs_iterations(Xy):
    X, y = Xy
    rec = Recorder(X, y)
    clf = DenseBinaryClassifier((6,), solver="lbfgs", max_iter=6, random_state=0)
    clf.set_callbacks(rec).fit(X, y)
    ends = [e for e in rec.events if e[:2] == ("end", "lbfgs-iter")]
    # one per iteration run, plus the one begun after the last (ended empty)
    assert len(ends) == clf.n_iter_ + 1
    assert len(rec.scores) == clf.n_iter_


def test_partial_fit_is_one_epoch(Xy):
    X, y = Xy
    rec = Recorder()
    clf = DenseBinaryClassifier((6,), random_state=0).set_callbacks(rec)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y)
    assert [e for e in rec.events if e[1:2] == ("epoch",)] == [
        ("begin", "epoch", 0),
        ("end", "epoch", 0),
    ] * 2


def test_sklearn_progress_bar_in_a_pipeline(Xy):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = Xy
    pipe = make_pipeline(StandardScaler(), DenseBinaryClassifier((6,), max_iter=5))
    pipe.set_callbacks(ProgressBar())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    assert pipe[-1].n_iter_ == 5


def test_cli_progress_plain_lines(Xy):
    X, y = Xy
    out = io.StringIO()
    clf = DenseBinaryClassifier((6,), max_iter=30, random_state=0)
    clf.set_callbacks(EpochProgress(30, out, bar=False, every=10)).fit(X, y)
    lines = out.getvalue().splitlines()
    assert [line.split("/")[0].split()[-1] for line in lines] == ["1", "10", "20", "30"]
    assert lines[-1] == f"epoch   30/30  loss {clf.loss_curve_[-1]:.6f}"


def test_cli_progress_bar_renders(Xy):
    pytest.importorskip("rich")
    X, y = Xy
    out = io.StringIO()
    clf = DenseBinaryClassifier((6,), max_iter=12, random_state=0)
    clf.set_callbacks(EpochProgress(12, out, bar=True)).fit(X, y)
    assert "12/12" in out.getvalue() and "loss" in out.getvalue()
