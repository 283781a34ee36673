"""``fastdense export``: a model file and its preprocessing as one ONNX graph."""

from __future__ import annotations

import argparse
import os
from typing import Any, Optional, TextIO

from ._common import UsageError, check_writable, positive_int


def register(sub: Any) -> None:
    e = sub.add_parser(
        "export",
        help="write a saved model as ONNX, preprocessing included",
        description="Write a model file of `fastdense train` (any of the three estimators) as "
        "one ONNX graph that takes the CSV's raw numeric columns (input X, float64) and one "
        "string input per one-hot column, and applies the saved scaling and one-hot encoding "
        "(needs onnx: pip install 'fastdense[onnx]'). Classifiers output label and "
        "probabilities, regressors variable.",
    )
    e.add_argument("model", metavar="MODEL")
    e.add_argument("--onnx", required=True, metavar="model.onnx", help="the ONNX file to write")
    e.add_argument("--float32", action="store_true", help="run the network in float32")
    e.add_argument("--opset", type=positive_int, default=None, help="ONNX opset (default 19)")
    e.add_argument(
        "--zipmap",
        action="store_true",
        help="a classifier's probabilities as skl2onnx's ZipMap (needs --float32)",
    )


def run(args: argparse.Namespace, out: Optional[TextIO] = None) -> Any:
    """``fastdense export``: the model file and its preprocessing as an ONNX graph."""
    import sys

    out = sys.stdout if out is None else out
    if not os.path.exists(args.model):
        raise UsageError(f"no such file: {args.model}")
    check_writable(args.onnx, "ONNX model")
    if args.zipmap and not args.float32:
        raise UsageError("--zipmap needs --float32: ONNX's ZipMap takes float32 probabilities only")
    try:
        import onnx

        from ..onnx._cli import cli_model_to_onnx
    except ImportError:
        raise UsageError("export needs onnx: pip install 'fastdense[onnx]'") from None
    try:
        model = cli_model_to_onnx(
            args.model,
            dtype="float32" if args.float32 else None,
            opset=args.opset,
            zipmap=args.zipmap,
        )
    except ValueError as exc:
        raise UsageError(str(exc).replace("zipmap", "--zipmap")) from None
    onnx.save(model, args.onnx)
    names = ", ".join(
        f"{i.name} ({'string' if i.type.tensor_type.elem_type == 8 else 'float64'})"
        for i in model.graph.input
    )
    print(
        f"Wrote {args.onnx}: inputs {names}; outputs "
        f"{', '.join(o.name for o in model.graph.output)}",
        file=out,
    )
    props = {p.key: p.value for p in model.metadata_props}
    print(f"  {props['not_included']}", file=out)
    return model
