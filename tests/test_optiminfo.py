"""fastdense.optim against PyTorch, driven by PyTorch's own optimizer database (OptimizerInfo).

For every optimizer of ``torch.testing._internal.common_optimizers.optim_db`` but
SparseAdam (sparse gradients are out of scope) and every configuration its
``optim_inputs_func`` yields on the CPU, the same small problem is optimized in torch
and in fastdense, in float32 and float64, and the parameters are compared after every
step. The gradients are computed by one NumPy function from each library's own
current parameters, so the test measures the update rules, not the autograd engines.
Half-way, the fastdense optimizer's state_dict is loaded into a fresh optimizer over
copies of the parameters (and torch's state_dict into another), and both continue
on PyTorch's trajectory. The database's construction-error inputs must raise the
same error type with a matching message.
"""

import pickle
import re

import numpy as np
import pytest

from fastdense import nn, optim
from fastdense.autograd import tensor

torch = pytest.importorskip("torch")
common_optimizers = pytest.importorskip("torch.testing._internal.common_optimizers")

OUT_OF_SCOPE = {"SparseAdam": "sparse gradients (torch.sparse) are out of fastdense's scope"}
# configurations run by neither library here, with the reason (none today: the CPU
# configurations of optim_db set none of these switches)
SKIP_KWARGS = {
    "capturable": "CUDA-graph state on the device; refused on the CPU by both libraries",
    "fused": "an implementation switch: the same math as the default on the CPU",
    "foreach": "an implementation switch: the same math as the default on the CPU",
    "differentiable": "autograd through the update itself; fastdense refuses it by name",
}
STEPS = 6
LBFGS_STEPS = 3
TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-9, atol=1e-11)}
# Muon orthogonalizes in bfloat16: one rounding apart is 2^-8 of an update of size ~lr
MUON_TOLERANCE = dict(rtol=0, atol=1e-4)
# L-BFGS runs up to 20 inner iterations per step; its curvature scalars (y's, H_diag) carry
# rounding noise that the quasi-Newton steps amplify, and its stop tests (a loss change
# below 1e-9) fall on that noise. So L-BFGS gets a ridge term, which keeps the problem
# convex enough that float64 rounding is not amplified (float64 is compared tightly), and
# in float32 fastdense must be as close to PyTorch's float32 run as that run is to
# PyTorch's float64 run (three times that distance, plus 1e-6).
LBFGS_RIDGE = 0.1

_X = np.random.default_rng(0).standard_normal((8, 3))
_Y = np.random.default_rng(1).standard_normal((8, 2))


def _start(name):
    """Initial values: a tanh network's W1 (4, 3), b1 (4,), W2 (2, 4); Muon only takes matrices."""
    rng = np.random.default_rng(2)
    values = [
        0.5 * rng.standard_normal((4, 3)),
        0.1 * rng.standard_normal(4),
        0.5 * rng.standard_normal((2, 4)),
    ]
    return [values[0], values[2]] if name == "Muon" else values


def _loss_and_grads(values, ridge=0.0):
    """0.5 mean((tanh(X W1^T + b1) W2^T - Y)^2) + 0.5 ridge |w|^2 and its gradients (float64)."""
    W1, b1, W2 = values if len(values) == 3 else (values[0], np.zeros(4), values[1])
    h = np.tanh(_X @ W1.T + b1)
    r = h @ W2.T - _Y
    d_out = r / r.size
    dz = (d_out @ W2) * (1 - h * h)
    grads = [dz.T @ _X, dz.sum(0), d_out.T @ h]
    if len(values) == 2:
        grads = [grads[0], grads[2]]
    penalty = 0.5 * ridge * sum(float((v * v).sum()) for v in values)
    return 0.5 * float(np.mean(r * r)) + penalty, [g + ridge * v for g, v in zip(grads, values)]


def _cases():
    for info in common_optimizers.optim_db:
        name = info.optim_cls.__name__
        if name in OUT_OF_SCOPE:
            continue
        for i, oi in enumerate(info.optim_inputs_func(device="cpu", dtype=torch.float32)):
            if any(oi.kwargs.get(k) for k in SKIP_KWARGS):
                continue
            yield pytest.param(name, oi.kwargs, id=f"{name}-{i}-{oi.desc.replace(' ', '_')}")


def _fd_kwargs(kwargs):
    """torch's kwargs with tensors (a tensor lr) as fastdense tensors."""
    return {
        k: (tensor(float(v.item())) if isinstance(v, torch.Tensor) else v)
        for k, v in kwargs.items()
    }


class _Run:
    """One library's parameters and optimizer, stepped on the shared problem."""

    def __init__(self, lib, name, kwargs, dtype, values=None):
        self.lib = lib
        values = _start(name) if values is None else values
        if lib == "torch":
            self.params = [
                torch.nn.Parameter(torch.tensor(v, dtype=getattr(torch, dtype.__name__)))
                for v in values
            ]
            self.opt = getattr(torch.optim, name)(self.params, **kwargs)
        else:
            self.params = [nn.Parameter(tensor(np.asarray(v, dtype=dtype))) for v in values]
            self.opt = getattr(optim, name)(self.params, **_fd_kwargs(kwargs))

    def values(self):
        if self.lib == "torch":
            return [p.detach().numpy().copy() for p in self.params]
        return [np.array(p._data) for p in self.params]

    def _set_grads(self):
        ridge = LBFGS_RIDGE if isinstance(self.opt, (torch.optim.LBFGS, optim.LBFGS)) else 0.0
        loss, grads = _loss_and_grads([v.astype(np.float64) for v in self.values()], ridge)
        for p, g in zip(self.params, grads):
            g = g.astype(self.values()[0].dtype)
            p.grad = torch.from_numpy(g) if self.lib == "torch" else tensor(g)
        return loss

    def step(self):
        if isinstance(self.opt, (torch.optim.LBFGS, optim.LBFGS)):
            self.opt.step(self._set_grads)
        else:
            self._set_grads()
            self.opt.step()


def _compare(name, a, b, dtype, where, exact=None):
    tol = TOLERANCE[dtype]
    if name == "Muon":
        tol = MUON_TOLERANCE
    elif exact is not None:  # L-BFGS in float32: PyTorch's own float32 error sets the bar
        tol = dict(
            rtol=0, atol=3 * max(float(np.abs(x - e).max()) for x, e in zip(a, exact)) + 1e-6
        )
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.dtype == y.dtype == dtype
        np.testing.assert_allclose(x, y, err_msg=f"{where}, parameter {i}", **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name, kwargs", list(_cases()))
def test_optimizer_tracks_pytorch_every_step(name, kwargs, dtype):
    ref, run = _Run("torch", name, kwargs, dtype), _Run("fastdense", name, kwargs, dtype)
    steps = LBFGS_STEPS if name == "LBFGS" else STEPS
    exact = None
    if name == "LBFGS" and dtype == np.float32:
        exact = _Run("torch", name, kwargs, np.float64)
    half = steps // 2

    def bar():
        return None if exact is None else [v.astype(np.float32) for v in exact.values()]

    for t in range(half):
        for r in (ref, run, exact):
            if r is not None:
                r.step()
        _compare(name, ref.values(), run.values(), dtype, f"step {t + 1}", bar())
    # fresh optimizers over copies of the parameters, loaded from fastdense's and torch's
    # state_dicts (the first through a pickle, as a checkpoint would store it; the second
    # with torch's parameters, as a torch checkpoint would hold them)
    resumed = _Run("fastdense", name, kwargs, dtype, values=run.values())
    resumed.opt.load_state_dict(pickle.loads(pickle.dumps(run.opt.state_dict())))
    from_torch = _Run("fastdense", name, kwargs, dtype, values=ref.values())  # a torch checkpoint
    from_torch.opt.load_state_dict(ref.opt.state_dict())
    for t in range(half, steps):
        for r in (ref, run, resumed, from_torch, exact):
            if r is not None:
                r.step()
        expected = ref.values()
        _compare(name, expected, run.values(), dtype, f"step {t + 1}", bar())
        _compare(name, expected, resumed.values(), dtype, f"step {t + 1} after a state_dict", bar())
        _compare(
            name,
            expected,
            from_torch.values(),
            dtype,
            f"step {t + 1} after torch's state_dict",
            bar(),
        )
    np.testing.assert_array_equal(
        np.concatenate([v.ravel() for v in run.values()]),
        np.concatenate([v.ravel() for v in resumed.values()]),
    )


def _fd_value(v, seen=None):
    """A torch object of an error input, as fastdense sees it (None: not representable).

    The same torch tensor twice becomes the same fastdense tensor twice.
    """
    seen = {} if seen is None else seen
    if isinstance(v, torch.Tensor):
        if v.is_complex() or v.is_sparse:
            return None
        if id(v) not in seen:
            data = tensor(v.detach().numpy().copy())
            seen[id(v)] = nn.Parameter(data) if isinstance(v, torch.nn.Parameter) else data
        return seen[id(v)]
    if isinstance(v, dict):
        out = {k: _fd_value(x, seen) for k, x in v.items()}
        return None if any(x is None for x in out.values()) else out
    if isinstance(v, (list, tuple)):
        out = [_fd_value(x, seen) for x in v]
        return None if any(x is None for x in out) else type(v)(out)
    return v


def _error_cases():
    for info in common_optimizers.optim_db:
        name = info.optim_cls.__name__
        if name in OUT_OF_SCOPE:
            continue
        errors = info.optim_error_inputs_func(device="cpu", dtype=torch.float32)
        for i, e in enumerate(errors):
            if e.error_on != common_optimizers.OptimizerErrorEnum.CONSTRUCTION_ERROR:
                continue  # step errors: complex parameters, which fastdense does not have
            yield pytest.param(name, e, id=f"{name}-{i}")


@pytest.mark.parametrize("name, error", list(_error_cases()))
def test_construction_errors_match_pytorch(name, error):
    oi = error.optimizer_error_input
    seen: dict = {}
    params = _fd_value(oi.params, seen)
    if oi.params is None:  # the database's harness then supplies parameters of its own
        params = [nn.Parameter(tensor(np.ones((2, 2), dtype=np.float32)))]
    kwargs = _fd_value(dict(oi.kwargs), seen)
    if params is None or kwargs is None:  # complex parameters (the rest of this list)
        pytest.skip("complex or sparse tensors are out of fastdense's scope")
    if issubclass(error.error_type, Warning):
        with pytest.warns(error.error_type, match=error.error_regex):
            getattr(optim, name)(params, **kwargs)
    else:
        with pytest.raises(error.error_type, match=error.error_regex):
            getattr(optim, name)(params, **kwargs)


def test_every_optimizer_info_optimizer_is_in_fastdense():
    names = {info.optim_cls.__name__ for info in common_optimizers.optim_db}
    missing = sorted(n for n in names - set(OUT_OF_SCOPE) if not hasattr(optim, n))
    assert missing == []


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("Adam", dict(capturable=True), "capturable=True"),
        ("NAdam", dict(capturable=True), "capturable=True"),
        ("SGD", dict(differentiable=True), "differentiable=True"),
        ("Adam", dict(fused=True, foreach=True), "cannot be `True` together"),
    ],
)
def test_switches_fastdense_cannot_honour_are_refused_by_name(name, kwargs, message):
    with pytest.raises((ValueError, NotImplementedError, RuntimeError), match=re.escape(message)):
        getattr(optim, name)([nn.Parameter(tensor(np.ones(3)))], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(fused=True), dict(foreach=True), dict(foreach=False)])
def test_fused_and_foreach_are_the_same_math(kwargs):
    runs = [_Run("fastdense", "Adam", kw, np.float64) for kw in ({}, kwargs)]
    for _ in range(3):
        for r in runs:
            r.step()
    for a, b in zip(runs[0].values(), runs[1].values()):
        np.testing.assert_array_equal(a, b)


def test_old_module_paths_and_old_pickles_still_work():
    from fastdense.optim.adaptive import Adagrad, RMSprop
    from fastdense.optim.optimizer import SGD, Adam, AdamW

    assert (SGD, Adam, AdamW, RMSprop, Adagrad) == (
        optim.SGD,
        optim.Adam,
        optim.AdamW,
        optim.RMSprop,
        optim.Adagrad,
    )
    for cls, old in ((optim.SGD, "optimizer"), (optim.RMSprop, "adaptive")):
        run = _Run("fastdense", cls.__name__, dict(lr=0.1), np.float64)
        run.step()
        # a pickle written before the rules moved names the old module (protocol 0 is text)
        blob = pickle.dumps(run.opt, protocol=0).replace(
            f"fastdense.optim.{cls.__module__.rsplit('.', 1)[1]}\n".encode(),
            f"fastdense.optim.{old}\n".encode(),
        )
        assert f"fastdense.optim.{old}\n".encode() in blob
        loaded = pickle.loads(blob)
        assert type(loaded) is cls
        assert loaded.state_dict()["param_groups"][0]["lr"] == 0.1


def test_named_parameters_give_param_names_as_pytorch():
    model_t = torch.nn.Linear(3, 2)
    model_f = nn.Linear(3, 2)
    ref = torch.optim.SGD(model_t.named_parameters(), lr=0.1)
    opt = optim.SGD(model_f.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ref.param_groups[0]["param_names"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


@pytest.mark.parametrize("name", ["SparseAdam"])
def test_what_is_not_provided_says_so(name):
    with pytest.raises(AttributeError, match=f"does not implement torch.optim.{name}"):
        getattr(optim, name)
    assert not hasattr(optim, name)
