"""The one proof that a network is consistent, before any kernel sees it.

The compiled kernels (``_kernels``, ``_train``) index their buffers without
bounds checks and without the GIL. Every door that hands them a network or an
optimizer state -- ``fit`` / ``partial_fit`` / ``warm_start``, every
prediction method, ``module_``, ``gradcheck``, unpickling, ``fastdense.load``,
a user's edit of ``coefs_`` / ``intercepts_`` -- calls :func:`check_network`
(and :func:`check_optimizer_state`) first. A failure is a ``ValueError`` (or
``TypeError`` for an array that is not numeric at all) naming the array, and
the shape or dtype found against the one expected.
"""

from __future__ import annotations

import numbers
from operator import is_
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "check_network",
    "check_optimizer_state",
    "check_count",
    "as_float_array",
    "FittedNetwork",
    "KERNEL_DTYPES",
]

KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(value, name, dtype, *, cast_floats=False):
    """`value` as an ndarray; ints/bools/lists become `dtype`, other kinds are refused.

    With `cast_floats`, float arrays are cast to `dtype` too (a user's edit of
    ``coefs_``); without it they are left as they are for the dtype check.
    """
    if isinstance(value, np.ndarray):
        arr = value
    else:
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"{name} must be a numeric array; got {type(value).__name__}")
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:  # ragged nested lists
            raise TypeError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    if arr.dtype.kind != "f" or (cast_floats and dtype is not None):
        arr = arr.astype(dtype if dtype is not None else np.float64, copy=False)
    return arr


def check_network(
    coefs: Sequence,
    intercepts: Sequence,
    *,
    n_features: Optional[int] = None,
    n_outputs: Optional[int] = 1,
    dtype=None,
    max_layers: Optional[int] = None,
) -> Tuple[List[int], np.dtype]:
    """Prove a dense network's arrays consistent; return its layer widths and dtype.

    Parameters
    ----------
    coefs : sequence of array-like
        ``coefs[i]`` is layer i + 1's weight matrix of shape (n_in, n_out)
        (scikit-learn's layout).
    intercepts : sequence of array-like
        ``intercepts[i]`` has shape (n_out,) of ``coefs[i]``.
    n_features : int, optional
        The width the first layer must take (the estimator's ``n_features_in_``).
    n_outputs : int or None, default=1
        The width the last layer must have; None accepts any.
    dtype : float32 or float64, optional
        The dtype every float array must have (the fitted dtype). Without it
        every array must share the first coef's float dtype.
    max_layers : int, optional
        The most weight layers the compiled loop takes.

    Returns
    -------
    layer_units : list of int
        ``[n_in of layer 1, n_out of layer 1, ..., n_out of the last layer]``.
    dtype : numpy.dtype
        float32 or float64.

    Raises
    ------
    ValueError
        Naming the array: a shape that breaks the chain, a wrong output or
        input width, a dtype that differs, no layers or too many.
    TypeError
        `coefs` / `intercepts` are not sequences, or an entry is not numeric.
    """
    if isinstance(coefs, (str, bytes, np.ndarray)) or not isinstance(coefs, Sequence):
        raise TypeError(f"coefs_ must be a list of 2-D arrays; got {type(coefs).__name__}")
    if isinstance(intercepts, (str, bytes, np.ndarray)) or not isinstance(intercepts, Sequence):
        raise TypeError(
            f"intercepts_ must be a list of 1-D arrays; got {type(intercepts).__name__}"
        )
    if len(coefs) == 0:
        raise ValueError("coefs_ is empty: a network needs at least one layer")
    if len(intercepts) != len(coefs):
        raise ValueError(
            f"coefs_ has {len(coefs)} layers but intercepts_ has "
            f"{len(intercepts)}; they must have one array per layer"
        )
    if max_layers is not None and len(coefs) > max_layers:
        raise ValueError(f"coefs_ has {len(coefs)} layers; at most {max_layers} are supported")
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in KERNEL_DTYPES:
            raise ValueError(f"the network's dtype must be float32 or float64; got {dtype}")
    units: List[int] = []
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        w = as_float_array(w, f"coefs_[{i}]", dtype)
        b = as_float_array(b, f"intercepts_[{i}]", dtype)
        if dtype is None:
            dtype = w.dtype
            if dtype not in KERNEL_DTYPES:
                raise ValueError(
                    f"coefs_[0] has dtype {dtype}; the kernels take float32 or float64"
                )
        for name, arr in ((f"coefs_[{i}]", w), (f"intercepts_[{i}]", b)):
            if arr.dtype != dtype:
                raise ValueError(
                    f"{name} has dtype {arr.dtype}; expected {dtype}, the network's dtype"
                )
        if w.ndim != 2:
            raise ValueError(
                f"coefs_[{i}] must be 2-D, of shape (n_in, n_out); got shape {w.shape}"
            )
        n_in, n_out = (int(d) for d in w.shape)
        if i == 0:
            if n_features is not None and n_in != n_features:
                raise ValueError(
                    f"coefs_[0] has shape {w.shape}: {n_in} inputs, but the "
                    f"estimator takes n_features_in_ = {n_features}; expected "
                    f"({n_features}, n_out)"
                )
            units.append(n_in)
        elif n_in != units[-1]:
            raise ValueError(
                f"coefs_[{i}] has shape {w.shape}, but coefs_[{i - 1}] has "
                f"{units[-1]} outputs; expected ({units[-1]}, n_out)"
            )
        if n_in == 0 or n_out == 0:
            raise ValueError(
                f"coefs_[{i}] has shape {w.shape}: every layer needs at least "
                "one input and one output"
            )
        if b.shape != (n_out,):
            raise ValueError(
                f"intercepts_[{i}] has shape {b.shape}; expected ({n_out},), "
                f"the output width of coefs_[{i}] {w.shape}"
            )
        units.append(n_out)
    if n_outputs is not None and units[-1] != n_outputs:
        raise ValueError(
            f"the last layer, coefs_[{len(coefs) - 1}], has {units[-1]} outputs; "
            f"this estimator's network has {n_outputs}"
        )
    return units, np.dtype(dtype)


def check_optimizer_state(state1, state2, *, n_params: int, dtype, kind: str) -> None:
    """The optimizer's buffers fit the network: lengths and dtype, before a kernel updates.

    Parameters
    ----------
    state1, state2 : ndarray
        The solver's buffers: Adam's first and second moments (both of length
        `n_params`), SGD's velocities (`state1`, length `n_params`; `state2`
        empty).
    n_params : int
        The number of network parameters.
    dtype : numpy.dtype
        The network's dtype.
    kind : {"adam", "sgd"}
        Which solver the buffers belong to.

    Raises
    ------
    ValueError
        A buffer of the wrong length, dtype, dimension, or not contiguous.
    """
    want2 = n_params if kind == "adam" else 0
    for name, arr, want in (("state1", state1, n_params), ("state2", state2, want2)):
        if not isinstance(arr, np.ndarray):
            raise ValueError(
                f"the {kind} optimizer's {name} must be an ndarray; got {type(arr).__name__}"
            )
        if arr.ndim != 1 or arr.shape[0] != want:
            raise ValueError(
                f"the {kind} optimizer's {name} has shape {arr.shape}; expected "
                f"({want},) for a network of {n_params} parameters"
            )
        if arr.dtype != dtype:
            raise ValueError(
                f"the {kind} optimizer's {name} has dtype {arr.dtype}; expected "
                f"{dtype}, the network's dtype"
            )
        if not (arr.flags.c_contiguous and arr.flags.writeable):
            raise ValueError(f"the {kind} optimizer's {name} must be a writable, contiguous array")


def check_count(value, name, *, low=0, high=None):
    """A finite integer (not a bool, not a float) within [low, high]; else ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and <= {high}"
        raise ValueError(f"{name} must be >= {low}{upper}; got {value}")
    return value


class FittedNetwork:
    """One fitted network, immutable: the flat buffer, its layout, its widths and the views.

    An estimator holds its network in ONE attribute of this type, replaced as a
    whole (fit, partial_fit, loading, an edit of ``coefs_``), never changed in
    place. A reader takes the attribute once and uses only what it holds, so a
    refit with other layer sizes in another thread cannot hand a kernel the
    buffer of one network and the layout of another. (The weights' values are
    trained in place, as scikit-learn's are: a prediction during a fit sees
    the weights of some epoch.)

    Parameters
    ----------
    params : ndarray of shape (layout.n_params,)
        The flat buffer (scikit-learn's ``_pack`` order), float32 or float64.
    layout : fastdense._train.Layout
        The widths and offsets of the buffer.
    """

    __slots__ = (
        "params",
        "layout",
        "units",
        "n_in",
        "width",
        "coefs",
        "intercepts",
        "_coef_items",
        "_icpt_items",
    )
    params: np.ndarray
    layout: object
    units: List[int]
    n_in: int
    width: int
    coefs: List[np.ndarray]
    intercepts: List[np.ndarray]
    _coef_items: Tuple[np.ndarray, ...]
    _icpt_items: Tuple[np.ndarray, ...]

    def __init__(self, params: np.ndarray, layout) -> None:
        if params.ndim != 1 or params.shape[0] != layout.n_params:
            raise ValueError(
                f"a flat buffer of shape {params.shape} for a network of "
                f"{layout.n_params} parameters"
            )
        units = [int(u) for u in layout.units]
        coefs = [
            params[o : o + a * b].reshape(a, b)
            for o, a, b in zip(layout.coef_off.tolist(), units[:-1], units[1:])
        ]
        intercepts = [params[o : o + b] for o, b in zip(layout.icpt_off.tolist(), units[1:])]
        for name, value in (
            ("params", params),
            ("layout", layout),
            ("units", units),
            ("n_in", units[0]),
            ("width", int(layout.width)),
            ("coefs", coefs),
            ("intercepts", intercepts),
            ("_coef_items", tuple(coefs)),
            ("_icpt_items", tuple(intercepts)),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError("a FittedNetwork is immutable; build a new one")

    def serves(self, coefs, intercepts) -> bool:
        """Whether `coefs` / `intercepts` are exactly the lists (and arrays) this one handed out."""
        # (map(is_, ...) over the items: this runs on every prediction, a 1-row one included)
        return (
            coefs is self.coefs
            and intercepts is self.intercepts
            and len(coefs) == len(self._coef_items)
            and len(intercepts) == len(self._icpt_items)
            and all(map(is_, coefs, self._coef_items))
            and all(map(is_, intercepts, self._icpt_items))
        )
