"""fastdense.optim.swa_utils against torch.optim.swa_utils: the same training run in both
libraries (weights copied from torch, the same gradients), the averaged weights and buffers
compared after every update, float32 and float64."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fastdense import nn, optim
from fastdense.autograd import tensor
from fastdense.optim import swa_utils as fswa

torch = pytest.importorskip("torch")
tswa = torch.optim.swa_utils

DTYPES = {
    "float32": (np.float32, torch.float32, 1e-5),
    "float64": (np.float64, torch.float64, 1e-12),
}


def _models(np_dtype, t_dtype):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 2)
    ).to(t_dtype)
    fm = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)).to(np_dtype)
    fm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return fm, tm


def _close(f_sd, t_sd, tol, what):
    assert list(f_sd) == list(t_sd), what
    for k, tv in t_sd.items():
        fv = f_sd[k]
        fv = fv.numpy() if hasattr(fv, "numpy") else np.asarray(fv)
        np.testing.assert_allclose(fv, tv.numpy(), rtol=tol, atol=tol, err_msg=f"{what}: {k}")
        assert fv.dtype == np.dtype(str(tv.dtype).replace("torch.", "")), k


AVERAGERS = {
    "swa (default)": lambda lib: {},
    "ema multi_avg_fn": lambda lib: {"multi_avg_fn": lib.get_ema_multi_avg_fn(0.9)},
    "swa multi_avg_fn": lambda lib: {"multi_avg_fn": lib.get_swa_multi_avg_fn()},
    "ema avg_fn": lambda lib: {"avg_fn": lib.get_ema_avg_fn(0.8)},
    "swa avg_fn": lambda lib: {"avg_fn": lib.get_swa_avg_fn()},
}


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("how", list(AVERAGERS))
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_follows_torch(dtype, how, use_buffers):
    np_dtype, t_dtype, tol = DTYPES[dtype]
    fm, tm = _models(np_dtype, t_dtype)
    f_avg = fswa.AveragedModel(fm, use_buffers=use_buffers, **AVERAGERS[how](fswa))
    t_avg = tswa.AveragedModel(tm, use_buffers=use_buffers, **AVERAGERS[how](tswa))
    f_opt, t_opt = optim.SGD(fm.parameters(), lr=0.1), torch.optim.SGD(tm.parameters(), lr=0.1)
    rng = np.random.default_rng(1)
    for step in range(4):
        x = rng.standard_normal((8, 4))
        f_opt.zero_grad()
        t_opt.zero_grad()
        fm(tensor(x.astype(np_dtype))).pow(2).mean().backward()
        tm(torch.tensor(x, dtype=t_dtype)).pow(2).mean().backward()
        f_opt.step()
        t_opt.step()
        try:
            t_avg.update_parameters(tm)
        except RuntimeError as exc:  # (torch refuses to SWA-average an integer buffer)
            with pytest.raises(RuntimeError, match=str(exc)[:40]):
                f_avg.update_parameters(fm)
            return
        f_avg.update_parameters(fm)
        _close(f_avg.state_dict(), t_avg.state_dict(), 10 * tol, f"{how} step {step}")
    x = rng.standard_normal((5, 4))
    f_avg.eval()
    t_avg.eval()
    np.testing.assert_allclose(
        f_avg(x.astype(np_dtype)).numpy(),
        t_avg(torch.tensor(x, dtype=t_dtype)).detach().numpy(),
        rtol=10 * tol,
        atol=10 * tol,
    )


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_update_bn_follows_torch(dtype):
    np_dtype, t_dtype, tol = DTYPES[dtype]
    fm, tm = _models(np_dtype, t_dtype)
    fm.eval()
    tm.eval()
    data = np.random.default_rng(2).standard_normal((30, 4)) * 3 + 1
    t_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(data, dtype=t_dtype)), batch_size=7
    )
    f_loader = [[data[i : i + 7].astype(np_dtype)] for i in range(0, 30, 7)]
    fswa.update_bn(f_loader, fm)
    tswa.update_bn(t_loader, tm)
    _close(fm.state_dict(), tm.state_dict(), 10 * tol, "update_bn")
    assert fm[1].momentum == tm[1].momentum == 0.1 and not fm.training and not tm.training
    fswa.update_bn([], nn.Linear(2, 2))  # no BatchNorm: nothing to do, as torch


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 3])
def test_swalr_learning_rates_follow_torch(strategy, anneal_epochs):
    f_opt = optim.SGD(
        [
            {"params": [nn.Parameter(np.zeros(1))]},
            {"params": [nn.Parameter(np.zeros(1))], "lr": 0.5},
        ],
        lr=0.1,
    )
    t_opt = torch.optim.SGD(
        [
            {"params": [torch.zeros(1, requires_grad=True)]},
            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5},
        ],
        lr=0.1,
    )
    f_s = fswa.SWALR(
        f_opt, swa_lr=[0.05, 0.2], anneal_epochs=anneal_epochs, anneal_strategy=strategy
    )
    t_s = tswa.SWALR(
        t_opt, swa_lr=[0.05, 0.2], anneal_epochs=anneal_epochs, anneal_strategy=strategy
    )
    for _ in range(6):
        assert f_s.get_last_lr() == t_s.get_last_lr()
        f_opt.step()
        t_opt.step()
        f_s.step()
        t_s.step()
    state = f_s.state_dict()
    assert "anneal_func" not in state and set(state) == set(t_s.state_dict())
    f2 = fswa.SWALR(f_opt, swa_lr=0.3)
    f2.load_state_dict(state)
    assert f2.anneal_func == f_s.anneal_func and f2.get_last_lr() == f_s.get_last_lr()


def test_errors_as_torch():
    m = nn.Linear(2, 2)
    opt = optim.SGD(m.parameters(), lr=0.1)
    for lib, mod in ((fswa, m), (tswa, torch.nn.Linear(2, 2))):
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            lib.AveragedModel(
                mod, avg_fn=lib.get_swa_avg_fn(), multi_avg_fn=lib.get_swa_multi_avg_fn()
            )
        for fn in (lib.get_ema_avg_fn, lib.get_ema_multi_avg_fn):
            with pytest.raises(ValueError, match="Invalid decay value 1.5"):
                fn(1.5)
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        fswa.SWALR(opt, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        fswa.SWALR(opt, 0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="swa_lr must have the same length"):
        fswa.SWALR(opt, [0.1, 0.2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fswa.SWALR(opt, 0.1).get_lr()
    assert any("get_last_lr()" in str(w.message) for w in caught)
    import fastdense.torch.optim.swa_utils as via_torch

    assert via_torch is fswa
