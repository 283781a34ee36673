"""The optimizer base class (``torch.optim.Optimizer``) and what the rules share.

Each update rule lives in its own module, as in ``torch.optim``: ``sgd``,
``adam``, ``adamw``, ``rmsprop``, ``adagrad`` (run by the compiled kernels,
one call per parameter or per group), and ``adadelta``, ``adamax``, ``asgd``,
``nadam``, ``radam``, ``rprop``, ``lbfgs``, ``adafactor``, ``muon`` (NumPy on
the parameters' arrays, in PyTorch's order of operations). The scalars
PyTorch computes in Python double (bias corrections, step sizes) are computed
in double here too. ``param_groups``, ``state`` and ``state_dict()`` have
PyTorch's structure, with NumPy arrays for tensors and Python floats for
scalar state such as ``step``.

``SGD``, ``Adam`` and ``AdamW`` were defined in this module before the rules
got their own files; they are still importable from here (and pickles that
name ``fastdense.optim.optimizer.SGD`` still load).
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from collections import defaultdict
from itertools import chain
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from .. import _version
from .._validation import to_ndarray, warn_if_other_version
from ..autograd import Tensor, enable_grad

__all__ = ["Optimizer", "required"]

# the rules that lived here before each got its own module (old import paths, old pickles)
_MOVED = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw"}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"{__package__}.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()
_EMPTY: Dict[np.dtype, np.ndarray] = {
    np.dtype(np.float32): np.empty(0, np.float32),
    np.dtype(np.float64): np.empty(0, np.float64),
}


def _grad_like(g: Any, pd: np.ndarray) -> np.ndarray:
    """Gradient ``g`` as a C-contiguous array of data ``pd``'s dtype and shape."""
    if (
        type(g) is np.ndarray
        and g.dtype == pd.dtype
        and g.shape == pd.shape
        and g.flags.c_contiguous
    ):
        return g
    return np.ascontiguousarray(np.broadcast_to(to_ndarray(g, "grad"), pd.shape), dtype=pd.dtype)


def _flat_grad(p: Tensor) -> Optional[np.ndarray]:
    """The gradient of p as a flat C-contiguous array of p's dtype, or None."""
    g = p._grad
    if g is None:
        return None
    return _grad_like(g, p._data).reshape(-1)


def _flat_param(p: Tensor) -> np.ndarray:
    """p's data as a flat view the kernels can update in place (made contiguous first)."""
    pd = p._data
    if not (pd.flags.c_contiguous and pd.flags.writeable):
        pd = p._data = np.array(pd, order="C", copy=True)
    p._vc[0] += 1
    return pd.reshape(-1)


def _with_weight_decay(
    g: np.ndarray, x: np.ndarray, lr: float, wd: float, decoupled: bool = False
) -> np.ndarray:
    """PyTorch's weight decay before a NumPy rule's update: the gradient ``g + wd * x``
    (coupled, a new array), or, decoupled (AdamW's form), ``x *= 1 - lr * wd`` in place
    and ``g`` unchanged. Returns the gradient the rule goes on with."""
    if wd != 0:
        if decoupled:
            x *= 1 - lr * wd
        else:
            g = g + wd * x
    return g


def _with_grads(params: Iterable[Tensor]) -> Iterator[Tuple[Tensor, np.ndarray, np.ndarray]]:
    """(p, its flat gradient, its flat data) for each parameter with a gradient, in order.

    Only those parameters get a writable flat view (and a version bump).
    """
    for p in params:
        g = _flat_grad(p)
        if g is not None:
            yield p, g, _flat_param(p)


def _grad_and_data(p: Tensor) -> Tuple[np.ndarray, np.ndarray]:
    """(gradient, data) of a parameter with a gradient, shaped like p, as a kernel takes
    them: the gradient C-contiguous in p's dtype, the data C-contiguous, aligned and
    writable (p's data is replaced by such a copy first if it is not). The caller bumps
    p's version when the kernel writes the data.

    The door of the kernels that take shaped arrays (Adam's). A caller that runs every
    step checks inline whether p's gradient and data already are what this returns, and
    comes here only when they are not.
    """
    pd = p._data
    if not pd.flags.carray:
        pd = p._data = np.array(pd, order="C", copy=True)
    return _grad_like(p._grad, pd), pd


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
            f"optimizer state {key!r} has dtype {buf.dtype} but its parameter has dtype {pd.dtype}"
        )
    if not buf.flags.carray:  # C-contiguous, aligned and writable
        buf = st[key] = np.array(buf, order="C", copy=True)
    return buf


def _state_buffers(p: Tensor, st: Dict[str, Any], keys: Tuple[str, ...]) -> None:
    """:func:`_state_buffer` for each of ``keys``, for a rule that reads them from ``st``
    afterwards: one call per parameter, the door itself only for a buffer that is not
    already an array of p's shape and dtype, C-contiguous, aligned and writable."""
    pd = p._data
    for key in keys:
        buf = st.get(key)
        if not (
            type(buf) is np.ndarray
            and buf.shape == pd.shape
            and buf.dtype == pd.dtype
            and buf.flags.carray
        ):
            _state_buffer(p, st, key)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_moments(betas: Any, eps: float, weight_decay: float) -> None:
    """PyTorch's checks of the Adam family's ``betas``, ``eps`` and ``weight_decay``."""
    _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
    _check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    _check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
    _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")


def _scalar(value: Any) -> float:
    """A hyperparameter as a Python float (a one-element tensor lr included, as PyTorch)."""
    if type(value) is float:  # the usual case, read every step
        return value
    if isinstance(value, Tensor) or hasattr(value, "item"):
        if int(np.prod(getattr(value, "shape", ()))) != 1:
            raise ValueError("Tensor lr must be 1-element")
        return float(value.item())
    return float(value)


def _check_lr(lr: Any, message: str = "Invalid learning rate: {}") -> None:
    """PyTorch's learning-rate check (a float or a one-element tensor, >= 0)."""
    _check(0.0 <= _scalar(lr), message.format(lr))


def _check_flags(
    foreach: Optional[bool] = None,
    fused: Optional[bool] = None,
    capturable: bool = False,
    differentiable: bool = False,
) -> None:
    """Implementation switches: accepted when they mean the same math, else a clear error.

    ``foreach`` and ``fused`` choose how PyTorch loops over the tensors, not
    what it computes (on the CPU its fused kernels follow the same formulas),
    so both are accepted; fastdense has one implementation. ``capturable``
    asks for CUDA-graph-safe state on the device: PyTorch refuses it for CPU
    parameters, and so does fastdense, at construction. ``differentiable``
    asks autograd to record the update itself, which fastdense's in-place
    kernels cannot do.
    """
    if foreach and fused:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")
    if capturable:
        raise ValueError(
            "capturable=True is not supported: it keeps the optimizer state on a CUDA/XLA "
            "device for graph capture, and fastdense runs on the CPU (PyTorch also refuses "
            "capturable=True for CPU parameters)"
        )
    if differentiable:
        raise NotImplementedError(
            "differentiable=True is not supported by fastdense: its optimizer steps update "
            "the parameters in place outside autograd"
        )


def _numpy_params(group: Dict[str, Any]) -> Iterator[Tuple[Tensor, np.ndarray, np.ndarray]]:
    """(p, its gradient, its data) for each parameter of the group with a gradient.

    The gradient has p's shape and dtype (negated if the group maximizes);
    the data is p's own array, writable and contiguous, updated in place by
    the NumPy rules (its version counter bumped, as an in-place op would).
    """
    maximize = bool(group.get("maximize", False))
    for p, g, flat in _with_grads(group["params"]):
        g = g.reshape(p._data.shape)
        yield p, (-g if maximize else g), p._data


# the hook registries of an optimizer (per instance; not pickled, as in PyTorch)
_HOOK_REGISTRIES = (
    "_step_pre_hooks",
    "_step_post_hooks",
    "_state_dict_pre_hooks",
    "_state_dict_post_hooks",
    "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
)


class _RemovableHandle:
    """What the ``register_*_hook`` methods return: ``remove()`` unregisters the hook."""

    def __init__(self, hooks: Dict[int, Callable], key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        """Unregister the hook (again: no-op)."""
        self._hooks.pop(self._key, None)


def _tracked_step(step: Callable) -> Callable:
    """Wrap a ``step``: run the step hooks and record that the optimizer has stepped.

    The record (``_opt_called``) is what a learning-rate scheduler reads to
    warn, as PyTorch's does, when it is stepped before its optimizer. The
    hooks run once per outermost call (a subclass's ``step`` calling
    ``super().step()`` does not run them twice).
    """

    @functools.wraps(step)
    def wrapper(self: "Optimizer", *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__  # read once: this runs every training step
        if d.get("_in_step", False):
            return step(self, *args, **kwargs)
        d["_opt_called"] = True
        pre = d.get("_step_pre_hooks")  # (the registries read here: no call when empty)
        for hook in list(pre.values()) if pre else ():
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        "optimizer step pre-hook must return None or a tuple "
                        f"of (new_args, new_kwargs), but got {result}."
                    )
                args, kwargs = result
        d["_in_step"] = True
        try:
            out = step(self, *args, **kwargs)
        finally:
            d["_in_step"] = False
        post = d.get("_step_post_hooks")
        for hook in list(post.values()) if post else ():
            hook(self, args, kwargs)
        return out

    wrapper._fastdense_tracked = True  # type: ignore[attr-defined]
    return wrapper


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

    _opt_called: bool  # set by the first step (read by the lr schedulers)
    _in_step: bool

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_fastdense_tracked", False):
            cls.step = _tracked_step(step)  # type: ignore[method-assign]

    def __getstate__(self) -> Dict[str, Any]:
        # hooks are often lambdas or bound to other objects: not part of a pickle (PyTorch
        # does not keep them either)
        state = {
            k: v for k, v in self.__dict__.items() if k not in _HOOK_REGISTRIES + ("_in_step",)
        }
        state["_fastdense_version"] = _version.__version__
        return state

    def _add_hook(self, registry: str, hook: Callable, prepend: bool = False) -> _RemovableHandle:
        """Register ``hook`` in one of :data:`_HOOK_REGISTRIES` (first with ``prepend``)."""
        hooks = self.__dict__.setdefault(registry, {})
        key = max(hooks, default=-1) + 1
        hooks[key] = hook
        if prepend:
            rest = [(k, h) for k, h in hooks.items() if k != key]
            hooks.clear()
            hooks[key] = hook
            hooks.update(rest)
        return _RemovableHandle(hooks, key)

    def _hooks(self, registry: str) -> List[Callable]:
        """A snapshot of a hook registry (a hook may remove itself); [] when it is empty
        or was never made."""
        reg = self.__dict__.get(registry)
        return list(reg.values()) if reg else []

    def register_step_pre_hook(self, hook: Callable) -> _RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each :meth:`step`.

        It may return ``(new_args, new_kwargs)`` to replace the step's arguments.
        Returns a handle whose ``remove()`` unregisters it.
        """
        return self._add_hook("_step_pre_hooks", hook)

    def register_step_post_hook(self, hook: Callable) -> _RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each :meth:`step`; returns a handle."""
        return self._add_hook("_step_post_hooks", hook)

    def register_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> _RemovableHandle:
        """Call ``hook(optimizer)`` before :meth:`state_dict` builds the state dict.

        ``prepend`` runs it before the hooks already registered. Returns a
        handle whose ``remove()`` unregisters it.
        """
        return self._add_hook("_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> _RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` after :meth:`state_dict` built it; a non-None
        result replaces the state dict (returned, and passed to the next hook)."""
        return self._add_hook("_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> _RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` before :meth:`load_state_dict` loads; it
        receives a shallow copy of the caller's dict (it may edit it) and a non-None result
        replaces it."""
        return self._add_hook("_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(
        self, hook: Callable, prepend: bool = False
    ) -> _RemovableHandle:
        """Call ``hook(optimizer)`` after :meth:`load_state_dict` has loaded the state."""
        return self._add_hook("_load_state_dict_post_hooks", hook, prepend)

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
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of tensors in sets will change between runs. "
                "Please use a list instead."
            )
        else:
            params = list(params)
        # named parameters, as model.named_parameters() yields them: (name, tensor) pairs
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + type(p).__name__
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len(set(map(id, params))) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "in future, this will cause an error; see "
                "github.com/pytorch/pytorch/issues/40967 for more information",
                UserWarning,
                stacklevel=3,
            )
        group = dict(param_group)
        group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some "
                    "param names are missing"
                )
            group["param_names"] = names
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
            if ("param_names" in group) != ("param_names" in g):
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add "
                    f"param group {'with' if 'param_names' in group else 'without'} names to "
                    f"the optimizer"
                )
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

    step = _tracked_step(step)  # type: ignore[assignment]

    def _update_group(self, group: Dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _new_state(self, p: Tensor, group: Dict[str, Any]) -> Dict[str, Any]:
        """A parameter's state before its first step (the NumPy rules define it)."""
        raise NotImplementedError  # pragma: no cover

    def _states(
        self, group: Dict[str, Any]
    ) -> Iterator[Tuple[np.ndarray, np.ndarray, Dict[str, Any]]]:
        """(gradient, data, state) for each parameter of the group with a gradient.

        The NumPy rules' loop: gradient and data as in :func:`_numpy_params`;
        the state is made by :meth:`_new_state` on the first step, and every
        array in it is proven to fit its parameter (:func:`_state_buffer`)
        before the rule writes through it.
        """
        for p, g, x in _numpy_params(group):
            st = self.state[p]
            if not st:
                st.update(self._new_state(p, group))
            for key, value in list(st.items()):
                if isinstance(value, np.ndarray) and key not in self._free_shape_state:
                    _state_buffer(p, st, key)
            yield g, x, st

    # -- state dicts -------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are numbered across groups in order, as PyTorch numbers
        them; the arrays are copies. The state-dict hooks run before and after.
        """
        for pre in self._hooks("_state_dict_pre_hooks"):
            pre(self)
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
            state[key] = {k: _copy_value(v) for k, v in st.items()}
        out: Dict[str, Any] = {"state": state, "param_groups": groups}
        for post in self._hooks("_state_dict_post_hooks"):
            res = post(self, out)
            if res is not None:
                out = res
        return out

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict`, or from a PyTorch optimizer's state_dict.

        Tensors (NumPy arrays or torch tensors) are copied into arrays of each
        parameter's dtype; ``step`` becomes a Python float. The load-state-dict pre-hooks
        see a shallow copy of ``state_dict`` first; the post-hooks run after loading.
        """
        if isinstance(state_dict, dict):
            state_dict = state_dict.copy()
        for pre in self._hooks("_load_state_dict_pre_hooks"):
            res = pre(self, state_dict)
            if res is not None:
                state_dict = res
        if (
            not isinstance(state_dict, dict)
            or "state" not in state_dict
            or "param_groups" not in state_dict
        ):
            raise TypeError("an optimizer state_dict is a dict with 'state' and 'param_groups'")
        if not isinstance(state_dict["param_groups"], (list, tuple)) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), (list, tuple))
            for g in state_dict["param_groups"]
        ):
            raise TypeError("param_groups must be a list of dicts, each with a 'params' list")
        if not isinstance(state_dict["state"], dict) or not all(
            isinstance(v, dict) for v in state_dict["state"].values()
        ):
            raise TypeError("state must be a dict of per-parameter dicts")
        state_dict = {
            "state": state_dict["state"],
            "param_groups": copy.deepcopy(state_dict["param_groups"]),
        }
        groups, saved = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't "
                "match the size of optimizer's group"
            )
        id_map = dict(
            zip(
                chain.from_iterable(s["params"] for s in saved),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
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
        for post in self._hooks("_load_state_dict_post_hooks"):
            post(self)

    # state entries that are scalars (Python floats here, 0-d tensors in PyTorch), and
    # array entries whose shape is not the parameter's (e.g. Adafactor's factored moments)
    _scalar_state: Tuple[str, ...] = ("step",)
    _free_shape_state: Tuple[str, ...] = ()

    def _cast_state(self, p: Tensor, key: str, value: Any) -> Any:
        if key in self._scalar_state and key != "step":
            try:
                return float(value.item() if hasattr(value, "item") else value)
            except (TypeError, ValueError):
                raise TypeError(f"state {key!r} must be a number; got {value!r}") from None
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
        if key in self._free_shape_state:
            return np.array(arr, dtype=p._data.dtype, order="C", copy=True)
        if arr.shape != p._data.shape:
            raise RuntimeError(
                f"loaded state {key!r} has shape {arr.shape}; its parameter has shape "
                f"{p._data.shape}"
            )
        return np.array(arr.reshape(p._data.shape), dtype=p._data.dtype, order="C", copy=True)


def _copy_value(v: Any) -> Any:
    """A state entry copied for a state_dict (arrays, and lists of arrays, copied)."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, list):
        return [_copy_value(x) for x in v]
    return v


def _plain(v: Any) -> Any:
    """Hyperparameters loaded from PyTorch: scalar tensors to floats, tuples kept."""
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        return v.item()
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    return v
