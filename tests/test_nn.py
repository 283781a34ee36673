"""fastdense.nn and the autograd: PyTorch semantics, checked without and with PyTorch."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import fastdense as fd
from fastdense import _kernels, nn
from fastdense.nn import functional as F

ACTIVATIONS = {
    "relu": (nn.ReLU, "ReLU"),
    "leaky_relu": (lambda: nn.LeakyReLU(0.1), "LeakyReLU"),
    "tanh": (nn.Tanh, "Tanh"),
    "sigmoid": (nn.Sigmoid, "Sigmoid"),
    "identity": (nn.Identity, "Identity"),
}
DTYPES = [np.float32, np.float64]
DEPTHS = [(), (7,), (9, 5, 6)]


def assert_close(actual, expected, dtype, what=""):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, what
    if dtype == np.float64:
        rtol, atol = 1e-9, 1e-12
    else:
        rtol, atol = 1e-4, 1e-6
    scale = max(float(np.abs(expected).max(initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, err_msg=what)


def make_mlp(lib, n_in, hidden, act, dtype=None):
    layers, prev = [], n_in
    for h in hidden:
        layers.append(lib.Linear(prev, h, dtype=dtype))
        layers.append(act())
        prev = h
    layers.append(lib.Linear(prev, 1, dtype=dtype))
    return lib.Sequential(*layers)


def data(m=11, n=4, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)).astype(dtype)
    y = (rng.random((m, 1)) < 0.5).astype(dtype)
    return X, y


# ------------------------------------------------------------ Module semantics


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 6)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(6, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_registration_names_and_order():
    net = Net()
    assert list(net.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_parameters()] == list(net.state_dict())
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.children()) == [net.fc1, net.act, net.fc2]
    assert len(list(net.modules())) == 4
    assert net.fc1.weight.shape == (6, 4) and net.fc1.bias.shape == (6,)
    seq = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Sequential(nn.Linear(2, 2)))
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.0.weight", "2.0.bias"]


def test_state_dict_values_are_live_tensors_like_torch():
    net = Net()
    sd = net.state_dict()
    assert all(type(v) is fd.Tensor and not v.requires_grad for v in sd.values())
    assert sd["fc1.weight"]._data is net.fc1.weight._data  # shares memory, as in PyTorch
    snap = copy.deepcopy(sd)
    with fd.no_grad():
        net.fc1.weight.add_(1.0)
    assert np.array_equal(sd["fc1.weight"].numpy(), net.fc1.weight.numpy())
    assert np.array_equal(snap["fc1.weight"].numpy() + 1, net.fc1.weight.numpy())
    kv = net.state_dict(keep_vars=True)
    assert kv["fc1.weight"] is net.fc1.weight


def test_parameter_basics():
    p = nn.Parameter(np.arange(6.0).reshape(2, 3))
    assert p.requires_grad and p.grad is None and p.is_leaf
    assert type(p.data) is fd.Tensor and np.asarray(p) is p._data
    assert p.dtype == np.float64 and p.shape == (2, 3)
    with pytest.raises(TypeError):
        nn.Parameter(np.arange(3))
    assert repr(p).startswith("Parameter containing:")
    q = copy.deepcopy(p)
    assert q is not p and np.array_equal(q.data, p.data) and q.data is not p.data


def test_assigning_wrong_type_to_parameter_raises():
    lin = nn.Linear(2, 3)
    with pytest.raises(TypeError):
        lin.weight = np.zeros((3, 2))
    lin.bias = None
    assert "bias" not in lin.state_dict()
    assert list(dict(lin.named_parameters())) == ["weight"]


def test_repr_like_pytorch():
    model = nn.Sequential(
        nn.Linear(20, 64),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.LeakyReLU(0.1),
        nn.Linear(64, 1, bias=False),
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=20, out_features=64, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.2, inplace=False)\n"
        "  (3): LeakyReLU(negative_slope=0.1)\n"
        "  (4): Linear(in_features=64, out_features=1, bias=False)\n"
        ")"
    )


def test_sequential_container_ops():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    seq.append(c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub.state_dict()) == ["2.weight", "2.bias"]  # keys kept, as in PyTorch
    named = nn.Sequential(OrderedDict([("hidden", a), ("act", b), ("out", c)]))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert named[2] is c
    with pytest.raises(IndexError):
        seq[3]
    del seq[1]
    assert list(seq) == [a, c] and list(seq.state_dict())[-1] == "1.bias"


def test_train_eval_apply_requires_grad_zero_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))
    assert model.training and model[1].training
    model.eval()
    assert not model.training and not model[1].training
    model.train()
    assert model[1].training
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Dropout", "Linear", "Sequential"]
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_(True)
    X, y = data(n=3)
    F.binary_cross_entropy_with_logits(model(X.astype(np.float32)), y).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_dtype_casts():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    assert model[0].weight.dtype == np.float32  # PyTorch's default
    w0 = model[0].weight.numpy().copy()
    assert model.double() is model
    assert all(p.dtype == np.float64 for p in model.parameters())
    np.testing.assert_array_equal(model[0].weight.data, w0)
    model.to(np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters())
    model.to("float64")
    assert model[2].bias.dtype == np.float64
    assert nn.Linear(2, 2, dtype=np.float64).weight.dtype == np.float64
    with pytest.raises(RuntimeError):
        model.to(device="cuda")


def test_load_state_dict_copies_and_returns_keys():
    src, dst = Net(), Net()
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    w = dst.fc1.weight.data
    res = dst.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert dst.fc1.weight._data is w._data  # copied in place: optimizers keep their references
    np.testing.assert_array_equal(w, sd["fc1.weight"])
    sd["fc1.weight"][...] = 7  # no aliasing of the source
    assert not np.any(w == 7)
    # float64 values into a float32 model are converted
    dst.load_state_dict({k: v.double() for k, v in src.state_dict().items()})
    assert dst.fc1.weight.dtype == np.float32


def test_strict_load_errors_list_keys_and_shapes():
    net = Net()
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    del sd["fc2.bias"]
    sd["extra.weight"] = np.zeros(2)
    with pytest.raises(RuntimeError) as exc:
        net.load_state_dict(sd)
    msg = str(exc.value)
    assert 'Missing key(s) in state_dict: "fc2.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    before = net.fc1.weight.numpy().copy()
    sd2 = {k: v + 1 for k, v in net.state_dict().items()}
    sd2["fc2.weight"] = np.zeros((2, 6), dtype=np.float32)
    with pytest.raises(RuntimeError, match="size mismatch for fc2.weight"):
        net.load_state_dict(sd2, strict=False)  # shape errors raise even when not strict
    np.testing.assert_array_equal(net.fc1.weight.data, before)  # nothing copied
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc2.bias"] and res.unexpected_keys == ["extra.weight"]
    with pytest.raises(TypeError):
        net.load_state_dict([("fc1.weight", 1)])


# ------------------------------------------------------------------- init


def test_init_uniform_bounds_and_seed():
    fd.manual_seed(123)
    a = nn.Linear(50, 400)
    fd.manual_seed(123)
    b = nn.Linear(50, 400)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    c = nn.Linear(50, 400)  # the generator moved on
    assert not np.array_equal(a.weight.data, c.weight.data)
    bound = 1 / np.sqrt(50)
    w = a.weight.numpy().astype(np.float64).ravel()
    assert np.abs(w).max() <= bound and np.abs(a.bias.data).max() <= bound
    # U(-b, b): mean 0, variance b^2 / 3, flat histogram (20000 draws)
    assert abs(w.mean()) < 0.02 * bound
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.03
    hist, _ = np.histogram(w, bins=10, range=(-bound, bound))
    assert hist.min() > 0.9 * len(w) / 10 and hist.max() < 1.1 * len(w) / 10
    a.reset_parameters()
    assert not np.array_equal(a.weight.data, b.weight.data)


# ------------------------------------------------------------------ autograd


def numeric_grad(f, arr, eps=1e-6):
    # (the NumPy array: an element of a tensor, arr[i], is a view, as in PyTorch)
    arr = arr.numpy() if hasattr(arr, "numpy") else arr
    g = np.zeros_like(arr)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = arr[i]
        arr[i] = old + eps
        fp = f()
        arr[i] = old - eps
        fm = f()
        arr[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_gradients_match_central_differences(act):
    fd.manual_seed(1)
    model = make_mlp(nn, 3, (5, 4), ACTIVATIONS[act][0], dtype=np.float64)
    X, y = data(m=6, n=3, seed=2)
    X = X + 0.05  # keep relu kinks away from exact zeros
    loss_fn = nn.BCEWithLogitsLoss()
    loss_fn(model(X), y).backward()

    def f():
        with fd.no_grad():
            return loss_fn(model(X), y).item()

    for name, p in model.named_parameters():
        np.testing.assert_allclose(
            p.grad, numeric_grad(f, p.data), rtol=1e-5, atol=1e-8, err_msg=name
        )


def test_input_gradient_only_when_asked():
    model = make_mlp(nn, 3, (4,), nn.Tanh, dtype=np.float64)
    X, y = data(m=5, n=3)
    x = fd.Tensor(X.copy(), requires_grad=True)
    F.binary_cross_entropy_with_logits(model(x), y).backward()
    assert x.grad is not None and x.grad.shape == X.shape

    def f():
        with fd.no_grad():
            return F.binary_cross_entropy_with_logits(model(X), y).item()

    np.testing.assert_allclose(x.grad, numeric_grad(f, X), rtol=1e-5, atol=1e-9)


def test_first_layer_does_not_compute_input_gradient(monkeypatch):
    model = make_mlp(nn, 3, (4,), nn.ReLU, dtype=np.float64)
    X, y = data(m=5, n=3)
    calls = []
    real = _kernels.dense_backward

    def spy(da, a_prev, w, a, dz, dw, db, da_prev, *args):
        calls.append(da_prev.size)
        return real(da, a_prev, w, a, dz, dw, db, da_prev, *args)

    monkeypatch.setattr(_kernels, "dense_backward", spy)
    F.binary_cross_entropy_with_logits(model(X), y).backward()
    assert calls == [5 * 4, 0]  # the output layer needs dA of the hidden layer; layer 1 not


def test_linear_activation_is_one_fused_kernel_call(monkeypatch):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Sigmoid())
    fwd, bwd, act = [], [], []
    for name, log in (
        ("dense_forward", fwd),
        ("dense_backward", bwd),
        ("activation_forward", act),
        ("activation_backward", act),
    ):
        real = getattr(_kernels, name)
        monkeypatch.setattr(
            _kernels,
            name,
            (lambda real, log: lambda *a: (log.append(a[-2] if len(a) > 6 else a[4]), real(*a))[1])(
                real, log
            ),
        )
    out = model(np.ones((2, 3), np.float32))
    out.sum().backward()
    relu, sig = _kernels.ACTIVATIONS["relu"], _kernels.ACTIVATIONS["sigmoid"]
    assert fwd == [relu, sig]
    assert len(bwd) == 2 and act == []


def test_reading_intermediate_keeps_semantics():
    fd.manual_seed(3)
    lin, lin2 = nn.Linear(3, 4, dtype=np.float64), nn.Linear(4, 1, dtype=np.float64)
    X, y = data(m=5, n=3)

    def run(read):
        for p in (*lin.parameters(), *lin2.parameters()):
            p.grad = None
        z = lin(X)
        z_val = np.asarray(z).copy() if read else None
        a = F.relu(z)
        loss = F.binary_cross_entropy_with_logits(lin2(a), y) + (z * z).mean()
        loss.backward()
        return (
            loss.item(),
            z_val,
            [p.grad.numpy().copy() for p in (*lin.parameters(), *lin2.parameters())],
        )

    l1, _, g1 = run(False)
    l2, z, g2 = run(True)
    assert l1 == l2  # the forward values are bit-identical
    for a, b in zip(g1, g2):  # gradients summed in another order: equal to rounding
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(z, X @ lin.weight.data.T + lin.bias.data, rtol=1e-12)


def test_gradient_accumulation_and_zero_grad():
    model = make_mlp(nn, 4, (6,), nn.ReLU, dtype=np.float64)
    X, y = data(m=8)
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    loss_fn(model(X), y).backward()
    full = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    loss_fn(model(X[:3]), y[:3]).backward()
    held = [p.grad for p in model.parameters()]
    loss_fn(model(X[3:]), y[3:]).backward()
    for p, g, h in zip(model.parameters(), full, held):
        assert p.grad is h  # accumulated in place
        np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-14)
    model.zero_grad(set_to_none=False)
    loss_fn(model(X), y).backward()
    for p, g in zip(model.parameters(), full):
        np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-14)


def test_no_grad_and_graphless_backward_raise():
    model = make_mlp(nn, 4, (3,), nn.ReLU)
    X, y = data()
    with fd.no_grad():
        out = model(X)
        loss = F.binary_cross_entropy_with_logits(out, y.astype(np.float32))
    assert loss.grad_fn is None and not loss.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        loss.backward()

    @fd.no_grad()
    def predict(x):
        return model(x)

    assert predict(X).grad_fn is None
    assert fd.autograd.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        fd.Tensor(np.ones(1)).backward()
    loss = F.binary_cross_entropy_with_logits(model(X), y.astype(np.float32))
    with pytest.raises(RuntimeError, match="only for scalar"):
        model(X).backward()
    detached = loss.detach()
    with pytest.raises(RuntimeError):
        detached.backward()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_numpy_ufuncs_refuse_tensors():
    t = nn.Linear(2, 1)(np.ones((3, 2), np.float32))
    with pytest.raises(TypeError):
        np.exp(t)
    a = np.asarray(t)
    assert a.shape == (3, 1) and type(a) is np.ndarray
    assert t.numpy() is a and t.detach().grad_fn is None


def test_tensor_arithmetic_gradients():
    x = fd.Tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), requires_grad=True)
    w = np.array([2.0, -1.0])
    y = ((x * w + 1.0) / 2.0 - x).sum() * 3 + (-x).mean() + x[0, 1] + (1 / (x + 5)).sum()
    y.backward()
    expected = 3 * (w / 2 - 1) - 0.25 - 1 / (np.asarray(x) + 5) ** 2
    expected[0, 1] += 1
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
    z = fd.Tensor(np.ones((4, 1)), requires_grad=True)
    z.squeeze(1).reshape(2, 2).sum().backward()
    np.testing.assert_array_equal(z.grad, np.ones((4, 1)))


def test_item_and_1d_linear():
    lin = nn.Linear(3, 2, dtype=np.float64)
    out = lin(np.ones(3))
    assert out.shape == (2,)
    np.testing.assert_allclose(np.asarray(out), lin.weight.data.sum(1) + lin.bias.data)
    with pytest.raises(RuntimeError):
        out.item()
    with pytest.raises(ValueError, match="cannot be multiplied"):
        lin(np.ones((2, 4)))


def test_dropout_train_and_eval():
    fd.manual_seed(0)
    d = nn.Dropout(0.25)
    x = fd.Tensor(np.ones((200, 50)), requires_grad=True)
    out = d(x)
    vals = np.unique(np.asarray(out))
    np.testing.assert_allclose(vals, [0.0, 1 / 0.75])
    assert abs((np.asarray(out) == 0).mean() - 0.25) < 0.02
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.asarray(out))
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError):
        nn.Dropout(1.5)
    assert np.all(np.asarray(F.dropout(x, 1.0)) == 0)


def test_loss_target_shape_mismatch_raises():
    out = nn.Linear(3, 1)(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"Target size \(\(4,\)\)"):
        nn.BCEWithLogitsLoss()(out, np.ones(4))
    with pytest.raises(ValueError, match="Target size"):
        nn.BCELoss()(F.sigmoid(out), np.ones(4))
    loss = nn.BCEWithLogitsLoss()(out.squeeze(1), np.ones(4))
    loss.backward()
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        nn.BCELoss()(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError):
        nn.BCEWithLogitsLoss(reduction="avg")


# ---------------------------------------------------------- against PyTorch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", DEPTHS)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_forward_loss_and_gradients_match_pytorch(torch, act, hidden, dtype):
    tdtype = getattr(torch, np.dtype(dtype).name)
    torch.manual_seed(0)
    t_act = getattr(torch.nn, ACTIVATIONS[act][1])
    t_model = make_mlp(
        torch.nn, 5, hidden, (lambda: t_act(0.1)) if act == "leaky_relu" else t_act, dtype=tdtype
    )
    model = make_mlp(nn, 5, hidden, ACTIVATIONS[act][0], dtype=dtype)
    model.load_state_dict(t_model.state_dict())  # torch tensors as they are
    X, y = data(m=13, n=5, dtype=dtype, seed=len(hidden))
    out = model(X)
    t_out = t_model(torch.from_numpy(X))
    assert_close(out, t_out.detach().numpy(), dtype, "forward")
    loss = nn.BCEWithLogitsLoss()(out, y)
    t_loss = torch.nn.BCEWithLogitsLoss()(t_out, torch.from_numpy(y))
    assert_close(loss.item(), t_loss.item(), dtype, "loss")
    loss.backward()
    t_loss.backward()
    for (name, p), tp in zip(model.named_parameters(), t_model.parameters()):
        assert p.grad.dtype == dtype
        assert_close(p.grad, tp.grad.numpy(), dtype, name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weight", [None, "scalar", "per_class"])
@pytest.mark.parametrize("ndim", [1, 2])
def test_bce_with_logits_matches_pytorch(torch, dtype, reduction, weighted, pos_weight, ndim):
    rng = np.random.default_rng(5)
    shape = (9, 3) if ndim == 2 else (9,)
    z = (rng.standard_normal(shape) * 4).astype(dtype)
    z.flat[0], z.flat[1] = 40.0, -40.0  # saturated logits stay finite
    y = rng.random(shape).astype(dtype)
    y.flat[2] = 1.0
    kw, tkw = {}, {}
    if weighted:
        w = rng.random(shape[-1:]).astype(dtype) + 0.5
        kw["weight"], tkw["weight"] = w, torch.from_numpy(w)
    if pos_weight is not None:
        pw = (np.array([2.5]) if pos_weight == "scalar" else rng.random(shape[-1:]) * 3).astype(
            dtype
        )
        kw["pos_weight"], tkw["pos_weight"] = pw, torch.from_numpy(pw)
    x = fd.Tensor(z.copy(), requires_grad=True)
    tx = torch.from_numpy(z.copy()).requires_grad_()
    loss = nn.BCEWithLogitsLoss(reduction=reduction, **kw)(x, y)
    t_loss = torch.nn.BCEWithLogitsLoss(reduction=reduction, **tkw)(tx, torch.from_numpy(y))
    assert_close(loss, t_loss.detach().numpy(), dtype, "loss")
    upstream = rng.standard_normal(shape).astype(dtype) if reduction == "none" else None
    loss.backward(upstream)
    t_loss.backward(None if upstream is None else torch.from_numpy(upstream))
    assert_close(x.grad, tx.grad.numpy(), dtype, "grad")
    f_loss = F.binary_cross_entropy_with_logits(z, y, reduction=reduction, **kw)
    assert_close(f_loss, t_loss.detach().numpy(), dtype, "functional")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_pytorch_including_clamp(torch, dtype, reduction, weighted):
    rng = np.random.default_rng(6)
    p = rng.random((8, 2)).astype(dtype)
    p[0, 0], p[1, 1], p[2, 0] = 0.0, 1.0, 1e-30  # log clamped at -100
    y = (rng.random((8, 2)) < 0.5).astype(dtype)
    y[0, 0], y[1, 1] = 1.0, 0.0
    w = (rng.random((8, 1)) + 0.5).astype(dtype) if weighted else None
    x = fd.Tensor(p.copy(), requires_grad=True)
    tx = torch.from_numpy(p.copy()).requires_grad_()
    loss = nn.BCELoss(weight=w, reduction=reduction)(x, y)
    t_loss = torch.nn.BCELoss(
        weight=None if w is None else torch.from_numpy(w), reduction=reduction
    )(tx, torch.from_numpy(y))
    assert_close(loss, t_loss.detach().numpy(), dtype, "loss")
    g = None if reduction != "none" else np.ones((8, 2), dtype)
    loss.backward(g)
    t_loss.backward(None if g is None else torch.from_numpy(g))
    assert_close(x.grad, tx.grad.numpy(), dtype, "grad")


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_bce_pipeline_and_functional_forms_match_pytorch(torch, dtype):
    torch.manual_seed(2)
    tdt = getattr(torch, np.dtype(dtype).name)
    t_lin = torch.nn.Linear(4, 3, dtype=tdt)
    lin = nn.Linear(4, 3, dtype=dtype)
    lin.load_state_dict(t_lin.state_dict())
    X, _ = data(m=6, n=4, dtype=dtype)
    y = (np.random.default_rng(0).random((6, 3)) < 0.5).astype(dtype)
    tX = torch.from_numpy(X)
    for f, tf in (
        (F.relu, torch.relu),
        (F.tanh, torch.tanh),
        (F.sigmoid, torch.sigmoid),
        (lambda t: F.leaky_relu(t, 0.2), lambda t: torch.nn.functional.leaky_relu(t, 0.2)),
    ):
        for p in lin.parameters():
            p.grad = None
        t_lin.zero_grad()
        out = F.binary_cross_entropy(F.sigmoid(f(F.linear(X, lin.weight, lin.bias))), y)
        t_out = torch.nn.functional.binary_cross_entropy(
            torch.sigmoid(tf(torch.nn.functional.linear(tX, t_lin.weight, t_lin.bias))),
            torch.from_numpy(y),
        )
        assert_close(out, t_out.detach().numpy(), dtype)
        out.backward()
        t_out.backward()
        assert_close(lin.weight.grad, t_lin.weight.grad.numpy(), dtype)
        assert_close(lin.bias.grad, t_lin.bias.grad.numpy(), dtype)


def test_no_grad_as_bare_decorator_and_model_copies():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())

    @fd.no_grad
    def predict(x):
        return model(x)

    assert predict(np.ones((1, 3))).grad_fn is None
    assert model(np.ones((1, 3))).grad_fn is not None
    clone = copy.deepcopy(model)
    assert clone[0].weight is clone[0]._parameters["weight"]
    assert clone[0].weight is not model[0].weight
    np.testing.assert_array_equal(clone[0].weight.data, model[0].weight.data)
    import pickle

    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        np.asarray(restored(np.ones((2, 3)))), np.asarray(model(np.ones((2, 3))))
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_element_wise_activations_match_pytorch(torch, act, dtype):
    rng = np.random.default_rng(7)
    z = rng.standard_normal((6, 5)).astype(dtype) * 3
    z[0, 0] = 0.0
    up = rng.standard_normal((6, 5)).astype(dtype)
    f = {
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.3),
        "tanh": F.tanh,
        "sigmoid": F.sigmoid,
    }[act]
    tf = {
        "relu": torch.relu,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.3),
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
    }[act]
    x = fd.Tensor(z.copy(), requires_grad=True)
    tx = torch.from_numpy(z.copy()).requires_grad_()
    out, t_out = f(x), tf(tx)
    assert out.grad_fn is not None and out.dtype == dtype
    assert_close(out, t_out.detach().numpy(), dtype)
    out.backward(up)
    t_out.backward(torch.from_numpy(up))
    assert_close(x.grad, tx.grad.numpy(), dtype)


def test_numpy_ufuncs_still_refuse_tensors_but_tensor_ops_keep_the_graph():
    t = nn.Linear(2, 2)(np.ones((3, 2), np.float32))
    with pytest.raises(TypeError):
        np.maximum(t, 0)
    for out in (
        t**2,
        t @ np.ones((2, 2), np.float32),
        np.ones((3, 2), np.float32) + t,
        abs(t),
        t.exp(),
        t.sigmoid(),
    ):
        assert out.grad_fn is not None
    assert (t > 0).dtype == np.bool_


def test_linear_output_is_eager_after_a_parameter_update():
    # regression: the lazy "pending" output raised after opt.step(), or held
    # values computed with the new weights after an edit
    lin = nn.Linear(2, 1)
    x = np.ones((3, 2), np.float32)
    z = lin(x)
    before = np.array(z.detach().numpy(), copy=True)
    opt = fd.optim.SGD(lin.parameters(), lr=0.1)
    lin.weight.grad = np.ones((1, 2), np.float32)
    opt.step()
    np.testing.assert_array_equal(np.asarray(z), before)
    with fd.no_grad():
        lin.weight.data[...] = 5.0
    np.testing.assert_array_equal(np.asarray(z), before)
    assert not np.array_equal(np.asarray(lin(x)), before)
