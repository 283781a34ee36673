"""The autograd graph: nodes, the backward sweep, and the version checks of saved tensors.

A :class:`Node` is one recorded operation: its inputs, the closure that maps
the output's gradient to theirs, and the version of every input the closure
reads (its *saved* tensors). An in-place operation bumps a tensor's version;
a backward pass through a node whose saved tensor has changed since raises
PyTorch's "modified by an inplace operation" error instead of computing a
gradient from the new values.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, List, Optional, Sequence, Set, Tuple

import numpy as np

__all__ = ["Node", "ShapeError", "DtypeError", "accumulate_leaf", "run_backward"]


class ShapeError(ValueError, RuntimeError):
    """Shape mismatch: a ValueError (fastdense's convention) and a RuntimeError (PyTorch's)."""


class DtypeError(TypeError, RuntimeError):
    """Wrong dtype: a TypeError (fastdense's convention) and a RuntimeError (PyTorch's)."""


_VERSION_OF = operator.attrgetter("_version")
_KIND = {"f": "Float", "i": "Long", "b": "Bool", "u": "Byte"}


class Node:
    """One recorded operation: its inputs and how to map the output gradient to theirs.

    ``backward(grad_output)`` returns a sequence of ``(input_tensor, grad)``
    pairs for the inputs that require gradients (it may also accumulate into
    leaf parameters directly and leave them out). ``saved`` are the inputs
    whose values the backward closure reads (all inputs by default): their
    versions are recorded here and checked when the node runs.
    """

    __slots__ = ("inputs", "_backward", "name", "freed", "saved", "versions", "fns", "output")

    def __init__(
        self,
        name: str,
        inputs: Sequence[Any],
        backward: Callable,
        saved: Optional[Sequence[Any]] = None,
    ):
        self.name = name
        self.inputs = inputs  # a sequence of tensors (those without a graph are skipped)
        self._backward: Optional[Callable] = backward
        self.freed = False
        # each input's node now: an in-place op may give the tensor a new node later, and
        # this edge must keep pointing at the value that was read (PyTorch's edges)
        # (False: the input did not require grad then, so no gradient flows to it).
        # One loop for both lists: a node is recorded per op, on the hot path.
        fns: List[Any] = []
        versions: List[int] = []
        for t in inputs:
            fns.append(t._grad_fn if t.requires_grad else False)
            if saved is None:
                versions.append(t._version)
        if saved is not None:
            versions = [t._version for t in saved]
        self.fns = fns
        self.saved = inputs if saved is None else saved
        self.versions = versions
        # (a weak reference to the output, its version) when the backward reads the output's
        # values (PyTorch's saved result: exp, sigmoid, relu, softmax, ...), set by result()
        self.output: Optional[Tuple[Any, int]] = None

    def backward(self, grad_output: np.ndarray):
        """``(input, gradient)`` pairs for ``grad_output``; RuntimeError once released or
        when a saved input was modified in place since the node was recorded."""
        if self.freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time; call "
                ".backward(retain_graph=True) the first time if you need to."
            )
        if list(map(_VERSION_OF, self.saved)) != self.versions:  # (the check, at C speed)
            self._raise_modified()
        if self.output is not None:
            t = self.output[0]()
            if t is not None and t._version != self.output[1]:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [torch.{_KIND.get(t._data.dtype.kind, '')}"
                    f"Tensor {list(t._data.shape)}], which is output 0 of {self.name}, is at "
                    f"version {t._version}; expected version {self.output[1]} instead."
                )
        return self._backward(grad_output)  # type: ignore[misc]  # None only once freed

    def _raise_modified(self) -> None:
        """The error for a saved input modified in place since the node was recorded."""
        for i, t in enumerate(self.saved):
            v = self.versions[i]
            if t._version != v:
                kind = _KIND.get(t._data.dtype.kind, "")
                where = f"output 0 of {t._grad_fn.name}" if t._grad_fn is not None else "a leaf"
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [torch.{kind}Tensor {list(t._data.shape)}], "
                    f"which is {where} (input {i} of {self.name}), is at version "
                    f"{t._version}; expected version {v} instead."
                )

    def fn_of(self, t: Any) -> Any:
        """The node that produced input `t` when this node was recorded."""
        for i, u in enumerate(self.inputs):
            if u is t:
                return self.fns[i]
        return t._grad_fn

    def release(self) -> None:
        """Drop what the backward pass saved (after a backward without retain_graph)."""
        self._backward = None
        self.saved, self.versions = (), []
        self.output = None
        self.freed = True

    def name_(self) -> str:
        """The operation's name, as PyTorch's ``grad_fn.name()`` gives it."""
        return self.name

    def __repr__(self) -> str:
        return f"<{self.name} object>"


def accumulate_leaf(t: Any, g: np.ndarray) -> None:
    """t._grad += g (or t._grad = copy of g), in t's dtype and shape."""
    data = t._data
    if g.shape != data.shape:
        g = np.broadcast_to(g, data.shape)
    cur = t._grad
    if cur is None:
        t._grad = np.array(g, dtype=data.dtype, order="C", copy=True)
    elif type(cur) is np.ndarray and cur.flags.writeable and cur.shape == data.shape:
        np.add(cur, g, out=cur, casting="unsafe")
    else:
        t._grad = np.asarray(cur) + g


def run_backward(root: Any, grad: np.ndarray, retain_graph: bool) -> None:
    """Sweep the graph under ``root`` in reverse topological order, accumulating into leaves."""
    order: List[Node] = []
    seen: Set[Node] = set()
    stack: List[Tuple[Any, bool]] = [(root._grad_fn, False)]
    while stack:  # iterative DFS: deep graphs do not hit the recursion limit
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for fn in node.fns:
            if fn and fn not in seen:
                stack.append((fn, False))
    grads = {root._grad_fn: grad}
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:
            continue
        for t, gt in node.backward(g):
            fn = node.fn_of(t)
            if fn is False:
                continue
            if fn is not None:
                prev = grads.get(fn)
                grads[fn] = gt if prev is None else prev + gt
            elif t.requires_grad:
                accumulate_leaf(t, gt)
    if not retain_graph:
        for node in order:
            node.release()
