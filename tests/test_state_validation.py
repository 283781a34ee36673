"""Issue 12, the nn/optim doors: load_state_dict of modules and optimizers, a Parameter
whose .data was replaced, and optimizer state are validated before any kernel sees them.

Each case that would reach a kernel with inconsistent buffers runs in a child process,
so a crash (not just a wrong exception) fails the test instead of killing pytest.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastdense as fd
from fastdense import nn, optim

# the children import the fastdense these tests imported (installed, or built in place),
# from a folder outside the source tree (whose package is unbuilt in CI)
PACKAGE_PARENT = str(Path(fd.__file__).resolve().parent.parent)


def run_child(body: str) -> str:
    code = textwrap.dedent("""
        import numpy as np, fastdense as fd
        from fastdense import nn, optim
        def expect(kinds, fn):
            try:
                fn()
            except kinds as exc:
                print("raised", type(exc).__name__)
                return
            print("no error")
    """) + textwrap.dedent(body)
    env = dict(
        os.environ, PYTHONPATH=PACKAGE_PARENT + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tempfile.gettempdir(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"child crashed ({proc.returncode}):\n{proc.stderr[-2000:]}"
    return proc.stdout


def _model():
    fd.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))


def test_module_load_state_dict_size_mismatch_is_a_runtime_error_like_torch():
    torch = pytest.importorskip("torch")
    sd = {k: np.asarray(v) for k, v in _model().state_dict().items()}
    sd["0.weight"] = np.zeros((5, 3), np.float32)
    model = _model()
    before = np.asarray(model[0].weight).copy()
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        model.load_state_dict(sd)
    np.testing.assert_array_equal(np.asarray(model[0].weight), before)  # nothing copied
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    with pytest.raises(RuntimeError, match="size mismatch"):
        tm.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})


@pytest.mark.parametrize("bad", ["text", object(), np.array([1 + 2j] * 12).reshape(4, 3)])
def test_module_load_state_dict_non_numeric_values_raise_type_error(bad):
    sd = dict(_model().state_dict())
    sd["0.weight"] = bad
    with pytest.raises(TypeError):
        _model().load_state_dict(sd)
    with pytest.raises(TypeError):
        _model().load_state_dict([("0.weight", 1)])


def test_optimizer_load_state_dict_validates_structure_and_shapes():
    model = _model()
    opt = optim.Adam(model.parameters())
    model(np.ones((2, 3), np.float32)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    for broken, kind in (
        ({"state": {}}, TypeError),
        ({"state": [], "param_groups": sd["param_groups"]}, TypeError),
        ({"state": sd["state"], "param_groups": [{"lr": 1}]}, TypeError),
        ({"state": sd["state"], "param_groups": []}, ValueError),
    ):
        with pytest.raises(kind):
            optim.Adam(model.parameters()).load_state_dict(broken)
    bad = opt.state_dict()
    bad["state"][0]["exp_avg"] = np.zeros(5, np.float32)
    with pytest.raises(RuntimeError, match="shape"):
        optim.Adam(model.parameters()).load_state_dict(bad)
    bad = opt.state_dict()
    bad["state"][0]["step"] = "seven"
    with pytest.raises(TypeError, match="step"):
        optim.Adam(model.parameters()).load_state_dict(bad)
    bad["state"][0]["step"] = float("nan")
    with pytest.raises(ValueError, match="step"):
        optim.Adam(model.parameters()).load_state_dict(bad)


def test_grad_assignment_of_another_shape_or_dtype_raises_like_torch():
    p = nn.Parameter(np.zeros((2, 3), np.float32))
    with pytest.raises(RuntimeError, match="different size"):
        p.grad = np.zeros((3, 2), np.float32)
    with pytest.raises(RuntimeError, match="different type"):
        p.grad = np.zeros((2, 3), np.float64)
    with pytest.raises(RuntimeError):
        p.data = np.zeros((2, 3), np.int64)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_replaced_data_or_edited_state_never_reaches_a_kernel(opt_name):
    out = run_child(f"""
        kw = {{"SGD": dict(lr=0.1, momentum=0.9)}}.get("{opt_name}", {{}})
        def fresh():
            p = nn.Parameter(np.ones((4, 3), np.float32))
            opt = getattr(optim, "{opt_name}")([p], **kw)
            p.grad = np.ones((4, 3), np.float32)
            opt.step()  # creates the state buffers
            return p, opt
        # 1. .data replaced by a bigger array: state buffers are now too small
        p, opt = fresh()
        p.data = np.ones((40, 30), np.float32)
        p.grad = np.ones((40, 30), np.float32)
        expect((RuntimeError, ValueError), opt.step)
        # 2. .data replaced by float64: state buffers of another dtype
        p, opt = fresh()
        p.data = np.ones((4, 3), np.float64)
        p.grad = np.ones((4, 3), np.float64)
        expect((RuntimeError, ValueError), opt.step)
        # 3. a state buffer edited by hand to a wrong length
        p, opt = fresh()
        for k, v in list(opt.state[p].items()):
            if isinstance(v, np.ndarray):
                opt.state[p][k] = np.ones(2, np.float32)
        expect((RuntimeError, ValueError), opt.step)
        # 4. a state buffer that is not an array
        p, opt = fresh()
        for k, v in list(opt.state[p].items()):
            if isinstance(v, np.ndarray):
                opt.state[p][k] = "oops"
        expect((TypeError, RuntimeError, ValueError), opt.step)
    """)
    assert out.count("raised") == 4, out


def test_linear_with_replaced_weight_data_raises_before_the_kernel():
    out = run_child("""
        lin = nn.Linear(3, 2)
        lin.weight.data = np.ones(6, np.float32)          # 1-D
        expect((ValueError, RuntimeError), lambda: lin(np.ones((2, 3), np.float32)))
        lin = nn.Linear(3, 2)
        lin.weight.data = np.ones((2, 5), np.float32)     # wrong in_features
        expect((ValueError, RuntimeError), lambda: lin(np.ones((2, 3), np.float32)))
        lin = nn.Linear(3, 2)
        lin.weight.data = np.ones((2, 3), np.float64)     # dtype differs from the bias
        expect((TypeError, RuntimeError), lambda: lin(np.ones((2, 3))))
        lin = nn.Linear(3, 2)
        lin.bias.data = np.ones(7, np.float32)
        expect((ValueError, RuntimeError), lambda: lin(np.ones((2, 3), np.float32)))
    """)
    assert out.count("raised") == 4, out
