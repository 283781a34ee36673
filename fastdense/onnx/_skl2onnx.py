"""fastdense's converters for skl2onnx (imported by :func:`fastdense.onnx.register_skl2onnx`).

The converter emits the same nodes as :func:`fastdense.onnx.to_onnx`
(``_graph.py``) through an adapter over skl2onnx's scope and container.
skl2onnx's own classifier parser adds ZipMap (its ``zipmap`` option), so
the converter only writes ``label`` and ``probabilities``.

To convert another estimator with fitted ``coefs_`` / ``intercepts_`` /
``activation`` (e.g. a multi-class classifier or a regressor), write its
head in ``_graph.py`` beside :func:`_graph.binary_head` and add it to
:func:`_converters` below with the matching skl2onnx shape calculator.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import _estimator_layers, _graph

ALIAS = "FastdenseDenseBinaryClassifier"


class _Skl2onnxBuilder:
    """The :class:`_graph.Builder` interface over skl2onnx's scope and container."""

    def __init__(self, scope: Any, container: Any, dtype: Any) -> None:
        self.scope, self.container = scope, container
        self.dtype = np.dtype(dtype)

    def name(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(hint)

    def reserve(self, name: str) -> str:  # pragma: no cover - outputs come from skl2onnx
        return name

    def const(self, hint: str, value: Any) -> str:
        from onnx import TensorProto, numpy_helper

        name = self.name(hint)
        arr = np.asarray(value)
        if arr.dtype.kind in "OUS":
            self.container.add_initializer(name, TensorProto.STRING, list(arr.shape),
                                           [str(v).encode("utf-8") for v in arr.ravel()])
        else:
            tensor = numpy_helper.from_array(np.ascontiguousarray(arr), name)
            self.container.add_initializer(name, tensor.data_type, list(arr.shape), tensor)
        return name

    def node(self, op: str, inputs: Sequence[str], hint: Optional[str] = None, *,
             output: Optional[str] = None, domain: str = "", **attrs: Any) -> str:
        out = output if output is not None else self.name(hint or op.lower())
        self.container.add_node(op, list(inputs), [out], op_domain=domain,
                                name=self.scope.get_unique_operator_name(op), **attrs)
        return out


def _proto_dtype(operator: Any) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType

    return np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType) else np.float32


def convert_binary_classifier(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter of a fitted DenseBinaryClassifier: label and probabilities."""
    est = operator.raw_operator
    dtype = _proto_dtype(operator)
    b = _Skl2onnxBuilder(scope, container, dtype)
    x = b.node("Cast", [operator.inputs[0].full_name], "cast_input",
               to=_graph.onnx_elem_type(dtype))
    logit = _graph.dense_network(b, x, _estimator_layers(est), est.activation)
    options = scope.get_options(est, dict(nocl=False))
    classes = np.arange(2) if options.get("nocl") else _graph.class_labels(est.classes_)
    _graph.binary_head(b, logit, classes, operator.outputs[0].full_name,
                       operator.outputs[1].full_name)


def _converters() -> Any:
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    from ..estimators import DenseBinaryClassifier

    return [(DenseBinaryClassifier, ALIAS, calculate_linear_classifier_output_shapes,
             convert_binary_classifier,
             {"zipmap": [True, False, "columns"], "nocl": [True, False],
              "output_class_labels": [False, True]})]


def register() -> None:
    """``update_registered_converter`` for each fastdense estimator (idempotent)."""
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        raise ImportError("register_skl2onnx needs skl2onnx: pip install "
                          "'fastdense[onnx]' (or skl2onnx)") from None
    for cls, alias, shape_fn, convert_fn, options in _converters():
        update_registered_converter(cls, alias, shape_fn, convert_fn, overwrite=True,
                                    options=options)
