"""PyTorch-compatible optimizers: ``Optimizer``, ``SGD``, ``Adam``, ``AdamW``.

The update rules are PyTorch's (``torch.optim``'s single-tensor paths) and
are computed in place by the compiled kernels (``fastdense._kernels``); the
scalars PyTorch computes in Python double (bias corrections, step sizes) are
computed here in double too. ``param_groups``, ``state`` (keys ``step``,
``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``, ``momentum_buffer``) and
``state_dict()`` have PyTorch's structure, with NumPy arrays for tensors and
a Python float for ``step``.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from itertools import chain
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from .. import _kernels
from .. import _version
from .._validation import to_ndarray, warn_if_other_version
from ..autograd import Tensor, enable_grad

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()
_EMPTY: Dict[np.dtype, np.ndarray] = {np.dtype(np.float32): np.empty(0, np.float32),
          np.dtype(np.float64): np.empty(0, np.float64)}


def _flat_grad(p: Tensor) -> Optional[np.ndarray]:
    """The gradient of p as a flat C-contiguous array of p's dtype, or None."""
    g = p._grad
    if g is None:
        return None
    pd = p._data
    if not (type(g) is np.ndarray and g.dtype == pd.dtype and g.shape == pd.shape
            and g.flags.c_contiguous):
        g = np.ascontiguousarray(np.broadcast_to(to_ndarray(g, "grad"), pd.shape),
                                 dtype=pd.dtype)
    return g.reshape(-1)


def _flat_param(p: Tensor) -> np.ndarray:
    """p's data as a flat view the kernels can update in place (made contiguous first)."""
    pd = p._data
    if not (pd.flags.c_contiguous and pd.flags.writeable):
        pd = p._data = np.array(pd, order="C", copy=True)
    p._version += 1
    return pd.reshape(-1)


def _with_grads(params: Iterable[Tensor]) -> Iterator[Tuple[Tensor, np.ndarray, np.ndarray]]:
    """(p, its flat gradient, its flat data) for each parameter with a gradient, in order.

    Only those parameters get a writable flat view (and a version bump).
    """
    for p in params:
        g = _flat_grad(p)
        if g is not None:
            yield p, g, _flat_param(p)


def _state_buffer(p: Tensor, st: Dict[str, Any], key: str) -> Optional[np.ndarray]:
    """st[key] if it can be handed to a kernel with p's data, else RuntimeError.

    The door for optimizer state: whatever ``load_state_dict``, a pickle or a
    user's edit of ``opt.state`` (or of ``p.data``) left there is proven to
    have p's shape and dtype, contiguous and writable, before a kernel writes
    through it.
    """
    buf = st.get(key)
    if buf is None:
        return None
    pd = p._data
    if not isinstance(buf, np.ndarray):
        raise TypeError(f"optimizer state {key!r} must be an array; got {type(buf).__name__}")
    if buf.shape != pd.shape:
        raise RuntimeError(
            f"optimizer state {key!r} has shape {buf.shape} but its parameter has shape "
            f"{pd.shape} (was the parameter's .data replaced, or a state_dict of another "
            "model loaded?)"
        )
    if buf.dtype != pd.dtype:
        raise RuntimeError(
            f"optimizer state {key!r} has dtype {buf.dtype} but its parameter has dtype "
            f"{pd.dtype}"
        )
    if not (buf.flags.c_contiguous and buf.flags.writeable):
        buf = st[key] = np.array(buf, order="C", copy=True)
    return buf


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class Optimizer:
    """Base class of the optimizers (``torch.optim.Optimizer``).

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        Parameters, or parameter groups (dicts with a "params" entry and
        per-group hyperparameters).
    defaults : dict
        Default hyperparameters of the groups.
    """

    def __init__(self, params: Iterable, defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: Dict[Any, Dict[str, Any]] = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors "
                f"or dicts, but got {type(params).__name__}"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_fastdense_version"] = _version.__version__
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        warn_if_other_version(state.pop("_fastdense_version", None), type(self).__name__)
        self.__dict__.update(state)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + type(p).__name__)
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            group.setdefault(name, default)
        existing: set = set()
        for g in self.param_groups:
            existing.update(map(id, g["params"]))
        if existing & set(map(id, params)):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None, or zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p._grad = None
                elif p._grad is not None:
                    p._grad[...] = 0

    def step(self, closure: Optional[Callable[[], Any]] = None):
        """Update the parameters once; ``closure`` re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group: Dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- state dicts -------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are numbered across groups in order, as PyTorch numbers
        them; the arrays are copies.
        """
        index: Dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, st in self.state.items():
            key = index[id(p)] if isinstance(p, Tensor) and id(p) in index else p
            state[key] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                          for k, v in st.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict`, or from a PyTorch optimizer's state_dict.

        Tensors (NumPy arrays or torch tensors) are copied into arrays of each
        parameter's dtype; ``step`` becomes a Python float.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise TypeError("an optimizer state_dict is a dict with 'state' and "
                            "'param_groups'")
        if not isinstance(state_dict["param_groups"], (list, tuple)) or not all(
                isinstance(g, dict) and isinstance(g.get("params"), (list, tuple))
                for g in state_dict["param_groups"]):
            raise TypeError("param_groups must be a list of dicts, each with a 'params' list")
        if not isinstance(state_dict["state"], dict) or not all(
                isinstance(v, dict) for v in state_dict["state"].values()):
            raise TypeError("state must be a dict of per-parameter dicts")
        state_dict = {"state": state_dict["state"],
                      "param_groups": copy.deepcopy(state_dict["param_groups"])}
        groups, saved = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't "
                             "match the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved),
                          chain.from_iterable(g["params"] for g in groups)))
        state: Dict[Any, Dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                p = id_map[key]
                state[p] = {k: self._cast_state(p, k, v) for k, v in value.items()}
            else:
                state[key] = value
        new_groups = []
        for g, s in zip(groups, saved):
            s = {k: _plain(v) for k, v in s.items()}
            s["params"] = g["params"]
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups

    @staticmethod
    def _cast_state(p: Tensor, key: str, value: Any) -> Any:
        if key == "step":
            try:
                step = float(value.item() if hasattr(value, "item") else value)
            except (TypeError, ValueError):
                raise TypeError(f"state 'step' must be a number; got {value!r}") from None
            if not (step >= 0 and math.isfinite(step)):
                raise ValueError(f"state 'step' must be a finite number >= 0; got {step}")
            return step
        if value is None:
            return None
        if isinstance(value, Tensor):
            value = value._data
        arr = to_ndarray(value, f"state[{key!r}]")
        if arr.shape != p._data.shape:
            raise RuntimeError(
                f"loaded state {key!r} has shape {arr.shape}; its parameter has shape "
                f"{p._data.shape}"
            )
        return np.array(arr.reshape(p._data.shape), dtype=p._data.dtype, order="C", copy=True)


def _plain(v: Any) -> Any:
    """Hyperparameters loaded from PyTorch: scalar tensors to floats, tuples kept."""
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        return v.item()
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    return v


class SGD(Optimizer):
    """Stochastic gradient descent with momentum (``torch.optim.SGD``), PyTorch's rule.

    ``g = grad + weight_decay * p`` (negated first if ``maximize``); with
    momentum ``buf = g`` on the first step, then
    ``buf = momentum * buf + (1 - dampening) * g``, and ``g = g + momentum * buf``
    (Nesterov) or ``g = buf``; ``p -= lr * g``.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float, default=1e-3
    momentum, dampening, weight_decay : float, default=0
    nesterov : bool, default=False
        Requires ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default=False
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        _check(lr >= 0.0, f"Invalid learning rate: {lr}")
        _check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _check(not nesterov or (momentum > 0 and dampening == 0),
               "Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, wd = float(group["dampening"]), float(group["weight_decay"])
        nesterov, maximize = bool(group["nesterov"]), bool(group["maximize"])
        state = self.state
        for p, g, flat in _with_grads(group["params"]):
            if momentum != 0:
                st = state[p]
                buf = _state_buffer(p, st, "momentum_buffer")
                first = buf is None
                if first:
                    buf = st["momentum_buffer"] = np.empty_like(p._data)
                _kernels.torch_sgd(flat, g, buf.reshape(-1),  # type: ignore[union-attr]
                                   lr, momentum, dampening, wd,
                                   nesterov, maximize, first)
            else:
                _kernels.torch_sgd(flat, g, _EMPTY[flat.dtype], lr, 0.0, dampening, wd,
                                   nesterov, maximize, False)


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``), PyTorch's rule; ``AdamW`` with ``decoupled_weight_decay``.

    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``,
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``
    (``max(v)`` over steps with ``amsgrad``). Weight decay adds ``wd * p`` to
    g, or (decoupled) multiplies p by ``1 - lr * wd`` first.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float, default=1e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0
    amsgrad, maximize : bool, default=False
    decoupled_weight_decay : bool, default=False
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        _check(0.0 <= lr, f"Invalid learning rate: {lr}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        _check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps, wd = float(group["eps"]), float(group["weight_decay"])
        amsgrad, maximize = bool(group["amsgrad"]), bool(group["maximize"])
        if group.get("decoupled_weight_decay", False):
            coupled, decay = 0.0, 1.0 - lr * wd
        else:
            coupled, decay = wd, 1.0
        state = self.state
        lists: Dict[Any, tuple] = {}  # dtype -> (params, grads, m, v, v_max, sizes, bc2s)
        scalars: Dict[float, tuple] = {}
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            pd = p._data
            if not (type(g) is np.ndarray and g.dtype == pd.dtype and g.shape == pd.shape
                    and g.flags.c_contiguous):
                g = np.ascontiguousarray(np.broadcast_to(to_ndarray(g, "grad"), pd.shape),
                                         dtype=pd.dtype)
            if not (pd.flags.c_contiguous and pd.flags.writeable):
                pd = p._data = np.array(pd, order="C", copy=True)
            p._version += 1
            st = state[p]
            if not st:
                st["step"] = 0.0
                st["exp_avg"] = np.zeros(pd.shape, dtype=pd.dtype)
                st["exp_avg_sq"] = np.zeros(pd.shape, dtype=pd.dtype)
                if amsgrad:
                    st["max_exp_avg_sq"] = np.zeros(pd.shape, dtype=pd.dtype)
            elif amsgrad and st.get("max_exp_avg_sq") is None:
                st["max_exp_avg_sq"] = np.zeros(pd.shape, dtype=pd.dtype)
            for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
                _state_buffer(p, st, key)
            if "exp_avg" not in st or "exp_avg_sq" not in st:
                raise RuntimeError("Adam state of a parameter lacks exp_avg/exp_avg_sq")
            try:
                prev_step = float(st["step"])
            except (TypeError, ValueError, KeyError):
                raise TypeError(f"optimizer state 'step' must be a number; got "
                                f"{st.get('step')!r}") from None
            step = st["step"] = prev_step + 1.0
            sc = scalars.get(step)
            if sc is None:  # Python doubles, as PyTorch computes them
                sc = scalars[step] = (lr / (1.0 - beta1 ** step),
                                      math.sqrt(1.0 - beta2 ** step))
            lst = lists.get(pd.dtype)
            if lst is None:
                lst = lists[pd.dtype] = ([], [], [], [], [], [], [])
            lst[0].append(pd)
            lst[1].append(g)
            lst[2].append(st["exp_avg"])
            lst[3].append(st["exp_avg_sq"])
            if amsgrad:
                lst[4].append(st["max_exp_avg_sq"])
            lst[5].append(sc[0])
            lst[6].append(sc[1])
        for ps, gs, ms, vs, vms, sizes, bc2s in lists.values():
            _kernels.torch_adam_multi(ps, gs, ms, vs, vms, sizes, bc2s, beta1, beta2, eps,
                                      coupled, decay, amsgrad, maximize)


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``): ``p *= 1 - lr * wd`` first.

    Parameters are those of :class:`Adam`, with ``weight_decay=1e-2`` by default.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
