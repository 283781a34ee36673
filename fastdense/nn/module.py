"""``Module``, the base class of every layer, with its hooks (``torch.nn.Module``).

Parameters, their names, their layout and the ``state_dict`` keys are those of
``torch.nn``; registration, traversal, state, modes, dtypes and forward hooks
live here. The layers are in the files of their families (linear, activation,
container, normalization, dropout, loss, embedding, flatten).
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Optional, Tuple

import numpy as np

from .. import _dtypes as _dt
from .. import _version
from .._tensor.parameter import UninitializedParameter
from .._validation import to_ndarray, warn_if_other_version
from ..autograd import Parameter, Tensor, _const, _resolve_dtype, _to_dtype, check_device

__all__ = ["Module", "RemovableHandle"]

# PyTorch's name in the repr
_IncompatibleKeys = namedtuple(  # type: ignore[name-match]
    "IncompatibleKeys",
    ["missing_keys", "unexpected_keys"],
)


def _addindent(s: str, n: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


class Module:
    """Base class of all fastdense modules (the counterpart of ``torch.nn.Module``).

    Subclasses call ``super().__init__()`` first, then assign parameters and
    submodules as attributes; they are registered in assignment order and
    named as PyTorch names them (``fc1.weight``). Calling the module calls
    :meth:`forward`.

    Examples
    --------
    >>> from fastdense import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(4, 8)
    ...         self.fc2 = nn.Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.fc2(nn.functional.relu(self.fc1(x)))
    >>> list(Net().state_dict())
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool
    # the registries (set in __init__ through __dict__; declared for type checkers)
    _parameters: "OrderedDict[str, Optional[Parameter]]"
    _buffers: "OrderedDict[str, Optional[Tensor]]"
    _modules: "OrderedDict[str, Any]"  # Module or None

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_modules"] = OrderedDict()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_fastdense_version"] = _version.__version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        warn_if_other_version(state.pop("_fastdense_version", None), type(self).__name__)
        buffers = state.get("_buffers")
        if buffers is not None:  # pickles from before buffers were tensors hold arrays
            for name, b in buffers.items():
                if isinstance(b, np.ndarray):
                    buffers[name] = state[name] = _const(b)
        self.__dict__.update(state)

    def forward(self, *args, **kwargs):
        """The computation of the module; subclasses override it."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # no hooks: the class's empty registries (registering one gives the instance its own)
    _forward_hooks: "OrderedDict[int, Tuple[Callable, bool, bool]]" = OrderedDict()
    _forward_pre_hooks: "OrderedDict[int, Tuple[Callable, bool, bool]]" = OrderedDict()

    def __call__(self, *args, **kwargs):
        if self._forward_hooks or self._forward_pre_hooks:
            return _call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # -- hooks -------------------------------------------------------------------
    def _hook_registry(self, name: str) -> "OrderedDict[int, Tuple[Callable, bool, bool]]":
        reg = self.__dict__.get(name)
        if reg is None:
            reg = self.__dict__[name] = OrderedDict()
        return reg

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> "RemovableHandle":
        """Call ``hook(module, args)`` before each forward (``torch.nn.Module``'s rule).

        A non-None result replaces the positional inputs (a non-tuple is
        wrapped in one). With ``with_kwargs`` the hook is
        ``hook(module, args, kwargs)`` and returns None or ``(args, kwargs)``.
        ``prepend`` runs it before the hooks already registered.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook (also usable as a context manager).
        """
        return _register(
            self._hook_registry("_forward_pre_hooks"), hook, prepend, with_kwargs, False
        )

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> "RemovableHandle":
        """Call ``hook(module, args, output)`` after each forward (``torch.nn.Module``'s rule).

        A non-None result replaces the output. With ``with_kwargs`` the hook is
        ``hook(module, args, kwargs, output)``; ``always_call`` runs it even
        when forward raises; ``prepend`` runs it first. A hook on a module
        inside a ``Sequential`` sees that module's own output: a ``Linear``
        with a hook (or an activation with one) is not fused with its neighbour.

        Returns
        -------
        RemovableHandle
        """
        return _register(
            self._hook_registry("_forward_hooks"), hook, prepend, with_kwargs, always_call
        )

    def _no_backward_hooks(self, *args, **kwargs):
        raise NotImplementedError(
            "fastdense does not implement backward hooks on modules "
            "(register_full_backward_hook / register_backward_hook); register a forward "
            "hook, or read .grad after backward()"
        )

    register_full_backward_hook = _no_backward_hooks
    register_full_backward_pre_hook = _no_backward_hooks
    register_backward_hook = _no_backward_hooks

    # -- registration (attributes live in __dict__ too, for fast access) -------
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            d["_modules"].pop(name, None)
            d["_buffers"].pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            params.pop(name, None)
            d["_buffers"].pop(name, None)
            d["_modules"][name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(fastdense.nn.Parameter or None expected)"
                )
            params[name] = None
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(fastdense.nn.Module or None expected)"
                )
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            d["_buffers"][name] = None if value is None else _buffer_tensor(value)
            value = d["_buffers"][name]
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for reg in ("_parameters", "_buffers", "_modules"):
            self.__dict__[reg].pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Add a parameter (or a None placeholder) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(fastdense.nn.Parameter or None required)"
            )
        self.__dict__["_parameters"][name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add a tensor that is part of the module's state but not a parameter (a running
        statistic, a loss weight): saved in ``state_dict`` unless ``persistent=False``.

        As in PyTorch, a tensor is kept itself (``module.name is tensor``); an array-like
        value becomes a tensor (PyTorch takes tensors only).
        """
        buf = None if tensor is None else _buffer_tensor(tensor)
        self.__dict__["_buffers"][name] = buf
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)
        object.__setattr__(self, name, buf)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str) or "." in name or name == "":
            raise KeyError(f'module name must be a non-empty string without ".": {name!r}')
        self.__dict__["_modules"][name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    # -- traversal -------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(name, module)`` for this module and all below it, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        """This module and all below it."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """Yield ``(name, module)`` for the direct children."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self) -> Iterator["Module"]:
        """The direct children."""
        for _, m in self.named_children():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[Tuple[str, Parameter]]:
        """Yield ``(dotted name, parameter)`` in registration order."""
        seen = set()
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mprefix, m in mods:
            for name, p in m._parameters.items():
                if p is None or (remove_duplicate and p in seen):
                    continue
                seen.add(p)
                yield mprefix + ("." if mprefix else "") + name, p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters in registration order."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted name, tensor)`` of the buffers."""
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield mprefix + ("." if mprefix else "") + name, b

    def buffers(self, recurse: bool = True):
        """The buffers."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- state -----------------------------------------------------------------
    def _state_items(self, prefix=""):
        for mprefix, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            skip = m.__dict__.get("_non_persistent", ())
            dot = mprefix + ("." if mprefix else "")
            for name, p in m._parameters.items():
                if p is not None:
                    yield dot + name, m, "_parameters", name, p
            for name, b in m._buffers.items():
                if b is not None and name not in skip:
                    yield dot + name, m, "_buffers", name, b

    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered mapping from PyTorch-style names to tensors.

        As in PyTorch, each value is a tensor outside the graph that shares
        memory with its parameter or buffer (live, not a copy): an optimizer
        step shows in it; ``copy.deepcopy(model.state_dict())`` keeps a
        snapshot. ``keep_vars=True`` gives the :class:`Parameter` objects.
        """
        out = OrderedDict() if destination is None else destination
        for key, _, kind, _, v in self._state_items(prefix):
            # (an uninitialized parameter of a lazy module is itself, as in PyTorch)
            out[key] = v if keep_vars or isinstance(v, UninitializedParameter) else _const(v._data)
        return out

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` into the parameters (and buffers) in place.

        Values may be NumPy arrays, PyTorch CPU tensors or anything array-like;
        they are converted to each parameter's dtype. Nothing is copied if any
        error is found.

        Parameters
        ----------
        state_dict : Mapping
        strict : bool, default=True
            Raise when keys are missing or unexpected.
        assign : bool, default=False
            Accepted for compatibility; values are always copied.

        Returns
        -------
        NamedTuple with ``missing_keys`` and ``unexpected_keys``.

        Raises
        ------
        RuntimeError
            Listing missing and unexpected keys (strict) and shape mismatches.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        errors: list = []
        todo: list = []
        own: list = []
        for key, m, kind, name, cur in self._state_items():
            own.append(key)
            if key not in state_dict:
                continue
            value = state_dict[key]
            if isinstance(value, UninitializedParameter):
                if isinstance(cur, UninitializedParameter):
                    continue  # nothing to load, still uninitialized (as PyTorch)
                raise RuntimeError(UninitializedParameter.SHAPE_ERROR)  # (PyTorch's error)
            if isinstance(value, Tensor):
                value = value._value()
            arr = to_ndarray(value, f"state_dict[{key!r}]")
            if isinstance(cur, UninitializedParameter):  # a lazy module takes the loaded shape
                todo.append((m, kind, name, cur, arr))
                continue
            shape = cur._data.shape
            if arr.shape != shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {arr.shape} from "
                    f"checkpoint, the shape in current model is {shape}."
                )
                continue
            todo.append((m, kind, name, cur, arr))
        own_set = set(own)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own_set]
        if strict:
            if unexpected:
                errors.insert(
                    0,
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected)
                    + ". ",
                )
            if missing:
                errors.insert(
                    0,
                    "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ",
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for m, kind, name, cur, arr in todo:
            if isinstance(cur, UninitializedParameter):
                cur.materialize(arr.shape)
            np.copyto(cur._data, arr, casting="unsafe")
            cur._vc[0] += 1
        return _IncompatibleKeys(missing, unexpected)

    # -- modes, grads, dtypes ----------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``Dropout`` active) on this module and all below it."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> "Module":
        """``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` of every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None, or to zeros in place)."""
        for p in self.parameters():
            if set_to_none:
                p._grad = None
            elif p._grad is not None:
                p._grad[...] = 0

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every submodule (children first), then on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs) -> "Module":
        """Cast parameters, gradients and float buffers to a float dtype (in place; returns self).

        Takes a dtype, a device, or both (``to("cpu")``, ``to(torch.float64)``,
        ``to(device, dtype)``, ``to(dtype=...)``). Any device but the CPU
        raises :class:`fastdense.autograd.DeviceUnavailableError` (an
        AssertionError and a RuntimeError, as PyTorch without CUDA raises);
        an unknown device string raises RuntimeError, as in PyTorch.
        """
        dtype = _to_dtype(args, kwargs)
        if dtype is None:
            return self
        dt = _dt.resolve(dtype)
        if dt.kind != "f":
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}"
            )
        for m in self.modules():
            for p in m._parameters.values():
                if isinstance(p, UninitializedParameter):
                    p._set_dtype(dt)  # (the dtype it materializes in)
                elif p is not None and p._data.dtype != dt:
                    p._data = p._data.astype(dt)
                    p._vc[0] += 1
                    if p._grad is not None:
                        p._grad = p._grad.astype(dt)
            for name, b in m._buffers.items():
                if b is not None and b._data.dtype.kind == "f" and b._data.dtype != dt:
                    m._buffers[name] = _const(b._data.astype(dt))  # a new tensor (as PyTorch)
                    object.__setattr__(m, name, m._buffers[name])
        return self

    def cuda(self, device=None) -> "Module":
        """Raises: fastdense runs on the CPU only (as PyTorch without CUDA raises)."""
        check_device("cuda")
        return self  # pragma: no cover

    def float(self) -> "Module":
        """Cast to float32."""
        return self.to(np.float32)

    def double(self) -> "Module":
        """Cast to float64."""
        return self.to(np.float64)

    def cpu(self) -> "Module":
        """No-op (fastdense runs on the CPU); returns self."""
        return self

    # -- repr ------------------------------------------------------------------
    def extra_repr(self) -> str:
        """Extra text in the module's repr (override in subclasses)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for key, module in self._modules.items():
            lines.append("(" + key + "): " + _addindent(repr(module), 2))
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


class RemovableHandle:
    """The handle a hook registration returns (``torch.utils.hooks.RemovableHandle``).

    ``remove()`` unregisters the hook (removing twice is harmless); ``with
    handle:`` removes it on exit. ``id`` identifies it within its module.
    """

    def __init__(self, registry: "OrderedDict[int, Any]", hook_id: int) -> None:
        self._registry = weakref.ref(registry)  # (the handle does not keep the module alive)
        self.id = hook_id

    def remove(self) -> None:
        """Unregister the hook."""
        reg = self._registry()
        if reg is not None:
            reg.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _register(registry, hook, prepend, with_kwargs, always_call) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"hook must be callable; got {type(hook).__name__}")
    hook_id = next(_HOOK_IDS)
    registry[hook_id] = (hook, bool(with_kwargs), bool(always_call))
    if prepend:
        registry.move_to_end(hook_id, last=False)
    return RemovableHandle(registry, hook_id)


_HOOK_IDS = itertools.count()  # ids only (never part of a result)


def _call_with_hooks(module: Module, args: tuple, kwargs: dict) -> Any:
    """module(*args, **kwargs) with its forward pre-hooks and hooks, in PyTorch's order."""
    for hook, with_kwargs, _ in list(module._forward_pre_hooks.values()):
        if with_kwargs:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(
                        "forward pre-hook must return None or a tuple of "
                        f"(new_args, new_kwargs), but got {res}."
                    )
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    hooks = list(module._forward_hooks.values())
    try:
        result = module.forward(*args, **kwargs)
    except Exception:
        for hook, with_kwargs, always in hooks:
            if always:
                try:
                    hook(module, args, kwargs, None) if with_kwargs else hook(module, args, None)
                except Exception:  # PyTorch reports the forward's error, not the hook's
                    pass
        raise
    for hook, with_kwargs, _ in hooks:
        res = hook(module, args, kwargs, result) if with_kwargs else hook(module, args, result)
        if res is not None:
            result = res
    return result


def _buffer_tensor(value: Any) -> Tensor:
    """A buffer's value: the tensor itself, or an array-like's values as a new tensor."""
    if isinstance(value, Tensor):
        return value
    return _const(np.array(to_ndarray(value, "buffer")))


def _factory_dtype(device: Any, dtype: Any) -> np.dtype:
    """The dtype of a new layer's parameters: float32 by default (PyTorch's), else dtype."""
    if device is not None:
        check_device(device)
    return np.dtype(np.float32) if dtype is None else _resolve_dtype(dtype)
