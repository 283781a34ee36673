"""fastdense.nn against PyTorch's own module database (ModuleInfo), module by module.

For every module of ``torch.testing._internal.common_modules.module_db`` that
fits dense networks on tabular data, torch's own ``module_inputs_func`` gives
the samples (constructor arguments and forward inputs). Each sample runs in
float32 and float64, in train and eval mode: the torch module is built, its
parameters and buffers are loaded into the fastdense module of the same name
(which checks the ``state_dict`` keys), both run, and the outputs (shape,
dtype, values), the gradients of the inputs and of the parameters (backward
of one random cotangent) and the buffers after the forward (BatchNorm's
running statistics) must match. Modules that PyTorch's database lacks
(RReLU, Hardsigmoid, Identity, Flatten, Unflatten, the dropout family,
EmbeddingBag, TripletMarginLoss) run the same comparison on samples written
here; the random ones compare exactly in eval mode and by their structure
and statistics in train mode. ``IN_SCOPE`` and ``OUT_OF_SCOPE`` together
cover the whole module_db (a test checks it), and docs/pytorch_api.md
lists the excluded families with their reasons.
"""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # (torch's testing internals import it)

from torch.testing._internal.common_modules import module_db  # noqa: E402

from fastdense import manual_seed, nn  # noqa: E402
from fastdense.autograd import Tensor, tensor  # noqa: E402

IN_SCOPE = """BatchNorm1d CELU CosineEmbeddingLoss ELU L1Loss SmoothL1Loss Linear Bilinear
KLDivLoss MSELoss MarginRankingLoss MultiLabelMarginLoss MultiMarginLoss SoftMarginLoss
MultiLabelSoftMarginLoss NLLLoss GaussianNLLLoss PoissonNLLLoss HingeEmbeddingLoss HuberLoss
BCELoss BCEWithLogitsLoss CrossEntropyLoss GELU GLU GroupNorm Hardshrink Hardswish Hardtanh
LayerNorm RMSNorm Embedding ReLU LeakyReLU ReLU6 PReLU Sigmoid LogSigmoid SiLU Softmax
Softmax2d LogSoftmax Softmin Softplus Softshrink Softsign Tanh Tanhshrink Threshold Mish
SELU""".split()

# family -> (reason, names); the same families and reasons as docs/pytorch_api.md
OUT_OF_SCOPE = {
    "convolution": (
        "image/sequence layers, not dense networks on tabular data",
        "Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d "
        "LazyConv1d LazyConv2d LazyConv3d LazyConvTranspose1d LazyConvTranspose2d "
        "LazyConvTranspose3d",
    ),
    "pooling": (
        "image/sequence layers",
        "AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d "
        "AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d AvgPool1d AvgPool2d "
        "AvgPool3d FractionalMaxPool2d FractionalMaxPool3d LPPool1d LPPool2d LPPool3d "
        "MaxPool1d MaxPool2d MaxPool3d",
    ),
    "padding": (
        "image/sequence layers",
        "ReflectionPad1d ReflectionPad2d ReflectionPad3d "
        "ReplicationPad1d ReplicationPad2d ReplicationPad3d ZeroPad1d ZeroPad2d "
        "ZeroPad3d CircularPad1d CircularPad2d CircularPad3d ConstantPad1d "
        "ConstantPad2d ConstantPad3d",
    ),
    "image normalization": (
        "normalise image/sequence channels (BatchNorm1d, LayerNorm, "
        "GroupNorm and RMSNorm cover tabular data)",
        "BatchNorm2d BatchNorm3d InstanceNorm1d InstanceNorm2d InstanceNorm3d LocalResponseNorm",
    ),
    "recurrent and attention": (
        "sequence models, not dense networks",
        "RNN GRU LSTM RNNCell GRUCell LSTMCell TransformerEncoder "
        "TransformerEncoderLayer TransformerDecoderLayer Transformer "
        "MultiheadAttention",
    ),
    "sequence losses": (
        "losses over sequences or fused vocabulary projections",
        "CTCLoss LinearCrossEntropyLoss",
    ),
}

F32, F64 = (np.float32, torch.float32), (np.float64, torch.float64)
DTYPES = {"float32": F32, "float64": F64}
TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-7, atol=1e-9)}
INFOS = {info.module_cls.__name__: info for info in module_db}


def _to_fd(value, np_dtype, memo):
    """A sample's argument as fastdense takes it (tensors keep requires_grad).

    One torch tensor passed twice (KLDivLoss's scalar samples pass the same
    tensor as input and target) is one fastdense tensor twice (``memo``), so
    its gradient sums both uses, as torch's does.
    """
    if isinstance(value, torch.Tensor):
        if id(value) not in memo:
            arr = value.detach().numpy().copy()
            memo[id(value)] = tensor(arr, requires_grad=value.requires_grad)
        return memo[id(value)]
    if isinstance(value, torch.dtype):
        return np_dtype
    if isinstance(value, (list, tuple)):
        return type(value)(_to_fd(v, np_dtype, memo) for v in value)
    if isinstance(value, dict):
        return {k: _to_fd(v, np_dtype, memo) for k, v in value.items()}
    return value


def _ctor_arg(value):
    """A constructor argument: tensors (loss weights) become NumPy arrays."""
    if isinstance(value, torch.Tensor):
        return value.detach().numpy().copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_ctor_arg(v) for v in value)
    return value


def _flat_tensors(value, out):
    if isinstance(value, (torch.Tensor, Tensor)):
        if not any(v is value for v in out):
            out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _flat_tensors(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _flat_tensors(v, out)
    return out


def _close(got, want, tol, what):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    got = got.numpy() if isinstance(got, Tensor) else np.asarray(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    np.testing.assert_allclose(got, want, err_msg=what, equal_nan=True, **tol)


def compare(name, ctor_args, ctor_kwargs, fwd_args, fwd_kwargs, dtype, training, seed=0):
    """Run one sample through torch and fastdense and compare everything observable."""
    np_dtype, t_dtype = DTYPES[dtype]
    tol = TOL[dtype]
    tm = getattr(torch.nn, name)(*ctor_args, **ctor_kwargs).to(t_dtype).train(training)
    fm = getattr(nn, name)(
        *_ctor_arg(ctor_args), **{k: _ctor_arg(v) for k, v in ctor_kwargs.items()}
    )
    fm = fm.to(np_dtype).train(training)
    state = {k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}
    fm.load_state_dict(state)  # strict: the names of parameters and buffers are PyTorch's
    memo = {}
    f_args, f_kwargs = _to_fd(fwd_args, np_dtype, memo), _to_fd(fwd_kwargs, np_dtype, memo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = tm(*fwd_args, **fwd_kwargs)
        fout = fm(*f_args, **f_kwargs)
    assert isinstance(fout, Tensor), f"{name} returned {type(fout).__name__}"
    assert fout.dtype == np.dtype(str(tout.dtype).replace("torch.", "")), (
        f"{name}: dtype {fout.dtype} != torch's {tout.dtype}"
    )
    _close(fout, tout, tol, f"{name} output")
    for (key, tb), (fkey, fb) in zip(tm.named_buffers(), fm.named_buffers()):
        assert key == fkey
        _close(fb, tb, tol, f"{name} buffer {key} after forward")
    if not tout.requires_grad:
        return
    t_inputs = [t for t in _flat_tensors((fwd_args, fwd_kwargs), []) if t.requires_grad]
    f_inputs = [t for t in _flat_tensors((f_args, f_kwargs), []) if t.requires_grad]
    t_params = [p for _, p in tm.named_parameters()]
    f_params = [p for _, p in fm.named_parameters()]
    cot = np.random.default_rng(seed).standard_normal(tout.shape).astype(np_dtype)
    grads = torch.autograd.grad(
        tout, t_inputs + t_params, torch.from_numpy(cot.copy()), allow_unused=True
    )
    fout.backward(cot)
    for i, (ft, tg) in enumerate(zip(f_inputs + f_params, grads)):
        fg = ft.grad
        what = f"{name} gradient of {'input' if i < len(f_inputs) else 'parameter'} {i}"
        if tg is None:
            assert fg is None or not np.any(fg.numpy()), what
        else:
            assert fg is not None, f"{what}: None, torch has one"
            _close(fg, tg, tol, what)


def test_scope_covers_the_whole_module_db():
    out = {n for _, (_, names) in OUT_OF_SCOPE.items() for n in names.split()}
    names = set(INFOS)
    assert set(IN_SCOPE) <= names
    assert not set(IN_SCOPE) & out
    assert names == set(IN_SCOPE) | out, sorted(names - set(IN_SCOPE) - out)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", IN_SCOPE)
def test_module_db_samples(name, dtype, training):
    info = INFOS[name]
    samples = info.module_inputs_func(
        info, device="cpu", dtype=DTYPES[dtype][1], requires_grad=True, training=training
    )
    assert samples
    for k, s in enumerate(samples):
        torch.manual_seed(k)
        fwd = s.forward_input
        compare(
            name,
            s.constructor_input.args,
            s.constructor_input.kwargs,
            fwd.args,
            fwd.kwargs,
            dtype,
            training,
            seed=k,
        )


def _r(*shape, grad=True, seed=0, positive=False):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(shape, generator=g, dtype=torch.float64)
    return (t.abs() + 0.1 if positive else t).requires_grad_(grad)


# modules without a ModuleInfo entry: name -> list of (ctor args, ctor kwargs, forward args)
EXTRA = {
    "Hardsigmoid": [((), {}, (_r(3, 4) * 4,)), ((), {}, (_r(),))],
    "Identity": [((3,), {"unused": 1}, (_r(2, 3),))],
    "Flatten": [((), {}, (_r(2, 3, 4),)), ((0, 1), {}, (_r(2, 3, 4),))],
    "Unflatten": [((1, (2, 3)), {}, (_r(4, 6),)), ((-1, (3, -1)), {}, (_r(2, 6),))],
    "EmbeddingBag": [
        ((5, 3), {"mode": m}, (torch.tensor([[0, 2, 4], [1, 1, 3]]),))
        for m in ("sum", "mean", "max")
    ]
    + [((5, 3), {"mode": "sum"}, (torch.tensor([0, 2, 4, 1, 3]), torch.tensor([0, 2, 2]), _r(5)))]
    + [
        (
            (5, 3),
            {"mode": "mean", "padding_idx": 1, "include_last_offset": True},
            (torch.tensor([0, 1, 4, 1, 3]), torch.tensor([0, 3, 5])),
        )
    ],
    "TripletMarginLoss": [
        ((), kw, (_r(6, 4, seed=1), _r(6, 4, seed=2), _r(6, 4, seed=3)))
        for kw in (
            {},
            {"margin": 0.5, "p": 1.0},
            {"swap": True},
            {"reduction": "none"},
            {"reduction": "sum", "p": 3.0},
        )
    ],
    "RReLU": [((), {}, (_r(4, 5),)), ((0.1, 0.3), {}, (_r(3),))],
    "Dropout": [((0.3,), {}, (_r(4, 5),))],
    "Dropout1d": [((0.3,), {}, (_r(4, 5, 3),)), ((0.3,), {}, (_r(5, 3),))],
    "Dropout2d": [((0.3,), {}, (_r(2, 3, 4, 2),))],
    "Dropout3d": [((0.3,), {}, (_r(2, 3, 2, 2, 2),)), ((0.3,), {}, (_r(3, 2, 2, 2),))],
    "AlphaDropout": [((0.3,), {}, (_r(4, 5),))],
    "FeatureAlphaDropout": [((0.3,), {}, (_r(4, 5, 3),))],
    "Linear": [((4, 3), {}, (_r(2, 5, 4),)), ((4, 3), {"bias": False}, (_r(2, 2, 3, 4),))],
    "CrossEntropyLoss": [
        (
            (),
            {"weight": torch.rand(3, dtype=torch.float64), "label_smoothing": 0.2},
            (_r(4, 3), torch.softmax(_r(4, 3, seed=5), 1).detach().requires_grad_()),
        )
    ],
    "BatchNorm1d": [((3,), {"bias": False, "momentum": None}, (_r(5, 3),))],
}
RANDOM = {
    "RReLU",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
}


# (the random modules in training: test_random_modules_in_training)
@pytest.mark.parametrize(
    "name, training", [(n, t) for n in EXTRA for t in (True, False) if not (t and n in RANDOM)]
)
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_extra_samples(name, dtype, training):
    t_dtype = DTYPES[dtype][1]
    for k, (args, kwargs, fwd) in enumerate(EXTRA[name]):
        fwd = tuple(
            x.detach().to(t_dtype).requires_grad_(x.requires_grad) if x.is_floating_point() else x
            for x in fwd
        )
        compare(name, args, kwargs, fwd, {}, dtype, training, seed=k)


@pytest.mark.filterwarnings("ignore:dropout[23]d. Received")
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_random_modules_in_training(dtype):
    np_dtype = DTYPES[dtype][0]
    manual_seed(0)
    x = np.random.default_rng(0).standard_normal((400, 50)).astype(np_dtype)
    # RReLU: each non-positive element scaled by its own slope in [lower, upper); gradient = slope
    xt = tensor(x, requires_grad=True)
    out = nn.RReLU(0.1, 0.3)(xt)
    out.sum().backward()
    neg = x <= 0
    slope = out.numpy()[neg] / x[neg]
    assert out.dtype == np_dtype and np.array_equal(out.numpy()[~neg], x[~neg])
    assert slope.min() >= 0.1 - 1e-6 and slope.max() < 0.3 + 1e-6
    assert abs(slope.mean() - 0.2) < 0.01 and slope.std() > 0.05
    np.testing.assert_allclose(xt.grad.numpy()[neg], slope, rtol=1e-6)
    # Dropout: zeros or x / (1 - p); about p of them zero; gradient the same mask
    for p in (0.2, 0.5):
        xt = tensor(x, requires_grad=True)
        out = nn.Dropout(p)(xt).numpy()
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-6)
        assert abs((~kept).mean() - p) < 0.02
    # Dropout1d: whole channels dropped
    x3 = x.reshape(40, 10, 50)
    out = nn.Dropout1d(0.5)(x3).numpy()
    zero = (out == 0).all(axis=2)
    assert np.array_equal(out[~zero], x3[~zero] * 2) and 0.4 < zero.mean() < 0.6
    # AlphaDropout: dropped elements all take one value; SELU-normalised input keeps mean and var
    z = np.random.default_rng(1).standard_normal((2000, 50)).astype(np_dtype)
    out = nn.AlphaDropout(0.2)(z).numpy()
    vals, counts = np.unique(out, return_counts=True)
    assert counts.max() / out.size == pytest.approx(0.2, abs=0.01)
    assert abs(out.mean()) < 0.02 and abs(out.var() - 1) < 0.03
    # FeatureAlphaDropout: the same per channel
    out = nn.FeatureAlphaDropout(0.2)(z.reshape(200, 10, 50)).numpy()
    same = (out == out[..., :1]).all(axis=2)
    assert 0.15 < same.mean() < 0.25
    # Dropout2d / Dropout3d: whole channels (dim 1 of a batched input, dim 0 of an unbatched
    # 4-D input to Dropout3d) dropped, the rest scaled; the gradient is the same mask
    x4 = x.reshape(40, 10, 5, 10)
    xt = tensor(x4, requires_grad=True)
    out = nn.Dropout2d(0.5)(xt)
    out.sum().backward()
    out = out.numpy()
    zero = (out == 0).all(axis=(2, 3))
    assert np.array_equal(out[~zero], x4[~zero] * 2) and 0.4 < zero.mean() < 0.6
    np.testing.assert_array_equal(
        xt.grad.numpy(), np.broadcast_to(np.where(zero[..., None, None], 0, 2), x4.shape)
    )
    out = nn.Dropout3d(0.5)(x.reshape(40, 10, 5, 2, 5)).numpy()
    zero = (out == 0).all(axis=(2, 3, 4))
    assert 0.4 < zero.mean() < 0.6
    out = nn.Dropout3d(0.5)(x.reshape(400, 5, 2, 5)).numpy()
    zero = (out == 0).all(axis=(1, 2, 3))
    assert 0.4 < zero.mean() < 0.6
    # eval: identity
    for m in (
        nn.Dropout(0.5),
        nn.Dropout1d(0.5),
        nn.Dropout2d(0.5),
        nn.Dropout3d(0.5),
        nn.AlphaDropout(0.5),
        nn.FeatureAlphaDropout(0.5),
    ):
        assert np.array_equal(m.eval()(x3).numpy(), x3)


@pytest.mark.parametrize("name", ["dropout1d", "dropout2d", "dropout3d"])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("training", [True, False])
def test_channel_dropout_input_rules_and_warnings_match_torch(name, ndim, training):
    """Which ranks raise, which warn (the same messages), which dims share one draw."""
    import fastdense.nn.functional as FF

    shape = (60, 7, 2, 3, 2, 2)[:ndim]  # (large enough that no mask is constant by chance)
    x = np.random.default_rng(0).uniform(1, 2, size=shape)
    res = {}
    for lib, fn, arg in (
        ("torch", getattr(torch.nn.functional, name), torch.tensor(x)),
        ("fd", getattr(FF, name), tensor(x)),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = fn(arg, 0.5, training)
                out = out.detach().numpy() if lib == "torch" else out.numpy()
            except Exception as exc:  # noqa: BLE001 - compared between the libraries
                out = (type(exc).__name__, str(exc))
        res[lib] = (out, [str(w.message) for w in caught])
    (t_out, t_warn), (f_out, f_warn) = res["torch"], res["fd"]
    assert f_warn == t_warn
    if isinstance(t_out, tuple):
        assert f_out == t_out
        return
    assert f_out.shape == t_out.shape
    if not training:
        np.testing.assert_array_equal(f_out, x)
        return
    # the dims over which torch's mask is constant (one draw shared) are fastdense's
    for out in (t_out, f_out):
        assert set(np.unique(np.round(out / x, 12))) <= {0.0, 2.0}
    for axis in range(ndim):
        t_const = np.all(np.ptp(t_out / x, axis=axis) == 0)
        assert np.all(np.ptp(f_out / x, axis=axis) == 0) == t_const, axis


def test_sequential_fusion_and_n_d_linear_match_torch():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Linear(4, 6),
        torch.nn.ReLU(),
        torch.nn.Linear(6, 3),
        torch.nn.Tanh(),
        torch.nn.Linear(3, 2),
        torch.nn.GELU(),
    ).double()
    fm = nn.Sequential(
        nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.Tanh(), nn.Linear(3, 2), nn.GELU()
    ).double()
    fm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = _r(2, 3, 4)
    compare_out = fm(tensor(x.detach().numpy(), requires_grad=True))
    _close(compare_out, tm(x), TOL["float64"], "Sequential on (2, 3, 4)")


def test_no_silent_difference_for_what_fastdense_lacks():
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(3, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.functional.embedding(np.array([0]), np.ones((3, 2)), sparse=True)
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        nn.functional.embedding_bag(
            np.array([[0, 1]]), np.ones((3, 2)), mode="mean", per_sample_weights=np.ones((1, 2))
        )
