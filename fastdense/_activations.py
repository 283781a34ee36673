"""THE activation registry: every fact about a hidden-layer activation, written once.

Each consumer reads this table instead of its own list of names: the
estimators' parameter validation and Glorot initialisation, the kernels'
codes (``_activations.pxd``'s ``Activation`` enum must agree: a test checks
it), ``module_``, :mod:`fastdense.interop`, the ONNX export, ``kernels.py``
and ``_reference.py``, the estimator file and the CLI's ``--activation``
choices. Adding an activation is one entry here plus its kernel (g, and g'
from the output or from the input) and its reference formula.

NumPy-free and import-free (floor F0): a plain table of frozen records.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Tuple

__all__ = [
    "Activation",
    "REGISTRY",
    "ESTIMATOR_ACTIVATIONS",
    "KERNEL_CODES",
    "get",
    "by_module",
    "needs_input",
]


class Activation(NamedTuple):
    """One hidden-layer activation and how every part of fastdense names and computes it.

    Attributes
    ----------
    name : str
        The kernels' name (``"sigmoid"`` for the logistic function).
    code : int
        The value of the kernels' ``Activation`` enum (``_activations.pxd``).
    derivative : {"output", "input"}
        How the backward pass gets g': from the output a = g(z) alone (no
        buffer beyond the activations) or from the pre-activation z, which
        the epoch then keeps in a second buffer (GELU, SiLU: not monotonic,
        so a does not determine z).
    sklearn : str or None
        MLPClassifier's name for it, if it has one.
    module : str
        The ``fastdense.nn`` / ``torch.nn`` module class.
    onnx : str
        The key of ``fastdense.onnx._graph.activation``'s builder.
    glorot_factor : float
        The numerator of the Glorot bound ``sqrt(factor / (fan_in + fan_out))``
        the estimators draw their initial weights with: scikit-learn's
        ``_init_coef`` uses 2 for the logistic function and 6 for the others
        (the new activations are ReLU-like, so they take 6 as well).
    torch_gain : float or None
        ``torch.nn.init.calculate_gain`` for it (None where PyTorch has none);
        documentation only: module_ copies fitted weights, it never draws.
    module_args : tuple of str
        The module's constructor arguments that it keeps as attributes of the
        same name (what :mod:`fastdense.interop` carries across). The kernels
        run only the first constant of each (LeakyReLU's slope is a parameter;
        ELU's alpha 1, Softplus's beta 1 and threshold 20, GELU's exact form).
    """

    name: str
    code: int
    derivative: str
    sklearn: Optional[str]
    module: str
    onnx: str
    glorot_factor: float
    torch_gain: Optional[float]
    module_args: Tuple[str, ...] = ()


_SQRT2 = 2.0**0.5

#: The registry, in the kernels' code order.
REGISTRY: Tuple[Activation, ...] = (
    Activation("identity", 0, "output", "identity", "Identity", "identity", 6.0, 1.0),
    Activation("relu", 1, "output", "relu", "ReLU", "relu", 6.0, _SQRT2),
    Activation("tanh", 2, "output", "tanh", "Tanh", "tanh", 6.0, 5.0 / 3.0),
    Activation("sigmoid", 3, "output", "logistic", "Sigmoid", "logistic", 2.0, 1.0),
    # torch's gain for leaky_relu depends on the slope: sqrt(2 / (1 + slope**2))
    Activation(
        "leaky_relu", 4, "output", None, "LeakyReLU", "leaky_relu", 6.0, None, ("negative_slope",)
    ),
    Activation("gelu", 5, "input", None, "GELU", "gelu", 6.0, None, ("approximate",)),
    Activation("silu", 6, "input", None, "SiLU", "silu", 6.0, None),
    Activation("elu", 7, "output", None, "ELU", "elu", 6.0, None, ("alpha",)),
    Activation(
        "softplus", 8, "output", None, "Softplus", "softplus", 6.0, None, ("beta", "threshold")
    ),
)

_BY_NAME: Dict[str, Activation] = {a.name: a for a in REGISTRY}
_BY_NAME["logistic"] = _BY_NAME["sigmoid"]  # scikit-learn's name for the sigmoid

#: The names the estimators take: MLPClassifier's for its four, the kernels' otherwise.
ESTIMATOR_ACTIVATIONS: Tuple[str, ...] = tuple(a.sklearn or a.name for a in REGISTRY)

#: Every name the kernels take (both names of the sigmoid) -> its code.
KERNEL_CODES: Dict[str, int] = {name: a.code for name, a in _BY_NAME.items()}

_BY_MODULE: Dict[str, Activation] = {a.module: a for a in REGISTRY}


def get(name: object) -> Activation:
    """The registry entry of `name` (either name of the sigmoid), else ValueError."""
    entry = _BY_NAME.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ValueError(f"activation={name!r} is not one of {sorted(ESTIMATOR_ACTIVATIONS)}")
    return entry


def by_module(class_name: str) -> Optional[Activation]:
    """The entry whose ``nn`` module class is called `class_name`, or None."""
    return _BY_MODULE.get(class_name)


def needs_input(name: object) -> bool:
    """True if the backward pass of `name` needs the pre-activation z (not only a)."""
    return get(name).derivative == "input"
