"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``.

``Sequential`` is where the fast path lives: a ``Linear`` followed by a
``ReLU``, ``LeakyReLU`` (slope >= 0), ``Tanh`` or ``Sigmoid`` runs as one fused
kernel call forward and one backward, since the Linear's own output is never
visible there.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, Optional

from ..autograd import Parameter
from . import functional as F
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .linear import Linear
from .module import Module, _call_with_hooks

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


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
                fused = _FUSABLE.get(type(nxt))
                if fused is not None and type(fused) is not tuple:
                    fused = fused(nxt)  # (a rule that reads the module: LeakyReLU's slope)
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
# exact types only: a subclass may override forward. (kernel code, slope), or a function
# of the module giving it or None (not fusable)
_FUSABLE: "dict[type, Any]" = {
    ReLU: (_ACT["relu"], 0.0),
    LeakyReLU: lambda m: (
        (_ACT["leaky_relu"], m.negative_slope) if F._kernel_slope(m.negative_slope) else None
    ),
    Tanh: (_ACT["tanh"], 0.0),
    Sigmoid: (_ACT["sigmoid"], 0.0),
}


class ModuleList(Module):
    """A list of modules, registered as children "0", "1", ... (``torch.nn.ModuleList``)."""

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        keys = list(self._modules)
        if isinstance(idx, slice):
            return ModuleList([self._modules[k] for k in keys[idx]])
        return self._modules[keys[idx]]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(list(self._modules)[idx], module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "ModuleList":
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over it in yours")


class ModuleDict(Module):
    """A dict of modules, registered under their keys (``torch.nn.ModuleDict``)."""

    def __init__(self, modules: Optional[Any] = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        """The names."""
        return self._modules.keys()

    def values(self):
        """The modules."""
        return self._modules.values()

    def items(self):
        """``(name, module)`` pairs."""
        return self._modules.items()

    def update(self, modules) -> None:
        """Add the modules of a mapping or of ``(name, module)`` pairs."""
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self.add_module(k, m)


class ParameterList(Module):
    """A list of parameters, registered as "0", "1", ... (``torch.nn.ParameterList``).

    Values that are not parameters (arrays, tensors) are wrapped in a
    :class:`Parameter`, as PyTorch does.
    """

    def __init__(self, values: Optional[Iterable[Any]] = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        keys = list(self._parameters)
        if isinstance(idx, slice):
            return ParameterList([self._parameters[k] for k in keys[idx]])
        return self._parameters[keys[idx]]

    def __setitem__(self, idx: int, value: Any) -> None:
        self.register_parameter(list(self._parameters)[idx], _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())  # type: ignore[arg-type]

    def append(self, value: Any) -> "ParameterList":
        """Add ``value`` (wrapped in a Parameter if needed) at the end; returns self."""
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        """Append each of ``values``; returns self."""
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(
            f"({k}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]"
            for k, p in self._parameters.items()
            if p is not None
        )

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward(); index it in yours")


class ParameterDict(Module):
    """A dict of parameters, registered under their keys (``torch.nn.ParameterDict``)."""

    def __init__(self, parameters: Optional[Any] = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]  # type: ignore[return-value]

    def __setitem__(self, key: str, value: Any) -> None:
        self.register_parameter(key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        """The names."""
        return self._parameters.keys()

    def values(self):
        """The parameters."""
        return self._parameters.values()

    def items(self):
        """``(name, parameter)`` pairs."""
        return self._parameters.items()

    def update(self, parameters) -> None:
        """Add the parameters of a mapping or of ``(name, value)`` pairs."""
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for k, v in items:
            self[k] = v

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict has no forward(); index it in yours")


def _as_parameter(value: Any) -> Parameter:
    return value if isinstance(value, Parameter) else Parameter(value)
