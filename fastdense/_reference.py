"""The math of fastdense in plain NumPy: the oracle for tests, the baseline for benchmarks.

Same signatures as :mod:`fastdense.kernels`, written as the textbook equations
(DESIGN.md), with no fusion and no tricks beyond the numerically stable loss.
Never used on a fast path.
"""

import math

import numpy as np


def _sigmoid(z):
    # 1 / (1 + exp(-z)) without overflow: exp only of -|z|.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _erf(x):
    # math.erf element-wise (NumPy has no erf; scipy is not a dependency of this oracle)
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype, copy=False)


def _softplus(z):
    # PyTorch's Softplus(beta=1, threshold=20): z past the threshold, else log1p(exp(z))
    with np.errstate(over="ignore"):
        return np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, 20))))


# g(Z), per kernel name (the registry's; "logistic" is the sigmoid's other name)
_FORWARD = {
    "identity": lambda z, s: z.copy(),
    "relu": lambda z, s: np.maximum(z, 0),
    "leaky_relu": lambda z, s: np.where(z < 0, z * s, z),
    "tanh": lambda z, s: np.tanh(z),
    "sigmoid": lambda z, s: _sigmoid(z),
    "gelu": lambda z, s: 0.5 * z * (1 + _erf(z / np.sqrt(2))),
    "silu": lambda z, s: z * _sigmoid(z),
    "elu": lambda z, s: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "softplus": lambda z, s: _softplus(z),
}

# g'(Z) written in terms of the output A = g(Z), for the activations whose
# registry entry says derivative="output"
_FROM_OUTPUT = {
    "identity": lambda a, s: np.ones_like(a),
    "relu": lambda a, s: np.where(a <= 0, 0, 1).astype(a.dtype),  # NaN passes, as PyTorch
    "leaky_relu": lambda a, s: np.where(a > 0, 1, s).astype(a.dtype),
    "tanh": lambda a, s: 1 - a**2,
    "sigmoid": lambda a, s: a * (1 - a),
    "elu": lambda a, s: np.where(a > 0, 1, a + 1).astype(a.dtype),
    "softplus": lambda a, s: np.where(a > 20, 1, -np.expm1(-a)).astype(a.dtype),
}

# g'(Z) from Z, for derivative="input" (not monotonic: A does not determine Z)
_FROM_INPUT = {
    "gelu": lambda z: (
        0.5 * (1 + _erf(z / np.sqrt(2))) + z * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    ),
    "silu": lambda z: _sigmoid(z) * (1 + z * (1 - _sigmoid(z))),
}


def _kernel_name(activation):
    if activation == "logistic":
        return "sigmoid"
    if activation not in _FORWARD:
        raise ValueError(f"unknown activation {activation!r}")
    return activation


def activate(Z, activation, negative_slope=0.01):
    """g(Z) for the activations of the kernels."""
    return _FORWARD[_kernel_name(activation)](Z, negative_slope)


def activation_derivative(A, activation, negative_slope=0.01):
    """g'(Z) written in terms of the output A = g(Z) (not for gelu/silu: see below)."""
    name = _kernel_name(activation)
    if name in _FROM_INPUT:
        raise ValueError(f"{activation}'s derivative needs Z: use activation_derivative_from_input")
    return _FROM_OUTPUT[name](A, negative_slope)


def activation_derivative_from_input(Z, activation, negative_slope=0.01):
    """g'(Z) from the pre-activation Z (every activation: the oracle of both forms)."""
    name = _kernel_name(activation)
    if name in _FROM_INPUT:
        return _FROM_INPUT[name](Z)
    return _FROM_OUTPUT[name](activate(Z, name, negative_slope), negative_slope)


def dense_forward(A_prev, W, b, activation="relu", *, negative_slope=0.01, out=None):
    """``A = g(A_prev @ W.T + b)``."""
    Z = A_prev @ W.T
    if b is not None:
        Z = Z + b
    A = activate(Z, activation, negative_slope)
    if out is not None:
        out[...] = A
        return out
    return A


def dense_backward(
    dA, A_prev, W, A, activation="relu", *, input_grad=True, negative_slope=0.01, Z=None
):
    """``dZ = dA * g'(Z)``; returns ``(dZ @ W or None, dZ.T @ A_prev, dZ.sum(0))``.

    g' from the output A, or from Z where given (required for gelu and silu).
    """
    if Z is not None:
        dZ = dA * activation_derivative_from_input(Z, activation, negative_slope)
    else:
        dZ = dA * activation_derivative(A, activation, negative_slope)
    dW = dZ.T @ A_prev
    db = dZ.sum(axis=0)
    dA_prev = dZ @ W if input_grad else None
    return dA_prev, dW, db


def bce_with_logits(Z, y, *, sample_weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy of sigmoid(Z) against y, from logits; returns ``(loss, dZ)``.

    Per element, p = pos_weight (or 1)::

        l     = -p y log(sigmoid(z)) - (1 - y) log(sigmoid(-z))
        dl/dz = (1 - y) sigmoid(z) - p y sigmoid(-z)

    with ``log(sigmoid(z)) = -(max(-z, 0) + log1p(exp(-|z|)))``.
    "mean" divides by the element count, or by the weights' sum when weighted.
    """
    Z = np.asarray(Z, dtype=np.result_type(Z, np.float32))
    y = np.asarray(y, dtype=Z.dtype).reshape(Z.shape)
    p = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=Z.dtype)
    softplus = np.log1p(np.exp(-np.abs(Z)))
    log_sigmoid_pos = -(np.maximum(-Z, 0) + softplus)  # log(sigmoid(z))
    log_sigmoid_neg = -(np.maximum(Z, 0) + softplus)  # log(sigmoid(-z))
    loss = -p * y * log_sigmoid_pos - (1 - y) * log_sigmoid_neg
    grad = (1 - y) * _sigmoid(Z) - p * y * _sigmoid(-Z)
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=Z.dtype)
        if w.shape != Z.shape:
            w = w.reshape((-1,) + (1,) * (Z.ndim - 1))
        w = np.broadcast_to(w, Z.shape)
        loss, grad = loss * w, grad * w
        denominator = w.sum()
    else:
        denominator = Z.size
    if reduction == "none":
        return loss, grad
    if reduction == "sum":
        return float(loss.sum()), grad
    return float(loss.sum() / denominator), grad / denominator


# -------------------------------------------------------------- optimizers


def sklearn_output_loss(Z, Y, output, sample_weight=None, *, huber_delta=1.0):
    """scikit-learn's MLP output layer and loss from the logits Z (n, k): (loss, dZ).

    The formulas of ``sklearn.neural_network._base`` (LOSS_FUNCTIONS) on the
    output activation of ``out_activation_`` ('logistic', 'softmax',
    'identity', 'exp'), and dZ = (out(Z) - Y) * s (no 1/S: scikit-learn
    divides the parameter gradients by the weight sum). Also DenseRegressor's
    'absolute_error' and 'huber' (identity output; PyTorch's L1Loss and
    HuberLoss per element, averaged over rows and outputs; dZ = psi(Z - Y) * s
    with psi = sign, or the residual clipped to [-delta, delta]). The oracle
    of ``_losses.sklearn_output_loss``.
    """
    Z = np.asarray(Z)
    Y = np.asarray(Y, dtype=Z.dtype)
    eps = np.finfo(Z.dtype).eps
    if output == "softmax":
        A = np.exp(Z - Z.max(axis=1, keepdims=True))
        A /= A.sum(axis=1, keepdims=True)
    elif output == "logistic":
        A = _sigmoid(Z)
    elif output == "exp":
        A = np.exp(Z)
    else:
        A = Z.copy()
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=Z.dtype)
    if output == "logistic":
        P = np.clip(A, eps, 1 - eps)
        per = -(Y * np.log(P) + (1 - Y) * np.log(1 - P))
    elif output == "softmax":
        per = -Y * np.log(np.clip(A, eps, 1 - eps))
    elif output == "exp":
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(Y == 0, 0, Y * np.log(Y / A)) - Y + A
    elif output in ("absolute_error", "huber"):
        R = A - Y
        if output == "absolute_error":
            per, dZ = np.abs(R), np.sign(R)
        else:
            small = np.abs(R) < huber_delta
            per = np.where(small, 0.5 * R * R, huber_delta * (np.abs(R) - 0.5 * huber_delta))
            dZ = np.clip(R, -huber_delta, huber_delta)
    else:
        per = (Y - A) ** 2
    cols = np.average(per, weights=w, axis=0)
    if output == "identity":
        loss = 0.5 * cols.mean()
    elif output in ("absolute_error", "huber"):
        loss = cols.mean()
    else:
        loss = cols.sum()
    if output not in ("absolute_error", "huber"):
        dZ = A - Y
    if w is not None:
        dZ = dZ * w[:, None]
    return float(loss), dZ


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
    """``torch.optim.SGD`` for one tensor, in place."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer[...] = momentum * momentum_buffer + (1 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g


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
    """``torch.optim.Adam``/``AdamW`` for one tensor, in place (step counts from 1)."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    exp_avg += (1 - beta1) * (g - exp_avg)
    exp_avg_sq[...] = beta2 * exp_avg_sq + (1 - beta2) * g * g
    v = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    denom = np.sqrt(v) / np.sqrt(1 - beta2**step) + eps
    param -= (lr / (1 - beta1**step)) * (exp_avg / denom)


def sklearn_sgd_step(param, grad, velocity, *, lr, momentum=0.9, nesterov=True):
    """scikit-learn's ``SGDOptimizer`` for one array, in place."""
    velocity[...] = momentum * velocity - lr * grad
    update = momentum * velocity - lr * grad if nesterov else velocity
    param += update


def sklearn_adam_step(param, grad, m, v, *, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """scikit-learn's ``AdamOptimizer`` for one array, in place (t counts from 1)."""
    m[...] = beta1 * m + (1 - beta1) * grad
    v[...] = beta2 * v + (1 - beta2) * grad**2
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    param += -lr_t * m / (np.sqrt(v) + eps)


# -------------------------------------------------- a complete training loop


def init_network(layer_sizes, rng, dtype=np.float64):
    """PyTorch's ``nn.Linear`` init: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        W = rng.uniform(-bound, bound, size=(n_out, n_in)).astype(dtype)
        b = rng.uniform(-bound, bound, size=n_out).astype(dtype)
        params.append((W, b))
    return params


def forward(params, X, hidden_activation="relu"):
    """All activations ``[A0 = X, A1, ..., logits]``; the last layer is linear."""
    activations = [X]
    for layer, (W, b) in enumerate(params):
        last = layer == len(params) - 1
        activations.append(
            dense_forward(activations[-1], W, b, "identity" if last else hidden_activation)
        )
    return activations


def backward(params, activations, y, hidden_activation="relu"):
    """Gradients ``[(dW1, db1), ...]`` of the mean BCE, in DESIGN.md's order."""
    _, dZ = bce_with_logits(activations[-1], y.reshape(-1, 1))  # dZ[L] = (A[L] - Y) / m
    grads = [None] * len(params)
    for layer in range(len(params) - 1, -1, -1):
        W = params[layer][0]
        grads[layer] = (dZ.T @ activations[layer], dZ.sum(axis=0))
        if layer > 0:  # dA[0] is never needed
            dA = dZ @ W
            dZ = dA * activation_derivative(activations[layer], hidden_activation)
    return grads


def train(
    X,
    y,
    hidden_layer_sizes=(64,),
    *,
    epochs=1,
    batch_size=128,
    lr=1e-3,
    seed=0,
    hidden_activation="relu",
):
    """Minibatch Adam on mean BCE (shuffled each epoch); returns ``(params, epoch_losses)``.

    The NumPy baseline of the benchmarks: forward, backward and PyTorch's Adam
    written plainly, with arrays allocated per batch as NumPy code does.
    """
    rng = np.random.default_rng(seed)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    X = np.asarray(X, dtype=dtype)
    y = np.asarray(y, dtype=dtype)
    params = init_network([X.shape[1], *hidden_layer_sizes, 1], rng, dtype)
    moments = [[(np.zeros_like(p), np.zeros_like(p)) for p in layer] for layer in params]
    losses, step = [], 0
    for _ in range(epochs):
        order = rng.permutation(X.shape[0])
        total = 0.0
        for start in range(0, X.shape[0], batch_size):
            idx = order[start : start + batch_size]
            activations = forward(params, X[idx], hidden_activation)
            loss, _ = bce_with_logits(activations[-1], y[idx].reshape(-1, 1))
            total += loss * len(idx)
            grads = backward(params, activations, y[idx], hidden_activation)
            step += 1
            for layer_params, layer_grads, layer_moments in zip(params, grads, moments):
                for p, g, (m, v) in zip(layer_params, layer_grads, layer_moments):
                    torch_adam_step(p, g, m, v, step=step, lr=lr)
        losses.append(total / X.shape[0])
    return params, losses
