"""Import and command-line start-up time: the minimum wall time of fresh interpreters.

    python benchmarks/bench_import.py [--quick] [--rounds R] [--json FILE]

Each command runs in a new process from a temporary folder (so the installed
package, or PYTHONPATH's, is imported, never the unbuilt source tree), byte
code compiled (``PYTHONDONTWRITEBYTECODE`` is dropped, as a user's Python
would have it); the table gives the fastest of ``R`` runs after one warm-up.
"""

import os
import subprocess
import sys
import tempfile
import time

from _harness import machine_header, markdown_table, parser, write_json

COMMANDS = [
    ["-c", "import fastdense"],
    ["-c", "import fastdense.kernels"],
    ["-m", "fastdense", "--version"],
    ["-m", "fastdense", "--help"],
]


def wall_time(args, env, cwd):
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    rounds = args.rounds or (2 if args.quick else 7)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(machine_header())
    rows, records = [], {}
    with tempfile.TemporaryDirectory() as cwd:
        for command in COMMANDS:
            wall_time(command, env, cwd)  # warm up: byte code written, files cached
            best = min(wall_time(command, env, cwd) for _ in range(rounds))
            shown = "python " + " ".join(f'"{a}"' if " " in a else a for a in command)
            rows.append([f"`{shown}`", f"{best:.3f} s"])
            records[shown] = best
    print(f"\nminimum of {rounds} runs\n")
    print(markdown_table(["command", "wall time"], rows))
    if args.json:
        write_json(args.json, {"rounds": rounds, "seconds": records})


if __name__ == "__main__":
    main()
