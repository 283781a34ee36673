"""Files as untrusted input and as output (issue 25): bounds, door errors, modes, links, full disks.

Each reproducer of the issue gets a clean, documented outcome (docs/reliability.md,
"Bounds on a file"): a 3 KB file cannot make ``fastdense.load`` allocate gigabytes,
``/dev/zero``, a FIFO or a directory is refused at once, nested JSON is a ValueError
(never RecursionError), out-of-range optimizer scalars are refused at load (not at the
next partial_fit), saves keep a file's mode and write through symlinks, a full disk
leaves the previous file. Plus the CLI's error items and the differences of item 5.
"""

import errno
import json
import os
import stat
import struct
import subprocess
import tracemalloc
import warnings

import numpy as np
import pytest
from _child import run_in_child
from sklearn.exceptions import ConvergenceWarning

import fastdense as fd
from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor
from fastdense.io import atomic_write, load_arrays, parse_json, save_arrays
from fastdense.io.estimator_file import FORMAT_KEY, FORMAT_VERSION, MAX_LABEL_WIDTH

rng = np.random.default_rng(0)
X = rng.standard_normal((60, 4))
y = (X[:, 0] > 0).astype(int)


def _fitted(cls=DenseBinaryClassifier, target=y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls((5,), max_iter=3, random_state=0, **kw).fit(X, target)


def _rewrite(path, edit_meta=None, edit_fitted=None, edit_params=None):
    """Rewrite a saved estimator file with its metadata edited (as an attacker would)."""
    arrays, meta = load_arrays(path)
    if edit_fitted:
        fitted = json.loads(meta["fitted"])
        edit_fitted(fitted)
        meta["fitted"] = json.dumps(fitted)
    if edit_params:
        params = json.loads(meta["params"])
        edit_params(params)
        meta["params"] = json.dumps(params)
    if edit_meta:
        edit_meta(meta)
    meta.pop("fastdense_version", None)
    save_arrays(arrays, path, metadata=meta)
    return path


# ----------------------------------------------------------------- allocation bounds


def test_a_huge_label_dtype_is_refused_without_allocating(tmp_path):
    path = tmp_path / "m.safetensors"
    fd.save(_fitted(target=np.where(y == 1, "yes", "no")), path)
    _rewrite(path, edit_fitted=lambda f: f.update(classes_dtype="<U300000000"))
    assert os.path.getsize(path) < 20_000
    tracemalloc.start()
    with pytest.raises(ValueError, match="classes_dtype"):
        fd.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20, peak  # the reproducer asked for ~2.4 GB


def test_a_wide_but_bounded_label_dtype_still_loads(tmp_path):
    labels = np.where(y == 1, "yes", "no").astype(f"<U{MAX_LABEL_WIDTH}")
    clf = _fitted(target=labels)
    fd.save(clf, tmp_path / "m.safetensors")
    back = fd.load(tmp_path / "m.safetensors")
    assert back.classes_.dtype == clf.classes_.dtype


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "dir"])
def test_only_regular_files_are_read(tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "pipe")
        os.mkfifo(special)
    elif special == "dir":
        special = str(tmp_path)
    elif not os.path.exists(special):
        pytest.skip("no /dev/zero here")

    def load():
        try:
            fd.load(special)
        except (ValueError, OSError) as exc:
            return type(exc).__name__, str(exc)
        return None

    kind, msg = run_in_child(load, timeout=20)[1]  # a hang or a memory blow-up fails here
    assert kind in ("ValueError", "IsADirectoryError"), msg
    assert "regular file" in msg or "directory" in msg


def test_a_header_longer_than_the_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(ValueError, match="header length"):
        load_arrays(path)


def test_data_not_covered_by_the_header_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    save_arrays({"w": np.zeros(3)}, path)
    with open(path, "ab") as f:
        f.write(b"\0" * 1000)
    with pytest.raises(ValueError, match="cover"):
        load_arrays(path)


def test_too_many_dimensions_are_refused(tmp_path):
    header = json.dumps({"w": {"dtype": "F64", "shape": [1] * 40, "data_offsets": [0, 8]}})
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0" * 8)
    with pytest.raises(ValueError, match="shape"):
        load_arrays(path)


# ----------------------------------------------------------------- nesting depth


def _nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "where", ["header", "params", "fitted", "fastdense_keys", "checkpoint", "cli_info"]
)
def test_deeply_nested_json_is_a_value_error(tmp_path, where):
    path = tmp_path / "m.safetensors"
    deep = _nested(100_000)
    if where == "header":
        blob = ('{"__metadata__": {}, "x": ' + deep + "}").encode()
        path.write_bytes(struct.pack("<Q", len(blob)) + blob)
    elif where == "checkpoint":
        save_arrays({}, path, metadata={"fastdense_checkpoint": deep})
    elif where == "cli_info":
        from fastdense.io.model_file import save_model

        save_model(_fitted(), path, info={"columns": list("abcd")})
        _rewrite(path, edit_meta=lambda m: m.update(info=deep))
    else:
        fd.save(_fitted(), path)
        _rewrite(path, edit_meta=lambda m: m.update({where: deep}))

    def load():
        try:
            if where == "checkpoint":
                import fastdense.torch

                fastdense.torch.load(path)
            elif where == "cli_info":
                from fastdense.io.model_file import load_model

                load_model(path)
            else:
                fd.load(path)
        except ValueError as exc:
            return "ValueError", str(exc)
        except RecursionError as exc:  # the defect this test is about
            return "RecursionError", str(exc)
        return "loaded", ""

    kind, msg = run_in_child(load, timeout=60)[1]
    if where == "fastdense_keys":  # only the arrays' order: ignored when unreadable
        assert kind == "loaded"
    else:
        assert kind == "ValueError" and "nests deeper" in msg, (kind, msg)


def test_parse_json_limit_skips_brackets_inside_strings():
    text = json.dumps({"a": "[" * 500, "b": [[1]]})
    assert parse_json(text, "x", max_depth=3) == {"a": "[" * 500, "b": [[1]]}
    with pytest.raises(ValueError, match="nests deeper than 2"):
        parse_json(text, "x", max_depth=2)


# ----------------------------------------------------------------- numeric ranges


@pytest.mark.parametrize(
    "solver, field, value",
    [
        ("adam", "t", 2**63),
        ("adam", "t", -1),
        ("adam", "beta_1", 1.0),
        ("adam", "epsilon", 0.0),
        ("adam", "learning_rate_init", 0.0),
        ("sgd", "power_t", -1e300),
        ("sgd", "momentum", 1.5),
        ("sgd", "lr_schedule", "warp"),
    ],
)
def test_optimizer_scalars_out_of_the_parameters_range_are_refused(tmp_path, solver, field, value):
    path = tmp_path / "m.safetensors"
    fd.save(_fitted(solver=solver, learning_rate="invscaling"), path)
    _rewrite(path, edit_fitted=lambda f: f["_optimizer"].update({field: value}))
    with pytest.raises(ValueError, match=f"_optimizer.{field}"):
        fd.load(path)


def test_an_invscaling_schedule_that_overflows_is_refused_at_load(tmp_path):
    path = tmp_path / "m.safetensors"
    fd.save(_fitted(solver="sgd", learning_rate="invscaling"), path)
    _rewrite(path, edit_fitted=lambda f: f["_optimizer"].update(power_t=1e300))
    with pytest.raises(ValueError, match="invscaling schedule overflows"):
        fd.load(path)


@pytest.mark.parametrize("field", ["n_iter_", "t_", "_no_improvement_count"])
def test_step_counts_beyond_2_53_are_refused(tmp_path, field):
    path = tmp_path / "m.safetensors"
    fd.save(_fitted(), path)
    _rewrite(path, edit_fitted=lambda f: f.update({field: 2**63}))
    with pytest.raises(ValueError, match=field):
        fd.load(path)


def test_a_loaded_file_continues_training(tmp_path):
    path = tmp_path / "m.safetensors"
    for solver in ("sgd", "adam"):
        fd.save(_fitted(solver=solver, learning_rate="invscaling"), path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fd.load(path).partial_fit(X, y)


def test_the_format_version_is_written_and_checked(tmp_path):
    path = tmp_path / "m.safetensors"
    fd.save(_fitted(), path)
    assert load_arrays(path)[1][FORMAT_KEY] == "1"
    _rewrite(path, edit_meta=lambda m: m.update({FORMAT_KEY: str(FORMAT_VERSION + 1)}))
    with pytest.raises(ValueError, match=f"format is version {FORMAT_VERSION + 1}"):
        fd.load(path)
    _rewrite(path, edit_meta=lambda m: m.pop(FORMAT_KEY))  # files from before the key
    assert isinstance(fd.load(path), DenseBinaryClassifier)


# ----------------------------------------------------------------- saves


def test_a_new_file_gets_0666_minus_umask_and_an_existing_one_keeps_its_mode(tmp_path):
    old = os.umask(0o022)
    try:
        fd.save({"w": np.zeros(2)}, tmp_path / "new.safetensors")
        assert stat.S_IMODE(os.stat(tmp_path / "new.safetensors").st_mode) == 0o644
        os.umask(0o077)
        existing = tmp_path / "existing.safetensors"
        existing.write_bytes(b"x")
        os.chmod(existing, 0o640)
        fd.save({"w": np.zeros(2)}, existing)
        assert stat.S_IMODE(os.stat(existing).st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_symlink_is_written_through_atomically(tmp_path):
    target = tmp_path / "real.safetensors"
    link = tmp_path / "link.safetensors"
    fd.save({"w": np.zeros(2)}, target)
    link.symlink_to(target)
    fd.save({"w": np.ones(3)}, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(fd.load(target)["w"], np.ones(3))


def test_a_full_disk_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(b"previous")

    def write(f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(path, write)
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["m.csv"]


def test_atomic_write_refuses_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path, b"x")


# ----------------------------------------------------------------- the CLI

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    from fastdense.io.model_file import save_model

    d = tmp_path_factory.mktemp("cli25")
    df = pd.DataFrame(X, columns=list("abcd"))
    df["label"] = np.where(y == 1, "yes", "no")
    df.to_csv(d / "data.csv", index=False)
    clf = _fitted(target=df["label"].to_numpy())
    save_model(clf, d / "m.safetensors", info={"columns": list("abcd"), "target": "label"})
    return d


def _cli(args, monkeypatch, capsys, cwd):
    from fastdense.cli import main

    monkeypatch.chdir(cwd)
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.err


def _assert_error(code, err, *fragments):
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("fastdense: error:"), err
    for f in fragments:
        assert f in err, err


def test_cli_nested_json_model_is_an_error(cli_files, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((cli_files / "m.safetensors").read_bytes())
    _rewrite(bad, edit_meta=lambda m: m.update(params=_nested(50_000)))
    code, err = _cli(["predict", bad, cli_files / "data.csv"], monkeypatch, capsys, tmp_path)
    _assert_error(code, err, "nests deeper")


def test_cli_special_model_files_are_errors(cli_files, tmp_path, monkeypatch, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for model, fragment in ((fifo, "regular file"), (tmp_path, "directory")):
        code, err = _cli(["predict", model, cli_files / "data.csv"], monkeypatch, capsys, tmp_path)
        _assert_error(code, err, fragment)


def test_cli_out_dir_is_an_error(cli_files, tmp_path, monkeypatch, capsys):
    code, err = _cli(
        ["predict", cli_files / "m.safetensors", cli_files / "data.csv", "--out", tmp_path],
        monkeypatch,
        capsys,
        tmp_path,
    )
    _assert_error(code, err, "is a directory")
    code, err = _cli(
        ["train", cli_files / "data.csv", "--target", "label", "--quiet", "--out", tmp_path],
        monkeypatch,
        capsys,
        tmp_path,
    )
    _assert_error(code, err, "is a directory")


_FULL_DISK = """
import errno, sys
import fastdense.io._files as files
from fastdense.cli import main

def full(fd_):
    raise OSError(errno.ENOSPC, "No space left on device")

files.os.fsync = full  # the last step of every atomic write: as a full disk fails it
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["predict", "train"])
def test_cli_full_disk_keeps_the_previous_file(cli_files, tmp_path, command):
    import sys

    out = tmp_path / ("p.csv" if command == "predict" else "m.safetensors")
    out.write_bytes(b"previous")
    args = (
        ["predict", cli_files / "m.safetensors", cli_files / "data.csv"]
        if command == "predict"
        else ["train", cli_files / "data.csv", "--target", "label", "--quiet", "--max-iter", "2"]
    )
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(fd.__file__)))
    res = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, *map(str, args), "--out", out],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    err = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else ""
    _assert_error(res.returncode, err, "No space left on device")
    assert "Traceback" not in res.stderr
    assert out.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == [out.name]


def test_cli_predict_out_keeps_the_mode_and_the_link(cli_files, tmp_path, monkeypatch, capsys):
    target = tmp_path / "real.csv"
    target.write_text("old")
    os.chmod(target, 0o664)
    link = tmp_path / "preds.csv"
    link.symlink_to(target)
    code, err = _cli(
        ["predict", cli_files / "m.safetensors", cli_files / "data.csv", "--out", link],
        monkeypatch,
        capsys,
        tmp_path,
    )
    assert code == 0, err
    assert link.is_symlink() and stat.S_IMODE(os.stat(target).st_mode) == 0o664
    assert pd.read_csv(target).shape == (len(X), 3)  # the label and each class's probability


def test_cli_pandas_import_errors_are_told_apart(monkeypatch):
    import builtins

    from fastdense.cli._common import UsageError
    from fastdense.cli._common import pandas as _pandas

    real = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("cannot import name 'tz' from 'dateutil'", name="dateutil")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(UsageError, match="installed but failed to import.*dateutil"):
        _pandas()

    def missing(name, *args, **kwargs):
        if name == "pandas":
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", missing)
    with pytest.raises(UsageError, match="needs pandas"):
        _pandas()


# ----------------------------------------------------------------- item 5


def test_regressor_lbfgs_partial_fit_as_mlp_regressor():
    from sklearn.neural_network import MLPRegressor

    t = X @ [1.0, 2.0, 3.0, -1.0]
    ours = DenseRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=20, random_state=0)
    theirs = MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=20, random_state=0)
    assert hasattr(ours, "partial_fit") and hasattr(theirs, "partial_fit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            ours.partial_fit(X, t)
            theirs.partial_fit(X, t)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-8)


def test_poisson_with_negative_targets_names_the_targets():
    with pytest.raises(ValueError, match="loss='poisson' needs targets >= 0"):
        DenseRegressor(loss="poisson").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="loss='poisson' needs targets >= 0"):
        DenseRegressor(loss="poisson").fit(X.tolist(), X[:, 0].tolist())  # the slow path


@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf])
def test_class_weight_must_be_finite_and_non_negative(weight):
    for cls in (DenseClassifier, DenseBinaryClassifier):
        with pytest.raises(ValueError, match=r"class_weight\[0\]"):
            cls((3,), class_weight={0: weight, 1: 1.0}).fit(X, y)


@pytest.mark.parametrize("cls", [DenseClassifier, DenseBinaryClassifier, DenseRegressor])
def test_float32_model_computes_float64_X_beyond_float32_as_mlp(cls):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    ref_cls = MLPRegressor if cls is DenseRegressor else MLPClassifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = cls(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X.astype(np.float32), y)
        theirs = ref_cls(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(
            X.astype(np.float32), y
        )
    Xb = X[:4].copy()
    Xb[0, 0], Xb[1, 1] = 1e39, -1e300
    np.testing.assert_array_equal(ours.predict(Xb), theirs.predict(Xb))
    if cls is not DenseRegressor:
        np.testing.assert_allclose(
            ours.predict_proba(Xb), theirs.predict_proba(Xb), rtol=1e-5, atol=1e-6
        )
    # values in range still run the float32 network
    assert ours.predict(X[:4]).dtype == (np.float32 if cls is DenseRegressor else y.dtype)


def test_torch_save_and_load_take_binary_file_objects(tmp_path):
    import io

    import fastdense.torch as fdt
    from fastdense import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    checkpoint = {"model": model.state_dict(), "epoch": 3, "best": [0.5, None]}
    buf = io.BytesIO()
    buf.write(b"prefix")  # written at the stream's position, read from it
    fdt.save(checkpoint, buf)
    buf.seek(len(b"prefix"))
    loaded = fdt.load(buf)
    assert loaded["epoch"] == 3 and loaded["best"] == [0.5, None]
    for key, value in model.state_dict().items():
        assert np.array_equal(loaded["model"][key].numpy(), value.numpy())
    with open(tmp_path / "m.pt", "wb") as f:
        fdt.save(checkpoint, f)
    with open(tmp_path / "m.pt", "rb") as f:
        assert fdt.load(f)["epoch"] == 3
    with open(tmp_path / "m.pt", encoding="latin-1") as text:
        with pytest.raises(TypeError, match="binary mode"):
            fdt.load(text)
    with pytest.raises(ValueError, match="header length"):
        fdt.load(io.BytesIO((2**62).to_bytes(8, "little") + b"{}"))
    with pytest.raises(ValueError, match="safetensors"):
        fdt.load(io.BytesIO(b"abc"))
