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

import numpy as np

from .. import _train

__all__ = ["_SGDState", "_AdamState"]


class _SGDState:
    """scikit-learn's SGDOptimizer: the learning-rate schedule and the velocity buffer."""

    kind = _train.SOLVER_SGD

    def __init__(self, n_params, dtype, learning_rate_init, lr_schedule, momentum,
                 nesterov, power_t):
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
        return _train.OptimizerSpec(self.kind, self.state1, self.state2, self.learning_rate,
                                    momentum=self.momentum, nesterov=self.nesterov)

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
        return _train.OptimizerSpec(self.kind, self.state1, self.state2, self.learning_rate,
                                    beta_1=self.beta_1, beta_2=self.beta_2,
                                    epsilon=self.epsilon, t=self.t)

    def iteration_ends(self, time_step):
        pass

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True
