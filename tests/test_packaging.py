"""The build's promises that need no build: one sentence when no C compiler exists, the flag
table per compiler family, the sdist's and wheels' contents as configured.
(tools/check_wheel.sh builds the real sdist and wheel and checks them; CI runs it.)"""

import ast
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP = os.path.join(ROOT, "setup.py")

pytestmark = pytest.mark.skipif(
    not os.path.exists(SETUP), reason="needs the source tree (setup.py)"
)


def _needs_build_requirements():
    # setup.py imports them; a test venv has them only after `pip install Cython setuptools`
    pytest.importorskip("Cython")
    pytest.importorskip("setuptools")


def _setup_namespace():
    """setup.py's definitions (everything but the module list and the setup() call)."""
    _needs_build_requirements()
    source = open(SETUP).read()
    tree = ast.parse(source)
    keep = [
        node
        for node in tree.body
        if not (
            isinstance(node, (ast.Assign, ast.Expr))
            and any(
                isinstance(n, ast.Call) and getattr(n.func, "id", "") in ("setup", "_extension")
                for n in ast.walk(node)
            )
        )
    ]
    namespace = {"__file__": SETUP}
    exec(compile(ast.Module(keep, []), SETUP, "exec"), namespace)
    return namespace


def test_flags_per_compiler_family():
    ns = _setup_namespace()
    flags = ns["compiler_flags"]
    assert flags("unix", ["release", "strip", "_avx2"])[0] == [
        "-O3",
        "-fno-math-errno",
        "-march=x86-64-v3",
        "-ffp-contract=off",
    ]
    assert "-s" in flags("unix", ["release", "strip"])[1] or sys.platform == "darwin"
    assert flags("unix", ["debug"]) == (["-O0", "-g"], [])  # debug builds keep their symbols
    assert flags("msvc", ["release", "_avx512"])[0] == ["/O2", "/arch:AVX512", "/fp:precise"]
    assert flags("msvc", ["release", "_avx2"])[0] == ["/O2", "/arch:AVX2", "/fp:precise"]
    for family in ("unix", "msvc"):  # never a flag that changes rounding
        for compile_args, _ in ns["FLAGS"][family].values():
            assert not {"-ffast-math", "-Ofast", "/fp:fast"} & set(compile_args)


def test_no_compiler_is_one_clear_sentence(tmp_path):
    """setuptools' own failure is `gcc ... exit status 127`; ours says what to install."""
    _needs_build_requirements()
    for name in ("setup.py", "pyproject.toml"):
        shutil.copy(os.path.join(ROOT, name), tmp_path)
    shutil.copytree(
        os.path.join(ROOT, "fastdense"),
        tmp_path / "fastdense",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"),
    )
    env = dict(os.environ, CC="/nonexistent/cc", FASTDENSE_SIMD_BUILD="0")
    res = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode != 0
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error: fastdense has no wheel for this platform"), res.stderr[-2000:]
    assert "needs a C compiler" in last and "/nonexistent/cc" in last
    assert "build-essential" in last and "xcode-select --install" in last
    assert not list((tmp_path / "fastdense").glob("*.c"))  # stopped before running Cython


def test_generated_c_stays_out_of_sdist_and_wheels():
    manifest = open(os.path.join(ROOT, "MANIFEST.in")).read()
    assert "global-exclude *.c" in manifest.replace("  ", " ")
    for needed in ("tests", "docs", "benchmarks", "tools", "LICENSE"):
        assert needed in manifest
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)
    assert "*.c" in project["tool"]["setuptools"]["exclude-package-data"]["*"]
    cibw = project["tool"]["cibuildwheel"]
    assert cibw["build"].split() == ["cp310-*", "cp311-*", "cp312-*", "cp313-*"]
    assert cibw["linux"]["archs"] == ["x86_64", "aarch64"]
    assert os.path.exists(os.path.join(ROOT, "LICENSE"))
