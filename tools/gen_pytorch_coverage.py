"""Generate the OpInfo coverage table of docs/pytorch_api.md (between its markers).

Runs every in-scope op of PyTorch's OpInfo database through fastdense (see
tests/_opinfo.py: torch's sample inputs, float32 and float64, forward and
backward) and writes the table of in scope / passing / missing / failing ops
by family, the excluded families with their reasons, and the ops that do not
pass yet.

Usage::

    python tools/gen_pytorch_coverage.py            # rewrite the table in docs/pytorch_api.md
    python tools/gen_pytorch_coverage.py --check    # exit 1 if the docs' table is out of date
    python tools/gen_pytorch_coverage.py --print    # print the table only
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

import _opinfo  # noqa: E402

DOC = os.path.join(ROOT, "docs", "pytorch_api.md")


def splice(text: str, table: str) -> str:
    """`text` with the block between the coverage markers replaced by `table`."""
    start = text.index(_opinfo.START) + len(_opinfo.START)
    end = text.index(_opinfo.END)
    return text[:start] + "\n" + table + "\n" + text[end:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--max-samples", type=int, default=_opinfo.MAX_SAMPLES)
    args = ap.parse_args(argv)
    table = _opinfo.coverage_table(_opinfo.run_all(args.max_samples))
    if args.print:
        print(table)
        return 0
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    new = splice(text, table)
    if args.check:
        if new != text:
            print(
                "docs/pytorch_api.md's coverage table is out of date: run "
                "python tools/gen_pytorch_coverage.py",
                file=sys.stderr,
            )
            return 1
        return 0
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(new)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
