"""fastdense's converters for skl2onnx (imported by :func:`fastdense.onnx.register_skl2onnx`).

The converter emits the same nodes as :func:`fastdense.onnx.to_onnx`
(``_graph.py``) through an adapter over skl2onnx's scope and container.
skl2onnx's own classifier parser adds ZipMap (its ``zipmap`` option), so
the converter only writes ``label`` and ``probabilities``.

The heads (binary, multi-class, multilabel, regression) are those of
``_graph.py``; :func:`_converters` lists each estimator with its skl2onnx
alias, shape calculator and options.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import _estimator_layers, _graph, classifier_head, classifier_target

ALIAS = "FastdenseDenseBinaryClassifier"


class _Skl2onnxBuilder:
    """The :class:`_graph.Builder` interface over skl2onnx's scope and container."""

    def __init__(self, scope: Any, container: Any, dtype: Any) -> None:
        self.scope, self.container = scope, container
        self.dtype = np.dtype(dtype)
        self.opset = int(container.target_opset)

    def name(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(hint)

    def reserve(self, name: str) -> str:  # pragma: no cover - outputs come from skl2onnx
        return name

    def const(self, hint: str, value: Any) -> str:
        from onnx import TensorProto, numpy_helper

        name = self.name(hint)
        arr = np.asarray(value)
        if arr.dtype.kind in "OUS":
            self.container.add_initializer(
                name,
                TensorProto.STRING,
                list(arr.shape),
                [str(v).encode("utf-8") for v in arr.ravel()],
            )
        else:
            tensor = numpy_helper.from_array(np.ascontiguousarray(arr), name)
            self.container.add_initializer(name, tensor.data_type, list(arr.shape), tensor)
        return name

    def node(
        self,
        op: str,
        inputs: Sequence[str],
        hint: Optional[str] = None,
        *,
        output: Optional[str] = None,
        domain: str = "",
        **attrs: Any,
    ) -> str:
        out = output if output is not None else self.name(hint or op.lower())
        self.container.add_node(
            op,
            list(inputs),
            [out],
            op_domain=domain,
            name=self.scope.get_unique_operator_name(op),
            **attrs,
        )
        return out


def _proto_dtype(operator: Any) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType

    return np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType) else np.float32


def _network(scope: Any, operator: Any, container: Any) -> Any:
    """(builder, logits) of the operator's estimator, its input cast to the graph's dtype."""
    est = operator.raw_operator
    dtype = _proto_dtype(operator)
    b = _Skl2onnxBuilder(scope, container, dtype)
    x = b.node(
        "Cast", [operator.inputs[0].full_name], "cast_input", to=_graph.onnx_elem_type(dtype)
    )
    layers = _estimator_layers(est, n_outputs=getattr(est, "n_outputs_", None))
    return b, _graph.dense_network(
        b,
        x,
        layers,
        est.activation,
        float(getattr(est, "leaky_relu_slope", _graph.LEAKY_RELU_SLOPE)),
    )


def convert_classifier(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter of a fitted DenseBinaryClassifier / DenseClassifier."""
    est = operator.raw_operator
    target, classes = classifier_target(est)
    b, logit = _network(scope, operator, container)
    options = scope.get_options(est, dict(nocl=False))
    if options.get("nocl") and target != "multilabel-indicator":
        classes = np.arange(len(classes))
    classifier_head(
        b, logit, target, classes, operator.outputs[0].full_name, operator.outputs[1].full_name
    )


def convert_regressor(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter of a fitted DenseRegressor: ``variable`` (n, n_outputs)."""
    b, logit = _network(scope, operator, container)
    _graph.regression_head(
        b, logit, operator.raw_operator.out_activation_, operator.outputs[0].full_name
    )


def classifier_shapes(operator: Any) -> None:
    """skl2onnx's classifier shapes; a multilabel label is (N, n_labels), as it is computed."""
    from skl2onnx.common.data_types import Int64TensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    calculate_linear_classifier_output_shapes(operator)
    if classifier_target(operator.raw_operator)[0] == "multilabel-indicator":
        n = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = Int64TensorType([n, operator.raw_operator.n_outputs_])


def regressor_shapes(operator: Any) -> None:
    """``variable`` is (N, n_outputs) in the input's float type (skl2onnx says (N, 1))."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    cls = DoubleTensorType if _proto_dtype(operator) == np.float64 else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = cls([n, int(operator.raw_operator.n_outputs_)])


def _converters() -> Any:
    import fastdense

    options = {
        "zipmap": [True, False, "columns"],
        "nocl": [True, False],
        "output_class_labels": [False, True],
    }
    return [
        (fastdense.DenseBinaryClassifier, ALIAS, classifier_shapes, convert_classifier, options),
        (
            fastdense.DenseClassifier,
            "FastdenseDenseClassifier",
            classifier_shapes,
            convert_classifier,
            options,
        ),
        (
            fastdense.DenseRegressor,
            "FastdenseDenseRegressor",
            regressor_shapes,
            convert_regressor,
            None,
        ),
    ]


def register() -> None:
    """``update_registered_converter`` for each fastdense estimator (idempotent)."""
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        raise ImportError(
            "register_skl2onnx needs skl2onnx: pip install 'fastdense[onnx]' (or skl2onnx)"
        ) from None
    for cls, alias, shape_fn, convert_fn, options in _converters():
        update_registered_converter(
            cls, alias, shape_fn, convert_fn, overwrite=True, options=options
        )
