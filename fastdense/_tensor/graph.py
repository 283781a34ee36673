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

__all__ = [
    "Node",
    "ShapeError",
    "DtypeError",
    "accumulate_leaf",
    "refresh_view",
    "sync_view",
    "run_backward",
]


class ShapeError(ValueError, RuntimeError):
    """Shape mismatch: a ValueError (fastdense's convention) and a RuntimeError (PyTorch's)."""


class DtypeError(TypeError, RuntimeError):
    """Wrong dtype: a TypeError (fastdense's convention) and a RuntimeError (PyTorch's)."""


_VC = operator.attrgetter("_vc")
_KIND = {"f": "Float", "i": "Long", "b": "Bool", "u": "Byte"}


class Node:
    """One recorded operation: its inputs and how to map the output gradient to theirs.

    ``backward(grad_output)`` returns a sequence of ``(input_tensor, grad)``
    pairs for the inputs that require gradients (it may also accumulate into
    leaf parameters directly and leave them out). ``saved`` are the inputs
    whose values the backward closure reads (all inputs by default): their
    versions are recorded here and checked when the node runs.

    A version counter is a one-element list that a tensor shares with its
    views (``Tensor._vc``); the node keeps the counters themselves and a copy
    of each as it was (``versions``), so the check is one comparison of two
    lists of one-element lists, made in C.
    """

    __slots__ = ("inputs", "_backward", "name", "saved", "vcs", "versions", "fns", "output")
    # (the output's version counter, its version, its values) when the backward reads the
    # output (PyTorch's saved result: exp, sigmoid, relu, softmax, ...); else None
    output: Optional[Tuple[List[int], int, np.ndarray]]

    def __init__(
        self,
        name: str,
        inputs: Sequence[Any],
        backward: Callable,
        saved: Optional[Sequence[Any]] = None,
    ):
        self.name = name
        self.inputs = inputs  # a sequence of tensors (those without a graph are skipped)
        self._backward: Optional[Callable] = backward  # None once released
        # each input's node now: an in-place op may give the tensor a new node later, and
        # this edge must keep pointing at the value that was read (PyTorch's edges)
        # (False: the input did not require grad then, so no gradient flows to it).
        # A view whose values changed in place since its node was made first gets a node
        # over its base's current history (refresh_view). One, two or three tensors are
        # written out without a loop: a node is recorded per op, on the hot path.
        n = len(inputs)
        if n == 3 and inputs[0]._viewof is None and inputs[1]._viewof is None:
            a, b, c = inputs  # (a Linear's x, W, b: W and b are parameters, never views)
            if c._viewof is None:
                self.fns = [
                    a._grad_fn if a.requires_grad else False,
                    b._grad_fn if b.requires_grad else False,
                    c._grad_fn if c.requires_grad else False,
                ]
            else:
                self.fns = _edges(inputs)
        elif n == 1 and inputs[0]._viewof is None:  # (a unary op, a loss)
            a = inputs[0]
            self.fns = [a._grad_fn if a.requires_grad else False]
        else:
            self.fns = _edges(inputs)
        if saved is None:
            saved = inputs
        self.saved = saved
        k = len(saved)
        if k == 1:
            va = saved[0]._vc
            self.vcs = [va]
            self.versions = [[va[0]]]
        elif k == 2:
            va, vb = saved[0]._vc, saved[1]._vc
            self.vcs = [va, vb]
            self.versions = [[va[0]], [vb[0]]]
        elif k == 3:
            va, vb, vc = saved[0]._vc, saved[1]._vc, saved[2]._vc
            self.vcs = [va, vb, vc]
            self.versions = [[va[0]], [vb[0]], [vc[0]]]
        else:
            vcs = self.vcs = list(map(_VC, saved))
            self.versions = list(map(list, vcs))
        self.output = None

    def backward(self, grad_output: np.ndarray):
        """``(input, gradient)`` pairs for ``grad_output``; RuntimeError once released or
        when a saved input was modified in place since the node was recorded."""
        bw = self._backward
        out = self.output
        if (
            bw is None
            or self.vcs != self.versions  # (the check, in C: lists of one-element lists)
            or (out is not None and out[0][0] != out[1])
        ):
            self._raise_unusable()
        return bw(grad_output)  # type: ignore[misc]  # (None raised above)

    def _raise_unusable(self) -> None:
        """The error of a node whose backward cannot run: released, or a saved input or the
        saved result modified in place since the node was recorded."""
        if self._backward is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time; call "
                ".backward(retain_graph=True) the first time if you need to."
            )
        self._raise_modified()
        out = self.output
        if out is not None and out[0][0] != out[1]:
            data = out[2]
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified "
                f"by an inplace operation: [torch.{_KIND.get(data.dtype.kind, '')}"
                f"Tensor {list(data.shape)}], which is output 0 of {self.name}, is at "
                f"version {out[0][0]}; expected version {out[1]} instead."
            )

    @property
    def freed(self) -> bool:
        """Whether the backward pass released what this node saved."""
        return self._backward is None

    def _raise_modified(self) -> None:
        """The error for a saved input modified in place since the node was recorded."""
        for i, t in enumerate(self.saved):
            v, now = self.versions[i][0], self.vcs[i][0]
            if now != v:
                kind = _KIND.get(t._data.dtype.kind, "")
                where = f"output 0 of {t._grad_fn.name}" if t._grad_fn is not None else "a leaf"
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [torch.{kind}Tensor {list(t._data.shape)}], "
                    f"which is {where} (input {i} of {self.name}), is at version "
                    f"{now}; expected version {v} instead."
                )

    def fn_of(self, t: Any) -> Any:
        """The node that produced input `t` when this node was recorded."""
        for i, u in enumerate(self.inputs):
            if u is t:
                return self.fns[i]
        return t._grad_fn

    def release(self) -> None:
        """Drop what the backward pass saved (after a backward without retain_graph): the
        closure and the saved result (backward() then raises before reading the rest)."""
        self._backward = None
        self.output = None

    def name_(self) -> str:
        """The operation's name, as PyTorch's ``grad_fn.name()`` gives it."""
        return self.name

    def __repr__(self) -> str:
        return f"<{self.name} object>"


def _edges(inputs: Sequence[Any]) -> List[Any]:
    """Each input's node (False: it did not require grad), views brought up to date first."""
    fns = []
    for t in inputs:
        if t._viewof is not None and t._viewof[2] != t._vc[0]:  # (sync_view, inline: per op)
            refresh_view(t)
        fns.append(t._grad_fn if t.requires_grad else False)
    return fns


def refresh_view(t: Any) -> None:
    """Give view ``t`` a node over its base's current history if the values changed in
    place since its node was made (PyTorch regenerates a view's ``grad_fn`` the same way:
    an in-place op recorded on the base gives the base a new node, which the view's
    gradient must go through)."""
    root, parent, _, name, backward = t._viewof
    sync_view(parent)
    if parent.requires_grad and backward is not None:
        t._grad_fn = Node(name, (parent,), backward, ())
        t.requires_grad = True
    t._viewof = (root, parent, t._vc[0], name, backward)


def sync_view(t: Any) -> None:
    """:func:`refresh_view` for ``t`` if it is a view whose values changed in place since
    its node was made; nothing otherwise."""
    v = t._viewof
    if v is not None and v[2] != t._vc[0]:
        refresh_view(t)


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
        # node.backward(g), inline (one call less per node on the hot path)
        bw = node._backward
        out = node.output
        if bw is None or node.vcs != node.versions or (out is not None and out[0][0] != out[1]):
            node._raise_unusable()
        ins = node.inputs
        for t, gt in bw(g):  # type: ignore[misc]  # (None raised above)
            # (the first input is the usual one: its edge without a call)
            fn = node.fns[0] if ins[0] is t else node.fn_of(t)
            if fn is False:
                continue
            if fn is not None:
                prev = grads.get(fn)
                grads[fn] = gt if prev is None else prev + gt
            elif t.requires_grad:
                accumulate_leaf(t, gt)
    if not retain_graph:
        for node in order:  # node.release(), inline
            node._backward = None
            node.output = None
