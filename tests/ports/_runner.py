"""Run several port scripts in this one process (imports paid once); print JSON results.

Usage: python _runner.py ROLE STATE_DIR SCRIPT... where each SCRIPT is a file holding
the (possibly rewritten) source. Each script runs in fresh globals; its stdout and its
wall time are collected.
"""

import contextlib
import io
import json
import os
import sys
import time
import traceback


def main(role, state_dir, paths):
    os.environ["PORT_ROLE"] = role
    results = {}
    for path in paths:
        name = os.path.basename(path).split(".")[0]
        os.environ["PORT_STATE"] = os.path.join(state_dir, name + ".npz")
        with open(path) as f:
            source = f.read()
        buf = io.StringIO()
        t0 = time.perf_counter()
        error = None
        try:
            with contextlib.redirect_stdout(buf):
                exec(compile(source, path, "exec"), {"__name__": "__main__"})
        except Exception:
            error = traceback.format_exc()
        results[name] = {"stdout": buf.getvalue(), "time": time.perf_counter() - t0, "error": error}
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
