"""How a tensor prints: PyTorch's text, character for character.

A script that prints a tensor, a loss or a model's weights shows what it shows
under PyTorch: a precision of 4 decimals by default, a column width shared by
all the values, scientific notation when the magnitudes call for it, whole
numbers as ``1.``, ``...`` past ``threshold`` elements, lines broken at
``linewidth``, and the ``dtype=``/``grad_fn=``/``requires_grad=`` suffixes.
``set_printoptions`` changes the options for the whole process, as PyTorch's
does (it is a user setting, like NumPy's).

The rules, as PyTorch applies them:

- Floating values: only the finite nonzero ones choose the format. They are
  whole numbers -> ``int mode`` (``3.``); their largest over smallest
  magnitude exceeds 1000, the largest exceeds 1e8 or the smallest is under
  1e-4 -> scientific (``1.0000e+05``); else fixed with ``precision`` decimals.
  The width is the widest of their texts (``+1`` for the point in int mode).
- Integers and booleans: the width of the widest value.
- A row holds ``(linewidth - indent) // (width + 2)`` values (at least one).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Dict, Iterator, List, Optional

import numpy as np

from .. import _dtypes as _dt

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_text"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: Optional[bool] = None


_PROFILES = {
    "default": _PrintOptions(),
    "short": _PrintOptions(precision=2, edgeitems=2),
    "full": _PrintOptions(threshold=math.inf),
}

# the process's options (set_printoptions is process-wide in PyTorch too)
OPTIONS = _PrintOptions()


def set_printoptions(
    precision: Optional[int] = None,
    threshold: Optional[float] = None,
    edgeitems: Optional[int] = None,
    linewidth: Optional[int] = None,
    profile: Optional[str] = None,
    sci_mode: Optional[bool] = None,
) -> None:
    """Set how tensors print (``torch.set_printoptions``).

    Parameters
    ----------
    precision : int, optional
        Decimals of floating values (default 4).
    threshold : float, optional
        More elements than this print summarized, with ``...`` (default 1000).
    edgeitems : int, optional
        Values kept at each end of a summarized dimension (default 3).
    linewidth : int, optional
        Characters per line before a break (default 80).
    profile : {"default", "short", "full"}, optional
        A preset, applied before the other arguments.
    sci_mode : bool or None, default=None
        Force scientific notation on (True) or off (False); None chooses by
        the values. As in PyTorch, every call sets it (to None unless given).
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        preset = _PROFILES[profile]
        for field in ("precision", "threshold", "edgeitems", "linewidth"):
            setattr(OPTIONS, field, getattr(preset, field))
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems}
    given["linewidth"] = linewidth
    for field, value in given.items():
        if value is not None:
            setattr(OPTIONS, field, value)
    OPTIONS.sci_mode = sci_mode


def get_printoptions() -> Dict[str, Any]:
    """The current print options, as keywords ``set_printoptions`` takes."""
    return dataclasses.asdict(OPTIONS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Change the print options inside a ``with`` block (``torch._tensor_str.printoptions``)."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Format:
    """The text of each value of one tensor: one mode and one width for all of them."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        magnitude = np.abs(finite)
        low, high = magnitude.min(), magnitude.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        chosen = OPTIONS.sci_mode
        self.sci_mode = (
            bool(high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4) if chosen is None else chosen
        )
        p = OPTIONS.precision
        for v in finite.tolist():
            if self.sci_mode:
                n = len(f"{v:.{p}e}")
            elif self.int_mode:
                n = len(f"{v:.0f}") + 1
            else:
                n = len(f"{v:.{p}f}")
            self.width = max(self.width, n)

    def __call__(self, v: Any) -> str:
        p = OPTIONS.precision
        if not self.floating:
            text = str(v)
        elif self.sci_mode:
            text = f"{v:{self.width}.{p}e}"
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.{p}f}"
        return " " * (self.width - len(text)) + text


def _summarized(x: np.ndarray) -> np.ndarray:
    """The values a summarized print shows (edgeitems at each end of every dimension)."""
    e = OPTIONS.edgeitems
    if x.ndim == 0:
        return x
    if x.ndim == 1:
        return np.concatenate([x[:e], x[-e:]]) if x.shape[0] > 2 * e else x
    if not e:
        return np.empty((0,) * x.ndim, dtype=x.dtype)
    rows = list(range(e)) + list(range(x.shape[0] - e, x.shape[0])) if x.shape[0] > 2 * e else None
    picked = [x[i] for i in rows] if rows is not None else list(x)
    return np.stack([_summarized(r) for r in picked])


def _body(x: np.ndarray, indent: int, summarize: bool, fmt: _Format) -> str:
    e = OPTIONS.edgeitems
    if x.ndim == 0:
        return fmt(x.item())
    if x.ndim == 1:
        per_line = max(1, (OPTIONS.linewidth - indent) // (fmt.width + 2))
        if summarize and not e:
            items = ["..."]
        elif summarize and x.shape[0] > 2 * e:
            items = [fmt(v) for v in x[:e].tolist()] + [" ..."]
            items += [fmt(v) for v in x[-e:].tolist()]
        else:
            items = [fmt(v) for v in x.tolist()]
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    parts: List[str]
    if summarize and x.shape[0] > 2 * e:
        parts = [_body(x[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
        parts += [
            _body(x[i], indent + 1, summarize, fmt) for i in range(x.shape[0] - e, x.shape[0])
        ]
    else:
        parts = [_body(row, indent + 1, summarize, fmt) for row in x]
    return "[" + ("," + "\n" * (x.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def tensor_text(x: np.ndarray, grad_fn: Optional[str] = None, requires_grad: bool = False) -> str:
    """``repr`` of a tensor holding ``x``, as PyTorch prints it.

    Parameters
    ----------
    x : ndarray
        The values.
    grad_fn : str, optional
        The name of the graph node that made the tensor (``MulBackward0``).
    requires_grad : bool, default=False
        Printed as ``requires_grad=True`` when there is no ``grad_fn``.
    """
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    default = x.dtype in (_dt.DEFAULT[2], _dt.int64, _dt.bool_)
    # the size where the body does not show it: an empty tensor that is not 1-d, or no
    # edge items
    if (x.ndim != 1) if x.size == 0 else not OPTIONS.edgeitems:
        suffixes.append(f"size={tuple(x.shape)}")
    if not default:
        suffixes.append(f"dtype=torch.{x.dtype}")
    if x.size == 0:
        body = "[]"
    else:
        summarize = x.size > OPTIONS.threshold
        fmt = _Format(_summarized(x) if summarize else x)
        body = _body(x, indent, summarize, fmt)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    text = prefix + body
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > OPTIONS.linewidth:
            text += ",\n" + " " * indent + suffix
            last = indent + len(suffix)
        else:
            text += ", " + suffix
            last += len(suffix) + 2
    return text + ")"
