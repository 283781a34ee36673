"""The ONNX nodes of a dense network, written once for both front ends.

:class:`Builder` collects nodes and initializers for :func:`fastdense.onnx.to_onnx`;
the skl2onnx converter (``_skl2onnx.py``) hands the same functions an adapter
over skl2onnx's scope and container. Everything here takes plain arrays in
PyTorch's layout (weights ``(out, in)``), so an estimator, a
``fastdense.nn.Sequential`` and a CLI model file share one emitter.

Graph choices, measured (see docs/deploy.md):

- a layer is ``Gemm(transB=1)`` with the weight in PyTorch's (out, in)
  layout (what ``torch.onnx.export`` writes), or on request ``MatMul`` +
  ``Add`` with the weight stored transposed; see :data:`DEFAULT_LINEAR`.
- the logistic function is ``1 / (1 + exp(-z))`` (``Neg``, ``Exp``, ``Add``,
  ``Reciprocal``), the formula of ``scipy.special.expit`` and of fastdense's
  kernels. onnxruntime's ``Sigmoid`` is accurate in absolute terms only: it
  returns 0 for ``z = -60`` in float64 (the answer is 8.8e-27) and is off by
  a factor of 5 near ``z = -18`` in float32, so probabilities of the rare
  class would not match ``predict_proba`` relatively.
- the softmax is ``exp(z - max(z)) / sum(exp(z - max(z)))`` per row
  (``ReduceMax``, ``Sub``, ``Exp``, ``ReduceSum``, ``Div``), the formula of
  ``predict_proba``: stable (no exponential overflows) and, in float32, equal
  to it where onnxruntime's own ``Softmax`` is not (it returns a tiny
  non-zero probability where the exact one underflows to 0, and vice versa).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

#: torch.nn.LeakyReLU's default slope, which the estimators use (estimators._base._LEAKY_RELU_SLOPE;
#: not imported from there, so that exporting a Sequential does not import scikit-learn)
LEAKY_RELU_SLOPE = 0.01

#: "gemm" (Gemm with transB=1) or "matmul" (MatMul + Add). Measured by
#: benchmarks/bench_onnx_graph.py in onnxruntime 1.32: Gemm 1.1-1.5x faster in
#: float64 for 1 and 100 rows, within noise (0.85-1.17x) in float32 and at
#: 100,000 rows (docs/benchmarks/onnx_graph.md).
DEFAULT_LINEAR = "gemm"

#: The default ONNX opset (onnxruntime >= 1.15 runs it; ``Equal`` on strings,
#: used for the CLI's one-hot columns, needs 19).
DEFAULT_OPSET = 19
MIN_OPSET = 13


def _registry_keys() -> Tuple[str, ...]:
    from .._activations import REGISTRY

    return tuple(a.onnx for a in REGISTRY)


#: The activations this module emits: the registry's ONNX keys (fastdense._activations).
ACTIVATIONS = _registry_keys()


class Builder:
    """Nodes and initializers of one ONNX graph, with unique names.

    The skl2onnx adapter implements the same four methods (``name``,
    ``const``, ``node``, ``dtype``) over skl2onnx's scope and container.
    """

    def __init__(self, dtype: Any, opset: int = DEFAULT_OPSET) -> None:
        from onnx import helper

        self._helper = helper
        self.dtype = np.dtype(dtype)
        self.opset = int(opset)
        self.nodes: List[Any] = []
        self.initializers: List[Any] = []
        self.domains: Dict[str, int] = {}
        self._used: Dict[str, int] = {}

    def name(self, hint: str) -> str:
        """A name not used before in this graph, built from `hint`."""
        n = self._used.get(hint, 0)
        self._used[hint] = n + 1
        return hint if n == 0 else f"{hint}_{n}"

    def reserve(self, name: str) -> str:
        """Mark `name` (a graph input or output) as used; returns it."""
        if name in self._used:
            raise ValueError(f"the ONNX name {name!r} is used twice")
        self._used[name] = 1
        return name

    def const(self, hint: str, value: Any) -> str:
        """An initializer holding `value` (a NumPy array; strings as object arrays)."""
        from onnx import numpy_helper

        name = self.name(hint)
        arr = np.asarray(value)
        if arr.dtype.kind in "OUS":
            vals: Any = [str(v).encode("utf-8") for v in arr.ravel()]
            tensor = self._helper.make_tensor(name, 8, arr.shape, vals)
        else:
            tensor = numpy_helper.from_array(np.ascontiguousarray(arr), name)
        self.initializers.append(tensor)
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
        """Append an `op` node; returns its (single) output name."""
        out = output if output is not None else self.name(hint or op.lower())
        if domain:
            self.domains[domain] = 1
        self.nodes.append(
            self._helper.make_node(
                op,
                list(inputs),
                [out],
                name=self.name(f"{op}_node"),
                domain=domain or None,
                **attrs,
            )
        )
        return out


def onnx_elem_type(dtype: Any) -> int:
    """The ONNX TensorProto element type of a NumPy float dtype."""
    from onnx import TensorProto

    dt = np.dtype(dtype)
    if dt == np.float32:
        return TensorProto.FLOAT
    if dt == np.float64:
        return TensorProto.DOUBLE
    raise ValueError(f"ONNX export supports float32 and float64; got {dt}")


def sigmoid(b: Any, z: str, hint: str = "sigmoid", output: Optional[str] = None) -> str:
    """``1 / (1 + exp(-z))``, as scipy's expit and the kernels compute it."""
    one = b.const("one", np.array(1, dtype=b.dtype))
    e = b.node("Exp", [b.node("Neg", [z], "neg_" + hint)], "exp_" + hint)
    return b.node("Reciprocal", [b.node("Add", [e, one], "onepexp_" + hint)], hint, output=output)


def activation(
    b: Any, name: str, z: str, slope: float = LEAKY_RELU_SLOPE, output: Optional[str] = None
) -> str:
    """The hidden-layer activation `name` applied to `z`."""
    if name == "identity":
        return z if output is None else b.node("Identity", [z], output=output)
    if name == "relu":
        return b.node("Relu", [z], "relu", output=output)
    if name == "tanh":
        return b.node("Tanh", [z], "tanh", output=output)
    if name == "logistic":
        return sigmoid(b, z, output=output)
    if name == "leaky_relu":
        if b.dtype == np.float32:
            return b.node("LeakyRelu", [z], "leaky_relu", alpha=float(slope), output=output)
        # onnxruntime has no float64 LeakyRelu: PyTorch's formula, z > 0 ? z : slope * z
        zero = b.const("zero", np.array(0, dtype=b.dtype))
        scaled = b.node("Mul", [z, b.const("slope", np.array(slope, dtype=b.dtype))], "scaled")
        return b.node(
            "Where",
            [b.node("Greater", [z, zero], "positive"), z, scaled],
            "leaky_relu",
            output=output,
        )
    if name == "gelu":  # the exact form, (z * 0.5) * (1 + erf(z / sqrt 2)), with opset 13's Erf
        if b.dtype != np.float32:
            raise ValueError(
                "no float64 ONNX export of the 'gelu' activation: onnxruntime's Erf "
                "takes float32 only; export with dtype=np.float32"
            )
        half = b.node("Mul", [z, b.const("half", np.array(0.5, dtype=b.dtype))], "half_z")
        scaled = b.node(
            "Mul", [z, b.const("sqrt1_2", np.array(np.sqrt(0.5), dtype=b.dtype))], "z_sqrt1_2"
        )
        one = b.const("one", np.array(1, dtype=b.dtype))
        cdf2 = b.node("Add", [b.node("Erf", [scaled], "erf"), one], "onep_erf")
        return b.node("Mul", [half, cdf2], "gelu", output=output)
    if name == "silu":  # z / (1 + exp(-z)), the kernels' formula
        one = b.const("one", np.array(1, dtype=b.dtype))
        e = b.node("Exp", [b.node("Neg", [z], "neg_silu")], "exp_silu")
        return b.node("Div", [z, b.node("Add", [e, one], "onepexp_silu")], "silu", output=output)
    if name in ("elu", "softplus"):
        # Where(z > t, z, f(z)), f = exp(z) - 1 (elu, t = 0) or log(1 + exp(z)) (softplus,
        # t = 20): onnxruntime's Elu and Softplus take float32 only, and this is one graph
        # for both dtypes (the exp is of min(z, t): no overflow in the branch not taken)
        t = b.const("threshold", np.array(0 if name == "elu" else 20, dtype=b.dtype))
        one = b.const("one", np.array(1, dtype=b.dtype))
        e = b.node("Exp", [b.node("Min", [z, t], "clipped")], "exp_" + name)
        if name == "elu":
            low = b.node("Sub", [e, one], "expm1")
        else:
            low = b.node("Log", [b.node("Add", [e, one], "onepexp")], "log1pexp")
        return b.node("Where", [b.node("Greater", [z, t], "above"), z, low], name, output=output)
    raise ValueError(
        f"no ONNX export for the activation {name!r}; supported: {', '.join(ACTIVATIONS)}"
    )


def fold_batch_norm(
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    gamma: Any,
    beta: Any,
    mean: Any,
    var: Any,
    eps: float = 1e-5,
) -> Tuple[np.ndarray, np.ndarray]:
    """A Linear (weight (out, in)) followed by an eval-mode BatchNorm1d, as one Linear:
    ``s = gamma / sqrt(var + eps)``, weight ``s[:, None] * W``, bias ``(b - mean) s + beta``
    (computed in float64; the graph stores them in its dtype)."""
    W = np.asarray(weight, dtype=np.float64)
    c = np.zeros(W.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    s = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    dtype = np.asarray(weight).dtype
    return (
        (W * s[:, None]).astype(dtype),
        ((c - np.asarray(mean, np.float64)) * s + np.asarray(beta, np.float64)).astype(dtype),
    )


def linear(
    b: Any,
    x: str,
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    layout: str = DEFAULT_LINEAR,
    output: Optional[str] = None,
) -> str:
    """``x @ weight.T + bias`` with `weight` in PyTorch's (out, in) layout."""
    W = np.asarray(weight, dtype=b.dtype)
    if layout == "gemm":
        inputs = [x, b.const("weight", W)]
        if bias is not None:
            inputs.append(b.const("bias", np.asarray(bias, dtype=b.dtype)))
        return b.node("Gemm", inputs, "gemm", transB=1, output=output)
    if layout != "matmul":
        raise ValueError(f"layout must be 'matmul' or 'gemm'; got {layout!r}")
    if bias is None:
        return b.node(
            "MatMul", [x, b.const("weight_t", np.ascontiguousarray(W.T))], "matmul", output=output
        )
    z = b.node("MatMul", [x, b.const("weight_t", np.ascontiguousarray(W.T))], "matmul")
    return b.node(
        "Add", [z, b.const("bias", np.asarray(bias, dtype=b.dtype))], "linear", output=output
    )


def dense_network(
    b: Any,
    x: str,
    layers: Sequence[Tuple[np.ndarray, Optional[np.ndarray]]],
    hidden_activation: str,
    slope: float = LEAKY_RELU_SLOPE,
    layout: str = DEFAULT_LINEAR,
    output: Optional[str] = None,
) -> str:
    """The logits of a multi-layer perceptron: every layer but the last is activated."""
    for i, (W, c) in enumerate(layers):
        last = i == len(layers) - 1
        x = linear(b, x, W, c, layout, output=output if last else None)
        if not last:
            x = activation(b, hidden_activation, x, slope)
    return x


def class_labels(classes: Any) -> np.ndarray:
    """The labels as ONNX stores them: int64 for integer/bool labels, else strings.

    As skl2onnx: float labels must be integers; other kinds are refused.
    """
    classes = np.asarray(classes)
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        as_int = classes.astype(np.int64)
        if not np.array_equal(as_int, classes):
            raise ValueError(
                f"ONNX export of float class labels needs integer values (as "
                f"skl2onnx); got {classes.tolist()}"
            )
        return as_int
    if classes.dtype.kind in "US" or (
        classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes.tolist())
    ):
        return classes.astype(object)
    raise ValueError(
        f"ONNX export supports integer, bool and string class labels; got "
        f"{classes.dtype} labels {classes.tolist()}"
    )


def binary_head(b: Any, logit: str, classes: np.ndarray, label: str, proba: str) -> None:
    """``probabilities = [1 - p, p]`` with ``p = expit(logit)``, ``label = classes[p > 0.5]``.

    The same formulas as ``predict_proba`` and ``predict`` (scikit-learn's
    LabelBinarizer threshold), so labels agree even where p rounds to 0.5.
    """
    p = sigmoid(b, logit, "p")
    one = b.const("one", np.array(1, dtype=b.dtype))
    b.node("Concat", [b.node("Sub", [one, p], "q"), p], output=proba, axis=1)
    half = b.const("half", np.array(0.5, dtype=b.dtype))
    index = b.node("Cast", [b.node("Greater", [p, half], "is_positive")], "index", to=7)
    flat = b.node(
        "Reshape", [index, b.const("flat_shape", np.array([-1], dtype=np.int64))], "index_flat"
    )
    b.node("Gather", [b.const("classes", classes), flat], output=label, axis=0)


def softmax(b: Any, z: str, output: Optional[str] = None) -> str:
    """``exp(z - max(z)) / sum(exp(z - max(z)))`` over each row, as ``predict_proba``."""
    if getattr(b, "opset", DEFAULT_OPSET) >= 18:  # ReduceMax's axes became an input in 18
        top = b.node(
            "ReduceMax", [z, b.const("axes", np.array([1], dtype=np.int64))], "row_max", keepdims=1
        )
    else:
        top = b.node("ReduceMax", [z], "row_max", axes=[1], keepdims=1)
    e = b.node("Exp", [b.node("Sub", [z, top], "shifted")], "exp_shifted")
    total = b.node(
        "ReduceSum", [e, b.const("axes", np.array([1], dtype=np.int64))], "row_sum", keepdims=1
    )
    return b.node("Div", [e, total], "softmax", output=output)


def multiclass_head(b: Any, logit: str, classes: np.ndarray, label: str, proba: str) -> None:
    """``probabilities = softmax(logit)``, ``label = classes[argmax(probabilities)]``.

    As ``predict`` (LabelBinarizer's argmax of the probabilities, the first
    of equal maxima, as ONNX's ``ArgMax`` takes it).
    """
    softmax(b, logit, output=proba)
    index = b.node("ArgMax", [proba], "argmax", axis=1, keepdims=0)
    b.node("Gather", [b.const("classes", classes), index], output=label, axis=0)


def multilabel_head(b: Any, logit: str, label: str, proba: str) -> None:
    """``probabilities = expit(logit)`` per label, ``label = int64(probabilities > 0.5)``.

    The (n, n_labels) indicator matrix ``predict`` returns, as skl2onnx
    converts a multilabel ``MLPClassifier``.
    """
    sigmoid(b, logit, "p", output=proba)
    half = b.const("half", np.array(0.5, dtype=b.dtype))
    b.node("Cast", [b.node("Greater", [proba, half], "is_positive")], output=label, to=7)


def regression_head(b: Any, logit: str, out_activation: str, output: str) -> str:
    """The regressor's output: the logits (squared error) or ``exp`` of them (Poisson)."""
    if out_activation == "identity":
        return b.node("Identity", [logit], output=output)
    if out_activation == "exp":
        return b.node("Exp", [logit], output=output)
    raise ValueError(
        f"no ONNX export for the regressor output {out_activation!r}; "
        "supported: 'identity' (squared error) and 'exp' (Poisson)"
    )
