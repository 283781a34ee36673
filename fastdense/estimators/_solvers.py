"""The solvers of the estimators: minibatch SGD/Adam epochs and L-BFGS, as scikit-learn runs them.

``_SolverMixin`` is the part of ``sklearn.neural_network``'s
``BaseMultilayerPerceptron`` that drives the optimisation (``_fit_stochastic``
with its validation split, batches, stopping rules and messages;
``_fit_lbfgs`` through ``scipy.optimize.minimize``). Each epoch and each
loss evaluation is one nogil call into ``fastdense._train``, described once
per fit by ``_epoch_plan``; Python only runs the per-epoch bookkeeping.
"""

import threading
import warnings

import numpy as np
import scipy.optimize
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split

from .. import _threadpool, _train
from ._optimizers import _AdamState, _SGDState
from ._validation_set import ValidationSet

try:  # scikit-learn's helpers, so messages and iteration counts match MLPClassifier
    from sklearn.utils.optimize import _check_optimize_result
except ImportError:  # pragma: no cover
    _check_optimize_result = None
try:
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover

    def _get_additional_lbfgs_options_dict(key, value):
        return {}


__all__ = ["_SolverMixin"]


class _EpochShuffle:
    """``sklearn.utils.shuffle(idx, random_state=random_state)``, once per epoch.

    The same draw as scikit-learn's (``random_state.shuffle`` of ``arange(n)``,
    then take, which equals shuffling a copy of ``idx`` in place), without its
    per-call checks. For a NumPy ``RandomState`` (what scikit-learn's
    ``check_random_state`` gives), the shuffle runs in the compiled module on
    the generator's own state (``_train.mt19937_shuffle``): on small data the
    shuffle is most of an epoch's time outside the network.
    """

    def __init__(self, random_state):
        self.random_state = random_state
        self.bit_generator = _train.mt19937_of(random_state)

    def __call__(self, idx):
        order = np.array(idx, dtype=np.intp, copy=True)
        if self.bit_generator is None:
            self.random_state.shuffle(order)
        else:
            _train.mt19937_shuffle(order, self.bit_generator)
        return order


class _SolverMixin:
    """The solver loops of :class:`~fastdense.estimators._base._DenseBase`."""

    def _epoch_plan(self, X, y, sample_weight, batch_size, shuffle):
        """The compiled loops' description of one fit: network, data, scratch buffers."""
        dtype = self._params.dtype
        Xd, xs_data, xs_indptr, xs_indices = self._kernel_X(X, dtype)
        y_k = np.ascontiguousarray(y.reshape(y.shape[0], self._units_list[-1]), dtype=dtype)
        sw_k = (
            np.zeros(0, dtype=dtype)
            if sample_weight is None
            else np.ascontiguousarray(sample_weight, dtype=dtype)
        )
        net = self._net_spec(self._output_code(), training=True)
        seed = 0
        if net.dropout is not None:
            # drawn only with dropout, so the defaults consume MLPClassifier's stream;
            # t_ (rows seen) makes successive partial_fit calls draw new masks
            high, low = self._random_state.randint(0, 2**32, size=2, dtype=np.uint64)
            seed = ((int(high) << 32) | int(low)) ^ int(self.t_)
        return _train.EpochPlan(
            net,
            Xd,
            xs_data,
            xs_indptr,
            xs_indices,
            y_k,
            sw_k,
            float(self.alpha),
            batch_size,
            shuffle,
            seed,
        )

    def _fit_stochastic(self, X, y, sample_weight, incremental, callbacks=None, vset=None):
        params = self._params
        dtype = params.dtype
        n_params = params.shape[0]
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = _SGDState(
                    n_params,
                    dtype,
                    self.learning_rate_init,
                    self.learning_rate,
                    self.momentum,
                    self.nesterovs_momentum,
                    self.power_t,
                )
            else:
                self._optimizer = _AdamState(
                    n_params,
                    dtype,
                    self.learning_rate_init,
                    self.beta_1,
                    self.beta_2,
                    self.epsilon,
                )
        opt = self._optimizer
        self._check_optimizer(opt)  # it may come from a pickle, a file or an earlier fit

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping and vset is None:
            # (n, 1) booleans, exactly what MLPClassifier stratifies on; none for
            # multilabel targets or regression
            stratify = y if (is_classifier(self) and y.shape[1] == 1) else None
            if sample_weight is None:
                X_train, X_val, y_train, y_val = train_test_split(
                    X,
                    y,
                    random_state=self._random_state,
                    test_size=self.validation_fraction,
                    stratify=stratify,
                )
                sw_train = sw_val = None
            else:
                X_train, X_val, y_train, y_val, sw_train, sw_val = train_test_split(
                    X,
                    y,
                    sample_weight,
                    random_state=self._random_state,
                    test_size=self.validation_fraction,
                    stratify=stratify,
                )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            y_score = y_val
            if is_classifier(self):
                y_score = self._label_binarizer.inverse_transform(y_val)
            vset = ValidationSet(X_val, y_val, y_score, sw_val, dtype)
        else:
            X_train, y_train, sw_train = X, y, sample_weight

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=np.intp)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        if self._layout.batch_norm and (batch_size == 1 or n_samples % batch_size == 1):
            # as PyTorch: "Expected more than 1 value per channel when training"
            raise ValueError(
                f"batch_norm needs every training minibatch to have 2 rows or more; with "
                f"batch_size={batch_size} and {n_samples} training rows one minibatch has "
                f"1 row. Choose another batch_size"
            )

        # The network, the data and every buffer, described to the kernel once per fit.
        plan = self._epoch_plan(X_train, y_train, sw_train, batch_size, bool(self.shuffle))
        spec = opt.spec()
        # Ctrl-C reaches only the main thread: only there does the epoch poll for it.
        check_signals = threading.current_thread() is threading.main_thread()

        shuffled = _EpochShuffle(self._random_state) if self.shuffle else None
        try:
            self.n_iter_ = 0
            for it in range(self.max_iter):
                if callbacks is not None:
                    callbacks.begin_step("epoch")
                order = None
                if shuffled is not None:
                    order = sample_idx = shuffled(sample_idx)
                spec.learning_rate = opt.learning_rate  # the schedules change it
                accumulated_loss, _, error = _train.stochastic_epoch(
                    plan, spec, params, order, check_signals
                )
                opt.t = spec.t
                if error is not None:  # a signal handler raised between minibatches
                    raise error
                self.n_iter_ += 1
                self.loss_ = accumulated_loss / X_train.shape[0]
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                if not np.isfinite(self.loss_) and not early_stopping:
                    break  # diverged: no later epoch can recover; _fit raises
                # (with early stopping the epochs go on, as scikit-learn's: the
                # validation score is NaN and the best weights are restored)

                if vset is not None:
                    self._record_validation(vset)
                self._update_no_improvement_count(early_stopping)
                opt.iteration_ends(self.t_)
                if callbacks is not None and callbacks.end_step(self._params):
                    break  # a callback asked to stop

                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs." % (self.tol, self.n_iter_no_change)
                        )
                    if opt.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break

                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")

        if early_stopping:
            # Restore the best weights. Afterwards the "best" weights are the live
            # ones (MLPClassifier aliases the lists), until a better score is seen.
            if self._best_params is not None:
                params[...] = self._best_params
            self._best_params = None

    def _begin_validation_curves(self, given, first_pass):
        """Start (or, warm, continue) validation_scores_ and validation_loss_curve_.

        They are lists when a validation set is scored (a given one, or
        sgd/adam's early-stopping split), else None (sgd/adam) or absent
        (lbfgs, as MLPClassifier's validation_scores_).
        """
        stochastic = self.solver in ("sgd", "adam")
        scored = given or (stochastic and self.early_stopping)
        if first_pass and (stochastic or given):
            self.validation_loss_curve_ = [] if scored else None
        if scored:
            for name in ("validation_scores_", "validation_loss_curve_"):
                if getattr(self, name, None) is None:
                    setattr(self, name, [])

    def _record_validation(self, vset):
        """Append the validation set's score and loss at the current weights (one forward pass)."""
        z = self._decision_validated(vset.X)
        self.validation_loss_curve_.append(
            vset.loss(self._output_code(), z, self._net_spec().huber_delta)
        )
        self.validation_scores_.append(
            self._validation_score(vset.X, vset.y, vset.sample_weight, logits=z)
        )
        if self.verbose:
            print("Validation score: %f" % self.validation_scores_[-1])

    def _update_no_improvement_count(self, early_stopping):
        if early_stopping:
            last_valid_score = self.validation_scores_[-1]
            if last_valid_score < (self.best_validation_score_ + self.tol):
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last_valid_score > self.best_validation_score_:
                self.best_validation_score_ = last_valid_score
                self._best_params = self._params.copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _validation_score(self, X, y, sample_weight, logits):
        """The validation score of the network whose logits on X are `logits` (overwritten)."""
        if self.scoring is None:  # MLPClassifier's / MLPRegressor's _score, NaN if non-finite
            y_pred = self._finish_predict(self._output(logits))
            if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
                return np.nan
            return self._default_score(y, y_pred, sample_weight=sample_weight)
        scorer = check_scoring(self, scoring=self.scoring)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        with warnings.catch_warnings():
            # X is the validated split (feature names were checked at fit entry)
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return float(scorer(self, X, y, **kwargs))

    def _fit_lbfgs(self, X, y, sample_weight, callbacks=None, vset=None):
        params = self._params
        dtype = params.dtype
        n_params = params.shape[0]
        plan = self._epoch_plan(X, y, sample_weight, X.shape[0], False)

        def loss_grad(packed):
            x = np.ascontiguousarray(packed, dtype=dtype)
            grad = np.empty(n_params, dtype=dtype)  # fresh: scipy keeps the last one
            return _train.loss_grad(plan, x, grad), grad

        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        scipy_callback = None
        if callbacks is not None:
            # scipy calls back after each iteration: end that iteration's subtask and
            # begin the next (the last one begun is never run; closed empty below)
            callbacks.begin_step("lbfgs-iter")
        if callbacks is not None or vset is not None:

            def scipy_callback(xk):
                if vset is not None:  # scored at this iteration's weights
                    params[...] = xk  # (the result overwrites them below)
                    self._record_validation(vset)
                if callbacks is not None:
                    callbacks.end_step(xk)
                    callbacks.begin_step("lbfgs-iter")

        # scipy's L-BFGS-B sums its dot products with the same BLAS as our kernels:
        # held at one thread, so the model does not depend on the thread count.
        _threadpool.hold()
        try:
            opt_res = scipy.optimize.minimize(
                loss_grad,
                params.copy(),
                method="L-BFGS-B",
                jac=True,
                callback=scipy_callback,
                options={
                    "maxfun": self.max_fun,
                    "maxiter": self.max_iter,
                    "gtol": self.tol,
                    **_get_additional_lbfgs_options_dict("iprint", iprint),
                },
            )
        finally:
            _threadpool.release()
        if _check_optimize_result is not None:
            self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        else:  # pragma: no cover
            self.n_iter_ = min(opt_res.nit, self.max_iter)
        if callbacks is not None:
            callbacks.end_step(None)
        self.loss_ = opt_res.fun
        params[...] = opt_res.x
