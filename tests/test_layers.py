"""The floors of DESIGN.md, checked from the code: every import points down (lazy ones too).

Every module of the package is parsed and every ``import``/``from ... import``
(at module level or inside a function) is resolved to the fastdense module it
names. A module may import from its own floor or a lower one; anything else must be
in :data:`EXCEPTIONS` with its reason.
"""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fastdense")

# floor -> module prefixes (the longest matching prefix decides); see DESIGN.md
FLOORS = {
    0: [
        "fastdense._dtypes",
        "fastdense._random",
        "fastdense._validation",
        "fastdense._version",
        "fastdense._activations",
    ],
    1: [
        "fastdense._kernels",
        "fastdense._train",
        "fastdense._simd",
        "fastdense._network",
        "fastdense.kernels",
        "fastdense._reference",
        "fastdense._fast_input",
        "fastdense._avx2",
        "fastdense._avx512",
        "fastdense._threadpool",
    ],
    2: ["fastdense._tensor", "fastdense.autograd"],
    3: ["fastdense.nn", "fastdense.optim", "fastdense.data"],
    4: ["fastdense.estimators"],
    5: [
        "fastdense.io",
        "fastdense.serialization",
        "fastdense.interop",
        "fastdense.onnx",
        "fastdense._gradcheck",
        "fastdense.plot",
        "fastdense._estimator_file",
        "fastdense._model_file",
        "fastdense.torch._checkpoint",
    ],
    6: [
        "fastdense.torch",
        "fastdense.cli",
        "fastdense._bench",
        "fastdense._selfcheck",
        "fastdense.estimator",
        "fastdense.classifier",
        "fastdense.regressor",
        "fastdense.__main__",
        "fastdense",
    ],
}

# (importer prefix, imported prefix) -> reason. Short, and each one says why.
EXCEPTIONS = {
    (
        "fastdense.serialization",
        "fastdense",
    ): "save/load dispatch picks the estimator classes through the package root, lazily",
    (
        "fastdense.onnx",
        "fastdense",
    ): "the ONNX export of an estimator reaches its class through the package root, lazily "
    "(scikit-learn is imported only when an estimator is exported)",
}


def _floor(mod: str) -> int:
    best, floor = -1, None
    for f, prefixes in FLOORS.items():
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best:
                best, floor = len(p), f
    assert floor is not None, f"{mod} is on no floor: add it to FLOORS"
    return floor


def _within(mod: str, prefix: str) -> bool:
    """mod is prefix or inside it (the package root "fastdense" matches itself only)."""
    return mod == prefix or (prefix != "fastdense" and mod.startswith(prefix + "."))


def _modules():
    for dirpath, _, files in os.walk(ROOT):
        if "_avx" in dirpath or "__pycache__" in dirpath:
            continue
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                is_pkg = rel.endswith(".__init__")
                yield path, rel[:-9] if is_pkg else rel, is_pkg


def _exists(mod: str) -> bool:
    base = os.path.join(os.path.dirname(ROOT), *mod.split("."))
    return os.path.isdir(base) or os.path.exists(base + ".py") or os.path.exists(base + ".pyx")


def _imports(path: str, mod: str, is_pkg: bool):
    """(line, imported fastdense module) for every import in the file, lazy ones included."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    pkg = mod if is_pkg else mod.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "fastdense":
                    yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "fastdense":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                yield node.lineno, sub if _exists(sub) else target


def _violations():
    found = []
    for path, mod, is_pkg in _modules():
        f = _floor(mod)
        for line, target in _imports(path, mod, is_pkg):
            g = _floor(target)
            if g <= f or any(_within(mod, a) and _within(target, b) for a, b in EXCEPTIONS):
                continue
            found.append(f"{mod}:{line} (floor F{f}) imports {target} (floor F{g})")
    return found


def test_imports_point_down_the_floors():
    assert _violations() == []


def test_every_exception_is_still_needed():
    """An exception nothing uses any more is removed from the list."""
    used = set()
    for path, mod, is_pkg in _modules():
        for _, target in _imports(path, mod, is_pkg):
            for a, b in EXCEPTIONS:
                if _within(mod, a) and _within(target, b) and _floor(target) > _floor(mod):
                    used.add((a, b))
    assert set(EXCEPTIONS) - used == set()


def test_the_engine_knows_nothing_above_it():
    for path, mod, is_pkg in _modules():
        if mod.startswith(("fastdense._tensor", "fastdense.autograd")):
            for line, target in _imports(path, mod, is_pkg):
                assert _floor(target) <= 2, f"{mod}:{line} imports {target}"


@pytest.mark.parametrize(
    "src,expected",
    [
        ("from ..nn import functional", ["fastdense.nn.functional"]),
        ("def f():\n    from .. import torch\n", ["fastdense.torch"]),
    ],
)
def test_the_reader_sees_lazy_and_relative_imports(tmp_path, src, expected):
    p = tmp_path / "m.py"
    p.write_text(src)
    assert [t for _, t in _imports(str(p), "fastdense._tensor.m", False)] == expected
