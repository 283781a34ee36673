"""Persistence: pickle/joblib round trips and fastdense.save/load (safetensors, no pickle)."""

import io
import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import fastdense as fd
from fastdense import DenseBinaryClassifier, _version, nn, optim


def _data(n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] - X[:, 1] > 0).astype(int)


def _fit(**kw):
    X, y = _data()
    params = dict(hidden_layer_sizes=(6, 3), max_iter=8, random_state=0)
    params.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DenseBinaryClassifier(**params).fit(X, y)


def _pickle(obj):
    return pickle.loads(pickle.dumps(obj))


def _joblib(obj):
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return joblib.load(buf)


def _same_model(a, b):
    assert len(a.coefs_) == len(b.coefs_)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def _resume(est, X, y, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "partial_fit":
            for _ in range(3):
                est.partial_fit(X, y)
        else:
            est.set_params(warm_start=True, max_iter=4).fit(X, y)
    return est


@pytest.mark.parametrize("roundtrip", [_pickle, _joblib, "save"])
@pytest.mark.parametrize(
    "solver, dtype", [("adam", "float64"), ("sgd", "float32"), ("lbfgs", "float64")]
)
def test_estimator_round_trip_predicts_and_resumes_bit_identically(
    tmp_path, roundtrip, solver, dtype
):
    X, y = _data()
    est = _fit(solver=solver, dtype=dtype)
    if roundtrip == "save":
        fd.save(est, tmp_path / "est.safetensors")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # same version: no warning
            copy = fd.load(tmp_path / "est.safetensors")
    else:
        copy = roundtrip(est)
    assert type(copy) is DenseBinaryClassifier
    assert copy.get_params() == est.get_params() or roundtrip == "save"
    for method in ("predict", "predict_proba", "decision_function"):
        np.testing.assert_array_equal(getattr(copy, method)(X), getattr(est, method)(X))
    kind = "warm_start" if solver == "lbfgs" else "partial_fit"
    _same_model(_resume(copy, X, y, kind), _resume(est, X, y, kind))


def test_save_load_keeps_string_classes_feature_names_and_class_weight(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    labels = np.array(["neg", "pos"])[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = DenseBinaryClassifier(
            (5,),
            max_iter=5,
            random_state=0,
            dtype=np.float32,
            class_weight={"neg": 1.0, "pos": 3.0},
        ).fit(frame, labels)
    fd.save(est, tmp_path / "m.safetensors")
    copy = fd.load(tmp_path / "m.safetensors")
    assert list(copy.classes_) == ["neg", "pos"]
    assert list(copy.feature_names_in_) == ["a", "b", "c", "d"]
    assert copy.class_weight == {"neg": 1.0, "pos": 3.0}
    assert copy.dtype == "float32" and copy.coefs_[0].dtype == np.float32
    np.testing.assert_array_equal(copy.predict(frame), est.predict(frame))
    with pytest.warns(UserWarning, match="feature names"):
        copy.predict(X)  # the names are checked as after fit


def test_nn_module_and_optimizer_round_trips_resume_identically():
    fd.manual_seed(0)
    X, y = _data(64)
    X, y = X.astype(np.float32), y.reshape(-1, 1).astype(np.float32)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.BCEWithLogitsLoss()

    def step(m, o):
        o.zero_grad()
        loss = loss_fn(m(X), y)
        loss.backward()
        o.step()
        return loss.item()

    for _ in range(3):
        step(model, opt)
    for roundtrip in (_pickle, _joblib):
        m2, o2 = roundtrip((model, opt))
        assert o2.param_groups[0]["params"][0] is m2[0].weight  # still linked
        np.testing.assert_array_equal(m2(X).numpy(), model(X).numpy())
        ma, oa = _pickle((model, opt))
        losses = [step(ma, oa) for _ in range(3)]
        assert [step(m2, o2) for _ in range(3)] == losses
        for p, q in zip(ma.parameters(), m2.parameters()):
            np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_pickle_mid_step_keeps_gradients():
    fd.manual_seed(1)
    lin = nn.Linear(3, 1)
    nn.BCEWithLogitsLoss()(lin(np.ones((2, 3))), np.ones((2, 1))).backward()
    copy = _pickle(lin)
    np.testing.assert_array_equal(copy.weight.grad, lin.weight.grad)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _fit(),
        lambda: nn.Sequential(nn.Linear(2, 2), nn.Tanh()),
        lambda: optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9),
    ],
)
def test_pickles_record_the_version_and_warn_when_loaded_by_another(monkeypatch, make):
    blob = pickle.dumps(make())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(blob)  # same version: silent
    monkeypatch.setattr(_version, "__version__", "99.0.0")
    with pytest.warns(fd.VersionWarning, match="saved with fastdense .* into fastdense 99.0.0"):
        pickle.loads(blob)


def test_nn_state_dict_file_loads_into_fastdense_and_torch(tmp_path):
    fd.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    path = tmp_path / "model.safetensors"
    fd.save(model, path)
    state = fd.load(path)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    fd.manual_seed(3)
    other = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    other.load_state_dict(state)
    X = _data(10)[0].astype(np.float32)
    np.testing.assert_array_equal(other(X).numpy(), model(X).numpy())

    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    tmodel.load_state_dict(load_file(str(path)))
    with torch.no_grad():
        np.testing.assert_allclose(
            tmodel(torch.from_numpy(X)).numpy(), model(X).numpy(), rtol=1e-5, atol=1e-6
        )


def test_plain_mappings_of_arrays_and_tensors(tmp_path):
    arrays = {
        "w": np.arange(6, dtype=np.float32).reshape(2, 3),
        "t": fd.Tensor(np.ones(3)),
        "flags": np.array([True, False]),
    }
    fd.save(arrays, tmp_path / "a.safetensors")
    back = fd.load(tmp_path / "a.safetensors")
    assert list(back) == ["w", "t", "flags"]
    np.testing.assert_array_equal(back["w"], arrays["w"])
    np.testing.assert_array_equal(back["t"], np.ones(3))
    assert back["flags"].dtype == np.bool_


def test_load_never_unpickles(tmp_path, monkeypatch):
    fd.save(_fit(), tmp_path / "e.safetensors")

    def refuse(*a, **k):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    assert fd.load(tmp_path / "e.safetensors").predict(_data()[0]).shape == (120,)


def test_load_rejects_truncated_and_damaged_files(tmp_path):
    path = tmp_path / "e.safetensors"
    fd.save(_fit(), path)
    blob = path.read_bytes()
    for cut in (0, 7, 50, len(blob) - 9):
        path.write_bytes(blob[:cut])
        with pytest.raises(ValueError):
            fd.load(path)
    # a header whose estimator metadata was tampered with
    from fastdense.serialization import load_arrays, save_arrays

    path.write_bytes(blob)
    arrays, meta = load_arrays(path)
    meta["fitted"] = "{not json"
    save_arrays(arrays, path, metadata=meta)
    with pytest.raises(ValueError, match="damaged"):
        fd.load(path)


def test_file_from_another_version_warns(tmp_path):
    from fastdense.serialization import save_arrays

    save_arrays(
        {"w": np.ones(2)}, tmp_path / "old.safetensors", metadata={"fastdense_version": "0.0.1"}
    )
    with pytest.warns(fd.VersionWarning, match="0.0.1"):
        fd.load(tmp_path / "old.safetensors")


def test_crash_mid_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    fd.save(_fit(), path)
    before = path.read_bytes()

    def crash(fd_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        fd.save(_fit(max_iter=3), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_save_rejects_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="nn.Module"):
        fd.save(object(), tmp_path / "x.safetensors")
    with pytest.raises(NotFittedError):
        fd.save(DenseBinaryClassifier(), tmp_path / "x.safetensors")
    est = _fit()
    est.set_params(scoring=lambda e, X, y: 0.0)
    with pytest.raises(TypeError, match="callable"):
        fd.save(est, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)
