"""What a PyTorch script sees of shapes, types and buffers: torch.Size, Tensor.type() with the
legacy classes, buffers as tensors — against PyTorch."""

import copy
import pickle

import numpy as np
import pytest

import fastdense.torch as fd


def _pairs(torch):
    """(fastdense value, torch value) for each way of making or deriving a Size."""
    made = [
        lambda t: t.zeros(2, 3).shape,
        lambda t: t.zeros(2, 3).size(),
        lambda t: t.zeros(()).shape,
        lambda t: t.zeros(4, 0, 2).shape,
        lambda t: t.Size(),
        lambda t: t.Size([5]),
        lambda t: t.Size([True, np.int64(3), t.tensor(4)]),
        lambda t: t.Size((2, 3))[1:],
        lambda t: t.Size((2, 3))[::-1],
        lambda t: t.Size((2, 3)) + (4,),
        lambda t: (4,) + t.Size((2, 3)),
        lambda t: t.Size((2, 3)) + t.Size([1]),
        lambda t: t.Size((2, 3)) * 2,
        lambda t: 2 * t.Size((2, 3)),
        lambda t: t.broadcast_shapes((2, 1), (1, 3)),
        lambda t: t.ones(3, 1).expand(3, 4).shape,
    ]
    return [(f(fd), f(torch)) for f in made]


def test_size_matches_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in _pairs(torch):
        assert repr(ours) == repr(theirs)
        assert str(ours) == str(theirs)
        assert tuple(ours) == tuple(theirs)
        assert ours.numel() == theirs.numel()
        assert type(ours).__name__ == "Size"


@pytest.mark.parametrize("bad", [2.0, np.float64(2.0), "3", None])
def test_size_rejects_what_torch_rejects(bad):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as theirs:
        torch.Size([1, bad])
    with pytest.raises(TypeError) as ours:
        fd.Size([1, bad])
    assert str(ours.value) == str(theirs.value)


def test_size_is_a_tuple():
    s = fd.zeros(2, 3).shape
    assert isinstance(s, tuple) and s == (2, 3) and hash(s) == hash((2, 3))
    rows, cols = s
    assert (rows, cols) == (2, 3)
    assert np.zeros(s).shape == (2, 3)
    assert fd.zeros(s).shape == s
    assert fd.zeros(2, 3).size(-1) == 3 and type(fd.zeros(2, 3).size(0)) is int
    for copied in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s)):
        assert copied == s and type(copied) is fd.Size
    assert fd.Size([]).numel() == 1 and fd.Size([4, 0]).numel() == 0
    with pytest.raises(IndexError):
        fd.zeros(2, 3).size(2)


def test_type_takes_the_legacy_classes():
    torch = pytest.importorskip("torch")
    for make in (
        lambda t: t.zeros(2).type(t.LongTensor),
        lambda t: t.zeros(2, dtype=t.float64).type(t.FloatTensor),
        lambda t: t.zeros(2).type("torch.DoubleTensor"),
        lambda t: t.zeros(2).type(t.float64),
    ):
        ours, theirs = make(fd), make(torch)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert ours.type() == theirs.type()
    x = fd.zeros(2)
    assert x.type(fd.FloatTensor) is x


def test_buffers_are_tensors_as_in_torch():
    torch = pytest.importorskip("torch")
    from fastdense import nn

    ours, theirs = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    ours(fd.from_numpy(x))
    theirs(torch.from_numpy(x))
    for (n1, b1), (n2, b2) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert n1 == n2 and isinstance(b1, fd.Tensor)
        assert repr(b1) == repr(b2.detach()) or np.allclose(b1.numpy(), b2.numpy(), rtol=1e-6)
        assert str(b1.dtype) == str(b2.dtype).replace("torch.", "")
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 1
    assert ours.running_mean.numpy().shape == (3,)
    # a tensor given as a buffer is kept itself, as in PyTorch
    scale = fd.ones(3)
    m = nn.Module()
    m.register_buffer("scale", scale)
    assert m.scale is scale and dict(m.named_buffers())["scale"] is scale
    m.scale = fd.zeros(3)
    assert isinstance(m.scale, fd.Tensor) and float(m.scale.sum()) == 0
    # Module.to(dtype) converts floating buffers (new tensors), not integer ones
    ours.to(fd.float64)
    assert ours.running_var.dtype == fd.float64 and ours.num_batches_tracked.dtype == fd.int64


def test_pickles_with_array_buffers_load_as_tensors():
    from fastdense import nn

    bn = nn.BatchNorm1d(2)
    state = bn.__getstate__()
    # what a pickle made before buffers were tensors holds: arrays
    state["_buffers"] = {k: v._data.copy() for k, v in state["_buffers"].items()}
    state.update(state["_buffers"])
    old = nn.BatchNorm1d.__new__(nn.BatchNorm1d)
    old.__setstate__(state)
    assert all(isinstance(b, fd.Tensor) for b in old.buffers())
    assert old.running_mean is old._buffers["running_mean"]
    old(fd.ones(4, 2))
    assert old.num_batches_tracked.item() == 1


def _print_corpus():
    rng = np.random.default_rng(0)
    out = []
    for dt in (np.float32, np.float64, np.float16):
        out += [
            np.array([[0.1234, -1.5, 2.25], [3.0, 0.5, -0.75]], dt),
            np.array([1.0, 10.0, 100.0], dt),
            np.array(2.5, dt),
            np.array(3.0, dt),
            np.array([1e-5, 1.0], dt),
            np.array([1e3, 1.0, 2e3], dt),
            np.array([np.nan, 1.0, -np.inf, np.inf], dt),
            np.array([np.nan, np.inf, -0.0], dt),
            rng.standard_normal((5, 7)).astype(dt),
            rng.standard_normal((3, 4, 5)).astype(dt),
            (rng.standard_normal((2, 30)) * 1000).astype(dt),
            rng.standard_normal(1500).astype(dt),
            rng.standard_normal((12, 10, 11)).astype(dt),
            np.zeros((0, 3), dt),
            np.zeros(0, dt),
            rng.integers(-5, 5, (4, 4)).astype(dt),
        ]
    for dt in (np.int64, np.int32, np.uint8):
        out += [np.arange(12, dtype=dt).reshape(3, 4), np.array(7, dt), np.arange(1200) % 100]
    out += [np.array([True, False]), rng.random((3, 3)) > 0.5, np.arange(1001, dtype=np.float32)]
    return out


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"precision": 2},
        {"threshold": 5},
        {"profile": "short"},
        {"profile": "full"},
        {"linewidth": 30},
        {"sci_mode": True},
        {"sci_mode": False},
        {"edgeitems": 1, "threshold": 10},
        {"edgeitems": 0, "threshold": 10},
    ],
    ids=str,
)
def test_tensors_print_as_in_torch(options):
    torch = pytest.importorskip("torch")
    try:
        torch.set_printoptions(**options)
        fd.set_printoptions(**options)
        for a in _print_corpus():
            assert repr(fd.tensor(a.copy())) == repr(torch.from_numpy(a.copy())), (a.dtype, a.shape)
    finally:
        torch.set_printoptions(profile="default")
        fd.set_printoptions(profile="default")


def test_print_suffixes_and_default_dtype_as_in_torch():
    torch = pytest.importorskip("torch")
    from fastdense import nn

    a = np.random.default_rng(1).standard_normal((4, 12))
    for dt in (np.float32, np.float64):
        ours = fd.tensor(a.astype(dt), requires_grad=True)
        theirs = torch.tensor(a.astype(dt), requires_grad=True)
        assert repr(ours) == repr(theirs)
        assert repr(ours * 2) == repr(theirs * 2)
        assert str(ours[0] + 1) == str(theirs[0] + 1)
    assert repr(nn.Parameter(fd.ones(2))) == repr(torch.nn.Parameter(torch.ones(2)))
    try:
        torch.set_default_dtype(torch.float64)
        fd.set_default_dtype(fd.float64)
        for a in _print_corpus()[:20]:
            assert repr(fd.tensor(a.copy())) == repr(torch.from_numpy(a.copy()))
    finally:
        torch.set_default_dtype(torch.float32)
        fd.set_default_dtype(fd.float32)


_NODES = {
    "sum()": lambda t, m, F: t.sum(),
    "sum(1)": lambda t, m, F: t.sum(1),
    "mean(1, keepdim)": lambda t, m, F: t.mean(1, keepdim=True),
    "prod(1)": lambda t, m, F: t.prod(1),
    "max()": lambda t, m, F: t.max(),
    "max(1)": lambda t, m, F: t.max(1).values,
    "min(0)": lambda t, m, F: t.min(0).values,
    "norm": lambda t, m, F: t.norm(dim=1),
    "t": lambda t, m, F: t.t(),
    "stack": lambda t, m, F: m.stack([t, t]),
    "mv": lambda t, m, F: t.mv(t[0]),
    "dot": lambda t, m, F: t[0].dot(t[1]),
    "bmm": lambda t, m, F: t.unsqueeze(0).bmm(t.T.unsqueeze(0)),
    "addmm": lambda t, m, F: m.addmm(t[:, :3], t, t.T[:, :3]),
    "mse_loss": lambda t, m, F: F.mse_loss(t, t.detach() * 0),
    "mse_loss none": lambda t, m, F: F.mse_loss(t, t.detach() * 0, reduction="none"),
    "huber_loss": lambda t, m, F: F.huber_loss(t, t.detach() * 0),
    "smooth_l1_loss": lambda t, m, F: F.smooth_l1_loss(t, t.detach() * 0),
    "l1_loss": lambda t, m, F: F.l1_loss(t, t.detach() * 0),
    "cross_entropy": lambda t, m, F: F.cross_entropy(t, m.tensor([0, 1, 2])),
    "nll_loss": lambda t, m, F: F.nll_loss(t, m.tensor([0, 1, 2])),
    "bce_with_logits": lambda t, m, F: F.binary_cross_entropy_with_logits(t, t.detach() * 0),
    "dropout": lambda t, m, F: F.dropout(t, 0.5),
}


@pytest.mark.parametrize("op", sorted(_NODES))
def test_grad_fn_names_as_in_torch(op):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    import fastdense.nn.functional as FF

    a = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    ours = _NODES[op](fd.tensor(a, requires_grad=True), fd, FF)
    theirs = _NODES[op](torch.tensor(a, requires_grad=True), torch, TF)
    assert repr(ours).split("grad_fn=")[-1] == repr(theirs).split("grad_fn=")[-1]


_PAIRS = {
    "max": lambda m, x: x.max(1),
    "min keepdim": lambda m, x: x.min(0, keepdim=True),
    "sort": lambda m, x: m.sort(x, descending=True),
    "topk": lambda m, x: x.topk(2),
    "median": lambda m, x: x.median(1),
    "nanmedian": lambda m, x: x.nanmedian(1),
    "mode": lambda m, x: x.mode(1),
    "kthvalue": lambda m, x: x.kthvalue(1, 1),
    "aminmax": lambda m, x: m.aminmax(x),
    "cummax": lambda m, x: x.cummax(0),
    "cummin": lambda m, x: x.cummin(1),
    "frexp": lambda m, x: m.frexp(x),
}


@pytest.mark.parametrize("op", sorted(_PAIRS))
def test_return_types_as_in_torch(op):
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 3.0, 2.0], [2.0, 0.0, 5.0]], np.float32)
    ours, theirs = _PAIRS[op](fd, fd.tensor(a)), _PAIRS[op](torch, torch.tensor(a))
    assert repr(ours) == repr(theirs)
    for name in ("values", "indices", "min", "max", "mantissa", "exponent"):
        assert hasattr(ours, name) == hasattr(theirs, name), name
    first, second = ours
    assert repr(first) == repr(theirs[0]) and repr(second) == repr(theirs[1])
    again = pickle.loads(pickle.dumps(ours))
    assert repr(again) == repr(ours) and repr(copy.deepcopy(ours)) == repr(ours)
