"""``fastdense.gradcheck``: analytic gradients against central finite differences.

The check every deep-learning course has students write (and PyTorch's
``torch.autograd.gradcheck``): perturb each parameter entry by ±eps in
float64, evaluate the cost J, and compare (J(θ+eps) − J(θ−eps)) / (2 eps)
with the gradient that backpropagation computed.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Analytic and numerical gradients disagree (as ``torch.autograd.GradcheckError``)."""


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> Tuple[float, int]:
    """max |a − n| over the entries, relative to the larger of max|a| and max|n|.

    Scaling by the whole parameter's gradient (not entry by entry) keeps
    entries whose gradient is ~0 (dead ReLU units) from dividing 0 by 0.
    Returns the error and the flat index of the worst entry.
    """
    diff = np.abs(analytic - numeric).ravel()
    scale = max(
        float(np.max(np.abs(analytic), initial=0.0)), float(np.max(np.abs(numeric), initial=0.0))
    )
    if diff.size == 0:
        return 0.0, -1
    worst = int(np.argmax(diff))
    if scale == 0.0:
        return (0.0 if diff[worst] == 0.0 else float("inf")), worst
    return float(diff[worst] / scale), worst


def _check(
    names_shapes: List[Tuple[str, Tuple[int, ...]]],
    flat: np.ndarray,
    loss_and_grad: Callable[[np.ndarray], Tuple[float, Optional[np.ndarray]]],
    eps: float,
    tol: float,
    raise_exception: bool,
) -> Dict[str, float]:
    """Finite differences of `loss_and_grad` around `flat`, reported per named slice."""
    _, analytic = loss_and_grad(flat)
    analytic = np.zeros_like(flat) if analytic is None else np.array(analytic, dtype=np.float64)
    numeric = np.empty_like(flat)
    x = flat.copy()
    for i in range(flat.size):
        x[i] = flat[i] + eps
        j_plus, _ = loss_and_grad(x)
        x[i] = flat[i] - eps
        j_minus, _ = loss_and_grad(x)
        x[i] = flat[i]
        numeric[i] = (j_plus - j_minus) / (2.0 * eps)
    errors: Dict[str, float] = {}
    start = 0
    failures = []
    for name, shape in names_shapes:
        n = int(np.prod(shape, dtype=np.int64))
        a, g = analytic[start : start + n], numeric[start : start + n]
        err, worst = _relative_error(a, g)
        errors[name] = err
        if not err <= tol:
            idx = np.unravel_index(worst, shape) if shape else ()
            failures.append(
                f"{name}{list(map(int, idx))}: analytic {a[worst]:.10g}, numerical "
                f"{g[worst]:.10g} (relative error {err:.3g} > tol {tol:g})"
            )
        start += n
    if failures and raise_exception:
        raise GradcheckError("gradients do not match finite differences: " + "; ".join(failures))
    return errors


def _targets(y: Any, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.size != n:
        raise ValueError(f"y has {y.size} values for {n} rows of X")
    return y.reshape(n, 1)


def gradcheck(
    model: Any,
    X: Any,
    y: Any,
    eps: float = 1e-6,
    *,
    tol: float = 1e-5,
    raise_exception: bool = True,
) -> Dict[str, float]:
    """Compare backpropagation's gradients with central finite differences, in float64.

    Parameters
    ----------
    model : fastdense.nn.Module or fitted DenseBinaryClassifier
        A module whose output is the logit, shape (m, 1). It is copied and cast
        to float64 (the model itself is left as it is), put in eval mode
        (no dropout), and the cost is ``nn.BCEWithLogitsLoss()`` (mean);
        analytic gradients come from fastdense's autograd (``loss.backward()``).
        For a fitted :class:`~fastdense.DenseBinaryClassifier` the gradient checked
        is the one its training kernel computes (``fastdense._train.loss_grad``:
        mean cross-entropy plus the ``alpha`` L2 term, with ``sample_weight``
        none), and the names are those of ``module_`` (``"0.weight"``, ...).
    X : array-like of shape (m, n_features)
    y : array-like of shape (m,) or (m, 1)
        Targets in {0, 1} (for an estimator: its class labels).
    eps : float, default=1e-6
        The finite-difference step.
    tol : float, default=1e-5
        Largest accepted relative error (see Returns). In float64 with
        eps=1e-6 correct gradients give ~1e-9 or less.
    raise_exception : bool, default=True
        Raise :class:`GradcheckError` on a mismatch; if False, only return the errors.

    Returns
    -------
    errors : dict of str to float
        For each parameter name: max over its entries of
        |analytic − numerical|, divided by the largest |gradient| of that
        parameter (so 0 means identical, 1 means off by the whole scale).

    Raises
    ------
    GradcheckError
        If an error exceeds `tol` (naming the parameter, entry and both values).

    Notes
    -----
    Costs two forward passes per parameter entry: use tiny networks and a few rows.
    A ReLU input within eps of 0 (a kink) can make a single entry disagree; that
    is the function, not the gradient, being non-smooth.

    Examples
    --------
    >>> import numpy as np, fastdense as fd
    >>> from fastdense import nn
    >>> _ = fd.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    >>> X = np.random.default_rng(0).standard_normal((5, 3))
    >>> errors = fd.gradcheck(model, X, [0, 1, 1, 0, 1])
    >>> sorted(errors)
    ['0.bias', '0.weight', '2.bias', '2.weight']
    >>> max(errors.values()) < 1e-6
    True
    """
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number; got {eps!r}")
    from .estimators import DenseBinaryClassifier

    if isinstance(model, DenseBinaryClassifier):
        return _gradcheck_estimator(model, X, y, eps, tol, raise_exception)

    from . import nn
    from .autograd import no_grad

    if not isinstance(model, nn.Module):
        raise TypeError(
            "gradcheck takes a fastdense.nn.Module or a fitted "
            f"DenseBinaryClassifier; got {type(model).__name__}"
        )
    m = copy.deepcopy(model).double().eval()
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows are examples); got shape {X.shape}")
    Y = _targets(y, X.shape[0])
    params = [(name, p) for name, p in m.named_parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no parameters that require gradients")
    loss_fn = nn.BCEWithLogitsLoss()
    shapes = [(name, tuple(p.shape)) for name, p in params]
    sizes = [int(np.prod(s, dtype=np.int64)) for _, s in shapes]
    flat0 = np.concatenate([np.asarray(p.data, dtype=np.float64).ravel() for _, p in params])

    def set_params(flat: np.ndarray) -> None:
        start = 0
        for (_, p), n in zip(params, sizes):
            p.data = flat[start : start + n].reshape(p.shape).copy()  # bumps the version
            start += n

    def loss_and_grad(flat: np.ndarray, with_grad: bool = False):
        set_params(flat)
        if not with_grad:
            with no_grad():
                return float(loss_fn(m(X), Y).item()), None
        m.zero_grad()
        loss = loss_fn(m(X), Y)
        loss.backward()
        grads = [
            np.zeros(p.shape) if p._grad is None else np.asarray(p._grad, np.float64)
            for _, p in params
        ]
        return float(loss.item()), np.concatenate([g.ravel() for g in grads])

    first = [True]

    def fn(flat: np.ndarray):
        if first[0]:
            first[0] = False
            return loss_and_grad(flat, with_grad=True)
        return loss_and_grad(flat)

    return _check(shapes, flat0, fn, eps, tol, raise_exception)


def _gradcheck_estimator(
    clf: Any, X: Any, y: Any, eps: float, tol: float, raise_exception: bool
) -> Dict[str, float]:
    """The estimator's own training kernel (loss + L2 and its gradient) vs finite differences."""
    from sklearn.utils.validation import check_is_fitted

    from . import _train
    from .estimators._base import _LEAKY_RELU_SLOPE, _kernel_activation

    check_is_fitted(clf, "coefs_")
    snapshot = clf._snapshot()  # one network, read once (buffer, layout and widths)
    params32, units, layout = snapshot.params, snapshot.units, snapshot.layout
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != units[0]:
        raise ValueError(f"X must have shape (m, {units[0]}); got {X.shape}")
    y_bin = clf._label_binarizer.transform(np.asarray(y).ravel()).ravel().astype(np.float64)
    if y_bin.size != X.shape[0]:
        raise ValueError(f"y has {y_bin.size} values for {X.shape[0]} rows of X")
    n = X.shape[0]
    flat0 = np.asarray(params32, dtype=np.float64).copy()
    empty_f, empty_i = np.zeros(0), np.zeros(0, dtype=np.intp)
    # (no dropout: the finite differences need a deterministic loss; a batch-normed
    # network is refused by loss_grad, whose statistics would move on every call)
    net = _train.NetSpec(
        layout,
        _kernel_activation(clf.activation),
        float(getattr(clf, "leaky_relu_slope", _LEAKY_RELU_SLOPE)),
        _train.OUTPUT_CODES["logistic"],
    )
    plan = _train.EpochPlan(
        net, X, empty_f, empty_i, empty_i, y_bin.reshape(-1, 1), empty_f, float(clf.alpha), n, False
    )

    def loss_and_grad(flat: np.ndarray):
        grad = np.empty_like(flat)
        loss = _train.loss_grad(plan, np.ascontiguousarray(flat), grad)
        return float(loss), grad

    # the flat buffer holds coefs (as (n_in, n_out)) then intercepts; report in
    # module_'s names, weights transposed to PyTorch's (out, in) layout
    n_layers = len(units) - 1
    order: List[np.ndarray] = []
    shapes: List[Tuple[str, Tuple[int, ...]]] = []
    for i in range(n_layers):
        o, a, b = int(layout.coef_off[i]), units[i], units[i + 1]
        order.append(np.arange(o, o + a * b).reshape(a, b).T.ravel())
        shapes.append((f"{2 * i}.weight", (b, a)))
        order.append(np.arange(int(layout.icpt_off[i]), int(layout.icpt_off[i]) + b))
        shapes.append((f"{2 * i}.bias", (b,)))
    perm = np.concatenate(order)

    def permuted(flat_named: np.ndarray):
        flat = np.empty_like(flat_named)
        flat[perm] = flat_named
        loss, grad = loss_and_grad(flat)
        return loss, grad[perm]

    return _check(shapes, flat0[perm], permuted, eps, tol, raise_exception)
