"""PyTorch-compatible modules: ``Module``, ``Linear``, activations, ``Sequential``, losses.

Parameters, their names, their layout, their default initialisation and the
``state_dict`` keys are those of ``torch.nn``; the forward passes go through
:mod:`fastdense.nn.functional` and therefore through the fused kernels.
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Optional, Tuple

import numpy as np

from .. import _version
from .._random import default_generator
from .._validation import warn_if_other_version
from .._validation import MAX_BLAS_DIM, to_ndarray
from .. import _dtypes as _dt
from ..autograd import (Parameter, Tensor, _const, _resolve_dtype,
                        _to_dtype, check_device)
from . import functional as F

__all__ = [
    "Module",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "Identity",
    "Dropout",
    "Sequential",
    "BCEWithLogitsLoss",
    "BCELoss",
    "RemovableHandle",
]

# PyTorch's name in the repr
_IncompatibleKeys = namedtuple("IncompatibleKeys",  # type: ignore[name-match]
                               ["missing_keys", "unexpected_keys"])


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
    _buffers: "OrderedDict[str, Optional[np.ndarray]]"
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

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> "RemovableHandle":
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
        return _register(self._hook_registry("_forward_pre_hooks"), hook, prepend,
                         with_kwargs, False)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> "RemovableHandle":
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
        return _register(self._hook_registry("_forward_hooks"), hook, prepend,
                         with_kwargs, always_call)

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
            d["_buffers"][name] = None if value is None else _buffer_array(value)
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
        """Add a non-parameter array that is part of the state (saved in ``state_dict``)."""
        arr = None if tensor is None else _buffer_array(tensor)
        self.__dict__["_buffers"][name] = arr
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)
        object.__setattr__(self, name, arr)

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

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[Tuple[str, Parameter]]:
        """Yield ``(dotted name, parameter)`` in registration order."""
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
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
        """Yield ``(dotted name, array)`` of the buffers."""
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
            if kind == "_buffers":
                out[key] = _const(v)
            else:
                out[key] = v if keep_vars else _const(v._data)
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
        errors, todo, own = [], [], []
        for key, m, kind, name, cur in self._state_items():
            own.append(key)
            if key not in state_dict:
                continue
            value = state_dict[key]
            if isinstance(value, Tensor):
                value = value._value()
            arr = to_ndarray(value, f"state_dict[{key!r}]")
            shape = cur.shape if kind == "_buffers" else cur._data.shape
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
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for m, kind, name, cur, arr in todo:
            if kind == "_buffers":
                np.copyto(cur, arr, casting="unsafe")
            else:
                np.copyto(cur._data, arr, casting="unsafe")
                cur._version += 1
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
                if p is not None and p._data.dtype != dt:
                    p._data = p._data.astype(dt)
                    p._version += 1
                    if p._grad is not None:
                        p._grad = p._grad.astype(dt)
            for name, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f" and b.dtype != dt:
                    m._buffers[name] = b.astype(dt)
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
                    raise RuntimeError("forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {res}.")
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


def _buffer_array(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value._value()
    return to_ndarray(value, "buffer")


# ------------------------------------------------------------------------ layers

class Linear(Module):
    """``y = x @ weight.T + bias`` (``torch.nn.Linear``).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default=True
    device : None or "cpu"
    dtype : float32 (default, as PyTorch) or float64

    Attributes
    ----------
    weight : Parameter of shape (out_features, in_features)
    bias : Parameter of shape (out_features,) or None
        Both initialised uniformly in ``[-1/sqrt(in_features), 1/sqrt(in_features)]``
        (PyTorch's kaiming_uniform with a = sqrt(5)) from the generator seeded
        by :func:`fastdense.manual_seed`.

    Notes
    -----
    Followed by an activation (``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``),
    the layer and the activation run as one fused kernel, forward and backward.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {v!r}")
            if v > MAX_BLAS_DIM:
                raise ValueError(f"{name} = {v} exceeds {MAX_BLAS_DIM}, the largest size "
                                 "BLAS accepts")
        if device is not None:
            check_device(device)
        dt = np.dtype(np.float32) if dtype is None else _resolve_dtype(dtype)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw weight and bias uniformly in ``±1/sqrt(in_features)`` (PyTorch's default)."""
        gen = default_generator()
        fan_in = self.in_features
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        w = self.weight._data
        w[...] = gen.uniform(-bound, bound, size=w.shape)
        self.weight._version += 1
        if self.bias is not None:
            self.bias._data[...] = gen.uniform(-bound, bound, size=self.bias._data.shape)
            self.bias._version += 1

    def forward(self, input: Any) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ReLU(Module):
    """``max(x, 0)`` (``torch.nn.ReLU``); fuses into a preceding ``Linear``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Any) -> Tensor:
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope * x`` (``torch.nn.LeakyReLU``).

    Fuses into a preceding ``Linear`` when the slope is finite and >= 0.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)
        self.inplace = inplace

    def forward(self, input: Any) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Tanh(Module):
    """Hyperbolic tangent (``torch.nn.Tanh``); fuses into a preceding ``Linear``."""

    def forward(self, input: Any) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """Logistic sigmoid (``torch.nn.Sigmoid``); fuses into a preceding ``Linear``."""

    def forward(self, input: Any) -> Tensor:
        return F.sigmoid(input)


class Identity(Module):
    """Returns its input unchanged (``torch.nn.Identity``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Dropout(Module):
    """Randomly zero elements with probability ``p`` in training mode (``torch.nn.Dropout``).

    The survivors are scaled by ``1 / (1 - p)``; identity in eval mode. The
    mask comes from the generator seeded by :func:`fastdense.manual_seed`.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)
        self.inplace = inplace

    def forward(self, input: Any) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Sequential(Module):
    """Modules applied in order (``torch.nn.Sequential``).

    Built from positional modules (named "0", "1", ...) or from one
    ``OrderedDict`` of names to modules. Supports indexing (slices give a
    ``Sequential``), ``len``, iteration, ``append`` and ``extend``.

    Examples
    --------
    >>> from fastdense import nn
    >>> model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 1))
    >>> len(model), type(model[1]).__name__
    (3, 'ReLU')
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def forward(self, input: Any) -> Any:
        # A Linear followed by an activation module runs as one fused kernel call
        # (forward and backward): the Linear's own output is never visible here.
        # A module with forward hooks runs alone, through its __call__, so that its
        # hooks see its own output and can replace it.
        mods = list(self._modules.values())
        i, n = 0, len(mods)
        while i < n:
            m = mods[i]
            if m._forward_hooks or m._forward_pre_hooks:
                input = _call_with_hooks(m, (input,), {})
                i += 1
                continue
            if type(m) is Linear and i + 1 < n:
                nxt = mods[i + 1]
                act = _FUSABLE.get(type(nxt))
                fused = None if act is None else act(nxt)
                if fused is not None and not (nxt._forward_hooks or nxt._forward_pre_hooks):
                    input = F._fused_linear(input, m.weight, m.bias, *fused)
                    i += 2
                    continue
            input = m.forward(input)  # no hooks: Module.__call__ only forwards
            i += 1
        return input

    def _index(self, idx: int) -> str:
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return list(self._modules)[idx % n]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(self._index(idx), module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._index(idx)]
        for key in keys:
            delattr(self, key)
        items = list(self._modules.items())
        for key, _ in items:
            delattr(self, key)
        for i, (_, m) in enumerate(items):
            self.add_module(str(i), m)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> "Sequential":
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self


_ACT = F._ACT
# exact types only: a subclass may override forward; None: not fusable
_FUSABLE: "dict[type, Callable[[Any], Optional[Tuple[int, float]]]]" = {
    ReLU: lambda m: (_ACT["relu"], 0.0),
    LeakyReLU: lambda m: ((_ACT["leaky_relu"], m.negative_slope)
                          if F._kernel_slope(m.negative_slope) else None),
    Tanh: lambda m: (_ACT["tanh"], 0.0),
    Sigmoid: lambda m: (_ACT["sigmoid"], 0.0),
}


# ------------------------------------------------------------------------ losses

class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F._reduction(size_average, reduce, reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy from logits (``torch.nn.BCEWithLogitsLoss``).

    Parameters
    ----------
    weight : array-like, optional
        Rescaling weight broadcast to the input's shape (a buffer, as in PyTorch).
    reduction : {"mean", "sum", "none"}, default="mean"
        "mean" divides by the number of elements.
    pos_weight : array-like, optional
        Weight of positive examples per class (last dimension).

    See Also
    --------
    fastdense.nn.functional.binary_cross_entropy_with_logits
    """

    weight: Optional[np.ndarray]  # buffers
    pos_weight: Optional[np.ndarray]

    def __init__(self, weight: Any = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (``torch.nn.BCELoss``; logs clamped at -100).

    Parameters
    ----------
    weight : array-like, optional
        Rescaling weight broadcast to the input's shape.
    reduction : {"mean", "sum", "none"}, default="mean"
    """

    weight: Optional[np.ndarray]  # a buffer

    def __init__(self, weight: Any = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)
