"""``torch.utils``: only ``data``."""

from . import data

__all__ = ["data"]
