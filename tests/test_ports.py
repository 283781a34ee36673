"""The porting suite: PyTorch scripts in tests/ports/ run under PyTorch and, with their
imports rewritten by tests/ports/IMPORTS.tsv, under fastdense; the printed numbers agree.

Both runs start from PyTorch's initial weights (``_port.same_start``) and see the same
batches. Each script's time under both is printed (``pytest -s``).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fastdense

ROOT = Path(__file__).resolve().parent.parent
PORTS = ROOT / "tests" / "ports"
# the fastdense these tests imported (installed, or built in place): the one the children
# run; the source root itself must not be on their path (its package is unbuilt in CI)
PACKAGE_PARENT = Path(fastdense.__file__).resolve().parent.parent
SCRIPTS = sorted(PORTS.glob("p[0-9]*.py"))
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)")
IMPORT = re.compile(r"^(\s*)(import|from)\s+([\w.]+)(.*)$")


def import_table():
    table = {}
    for line in (PORTS / "IMPORTS.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            src, dst = line.split("\t")
            table[src] = dst
    return table


def rewrite(source: str, table) -> str:
    """The script with each ``import``/``from`` of a torch module mapped by the table."""
    out = []
    for line in source.splitlines():
        m = IMPORT.match(line)
        if m and m.group(3).split(".")[0] == "torch":
            indent, kw, mod, rest = m.groups()
            if mod not in table:
                raise KeyError(f"no rewrite for module {mod!r} (add it to IMPORTS.tsv)")
            new = table[mod]
            if kw == "import" and not rest.strip().startswith("as") and mod == "torch":
                rest = " as torch" + rest
            elif kw == "import" and not rest.strip().startswith("as"):
                raise ValueError(f"write `import {mod} as name` in a port: {line!r}")
            line = f"{indent}{kw} {new}{rest}"
        out.append(line)
    return "\n".join(out) + "\n"


def run_all(role: str, sources, tmp: Path):
    """Run every script under one library in one child process; {name: result}."""
    paths = []
    for name, source in sources.items():
        path = tmp / f"{name}.{role}.py"
        path.write_text(source)
        paths.append(str(path))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE_PARENT), str(PORTS)]))
    proc = subprocess.run(
        [sys.executable, str(PORTS / "_runner.py"), role, str(tmp), *paths],
        env=env,
        cwd=PORTS,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    return {name.split(".")[0]: r for name, r in out.items()}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    pytest.importorskip("torch")
    tmp = tmp_path_factory.mktemp("ports")
    sources = {p.stem: p.read_text() for p in SCRIPTS}
    table = import_table()
    torch_res = run_all("torch", sources, tmp)  # first: it writes the initial weights
    fd_res = run_all("fastdense", {k: rewrite(v, table) for k, v in sources.items()}, tmp)
    print("\n| script | torch (s) | fastdense (s) |\n|---|---|---|")
    for name in sources:
        print(f"| {name} | {torch_res[name]['time']:.3f} | {fd_res[name]['time']:.3f} |")
    return torch_res, fd_res


def numbers(stdout: str):
    return [
        [float(x) for x in NUMBER.findall(line)]
        for line in stdout.splitlines()
        if line.startswith("epoch")
    ]


def test_rewrite_maps_every_import_form():
    table = import_table()
    src = (
        "import torch\nimport torch.nn as nn\nfrom torch import nn, optim\n"
        "from torch.utils.data import DataLoader\nimport numpy as np\n"
    )
    assert rewrite(src, table) == (
        "import fastdense.torch as torch\nimport fastdense.nn as nn\n"
        "from fastdense.torch import nn, optim\n"
        "from fastdense.torch.utils.data import DataLoader\nimport numpy as np\n"
    )


def test_there_are_at_least_eight_ports():
    assert len(SCRIPTS) >= 8


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_port_prints_pytorchs_numbers(script, results):
    torch_res, fd_res = results
    t, f = torch_res[script.stem], fd_res[script.stem]
    assert t["error"] is None, t["error"]
    assert f["error"] is None, f["error"]
    expected, got = numbers(t["stdout"]), numbers(f["stdout"])
    assert expected and len(got) == len(expected), (t["stdout"], f["stdout"])
    for e_line, g_line in zip(expected, got):
        assert len(e_line) == len(g_line), (e_line, g_line)
        for e, g in zip(e_line, g_line):
            assert g == pytest.approx(e, rel=1e-5, abs=1e-7), (t["stdout"], f["stdout"])
