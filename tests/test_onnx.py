"""ONNX export (fastdense.onnx), every exported model run in onnxruntime.

Tolerances, against fastdense's own predict_proba / predict / module output:
probabilities to 1e-12 relative in float64 (1e-5 in float32), with an
absolute floor of 1e-15 (float64) / 1e-7 (float32) for the ``1 - p`` column,
where both compute ``1 - p`` and an ulp of p near 1 is all that differs;
labels identical; logits to 1e-12 (1e-5) relative to their largest magnitude.
"""

import io
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

import fastdense  # noqa: E402
from fastdense import DenseBinaryClassifier, nn  # noqa: E402
from fastdense.onnx import to_onnx  # noqa: E402

ACTIVATIONS = ["relu", "tanh", "logistic", "identity", "leaky_relu"]
DTYPES = [np.float64, np.float32]
TOL = {np.float64: (1e-12, 1e-15), np.float32: (1e-5, 1e-7)}


def session(model):
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def fit(activation="relu", dtype=np.float64, labels=("no", "yes"), hidden=(7, 3), X=None, **kw):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 5)) if X is None else X
    dense = X.toarray() if hasattr(X, "toarray") else X
    y = np.where(dense[:, 0] + dense[:, 1] > 0, labels[1], labels[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DenseBinaryClassifier(
            hidden,
            activation=activation,
            max_iter=40,
            random_state=0,
            dtype=np.dtype(dtype).name,
            **kw,
        ).fit(X, y)


def inputs(n_features, dtype):
    """Random rows, edge values (zeros, large magnitudes), one row, many rows."""
    rng = np.random.default_rng(1)
    scales = np.array([1, 10, 1e2, 1e3, 1e4])[:n_features]
    yield rng.standard_normal((300, n_features)).astype(dtype)
    yield np.zeros((1, n_features), dtype=dtype)
    yield (rng.standard_normal((64, n_features)) * scales).astype(dtype)
    yield (rng.standard_normal((64, n_features)) * 1e-8).astype(dtype)
    yield rng.standard_normal((1, n_features)).astype(dtype)
    yield rng.standard_normal((20_000, n_features)).astype(dtype)


def check_classifier(clf, dtype, model=None):
    model = to_onnx(clf) if model is None else model
    s = session(model)
    assert [o.name for o in s.get_outputs()] == ["label", "probabilities"]
    rtol, atol = TOL[dtype]
    for X in inputs(clf.n_features_in_, dtype):
        label, proba = s.run(None, {"X": X})
        assert proba.dtype == dtype and proba.shape == (len(X), 2)
        np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=rtol, atol=atol)
        expected = clf.predict(X)
        assert label.shape == expected.shape
        assert label.tolist() == expected.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_estimator_matches_predict_proba(activation, dtype):
    check_classifier(fit(activation, dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layouts_and_opsets_agree(dtype):
    clf = fit("leaky_relu", dtype)
    for layout in ("gemm", "matmul"):
        for opset in (13, None):
            model = to_onnx(clf, layout=layout, opset=opset)
            ops = {n.op_type for n in model.graph.node}
            assert ("Gemm" in ops) == (layout == "gemm")
            check_classifier(clf, dtype, model)


@pytest.mark.parametrize(
    "labels, expected",
    [
        ((3, 7), [3, 7]),
        ((False, True), [0, 1]),
        ((0.0, 1.0), [0, 1]),
        (("ham", "spam"), ["ham", "spam"]),
    ],
)
def test_label_kinds(labels, expected):
    clf = fit(labels=labels)
    s = session(to_onnx(clf))
    X = np.random.default_rng(2).standard_normal((50, 5))
    label, _ = s.run(None, {"X": X})
    assert label.tolist() == [expected[int(c == clf.classes_[1])] for c in clf.predict(X)]


def test_non_integer_float_labels_refused():
    clf = fit(labels=(0.0, 1.0))
    clf.classes_ = np.array([0.5, 1.5])  # scikit-learn's fit refuses these as "continuous"
    with pytest.raises(ValueError, match="integer values"):
        to_onnx(clf)


def test_sparse_trained_model():
    import scipy.sparse as sp

    X = sp.random(200, 6, density=0.3, format="csr", random_state=3) * 3
    clf = fit(X=X.tocsr())
    s = session(to_onnx(clf))
    Xt = sp.random(40, 6, density=0.3, format="csr", random_state=4)
    label, proba = s.run(None, {"X": Xt.toarray()})
    np.testing.assert_allclose(proba, clf.predict_proba(Xt), rtol=1e-12, atol=1e-15)
    assert label.tolist() == clf.predict(Xt).tolist()


def test_graph_shape_names_and_metadata():
    clf = fit(dtype=np.float32)
    model = to_onnx(clf)
    (inp,) = model.graph.input
    dims = inp.type.tensor_type.shape.dim
    assert inp.name == "X" and dims[0].dim_param == "batch" and dims[1].dim_value == 5
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    props = {p.key: p.value for p in model.metadata_props}
    assert props["fastdense_version"] == fastdense.__version__
    assert '"hidden_layer_sizes": [7, 3]' in props["params"]
    assert fastdense.__version__ in model.doc_string and "max_iter" in model.doc_string
    assert model.producer_name == "fastdense"
    assert "Sigmoid" not in {n.op_type for n in model.graph.node}  # see _graph.sigmoid
    # dtype= overrides the fitted dtype
    wide = to_onnx(clf, dtype="float64")
    assert wide.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_zipmap_options():
    clf = fit(dtype=np.float32)
    X = np.random.default_rng(5).standard_normal((20, 5)).astype(np.float32)
    proba = clf.predict_proba(X)
    s = session(to_onnx(clf, zipmap=True))
    assert [o.name for o in s.get_outputs()] == ["output_label", "output_probability"]
    label, maps = s.run(None, {"X": X})
    assert label.tolist() == clf.predict(X).tolist()
    assert [sorted(m) for m in maps] == [["no", "yes"]] * 20
    np.testing.assert_allclose([[m["no"], m["yes"]] for m in maps], proba, rtol=1e-5)
    s = session(to_onnx(clf, zipmap="columns"))
    assert [o.name for o in s.get_outputs()] == ["output_label", "sno", "syes"]
    label, p0, p1 = s.run(None, {"X": X})
    np.testing.assert_allclose(np.column_stack([p0, p1]), proba, rtol=1e-5)
    s = session(to_onnx(fit(labels=(0, 1), dtype=np.float64), zipmap="columns"))
    assert [o.name for o in s.get_outputs()] == ["output_label", "i0", "i1"]
    with pytest.raises(ValueError, match="ZipMap takes tensor\\(float\\) only"):
        to_onnx(fit(), zipmap=True)


def test_names_match_skl2onnx_mlpclassifier():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.neural_network import MLPClassifier

    X = np.random.default_rng(6).standard_normal((80, 5)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "yes", "no")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((4,), max_iter=20, random_state=0).fit(X, y)
    clf = fit(dtype=np.float32)
    for zipmap in (False, True, "columns"):
        theirs = skl2onnx.to_onnx(mlp, X[:1], options={"zipmap": zipmap})
        ours = to_onnx(clf, zipmap=zipmap)
        shape = [
            (
                o.name,
                str(o.type).replace('dim_param: "batch"', "").replace(" ", "").replace("\n", ""),
            )
            for o in ours.graph.output
        ]
        ref = [
            (o.name, str(o.type).replace(" ", "").replace("\n", "")) for o in theirs.graph.output
        ]
        assert [n for n, _ in shape] == [n for n, _ in ref]
        for (_, a), (_, b) in zip(shape, ref):
            assert a.replace("dim{}", "") == b.replace("dim{}", "")


def test_bad_arguments():
    clf = fit()
    with pytest.raises(NotFittedError):
        to_onnx(DenseBinaryClassifier())
    with pytest.raises(TypeError, match="DenseBinaryClassifier, DenseClassifier or Dense"):
        to_onnx(object())
    with pytest.raises(TypeError, match="Sequential"):
        to_onnx(nn.Linear(3, 1))
    with pytest.raises(ValueError, match="opset"):
        to_onnx(clf, opset=5)
    with pytest.raises(TypeError, match="opset"):
        to_onnx(clf, opset="19")
    with pytest.raises(ValueError, match="dtype"):
        to_onnx(clf, dtype="float16")
    with pytest.raises(ValueError, match="zipmap"):
        to_onnx(clf, zipmap="yes")
    with pytest.raises(ValueError, match="zipmap"):
        to_onnx(clf, zipmap=1)
    with pytest.raises(ValueError, match="layout"):
        to_onnx(clf, layout="conv")
    clf.coefs_[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        to_onnx(clf)
    clf = fit()
    clf.classes_ = np.array(["a", "b", "c"])
    with pytest.raises(ValueError, match="2 labels"):
        to_onnx(clf)
    clf = fit()
    clf.coefs_ = clf.coefs_[:1]
    with pytest.raises(ValueError, match="one array per layer"):
        to_onnx(clf)


# ------------------------------------------------------------------ Sequential


def _seq(dtype):
    fastdense.manual_seed(0)
    return nn.Sequential(
        nn.Linear(5, 8, dtype=dtype),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Sequential(nn.Linear(8, 6, dtype=dtype), nn.LeakyReLU(0.2)),
        nn.Linear(6, 4, bias=False, dtype=dtype),
        nn.Tanh(),
        nn.Identity(),
        nn.Linear(4, 3, dtype=dtype),
        nn.Sigmoid(),
        nn.Linear(3, 2, dtype=dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_matches_module(dtype):
    model = _seq(dtype).eval()
    for layout in ("gemm", "matmul"):
        onx = to_onnx(model, layout=layout)
        s = session(onx)
        assert [i.name for i in s.get_inputs()] == ["input"]
        assert [o.name for o in s.get_outputs()] == ["output"]
        assert s.get_outputs()[0].shape == ["batch", 2]
        for X in inputs(5, dtype):
            (out,) = s.run(None, {"input": X})
            ref = np.asarray(model(X)._value())
            assert out.dtype == dtype
            rtol = TOL[dtype][0]
            np.testing.assert_allclose(out, ref, rtol=rtol, atol=rtol * np.abs(ref).max())


def test_sequential_of_estimator_is_decision_function():
    clf = fit("tanh")
    s = session(to_onnx(clf.module_))
    X = np.random.default_rng(7).standard_normal((30, 5))
    (z,) = s.run(None, {"input": X})
    np.testing.assert_allclose(z[:, 0], clf.decision_function(X), rtol=1e-12, atol=1e-14)


def test_sequential_refusals():
    with pytest.raises(TypeError, match="BCEWithLogitsLoss"):
        to_onnx(nn.Sequential(nn.Linear(2, 1), nn.BCEWithLogitsLoss()))
    with pytest.raises(ValueError, match="no Linear"):
        to_onnx(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="follows a layer"):
        to_onnx(nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)))
    mixed = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1, dtype=np.float64))
    with pytest.raises(ValueError, match="mixes"):
        to_onnx(mixed)
    x = np.ones((2, 2))
    (out,) = session(to_onnx(mixed, dtype="float64")).run(None, {"input": x})
    (w0, b0), (w1, b1) = [
        (np.asarray(m.weight._value(), np.float64), np.asarray(m.bias._value(), np.float64))
        for m in mixed
    ]
    np.testing.assert_allclose(out, (x @ w0.T + b0) @ w1.T + b1, rtol=1e-12)
    with pytest.raises(ValueError, match="zipmap"):
        to_onnx(nn.Sequential(nn.Linear(2, 1)), zipmap=True)


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_torch_onnx_export_agrees(dynamo):
    torch = pytest.importorskip("torch")
    if dynamo:  # torch's default exporter since 2.9 needs onnxscript
        pytest.importorskip(
            "onnxscript",
            reason="torch.onnx.export(dynamo=True) needs onnxscript (pip install onnxscript)",
        )
    model = _seq(np.float32).eval()
    tmodel = fastdense.to_torch(model).eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                tmodel,
                (torch.zeros(1, 5),),
                buf,
                input_names=["input"],
                output_names=["output"],
                dynamo=dynamo,
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            )
    except (ImportError, ModuleNotFoundError) as exc:  # pragma: no cover
        pytest.skip(f"torch.onnx.export needs a package that is not installed: {exc}")
    theirs = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    ours = session(to_onnx(model))
    for X in inputs(5, np.float32):
        (a,) = theirs.run(None, {"input": X})
        (b,) = ours.run(None, {"input": X})
        with torch.no_grad():
            ref = tmodel(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


# -------------------------------------------------------------------- skl2onnx


@pytest.mark.parametrize("dtype", DTYPES)
def test_skl2onnx_pipeline(dtype):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from fastdense.onnx import register_skl2onnx

    register_skl2onnx()
    register_skl2onnx()  # idempotent
    rng = np.random.default_rng(8)
    X = (rng.standard_normal((200, 5)) * [1, 10, 100, 0.1, 3] + 5).astype(dtype)
    y = np.where(X[:, 0] + X[:, 1] / 10 > 5, "yes", "no")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "clf",
                    DenseBinaryClassifier((6,), activation="tanh", max_iter=30, random_state=0),
                ),
            ]
        ).fit(X, y)
    clf = pipe.steps[-1][1]
    model = skl2onnx.to_onnx(pipe, X[:1], options={id(clf): {"zipmap": False}})
    s = session(model)
    assert [o.name for o in s.get_outputs()] == ["label", "probabilities"]
    Xt = (rng.standard_normal((500, 5)) * [1, 10, 100, 0.1, 3] + 5).astype(dtype)
    label, proba = s.run(None, {"X": Xt})
    rtol, atol = TOL[dtype]
    # StandardScaler in ONNX is Sub + Div, as in NumPy; tolerance as for the model alone
    np.testing.assert_allclose(proba, pipe.predict_proba(Xt), rtol=10 * rtol, atol=atol)
    assert label.tolist() == pipe.predict(Xt).tolist()
    if dtype == np.float32:  # skl2onnx's default zipmap=True (ZipMap takes float32 only)
        s = session(skl2onnx.to_onnx(pipe, X[:1]))
        label, maps = s.run(None, {"X": Xt})
        assert label.tolist() == pipe.predict(Xt).tolist() and sorted(maps[0]) == ["no", "yes"]
        # skl2onnx's other classifier options: class indices, and the labels as an output
        s = session(
            skl2onnx.to_onnx(pipe, X[:1], options={id(clf): {"zipmap": False, "nocl": True}})
        )
        assert s.run(None, {"X": Xt})[0].tolist() == (pipe.predict(Xt) == "yes").tolist()
        s = session(
            skl2onnx.to_onnx(
                pipe, X[:1], options={id(clf): {"zipmap": False, "output_class_labels": True}}
            )
        )
        assert s.run(None, {"X": Xt})[2].tolist() == ["no", "yes"]


def test_import_fastdense_does_not_import_onnx():
    code = (
        "import sys, fastdense; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('onnx', 'onnxruntime', 'skl2onnx')]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_root())
    code = (
        "import sys, fastdense.onnx; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('onnx', 'onnxruntime', 'skl2onnx', 'sklearn')]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_root())
    # exporting a Sequential needs onnx, not scikit-learn
    code = (
        "import sys, fastdense.onnx as fo; from fastdense import nn; "
        "fo.to_onnx(nn.Sequential(nn.Linear(2, 1))); assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_root())


def _root():
    return os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))


# ------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    pd = pytest.importorskip("pandas")
    d = tmp_path_factory.mktemp("cli_onnx")
    rng = np.random.default_rng(9)
    n = 240
    df = pd.DataFrame(
        {
            "a": rng.standard_normal(n) * 10 + 3,
            "colour": rng.choice(["red", "green", "blue"], n),
            "b": rng.standard_normal(n),
            "flag": rng.random(n) > 0.5,
            "size": rng.choice(["S", "M", "L"], n),
            "c": rng.integers(0, 5, n),
        }
    )
    df["y"] = np.where(df.a / 10 + df.b + (df.colour == "red") > 0.5, "pos", "neg")
    df.to_csv(d / "data.csv", index=False)
    # train in a child process: run_train's output stream is bound at import time
    for args in (
        ["--one-hot", "--hidden", "6", "--max-iter", "30", "--out", "m.safetensors"],
        ["--drop", "colour,size", "--no-scale", "--max-iter", "20", "--out", "plain.safetensors"],
    ):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fastdense",
                "train",
                "data.csv",
                "--target",
                "y",
                "--quiet",
                *args,
            ],
            cwd=d,
            check=True,
            capture_output=True,
            env=dict(os.environ, PYTHONPATH=_root()),
        )
    return d, df


def _cli_feeds(model, df):
    props = {p.key: p.value for p in model.metadata_props}
    import json

    feeds = {}
    numeric = json.loads(props["numeric_columns"])
    if numeric:
        feeds["X"] = df[numeric].astype(np.float64).to_numpy()
    for c in json.loads(props["one_hot"]):
        feeds[c] = df[[c]].astype(str).to_numpy().astype(object)
    return feeds


@pytest.mark.parametrize("name, extra", [("m", []), ("m", ["--float32"]), ("plain", [])])
def test_cli_export(cli_model, name, extra, capsys):
    import pandas as pd

    from fastdense.cli import main

    d, df = cli_model
    onx = d / f"{name}{len(extra)}.onnx"
    assert main(["export", str(d / f"{name}.safetensors"), "--onnx", str(onx), *extra]) == 0
    assert "not in the graph" in capsys.readouterr().out
    assert (
        main(
            [
                "predict",
                str(d / f"{name}.safetensors"),
                str(d / "data.csv"),
                "--out",
                str(d / "p.csv"),
            ]
        )
        == 0
    )
    preds = pd.read_csv(d / "p.csv", dtype={"prediction": str})
    model = onnx.load(str(onx))
    s = session(model)
    names = [i.name for i in s.get_inputs()]
    assert names == (["X", "colour", "size"] if name == "m" else ["X"])
    label, proba = s.run(None, _cli_feeds(model, df))
    assert label.tolist() == preds["prediction"].tolist()
    rtol = 1e-5 if extra else 1e-12
    # the CSV holds the predictions as text (shortest round-trip repr: exact)
    np.testing.assert_allclose(proba, preds.iloc[:, 1:].to_numpy(), rtol=rtol)


def test_cli_export_errors(cli_model, tmp_path, capsys):
    from fastdense.cli import main

    d, _ = cli_model
    assert main(["export", str(tmp_path / "nope.safetensors"), "--onnx", "x.onnx"]) == 2
    assert "no such file" in capsys.readouterr().err
    fastdense.save(fit(), tmp_path / "est.safetensors")
    assert (
        main(["export", str(tmp_path / "est.safetensors"), "--onnx", str(tmp_path / "x.onnx")]) == 2
    )
    assert "not a fastdense command-line model file" in capsys.readouterr().err
    assert (
        main(["export", str(d / "m.safetensors"), "--onnx", str(tmp_path / "no" / "x.onnx")]) == 2
    )
    assert (
        main(["export", str(d / "m.safetensors"), "--onnx", str(tmp_path / "x.onnx"), "--zipmap"])
        == 2
    )
    assert "ZipMap" in capsys.readouterr().err
    assert (
        main(
            [
                "export",
                str(d / "m.safetensors"),
                "--onnx",
                str(tmp_path / "x.onnx"),
                "--opset",
                "15",
            ]
        )
        == 2
    )
    assert "opset >= 19" in capsys.readouterr().err
