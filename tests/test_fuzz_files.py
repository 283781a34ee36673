"""Coverage-guided fuzzing of the model-file readers (tools/fuzz_files.py), a small budget.

The harness runs atheris (libFuzzer) in a child process, once for ``fastdense.load``
and once for the command line's model reader, ~15 s each. Any failure that is not a
ValueError/OSError (the documented contract), a crash, a hang or a memory blow-up
makes libFuzzer exit non-zero and write the input beside it. The long run is a command
in docs/reliability.md ("Fuzzing the file readers").
"""

import os
import subprocess
import sys

import pytest

import fastdense

pytest.importorskip("atheris")

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))
_TOOL = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "fuzz_files.py"
)
BUDGET = int(os.environ.get("FASTDENSE_FUZZ_SECONDS", "15"))


@pytest.mark.parametrize("target", ["load", "cli"])
def test_fuzz_the_file_readers(tmp_path, target):
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run(
        [sys.executable, _TOOL, target, "--time", str(BUDGET), "--seed", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUDGET + 180,
    )
    findings = [f for f in os.listdir(tmp_path) if f.startswith(("crash-", "timeout-", "oom-"))]
    tail = "\n".join(res.stderr.splitlines()[-30:])
    assert res.returncode == 0 and not findings, tail
    assert "Done " in res.stderr and "stat::number_of_executed_units" in res.stderr, tail
    runs = int(res.stderr.split("stat::number_of_executed_units:")[1].split()[0])
    assert runs > 100, tail  # it really ran (and every input met the contract)
