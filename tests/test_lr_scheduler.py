"""fastdense.optim.lr_scheduler against torch.optim.lr_scheduler, step by step.

Every scheduler class of torch 2.13, each in several configurations, is built on the same
optimizer configuration (two parameter groups) in both libraries; after every step the
learning rates (``get_last_lr()`` and each group's ``lr``, and the momenta where the
scheduler cycles them) must be equal. Half-way, the state_dicts of the optimizer and the
scheduler go into fresh ones (fastdense's own, and torch's into fastdense), which must
continue on torch's sequence. PyTorch's warnings and argument errors are checked too.
"""

import math
import pickle
import warnings

import numpy as np
import pytest

from fastdense import nn, optim
from fastdense.autograd import tensor
from fastdense.optim import lr_scheduler as fd_sched

torch = pytest.importorskip("torch")
STEPS = 24


class Halve:
    """A callable object as a lambda (its __dict__ goes into the state_dict)."""

    def __init__(self):
        self.factor = 0.5

    def __call__(self, epoch):
        return self.factor ** (epoch // 3)


def _linear(e):
    return 1.0 / (1 + e)


# name -> (optimizer name, optimizer kwargs, scheduler factory given (lib, opt))
CONFIGS = {
    "LambdaLR": ("SGD", {}, lambda m, o: m.LambdaLR(o, lr_lambda=_linear)),
    "LambdaLR-per-group": ("SGD", {}, lambda m, o: m.LambdaLR(o, [_linear, Halve()])),
    "MultiplicativeLR": ("SGD", {}, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95)),
    "StepLR": ("SGD", {}, lambda m, o: m.StepLR(o, step_size=5, gamma=0.5)),
    "MultiStepLR": ("SGD", {}, lambda m, o: m.MultiStepLR(o, [3, 7, 7, 15], gamma=0.3)),
    "ConstantLR": ("SGD", {}, lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=6)),
    "LinearLR": (
        "SGD",
        {},
        lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=10),
    ),
    "ExponentialLR": ("SGD", {}, lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    "PolynomialLR": ("SGD", {}, lambda m, o: m.PolynomialLR(o, total_iters=12, power=2.0)),
    "CosineAnnealingLR": ("SGD", {}, lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
    "CosineAnnealingWarmRestarts": (
        "SGD",
        {},
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=0.001),
    ),
    "CyclicLR-triangular": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.CyclicLR(
            o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=3
        ),
    ),
    "CyclicLR-triangular2": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2"),
    ),
    "CyclicLR-exp_range-Adam": (
        "Adam",
        {},
        lambda m, o: m.CyclicLR(
            o, base_lr=0.001, max_lr=0.01, step_size_up=5, mode="exp_range", gamma=0.9
        ),
    ),
    "OneCycleLR": (
        "SGD",
        {"momentum": 0.9},
        lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.05], total_steps=STEPS + 1),
    ),
    "OneCycleLR-three-phase-linear-Adam": (
        "Adam",
        {},
        lambda m, o: m.OneCycleLR(
            o, max_lr=0.01, epochs=5, steps_per_epoch=5, three_phase=True, anneal_strategy="linear"
        ),
    ),
    "SequentialLR": (
        "SGD",
        {},
        lambda m, o: m.SequentialLR(
            o,
            [
                m.LinearLR(o, start_factor=0.2, total_iters=4),
                m.ExponentialLR(o, gamma=0.8),
                m.StepLR(o, step_size=3),
            ],
            milestones=[5, 12],
        ),
    ),
    "ChainedScheduler": (
        "SGD",
        {},
        lambda m, o: m.ChainedScheduler(
            [m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9)]
        ),
    ),
    "ChainedScheduler-with-optimizer": (
        "SGD",
        {},
        lambda m, o: m.ChainedScheduler(
            [m.StepLR(o, step_size=4, gamma=0.5), m.LinearLR(o, start_factor=0.5, total_iters=6)],
            optimizer=o,
        ),
    ),
}
MOMENTUM_KEYS = {"SGD": "momentum", "Adam": "betas"}


def _build(lib, name, values=None):
    opt_name, opt_kwargs, factory = CONFIGS[name]
    if lib == "torch":
        params = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))]
        opt = getattr(torch.optim, opt_name)(
            [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}], lr=0.1, **opt_kwargs
        )
        module = torch.optim.lr_scheduler
    else:
        params = [
            nn.Parameter(tensor(np.ones(3, np.float32))),
            nn.Parameter(tensor(np.ones(2, np.float32))),
        ]
        opt = getattr(optim, opt_name)(
            [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}], lr=0.1, **opt_kwargs
        )
        module = fd_sched
    return params, opt, factory(module, opt)


def _step(lib, params, opt, sched):
    for p in params:
        p.grad = (
            torch.full(p.shape, 0.1)
            if lib == "torch"
            else tensor(np.full(p.shape, 0.1, np.float32))
        )
    opt.step()
    sched.step()


def _observed(opt, sched):
    out = [float(v) for v in sched.get_last_lr()] + [float(g["lr"]) for g in opt.param_groups]
    for g in opt.param_groups:
        for key in ("momentum", "betas"):
            if key in g:
                v = g[key][0] if key == "betas" else g[key]
                out.append(float(v))
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_scheduler_matches_pytorch_step_by_step(name):
    ref = _build("torch", name)
    run = _build("fastdense", name)
    assert _observed(*run[1:]) == _observed(*ref[1:]), "at construction"
    half = STEPS // 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stepping in the right order warns of nothing
        for t in range(half):
            _step("torch", *ref)
            _step("fastdense", *run)
            assert _observed(*run[1:]) == _observed(*ref[1:]), f"step {t + 1}"
    # resume: fresh optimizers and schedulers loaded from state_dicts (fastdense's own
    # through a pickle; torch's directly, both the optimizer's and the scheduler's)
    resumed = _build("fastdense", name)
    resumed[1].load_state_dict(pickle.loads(pickle.dumps(run[1].state_dict())))
    resumed[2].load_state_dict(pickle.loads(pickle.dumps(run[2].state_dict())))
    from_torch = _build("fastdense", name)
    from_torch[1].load_state_dict(ref[1].state_dict())
    from_torch[2].load_state_dict(ref[2].state_dict())
    for t in range(half, STEPS):
        _step("torch", *ref)
        for r in (run, resumed, from_torch):
            _step("fastdense", *r)
        expected = _observed(*ref[1:])
        assert _observed(*run[1:]) == expected, f"step {t + 1}"
        assert _observed(*resumed[1:]) == expected, f"step {t + 1} after a state_dict"
        assert _observed(*from_torch[1:]) == expected, f"step {t + 1} after torch's state_dict"


@pytest.mark.parametrize(
    "name",
    [
        "StepLR",
        "MultiStepLR",
        "ConstantLR",
        "LinearLR",
        "ExponentialLR",
        "PolynomialLR",
        "CosineAnnealingLR",
    ],
)
def test_step_with_epoch_uses_closed_form_and_warns_as_pytorch(name):
    ref, run = _build("torch", name), _build("fastdense", name)
    for epoch in (3, 8, 5, 11):
        for lib, (params, opt, sched) in (("torch", ref), ("fastdense", run)):
            opt.step()
            with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step"):
                sched.step(epoch)
        assert _observed(*run[1:]) == _observed(*ref[1:])


def test_reduce_lr_on_plateau_matches_pytorch_with_state_dict():
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.7, 0.71, 0.72]
    runs = {}
    for lib in ("torch", "fastdense"):
        params, opt, _ = _build(lib, "StepLR")
        m = torch.optim.lr_scheduler if lib == "torch" else fd_sched
        runs[lib] = (
            opt,
            m.ReduceLROnPlateau(
                opt, factor=0.5, patience=1, cooldown=1, threshold=0.01, min_lr=[0.02, 0.0]
            ),
        )
    for i, metric in enumerate(metrics):
        for opt, sched in runs.values():
            sched.step(metric)
        assert runs["fastdense"][1].get_last_lr() == runs["torch"][1].get_last_lr()
        if i == 6:
            fresh_opt = _build("fastdense", "StepLR")[1]
            fresh = fd_sched.ReduceLROnPlateau(fresh_opt)
            fresh.load_state_dict(runs["torch"][1].state_dict())
            fresh_opt.load_state_dict(runs["torch"][0].state_dict())
            runs["resumed"] = (fresh_opt, fresh)
    assert runs["resumed"][1].get_last_lr() == runs["torch"][1].get_last_lr()
    assert isinstance(runs["fastdense"][1], fd_sched.LRScheduler)


def test_warnings_as_pytorch():
    params, opt, sched = _build("fastdense", "StepLR")
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    params, opt, sched = _build("fastdense", "ExponentialLR")
    opt.step = lambda closure=None: None
    with pytest.warns(UserWarning, match="has been overridden"):
        sched.step()


@pytest.mark.parametrize(
    "factory, error, match",
    [
        (lambda m, o: m.ConstantLR(o, factor=1.5), ValueError, "between 0 and 1"),
        (lambda m, o: m.LinearLR(o, start_factor=0), ValueError, "greater than 0"),
        (lambda m, o: m.LinearLR(o, end_factor=2), ValueError, "between 0 and 1"),
        (lambda m, o: m.LambdaLR(o, [_linear]), ValueError, "Expected 2 lr_lambdas"),
        (lambda m, o: m.MultiplicativeLR(o, 0.9), TypeError, "should be a function"),
        (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "positive integer T_0"),
        (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "T_mult"),
        (lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="nope"), ValueError, "mode is invalid"),
        (
            lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], milestones=[1]),
            ValueError,
            "one more than the number of milestone",
        ),
        (lambda m, o: m.SequentialLR(o, [], milestones=[]), ValueError, "at least one"),
        (
            lambda m, o: m.ChainedScheduler([m.ReduceLROnPlateau(o)]),
            ValueError,
            "does not support `ReduceLROnPlateau`",
        ),
        (lambda m, o: m.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
        (lambda m, o: m.ReduceLROnPlateau(o, mode="median"), ValueError, "is unknown"),
        (lambda m, o: m.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps OR"),
        (
            lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=2.0),
            ValueError,
            "pct_start",
        ),
        (lambda m, o: m.StepLR(o, 3, last_epoch=4), KeyError, "initial_lr"),
    ],
)
def test_argument_errors_as_pytorch(factory, error, match):
    for lib in ("torch", "fastdense"):
        opt = _build(lib, "StepLR")[1]
        for g in opt.param_groups:
            g.pop("initial_lr", None)
        with pytest.raises(error, match=match):
            factory(torch.optim.lr_scheduler if lib == "torch" else fd_sched, opt)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        fd_sched.StepLR(object(), 3)


def test_tensor_lr_is_filled_in_place():
    p = nn.Parameter(tensor(np.ones(2)))
    lr = tensor(0.1)
    opt = optim.SGD([p], lr=lr)
    sched = fd_sched.ExponentialLR(opt, gamma=0.5)
    p.grad = tensor(np.ones(2))
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr
    assert math.isclose(float(lr), 0.05, rel_tol=1e-6)  # a float32 tensor
    assert sched.get_last_lr()[0] is not lr
