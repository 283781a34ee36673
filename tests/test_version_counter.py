"""Version counters shared by views, differentially against PyTorch.

PyTorch keeps one version counter per storage: a view (indexing, view/reshape,
transpose, expand, narrow, select, split, diagonal, ...) and ``detach()`` share
their base's, ``.data`` does not. An in-place change through any of them after
autograd saved one of them makes backward raise "modified by an inplace
operation"; fastdense must raise in the same cases (never a silent wrong
gradient) and not raise in the others, with the same ``_version`` numbers.
"""

import numpy as np
import pytest

import fastdense.torch as ft
from fastdense import optim as ft_optim

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64"]

# in-place changes of x (1-D, 3 elements) or of m (2-D, 3x3) through a view of it
VIEW_CHANGES = {
    "slice": lambda x, m: x[1:].mul_(10),
    "element": lambda x, m: x[1].add_(1),
    "view": lambda x, m: x.view(3).add_(1),
    "reshape": lambda x, m: x.reshape(1, 3).add_(1),
    "detach": lambda x, m: x.detach().add_(1),
    "unsqueeze": lambda x, m: x.unsqueeze(0).add_(1),
    "squeeze": lambda x, m: x.unsqueeze(1).squeeze(1).add_(1),
    "flatten": lambda x, m: m.flatten().add_(1),
    "transpose": lambda x, m: m.t().mul_(2),
    "T": lambda x, m: m.T.mul_(2),
    "permute": lambda x, m: m.permute(1, 0).mul_(2),
    "movedim": lambda x, m: m.movedim(0, 1).mul_(2),
    "expand": lambda x, m: x.expand(3).add_(1),
    "expand_lead": lambda x, m: x.expand(1, 3).add_(1),
    "narrow": lambda x, m: x.narrow(0, 1, 2).mul_(3),
    "select": lambda x, m: m.select(1, 2).mul_(3),
    "split": lambda x, m: x.split(2)[1].mul_(3),
    "chunk": lambda x, m: m.chunk(3, 1)[0].mul_(3),
    "tensor_split": lambda x, m: x.tensor_split(2)[0].mul_(3),
    "unbind": lambda x, m: m.unbind(0)[2].mul_(3),
    "diagonal": lambda x, m: m.diagonal().mul_(3),
    "diagonal_offset": lambda x, m: m.diagonal(1).mul_(3),
    "setitem_on_view": lambda x, m: m[0].__setitem__(1, 5.0),
    "view_of_view": lambda x, m: m[1:][0].add_(1),
    "fill_through_view": lambda x, m: m[:, 0].fill_(7),
    "zero_through_view": lambda x, m: x[:2].zero_(),
    "copy_through_view": lambda x, m: x[:2].copy_(x[1:].detach().clone()),
}


def _operands(lib, dtype):
    dt = getattr(lib, dtype)
    w = lib.ones(3, dtype=dt, requires_grad=True)
    wm = lib.ones(3, 3, dtype=dt, requires_grad=True)
    x = lib.tensor([1.0, 2.0, 3.0], dtype=dt)
    m = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], dtype=dt)
    return w, wm, x, m


def _after_save(lib, dtype, change):
    """Save x and m for backward, change them through a view, then backward."""
    w, wm, x, m = _operands(lib, dtype)
    loss = (w * x).sum() + (wm * m).sum()
    change(x, m)
    try:
        loss.backward()
    except RuntimeError as exc:
        return "raised", str(exc)
    return "ran", (w.grad.numpy().copy(), wm.grad.numpy().copy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(VIEW_CHANGES))
def test_inplace_through_a_view_after_save_raises_as_pytorch(case, dtype):
    theirs = _after_save(torch, dtype, VIEW_CHANGES[case])
    ours = _after_save(ft, dtype, VIEW_CHANGES[case])
    assert theirs[0] == "raised"  # (every case changes a saved tensor)
    assert ours[0] == "raised", f"fastdense computed a gradient: {ours[1]}"
    assert "modified by an inplace operation" in ours[1]


def _versions(lib, dtype, change):
    """_version of x, m and a view of each after the change."""
    _, _, x, m = _operands(lib, dtype)
    xv, mv = x[:2], m.t()
    change(x, m)
    return [x._version, m._version, xv._version, mv._version]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(VIEW_CHANGES))
def test_version_numbers_match_pytorch(case, dtype):
    assert _versions(ft, dtype, VIEW_CHANGES[case]) == _versions(torch, dtype, VIEW_CHANGES[case])


@pytest.mark.parametrize("case", list(VIEW_CHANGES))
def test_an_inplace_change_through_a_view_changes_the_base_as_pytorch(case):
    _, _, x, m = _operands(ft, "float64")
    _, _, tx, tm = _operands(torch, "float64")
    VIEW_CHANGES[case](x, m)
    VIEW_CHANGES[case](tx, tm)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    np.testing.assert_array_equal(m.numpy(), tm.numpy())


def _sequence(lib):
    """A sequence of views and in-place ops; the versions of every tensor after each."""
    x = lib.zeros(4, 3)
    a = x[1:]
    b = a.t()
    c = x.detach()
    d = x.data
    e = x.reshape(12)
    f = x.clone()
    g = x.t().reshape(12)  # a copy (not contiguous): its own counter
    out = []
    for op in (
        lambda: a.add_(1),
        lambda: b.mul_(2),
        lambda: c.sub_(1),
        lambda: d.add_(1),
        lambda: e[3:5].fill_(4),
        lambda: f.add_(1),
        lambda: g.add_(1),
        lambda: x.__setitem__(0, 2.0),
        lambda: x.__iadd__(1),
        lambda: lib.add(x[0], 1, out=x[1]),
        lambda: x.zero_(),
    ):
        op()
        out.append([t._version for t in (x, a, b, c, d, e, f, g)])
    return out


def test_a_sequence_of_views_and_inplace_ops_gives_pytorchs_versions():
    assert _sequence(ft) == _sequence(torch)


# what must NOT raise: copies, .data, values not saved, views taken after the change
NO_RAISE = {
    "data": lambda x, m: x.data.add_(1),
    "clone": lambda x, m: x.clone().add_(1),
    "advanced_index": lambda x, m: x[[0, 1]].add_(1),
    "reshape_copy": lambda x, m: m.t().reshape(9).add_(1),
    "contiguous_copy": lambda x, m: m.t().contiguous().add_(1),
    "out_of_place": lambda x, m: (x * 2).add_(1),
    "narrow_copy": lambda x, m: x.narrow_copy(0, 0, 2).add_(1),
    "dtype_copy": lambda x, m: (x.float() if x.dtype == x.double().dtype else x.double()).add_(1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(NO_RAISE))
def test_no_error_where_pytorch_has_none(case, dtype):
    theirs = _after_save(torch, dtype, NO_RAISE[case])
    ours = _after_save(ft, dtype, NO_RAISE[case])
    assert theirs[0] == "ran" and ours[0] == "ran", ours[1]
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_view_taken_before_its_base_changed_in_place_follows_the_new_history(dtype):
    # PyTorch derives the view's grad_fn again from the base's new one
    def run(lib):
        w = lib.tensor([1.0, 2.0, 3.0], dtype=getattr(lib, dtype), requires_grad=True)
        a = w * 1
        v = a[:2]
        vv = v[1:]
        a.mul_(w)  # a new node for a: v and vv must see it
        (v.sum() + 10 * vv.sum()).backward()
        return w.grad.numpy()

    np.testing.assert_allclose(run(ft), run(torch), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_view_used_before_its_base_changed_keeps_the_old_history(dtype):
    def run(lib):
        w = lib.tensor([1.0, 2.0, 3.0], dtype=getattr(lib, dtype), requires_grad=True)
        a = w * 2
        y = a[0] * 3  # the view is read now; its gradient goes to the old a
        a[0] = y
        a.sum().backward()
        return w.grad.numpy()

    np.testing.assert_allclose(run(ft), run(torch), rtol=1e-6)


def test_inplace_on_a_view_of_a_leaf_that_requires_grad_raises_as_pytorch():
    for lib in (ft, torch):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            w[:2].mul_(2)
        with lib.no_grad():
            v = w[:2]
        with pytest.raises(RuntimeError, match="created in no_grad mode"):
            v.mul_(2)
        with lib.no_grad():
            w[:2].mul_(2)  # allowed: nothing is recorded
        np.testing.assert_array_equal(w.detach().numpy(), [2.0, 2.0, 1.0])
        assert w._version == 1


def test_inplace_on_a_view_of_a_graph_tensor_is_a_clear_error():
    # PyTorch rewrites the base's history (CopySlices); fastdense says it does not
    w = ft.ones(3, requires_grad=True)
    a = w * 1
    with pytest.raises(NotImplementedError, match="in-place operation on a view"):
        a[:2].mul_(2)
    x = ft.zeros(3)
    with pytest.raises(NotImplementedError, match="in-place operation on a view"):
        x[:2].copy_(w[:2] * 2)
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", {}),
        ("SGD", {"momentum": 0.9}),
        ("Adam", {}),
        ("AdamW", {}),
        ("RMSprop", {}),
        ("Adagrad", {}),
        ("Adamax", {}),
        ("NAdam", {}),
        ("RAdam", {}),
        ("Rprop", {}),
        ("ASGD", {}),
        ("Adadelta", {}),
    ],
)
def test_an_optimizer_step_bumps_the_version_as_pytorch(name, kwargs):
    def run(lib, optim):
        p = (ft.nn if lib is ft else torch.nn).Parameter(lib.ones(3))
        opt = getattr(optim, name)([p], lr=0.1, **kwargs)
        p.grad = lib.ones(3)
        v0 = p._version
        loss = (p * p).sum()  # saves p
        view_loss = (p[:2] * 2).sum()  # saves nothing of p
        opt.step()
        assert p._version > v0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()
        view_loss.backward()
        return p.grad.numpy()

    np.testing.assert_allclose(run(ft, ft_optim), run(torch, torch.optim))


def test_saved_result_through_a_view_raises_as_pytorch():
    for lib in (ft, torch):
        w = lib.ones(3, requires_grad=True)
        y = w.exp()  # saves its result
        y.detach()[1:].mul_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("dtype", ["int32", "float16", "float64"])
def test_view_dtype_reads_the_same_bytes_and_shares_the_counter_as_pytorch(dtype):
    def run(lib):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        with lib.no_grad():
            v = x.view(getattr(lib, dtype))
            assert not v.requires_grad
            v.add_(1)
        return v.numpy().copy(), x.detach().numpy().copy(), x._version

    ours, theirs = run(ft), run(torch)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2] == theirs[2]


def test_a_view_pickles_and_copies_as_a_tensor_of_its_values():
    import copy
    import pickle

    x = ft.arange(12.0).reshape(4, 3)
    for v in (x[1:], x.t(), x[2], x.expand(2, 4, 3)):
        for y in (pickle.loads(pickle.dumps(v)), copy.deepcopy(v)):
            np.testing.assert_array_equal(y.numpy(), v.numpy())
            assert y._base is None and not np.shares_memory(y.numpy(), x.numpy())
            y.add_(1)  # its own values now
    np.testing.assert_array_equal(x.numpy(), np.arange(12.0).reshape(4, 3))


@pytest.mark.parametrize("act", [None, "ReLU", "Tanh"])
@pytest.mark.parametrize("x_grad", [False, True])
@pytest.mark.parametrize("which", ["x", "W", "b", "out"])
def test_linear_saves_what_pytorch_saves(act, x_grad, which):
    # addmm saves x for W's gradient and W for x's, never the bias; relu/tanh save
    # their result (fastdense's fused Linear + activation the same)
    def run(lib, nn):
        lib.manual_seed(0)
        layers = [nn.Linear(3, 2, dtype=lib.float64)]
        if act:
            layers.append(getattr(nn, act)())
        model = nn.Sequential(*layers)
        x = lib.ones(4, 3, dtype=lib.float64, requires_grad=x_grad)
        out = model(x)
        loss = out.sum()
        target = {"x": x, "W": model[0].weight, "b": model[0].bias, "out": out}[which]
        with lib.no_grad():
            target.mul_(2)
        try:
            loss.backward()
        except RuntimeError:
            return "raised"
        return "ran"

    assert run(ft, ft.nn) == run(torch, torch.nn)
