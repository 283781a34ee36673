"""The command line, run as a user runs it: `python -m fastdense ...` in a subprocess."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastdense

pd = pytest.importorskip("pandas")

# the fastdense these tests imported (installed or built in place) is the one the CLI runs
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))


def run(*args, cwd, timeout=240):
    env = dict(os.environ)
    env["PYTHONPATH"] = _ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("COLUMNS", None)
    return subprocess.run(
        [sys.executable, "-m", "fastdense", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_usage_error(res, *fragments):
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "error" in lines[0]
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from sklearn.datasets import make_classification

    d = tmp_path_factory.mktemp("cli")
    X, y = make_classification(
        240, n_features=5, n_informative=4, n_redundant=0, class_sep=2.0, random_state=0
    )
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    df["color"] = np.where(X[:, 0] > 0, "red", "blue")
    df["label"] = np.where(y == 1, "yes", "no")
    df.to_csv(d / "mixed.csv", index=False)
    df.drop(columns=["color"]).to_csv(d / "num.csv", index=False)
    df.drop(columns=["f2"]).to_csv(d / "missing_col.csv", index=False)
    three = df.copy()
    three.loc[:10, "label"] = "maybe"
    three.to_csv(d / "three.csv", index=False)
    nan = df.drop(columns=["color"]).copy()
    nan.loc[3, "f1"] = np.nan
    nan.to_csv(d / "nan.csv", index=False)
    (d / "empty.csv").write_text("")
    df.to_csv(d / "semicolon.csv", index=False, sep=";")
    text_nan = df.copy()
    text_nan.loc[[2, 5], "color"] = np.nan
    text_nan.to_csv(d / "text_nan.csv", index=False)
    inf = df.drop(columns=["color"]).copy()
    inf.loc[4, "f3"] = np.inf
    inf.loc[7, "f0"] = -np.inf
    inf.to_csv(d / "inf.csv", index=False)
    return d


def test_main_job(tmp_path):
    res = run("--out", "m.safetensors", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "breast cancer" in out
    # progress per epoch (plain lines: stdout is not a terminal)
    epochs = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(epochs) >= 5 and epochs[0].startswith("epoch    1/200  loss ")
    assert "fastdense DenseBinaryClassifier | 0.9" in out
    assert "scikit-learn MLPClassifier | 0.9" in out
    assert "Speed-up: " in out
    # the multi-class and regression runs, each beside scikit-learn's MLP
    assert "| fastdense DenseClassifier | 0.9" in out and "| scikit-learn MLPClassifier |" in out
    assert "| fastdense DenseRegressor | 0." in out and "| scikit-learn MLPRegressor |" in out
    assert (tmp_path / "m.safetensors").is_file()

    # the saved model predicts the breast cancer data as well as it trained
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    data.frame.to_csv(tmp_path / "bc.csv", index=False)
    res = run("predict", "m.safetensors", "bc.csv", "--out", "p.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["prediction", "proba_0", "proba_1"]
    np.testing.assert_allclose(preds["proba_0"] + preds["proba_1"], 1.0)
    assert len(preds) == 569
    assert np.mean(preds["prediction"].to_numpy() == data.target.to_numpy()) > 0.95
    assert ((preds["proba_1"] >= 0) & (preds["proba_1"] <= 1)).all()


def test_train_predict_roundtrip(data_dir, tmp_path):
    res = run(
        "train",
        data_dir / "num.csv",
        "--target",
        "label",
        "--hidden",
        "16,8",
        "--max-iter",
        "60",
        "--learning-rate-init",
        "0.01",
        "--out",
        tmp_path / "m.safetensors",
        "--cv",
        "3",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "epoch    1/60" in res.stdout and "3-fold cross-validated accuracy" in res.stdout
    train_acc = float(res.stdout.split("training accuracy ")[1].split()[0])
    assert train_acc > 0.85

    res = run("predict", tmp_path / "m.safetensors", data_dir / "num.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "prediction,proba_no,proba_yes" and len(lines) == 241
    labels = [line.split(",")[0] for line in lines[1:]]
    truth = pd.read_csv(data_dir / "num.csv")["label"].tolist()
    # the CLI's predictions are the model's: same training accuracy as reported
    assert abs(np.mean(np.array(labels) == np.array(truth)) - train_acc) < 1e-3


def test_one_hot_and_plot(data_dir, tmp_path):
    pytest.importorskip("matplotlib")
    res = run(
        "train",
        data_dir / "mixed.csv",
        "--target",
        "label",
        "--one-hot",
        "--hidden",
        "8",
        "--max-iter",
        "30",
        "--early-stopping",
        "--quiet",
        "--plot",
        "curve.png",
        "--out",
        "m.safetensors",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""  # --quiet: nothing but warnings and errors (stderr)
    from fastdense._model_file import load_model

    assert load_model(tmp_path / "m.safetensors")[0].n_features_in_ == 7  # 5 + color=blue, =red
    png = (tmp_path / "curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    res = run("predict", "m.safetensors", data_dir / "mixed.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # predicting needs the columns the model was trained on
    res = run("predict", "m.safetensors", data_dir / "num.csv", cwd=tmp_path)
    assert_usage_error(res, "'color'")


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "nope.csv", "--target", "label"], ["no such file", "nope.csv"]),
        (["train", "{d}/num.csv", "--target", "nope"], ["unknown target column 'nope'", "'f0'"]),
        (["train", "{d}/mixed.csv", "--target", "label"], ["non-numeric", "'color'", "--one-hot"]),
        (
            ["train", "{d}/num.csv", "--target", "label", "--loss", "poisson"],
            ["--loss", "regression"],
        ),
        (
            ["train", "{d}/num.csv", "--target", "f0", "--loss", "nope"],
            ["--loss", "'nope'", "poisson"],
        ),
        (
            ["train", "{d}/num.csv", "--target", "label", "--activation", "nope"],
            ["--activation", "relu"],
        ),
        (
            ["train", "{d}/num.csv", "--target", "f0", "--target", "label"],
            ["multilabel", "'f0' has 240 distinct"],
        ),
        (
            ["train", "{d}/num.csv", "--target", "label", "--task", "regression"],
            ["numeric", "'label'"],
        ),
        (["train", "{d}/semicolon.csv", "--target", "label"], ["one column", "--sep ';'"]),
        (
            ["train", "{d}/text_nan.csv", "--target", "label", "--one-hot"],
            ["'color'", "missing", "--impute"],
        ),
        (["train", "{d}/nan.csv", "--target", "label"], ["'f1'", "missing values"]),
        (["train", "{d}/empty.csv", "--target", "label"], ["empty"]),
        (["train", "{d}/inf.csv", "--target", "label"], ["'f0', 'f3'", "infinite"]),
        (["train", "{d}/num.csv", "--target", "label", "--cv", "1"], ["--cv", "at least 2"]),
        (["train", "{d}/num.csv", "--target", "label", "--cv", "1000"], ["--cv 1000", "rarest"]),
        (["train", "{d}/num.csv", "--target", "label", "--hidden", "16,x"], ["--hidden", "16,x"]),
        (["train", "{d}/num.csv", "--target", "label", "--max-iter", "0"], ["--max-iter"]),
        (["train", "{d}/num.csv", "--target", "label", "--alpha", "-1"], ["--alpha"]),
        (["train", "{d}/num.csv", "--target", "label", "--drop", "zzz"], ["'zzz'"]),
        (
            ["train", "{d}/num.csv", "--target", "label", "--out", "/no/such/dir/m.st"],
            ["no such directory"],
        ),
        (["train", "{d}/num.csv"], ["--target"]),
        (["predict", "nope.safetensors", "{d}/num.csv"], ["no such file"]),
        (["predict", "{d}/num.csv", "{d}/num.csv"], ["safetensors"]),
        (["bench", "--configs", "Q"], ["unknown config", "Q"]),
        (["frobnicate"], ["invalid choice"]),
    ],
)
def test_user_mistakes_exit_2_with_one_line(
    data_dir, tmp_path, monkeypatch, capsys, args, fragments
):
    # in-process (the subprocess path is the same code: see the test below)
    from fastdense.cli import main

    monkeypatch.chdir(tmp_path)
    args = [a.format(d=data_dir) for a in args]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    assert_usage_error(
        subprocess.CompletedProcess(args, code, captured.out, captured.err), *fragments
    )


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "nope.csv", "--target", "label"], ["no such file", "nope.csv"]),
        (["train", "{d}/mixed.csv", "--target", "label"], ["non-numeric", "'color'"]),
        (["train", "{d}/num.csv", "--target", "label", "--hidden", "16,x"], ["--hidden", "16,x"]),
    ],
)
def test_user_mistakes_subprocess(data_dir, tmp_path, args, fragments):
    args = [a.format(d=data_dir) for a in args]
    assert_usage_error(run(*args, cwd=tmp_path), *fragments)


def test_options_are_checked_before_any_training(data_dir, tmp_path):
    """`--cv 1000` used to be refused only after the whole fit; now nothing runs first."""
    res = run("train", data_dir / "num.csv", "--target", "label", "--cv", "1000", cwd=tmp_path)
    assert_usage_error(res, "--cv 1000")
    assert "Training" not in res.stdout and not (tmp_path / "model.safetensors").exists()


def test_predict_rejects_infinite_values(data_dir, tmp_path):
    res = run(
        "train",
        data_dir / "num.csv",
        "--target",
        "label",
        "--max-iter",
        "3",
        "--quiet",
        "--out",
        "m.safetensors",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    res = run("predict", "m.safetensors", data_dir / "inf.csv", cwd=tmp_path)
    assert_usage_error(res, "'f0', 'f3'", "infinite")


def test_predict_needs_a_cli_model_file(data_dir, tmp_path):
    from fastdense.serialization import save_arrays

    save_arrays({"w": np.zeros(3)}, tmp_path / "other.safetensors")
    res = run("predict", tmp_path / "other.safetensors", data_dir / "num.csv", cwd=tmp_path)
    assert_usage_error(res, "not a fastdense command-line model file")


def test_predict_on_a_file_saved_from_python_says_what_to_do(data_dir, tmp_path):
    from sklearn.datasets import make_classification

    X, y = make_classification(60, n_features=5, random_state=0)
    fastdense.save(
        fastdense.DenseBinaryClassifier((4,), max_iter=2).fit(X, y), tmp_path / "est.safetensors"
    )
    res = run("predict", tmp_path / "est.safetensors", data_dir / "num.csv", cwd=tmp_path)
    assert_usage_error(res, "saved by fastdense.save", "fastdense.load", "fastdense train")


def test_info(tmp_path):
    res = run("info", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"fastdense {fastdense.__version__}" in res.stdout
    assert "blas:" in res.stdout and "threads" in res.stdout
    assert "scikit-learn 1." in res.stdout


def test_bench_quick_json(tmp_path):
    res = run("bench", "--quick", "--configs", "T", "--no-torch", "--json", "b.json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "| T 1000x10 (16,) b32 | float32 | fastdense |" in res.stdout
    records = json.loads((tmp_path / "b.json").read_text())["results"]
    assert {r["competitor"] for r in records} == {
        "fastdense",
        "MLPClassifier",
        "NumPy reference",
        "GEMM floor",
    }
    fd = next(r for r in records if r["competitor"] == "fastdense")
    assert fd["ratio_to_fastdense"] == 1.0 and fd["median"] > 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_model_file_roundtrip_in_process(tmp_path):
    """The CLI's model file restores an estimator that predicts exactly like the original."""
    from sklearn.datasets import make_classification

    from fastdense import DenseBinaryClassifier
    from fastdense._model_file import load_model, save_model

    X, y = make_classification(150, n_features=6, random_state=1)
    labels = np.where(y == 1, "pos", "neg")
    for dtype in (np.float32, np.float64):
        clf = DenseBinaryClassifier((7, 5), max_iter=15, random_state=0).fit(
            X.astype(dtype), labels
        )
        save_model(
            clf,
            tmp_path / "m.safetensors",
            mean=X.mean(0),
            scale=X.std(0),
            info={"columns": list("abcdef")},
        )
        back, extra = load_model(tmp_path / "m.safetensors")
        assert back.coefs_[0].dtype == dtype
        np.testing.assert_array_equal(
            back.predict_proba(X.astype(dtype)), clf.predict_proba(X.astype(dtype))
        )
        assert list(back.predict(X[:5])) == list(clf.predict(X[:5]))
        assert back.get_params() == clf.get_params()
        np.testing.assert_allclose(extra["mean"], X.mean(0))
        assert extra["info"] == {"columns": list("abcdef")}


def test_csv_commands_without_pandas_say_so(monkeypatch, capsys, tmp_path):
    from fastdense.cli import main

    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    for args in (["train", "d.csv", "--target", "y"], ["predict", "m.st", "d.csv"]):
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2 and "needs pandas" in err and len(err.strip().splitlines()) == 1


def test_selfcheck_and_help(tmp_path):
    res = run("selfcheck", "--repeats", "1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "| float64 | 128 | 64 -> 64 |" in res.stdout
    assert "| 1e-10 | ok |" in res.stdout and "All checks passed." in res.stdout
    res = run("--help", cwd=tmp_path)
    assert res.returncode == 0
    for command in ("train", "predict", "bench", "info", "selfcheck"):
        assert command in res.stdout


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_progress_without_callback_support_falls_back_to_verbose(capsys):
    """An estimator without set_callbacks (scikit-learn < 1.9) shows MLPClassifier's lines."""
    import io

    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier

    from fastdense.cli import _fit_with_progress

    X, y = make_classification(100, random_state=0)
    clf = MLPClassifier((4,), max_iter=3, random_state=0)
    if hasattr(clf, "set_callbacks"):
        pytest.skip("this scikit-learn's MLPClassifier supports callbacks")
    _fit_with_progress(clf, X, y, quiet=False, out=io.StringIO())
    assert "Iteration 3, loss = " in capsys.readouterr().out
    assert clf.verbose is False  # restored


def test_selfcheck_fails_with_status_1(monkeypatch, capsys):
    """A kernel that disagrees with the reference beyond the tolerance fails the check."""
    from fastdense import _selfcheck
    from fastdense.cli import main

    monkeypatch.setitem(_selfcheck.TOLERANCE, "float32", -1.0)  # no error passes
    monkeypatch.setitem(_selfcheck.TOLERANCE, "float64", -1.0)
    assert main(["selfcheck", "--repeats", "1"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "check failed" in captured.err


def test_multiclass_with_missing_values_impute_predict_export(tmp_path):
    """Three classes, a gap in a numeric and in a text column: --impute fills both with values
    learned in training (stated, saved); predict and ONNX give the same probabilities."""
    from sklearn.datasets import load_iris

    df = load_iris(as_frame=True).frame
    df["species"] = np.array(["setosa", "versicolor", "virginica"])[df.pop("target")]
    rng = np.random.default_rng(0)
    df["site"] = rng.choice(["north", "south"], len(df)).astype(object)
    df.loc[[3, 40, 90], "site"] = None
    df.loc[[7, 100], "sepal width (cm)"] = np.nan
    df.to_csv(tmp_path / "iris.csv", index=False)
    res = run(
        "train",
        "iris.csv",
        "--target",
        "species",
        "--one-hot",
        "--max-iter",
        "3",
        "--quiet",
        cwd=tmp_path,
    )
    assert_usage_error(res, "'sepal width (cm)'", "missing", "--impute")
    res = run(
        "train",
        "iris.csv",
        "--target",
        "species",
        "--one-hot",
        "--impute",
        "--hidden",
        "16",
        "--learning-rate-init",
        "0.01",
        "--max-iter",
        "300",
        "--out",
        "m.st",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "DenseClassifier(" in res.stdout and "3 classes" in res.stdout
    median = df["sepal width (cm)"].median()
    assert f"'sepal width (cm)': 2 row(s) with the median {float(median)!r}" in res.stdout
    assert "'site': 3 row(s) with the most frequent value" in res.stdout
    assert float(res.stdout.split("training accuracy ")[1].split()[0]) > 0.9
    res = run("predict", "m.st", "iris.csv", "--out", "p.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == [
        "prediction",
        "proba_setosa",
        "proba_versicolor",
        "proba_virginica",
    ]
    np.testing.assert_allclose(preds.iloc[:, 1:].sum(axis=1), 1.0)
    assert np.mean(preds["prediction"] == df["species"]) > 0.9

    pytest.importorskip("onnxruntime")
    import onnx
    import onnxruntime as ort

    res = run("export", "m.st", "--onnx", "m.onnx", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    s = ort.InferenceSession(str(tmp_path / "m.onnx"))
    full = df.dropna()
    numeric = [c for c in df.columns if c not in ("species", "site")]
    label, proba = s.run(
        None,
        {"X": full[numeric].to_numpy(np.float64), "site": full[["site"]].to_numpy().astype(object)},
    )
    assert label.tolist() == preds["prediction"][full.index].tolist()
    np.testing.assert_allclose(proba, preds.iloc[full.index, 1:].to_numpy(), rtol=1e-12)
    assert onnx.load(str(tmp_path / "m.onnx")).graph.name == "fastdense_DenseClassifier"
    # the rows with gaps: NaN and the empty string (an empty CSV field) get the fill values,
    # as predict gives them
    text = df[["site"]].fillna("").to_numpy().astype(object)
    label, proba = s.run(None, {"X": df[numeric].to_numpy(np.float64), "site": text})
    assert label.tolist() == preds["prediction"].tolist()
    np.testing.assert_allclose(proba, preds.iloc[:, 1:].to_numpy(), rtol=1e-12)


def test_regression_predict_export_and_loss(tmp_path):
    from sklearn.datasets import load_diabetes

    df = load_diabetes(as_frame=True).frame
    df.to_csv(tmp_path / "d.csv", index=False)
    res = run(
        "train",
        "d.csv",
        "--target",
        "target",
        "--hidden",
        "16",
        "--alpha",
        "1",
        "--out",
        "m.st",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "DenseRegressor(" in res.stdout and "regression" in res.stdout
    # the non-convergence warning is printed, once, as one line
    assert res.stderr.count("fastdense: warning: ") == 1 and "--max-iter" in res.stderr
    r2 = float(res.stdout.split("training R^2 ")[1].split()[0])
    assert r2 > 0.4
    res = run("predict", "m.st", "d.csv", "--out", "p.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["prediction"]
    # in the target's units (the network learned it standardized): the same R^2
    from sklearn.metrics import r2_score

    assert abs(r2_score(df["target"], preds["prediction"]) - r2) < 1e-3

    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    assert run("export", "m.st", "--onnx", "m.onnx", cwd=tmp_path).returncode == 0
    s = ort.InferenceSession(str(tmp_path / "m.onnx"))
    (values,) = s.run(None, {"X": df.drop(columns="target").to_numpy(np.float64)})
    np.testing.assert_allclose(values[:, 0], preds["prediction"], rtol=1e-10)

    res = run(
        "train",
        "d.csv",
        "--target",
        "target",
        "--loss",
        "poisson",
        "--hidden",
        "8",
        "--max-iter",
        "20",
        "--quiet",
        "--out",
        "p.st",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""  # --quiet: nothing but warnings (on stderr)
    from fastdense._model_file import load_model

    est, extra = load_model(tmp_path / "p.st")
    assert est.loss == "poisson" and "target_scaling" not in extra["info"]


def test_multilabel_from_several_targets(tmp_path):
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(200, n_features=6, n_classes=3, random_state=0)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    for j, name in enumerate(("a", "b", "c")):
        df[name] = Y[:, j]
    df.to_csv(tmp_path / "ml.csv", index=False)
    res = run(
        "train",
        "ml.csv",
        "--target",
        "a",
        "--target",
        "b",
        "--target",
        "c",
        "--max-iter",
        "50",
        "--quiet",
        "--out",
        "m.st",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    res = run("predict", "m.st", "ml.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == (
        "prediction_a,prediction_b,prediction_c,proba_a,proba_b,proba_c"
    )


def test_id_like_text_column_warns(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "name": [f"car {i}" for i in range(100)],
            "x": rng.standard_normal(100),
            "y": rng.integers(0, 2, 100),
        }
    )
    df.to_csv(tmp_path / "ids.csv", index=False)
    res = run(
        "train", "ids.csv", "--target", "y", "--one-hot", "--max-iter", "2", "--quiet", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert "column 'name' looks like an identifier (100 distinct values in 100 rows)" in (
        res.stderr
    )
