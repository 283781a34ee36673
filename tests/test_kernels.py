"""The kernels against the NumPy reference, PyTorch autograd and finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdense import _reference as ref
from fastdense import kernels

ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid", "identity"]
DTYPES = [np.float32, np.float64]
# (m, n_in, n_out): scalars, a single row, width 1, odd sizes, a few hundred wide.
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 4), (9, 6, 1), (33, 17, 29), (64, 300, 257), (257, 31, 5)]


def rtol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-10


def assert_close(actual, desired, dtype, scale=None):
    """Relative to the array's scale, so entries that cancel to ~0 don't fail."""
    desired = np.asarray(desired, dtype=np.float64)
    scale = np.max(np.abs(desired), initial=1.0) if scale is None else scale
    assert_allclose(actual, desired, rtol=rtol(dtype), atol=rtol(dtype) * scale)


def layer_data(m, n_in, n_out, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_in))
    W = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    b = rng.standard_normal(n_out)
    dA = rng.standard_normal((m, n_out))
    return [a.astype(dtype) for a in (X, W, b, dA)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_backward_match_reference(shape, activation, dtype):
    X, W, b, dA = layer_data(*shape, dtype)
    A = kernels.dense_forward(X, W, b, activation, negative_slope=0.1)
    assert A.dtype == dtype and A.shape == (shape[0], shape[2])
    # the oracle runs in float64 on the same (possibly float32) inputs
    X64, W64, b64, dA64 = (a.astype(np.float64) for a in (X, W, b, dA))
    A_ref = ref.dense_forward(X64, W64, b64, activation, negative_slope=0.1)
    assert_close(A, A_ref, dtype)

    dX, dW, db = kernels.dense_backward(dA, X, W, A, activation, negative_slope=0.1)
    assert dX.dtype == dW.dtype == db.dtype == dtype
    # backward from the kernel's own A so both see the same g'(A)
    dX_ref, dW_ref, db_ref = ref.dense_backward(
        dA64, X64, W64, A.astype(np.float64), activation, negative_slope=0.1
    )
    assert_close(dX, dX_ref, dtype)
    assert_close(dW, dW_ref, dtype)
    assert_close(db, db_ref, dtype)


def test_no_bias_and_no_input_grad():
    X, W, b, dA = layer_data(6, 4, 3, np.float64)
    A = kernels.dense_forward(X, W, None, "tanh")
    assert_close(A, np.tanh(X @ W.T), np.float64)
    dX, dW, db = kernels.dense_backward(dA, X, W, A, "tanh", input_grad=False)
    assert dX is None
    assert_close(dW, ((dA * (1 - A**2)).T @ X), np.float64)


def test_forward_into_out_buffer():
    X, W, b, _ = layer_data(8, 5, 4, np.float32)
    out = np.full((8, 4), np.nan, dtype=np.float32)
    result = kernels.dense_forward(X, W, b, "relu", out=out)
    assert result is out
    assert_close(out, ref.dense_forward(X, W, b, "relu"), np.float32)


def test_backward_does_not_modify_inputs():
    X, W, b, dA = layer_data(7, 5, 3, np.float64)
    A = kernels.dense_forward(X, W, b, "sigmoid")
    copies = [a.copy() for a in (dA, X, W, A)]
    kernels.dense_backward(dA, X, W, A, "sigmoid")
    for before, after in zip(copies, (dA, X, W, A)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n_in, n_out", [(0, 3, 2), (3, 0, 2), (3, 2, 0), (0, 0, 0)])
def test_zero_sized_dimensions(m, n_in, n_out, dtype):
    X, W, b, dA = layer_data(m, n_in, n_out, dtype)
    A = kernels.dense_forward(X, W, b, "relu")
    assert_close(A, ref.dense_forward(X, W, b, "relu"), dtype)
    dX, dW, db = kernels.dense_backward(dA, X, W, A, "relu")
    assert dX.shape == (m, n_in) and dW.shape == (n_out, n_in) and db.shape == (n_out,)
    for got, want in zip((dX, dW, db), ref.dense_backward(dA, X, W, A, "relu")):
        assert_close(got, want, dtype)


def test_dtype_promotion():
    X, W, b, _ = layer_data(4, 3, 2, np.float32)
    assert kernels.dense_forward(X, W, b).dtype == np.float32
    assert kernels.dense_forward(X.astype(np.float64), W, b).dtype == np.float64
    assert kernels.dense_forward(X, W, b.astype(np.float64)).dtype == np.float64
    ints = np.arange(12).reshape(4, 3)
    assert_close(kernels.dense_forward(ints, W, b), ref.dense_forward(ints * 1.0, W, b), np.float64)
    assert kernels.dense_forward(ints > 5, W, b).dtype == np.float64


@pytest.mark.parametrize("layout", ["fortran", "strided", "readonly", "list"])
def test_layouts_give_the_same_answer(layout):
    X, W, b, dA = layer_data(11, 7, 5, np.float64)
    expected_A = kernels.dense_forward(X, W, b, "tanh")
    expected_grads = kernels.dense_backward(dA, X, W, expected_A, "tanh")

    def transform(a):
        if layout == "fortran":
            return np.asfortranarray(a)
        if layout == "strided":
            big = np.zeros((a.shape[0] * 2,) + a.shape[1:] if a.ndim else (), dtype=a.dtype)
            big[::2] = a
            return big[::2]
        if layout == "readonly":
            a = a.copy()
            a.flags.writeable = False
            return a
        return a.tolist()

    Xt, Wt, bt, dAt, At = (transform(a) for a in (X, W, b, dA, expected_A))
    np.testing.assert_array_equal(kernels.dense_forward(Xt, Wt, bt, "tanh"), expected_A)
    for got, want in zip(kernels.dense_backward(dAt, Xt, Wt, At, "tanh"), expected_grads):
        np.testing.assert_array_equal(got, want)


def _ineligible_forward_calls(X, W, b):
    """(label, args) the C-level fast path must decline (the validating path decides)."""

    class Sub(np.ndarray):
        pass

    return [
        ("fortran X", (np.asfortranarray(X), W, b, "relu", 0.01)),
        ("strided W", (np.repeat(W, 2, axis=1)[:, ::2], W, b, "relu", 0.01)),
        ("subclass", (X.view(Sub), W, b, "relu", 0.01)),
        ("list b", (X, W, b.tolist(), "relu", 0.01)),
        (
            "mixed dtypes",
            (X.astype(np.float64 if X.dtype == np.float32 else np.float32), W, b, "relu", 0.01),
        ),
        ("int X", (X.astype(np.int64), W, b, "relu", 0.01)),
        ("1-D X", (X[0], W, b, "relu", 0.01)),
        ("empty X", (X[:0], W, b, "relu", 0.01)),
        ("shape mismatch", (X[:, :-1], W, b, "relu", 0.01)),
        ("bias mismatch", (X, W, b[:-1], "relu", 0.01)),
        ("unknown activation", (X, W, b, "swish", 0.01)),
        ("int slope", (X, W, b, "relu", 1)),
        ("negative slope", (X, W, b, "leaky_relu", -0.5)),
        ("nan slope", (X, W, b, "leaky_relu", float("nan"))),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
def test_c_level_fast_path_takes_only_ready_arguments(dtype):
    from fastdense import _kernels

    X, W, b, dA = layer_data(6, 5, 4, dtype)
    A = _kernels.dense_forward_ready(X, W, b, "leaky_relu", 0.2)
    np.testing.assert_array_equal(
        A, kernels.dense_forward(np.asfortranarray(X), W, b, "leaky_relu", negative_slope=0.2)
    )
    assert _kernels.dense_forward_ready(X, W, None, "logistic", 0.01) is not None
    grads = _kernels.dense_backward_ready(dA, X, W, A, "leaky_relu", 0.2, True)
    slow = kernels.dense_backward(np.asfortranarray(dA), X, W, A, "leaky_relu", negative_slope=0.2)
    for got, want in zip(grads, slow):
        np.testing.assert_array_equal(got, want)
    assert _kernels.dense_backward_ready(dA, X, W, A, "relu", 0.01, False)[0] is None
    for label, args in _ineligible_forward_calls(X, W, b):
        assert _kernels.dense_forward_ready(*args) is None, label
        if label not in ("list b", "bias mismatch"):  # backward takes no bias
            assert _kernels.dense_backward_ready(dA, *args[:2], A, *args[3:], True) is None, label
    assert _kernels.dense_backward_ready(dA[:, :-1], X, W, A, "relu", 0.01, True) is None
    assert _kernels.dense_backward_ready(dA, X, W, A[:-1], "relu", 0.01, True) is None


# ------------------------------------------------------------------ the loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_bce_matches_reference(dtype, reduction, weighted, pos_weight):
    rng = np.random.default_rng(1)
    Z = (rng.standard_normal((37, 1)) * 4).astype(dtype)
    y = (rng.random((37, 1)) < 0.4).astype(dtype)
    w = rng.random(37).astype(dtype) if weighted else None
    loss, dZ = kernels.bce_with_logits(
        Z, y, sample_weight=w, pos_weight=pos_weight, reduction=reduction
    )
    loss_ref, dZ_ref = ref.bce_with_logits(
        Z.astype(np.float64),
        y.astype(np.float64),
        sample_weight=None if w is None else w.astype(np.float64),
        pos_weight=pos_weight,
        reduction=reduction,
    )
    assert dZ.dtype == dtype and dZ.shape == Z.shape
    assert_close(loss, loss_ref, dtype)
    assert_close(dZ, dZ_ref, dtype)


def test_bce_mean_with_weights_divides_by_weight_sum():
    Z = np.array([0.3, -1.2, 2.0])
    y = np.array([1.0, 0.0, 1.0])
    w = np.array([2.0, 0.0, 1.0])
    loss, dZ = kernels.bce_with_logits(Z, y, sample_weight=w)
    per = np.logaddexp(0, -Z) * y + np.logaddexp(0, Z) * (1 - y)
    assert_allclose(loss, (w * per).sum() / w.sum(), rtol=1e-12)
    assert_allclose(dZ, w * (1 / (1 + np.exp(-Z)) - y) / w.sum(), rtol=1e-12)
    with pytest.raises(ValueError, match="sums to zero"):
        kernels.bce_with_logits(Z, y, sample_weight=np.zeros(3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_is_finite_and_exact_at_extreme_logits(dtype):
    Z = np.array([-1e4, -1e4, 1e4, 1e4, -50.0, 50.0], dtype=dtype)
    y = np.array([0, 1, 0, 1, 1, 0], dtype=dtype)
    with np.errstate(all="raise"):
        losses, dZ = kernels.bce_with_logits(Z, y, reduction="none")
        loss_pw, dZ_pw = kernels.bce_with_logits(Z, y, pos_weight=3.0, reduction="none")
    assert np.all(np.isfinite(losses)) and np.all(np.isfinite(dZ))
    # right answers: log(1+exp(-|z|)) vanishes, so the loss is |z| when wrong, 0 when right
    assert_allclose(losses, [0, 1e4, 1e4, 0, 50, 50], rtol=1e-6)
    assert_allclose(dZ, [0, -1, 1, 0, -1, 1], atol=1e-6)
    assert_allclose(loss_pw, [0, 3e4, 1e4, 0, 150, 50], rtol=1e-6)
    assert_allclose(dZ_pw, [0, -3, 1, 0, -3, 1], atol=1e-6)


def test_bce_shapes_and_columns():
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((10, 3))
    y = (rng.random((10, 3)) > 0.5) * 1.0
    pw = np.array([1.0, 2.0, 0.5])
    loss, dZ = kernels.bce_with_logits(Z, y, pos_weight=pw, sample_weight=np.arange(10.0))
    loss_ref, dZ_ref = ref.bce_with_logits(Z, y, pos_weight=pw, sample_weight=np.arange(10.0))
    assert_allclose(loss, loss_ref, rtol=1e-12)
    assert_allclose(dZ, dZ_ref, rtol=1e-12)
    # a 1-D y against (m, 1) logits
    loss1, dZ1 = kernels.bce_with_logits(Z[:, :1], y[:, 0])
    loss2, dZ2 = kernels.bce_with_logits(Z[:, 0], y[:, 0])
    assert loss1 == loss2 and dZ1.shape == (10, 1) and dZ2.shape == (10,)


# ------------------------------------------------------- finite differences


def _net_loss(params, X, y, activations):
    A = X
    for (W, b), act in zip(params, activations):
        A = kernels.dense_forward(A, W, b, act)
    return kernels.bce_with_logits(A, y)[0]


def _net_grads(params, X, y, activations):
    """Backprop through the kernels, in DESIGN.md's order."""
    cache = [X]
    for (W, b), act in zip(params, activations):
        cache.append(kernels.dense_forward(cache[-1], W, b, act))
    _, dA = kernels.bce_with_logits(cache[-1], y)  # dZ[L]; the output layer is linear
    grads = [None] * len(params)
    for layer in range(len(params) - 1, -1, -1):
        W = params[layer][0]
        dA, dW, db = kernels.dense_backward(
            dA, cache[layer], W, cache[layer + 1], activations[layer], input_grad=layer > 0
        )
        grads[layer] = (dW, db)
    return grads


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_network_gradient_by_central_differences(hidden):
    rng = np.random.default_rng(3)
    sizes = [4, 6, 5, 1]
    params = [
        (rng.standard_normal((o, i)) / np.sqrt(i), rng.standard_normal(o) * 0.1)
        for i, o in zip(sizes[:-1], sizes[1:])
    ]
    X = rng.standard_normal((9, 4))
    y = (rng.random((9, 1)) > 0.5).astype(float)
    activations = [hidden, hidden, "identity"]
    grads = _net_grads(params, X, y, activations)
    eps = 1e-6
    for (W, b), (dW, db) in zip(params, grads):
        for p, g in ((W, dW), (b, db)):
            numeric = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                saved = p[idx]
                p[idx] = saved + eps
                plus = _net_loss(params, X, y, activations)
                p[idx] = saved - eps
                minus = _net_loss(params, X, y, activations)
                p[idx] = saved
                numeric[idx] = (plus - minus) / (2 * eps)
            assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------- optimizers


def _opt_buffers(n, dtype, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "config",
    [
        dict(),
        dict(momentum=0.9),
        dict(momentum=0.9, nesterov=True),
        dict(momentum=0.8, dampening=0.3, weight_decay=0.01),
        dict(momentum=0.5, maximize=True),
    ],
)
def test_torch_sgd_matches_reference(dtype, config):
    p, _ = _opt_buffers(23, dtype, 0)
    p_ref = p.astype(np.float64)
    buf, buf_ref = np.zeros_like(p), np.zeros(23)
    for step in range(5):
        g, _ = _opt_buffers(23, dtype, step + 10)
        kernels.torch_sgd_step(p, g, buf, lr=0.1, first_step=step == 0, **config)
        ref.torch_sgd_step(
            p_ref, g.astype(np.float64), buf_ref, lr=0.1, first_step=step == 0, **config
        )
    assert_close(p, p_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "config",
    [
        dict(),
        dict(weight_decay=0.1),
        dict(weight_decay=0.1, decoupled_weight_decay=True),
        dict(amsgrad=True),
        dict(maximize=True, betas=None),
    ],
)
def test_torch_adam_matches_reference(dtype, config):
    config = {k: v for k, v in config.items() if k != "betas"}
    p, _ = _opt_buffers(19, dtype, 1)
    p_ref = p.astype(np.float64)
    state = [np.zeros_like(p) for _ in range(3)]
    state_ref = [np.zeros(19) for _ in range(3)]
    for step in range(1, 6):
        g, _ = _opt_buffers(19, dtype, step + 20)
        kernels.torch_adam_step(p, g, *state, step=step, lr=0.01, **config)
        ref.torch_adam_step(p_ref, g.astype(np.float64), *state_ref, step=step, lr=0.01, **config)
    assert_close(p, p_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_sklearn_optimizers_match_scikit_learn(dtype, nesterov):
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

    p, _ = _opt_buffers(17, dtype, 2)
    params_sk = [p.astype(np.float64)]
    sgd = SGDOptimizer(params_sk, learning_rate_init=0.05, momentum=0.9, nesterov=nesterov)
    velocity = np.zeros_like(p)
    p_adam = p.copy()
    params_adam = [p.astype(np.float64)]
    adam = AdamOptimizer(params_adam, learning_rate_init=0.01)
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, 6):
        g, _ = _opt_buffers(17, dtype, t + 30)
        sgd.update_params(params_sk, [g.astype(np.float64)])
        kernels.sklearn_sgd_step(p, g, velocity, lr=0.05, momentum=0.9, nesterov=nesterov)
        adam.update_params(params_adam, [g.astype(np.float64)])
        kernels.sklearn_adam_step(p_adam, g, m, v, t=t, lr=0.01)
    assert_close(p, params_sk[0], dtype)
    assert_close(p_adam, params_adam[0], dtype)


def test_sklearn_adam_float32_moments_are_float32_arithmetic():
    """In float32, m and v are scikit-learn's float32 arithmetic bit for bit
    (1 - beta rounded once from double, as NumPy rounds sklearn's Python float);
    a double intermediate anywhere (a bare C `1.0`) would break this."""
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer

    p, _ = _opt_buffers(1000, np.float32, 2)
    params_sk = [p.copy()]
    adam = AdamOptimizer(params_sk, learning_rate_init=0.01)
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, 6):
        g, _ = _opt_buffers(1000, np.float32, t + 30)
        adam.update_params(params_sk, [g.copy()])
        kernels.sklearn_adam_step(p, g, m, v, t=t, lr=0.01)
        assert adam.ms[0].dtype == np.float32
        np.testing.assert_array_equal(m, adam.ms[0])
        np.testing.assert_array_equal(v, adam.vs[0])
    # scikit-learn takes the step itself in float64 (its learning rate is a NumPy
    # float64 scalar); ours stays in float32
    assert_close(p, params_sk[0], np.float32)


def test_optimizer_buffers_are_checked():
    p = np.zeros(4)
    with pytest.raises(TypeError, match="grad must have param's dtype"):
        kernels.torch_sgd_step(p, np.zeros(4, dtype=np.float32), lr=0.1)
    with pytest.raises(ValueError, match="exp_avg must have param's shape"):
        kernels.torch_adam_step(p, np.zeros(4), np.zeros(3), np.zeros(4), step=1, lr=0.1)
    with pytest.raises(ValueError, match="momentum_buffer is required"):
        kernels.torch_sgd_step(p, np.zeros(4), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.sklearn_sgd_step(p, np.zeros(8)[::2], np.zeros(4), lr=0.1)
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        kernels.sklearn_adam_step(ro, np.zeros(4), np.zeros(4), np.zeros(4), t=1, lr=0.1)
    with pytest.raises(TypeError, match="float32 or float64"):
        kernels.torch_sgd_step(np.zeros(4, dtype=int), np.zeros(4, dtype=int), lr=0.1)


# ------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda X, W, b: kernels.dense_forward(X[0], W, b), ValueError, "A_prev must be a 2-D"),
        (lambda X, W, b: kernels.dense_forward(X, W.T, b), ValueError, "W must have shape"),
        (lambda X, W, b: kernels.dense_forward(X, W, b[:-1]), ValueError, "b must have shape"),
        (
            lambda X, W, b: kernels.dense_forward(X, W, b, "softmax"),
            ValueError,
            "activation must be",
        ),
        (
            lambda X, W, b: kernels.dense_forward(X, W, b, negative_slope=-1),
            ValueError,
            "negative_slope",
        ),
        (lambda X, W, b: kernels.dense_forward(X.astype(complex), W, b), TypeError, "real numeric"),
        (lambda X, W, b: kernels.dense_forward(X.astype(str), W, b), TypeError, "real numeric"),
        (
            lambda X, W, b: kernels.dense_forward(np.array([["a", 1.0]], dtype=object), W, b),
            TypeError,
            "numeric",
        ),
        (
            lambda X, W, b: kernels.dense_forward(X, W, b, out=np.empty((2, 2))),
            ValueError,
            "out must have shape",
        ),
        (
            lambda X, W, b: kernels.dense_forward(X, W, b, out=np.empty((5, 3), np.float32)),
            TypeError,
            "out must have dtype",
        ),
        (lambda X, W, b: kernels.dense_backward(X, X, W, X), ValueError, "dA must have shape"),
        (lambda X, W, b: kernels.bce_with_logits(X, X[:, :1]), ValueError, "y must have the shape"),
        (
            lambda X, W, b: kernels.bce_with_logits(X[:, 0], X[:, 0], reduction="avg"),
            ValueError,
            "reduction",
        ),
        (
            lambda X, W, b: kernels.bce_with_logits(X[:, 0], X[:, 0], sample_weight=np.ones(3)),
            ValueError,
            "sample_weight must have shape",
        ),
        (
            lambda X, W, b: kernels.bce_with_logits(X[:, :2], X[:, :2], pos_weight=np.ones(3)),
            ValueError,
            "pos_weight",
        ),
        (
            lambda X, W, b: kernels.bce_with_logits(np.zeros((2, 2, 2)), np.zeros((2, 2, 2))),
            ValueError,
            "Z must be",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, message):
    X, W, b, _ = layer_data(5, 4, 3, np.float64)
    with pytest.raises(error, match=message):
        call(X, W, b)


def test_blas_size_limit_is_checked_before_any_call():
    X = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(2**31, 1), strides=(0, 0))
    with pytest.raises(ValueError, match="exceeds"):
        kernels.dense_forward(X, np.zeros((1, 1)), None)


def test_kernels_release_the_gil():
    """Another thread runs Python code in the middle of a long kernel call.

    With the GIL held, the other thread could only run at the edges of the call
    (within one switch interval); it must tick during the middle 20%.
    """
    import threading
    import time

    from threadpoolctl import threadpool_limits

    X, W, b, _ = layer_data(1500, 1500, 1500, np.float64)
    stamps, done = [], threading.Event()

    def poll():
        while not done.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0.001)  # a few hundred entries, no CPU hog

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with threadpool_limits(1, user_api="blas"):
            time.sleep(0.01)
            t0 = time.perf_counter()
            kernels.dense_forward(X, W, b, "relu")
            kernels.dense_backward(X @ W.T, X, W, X @ W.T, "relu")
            t1 = time.perf_counter()
    finally:
        done.set()
        poller.join()
    assert t1 - t0 > 0.05, "the call is too short to tell"
    middle = [t for t in stamps if t0 + 0.4 * (t1 - t0) < t < t0 + 0.6 * (t1 - t0)]
    assert middle, "no other thread ran during the kernel call: the GIL was held"


@pytest.mark.parametrize("activation", [["relu"], None, 3])
def test_unhashable_or_odd_activation_is_a_value_error(activation):
    X, W, b, dA = layer_data(3, 2, 2, np.float64)
    with pytest.raises(ValueError, match="activation must be"):
        kernels.dense_forward(X, W, b, activation)
    with pytest.raises(ValueError, match="activation must be"):
        kernels.dense_backward(dA, X, W, dA, activation)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backward, input_grad", [(False, False), (True, False), (True, True)])
def test_gemm_floor_computes_the_products_of_an_epoch(dtype, backward, input_grad):
    from fastdense import _kernels

    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 5)).astype(dtype)
    W1, W2 = (rng.standard_normal(s).astype(dtype) for s in ((4, 5), (3, 4)))
    floor = _kernels.GemmFloor(X, [W1, W2], 7, backward=backward, input_grad=input_grad)
    floor.run_epoch()  # one minibatch: all 7 rows
    z1, z2 = floor.z
    assert_close(z1, X.astype(np.float64) @ W1.T, dtype)
    assert_close(z2, z1.astype(np.float64) @ W2.T, dtype)
    products = [floor.dw[1], floor.da[1], floor.dw[0], floor.da[0]]
    wanted = [z2.T @ z1, z2 @ W2, z1.T @ X, z1 @ W1]
    computed = [backward, backward, backward, input_grad]
    for got, want, done in zip(products, wanted, computed):
        if done:
            assert_close(got, want.astype(np.float64), dtype)
        else:
            assert not np.any(got)  # never written (zero-initialized)
