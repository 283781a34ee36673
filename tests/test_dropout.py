"""The estimators' dropout and new activations: one step against PyTorch on the same
weights, mask and batch; predictions against the to_torch() module; reproducibility;
the doors; persistence."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import fastdense
from fastdense import (
    DenseBinaryClassifier,
    DenseClassifier,
    DenseRegressor,
    _activations,
    _train,
    interop,
)

ESTIMATORS = (DenseBinaryClassifier, DenseClassifier, DenseRegressor)
NEW = ("gelu", "silu", "elu", "softplus")


def _data(n=60, d=5, seed=0, regression=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X[:, 0] - 0.5 * X[:, 1] + 0.1 * rng.standard_normal(n)
    return X, (y if regression else (y > 0).astype(int))


def _fit(cls, **kw):
    X, y = _data(regression=cls is DenseRegressor)
    kw.setdefault("max_iter", 5)
    kw.setdefault("random_state", 0)
    with warnings.catch_warnings():  # a few epochs: not converged
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(hidden_layer_sizes=(7, 4), **kw).fit(X, y), X, y


# ---------------------------------------------------------------- the doors


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize(
    "dropout", [1.0, -0.1, 1.5, [0.1], [0.1, 0.2, 0.3], [0.1, 1.0], [0.1, float("nan")], "0.1"]
)
def test_bad_dropout_is_a_value_error_naming_it(cls, dropout):
    X, y = _data(regression=cls is DenseRegressor)
    with pytest.raises(ValueError, match="dropout"):
        cls(hidden_layer_sizes=(7, 4), dropout=dropout, max_iter=2).fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_lbfgs_refuses_dropout(cls):
    X, y = _data(regression=cls is DenseRegressor)
    with pytest.raises(ValueError, match="dropout is not available with solver='lbfgs'"):
        cls(hidden_layer_sizes=(7,), solver="lbfgs", dropout=0.1).fit(X, y)
    # dropout=0 is no dropout: lbfgs runs
    cls(hidden_layer_sizes=(7,), solver="lbfgs", dropout=[0.0], max_iter=300).fit(X, y)


@pytest.mark.parametrize("value", [-0.5, "a"])
def test_bad_leaky_relu_slope_names_it(value):
    X, y = _data()
    with pytest.raises(ValueError, match="leaky_relu_slope"):
        DenseClassifier(activation="leaky_relu", leaky_relu_slope=value).fit(X, y)


def test_bad_activation_names_it():
    X, y = _data()
    with pytest.raises(ValueError, match="activation"):
        DenseClassifier(activation="swish").fit(X, y)


# ----------------------------------------------------------- reproducibility


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_model_other_seed_other_model(cls, dtype):
    a, X, _ = _fit(cls, dropout=0.3, dtype=dtype, activation="gelu")
    b, _, _ = _fit(cls, dropout=0.3, dtype=dtype, activation="gelu")
    c, _, _ = _fit(cls, dropout=0.3, dtype=dtype, activation="gelu", random_state=1)
    assert_array_equal(a._params, b._params)
    assert a._params.dtype == np.dtype(dtype)
    d, _, _ = _fit(cls, dropout=0.3, dtype=dtype, activation="gelu", random_state=0, shuffle=False)
    assert not np.array_equal(a._params, c._params)
    assert not np.array_equal(a._params, d._params)
    # predictions are deterministic (no dropout at predict)
    assert_array_equal(a.predict(X), a.predict(X))


def test_dropout_zero_is_the_plain_model():
    a, _, _ = _fit(DenseClassifier, dropout=0.0)
    b, _, _ = _fit(DenseClassifier, dropout=[0.0, 0.0])
    from sklearn.neural_network import MLPClassifier

    X, y = _data()
    with pytest.warns(Warning):
        m = MLPClassifier(hidden_layer_sizes=(7, 4), max_iter=5, random_state=0).fit(X, y)
    assert_array_equal(a._params, b._params)
    for ours, theirs in zip(a.coefs_, m.coefs_):
        assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_partial_fit_draws_new_masks_each_call():
    X, y = _data()
    est = DenseClassifier(hidden_layer_sizes=(7,), dropout=0.5, random_state=0, shuffle=False)
    est.partial_fit(X, y, classes=[0, 1])
    plan_seeds = []
    for _ in range(2):
        before = est._params.copy()
        est.partial_fit(X, y)
        plan_seeds.append(est._params - before)
    assert not np.allclose(plan_seeds[0], plan_seeds[1])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sparse_input_and_class_weight_with_dropout(cls):
    X, y = _data(regression=cls is DenseRegressor)
    kw = {} if cls is DenseRegressor else {"class_weight": {0: 1.0, 1: 2.0}}
    dense = cls(hidden_layer_sizes=(7,), dropout=0.2, random_state=0, max_iter=3, **kw)
    sparse = cls(hidden_layer_sizes=(7,), dropout=0.2, random_state=0, max_iter=3, **kw)
    with pytest.warns(Warning):
        dense.fit(X, y)
    with pytest.warns(Warning):
        sparse.fit(sp.csr_matrix(X), y)
    assert_allclose(dense._params, sparse._params, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("activation", (*NEW, "leaky_relu", "tanh"))
def test_predictions_equal_the_torch_module_in_eval_mode(cls, activation, batch_norm):
    torch = pytest.importorskip("torch")
    est, X, _ = _fit(
        cls,
        activation=activation,
        dropout=[0.3, 0.1],
        leaky_relu_slope=0.2,
        batch_norm=batch_norm,
        batch_size=16,
    )
    module = interop.to_torch(est.module_)
    assert not module.training
    kinds = [type(m).__name__ for m in module]
    norm = ["BatchNorm1d"] if batch_norm else []
    assert kinds == (
        ["Linear", *norm, _activations.get(activation).module, "Dropout"] * 2 + ["Linear"]
    )
    with torch.no_grad():
        z = module(torch.from_numpy(X)).numpy()
    assert_allclose(est._validated_decision(X), z, rtol=1e-12, atol=1e-12)
    back = interop.from_torch(module)
    assert [type(m).__name__ for m in back] == kinds


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("activation", ("tanh", "gelu", "elu"))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_sgd_step_equals_pytorchs_on_the_same_mask(activation, dtype, batch_norm):
    """One minibatch of all rows, momentum 0, alpha 0: W - lr * grad, as torch.optim.SGD;
    with batch norm, Linear -> BatchNorm1d (training mode) -> activation -> dropout, and
    the running statistics after the step."""
    torch = pytest.importorskip("torch")
    X, y = _data(n=40, regression=True)
    X, y = X.astype(dtype), y.astype(dtype)
    p = [0.4, 0.25]
    est = DenseRegressor(
        hidden_layer_sizes=(6, 5),
        activation=activation,
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        learning_rate_init=0.1,
        dropout=p,
        shuffle=False,
        batch_size=40,
        max_iter=1,
        random_state=0,
        batch_norm=batch_norm,
    )
    with pytest.warns(Warning):
        est.fit(X, y)  # initialises the weights (and takes one step we discard)
    est._initialize([5, 6, 5, 1], np.dtype(dtype))  # fresh Glorot weights, the same stream
    W0 = [w.copy() for w in est.coefs_]
    b0 = [b.copy() for b in est.intercepts_]
    plan = est._epoch_plan(X, y.reshape(-1, 1), None, 40, False)
    from fastdense.estimators._optimizers import _SGDState

    opt = _SGDState(est._params.shape[0], np.dtype(dtype), 0.1, "constant", 0.0, True, 0.5)
    _train.stochastic_epoch(plan, opt.spec(), est._params, None)
    masks = plan.layer_masks(40)
    for mask, rate in zip(masks, p):  # 0 or 1 / (1 - p), as torch's scaled Bernoulli noise
        scale = np.array(1, dtype) / np.array(1 - rate, dtype)
        assert set(np.unique(mask)) <= {0, scale}
        assert 0 < (mask == 0).mean() < 1

    act = getattr(torch.nn, _activations.get(activation).module)()
    Ws = [torch.tensor(w.T.copy(), requires_grad=True) for w in W0]
    bs = [torch.tensor(b.copy(), requires_grad=True) for b in b0]
    tdtype = getattr(torch, np.dtype(dtype).name)
    norms = [torch.nn.BatchNorm1d(n, dtype=tdtype) for n in (6, 5)] if batch_norm else []
    h = torch.from_numpy(X)
    for i in range(3):
        h = torch.nn.functional.linear(h, Ws[i], bs[i])
        if i < 2:
            if norms:
                h = norms[i](h)
            h = act(h) * torch.from_numpy(masks[i])  # Dropout's forward: input * noise
    loss = 0.5 * torch.nn.functional.mse_loss(h, torch.from_numpy(y.reshape(-1, 1)))
    norm_params = [t for n in norms for t in (n.weight, n.bias)]
    sgd = torch.optim.SGD(Ws + bs + norm_params, lr=0.1)
    sgd.zero_grad()
    loss.backward()
    sgd.step()
    tol = 2e-6 if dtype == np.float32 else 1e-12
    for ours, theirs in zip(est.coefs_ + est.intercepts_, Ws + bs):
        theirs = theirs.detach().numpy()
        theirs = theirs.T if theirs.ndim == 2 else theirs
        assert_allclose(ours, theirs, rtol=tol, atol=tol)
    if batch_norm:
        for ours, norm in zip(est._layout.batch_norm_state(est._params), norms):
            for value, theirs in zip(
                ours, (norm.weight, norm.bias, norm.running_mean, norm.running_var)
            ):
                assert_allclose(value, theirs.detach().numpy(), rtol=tol, atol=tol)


# --------------------------------------------------------------- persistence


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_pickle_and_file_round_trip(cls, tmp_path):
    est, X, y = _fit(cls, activation="silu", dropout=[0.2, 0.0], leaky_relu_slope=0.3)
    again = pickle.loads(pickle.dumps(est))
    assert_array_equal(again.predict(X), est.predict(X))
    assert again.get_params() == est.get_params()
    path = tmp_path / "model.safetensors"
    fastdense.save(est, path)
    loaded = fastdense.load(path)
    assert loaded.dropout == [0.2, 0.0] and loaded.activation == "silu"
    assert_array_equal(loaded.predict(X), est.predict(X))
    with pytest.warns(Warning):
        loaded.set_params(warm_start=True, max_iter=2).fit(X, y)


def test_pickle_from_before_the_layer_parameters_loads():
    est, X, _ = _fit(DenseClassifier)
    state = est.__getstate__()
    for name in ("dropout", "leaky_relu_slope"):
        del state[name]
    old = DenseClassifier.__new__(DenseClassifier)
    old.__setstate__(state)
    assert old.dropout == 0.0 and old.leaky_relu_slope == 0.01
    assert_array_equal(old.predict(X), est.predict(X))


# ---------------------------------------------------------------- batch norm


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_batch_norm_with_a_one_row_minibatch_names_batch_size(cls):
    X, y = _data(n=61, regression=cls is DenseRegressor)
    with pytest.raises(ValueError, match="batch_size=20"):
        cls(hidden_layer_sizes=(7,), batch_norm=True, batch_size=20).fit(X, y)
    with pytest.raises(ValueError, match="batch_size=1"):
        cls(hidden_layer_sizes=(7,), batch_norm=True, batch_size=1).fit(X, y)
    with pytest.raises(ValueError, match="batch_norm is not available with solver='lbfgs'"):
        cls(hidden_layer_sizes=(7,), batch_norm=True, solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="batch_norm"):
        cls(hidden_layer_sizes=(7,), batch_norm="yes").fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_state_travels_with_the_network(cls, dtype, tmp_path):
    est, X, y = _fit(
        cls, batch_norm=True, dropout=0.1, activation="silu", dtype=dtype, batch_size=16
    )
    state = est._layout.batch_norm_state(est._params)
    assert len(state) == 2 and state[0][0].dtype == np.dtype(dtype)
    assert not np.array_equal(state[0][2], 0)  # the running mean moved
    # pickles, files and a re-pack after an edit of coefs_ keep it
    again = pickle.loads(pickle.dumps(est))
    assert_array_equal(again._params, est._params)
    assert_array_equal(again.predict(X), est.predict(X))
    path = tmp_path / "model.safetensors"
    fastdense.save(est, path)
    loaded = fastdense.load(path)
    assert_array_equal(loaded._params, est._params)
    assert_array_equal(loaded.predict(X), est.predict(X))
    edited = pickle.loads(pickle.dumps(est))
    edited.coefs_ = [w.copy() for w in edited.coefs_]
    assert_array_equal(edited.predict(X), est.predict(X))
    # warm start and partial_fit continue from it; toggling batch_norm is refused
    with pytest.warns(Warning):
        loaded.set_params(warm_start=True, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="batch_norm=True, now batch_norm=False"):
        loaded.set_params(batch_norm=False).fit(X, y)


def test_file_of_a_newer_format_is_refused(tmp_path):
    from fastdense import _estimator_file
    from fastdense.serialization import save_arrays

    est, X, _ = _fit(DenseClassifier, batch_norm=True, batch_size=16)
    arrays, meta = _estimator_file.estimator_arrays(est)
    assert meta[_estimator_file.FORMAT_KEY] == "2"
    meta[_estimator_file.FORMAT_KEY] = "3"
    path = tmp_path / "future.safetensors"
    save_arrays(arrays, path, metadata=meta)
    with pytest.raises(ValueError, match="format is version 3"):
        fastdense.load(path)
    plain, _, _ = _fit(DenseClassifier)  # without batch norm: version 1, which every reader reads
    assert _estimator_file.estimator_arrays(plain)[1][_estimator_file.FORMAT_KEY] == "1"


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_batch_norm_sparse_partial_fit_and_early_stopping(cls):
    X, y = _data(n=80, regression=cls is DenseRegressor)
    kw = dict(hidden_layer_sizes=(7,), batch_norm=True, random_state=0, batch_size=16, max_iter=3)
    dense = cls(**kw)
    sparse = cls(**kw)
    with pytest.warns(Warning):
        dense.fit(X, y)
    with pytest.warns(Warning):
        sparse.fit(sp.csr_matrix(X), y)
    assert_allclose(dense._params, sparse._params, rtol=1e-10, atol=1e-12)
    part = cls(**kw)
    extra = {} if cls is DenseRegressor else {"classes": [0, 1]}
    part.partial_fit(X, y, **extra)
    part.partial_fit(X, y)
    stopped = cls(**dict(kw, max_iter=30, early_stopping=True, validation_fraction=0.2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stopped.fit(X, y)
    assert np.isfinite(stopped._params).all()


def test_onnx_export_folds_the_batch_norms():
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from fastdense.onnx import to_onnx

    for dtype in ("float32", "float64"):
        est, X, _ = _fit(
            DenseClassifier, batch_norm=True, dtype=dtype, batch_size=16, activation="elu"
        )
        X = X.astype(dtype)
        for model in (est, est.module_):
            session = ort.InferenceSession(to_onnx(model).SerializeToString())
            out = session.run(None, {session.get_inputs()[0].name: X})
            want = est.predict_proba(X)[:, 1] if model is est else est._validated_decision(X)
            got = out[1][:, 1] if model is est else out[0]
            tol = 1e-5 if dtype == "float32" else 1e-12
            assert_allclose(got.reshape(want.shape), want, rtol=tol, atol=tol)
