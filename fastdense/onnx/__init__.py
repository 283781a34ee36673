"""ONNX export of fitted estimators and ``fastdense.nn.Sequential`` models.

Built with the ``onnx`` package alone (no PyTorch, no skl2onnx needed);
``pip install "fastdense[onnx]"`` installs onnx, onnxruntime and skl2onnx.
``import fastdense`` does not import this module; importing it imports neither
onnx (imported when an export runs) nor skl2onnx.

- :func:`to_onnx` writes the graph of a fitted :class:`~fastdense.DenseBinaryClassifier`
  or :class:`~fastdense.DenseClassifier` (outputs ``label`` and
  ``probabilities``, named and shaped as skl2onnx names them for
  ``MLPClassifier``), of a :class:`~fastdense.DenseRegressor` (output
  ``variable``, as for ``MLPRegressor``) or of a ``Sequential`` (its logits,
  as ``torch.onnx.export`` would).
- :func:`register_skl2onnx` registers fastdense's converter with skl2onnx, so
  ``skl2onnx.to_onnx`` converts pipelines that end in a fastdense estimator.
  skl2onnx has no plugin discovery, so this is one explicit call (it imports
  skl2onnx, which takes seconds; nothing else does).

Examples
--------
>>> import numpy as np
>>> from fastdense import DenseBinaryClassifier
>>> from fastdense.onnx import to_onnx
>>> X = np.random.default_rng(0).standard_normal((40, 3))
>>> clf = DenseBinaryClassifier((4,), max_iter=20, random_state=0).fit(X, X[:, 0] > 0)
>>> [o.name for o in to_onnx(clf).graph.output]
['label', 'probabilities']
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .._version import __version__
from . import _graph
from ._graph import DEFAULT_OPSET, MIN_OPSET

__all__ = ["to_onnx", "register_skl2onnx", "DEFAULT_OPSET"]

_BATCH = "batch"


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "ONNX export needs the 'onnx' package: pip install 'fastdense[onnx]' (or onnx)"
        ) from None
    return onnx


def _check_opset(opset: Optional[int]) -> int:
    if opset is None:
        return DEFAULT_OPSET
    onnx = _require_onnx()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int; got {opset!r}")
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"opset must be between {MIN_OPSET} and {newest} (the installed "
            f"onnx's newest); got {opset}"
        )
    return int(opset)


def _check_dtype(dtype: Any, default: Any) -> np.dtype:
    dt = np.dtype(default if dtype is None else dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64; got {dtype!r}")
    return dt


def _estimator_layers(
    est: Any, n_outputs: Optional[int] = 1
) -> List[Tuple[np.ndarray, np.ndarray]]:
    """(weight (out, in), bias) per layer from the public fitted attributes, proven.

    Reads only ``coefs_``, ``intercepts_`` and ``n_features_in_`` (through
    the same :func:`fastdense._network.check_network` as every other door),
    so any estimator with scikit-learn's MLP attributes exports the same way.
    """
    from sklearn.utils.validation import check_is_fitted

    from .._network import check_network

    check_is_fitted(est, "coefs_")
    snapshot = getattr(est, "_snapshot", None)  # a fastdense estimator: its one network, read once
    net = snapshot() if snapshot is not None else None
    coefs, icpts = (est.coefs_, est.intercepts_) if net is None else (net.coefs, net.intercepts)
    check_network(coefs, icpts, n_features=int(est.n_features_in_), n_outputs=n_outputs)
    for i, (W, c) in enumerate(zip(coefs, icpts)):
        if not (np.isfinite(W).all() and np.isfinite(c).all()):
            raise ValueError(
                f"coefs_[{i}] or intercepts_[{i}] holds NaN or infinity; "
                "the exported graph would predict NaN"
            )
    layers = [(np.asarray(W).T, np.asarray(c)) for W, c in zip(coefs, icpts)]
    if net is not None and net.layout.batch_norm:  # each hidden batch norm folded into its Gemm
        for i, (gamma, beta, mean, var) in enumerate(net.layout.batch_norm_state(net.params)):
            layers[i] = _graph.fold_batch_norm(*layers[i], gamma, beta, mean, var)
    return layers


def _metadata(model: Any, kind: str) -> Dict[str, str]:
    meta = {"fastdense_version": __version__, "fastdense_model": kind}
    if hasattr(model, "get_params"):
        meta["params"] = json.dumps(model.get_params(deep=False), default=repr, sort_keys=True)
        for attr in ("n_iter_", "loss_", "n_features_in_"):
            if hasattr(model, attr):
                meta[attr] = repr(getattr(model, attr))
    return meta


def _zipmap_names(classes: np.ndarray) -> List[str]:
    """skl2onnx's names of the per-class outputs of ``zipmap='columns'``."""
    if classes.dtype.kind in "biu":
        return ["i%d" % c for c in classes.tolist()]
    return ["s%s" % c for c in classes.tolist()]


def classifier_target(est: Any) -> Tuple[str, np.ndarray]:
    """(target type, labels as ONNX stores them) of a fitted classifier, proven.

    The target type is read from the public fitted attributes, as
    MLPClassifier has them: a softmax output is multi-class, one logistic
    unit binary, several logistic units multilabel (``classes_`` are then
    the label indices).
    """
    classes = _graph.class_labels(est.classes_)
    n_out, act = getattr(est, "n_outputs_", None), getattr(est, "out_activation_", None)
    if isinstance(n_out, bool) or not isinstance(n_out, (int, np.integer)) or n_out < 1:
        raise ValueError(f"n_outputs_ must be a positive int; got {n_out!r}")
    if act == "softmax":
        if classes.shape != (n_out,) or n_out < 3:
            raise ValueError(
                f"a multi-class classifier's classes_ must hold one label per "
                f"output ({n_out}, at least 3); got {classes.tolist()!r}"
            )
        return "multiclass", classes
    if act == "logistic" and n_out == 1:
        if classes.shape != (2,):
            raise ValueError(
                f"a binary classifier's classes_ must hold 2 labels; got "
                f"{np.asarray(est.classes_).tolist()!r}"
            )
        return "binary", classes
    if act == "logistic":
        if classes.dtype == object or not np.array_equal(classes, np.arange(n_out)):
            raise ValueError(
                f"a multilabel classifier's classes_ must be the label indices "
                f"0..{n_out - 1}; got {classes.tolist()!r}"
            )
        return "multilabel-indicator", classes
    raise ValueError(
        f"no ONNX export for a classifier with out_activation_ {act!r}; "
        "expected 'logistic' or 'softmax'"
    )


def classifier_head(
    b: Any, logit: str, target: str, classes: np.ndarray, label: str, proba: str
) -> None:
    """The label and probability nodes of a classifier of `target` type."""
    if target == "binary":
        _graph.binary_head(b, logit, classes, label, proba)
    elif target == "multiclass":
        _graph.multiclass_head(b, logit, classes, label, proba)
    else:
        _graph.multilabel_head(b, logit, label, proba)


def _classifier_outputs(b: Any, logit: str, est: Any, zipmap: Any) -> List[Any]:
    """Label and probability outputs (skl2onnx's names and ZipMap rules); value infos."""
    from onnx import TensorProto, helper

    target, classes = classifier_target(est)
    classes_in = np.asarray(est.classes_)
    is_str = classes.dtype == object
    label_type = TensorProto.STRING if is_str else TensorProto.INT64
    label_shape: List[Any] = (
        [_BATCH, len(classes)] if target == "multilabel-indicator" else [_BATCH]
    )
    elem = _graph.onnx_elem_type(b.dtype)
    if zipmap is False:
        classifier_head(b, logit, target, classes, b.reserve("label"), b.reserve("probabilities"))
        return [
            helper.make_tensor_value_info("label", label_type, label_shape),
            helper.make_tensor_value_info("probabilities", elem, [_BATCH, len(classes)]),
        ]
    label, proba = b.name("label"), b.name("probabilities")
    classifier_head(b, logit, target, classes, label, proba)
    b.node("Identity", [label], output=b.reserve("output_label"))
    outputs = [helper.make_tensor_value_info("output_label", label_type, label_shape)]
    if zipmap == "columns":
        for j, col in enumerate(_zipmap_names(np.asarray(classes_in))):
            sl = b.node(
                "Slice",
                [
                    proba,
                    b.const("start", np.array([j])),
                    b.const("end", np.array([j + 1])),
                    b.const("axis", np.array([1])),
                ],
                "slice",
            )
            b.node("Reshape", [sl, b.const("flat_shape", np.array([-1]))], output=b.reserve(col))
            outputs.append(helper.make_tensor_value_info(col, elem, [_BATCH]))
        return outputs
    if b.dtype != np.float32:
        raise ValueError(
            "zipmap=True needs float32 probabilities: ONNX's ZipMap takes "
            "tensor(float) only (onnxruntime refuses float64). Use dtype="
            "'float32', zipmap=False or zipmap='columns'"
        )
    attrs = (
        {"classlabels_strings": [str(c) for c in classes]}
        if is_str
        else {"classlabels_int64s": [int(c) for c in classes]}
    )
    b.node("ZipMap", [proba], output=b.reserve("output_probability"), domain="ai.onnx.ml", **attrs)
    seq = helper.make_sequence_type_proto(
        helper.make_map_type_proto(
            label_type, helper.make_tensor_type_proto(TensorProto.FLOAT, None)
        )
    )
    outputs.append(helper.make_value_info("output_probability", seq))
    return outputs


def _slope(est: Any) -> float:
    """An estimator's leaky_relu slope (its parameter; torch's default before it existed)."""
    return float(getattr(est, "leaky_relu_slope", _graph.LEAKY_RELU_SLOPE))


def _activation_step(m: Any) -> Tuple[str, float]:
    """(ONNX key, leaky slope) of an activation module the registry knows, at the kernels'
    constants (ELU alpha 1, Softplus beta 1 / threshold 20, exact GELU); else TypeError."""
    from .. import _activations, nn

    entry = _activations.by_module(type(m).__name__)
    if entry is None or type(m) is not getattr(nn, entry.module):
        names = ", ".join(a.module for a in _activations.REGISTRY)
        raise TypeError(
            f"no ONNX export for the module {type(m).__name__} in a Sequential; "
            f"supported: Linear, {names}, Dropout and nested Sequential"
        )
    fixed = {"alpha": 1.0, "beta": 1.0, "threshold": 20.0, "approximate": "none"}
    for arg in entry.module_args:
        if arg in fixed and getattr(m, arg) != fixed[arg]:
            raise TypeError(
                f"no ONNX export for {type(m).__name__}({arg}="
                f"{getattr(m, arg)!r}); supported: {arg}={fixed[arg]!r}"
            )
    slope = float(m.negative_slope) if entry.name == "leaky_relu" else 0.0
    return entry.onnx, slope


def _sequential_layers(module: Any) -> List[Tuple[str, Any]]:
    """The Sequential flattened to ('linear', (W, b)) and ('act', (name, slope)) steps."""
    from .. import nn

    steps: List[Tuple[str, Any]] = []
    for m in module:
        if isinstance(m, nn.Sequential):
            steps.extend(_sequential_layers(m))
        elif isinstance(m, nn.Linear):
            W = np.asarray(m.weight._value())
            c = None if m.bias is None else np.asarray(m.bias._value())
            steps.append(("linear", (W, c)))
        elif isinstance(m, (nn.Identity, nn.Dropout)):  # Dropout: identity in eval, as torch
            continue
        elif type(m) is nn.BatchNorm1d:  # eval mode: folded into the Linear before it
            mean, var = m.running_mean, m.running_var  # (None without running statistics)
            if m.training or mean is None or var is None or not steps or steps[-1][0] != "linear":
                raise TypeError(
                    "ONNX export takes a BatchNorm1d in eval mode, with running "
                    "statistics, right after a Linear (call module.eval())"
                )
            gamma = np.ones(m.num_features) if m.weight is None else np.asarray(m.weight._value())
            beta = np.zeros(m.num_features) if m.bias is None else np.asarray(m.bias._value())
            W, c = steps[-1][1]
            steps[-1] = (
                "linear",
                _graph.fold_batch_norm(W, c, gamma, beta, mean._data, var._data, m.eps),
            )
        else:
            steps.append(("act", _activation_step(m)))
    return steps


def _sequential_graph(
    b: Any, module: Any, x: str, output: str, layout: str, one_dtype: bool
) -> int:
    """Emit the Sequential's nodes; returns its input width."""
    steps = _sequential_layers(module)
    n_in: Optional[int] = None
    width: Optional[int] = None
    for kind, value in steps:
        if kind == "linear":
            W = value[0]
            if width is not None and W.shape[1] != width:
                raise ValueError(
                    f"Linear({W.shape[1]}, {W.shape[0]}) follows a layer of width {width}"
                )
            n_in = W.shape[1] if n_in is None else n_in
            width = W.shape[0]
    if n_in is None:
        raise ValueError("the Sequential has no Linear layer: its input width is unknown")
    dtypes = {v[0].dtype for k, v in steps if k == "linear"}
    if one_dtype and len(dtypes) > 1:
        raise ValueError(
            f"the Sequential mixes parameter dtypes {sorted(map(str, dtypes))}; "
            "pass dtype= to export in one"
        )
    for i, (kind, value) in enumerate(steps):
        out = output if i == len(steps) - 1 else None
        if kind == "linear":
            x = _graph.linear(b, x, value[0], value[1], layout, output=out)
        else:
            x = _graph.activation(b, value[0], x, value[1], output=out)
    return n_in


def to_onnx(
    model: Any,
    *,
    dtype: Any = None,
    opset: Optional[int] = None,
    zipmap: Any = False,
    input_name: Optional[str] = None,
    output_name: str = "output",
    layout: Optional[str] = None,
    doc_string: Optional[str] = None,
) -> Any:
    """Export a fitted estimator or a ``fastdense.nn.Sequential`` as an ONNX model.

    Parameters
    ----------
    model : fitted DenseBinaryClassifier, DenseClassifier, DenseRegressor, or nn.Sequential
        For a classifier, the graph outputs ``label`` and ``probabilities``,
        as skl2onnx converts ``MLPClassifier``: for binary and multi-class
        targets ``label`` (n,) holds the original class labels (int64, or
        strings) and ``probabilities`` is (n, n_classes) (a softmax for
        multi-class targets); for multilabel targets ``label`` is the (n,
        n_labels) int64 indicator matrix ``predict`` returns and
        ``probabilities`` the (n, n_labels) logistic outputs. For a
        regressor, one output ``variable`` of shape (n, n_outputs) (skl2onnx's
        name for ``MLPRegressor``'s), the exponential of the last layer for
        ``loss='poisson'``. For a ``Sequential`` of ``Linear``,
        ``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``, ``Identity`` and
        ``Dropout`` (identity, as in eval mode) modules, the graph computes
        the module's output (the logits), as ``torch.onnx.export`` would.
        Other models are refused with a TypeError. Sparse-trained estimators
        export as any other (the graph takes dense rows).
    dtype : {None, 'float32', 'float64'}, default=None
        Type of the input, the weights and the outputs. None: the fitted
        dtype of the estimator, or the Sequential's parameter dtype.
    opset : int, optional
        The ``ai.onnx`` opset; default :data:`DEFAULT_OPSET`.
    zipmap : {False, True, 'columns'}, default=False
        skl2onnx's option for classifiers: False gives ``label`` and
        ``probabilities`` tensors; True gives ``output_label`` and
        ``output_probability`` (a sequence of maps from label to
        probability, float32 only, as ONNX's ZipMap); ``'columns'`` gives
        ``output_label`` and one probability output per class (``i0``/``i1``
        for integer labels, ``s<label>`` for strings). Classifiers only. Note
        that skl2onnx's own default is True; ours is False.
    input_name : str, optional
        Name of the input: ``'X'`` (skl2onnx's) for estimators, ``'input'``
        (torch.onnx.export's) for modules.
    output_name : str, default='output'
        Name of a module's output.
    layout : {None, 'matmul', 'gemm'}
        ``MatMul`` + ``Add`` or ``Gemm(transB=1)`` per layer; None is the
        faster in onnxruntime as measured (docs/deploy.md).
    doc_string : str, optional
        Replaces the generated ``model.doc_string`` (fastdense version, model
        and its parameters), which is also in ``model.metadata_props``.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model``; the batch dimension is
        dynamic (named ``batch``). Save it with ``onnx.save(model, path)``.

    Raises
    ------
    TypeError, ValueError
        Unsupported model or module, unfitted estimator, bad option.
    """
    _require_onnx()
    from onnx import helper

    from .. import nn

    opset = _check_opset(opset)
    layout = _graph.DEFAULT_LINEAR if layout is None else layout
    if layout not in ("matmul", "gemm"):
        raise ValueError(f"layout must be None, 'matmul' or 'gemm'; got {layout!r}")
    if not (zipmap is False or zipmap is True or (isinstance(zipmap, str) and zipmap == "columns")):
        raise ValueError(f"zipmap must be False, True or 'columns'; got {zipmap!r}")

    if isinstance(model, nn.Sequential):
        if zipmap is not False:
            raise ValueError("zipmap applies to classifiers; a Sequential exports its logits")
        params = [p for p in model.parameters()]
        dt = _check_dtype(dtype, np.asarray(params[0]._value()).dtype if params else np.float32)
        b = _graph.Builder(dt, opset)
        x = b.reserve(input_name or "input")
        out = b.reserve(output_name)
        n_in = _sequential_graph(b, model, x, out, layout, one_dtype=dtype is None)
        width = [
            np.asarray(m.weight._value()).shape[0]
            for m in _modules(model)
            if isinstance(m, nn.Linear)
        ][-1]
        outputs = [helper.make_tensor_value_info(out, _graph.onnx_elem_type(dt), [_BATCH, width])]
        kind = "fastdense.nn.Sequential"
    elif isinstance(model, nn.Module):
        raise TypeError(
            f"to_onnx exports a fastdense.nn.Sequential; got the module "
            f"{type(model).__name__} (wrap it: nn.Sequential(module))"
        )
    elif isinstance(model, _estimator_classes()):
        kind = type(model).__name__
        regressor = isinstance(model, _estimator_classes()[2])
        if regressor and zipmap is not False:
            raise ValueError("zipmap applies to classifiers; a regressor exports 'variable'")
        layers = _estimator_layers(model, n_outputs=getattr(model, "n_outputs_", None))
        dt = _check_dtype(dtype, layers[0][0].dtype)
        b = _graph.Builder(dt, opset)
        x = b.reserve(input_name or "X")
        if regressor:  # skl2onnx's name and (n, n_outputs) shape for MLPRegressor
            out = b.reserve("variable")
            identity = model.out_activation_ == "identity"
            logit = _graph.dense_network(
                b,
                x,
                layers,
                model.activation,
                _slope(model),
                layout=layout,
                output=out if identity else None,
            )
            if not identity:
                _graph.regression_head(b, logit, model.out_activation_, out)
            outputs = [
                helper.make_tensor_value_info(
                    out, _graph.onnx_elem_type(dt), [_BATCH, layers[-1][0].shape[0]]
                )
            ]
        else:
            logit = _graph.dense_network(
                b, x, layers, model.activation, _slope(model), layout=layout
            )
            outputs = _classifier_outputs(b, logit, model, zipmap)
        n_in = layers[0][0].shape[1]
    else:
        raise TypeError(
            f"to_onnx exports a fitted DenseBinaryClassifier, DenseClassifier or "
            f"DenseRegressor, or a fastdense.nn.Sequential; got "
            f"{type(model).__name__}"
        )

    inputs = [helper.make_tensor_value_info(x, _graph.onnx_elem_type(dt), [_BATCH, n_in])]
    meta = _metadata(model, kind)
    return _assemble(b, inputs, outputs, opset, meta, doc_string, kind)


def _estimator_classes() -> Tuple[Any, ...]:
    import fastdense  # the estimators import scikit-learn: only when an estimator is exported

    return (fastdense.DenseBinaryClassifier, fastdense.DenseClassifier, fastdense.DenseRegressor)


def _modules(seq: Any) -> List[Any]:
    from .. import nn

    out: List[Any] = []
    for m in seq:
        out.extend(_modules(m) if isinstance(m, nn.Sequential) else [m])
    return out


def _assemble(
    b: Any,
    inputs: List[Any],
    outputs: List[Any],
    opset: int,
    meta: Dict[str, str],
    doc_string: Optional[str],
    kind: str,
) -> Any:
    """The checked ModelProto of builder `b`'s graph."""
    onnx = _require_onnx()
    from onnx import helper

    graph = helper.make_graph(
        b.nodes, "fastdense_" + kind.split(".")[-1], inputs, outputs, initializer=b.initializers
    )
    imports = [helper.make_opsetid("", opset)]
    imports += [helper.make_opsetid(d, 1) for d in sorted(b.domains)]
    model = helper.make_model(
        graph, opset_imports=imports, producer_name="fastdense", producer_version=__version__
    )
    # the oldest IR version that carries these opsets: the widest choice of runtimes
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    model.doc_string = (
        doc_string
        if doc_string is not None
        else (
            f"fastdense {__version__} {kind}; "
            + "; ".join(
                f"{k}={v}"
                for k, v in meta.items()
                if k not in ("fastdense_version", "fastdense_model")
            )
        )
    )
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model, full_check=True)
    return model


def register_skl2onnx() -> None:
    """Register fastdense's estimators with skl2onnx (idempotent).

    After this call, ``skl2onnx.to_onnx`` / ``convert_sklearn`` convert a
    ``DenseBinaryClassifier``, ``DenseClassifier`` or ``DenseRegressor``
    anywhere in a pipeline, the classifiers with skl2onnx's classifier
    options (``zipmap``, ``nocl``, ``output_class_labels``).
    Imports skl2onnx (``pip install "fastdense[onnx]"``).
    """
    from ._skl2onnx import register

    register()
