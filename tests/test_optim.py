"""fastdense.optim: PyTorch's update rules, state and schedulers."""

import math

import numpy as np
import pytest

import fastdense as fd
from fastdense import nn, optim
from fastdense.optim import lr_scheduler

SGD_CONFIGS = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "dampening": dict(lr=0.05, momentum=0.8, dampening=0.3),
    "weight_decay": dict(lr=0.05, momentum=0.9, weight_decay=0.01),
    "maximize": dict(lr=0.01, momentum=0.5, maximize=True, weight_decay=0.1),
}
ADAM_CONFIGS = {
    "adam": ("Adam", dict(lr=0.01)),
    "adam_wd": ("Adam", dict(lr=0.01, weight_decay=0.05, betas=(0.8, 0.99), eps=1e-6)),
    "amsgrad": ("Adam", dict(lr=0.01, amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    "adamw_amsgrad": ("AdamW", dict(lr=0.01, amsgrad=True)),
    "adam_maximize": ("Adam", dict(lr=0.01, maximize=True)),
}
CONFIGS = {**{f"SGD-{k}": ("SGD", v) for k, v in SGD_CONFIGS.items()}, **ADAM_CONFIGS}


def model_and_batches(lib, dtype, n_batches=25, seed=0):
    layers = [
        lib.Linear(6, 8, dtype=dtype),
        lib.Tanh(),
        lib.Linear(8, 5, dtype=dtype),
        lib.ReLU(),
        lib.Linear(5, 1, dtype=dtype),
    ]
    rng = np.random.default_rng(seed)
    np_dtype = np.dtype(str(dtype).replace("torch.", "")) if "torch" in str(dtype) else dtype
    X = rng.standard_normal((n_batches * 16, 6)).astype(np_dtype)
    y = (X[:, :1] + rng.standard_normal((len(X), 1)) > 0).astype(np_dtype)
    return lib.Sequential(*layers), [(X[i : i + 16], y[i : i + 16]) for i in range(0, len(X), 16)]


# ----------------------------------------------------------- without PyTorch


def test_sgd_step_is_pytorch_rule_by_hand():
    p = nn.Parameter(np.array([1.0, -2.0, 3.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.2)
    g1, g2 = np.array([0.5, 0.1, -1.0]), np.array([0.2, -0.3, 0.4])
    p.grad = g1.copy()
    opt.step()
    d1 = g1 + 0.01 * np.array([1.0, -2.0, 3.0])
    expected = np.array([1.0, -2.0, 3.0]) - 0.1 * d1  # first buffer = gradient
    np.testing.assert_allclose(p.data, expected, rtol=1e-15)
    p.grad = g2.copy()
    opt.step()
    d2 = g2 + 0.01 * expected
    buf = 0.9 * d1 + 0.8 * d2
    np.testing.assert_allclose(p.data, expected - 0.1 * buf, rtol=1e-15)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], buf, rtol=1e-15)


def test_adam_step_is_pytorch_rule_by_hand():
    p0 = np.array([0.5, -1.0])
    p = nn.Parameter(p0.copy())
    opt = optim.Adam([p], lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    g = np.array([0.3, -0.2])
    p.grad = g.copy()
    opt.step()
    m, v = 0.1 * g, 0.01 * g * g
    expected = p0 - 0.1 / 0.1 * m / (np.sqrt(v) / math.sqrt(0.01) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-14)
    st = opt.state[p]
    assert st["step"] == 1.0 and set(st) == {"step", "exp_avg", "exp_avg_sq"}


@pytest.mark.parametrize(
    "cls,kw,msg",
    [
        (optim.SGD, dict(lr=-0.1), "Invalid learning rate"),
        (optim.SGD, dict(lr=0.1, momentum=-1), "Invalid momentum value"),
        (optim.SGD, dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value"),
        (optim.SGD, dict(lr=0.1, nesterov=True), "Nesterov momentum requires"),
        (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (optim.Adam, dict(lr=-1.0), "Invalid learning rate"),
        (optim.Adam, dict(eps=-1.0), "Invalid epsilon value"),
        (optim.Adam, dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
        (optim.Adam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
        (optim.Adam, dict(weight_decay=-0.1), "Invalid weight_decay value"),
        (optim.AdamW, dict(lr=-1.0), "Invalid learning rate"),
    ],
)
def test_invalid_hyperparameters_raise_value_error(cls, kw, msg):
    with pytest.raises(ValueError, match=msg):
        cls(nn.Linear(2, 1).parameters(), **kw)


def test_param_groups_and_errors():
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError):
        optim.SGD([np.zeros(2)], lr=0.1)
    opt = optim.SGD(
        [{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.5}], lr=0.1, momentum=0.9
    )
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a.weight]})
    c = nn.Linear(1, 1)
    opt.add_param_group({"params": c.parameters(), "lr": 0.01})
    assert len(opt.param_groups) == 3 and opt.param_groups[2]["momentum"] == 0.9
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a(np.ones((1, 2), np.float32))], lr=0.1)


def test_params_without_grad_are_skipped_and_zero_grad():
    a = nn.Linear(2, 1)
    opt = optim.Adam(a.parameters())
    w0, b0 = a.weight.numpy().copy(), a.bias.numpy().copy()
    a.weight.grad = np.ones_like(w0)
    opt.step()
    assert not np.array_equal(a.weight.data, w0)
    np.testing.assert_array_equal(a.bias.data, b0)
    assert a.bias not in opt.state
    opt.zero_grad(set_to_none=False)
    assert np.all(a.weight.grad == 0)
    opt.zero_grad()
    assert a.weight.grad is None


def test_state_dict_structure_and_round_trip():
    fd.manual_seed(0)
    model, batches = model_and_batches(nn, np.float64, n_batches=6)
    loss_fn = nn.BCEWithLogitsLoss()
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    for xb, yb in batches[:3]:
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == list(range(6))
    assert set(sd["state"]) == set(range(6))
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"] == 3.0
    # a clone of the model and a new optimizer loaded from the state continue identically
    clone, _ = model_and_batches(nn, np.float64)
    clone.load_state_dict(model.state_dict())
    opt2 = optim.Adam(clone.parameters(), lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["amsgrad"]
    for xb, yb in batches[3:]:
        for m, o in ((model, opt), (clone, opt2)):
            o.zero_grad()
            loss_fn(m(xb), yb).backward()
            o.step()
    for p, q in zip(model.parameters(), clone.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt2.load_state_dict({"state": {}, "param_groups": []})


def test_step_lr_sequence_by_hand():
    opt = optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert sched.get_last_lr() == [0.25]  # epoch 8: halved at 3 and 6


# -------------------------------------------------------------- with PyTorch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _make_pair(torch, dtype, seed):
    tdtype = getattr(torch, np.dtype(dtype).name)
    torch.manual_seed(seed)
    t_model, batches = model_and_batches(torch.nn, tdtype)
    model, _ = model_and_batches(nn, dtype)
    model.load_state_dict(t_model.state_dict())
    return model, t_model, batches


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_optimizer_trajectories_track_pytorch(torch, config, dtype):
    name, kw = CONFIGS[config]
    model, t_model, batches = _make_pair(torch, dtype, seed=1)
    opt = getattr(optim, name)(model.parameters(), **kw)
    t_opt = getattr(torch.optim, name)(t_model.parameters(), **kw)
    loss_fn, t_loss_fn = nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    assert len(batches) >= 25
    for step, (xb, yb) in enumerate(batches):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        t_opt.zero_grad()
        t_loss = t_loss_fn(t_model(torch.from_numpy(xb)), torch.from_numpy(yb))
        t_loss.backward()
        t_opt.step()
        np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=rtol, err_msg=str(step))
        for (pname, p), tp in zip(model.named_parameters(), t_model.parameters()):
            t = tp.detach().numpy()
            np.testing.assert_allclose(
                p.data,
                t,
                rtol=rtol,
                atol=rtol * max(np.abs(t).max(), 1e-3),
                err_msg=f"step {step} {pname}",
            )
    # the state has PyTorch's keys, and both state dicts have the same structure
    sd, t_sd = opt.state_dict(), t_opt.state_dict()
    assert set(sd["state"]) == set(t_sd["state"])
    for k in sd["state"]:
        assert set(sd["state"][k]) == set(t_sd["state"][k])
    assert sd["param_groups"][0].keys() == t_sd["param_groups"][0].keys()
    assert sd["param_groups"][0]["params"] == t_sd["param_groups"][0]["params"]


@pytest.mark.parametrize(
    "name,kw",
    [
        ("SGD", dict(lr=0.05, momentum=0.9)),
        ("Adam", dict(lr=0.01, amsgrad=True)),
        ("AdamW", dict(lr=0.01)),
    ],
)
def test_optimizer_state_dict_round_trips_with_pytorch(torch, name, kw):
    model, t_model, batches = _make_pair(torch, np.float64, seed=2)
    opt = getattr(optim, name)(model.parameters(), **kw)
    t_opt = getattr(torch.optim, name)(t_model.parameters(), **kw)
    loss_fn, t_loss_fn = nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()

    def train(m, o, t_m, t_o, part):
        for xb, yb in part:
            o.zero_grad()
            loss_fn(m(xb), yb).backward()
            o.step()
            t_o.zero_grad()
            t_loss_fn(t_m(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
            t_o.step()

    train(model, opt, t_model, t_opt, batches[:5])
    # torch -> fastdense: a fresh fastdense optimizer takes torch's state dict as it is
    model2, _ = model_and_batches(nn, np.float64)
    model2.load_state_dict(t_model.state_dict())
    opt2 = getattr(optim, name)(model2.parameters(), lr=123.0)
    opt2.load_state_dict(t_opt.state_dict())
    # fastdense -> torch: a fresh torch optimizer takes fastdense's state via to_torch
    t_model2, _ = model_and_batches(torch.nn, torch.float64)
    t_model2.load_state_dict(fd.to_torch(model.state_dict()))
    t_opt2 = getattr(torch.optim, name)(t_model2.parameters(), lr=123.0)
    t_opt2.load_state_dict(fd.to_torch(opt.state_dict()))
    train(model2, opt2, t_model2, t_opt2, batches[5:10])
    train(model, opt, t_model, t_opt, batches[5:10])
    for a, b, c, d in zip(
        model.parameters(), model2.parameters(), t_model.parameters(), t_model2.parameters()
    ):
        ref = c.detach().numpy()
        for x in (a.data, b.data, d.detach().numpy()):
            np.testing.assert_allclose(x, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "name,kw",
    [
        ("StepLR", dict(step_size=3, gamma=0.5)),
        ("ExponentialLR", dict(gamma=0.9)),
        ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),
        ("CosineAnnealingLR", dict(T_max=7)),
    ],
)
def test_lr_schedulers_match_pytorch(torch, name, kw):
    opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.3, momentum=0.9)
    t_opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.3, momentum=0.9)
    sched = getattr(lr_scheduler, name)(opt, **kw)
    t_sched = getattr(torch.optim.lr_scheduler, name)(t_opt, **kw)
    for _ in range(20):
        assert opt.param_groups[0]["lr"] == t_opt.param_groups[0]["lr"]
        opt.step()
        t_opt.step()
        sched.step()
        t_sched.step()
        assert sched.get_last_lr() == t_sched.get_last_lr()


def test_multi_tensor_kernel_checks_its_arrays():
    from fastdense import _kernels

    p = np.zeros(3, np.float32)
    ok = [np.zeros(3, np.float32)]
    with pytest.raises(TypeError, match="dtype"):
        _kernels.torch_adam_multi(
            [p], [np.zeros(3)], ok, ok, [], [0.1], [1.0], 0.9, 0.999, 1e-8, 0.0, 1.0, False, False
        )
    with pytest.raises(ValueError, match="size"):
        _kernels.torch_adam_multi(
            [p],
            [np.zeros(4, np.float32)],
            ok,
            ok,
            [],
            [0.1],
            [1.0],
            0.9,
            0.999,
            1e-8,
            0.0,
            1.0,
            False,
            False,
        )
    with pytest.raises(ValueError, match="one entry per parameter"):
        _kernels.torch_adam_multi(
            [p], [], ok, ok, [], [0.1], [1.0], 0.9, 0.999, 1e-8, 0.0, 1.0, False, False
        )
    with pytest.raises(ValueError, match="C-contiguous"):
        _kernels.torch_adam_multi(
            [p],
            [np.zeros(6, np.float32)[::2]],
            ok,
            ok,
            [],
            [0.1],
            [1.0],
            0.9,
            0.999,
            1e-8,
            0.0,
            1.0,
            False,
            False,
        )


def test_mixed_dtype_group_and_non_contiguous_grad():
    a = nn.Parameter(np.ones(3, np.float32))
    b = nn.Parameter(np.ones((2, 2)))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(3, np.float32)
    b.grad = np.ones((2, 4))[:, ::2]  # strided: copied, not misread
    opt.step()
    np.testing.assert_allclose(a.data, 0.9, rtol=1e-6)
    np.testing.assert_allclose(b.data, 0.9, rtol=1e-7)  # 1 - 0.1 / (1 + eps)


def test_scheduler_state_dict_round_trip():
    opt = optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        opt.step()
        sched.step()
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 3
    opt2 = optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    sched2 = lr_scheduler.ExponentialLR(opt2, gamma=0.9)
    sched2.load_state_dict(sd)
    opt2.param_groups[0]["lr"] = sched.get_last_lr()[0]
    sched.step()
    sched2.step()
    assert sched.get_last_lr() == sched2.get_last_lr() == [0.0625]
