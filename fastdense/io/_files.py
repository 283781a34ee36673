"""Writing a file atomically, the way np.save and torch.save leave it, and reading one within bounds.

:func:`atomic_write` is the one way fastdense writes a file (models, checkpoints,
the command line's CSV outputs): the bytes go to a temporary file in the
target's own folder, are flushed to disk, and only then renamed over the
target, so a crash or a full disk never leaves a truncated file under the
final name (the previous file stays as it was). A symlink is written through:
the link stays, its target is replaced. The mode is the existing file's (a
0644 model stays readable by the user who serves it); a new file gets
``0666 & ~umask``, as ``open(path, "w")`` gives.

:func:`read_regular` opens a file for reading without blocking (a FIFO) and
refuses anything but a regular file (``/dev/zero``, a directory, a socket)
before reading a byte, so a caller can bound what it reads by the file's size.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from typing import IO, Callable, Union

__all__ = ["atomic_write", "open_regular", "current_umask"]


def current_umask() -> int:
    """The process's umask (read by setting it and back: there is no getter before 3.13)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _final_target(path: str) -> str:
    """The file a write to `path` lands in: a symlink (or a chain of them) is followed."""
    if os.path.islink(path):
        return os.path.realpath(path)
    return path


def atomic_write(
    path: "Union[str, os.PathLike[str]]", data: "Union[bytes, Callable[[IO[bytes]], None]]"
) -> None:
    """Write `data` (bytes, or a function that writes to a binary file) to `path` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The target. An existing file keeps its permission bits; a new one gets
        ``0o666 & ~umask``; a symlink is written through to its target.
    data : bytes or callable
        The file's whole content, or ``write(f)`` that writes it to `f`.

    Raises
    ------
    OSError
        The folder is not writable, the target is a directory, the disk is
        full (``ENOSPC``): the target is then unchanged and no temporary file
        is left behind.
    """
    path = _final_target(os.fspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~current_umask()
    fd, tmp = tempfile.mkstemp(prefix=".fastdense-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def open_regular(path: "Union[str, os.PathLike[str]]") -> "tuple[IO[bytes], int]":
    """(binary file object, size in bytes) of a regular file, or OSError/ValueError at once.

    Opened with ``O_NONBLOCK`` so a FIFO cannot block the open; anything that
    is not a regular file (a device such as ``/dev/zero``, a FIFO, a socket) is
    a ValueError before a byte is read; a directory is IsADirectoryError.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a model file", name)
    fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(
                f"{name!r} is not a regular file (a device, FIFO or socket); "
                "fastdense reads models from regular files only"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return f, info.st_size
