"""The loss reduction argument, as ``torch.nn._reduction`` reads it."""

from __future__ import annotations

REDUCTIONS = ("mean", "sum", "none")


def reduction_name(size_average, reduce, reduction: str) -> str:
    """ "mean", "sum" or "none"; PyTorch's legacy ``size_average``/``reduce`` win if given.

    Raises
    ------
    ValueError
        For any other ``reduction``, with PyTorch's message.
    """
    if size_average is not None or reduce is not None:  # PyTorch's legacy arguments
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return "mean" if (size_average and reduce) else ("sum" if reduce else "none")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction
