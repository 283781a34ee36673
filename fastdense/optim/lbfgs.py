"""L-BFGS (``torch.optim.LBFGS``): PyTorch's algorithm on the parameters as one flat vector.

The direction comes from the two-loop recursion over the last
``history_size`` curvature pairs; the step is either ``lr`` (the first one
scaled by ``1 / sum|g|``) or found by a line search satisfying the strong
Wolfe conditions (bracketing, then zooming with cubic interpolation), with
PyTorch's constants and stopping rules, so the iterates are PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, List, Optional, Tuple

import numpy as np

from ..autograd import Tensor, enable_grad
from .optimizer import Optimizer, _check_lr, _flat_grad, _flat_param, _scalar

__all__ = ["LBFGS"]

_Objective = Callable[[List[np.ndarray], float, np.ndarray], Tuple[float, np.ndarray]]


def _cubic_minimum(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: Optional[Tuple[float, float]] = None,
) -> float:
    """The minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), within bounds.

    Without real roots of its derivative, the middle of the bounds.
    """
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(t, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(
    obj: _Objective,
    x: List[np.ndarray],
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> Tuple[float, np.ndarray, float, int]:
    """A step t along d meeting the strong Wolfe conditions: (loss, grad, t, evaluations)."""
    d_norm = float(np.abs(d).max())
    f_new, g_new = obj(x, t, d)
    evals, ls_iter = 1, 0
    gtd_new = float(g_new.dot(d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g.copy(), gtd
    done = False
    bracket: List[float] = []
    bracket_f: List[float] = []
    bracket_g: List[np.ndarray] = []
    bracket_gtd: List[float] = []
    # bracketing phase: walk forward until an interval holds a point satisfying both conditions
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate between 1.01 t and 10 t
        t_next = _cubic_minimum(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10)
        )
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.copy(), gtd_new
        t = t_next
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]
    # zoom phase: shrink the bracket by cubic interpolation, safeguarded against tiny moves
    insufficient = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        top, bottom = max(bracket), min(bracket)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = obj(x, t, d)
        evals += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


class LBFGS(Optimizer):
    """L-BFGS (``torch.optim.LBFGS``), PyTorch's algorithm; ``step(closure)`` runs up to ``max_iter`` iterations.

    One parameter group only, as in PyTorch. ``closure`` must clear the
    gradients, compute the loss, call ``backward`` and return the loss.
    State (kept on the first parameter, as PyTorch): ``func_evals``,
    ``n_iter``, the last direction ``d`` and step ``t``, the curvature pairs
    ``old_dirs``/``old_stps`` with ``ro``, ``H_diag``, ``prev_flat_grad``,
    ``prev_loss`` (flat arrays of the parameters' dtype, floats, ints).

    Parameters
    ----------
    params : iterable of Parameter
    lr : float or one-element Tensor, default=1
    max_iter : int, default=20
    max_eval : int, optional
        Default ``max_iter * 5 // 4``.
    tolerance_grad : float, default=1e-7
    tolerance_change : float, default=1e-9
    history_size : int, default=100
    line_search_fn : {None, "strong_wolfe"}, default=None
    """

    _scalar_state = ("step", "t", "H_diag", "prev_loss")

    def __init__(
        self,
        params: Iterable,
        lr: Any = 1,
        max_iter: int = 20,
        max_eval: Optional[int] = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: Optional[str] = None,
    ) -> None:
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(
            params,
            dict(
                lr=lr,
                max_iter=max_iter,
                max_eval=max_eval,
                tolerance_grad=tolerance_grad,
                tolerance_change=tolerance_change,
                history_size=history_size,
                line_search_fn=line_search_fn,
            ),
        )
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    @property
    def _params(self) -> List[Tensor]:
        return self.param_groups[0]["params"]

    def _gather_flat_grad(self) -> np.ndarray:
        parts = []
        for p in self._params:
            g = _flat_grad(p)
            parts.append(np.zeros(p._data.size, dtype=p._data.dtype) if g is None else g)
        return np.concatenate(parts)

    def _add_grad(self, step: float, update: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            flat = _flat_param(p)
            flat += step * update[offset : offset + flat.size]
            offset += flat.size

    def _set_param(self, values: List[np.ndarray]) -> None:
        for p, v in zip(self._params, values):
            _flat_param(p)[...] = v.reshape(-1)

    def _cast_state(self, p: Tensor, key: str, value: Any) -> Any:
        """LBFGS's state: flat vectors (and lists of them), numbers, counters."""
        dtype = p._data.dtype

        def array(v: Any) -> Any:
            if v is None:
                return None
            if hasattr(v, "detach"):
                v = v.detach().cpu().numpy()
            elif isinstance(v, Tensor):
                v = v._data
            arr = np.asarray(v)
            if arr.ndim == 0:
                return float(arr)
            return np.array(arr, dtype=dtype, order="C", copy=True)

        if key in ("func_evals", "n_iter"):
            return int(value)
        if isinstance(value, (list, tuple)):
            return [array(v) for v in value]
        return array(value)

    def step(self, closure: Callable[[], Any]):  # type: ignore[override]
        """Run up to ``max_iter`` iterations; returns the loss of the first evaluation."""
        if closure is None:
            raise RuntimeError(
                "LBFGS.step requires a closure that reevaluates the model and returns the loss"
            )
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        group = self.param_groups[0]
        lr = _scalar(group["lr"])
        max_iter, max_eval = int(group["max_iter"]), int(group["max_eval"])
        tol_grad, tol_change = float(group["tolerance_grad"]), float(group["tolerance_change"])
        line_search_fn, history_size = group["line_search_fn"], int(group["history_size"])
        if line_search_fn is not None and line_search_fn != "strong_wolfe":
            raise RuntimeError("only 'strong_wolfe' is supported")

        def evaluate() -> Any:
            with enable_grad():
                return closure()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tol_grad:
            return orig_loss
        # the previous step's direction, step and curvature pairs (Any: absent before step 1)
        d: Any = state.get("d")
        t: Any = state.get("t")
        old_dirs: Any = state.get("old_dirs")
        old_stps: Any = state.get("old_stps")
        ro: Any = state.get("ro")
        H_diag: Any = state.get("H_diag")
        prev_flat_grad: Any = state.get("prev_flat_grad")
        prev_loss: Any = state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1.0
            else:
                # the newest curvature pair (skipped unless y's > 1e-10), then the two loops
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                num_old = len(old_dirs)
                al: List[Any] = [None] * max(history_size, num_old)
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(flat_grad.dot(d))
            if gtd > -tol_change:  # not a descent direction
                break
            ls_evals = 0
            if line_search_fn is not None:
                x_init = [p._data.copy() for p in self._params]

                def objective(
                    x: List[np.ndarray], step: float, direction: np.ndarray
                ) -> Tuple[float, np.ndarray]:
                    self._add_grad(step, direction)
                    value = float(evaluate())
                    grad = self._gather_flat_grad()
                    self._set_param(x)
                    return value, grad

                loss, flat_grad, t, ls_evals = _strong_wolfe(
                    objective, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tol_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tol_grad
                    ls_evals = 1
            current_evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        state.update(
            d=d,
            t=t,
            old_dirs=old_dirs,
            old_stps=old_stps,
            ro=ro,
            H_diag=H_diag,
            prev_flat_grad=prev_flat_grad,
            prev_loss=prev_loss,
        )
        return orig_loss
