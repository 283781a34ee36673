"""scikit-learn's stochastic optimizers as the estimators keep them between epochs and fits.

``_SGDState`` and ``_AdamState`` hold what ``sklearn.neural_network``'s
SGDOptimizer and AdamOptimizer hold (the learning-rate schedule, the
stopping rule, Adam's step count, the state buffers, in the flat
parameter buffer's layout); the per-minibatch update itself is
``_updates``'s ``sklearn_sgd`` / ``sklearn_adam``, run by the compiled epoch
loop from the description ``spec()`` returns. They are pickled with the
estimator (their names are also the optimizer classes of the estimator's
file format, ``fastdense._estimator_file``).
"""

import math
from typing import NamedTuple, Tuple

import numpy as np

from .. import _train

__all__ = ["_SGDState", "_AdamState", "StateField", "MAX_STEPS"]

#: the largest step count a state (or a file) may hold: exact as a float, far from int64's end
#: (fastdense.io.estimator_file bounds n_iter_ and t_ by the same number)
MAX_STEPS = 2**53


class StateField(NamedTuple):
    """One scalar of an optimizer state as a model file stores it: its type and range.

    ``kind`` is ``"real"`` (finite, in [low, high]; ``open_low`` /
    ``open_high`` exclude an end), ``"count"`` (an integer in [low, high]), ``"bool"`` or
    ``"choice"`` (one of ``choices``). The ranges are the estimator's own
    parameter constraints (scikit-learn's), so a file cannot hold a state that
    the estimator's parameters would refuse. ``fastdense.io.estimator_file``
    reads a file's optimizer state through these declarations and nothing
    else: adding a field to a state is one line in its ``FILE_FIELDS``.
    """

    kind: str
    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False
    choices: Tuple[str, ...] = ()


_RATE = StateField("real", 0.0, open_low=True)  # learning_rate_init: Interval(0, None, "neither")
_STEPS = StateField("count", 0, MAX_STEPS)


class _SGDState:
    """scikit-learn's SGDOptimizer: the learning-rate schedule and the velocity buffer."""

    kind = _train.SOLVER_SGD
    #: the scalars a model file stores (name -> type and range), beside state1/state2
    FILE_FIELDS = {
        "learning_rate_init": _RATE,
        "learning_rate": StateField("real", 0.0),  # the adaptive schedule divides it by 5
        "lr_schedule": StateField("choice", choices=("constant", "invscaling", "adaptive")),
        "momentum": StateField("real", 0.0, 1.0),
        "nesterov": StateField("bool"),
        "power_t": StateField("real", 0.0),
        "t": _STEPS,
    }

    def __init__(
        self, n_params, dtype, learning_rate_init, lr_schedule, momentum, nesterov, power_t
    ):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.t = 0  # unused by SGD; kept so both states share one kernel call
        self.state1 = np.zeros(n_params, dtype=dtype)  # velocities
        self.state2 = np.zeros(0, dtype=dtype)

    def spec(self):
        """The kernel's description of this optimizer (built once per fit)."""
        return _train.OptimizerSpec(
            self.kind,
            self.state1,
            self.state2,
            self.learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
        )

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class _AdamState:
    """scikit-learn's AdamOptimizer: step counter and the two moment buffers."""

    kind = _train.SOLVER_ADAM
    #: the scalars a model file stores (name -> type and range), beside state1/state2
    FILE_FIELDS = {
        "learning_rate_init": _RATE,
        "learning_rate": StateField("real", 0.0),
        "beta_1": StateField("real", 0.0, 1.0, open_high=True),
        "beta_2": StateField("real", 0.0, 1.0, open_high=True),
        "epsilon": StateField("real", 0.0, open_low=True),
        "t": _STEPS,
    }

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.state1 = np.zeros(n_params, dtype=dtype)  # first moments
        self.state2 = np.zeros(n_params, dtype=dtype)  # second moments

    def spec(self):
        """The kernel's description of this optimizer (built once per fit)."""
        return _train.OptimizerSpec(
            self.kind,
            self.state1,
            self.state2,
            self.learning_rate,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            t=self.t,
        )

    def iteration_ends(self, time_step):
        pass

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True
