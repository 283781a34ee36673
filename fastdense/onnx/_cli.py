"""ONNX export of the command line's model files, preprocessing included.

``fastdense train`` saves, beside the network, the input columns, the
categories of each one-hot column and the standardization (see
``fastdense/io/model_file.py``). The exported graph applies them, so it takes
what the CSV had:

- ``X``: the numeric columns, in the order of ``numeric_columns`` in the
  model's metadata, as float64 (bool columns as 0/1);
- one string input of shape (n, 1) per one-hot column, named after it
  (the value as text, as ``fastdense predict`` compares ``str(value)``).

A model trained with ``--impute`` carries its fill values into the graph,
as ``fastdense predict`` applies them: NaN in a numeric column becomes the
column's fill value, and in a text column the empty string (what an empty
CSV field is) becomes its fill category.

What the graph cannot do, because ONNX has no errors or CSV parsing:
``fastdense predict`` refuses a missing value in a numeric column without a
fill value and a category not seen in training; the graph returns NaN
probabilities for the first and encodes the second as all zeros (like a
missing category, which ``fastdense predict`` also encodes as all zeros).
Reading the CSV, picking columns by name and ignoring the others stay with
the caller.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

import numpy as np

from . import (
    _assemble,
    _check_dtype,
    _check_opset,
    _classifier_outputs,
    _estimator_layers,
    _graph,
    _metadata,
)

NOT_INCLUDED = (
    "not in the graph: CSV parsing and column selection; the CLI's errors for a missing "
    "numeric value without --impute (the graph gives NaN) and for an unseen category "
    "(the graph encodes it as all zeros)"
)


def cli_model_to_onnx(
    path: "str | os.PathLike[str]",
    *,
    dtype: Any = None,
    opset: Optional[int] = None,
    zipmap: Any = False,
) -> Any:
    """The ONNX model of a ``fastdense train`` file, preprocessing included.

    Parameters
    ----------
    path : str or os.PathLike
        A model file written by ``fastdense train`` (or the main job).
    dtype, opset, zipmap
        As :func:`fastdense.onnx.to_onnx`; `dtype` is the network's (the
        inputs and the scaling stay float64, as in ``fastdense predict``).

    Returns
    -------
    onnx.ModelProto
    """
    from onnx import TensorProto, helper

    from ..io.model_file import load_model

    clf, extra = load_model(path)
    info = extra["info"]
    columns: List[str] = [str(c) for c in info.get("columns") or []]
    one_hot: Dict[str, List[str]] = {
        str(k): [str(v) for v in cats] for k, cats in (info.get("one_hot") or {}).items()
    }
    if not columns:
        raise ValueError(f"{os.fspath(path)!r} does not record its input columns")
    opset = _check_opset(opset)
    if one_hot and opset < 19:
        raise ValueError("one-hot columns need opset >= 19 (Equal on strings)")
    layers = _estimator_layers(clf, n_outputs=getattr(clf, "n_outputs_", None))
    dt = _check_dtype(dtype, layers[0][0].dtype)
    b = _graph.Builder(np.float64, opset)

    numeric = [c for c in columns if c not in one_hot]
    x_name = "X" if "X" not in one_hot else "X_numeric"
    fill: Dict[str, Any] = info.get("impute") or {}  # checked by load_model
    inputs = []
    x_read = x_name  # X as the network reads it: with --impute's fill values
    if numeric:
        b.reserve(x_name)
        inputs.append(
            helper.make_tensor_value_info(x_name, TensorProto.DOUBLE, ["batch", len(numeric)])
        )
        if any(c in fill for c in numeric):
            # NaN in a column without a fill value stays NaN
            values = np.array([float(fill.get(c, np.nan)) for c in numeric], dtype=np.float64)
            x_read = b.node(
                "Where",
                [b.node("IsNaN", [x_name], "is_missing"), b.const("fill", values), x_name],
                "imputed",
            )
    # the feature vector, column by column: runs of numeric columns are one Slice of X
    blocks: List[Any] = []  # (start, end) of a run of numeric columns, or a node's name
    j = 0
    for c in columns:
        if c in one_hot:
            b.reserve(c)
            inputs.append(helper.make_tensor_value_info(c, TensorProto.STRING, ["batch", 1]))
            text = c
            if c in fill:  # an empty field is missing: its fill category
                empty = b.node("Equal", [c, b.const("empty", np.array([""], dtype=object))])
                text = b.node(
                    "Where",
                    [empty, b.const("fill", np.array([str(fill[c])], dtype=object)), c],
                    "imputed",
                )
            hit = b.node(
                "Equal",
                [text, b.const("categories", np.array(one_hot[c], dtype=object))],
                "is_category",
            )
            blocks.append(b.node("Cast", [hit], "one_hot", to=TensorProto.DOUBLE))
        elif blocks and isinstance(blocks[-1], tuple) and blocks[-1][1] == j:
            blocks[-1], j = (blocks[-1][0], j + 1), j + 1
        else:
            blocks.append((j, j + 1))
            j += 1
    names = []
    for blk in blocks:
        if blk == (0, len(numeric)):
            names.append(x_read)
        elif isinstance(blk, tuple):
            names.append(
                b.node(
                    "Slice",
                    [
                        x_read,
                        b.const("start", np.array([blk[0]])),
                        b.const("end", np.array([blk[1]])),
                        b.const("axis", np.array([1])),
                    ],
                    "columns",
                )
            )
        else:
            names.append(blk)
    x = names[0] if len(names) == 1 else b.node("Concat", names, "features", axis=1)
    if extra["mean"] is not None:
        x = b.node("Sub", [x, b.const("mean", np.asarray(extra["mean"], np.float64))], "centred")
        x = b.node(
            "Div", [x, b.const("scale", np.asarray(extra["scale"], np.float64))], "standardized"
        )
    b.dtype = dt  # the network's type from here on
    if dt != np.float64:
        x = b.node("Cast", [x], "network_input", to=_graph.onnx_elem_type(dt))
    logit = _graph.dense_network(
        b,
        x,
        layers,
        clf.activation,
        float(getattr(clf, "leaky_relu_slope", _graph.LEAKY_RELU_SLOPE)),
    )
    if hasattr(clf, "classes_"):
        outputs = _classifier_outputs(b, logit, clf, zipmap)
    else:  # a regressor: `variable`, as skl2onnx names MLPRegressor's output
        if zipmap:
            raise ValueError("zipmap applies to classifiers; a regressor exports 'variable'")
        target_scaling = info.get("target_scaling")
        out = b.reserve("variable")
        value = _graph.regression_head(
            b, logit, clf.out_activation_, b.name("network_output") if target_scaling else out
        )
        if target_scaling:  # the network learned the standardized target: undo it
            value = b.node(
                "Mul",
                [value, b.const("target_scale", np.asarray(target_scaling["scale"], dtype=dt))],
                "unscaled",
            )
            b.node(
                "Add",
                [value, b.const("target_mean", np.asarray(target_scaling["mean"], dtype=dt))],
                output=out,
            )
        outputs = [
            helper.make_tensor_value_info(
                out, _graph.onnx_elem_type(dt), ["batch", layers[-1][0].shape[0]]
            )
        ]
    meta = _metadata(clf, "fastdense-cli-model")
    meta.update(
        columns=json.dumps(columns),
        numeric_columns=json.dumps(numeric),
        one_hot=json.dumps(one_hot),
        target=str(info.get("target", "")),
        standardized=str(extra["mean"] is not None),
        impute=json.dumps(fill),
        not_included=NOT_INCLUDED,
    )
    doc = (
        f"fastdense CLI model {os.path.basename(os.fspath(path))}: inputs "
        f"{x_name + ' (numeric columns ' + ', '.join(numeric) + ')' if numeric else ''}"
        f"{'; ' if numeric and one_hot else ''}"
        f"{', '.join(one_hot)}{' (string, one-hot)' if one_hot else ''}; {NOT_INCLUDED}"
    )
    return _assemble(b, inputs, outputs, opset, meta, doc, type(clf).__name__)
