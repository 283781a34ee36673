"""Every fenced Python block of the README and of docs/ runs as pasted.

Each block runs on its own, in a fresh namespace (a reader may paste any one
of them), in a fresh temporary folder (blocks may write files); a subprocess a
block starts imports the fastdense under test.
A block that needs an optional package which is not installed skips its page.
The generated API pages (docs/api/, from the docstrings by tools/gen_api_docs.py)
are not run: their Python blocks are call signatures.
"""

import os
import pathlib
import re
import warnings

import pytest

import fastdense

_SRC = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted([_SRC / "README.md", *(_SRC / "docs").glob("*.md")])
OPTIONAL = {
    "torch",
    "onnx",
    "onnxruntime",
    "skl2onnx",
    "dask",
    "dask_ml",
    "distributed",
    "ray",
    "pandas",
    "matplotlib",
    "rich",
}
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(page):
    return _BLOCK.findall(page.read_text())


@pytest.mark.parametrize(
    "page", [p for p in PAGES if blocks(p)], ids=lambda p: str(p.relative_to(_SRC))
)
def test_page_snippets_run_as_pasted(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(pathlib.Path(fastdense.__file__).parent.parent))
    for number, code in enumerate(blocks(page)):
        namespace = {"__name__": "__snippet__"}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a snippet's warnings are its own business
                exec(compile(code, f"{page.name}, block {number}", "exec"), namespace)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] in OPTIONAL:
                pytest.skip(f"{page.name} needs {exc.name}")
            raise
        except Exception as exc:
            raise AssertionError(
                f"{page.relative_to(_SRC)} block {number} fails as pasted: "
                f"{type(exc).__name__}: {exc}\n---\n{code}"
            ) from exc


def test_every_page_is_found():
    assert _SRC / "README.md" in PAGES and len(PAGES) > 5
    assert os.path.exists(_SRC / "docs" / "pytorch_api.md")
