"""Validated entry points to the compiled kernels.

Each function accepts array-likes, checks shapes and dtypes, brings every
array argument to one kernel dtype (float32 when all inputs are float32,
float64 otherwise), makes them C-contiguous (copying only where needed) and
calls the nogil kernel in ``fastdense._kernels``. Read-only, strided and
Fortran-ordered inputs give the same answer as C-ordered ones.

The math (rows are examples; W has ``torch.nn.Linear.weight``'s layout)::

    forward    Z = A_prev @ W.T + b,   A = g(Z)
    backward   dZ = dA * g'(A),  dW = dZ.T @ A_prev,  db = dZ.sum(0),  dA_prev = dZ @ W
    loss       l = max(z, 0) - z y + log1p(exp(-|z|)),  dl/dz = sigmoid(z) - y
"""

from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _activations as _registry
from . import _kernels
from ._validation import (
    as_contiguous,
    check_blas_dims,
    check_ndim,
    check_out,
    check_real,
    common_float_dtype,
    to_ndarray,
)

__all__ = [
    "ACTIVATIONS",
    "dense_forward",
    "dense_backward",
    "bce_with_logits",
    "torch_sgd_step",
    "torch_adam_step",
    "sklearn_sgd_step",
    "sklearn_adam_step",
]

#: Activation names understood by the kernels ("logistic" is scikit-learn's name
#: for the sigmoid).
ACTIVATIONS = tuple(_kernels.ACTIVATION_CODES)
# the activations whose g' reads Z, not A (the registry's derivative="input")
_NEEDS_Z = frozenset(a.name for a in _registry.REGISTRY if a.derivative == "input")

REDUCTIONS = ("mean", "sum", "none")

# array-likes are validated and converted at run time; for type checkers: anything
ArrayLike = Any


def activation_code(activation, negative_slope=0.01):
    """The kernel's integer code for `activation`, with the slope checked.

    Raises ValueError for an unknown name and for a negative or non-finite
    ``negative_slope`` (the backward pass reads g' from the output, which is
    only unambiguous for slopes >= 0).
    """
    if not isinstance(activation, str) or activation not in _kernels.ACTIVATION_CODES:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    slope = check_real(negative_slope, "negative_slope", low=0.0)
    return _kernels.ACTIVATION_CODES[activation], slope


def _dense_inputs(named, shape_docs, *others):
    """Convert the named 2-D arrays to one kernel dtype (``others`` vote too), C-contiguous."""
    arrays = {name: to_ndarray(x, name) for name, x in named.items()}
    for name, arr in arrays.items():
        check_ndim(arr, name, 2, shape_docs[name])
        check_blas_dims(arr, name)
    dtype = common_float_dtype(*arrays.values(), *others)
    return {name: as_contiguous(arr, dtype) for name, arr in arrays.items()}, dtype


def _bias(b, n_out, dtype):
    if b is None:
        return np.empty(0, dtype=dtype)
    if b.shape != (n_out,):
        raise ValueError(f"b must have shape (n_out,) = ({n_out},); got {b.shape}")
    return as_contiguous(b, dtype)


def dense_forward(
    A_prev: ArrayLike,
    W: ArrayLike,
    b: Optional[ArrayLike],
    activation: str = "relu",
    *,
    negative_slope: float = 0.01,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Fused dense layer forward: ``A = g(A_prev @ W.T + b)``.

    One BLAS GEMM, then one pass over the result that adds the bias and
    applies the activation.

    Parameters
    ----------
    A_prev : array-like of shape (m, n_in)
        Input activations, one example per row.
    W : array-like of shape (n_out, n_in)
        Weights in ``torch.nn.Linear.weight`` layout.
    b : array-like of shape (n_out,) or None
        Bias; None for no bias.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid", "logistic", "identity", \
"gelu", "silu", "elu", "softplus"}
        The activation g (``fastdense._activations.REGISTRY``).
    negative_slope : float, default=0.01
        Slope of ``leaky_relu`` for negative inputs (>= 0).
    out : ndarray of shape (m, n_out), optional
        C-contiguous, writable buffer of the kernel dtype to write A into.

    Returns
    -------
    A : ndarray of shape (m, n_out)
        float32 if all inputs are float32, else float64.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdense.kernels import dense_forward
    >>> dense_forward(np.ones((2, 3)), np.ones((1, 3)), np.array([-4.0]))
    array([[0.],
           [0.]])
    """
    if out is None:  # the common call, checked and run at C level
        A = _kernels.dense_forward_ready(A_prev, W, b, activation, negative_slope)
        if A is not None:
            return A
    code, slope = activation_code(activation, negative_slope)
    b = None if b is None else to_ndarray(b, "b")
    arrs, dtype = _dense_inputs(
        {"A_prev": A_prev, "W": W}, {"A_prev": "(m, n_in)", "W": "(n_out, n_in)"}, b
    )
    A_prev, W = arrs["A_prev"], arrs["W"]
    (m, n_in), n_out = A_prev.shape, W.shape[0]
    if W.shape[1] != n_in:
        raise ValueError(
            f"W must have shape (n_out, n_in) with n_in = A_prev.shape[1] = {n_in}; "
            f"got W.shape = {W.shape}"
        )
    bias = _bias(b, n_out, dtype)
    if out is None:
        out = np.empty((m, n_out), dtype=dtype)
    else:
        check_out(out, "out", (m, n_out), dtype)
    _kernels.dense_forward(A_prev, W, bias, out, code, slope)
    return out


def dense_backward(
    dA: ArrayLike,
    A_prev: ArrayLike,
    W: ArrayLike,
    A: ArrayLike,
    activation: str = "relu",
    *,
    input_grad: bool = True,
    negative_slope: float = 0.01,
    Z: Optional[ArrayLike] = None,
) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """Fused dense layer backward from the layer's output gradient.

    One pass forms ``dZ = dA * g'(Z)`` and sums db; then ``dW = dZ.T @ A_prev``
    and, if asked, ``dA_prev = dZ @ W`` go to BLAS. g' is read from the output
    A, except for ``"gelu"`` and ``"silu"`` (not monotonic: A does not
    determine Z), which read the pre-activation ``Z``.

    Parameters
    ----------
    dA : array-like of shape (m, n_out)
        Gradient of the loss with respect to the layer output A.
    A_prev : array-like of shape (m, n_in)
        The layer's input.
    W : array-like of shape (n_out, n_in)
        The layer's weights.
    A : array-like of shape (m, n_out)
        The layer's output ``g(Z)``, as returned by :func:`dense_forward`.
    activation : str, default="relu"
        The activation used in the forward pass.
    input_grad : bool, default=True
        Whether to compute ``dA_prev``; the first layer never needs it.
    negative_slope : float, default=0.01
        Slope of ``leaky_relu``.
    Z : array-like of shape (m, n_out), optional
        The pre-activation ``A_prev @ W.T + b``: required for ``"gelu"`` and
        ``"silu"``, ignored otherwise.

    Returns
    -------
    dA_prev : ndarray of shape (m, n_in) or None
        None when ``input_grad`` is False.
    dW : ndarray of shape (n_out, n_in)
    db : ndarray of shape (n_out,)
    """
    if isinstance(activation, str) and activation in _NEEDS_Z:  # g' reads Z, in A's place
        if Z is None:
            raise ValueError(
                f"activation={activation!r}: its derivative needs the pre-activation; pass Z="
            )
        A = Z
    grads = _kernels.dense_backward_ready(dA, A_prev, W, A, activation, negative_slope, input_grad)
    if grads is not None:  # the common call, checked and run at C level
        return grads
    code, slope = activation_code(activation, negative_slope)
    originals = {"dA": dA, "A_prev": A_prev, "W": W, "A": A}
    arrs, dtype = _dense_inputs(
        originals,
        {"dA": "(m, n_out)", "A_prev": "(m, n_in)", "W": "(n_out, n_in)", "A": "(m, n_out)"},
    )
    dA, A_prev, W, A = arrs["dA"], arrs["A_prev"], arrs["W"], arrs["A"]
    m, n_in = A_prev.shape
    n_out = W.shape[0]
    if W.shape[1] != n_in:
        raise ValueError(
            f"W must have shape (n_out, n_in) with n_in = A_prev.shape[1] = {n_in}; "
            f"got W.shape = {W.shape}"
        )
    for name, arr in (("dA", dA), ("A", A)):
        if arr.shape != (m, n_out):
            raise ValueError(f"{name} must have shape (m, n_out) = ({m}, {n_out}); got {arr.shape}")
    # dZ overwrites dA when dA is already our own copy; never the caller's array.
    owns_dA = not np.may_share_memory(dA, np.asarray(originals["dA"]))
    dZ = dA if owns_dA else np.empty_like(dA)
    dW = np.empty((n_out, n_in), dtype=dtype)
    db = np.empty(n_out, dtype=dtype)
    dA_prev = np.empty((m, n_in) if input_grad else (0, 0), dtype=dtype)
    _kernels.dense_backward(dA, A_prev, W, A, dZ, dW, db, dA_prev, code, slope, False)
    return (dA_prev if input_grad else None), dW, db


def bce_with_logits(
    Z: ArrayLike,
    y: ArrayLike,
    *,
    sample_weight: Optional[ArrayLike] = None,
    pos_weight: Union[float, ArrayLike, None] = None,
    reduction: str = "mean",
) -> Tuple[Union[float, np.ndarray], np.ndarray]:
    """Sigmoid + binary cross-entropy from logits: loss and gradient in one pass.

    Per element, with ``p = pos_weight`` (PyTorch's ``pos_weight``; 1 if None)::

        l     = (1 - y) z + (1 + (p - 1) y) log(1 + exp(-z))
        dl/dz = sigmoid(z) - y                                   (p = 1)

    computed without overflow for any finite z.

    Parameters
    ----------
    Z : array-like of shape (m,) or (m, k)
        Logits.
    y : array-like of the shape of Z
        Targets in [0, 1]; a (m,) y also fits a (m, 1) Z and vice versa.
    sample_weight : array-like of shape (m,) or of the shape of Z, optional
        Per-example weights. With ``reduction="mean"`` the weighted sum is
        divided by the sum of the weights (scikit-learn's semantics).
    pos_weight : float or array-like of shape (k,), optional
        Weight of the positive term per output column (PyTorch's semantics).
    reduction : {"mean", "sum", "none"}, default="mean"
        "mean" divides by the number of elements (or the weight sum);
        "none" returns the per-element losses.

    Returns
    -------
    loss : float, or ndarray of the shape of Z for ``reduction="none"``
    dZ : ndarray of the shape of Z
        Gradient of the reduced loss with respect to Z (for "none": of the
        sum of the per-element losses).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")
    Z = to_ndarray(Z, "Z")
    y = to_ndarray(y, "y")
    if Z.ndim not in (1, 2):
        raise ValueError(f"Z must be a 1-D (m,) or 2-D (m, k) array; got shape {Z.shape}")
    shape = Z.shape
    if y.shape != shape:
        if y.size == Z.size and Z.ndim >= 1 and y.ndim in (1, 2) and y.shape[0] == shape[0]:
            y = y.reshape(shape)
        else:
            raise ValueError(f"y must have the shape of Z {shape}; got {y.shape}")
    Z2 = Z.reshape(shape[0], -1) if Z.ndim == 2 else Z.reshape(-1, 1)
    rows, cols = Z2.shape
    w = None if sample_weight is None else to_ndarray(sample_weight, "sample_weight")
    pw = None if pos_weight is None else to_ndarray(pos_weight, "pos_weight")
    # a Python scalar pos_weight does not decide the dtype (NumPy's weak scalars)
    dtype = common_float_dtype(Z, y, w, None if np.isscalar(pos_weight) else pw)
    Z2 = as_contiguous(Z2, dtype)
    y2 = as_contiguous(y.reshape(rows, cols), dtype)

    if w is None:
        weight = np.empty(0, dtype=dtype)
        denominator = rows * cols
    else:
        if w.shape == (rows,):
            w = np.broadcast_to(w.reshape(rows, 1), (rows, cols))
        elif w.shape == shape:
            w = w.reshape(rows, cols)
        else:
            raise ValueError(f"sample_weight must have shape ({rows},) or {shape}; got {w.shape}")
        weight = as_contiguous(w, dtype).reshape(-1)
        denominator = float(weight.sum(dtype=np.float64))
        if reduction == "mean" and denominator == 0:
            raise ValueError("sample_weight sums to zero: the weighted mean is undefined")

    if pw is None:
        pos = np.empty(0, dtype=dtype)
    else:
        if pw.ndim == 0 or pw.shape == (1,):
            pw = np.full(cols, pw.reshape(-1)[0])
        elif pw.shape != (cols,):
            raise ValueError(f"pos_weight must be a scalar or of shape ({cols},); got {pw.shape}")
        pos = as_contiguous(pw, dtype)

    scale = 1.0 / denominator if reduction == "mean" and rows * cols > 0 else 1.0
    dZ = np.empty((rows, cols), dtype=dtype)
    per_element = np.empty(rows * cols if reduction == "none" else 0, dtype=dtype)
    total = _kernels.bce_with_logits(Z2, y2, weight, pos, dZ, per_element, scale)
    dZ = dZ.reshape(shape)
    if reduction == "none":
        return per_element.reshape(shape), dZ
    if reduction == "mean":
        total = total / denominator if rows * cols > 0 else float("nan")
    return float(total), dZ


# ------------------------------------------------------------------ optimizers


def _state_buffers(param, named):
    """Check in-place optimizer buffers: ndarrays of param's dtype and size, contiguous.

    Returns flat views (no copies: the kernels write through them).
    """
    if not isinstance(param, np.ndarray):
        raise TypeError(f"param must be a numpy.ndarray; got {type(param).__name__}")
    if param.dtype not in (np.float32, np.float64):
        raise TypeError(f"param must be float32 or float64; got {param.dtype}")
    flat = []
    for name, arr in (("param", param),) + tuple(named.items()):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray; got {type(arr).__name__}")
        if arr.dtype != param.dtype:
            raise TypeError(f"{name} must have param's dtype {param.dtype}; got {arr.dtype}")
        if arr.size != param.size:
            raise ValueError(f"{name} must have param's shape {param.shape}; got {arr.shape}")
        if not arr.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        if name != "grad" and not arr.flags.writeable:
            raise ValueError(f"{name} must be writable (it is updated in place)")
        flat.append(arr.reshape(-1))
    return flat


def torch_sgd_step(
    param,
    grad,
    momentum_buffer=None,
    *,
    lr,
    momentum=0.0,
    dampening=0.0,
    weight_decay=0.0,
    nesterov=False,
    maximize=False,
    first_step=False,
):
    """One ``torch.optim.SGD`` step, in place on ``param`` (and ``momentum_buffer``).

    ``g = grad + weight_decay * param``; with momentum,
    ``buf = g`` on the first step, else ``momentum * buf + (1 - dampening) * g``,
    then ``g = g + momentum * buf`` (Nesterov) or ``buf``; ``param -= lr * g``.

    Parameters
    ----------
    param, grad : ndarray
        Same shape, float32 or float64, C-contiguous.
    momentum_buffer : ndarray or None
        Required when ``momentum != 0``; same shape and dtype as param.
    lr, momentum, dampening, weight_decay : float
    nesterov, maximize, first_step : bool
    """
    named = {"grad": grad}
    if momentum != 0:
        if momentum_buffer is None:
            raise ValueError("momentum_buffer is required when momentum != 0")
        named["momentum_buffer"] = momentum_buffer
    flat = _state_buffers(param, named)
    buf = flat[2] if momentum != 0 else np.empty(0, dtype=param.dtype)
    _kernels.torch_sgd(
        flat[0],
        flat[1],
        buf,
        float(lr),
        float(momentum),
        float(dampening),
        float(weight_decay),
        bool(nesterov),
        bool(maximize),
        bool(first_step),
    )


def torch_adam_step(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq=None,
    *,
    step,
    lr,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    weight_decay=0.0,
    decoupled_weight_decay=False,
    amsgrad=False,
    maximize=False,
):
    """One ``torch.optim.Adam`` (or ``AdamW`` with ``decoupled_weight_decay``) step in place.

    ``step`` is the step count after this update (1 on the first call). The
    bias corrections ``1 - beta**step`` are computed here in double, as
    PyTorch does in Python.
    """
    named = {"grad": grad, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    if amsgrad:
        if max_exp_avg_sq is None:
            raise ValueError("max_exp_avg_sq is required when amsgrad=True")
        named["max_exp_avg_sq"] = max_exp_avg_sq
    if int(step) < 1:
        raise ValueError(f"step must be >= 1; got {step}")
    flat = _state_buffers(param, named)
    v_max = flat[4] if amsgrad else np.empty(0, dtype=param.dtype)
    step = int(step)
    lr, weight_decay = float(lr), float(weight_decay)
    step_size = lr / (1 - beta1**step)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    if decoupled_weight_decay:
        coupled, decay_factor = 0.0, 1 - lr * weight_decay
    else:
        coupled, decay_factor = weight_decay, 1.0
    _kernels.torch_adam(
        flat[0],
        flat[1],
        flat[2],
        flat[3],
        v_max,
        step_size,
        bias_correction2_sqrt,
        float(beta1),
        float(beta2),
        float(eps),
        coupled,
        decay_factor,
        bool(amsgrad),
        bool(maximize),
    )


def sklearn_sgd_step(param, grad, velocity, *, lr, momentum=0.9, nesterov=True):
    """One scikit-learn ``SGDOptimizer`` step in place.

    ``velocity = momentum * velocity - lr * grad``; ``param += velocity``, or
    ``param += momentum * velocity - lr * grad`` with Nesterov's momentum.
    """
    flat = _state_buffers(param, {"grad": grad, "velocity": velocity})
    _kernels.sklearn_sgd(flat[0], flat[1], flat[2], float(lr), float(momentum), bool(nesterov))


def sklearn_adam_step(param, grad, m, v, *, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One scikit-learn ``AdamOptimizer`` step in place; ``t`` counts steps from 1.

    ``lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)`` and
    ``param += -lr_t * m / (sqrt(v) + eps)`` (epsilon outside the bias correction).
    """
    if int(t) < 1:
        raise ValueError(f"t must be >= 1; got {t}")
    flat = _state_buffers(param, {"grad": grad, "m": m, "v": v})
    lr_t = float(lr) * np.sqrt(1 - beta2 ** int(t)) / (1 - beta1 ** int(t))
    _kernels.sklearn_adam(
        flat[0], flat[1], flat[2], flat[3], float(lr_t), float(beta1), float(beta2), float(eps)
    )
