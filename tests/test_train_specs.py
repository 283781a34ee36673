"""The compiled loops' typed descriptions (``fastdense._train``: Layout, NetSpec,
EpochPlan, OptimizerSpec) refuse what would make a loop index outside a buffer,
with a TypeError/ValueError, never a crash; and one epoch through them gives
the same numbers as the same epoch through the estimator."""

import numpy as np
import pytest

from fastdense import _train

F64 = np.float64


def _plan(dtype=F64, n=6, units=(3, 4, 2), sw=True, shuffle=True, batch=4, **over):
    net = _train.NetSpec(_train.Layout(units), 1, 0.01, _train.OUTPUT_CODES["softmax"])
    rng = np.random.RandomState(0)
    args = dict(
        X=rng.standard_normal((n, units[0])).astype(dtype),
        xs_data=np.zeros(0, dtype),
        xs_indptr=np.zeros(0, np.intp),
        xs_indices=np.zeros(0, np.intp),
        y=np.eye(units[-1], dtype=dtype)[rng.randint(0, units[-1], n)],
        sw=(np.ones(n, dtype) if sw else np.zeros(0, dtype)),
    )
    args.update(over)
    return net, _train.EpochPlan(
        net,
        args["X"],
        args["xs_data"],
        args["xs_indptr"],
        args["xs_indices"],
        args["y"],
        args["sw"],
        1e-4,
        batch,
        shuffle,
    )


def test_layout_is_scikit_learns_pack_order_and_read_only():
    lay = _train.Layout([3, 4, 2])
    assert list(lay.coef_off) == [0, 12] and list(lay.icpt_off) == [20, 24]
    assert (lay.n_params, lay.width, lay.widest, lay.n_layers) == (26, 6, 4, 2)
    with pytest.raises(ValueError):
        lay.units[0] = 100  # the loops index with these: never writeable
    for bad in ([3], [3, 0, 1], [2] * (_train.MAX_WEIGHT_LAYERS + 2)):
        with pytest.raises(ValueError, match="layer widths"):
            _train.Layout(bad)


@pytest.mark.parametrize(
    "args, match",
    [
        ((9, 0.01, 0), "activation code"),
        ((1, 0.01, 7), "output code"),
        ((1, -1.0, 0), "slope"),
        ((1, float("nan"), 0), "slope"),
    ],
)
def test_netspec_refuses_unknown_codes(args, match):
    with pytest.raises(ValueError, match=match):
        _train.NetSpec(_train.Layout([3, 1]), *args)


@pytest.mark.parametrize(
    "over, err",
    [
        ({"X": np.zeros((6, 5))}, ValueError),  # wrong width
        ({"X": np.zeros((5, 3))}, ValueError),  # rows disagree with y
        ({"X": np.zeros((6, 3), np.float32)}, TypeError),  # mixed dtypes
        ({"X": np.zeros((3, 6)).T}, TypeError),  # not C-contiguous
        ({"X": [[0.0] * 3] * 6}, TypeError),  # not an ndarray
        ({"y": np.zeros((6, 3))}, ValueError),  # y's width is not the output's
        ({"sw": np.ones(5)}, ValueError),
        ({"X": np.zeros((0, 3)), "xs_indptr": np.zeros(3, np.intp)}, ValueError),  # CSR rows
        ({"xs_indices": np.zeros(2, np.int32)}, TypeError),  # index arrays are np.intp
    ],
)
def test_epoch_plan_refuses_inconsistent_data(over, err):
    with pytest.raises(err):
        _plan(**over)


def test_entry_points_refuse_mismatched_params_state_and_order():
    net, plan = _plan()
    n_params = net.layout.n_params
    params = np.zeros(n_params)
    opt = _train.OptimizerSpec(
        _train.SOLVER_ADAM,
        np.zeros(n_params),
        np.zeros(n_params),
        1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
    )
    order = np.arange(6, dtype=np.intp)
    with pytest.raises(ValueError, match="entries"):
        _train.stochastic_epoch(plan, opt, np.zeros(n_params + 1), order)
    with pytest.raises(TypeError, match="dtype"):
        _train.stochastic_epoch(plan, opt, np.zeros(n_params, np.float32), order)
    with pytest.raises(ValueError, match="order"):
        _train.stochastic_epoch(plan, opt, params, None)
    with pytest.raises(ValueError, match="order"):
        _train.stochastic_epoch(plan, opt, params, order[:5])
    small = _train.OptimizerSpec(_train.SOLVER_SGD, np.zeros(n_params - 1), None, 0.1)
    with pytest.raises(ValueError, match="optimizer state"):
        _train.stochastic_epoch(plan, small, params, order)
    with pytest.raises(ValueError, match="batch_size"):
        _train.loss_grad(plan, params, np.zeros(n_params))  # batch 4 < 6 rows
    with pytest.raises(TypeError):
        _train.OptimizerSpec(_train.SOLVER_ADAM, np.zeros(n_params), None, 1e-3)
    with pytest.raises(ValueError, match="shape and dtype"):
        _train.OptimizerSpec(_train.SOLVER_ADAM, np.zeros(3), np.zeros(4), 1e-3)
    with pytest.raises(ValueError, match="solver code"):
        _train.OptimizerSpec(5, np.zeros(3), None, 1e-3)
    read_only = np.zeros(n_params)
    read_only.flags.writeable = False
    with pytest.raises(TypeError, match="writeable"):
        _train.OptimizerSpec(_train.SOLVER_SGD, read_only, None, 1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_epoch_advances_t_and_full_batch_loss_matches(dtype):
    net, plan = _plan(dtype, batch=4)
    n_params = net.layout.n_params
    params = np.random.RandomState(1).uniform(-1, 1, n_params).astype(dtype)
    opt = _train.OptimizerSpec(
        _train.SOLVER_ADAM,
        np.zeros(n_params, dtype),
        np.zeros(n_params, dtype),
        1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
    )
    _, full = _plan(dtype, batch=6, shuffle=False)
    grads = np.empty(n_params, dtype)
    loss0 = _train.loss_grad(full, params, grads)
    # one minibatch of all rows in order: its loss is the full-batch loss
    _, one = _plan(dtype, batch=6, shuffle=False)
    acc, done, error = _train.stochastic_epoch(one, opt, params.copy(), None)
    assert (done, error, opt.t) == (6, None, 1)
    np.testing.assert_allclose(acc / 6, loss0, rtol=1e-6)
    acc, done, error = _train.stochastic_epoch(plan, opt, params, np.arange(6, dtype=np.intp))
    assert (done, error, opt.t) == (6, None, 3)  # two more minibatches (4 + 2 rows)


def test_layouts_compare_by_their_widths():
    assert _train.Layout([3, 4, 2]) == _train.Layout((3, 4, 2))
    assert _train.Layout([3, 4, 2]) != _train.Layout([3, 5, 2])
    assert len({_train.Layout([3, 1]), _train.Layout([3, 1])}) == 1
    assert repr(_train.Layout([3, 1])) == "Layout([3, 1])"
