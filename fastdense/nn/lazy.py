"""Lazy modules (``torch.nn.modules.lazy``): parameters whose shape the first input gives.

A lazy module holds :class:`UninitializedParameter` objects until its first
forward: a forward pre-hook, registered first, calls
``initialize_parameters(*input)`` (which materializes them in place and draws
their values), then the module becomes its ``cls_to_become`` (``LazyLinear``
becomes ``Linear``) and the hook is removed, as in PyTorch. Loading a
``state_dict`` into an uninitialized module materializes its parameters with
the loaded shapes (in ``Module.load_state_dict``).
"""

from __future__ import annotations

from typing import Any, Optional

from .._tensor.parameter import UninitializedParameter
from .module import Module

__all__ = ["LazyModuleMixin", "UninitializedParameter"]


class LazyModuleMixin:
    """The lazy-initialization protocol of a module (``torch.nn.modules.lazy.LazyModuleMixin``).

    Subclasses define ``initialize_parameters(*input)`` and ``cls_to_become``;
    they call ``_lazy_init()`` at the end of ``__init__``.
    """

    cls_to_become: Optional[type] = None

    def _lazy_init(self) -> None:
        module: Any = self
        module.register_forward_pre_hook(_infer_parameters)  # (no handle kept: it pickles)

    def has_uninitialized_params(self) -> bool:
        """True while a parameter or buffer is an :class:`UninitializedParameter`."""
        module: Any = self
        return any(isinstance(p, UninitializedParameter) for p in module.parameters())

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Materialize the parameters from the first input (defined by each lazy module)."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}"
        )


def _infer_parameters(module: Module, args: tuple) -> None:
    lazy: Any = module
    if lazy.has_uninitialized_params():
        lazy.initialize_parameters(*args)
    if lazy.has_uninitialized_params():
        raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
    hooks = module._forward_pre_hooks
    for key in [k for k, (hook, _, _) in hooks.items() if hook is _infer_parameters]:
        del hooks[key]
    if lazy.cls_to_become is not None:
        module.__class__ = lazy.cls_to_become
