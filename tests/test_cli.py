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
    return subprocess.run([sys.executable, "-m", "fastdense", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


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
    X, y = make_classification(240, n_features=5, n_informative=4, n_redundant=0,
                               class_sep=2.0, random_state=0)
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
    assert (tmp_path / "m.safetensors").is_file()

    # the saved model predicts the breast cancer data as well as it trained
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    data.frame.to_csv(tmp_path / "bc.csv", index=False)
    res = run("predict", "m.safetensors", "bc.csv", "--out", "p.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["prediction", "proba_1"]
    assert len(preds) == 569
    assert np.mean(preds["prediction"].to_numpy() == data.target.to_numpy()) > 0.95
    assert ((preds["proba_1"] >= 0) & (preds["proba_1"] <= 1)).all()


def test_train_predict_roundtrip(data_dir, tmp_path):
    res = run("train", data_dir / "num.csv", "--target", "label", "--hidden", "16,8",
              "--max-iter", "60", "--learning-rate-init", "0.01", "--out", tmp_path / "m.safetensors",
              "--cv", "3",
              cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "epoch    1/60" in res.stdout and "3-fold cross-validated accuracy" in res.stdout
    train_acc = float(res.stdout.split("training accuracy ")[1].split()[0])
    assert train_acc > 0.85

    res = run("predict", tmp_path / "m.safetensors", data_dir / "num.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "prediction,proba_yes" and len(lines) == 241
    labels = [line.split(",")[0] for line in lines[1:]]
    truth = pd.read_csv(data_dir / "num.csv")["label"].tolist()
    # the CLI's predictions are the model's: same training accuracy as reported
    assert abs(np.mean(np.array(labels) == np.array(truth)) - train_acc) < 1e-3


def test_one_hot_and_plot(data_dir, tmp_path):
    pytest.importorskip("matplotlib")
    res = run("train", data_dir / "mixed.csv", "--target", "label", "--one-hot",
              "--hidden", "8", "--max-iter", "30", "--early-stopping", "--quiet",
              "--plot", "curve.png", "--out", "m.safetensors", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "epoch " not in res.stdout  # --quiet
    assert "7 features" in res.stdout  # 5 numeric + color=blue, color=red
    png = (tmp_path / "curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    res = run("predict", "m.safetensors", data_dir / "mixed.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # predicting needs the columns the model was trained on
    res = run("predict", "m.safetensors", data_dir / "num.csv", cwd=tmp_path)
    assert_usage_error(res, "'color'")


@pytest.mark.parametrize("args, fragments", [
    (["train", "nope.csv", "--target", "label"], ["no such file", "nope.csv"]),
    (["train", "{d}/num.csv", "--target", "nope"], ["unknown target column 'nope'", "'f0'"]),
    (["train", "{d}/mixed.csv", "--target", "label"], ["non-numeric", "'color'", "--one-hot"]),
    (["train", "{d}/three.csv", "--target", "label", "--one-hot"], ["3 distinct", "binary"]),
    (["train", "{d}/nan.csv", "--target", "label"], ["'f1'", "missing values"]),
    (["train", "{d}/empty.csv", "--target", "label"], ["empty"]),
    (["train", "{d}/inf.csv", "--target", "label"], ["'f0', 'f3'", "infinite"]),
    (["train", "{d}/num.csv", "--target", "label", "--cv", "1"], ["--cv", "at least 2"]),
    (["train", "{d}/num.csv", "--target", "label", "--cv", "1000"], ["--cv 1000", "rarer"]),
    (["train", "{d}/num.csv", "--target", "label", "--hidden", "16,x"], ["--hidden", "16,x"]),
    (["train", "{d}/num.csv", "--target", "label", "--max-iter", "0"], ["--max-iter"]),
    (["train", "{d}/num.csv", "--target", "label", "--alpha", "-1"], ["--alpha"]),
    (["train", "{d}/num.csv", "--target", "label", "--drop", "zzz"], ["'zzz'"]),
    (["train", "{d}/num.csv", "--target", "label", "--out", "/no/such/dir/m.st"],
     ["no such directory"]),
    (["train", "{d}/num.csv"], ["--target"]),
    (["predict", "nope.safetensors", "{d}/num.csv"], ["no such file"]),
    (["predict", "{d}/num.csv", "{d}/num.csv"], ["safetensors"]),
    (["bench", "--configs", "Q"], ["unknown config", "Q"]),
    (["frobnicate"], ["invalid choice"]),
])
def test_user_mistakes_exit_2_with_one_line(data_dir, tmp_path, monkeypatch, capsys, args,
                                            fragments):
    # in-process (the subprocess path is the same code: see the test below)
    from fastdense.cli import main

    monkeypatch.chdir(tmp_path)
    args = [a.format(d=data_dir) for a in args]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    assert_usage_error(subprocess.CompletedProcess(args, code, captured.out, captured.err),
                       *fragments)


@pytest.mark.parametrize("args, fragments", [
    (["train", "nope.csv", "--target", "label"], ["no such file", "nope.csv"]),
    (["train", "{d}/mixed.csv", "--target", "label"], ["non-numeric", "'color'"]),
    (["train", "{d}/num.csv", "--target", "label", "--hidden", "16,x"], ["--hidden", "16,x"]),
])
def test_user_mistakes_subprocess(data_dir, tmp_path, args, fragments):
    args = [a.format(d=data_dir) for a in args]
    assert_usage_error(run(*args, cwd=tmp_path), *fragments)


def test_options_are_checked_before_any_training(data_dir, tmp_path):
    """`--cv 1000` used to be refused only after the whole fit; now nothing runs first."""
    res = run("train", data_dir / "num.csv", "--target", "label", "--cv", "1000", cwd=tmp_path)
    assert_usage_error(res, "--cv 1000")
    assert "Training" not in res.stdout and not (tmp_path / "model.safetensors").exists()


def test_predict_rejects_infinite_values(data_dir, tmp_path):
    res = run("train", data_dir / "num.csv", "--target", "label", "--max-iter", "3",
              "--quiet", "--out", "m.safetensors", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = run("predict", "m.safetensors", data_dir / "inf.csv", cwd=tmp_path)
    assert_usage_error(res, "'f0', 'f3'", "infinite")


def test_predict_needs_a_cli_model_file(data_dir, tmp_path):
    from fastdense.serialization import save_arrays

    save_arrays({"w": np.zeros(3)}, tmp_path / "other.safetensors")
    res = run("predict", tmp_path / "other.safetensors", data_dir / "num.csv", cwd=tmp_path)
    assert_usage_error(res, "not a fastdense command-line model file")


def test_info(tmp_path):
    res = run("info", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"fastdense {fastdense.__version__}" in res.stdout
    assert "blas:" in res.stdout and "threads" in res.stdout
    assert "scikit-learn 1." in res.stdout


def test_bench_quick_json(tmp_path):
    res = run("bench", "--quick", "--configs", "T", "--no-torch", "--json", "b.json",
              cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "| T 1000x10 (16,) b32 | float32 | fastdense |" in res.stdout
    records = json.loads((tmp_path / "b.json").read_text())["results"]
    assert {r["competitor"] for r in records} == {
        "fastdense", "MLPClassifier", "NumPy reference", "GEMM floor"}
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
            X.astype(dtype), labels)
        save_model(clf, tmp_path / "m.safetensors", mean=X.mean(0), scale=X.std(0),
                   info={"columns": list("abcdef")})
        back, extra = load_model(tmp_path / "m.safetensors")
        assert back.coefs_[0].dtype == dtype
        np.testing.assert_array_equal(back.predict_proba(X.astype(dtype)),
                                      clf.predict_proba(X.astype(dtype)))
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
