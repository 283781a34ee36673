"""Grad mode: whether operations record a graph, per thread (``torch.no_grad`` and friends)."""

from __future__ import annotations

import functools
import threading
from typing import Callable, Optional

__all__ = [
    "grad_mode",
    "is_grad_enabled",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
]


class _GradMode(threading.local):
    enabled = True


grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations record a graph in this thread (PyTorch's ``torch.is_grad_enabled``)."""
    return grad_mode.enabled


class _GradModeContext:
    _mode = True

    def __new__(cls, func: Optional[Callable] = None):
        self = super().__new__(cls)
        if func is not None:  # used as a bare decorator: @no_grad
            return self(func)
        return self

    def __enter__(self):
        self._prev = grad_mode.enabled
        grad_mode.enabled = self._mode
        return self

    def __exit__(self, *exc):
        grad_mode.enabled = self._prev
        return False

    def __call__(self, func: Callable) -> Callable:
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            prev = grad_mode.enabled
            grad_mode.enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                grad_mode.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Context manager and decorator that disables graph recording (``torch.no_grad``).

    Tensors computed inside have no ``grad_fn``; calling ``backward()`` on
    them raises RuntimeError.

    Examples
    --------
    >>> import fastdense as fd
    >>> with fd.no_grad():
    ...     pass
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Context manager and decorator that enables graph recording (``torch.enable_grad``)."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Enable or disable graph recording (``torch.set_grad_enabled``).

    Takes effect when called (as in PyTorch), and restores the previous mode
    on exit when used as a context manager.
    """

    def __new__(cls, mode: bool):
        self = object.__new__(cls)
        self._mode = bool(mode)
        self._prev = grad_mode.enabled
        grad_mode.enabled = self._mode
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        grad_mode.enabled = self._prev
        return False


inference_mode = no_grad
