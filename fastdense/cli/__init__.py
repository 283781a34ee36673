"""The ``fastdense`` command line (also ``python -m fastdense``).

    fastdense                       the main job: the three estimators on scikit-learn's
                                    bundled data, each against scikit-learn's MLP; saves
                                    the breast cancer model
    fastdense train DATA.csv --target COLUMN [--target COLUMN ...] [--task regression]
                                    [--loss poisson] [--hidden 64,32] [--impute] ...
    fastdense predict MODEL DATA.csv [--out preds.csv]
    fastdense export MODEL --onnx model.onnx [--float32] [--opset N] [--zipmap]
                                    the model and its preprocessing as one ONNX graph
    fastdense bench [--quick]       fastdense vs MLPClassifier, PyTorch, NumPy
    fastdense info                  versions, BLAS libraries and threads
    fastdense selfcheck             the kernels against the NumPy reference, timed

One module per subcommand, each with ``register(subparsers)`` and ``run(args)``;
:func:`main` is the one place that turns exceptions into messages and exit
statuses: user mistakes (:class:`UsageError`: a missing file, an unknown
column, a bad value) print one line ``fastdense: error: ...`` on stderr and
exit with status 2; a failed check exits with 1; Ctrl-C with 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Optional, Sequence

from .. import __version__
from . import bench, export, info, predict, selfcheck, train
from ._common import CheckFailed, TrainingInterrupted, UsageError, check_writable
from ._progress import EpochProgress, fit_with_progress, interruptions
from .demo import DEMO_MODEL, run_demo

__all__ = ["main", "EpochProgress", "UsageError", "TrainingInterrupted", "run_demo"]

_COMMANDS = {
    "train": train,
    "predict": predict,
    "export": export,
    "bench": bench,
    "info": info,
    "selfcheck": selfcheck,
}

# the names the single module had
_fit_with_progress, _interruptions = fit_with_progress, interruptions
run_train, run_predict, run_export = train.run, predict.run, export.run
run_bench, run_info = bench.run, info.run


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit status 2."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fastdense",
        description=(
            "Fast dense neural networks: binary, multi-class and multilabel classification "
            "and regression. Without a command: the main job, the three estimators on "
            "scikit-learn's bundled data sets, each compared with scikit-learn's MLP; saves "
            "the breast cancer model."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"fastdense {__version__}")
    p.add_argument(
        "--out",
        default=DEMO_MODEL,
        help=f"where the main job saves its model (default {DEMO_MODEL})",
    )
    p.add_argument("--no-save", action="store_true", help="main job: do not save the model")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in _COMMANDS.values():
        module.register(sub)
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
            check_writable(out_path, "model")
            run_demo(out_path, quiet=args.quiet)
        else:
            _COMMANDS[args.command].run(args)
    except UsageError as exc:
        print(f"fastdense: error: {exc}", file=sys.stderr)
        return 2
    except CheckFailed as exc:
        print(f"fastdense: check failed: {exc}", file=sys.stderr)
        return 1
    except TrainingInterrupted as stop:
        if stop.saved:
            what = f"saved the model trained so far to {stop.saved}"
        else:
            target = getattr(args, "out", None) if args.command in (None, "train") else None
            what = "no model saved" + (f"; {target} left unchanged" if target else "")
        print(
            f"fastdense: interrupted after {stop.epochs} complete epoch(s); {what}", file=sys.stderr
        )
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
    except OSError as exc:  # a full disk, a read-only folder, ... (writes are atomic)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"fastdense: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
