"""Ctrl-C during `fastdense train`: a real SIGINT to the command line in a subprocess.

Before a first epoch has finished, the existing --out file is left as it was;
after some epochs, the model trained so far is saved and the message says how
many epochs it has. Either way: one line on stderr, no traceback, no raw
Python warning, exit status 130. Ctrl-C during start-up (importing
scikit-learn, reading the CSV) prints no traceback either.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import fastdense

pd = pytest.importorskip("pandas")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))
# the CLI module is imported (the package is light), then main() runs: what a user's
# Ctrl-C meets after the interpreter itself has started
_START = (
    "import sys; import fastdense.cli as c; print('started', flush=True); "
    "sys.exit(c.main(sys.argv[1:]))"
)


def _start(args, cwd):
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("COLUMNS", None)
    return subprocess.Popen(
        [sys.executable, "-c", _START, *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc, prefix, timeout=120):
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith(prefix):
            return seen
    proc.kill()
    raise AssertionError(f"never saw {prefix!r}: {seen}")


def _interrupt(proc):
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return out, err


@pytest.fixture(scope="module")
def noisy_csv(tmp_path_factory):
    """Random labels: the loss keeps falling for many epochs (no early convergence)."""
    d = tmp_path_factory.mktemp("interrupt")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((3000, 20)), columns=[f"x{i}" for i in range(20)])
    df["y"] = rng.integers(0, 2, 3000)
    df.to_csv(d / "noisy.csv", index=False)
    return d / "noisy.csv"


def _assert_clean_130(proc, err):
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "UserWarning" not in err, err
    assert err.strip().startswith("fastdense: interrupted"), err
    assert len(err.strip().splitlines()) == 1, err


def test_interrupt_in_the_first_epoch_keeps_the_old_file(noisy_csv, tmp_path):
    old = tmp_path / "model.safetensors"
    old.write_bytes(b"the previous model")
    # two 2048-unit layers: the first epoch takes seconds
    proc = _start(
        [
            "train",
            noisy_csv,
            "--target",
            "y",
            "--hidden",
            "2048,2048",
            "--batch-size",
            "500",
            "--out",
            old,
        ],
        tmp_path,
    )
    _wait_for(proc, "on 3000 rows")
    time.sleep(0.5)
    out, err = _interrupt(proc)
    _assert_clean_130(proc, err)
    assert "after 0 complete epoch(s)" in err and "left unchanged" in err, err
    assert old.read_bytes() == b"the previous model"


def test_interrupt_after_some_epochs_saves_them_and_says_how_many(noisy_csv, tmp_path):
    out_file = tmp_path / "model.safetensors"
    out_file.write_bytes(b"the previous model")
    proc = _start(
        [
            "train",
            noisy_csv,
            "--target",
            "y",
            "--hidden",
            "512",
            "--max-iter",
            "100000",
            "--out",
            out_file,
        ],
        tmp_path,
    )
    _wait_for(proc, "epoch    1/")
    time.sleep(0.3)
    out, err = _interrupt(proc)
    _assert_clean_130(proc, err)
    assert "saved the model trained so far" in err, err
    epochs = int(err.split("after ")[1].split(" complete")[0])
    assert epochs >= 1
    clf = fastdense.load(out_file)
    assert clf.n_iter_ == epochs
    assert clf.predict(np.zeros((2, 20))).shape == (2,)


def test_interrupt_during_start_up_prints_no_traceback(noisy_csv, tmp_path):
    proc = _start(
        ["train", noisy_csv, "--target", "y", "--out", tmp_path / "m.safetensors"], tmp_path
    )
    _wait_for(proc, "started")
    # past the print, inside main() (a loaded machine may pause the child right after
    # the print, before main's handler is in place): scikit-learn's import takes ~1 s
    time.sleep(0.1)
    out, err = _interrupt(proc)  # while main() imports scikit-learn and reads the CSV
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    assert err.strip() == "fastdense: interrupted", err
    assert not (tmp_path / "m.safetensors").exists()
