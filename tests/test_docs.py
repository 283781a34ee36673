"""The documentation: relative links resolve, and the API pages cover the public names
and say what the docstrings say now."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

import fastdense
from fastdense import kernels, nn, optim

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "#", "mailto:")):
            continue
        path = target.split("#")[0]
        assert (page.parent / path).exists(), f"{page.name}: broken link {target}"


def test_readme_links_every_doc_page():
    readme = (ROOT / "README.md").read_text()
    for page in PAGES[1:]:
        assert str(page.relative_to(ROOT)) in readme, f"README does not link {page.name}"


def test_api_pages_cover_the_public_names():
    api = {p.stem: p.read_text() for p in (ROOT / "docs" / "api").glob("*.md")}
    for name in (
        "DenseBinaryClassifier",
        "fastdense.gradcheck",
        "fastdense.plot.loss_curve",
        "fastdense.plot.benchmark",
    ):
        assert f"### `{name}`" in api["estimator"], name
    for name in nn.__all__:
        if name not in ("functional", "Parameter", "init", "utils"):
            assert f"### `nn.{name}`" in api["nn_optim"], name
    for name in optim.__all__:
        if name != "lr_scheduler":
            assert f"### `optim.{name}`" in api["nn_optim"], name
    for name in ("Tensor", "Parameter", "no_grad", "manual_seed", "from_torch", "to_torch"):
        assert name in fastdense.__all__ and f"### `{name}`" in api["nn_optim"], name
    for name in ("dense_forward", "dense_backward", "bce_with_logits"):
        assert hasattr(kernels, name) and f"### `kernels.{name}`" in api["kernels"], name


def test_api_pages_are_generated_from_the_current_docstrings():
    tool = ROOT / "tools" / "gen_api_docs.py"
    if not tool.exists():
        pytest.skip("no tools/ here (tests run from an sdist)")
    env = dict(os.environ)
    # the tool imports the fastdense these tests import (the tree's, or the installed one)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(pathlib.Path(fastdense.__file__).parent.parent), env.get("PYTHONPATH", "")]
    )
    done = subprocess.run(
        [sys.executable, str(tool), "--check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
