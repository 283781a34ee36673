"""Type stubs for the compiled module ``fastdense._train`` (``_train.pyx``): the estimators' loops.

A fit builds one :class:`NetSpec` (from a :class:`Layout`), one
:class:`EpochPlan` and, for sgd/adam, one :class:`OptimizerSpec`; each epoch
or loss evaluation is then one call. Float arrays share one dtype (float32 or
float64) and are C-contiguous; index arrays are ``np.intp``. Parameters live
in one flat buffer in scikit-learn's ``_pack`` order.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.floating]
_I = npt.NDArray[np.intp]

SOLVER_SGD: int
SOLVER_ADAM: int
MAX_WEIGHT_LAYERS: int
OUTPUT_CODES: Dict[str, int]
SIGNAL_CHECK_SECONDS: float

class Layout:
    """scikit-learn's ``_pack`` layout of a network's flat parameter buffer."""

    units: _I
    coef_off: _I
    icpt_off: _I
    n_layers: int
    n_params: int
    width: int
    widest: int
    bn_off: _I
    stat_off: _I
    bn_start: int
    batch_norm: bool
    def __init__(self, units: Sequence[int], batch_norm: bool = ...) -> None: ...
    def initial_batch_norm(self, dtype: Any) -> _F: ...
    def batch_norm_state(self, params: _F) -> List[Tuple[_F, _F, _F, _F]]: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class NetSpec:
    """A network as the loops run it: layout, hidden activation code, slope, output code."""

    layout: Layout
    activation: int
    slope: float
    output: int
    huber_delta: float
    dropout: Optional[_F]
    keep_z: bool
    def __init__(
        self,
        layout: Layout,
        activation: int,
        slope: float,
        output: int,
        huber_delta: float = ...,
        dropout: Optional[Sequence[float]] = ...,
    ) -> None: ...

class OptimizerSpec:
    """scikit-learn's SGD or Adam step: constants, state buffers, Adam's step count."""

    state1: _F
    state2: Optional[_F]
    n_params: int
    solver: int
    learning_rate: float
    t: int
    def __init__(
        self,
        solver: int,
        state1: _F,
        state2: _F,
        learning_rate: float,
        momentum: float = ...,
        nesterov: bool = ...,
        beta_1: float = ...,
        beta_2: float = ...,
        epsilon: float = ...,
        t: int = ...,
    ) -> None: ...

class EpochPlan:
    """A training set and the scratch buffers of one fit, checked against the network."""

    net: NetSpec
    n_samples: int
    batch_size: int
    alpha: float
    shuffle: bool
    dtype: np.dtype
    zs: _F
    erfs: _F
    masks: _F
    dropped: _F
    xhat: _F
    inv: _F
    def __init__(
        self,
        net: NetSpec,
        X: _F,
        xs_data: _F,
        xs_indptr: _I,
        xs_indices: _I,
        y: _F,
        sw: _F,
        alpha: float,
        batch_size: int,
        shuffle: bool,
        seed: int = ...,
    ) -> None: ...
    def layer_masks(self, m: int) -> Optional[List[_F]]: ...
    def _tuner_state(self) -> Dict[str, Any]: ...

def stochastic_epoch(
    plan: EpochPlan, opt: OptimizerSpec, params: _F, order: Optional[_I], check_signals: bool = ...
) -> Tuple[float, int, Any]:
    """One SGD/Adam epoch; returns (sum of batch loss x batch size, rows done, the
    exception a signal handler raised or None); advances ``opt.t``."""
    ...

def loss_grad(plan: EpochPlan, params: _F, grads: _F) -> float:
    """Full-batch loss (returned) and its gradient (written into grads)."""
    ...

MT19937_IN_PLACE: bool

def mt19937_of(random_state: Any) -> Optional[Any]:
    """The MT19937 bit generator of a RandomState whose state mt19937_shuffle reads, or None."""

def mt19937_shuffle(x: _I, bit_generator: Any) -> None:
    """``RandomState.shuffle(x)`` on that bit generator's state, in place."""

def output_loss(output: int, z: _F, y: _F, sw: _F, huber_delta: float = ...) -> float:
    """The loss (no L2 term) of the logits z against y, the training loss's kernel; z is overwritten."""
    ...

def decision_function(
    net_spec: NetSpec,
    X: _F,
    xs_data: _F,
    xs_indptr: _I,
    xs_indices: _I,
    n: int,
    params: _F,
    acts_buf: _F,
    chunk: int,
    out: _F,
    layer: int = ...,
) -> None:
    """out := the logits (or hidden layer `layer`'s activations) of each row, in chunks."""
    ...

def predict_dense(
    net_spec: NetSpec, X: _F, params: _F, acts_buf: _F, chunk: int, out: _F, binary_proba: bool
) -> int:
    """Forward dense X into out (logits, or binary (1 - p, p)); 0, or 1/2 for NaN/inf in X/logits."""
    ...

def _tuner_trace(most: int, team_seconds: float, one_seconds: float, batches: int) -> List[int]:
    """The team the epoch loop's tuner runs each of `batches` minibatches on (tests)."""
    ...
