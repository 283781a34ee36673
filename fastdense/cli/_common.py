"""What the subcommands share: the two exceptions main() maps to exit statuses, CSV
reading, argument types and the estimator choices read from the estimators themselves."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any, List, Optional, Sequence


class UsageError(Exception):
    """A mistake in the command line or its input: reported in one line, exit status 2."""


class TrainingInterrupted(Exception):
    """Ctrl-C during training; `epochs` finished before it (exit status 130)."""

    def __init__(self, epochs: int, saved: Optional[str] = None) -> None:
        super().__init__(epochs, saved)
        self.epochs, self.saved = epochs, saved


class CheckFailed(Exception):
    """A check that ran and failed (``fastdense selfcheck``): exit status 1."""


def pandas() -> Any:
    """pandas, or a UsageError saying how to install it."""
    try:
        import pandas as pd
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == "pandas":
            raise UsageError(
                "reading CSV files needs pandas: pip install 'fastdense[cli]' (or pandas)"
            ) from None
        # pandas is there but its own import failed (a broken dependency): say that
        raise UsageError(
            f"pandas is installed but failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return pd


def read_csv(path: str, sep: Optional[str] = None) -> Any:
    """The CSV at `path` as a DataFrame (a header row, at least one data row)."""
    pd = pandas()
    if not os.path.exists(path):
        raise UsageError(f"no such file: {path}")
    if os.path.isdir(path):
        raise UsageError(f"{path} is a directory, not a CSV file")
    try:
        df = pd.read_csv(path, sep="," if sep is None else sep)
    except pd.errors.EmptyDataError:
        raise UsageError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot read {path} as CSV: {msg}{_sep_hint(path, sep)}") from None
    if df.shape[0] == 0:
        raise UsageError(f"{path} has a header but no rows")
    if df.shape[1] == 1 and sep is None:
        hint = _sep_hint(path, sep)
        if hint:
            raise UsageError(f"{path} has one column only, {str(df.columns[0])[:40]!r}{hint}")
    return df


def _sep_hint(path: str, sep: Optional[str]) -> str:
    """'; is it separated by ';'? ...' when the first line holds another usual separator."""
    if sep is not None:
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except OSError:
        return ""
    for candidate, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        if candidate in first and "," not in first:
            flag = (
                "--sep ';'"
                if candidate == ";"
                else ("--sep $'\\t'" if candidate == "\t" else "--sep '|'")
            )
            return f"; is it separated by {name}? Pass {flag}"
    return ""


def columns_list(cols: Sequence[Any]) -> str:
    shown = ", ".join(repr(str(c)) for c in list(cols)[:20])
    return shown + (f", ... ({len(cols)} in all)" if len(cols) > 20 else "")


def check_writable(path: Optional[str], what: str) -> None:
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write the {what} to {path}: no such directory {folder}")
    if os.path.isdir(path):
        raise UsageError(f"cannot write the {what} to {path}: it is a directory")


# ------------------------------------------------- choices read from the estimators


def _options(estimator: str, parameter: str) -> List[str]:
    """The string options of an estimator's parameter, from its declared constraints (the
    one place they are listed), sorted."""
    from .. import estimators

    constraints = getattr(estimators, estimator)._parameter_constraints[parameter]
    return sorted(
        opt for c in constraints for opt in getattr(c, "options", ()) if isinstance(opt, str)
    )


def activation_choices() -> List[str]:
    """The hidden activations every estimator takes."""
    return _options("DenseBinaryClassifier", "activation")


def solver_choices() -> List[str]:
    return _options("DenseBinaryClassifier", "solver")


def regression_loss_choices() -> List[str]:
    """DenseRegressor's losses (classifiers have one loss: the log loss)."""
    return _options("DenseRegressor", "loss")


# ------------------------------------------------------------------ argument types


def parse_hidden(text: str) -> tuple:
    try:
        sizes = tuple(int(t) for t in text.replace(" ", "").split(",") if t != "")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 64,32; got {text!r}"
        ) from None
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive integers; got {text!r}")
    return sizes


def cv_folds(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"cross-validation needs at least 2 folds; got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = nonneg_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0; got {text!r}")
    return value
