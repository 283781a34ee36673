"""Training's visible side: one progress step per epoch, Ctrl-C and warnings as
one-line messages."""

from __future__ import annotations

import sys
import warnings
from typing import Any, Optional, TextIO

from ._common import TrainingInterrupted

_INTERRUPTED = "Training interrupted by user."


class EpochProgress:
    """A scikit-learn fit callback that shows one step per epoch.

    A rich progress bar when `stream` is a terminal and rich is installed;
    otherwise plain lines (every `every` epochs, and the last one).
    Used through ``DenseBinaryClassifier.set_callbacks`` (scikit-learn >= 1.9).
    """

    def __init__(
        self,
        total: int,
        stream: Optional[TextIO] = None,
        bar: Optional[bool] = None,
        every: Optional[int] = None,
    ) -> None:
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
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("epochs  {task.description}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=False,
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


def fit_with_progress(clf: Any, X: Any, y: Any, quiet: bool, out: TextIO) -> Any:
    """Fit `clf`, showing one progress step per epoch (sgd/adam)."""
    if not quiet and clf.solver != "lbfgs":
        if hasattr(clf, "set_callbacks"):  # scikit-learn >= 1.9
            clf.set_callbacks(EpochProgress(clf.max_iter, out))
        else:  # older scikit-learn: MLPClassifier's "Iteration N, loss = ..." lines
            clf.set_params(verbose=True)
    with interruptions(lambda: getattr(clf, "n_iter_", 0)):
        try:
            clf.fit(X, y)
        finally:
            if hasattr(clf, "set_callbacks"):
                clf.set_callbacks()
            clf.set_params(verbose=False)
    return clf


class interruptions:
    """Ctrl-C inside a fit, made visible: the estimator (as MLPClassifier) catches it,
    warns and returns; here that warning becomes :class:`TrainingInterrupted`.

    Every other warning is printed as one ``fastdense: warning: ...`` line, each
    distinct message once (cross-validation's folds repeat theirs); a
    ConvergenceWarning says which option gives training more room (or, with
    ``convergence=False``, where a comparison runs at a fixed ``max_iter``, is
    not printed).
    """

    def __init__(self, epochs: Any, where: str = "", convergence: bool = True) -> None:
        self._epochs = epochs
        self._where = where
        self._convergence = convergence  # False: ConvergenceWarnings are expected, not news
        self._catcher = warnings.catch_warnings(record=True)

    def __enter__(self) -> None:
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc_info: Any) -> None:
        self._catcher.__exit__(*exc_info)
        from sklearn.exceptions import ConvergenceWarning

        interrupted = False
        said = set()
        for w in self._caught:
            text = str(w.message)
            if text == _INTERRUPTED:
                interrupted = True
                continue
            if issubclass(w.category, ConvergenceWarning):
                if not self._convergence:
                    continue
                text = (
                    f"{text.rstrip('.')}{self._where}: the model is usable, but more "
                    "epochs (--max-iter) or a larger --learning-rate-init may fit better"
                )
            if text not in said:
                said.add(text)
                print(f"fastdense: warning: {text}", file=sys.stderr)
        if interrupted and exc_info[0] is None:
            raise TrainingInterrupted(int(self._epochs() or 0))
