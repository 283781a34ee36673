"""Moved to :mod:`fastdense.io.checkpoint`; this old path stays importable."""

from ..io.checkpoint import load, save  # noqa: F401
