"""Run a function in a forked child process, so a crash fails a test instead of the run.

``run_in_child(fn, *args)`` forks; the child runs ``fn(*args)`` and sends back
its (picklable) return value, or the exception it raised, as ``("ok", value)``
or ``("raised", type name, message)``. A child killed by a signal (SIGSEGV,
SIGABRT, ...), one that exits without an answer, or one that runs past
`timeout` seconds raises :class:`ChildCrashed` in the parent.
"""

import os
import pickle
import select
import signal
import time
import traceback
import warnings


class ChildCrashed(AssertionError):
    """The child process died (signal, exit without an answer) or hung."""


def run_in_child(fn, *args, timeout=120.0):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_fd)
        status = 0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    answer = ("ok", fn(*args))
                except BaseException as exc:  # noqa: BLE001 - reported to the parent
                    answer = (
                        "raised",
                        type(exc).__name__,
                        str(exc)[:2000],
                        traceback.format_exc()[-4000:],
                    )
            data = pickle.dumps(answer)
            with os.fdopen(write_fd, "wb") as f:
                f.write(data)
        except BaseException:  # noqa: BLE001
            status = 3
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + timeout
    with os.fdopen(read_fd, "rb") as f:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([f], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise ChildCrashed(f"the child ran past {timeout} s: killed")
            chunk = os.read(f.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        raise ChildCrashed(
            f"the child died of signal {os.WTERMSIG(status)} "
            f"({signal.Signals(os.WTERMSIG(status)).name})"
        )
    if not chunks:
        raise ChildCrashed(
            f"the child exited with status {os.WEXITSTATUS(status)} without an answer"
        )
    return pickle.loads(b"".join(chunks))
