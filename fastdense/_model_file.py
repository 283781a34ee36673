"""Moved to :mod:`fastdense.io.model_file`; this old path stays importable."""

from .io.model_file import FORMAT, load_model, save_model  # noqa: F401

__all__ = ["save_model", "load_model"]
