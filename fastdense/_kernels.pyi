"""Type stubs for the compiled module ``fastdense._kernels`` (``_kernels.pyx``).

Every array argument is a C-contiguous NumPy array of one float dtype
(float32 or float64, the same for all arrays of a call); outputs are written
in place. These entry points trust their callers: use the validated wrappers
in :mod:`fastdense.kernels`.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.floating]

ACTIVATIONS: Dict[str, int]
ACTIVATION_CODES: Dict[str, int]
ENUM_CODES: Dict[str, int]

def dense_forward(
    a_prev: _F, w: _F, bias: _F, out: _F, activation: int, negative_slope: float
) -> None: ...
def dense_backward(
    da: _F,
    a_prev: _F,
    w: _F,
    a: _F,
    dz: _F,
    dw: _F,
    db: _F,
    da_prev: _F,
    activation: int,
    negative_slope: float,
    accumulate: bool,
) -> None: ...
def bce_with_logits(
    z: _F, y: _F, weight: _F, pos_weight: _F, dz: _F, loss: _F, grad_scale: float
) -> float: ...
def activation_forward(z: _F, out: _F, activation: int, negative_slope: float) -> None: ...
def activation_backward(da: _F, a: _F, dz: _F, activation: int, negative_slope: float) -> None: ...
def bce_probs(p: _F, y: _F, weight: _F, dp: _F, loss: _F, grad_scale: float) -> float: ...
def torch_sgd(
    param: _F,
    grad: _F,
    buf: _F,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    first_step: bool,
) -> None: ...
def torch_adam(
    param: _F,
    grad: _F,
    exp_avg: _F,
    exp_avg_sq: _F,
    max_exp_avg_sq: _F,
    step_size: float,
    bias_correction2_sqrt: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decay_factor: float,
    amsgrad: bool,
    maximize: bool,
) -> None: ...
def sklearn_sgd(
    param: _F, grad: _F, velocity: _F, lr: float, momentum: float, nesterov: bool
) -> None: ...
def sklearn_adam(
    param: _F, grad: _F, m: _F, v: _F, lr_t: float, beta1: float, beta2: float, eps: float
) -> None: ...
def torch_adam_multi(
    params: List[_F],
    grads: List[_F],
    exp_avgs: List[_F],
    exp_avg_sqs: List[_F],
    max_exp_avg_sqs: List[_F],
    step_sizes: List[float],
    bc2_sqrts: List[float],
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decay_factor: float,
    amsgrad: bool,
    maximize: bool,
) -> None: ...
def dense_forward_ready(
    a_prev: object, w: object, b: object, activation: object, negative_slope: object
) -> Optional[_F]: ...
def dense_backward_ready(
    da: object,
    a_prev: object,
    w: object,
    a: object,
    activation: object,
    negative_slope: object,
    input_grad: bool,
) -> Optional[Tuple[Optional[_F], _F, _F]]: ...
def matmul(
    a: _F,
    b: _F,
    c: _F,
    trans_a: bool = ...,
    trans_b: bool = ...,
    path: int = ...,
    repeat: int = ...,
) -> bool: ...
def product_blocks(m: int, n: int, k: int) -> int: ...
def pass_blocks(m: int, n: int) -> int: ...
def threads_available() -> Tuple[bool, int]: ...

class GemmFloor:
    """Only the matrix products of one training epoch (a benchmark floor)."""

    X: _F
    weights: List[_F]
    sizes: npt.NDArray[np.intp]
    batch: int
    backward: bool
    input_grad: bool
    z: List[_F]
    dw: List[_F]
    da: List[_F]
    def __init__(
        self,
        X: npt.ArrayLike,
        weights: Sequence[npt.ArrayLike],
        batch_size: int,
        *,
        backward: bool = ...,
        input_grad: bool = ...,
    ) -> None: ...
    def run_epoch(self) -> None: ...

def torch_rmsprop(
    param: _F,
    grad: _F,
    square_avg: _F,
    grad_avg: _F,
    momentum_buffer: _F,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    maximize: bool,
) -> None: ...
def torch_adagrad(
    param: _F, grad: _F, state_sum: _F, clr: float, eps: float, weight_decay: float, maximize: bool
) -> None: ...
