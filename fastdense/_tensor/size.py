"""``torch.Size``: the shape of a tensor, a tuple of ints that says what it is.

``Tensor.shape``, ``Tensor.size()`` and ``torch.broadcast_shapes`` return one,
as in PyTorch, so a script that prints a shape prints ``torch.Size([2, 3])``
and one that calls ``x.shape.numel()`` works. It is a tuple: it compares,
hashes, unpacks and indexes as one, and NumPy takes it as a shape.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Iterable, SupportsIndex, Tuple, Union, overload

__all__ = ["Size"]


def _type_name(value: Any) -> str:
    """The type's name as PyTorch's message gives it: qualified outside the builtins."""
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


class Size(tuple):
    """The shape of a tensor, as ``torch.Size``: a tuple of ints.

    Parameters
    ----------
    sizes : iterable of int, default ()
        The lengths, one per dimension. Each item must be an integer (a Python
        int, a NumPy integer, a 0-d integer tensor: anything with
        ``__index__``); a float or any other type raises TypeError.

    Notes
    -----
    Slicing, ``+`` and ``*`` give a ``Size`` again (also ``tuple + Size``),
    as in PyTorch. ``numel()`` is the number of elements a tensor of this
    shape has (1 for ``Size([])``).

    Examples
    --------
    >>> import fastdense.torch as torch
    >>> torch.zeros(2, 3).shape
    torch.Size([2, 3])
    >>> torch.Size([2, 3]).numel()
    6
    """

    __slots__ = ()

    def __new__(cls, sizes: Iterable[Any] = ()) -> "Size":
        items = tuple(sizes)
        checked = []
        for i, value in enumerate(items):
            try:
                checked.append(operator.index(value))
            except TypeError:
                raise TypeError(
                    f"torch.Size() takes an iterable of 'int' (item {i} is '{_type_name(value)}')"
                ) from None
        return tuple.__new__(cls, checked)

    def numel(self) -> int:
        """The number of elements of a tensor of this shape (1 for a 0-d one)."""
        return math.prod(self)

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    @overload
    def __getitem__(self, index: SupportsIndex) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> "Size": ...

    def __getitem__(self, index: Union[SupportsIndex, slice]) -> Union[int, "Size"]:
        if isinstance(index, slice):
            return tuple.__new__(Size, tuple.__getitem__(self, index))
        return tuple.__getitem__(self, index)

    def __add__(self, other: Tuple[Any, ...]) -> "Size":  # type: ignore[override]
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other: Tuple[Any, ...]) -> "Size":
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, times: SupportsIndex) -> "Size":  # type: ignore[override]
        return tuple.__new__(Size, tuple.__mul__(self, times))

    __rmul__ = __mul__


def shape_of(shape: Tuple[int, ...]) -> Size:
    """A ``Size`` of a shape known to hold ints (a NumPy array's): no per-item check."""
    return tuple.__new__(Size, shape)
