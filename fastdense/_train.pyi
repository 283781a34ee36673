"""Type stubs for the compiled module ``fastdense._train`` (``_train.pyx``): the estimator's loops.

Float arrays share one dtype (float32 or float64) per call and are
C-contiguous; index arrays are ``np.intp``. An empty ``xs_indptr`` means X is
dense; otherwise (xs_data, xs_indptr, xs_indices) is X in CSR form and X has
0 rows. Parameters live in one flat buffer in scikit-learn's ``_pack`` order.
"""

from typing import Any, Dict, Tuple

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.floating]
_I = npt.NDArray[np.intp]

SOLVER_SGD: int
SOLVER_ADAM: int
OUTPUT_CODES: Dict[str, int]

def stochastic_epoch(X: _F, xs_data: _F, xs_indptr: _I, xs_indices: _I, y: _F, sw: _F,
                     order: _I, use_order: bool, batch_size: int, units: _I, coef_off: _I,
                     icpt_off: _I, activation: int, slope: float, output: int, params: _F,
                     grads: _F, state1: _F, state2: _F, acts_buf: _F, d_a: _F, d_b: _F, xb: _F,
                     yb: _F, swb: _F, solver: int, lr: float, momentum: float,
                     nesterov: bool, beta_1: float, beta_2: float, epsilon: float,
                     adam_t: int, alpha: float,
                     check_signals: bool = ...) -> Tuple[float, int, int, Any]:
    """One SGD/Adam epoch; returns (sum of batch loss x batch size, Adam's step count,
    rows done, the exception a signal handler raised or None)."""
    ...
def loss_grad(X: _F, xs_data: _F, xs_indptr: _I, xs_indices: _I, y: _F, sw: _F, units: _I,
              coef_off: _I, icpt_off: _I, activation: int, slope: float, output: int,
              params: _F, grads: _F, acts_buf: _F, d_a: _F, d_b: _F, alpha: float) -> float:
    """Full-batch loss (returned) and its gradient (written into grads)."""
    ...
def decision_function(X: _F, xs_data: _F, xs_indptr: _I, xs_indices: _I, n: int, units: _I,
                      coef_off: _I, icpt_off: _I, activation: int, slope: float, params: _F,
                      acts_buf: _F, chunk: int, out: _F) -> None:
    """out := the logit of each row, forward in chunks of `chunk` rows."""
    ...
def predict_dense(X: _F, units: _I, coef_off: _I, icpt_off: _I, activation: int, slope: float,
                  params: _F, acts_buf: _F, chunk: int, out: _F, binary_proba: bool) -> int:
    """Forward dense X into out (logits, or binary (1 - p, p)); 0, or 1/2 for NaN/inf in X/logits."""
    ...
