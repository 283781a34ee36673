"""Optimizer hooks against PyTorch: step pre/post hooks and the four state-dict hooks (call
order, arguments, results that replace the state dict, prepend, removal)."""

from __future__ import annotations

import numpy as np
import pytest

from fastdense import nn, optim

torch = pytest.importorskip("torch")


def _pair():
    tm = torch.nn.Linear(3, 2)
    fm = nn.Linear(3, 2)
    fm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return optim.Adam(fm.parameters(), lr=0.1), torch.optim.Adam(tm.parameters(), lr=0.1), fm, tm


def _step(opt, model, x, lib):
    opt.zero_grad()
    out = model(x if lib == "fd" else torch.tensor(x))
    out.sum().backward()
    opt.step()


def _record(opt, lib, log):
    """Register every hook kind on opt, logging (lib, kind, what it saw)."""
    handles = [
        opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre")),
        opt.register_state_dict_post_hook(
            lambda o, sd: log.append(("sd_post", sorted(sd), len(sd["state"])))
        ),
        opt.register_state_dict_post_hook(
            lambda o, sd: log.append("sd_post_first") or None, prepend=True
        ),
        opt.register_load_state_dict_pre_hook(lambda o, sd: log.append(("load_pre", sorted(sd)))),
        opt.register_load_state_dict_post_hook(lambda o: log.append(("load_post", len(o.state)))),
        opt.register_step_pre_hook(lambda o, a, k: log.append("step_pre")),
        opt.register_step_post_hook(lambda o, a, k: log.append("step_post")),
    ]
    return handles


def test_hooks_run_in_torchs_order_with_torchs_arguments():
    f_opt, t_opt, fm, tm = _pair()
    logs = {"fd": [], "torch": []}
    handles = {
        "fd": _record(f_opt, "fd", logs["fd"]),
        "torch": _record(t_opt, "torch", logs["torch"]),
    }
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    for lib, opt, model in (("fd", f_opt, fm), ("torch", t_opt, tm)):
        _step(opt, model, x, lib)
        sd = opt.state_dict()
        opt.load_state_dict(sd)
    assert logs["fd"] == logs["torch"]
    for lib in ("fd", "torch"):
        for h in handles[lib]:
            h.remove()
        logs[lib].clear()
    for lib, opt, model in (("fd", f_opt, fm), ("torch", t_opt, tm)):
        _step(opt, model, x, lib)
        opt.load_state_dict(opt.state_dict())
    assert logs["fd"] == logs["torch"] == []


def test_hook_results_replace_the_state_dict_as_in_torch():
    f_opt, t_opt, fm, tm = _pair()
    x = np.ones((2, 3), np.float32)
    for lib, opt, model in (("fd", f_opt, fm), ("torch", t_opt, tm)):
        _step(opt, model, x, lib)
        # post: a new dict replaces it (and the next hook sees the new one)
        opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
        opt.register_state_dict_post_hook(lambda o, sd: sd.update(seen="extra" in sd))
        # load pre: edits the copy it receives (the caller's dict is untouched), drops "extra"
        opt.register_load_state_dict_pre_hook(lambda o, sd: sd.pop("extra") and None)
        opt.register_load_state_dict_pre_hook(
            lambda o, sd: {**sd, "param_groups": [{**g, "lr": 0.5} for g in sd["param_groups"]]}
        )
    f_sd, t_sd = f_opt.state_dict(), t_opt.state_dict()
    assert (f_sd["extra"], f_sd["seen"]) == (t_sd["extra"], t_sd["seen"]) == (1, True)
    f_opt.load_state_dict(f_sd)
    t_opt.load_state_dict(t_sd)
    assert "extra" in f_sd and "extra" in t_sd
    assert f_opt.param_groups[0]["lr"] == t_opt.param_groups[0]["lr"] == 0.5
    _step(f_opt, fm, x, "fd")
    _step(t_opt, tm, x, "torch")
    for (k, fv), tv in zip(fm.state_dict().items(), tm.state_dict().values()):
        np.testing.assert_allclose(fv.numpy(), tv.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_prepend_order_and_hooks_not_pickled():
    import pickle

    f_opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    t_opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    for opt, log in ((f_opt, []), (t_opt, [])):
        for name, prepend in (("a", False), ("b", True), ("c", False), ("d", True)):
            opt.register_state_dict_pre_hook(
                lambda o, name=name, log=log: log.append(name), prepend=prepend
            )
        opt.state_dict()
        assert log == ["d", "b", "a", "c"]
    f2 = pickle.loads(pickle.dumps(f_opt))
    assert f2.state_dict()["param_groups"][0]["lr"] == 0.1  # (no hook came along)
