"""DenseBinaryClassifier: scikit-learn's MLPClassifier for binary targets, fast.

The estimator follows ``sklearn.neural_network.MLPClassifier`` step by step
(initialisation, shuffling, validation split, batches, loss, L2 scaling,
optimizer rules, stopping rules, messages), so the same ``random_state``,
data and hyperparameters give the same model up to floating-point rounding.
The work per epoch (sgd/adam) or per loss evaluation (lbfgs) is one nogil
call into ``fastdense._train``; Python only runs the per-epoch bookkeeping.

All parameters live in one flat buffer laid out as scikit-learn's ``_pack``
(coefs raveled in (n_in, n_out) order, then intercepts); ``coefs_`` and
``intercepts_`` are views of it.
"""

import threading
import warnings
from operator import is_
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Dict

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, check_scoring, get_scorer_names
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _train, _version
from ._validation import MAX_BLAS_DIM as _MAX_BLAS_DIM, warn_if_other_version
from ._kernels import ACTIVATION_CODES as _ACTIVATION_CODES
from . import _fast_input
from ._network import as_float_array, check_network, check_optimizer_state

if TYPE_CHECKING:  # pragma: no cover
    from . import nn

try:  # scikit-learn's helpers, so messages and iteration counts match MLPClassifier
    from sklearn.utils.optimize import _check_optimize_result
except ImportError:  # pragma: no cover
    _check_optimize_result = None
try:  # scikit-learn >= 1.9: the callback protocol (ProgressBar, ScoringMonitor, ...)
    from sklearn.callback import CallbackSupportMixin as _CallbackSupportMixin
except ImportError:  # pragma: no cover - older scikit-learn: no callbacks, fit unchanged
    class _CallbackSupportMixin:  # type: ignore[no-redef]
        pass
try:
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover
    def _get_additional_lbfgs_options_dict(key, value):
        return {}

__all__ = ["DenseBinaryClassifier"]

_CLASS_WEIGHT_CONSTRAINT = [None, dict, list, StrOptions({"balanced"})]

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_LEAKY_RELU_SLOPE = 0.01  # torch.nn.LeakyReLU's default negative_slope
_MAX_LAYERS = _train.MAX_WEIGHT_LAYERS  # the kernels keep per-layer pointers on the stack
# Rows per predict chunk: about this many activations live at once.
_PREDICT_CHUNK_ELEMENTS = 1 << 18

_DIVERGED_HINT = (
    " Training diverged (stopped after {} iterations); lower learning_rate_init,"
    " scale the features (e.g. StandardScaler) or use dtype='float64'."
)
_NAN_OUTPUT = (
    "The network's output is NaN: its weights are not finite (a diverged fit?) or"
    " the input overflowed. Refit with a lower learning_rate_init or scaled features."
)
_BINARY_ONLY = (
    "Only binary classification is supported. DenseBinaryClassifier got a {} "
    "target; use sklearn.neural_network.MLPClassifier (or one-vs-rest) for it."
)


def _shuffled(idx, random_state):
    """``sklearn.utils.shuffle(idx, random_state=random_state)``: the same draw
    (``random_state.shuffle(arange(n))``, then take), without its per-call
    checks, which cost more than the epoch itself on small data."""
    order = np.arange(idx.shape[0], dtype=np.intp)
    random_state.shuffle(order)
    return idx[order]


def _kernel_activation(name):
    try:
        return _ACTIVATION_CODES[name]
    except (KeyError, TypeError):  # e.g. an edited or unpickled `activation`
        raise ValueError(
            f"activation={name!r} is not one of {sorted(_ACTIVATION_CODES)}"
        ) from None


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


class _Callbacks:
    """scikit-learn's callback protocol for one fit: a root task, one subtask per step.

    Created only when scikit-learn has callbacks (>= 1.9); the per-step
    subtasks are created only when callbacks are set, so a fit without
    callbacks pays for one root context and nothing per epoch.
    """

    def __init__(self, estimator, ctx, X, y, metadata):
        self.estimator = estimator
        self.ctx = ctx
        self.X, self.y, self.metadata = X, y, metadata
        self.active = bool(getattr(estimator, "_skl_callbacks", None))
        self.step_ctx = None

    @classmethod
    def begin(cls, estimator, X, y, sample_weight, max_subtasks):
        if not hasattr(estimator, "_init_callback_context"):
            return None
        ctx = estimator._init_callback_context(max_subtasks=max_subtasks)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
        return cls(estimator, ctx, X, y, metadata)

    def _attributes(self, flat):
        """coefs_/intercepts_ copies from a flat parameter vector (for ``fitted_estimator``)."""
        est = self.estimator
        units = [int(u) for u in est._units]
        flat = np.asarray(flat, dtype=est._params.dtype)
        coefs = [flat[o:o + a * b].reshape(a, b).copy()
                 for o, a, b in zip(est._coef_off, units[:-1], units[1:])]
        intercepts = [flat[o:o + b].copy() for o, b in zip(est._icpt_off, units[1:])]
        return {"coefs_": coefs, "intercepts_": intercepts}

    def begin_step(self, name):
        if self.active:
            self.step_ctx = self.ctx.subcontext(task_name=name)
            self.step_ctx.call_on_fit_task_begin(
                estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata)

    def end_step(self, flat):
        """End the current subtask; True if a callback asks to stop. `flat` None: an empty task."""
        if not self.active or self.step_ctx is None:
            return False
        ctx, self.step_ctx = self.step_ctx, None
        if flat is None:
            return bool(ctx.call_on_fit_task_end(estimator=self.estimator))
        return bool(ctx.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=lambda: self._attributes(flat)))

    def end_fit(self):
        self.ctx.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes={})


class _DenseBase(_CallbackSupportMixin, BaseEstimator):
    """The shared core of the estimators: parameters, solvers, the epoch loop, predict.

    Subclasses own their targets (``_validate_input``), their output layer
    (``_output_activation``), their validation score and their public
    predict methods; everything here is scikit-learn's
    ``BaseMultilayerPerceptron``, run by the compiled loops of ``_train``.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": [None, StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
        "scoring": [None, StrOptions(set(get_scorer_names())), callable],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
        class_weight=None,
        scoring=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.class_weight = class_weight
        self.scoring = scoring

    # ------------------------------------------------------------ parameters

    def _bind_views(self, params, layout):
        """Make coefs_/intercepts_ views of the flat buffer `params`.

        `layout` is a ``_train.Layout`` or the layer widths to build one from.
        """
        if not isinstance(layout, _train.Layout):
            layout = _train.Layout(layout)
        if params.ndim != 1 or params.shape[0] != layout.n_params:  # pragma: no cover
            raise ValueError(f"flat buffer of {params.shape} for {layout.n_params} parameters")
        self._params = params
        self._layout = layout
        units, coef_off, icpt_off = layout.units, layout.coef_off, layout.icpt_off
        self._units, self._coef_off, self._icpt_off = units, coef_off, icpt_off
        layer_units = self._units_list = [int(u) for u in units]  # returned by _flat_params
        self._n_in = layer_units[0]  # the width the kernels read from each row of X
        self._width = layout.width  # activations per row, for predict's chunks
        self.coefs_ = [
            params[o:o + a * b].reshape(a, b)
            for o, a, b in zip(coef_off, layer_units[:-1], layer_units[1:])
        ]
        self.intercepts_ = [params[o:o + b] for o, b in zip(icpt_off, layer_units[1:])]
        # what we handed out, to notice cheaply when the user replaced an array
        self._views = (self.coefs_, self.intercepts_, tuple(self.coefs_),
                       tuple(self.intercepts_))

    def _flat_params(self):
        """The flat parameter buffer, re-packed if coefs_/intercepts_ were replaced.

        Returns (params, layer_units). Replacing ``coefs_``, one of its arrays,
        or an intercept (as MLPClassifier users sometimes do) is honoured:
        the arrays are packed into a new flat buffer that they then view.
        """
        views = getattr(self, "_views", None)
        if (
            getattr(self, "_params", None) is not None and views is not None
            and self.coefs_ is views[0] and self.intercepts_ is views[1]
            and len(self.coefs_) == len(views[2]) and len(self.intercepts_) == len(views[3])
            and all(map(is_, self.coefs_, views[2]))
            and all(map(is_, self.intercepts_, views[3]))
        ):
            return self._params, self._units_list
        coefs, intercepts = self._edited_network()
        params = np.concatenate([a.ravel() for a in coefs + intercepts])
        self._bind_views(params, self._checked_units(coefs, intercepts))
        return params, self._units_list

    def _edited_network(self):
        """coefs_ / intercepts_ as the user left them, numeric arrays cast to the fitted dtype.

        Casting keeps what an edit like ``coefs_[0] = np.zeros(...)`` meant;
        anything that is not a list of numeric arrays is a TypeError, and the
        shapes are proven by :meth:`_checked_units`.
        """
        dtype = np.dtype(getattr(self, "_fit_dtype", np.float64))
        lists = []
        for name in ("coefs_", "intercepts_"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{name} must be a list of arrays; got {type(value).__name__}")
            arrays = [as_float_array(a, f"{name}[{i}]", dtype, cast_floats=True)
                      for i, a in enumerate(value)]
            lists.append(arrays)
        return lists[0], lists[1]

    def _checked_units(self, coefs, intercepts):
        """The layer widths of a network proven consistent with this estimator (or ValueError)."""
        n_features = getattr(self, "n_features_in_", None)
        units, _ = check_network(
            coefs, intercepts, n_outputs=getattr(self, "n_outputs_", None),
            max_layers=_MAX_LAYERS - 1,
            dtype=getattr(self, "_fit_dtype", None),
            n_features=None if n_features is None else int(n_features),
        )
        return units

    def __setstate__(self, state):
        state = dict(state)
        warn_if_other_version(state.pop("_fastdense_version", None), type(self).__name__)
        # what the kernels index is rebuilt from coefs_ / intercepts_, never taken as given
        for private in ("_params", "_views", "_layout", "_units", "_coef_off", "_icpt_off",
                        "_n_in", "_units_list", "_width"):
            state.pop(private, None)
        super().__setstate__(state)
        if "coefs_" in state:  # re-link the unpickled arrays to one flat buffer, proven
            self._params = None
            self._views = None
            self._flat_params()
            self._check_fitted_state()

    def _check_fitted_state(self):
        """The fitted attributes beside the weights agree with them (unpickling, loading)."""
        self._check_targets_state()
        if getattr(self, "out_activation_", None) != self._output_activation():
            raise ValueError(f"out_activation_ is {getattr(self, 'out_activation_', None)!r}; "
                             f"this network needs {self._output_activation()!r}")
        _kernel_activation(self.activation)
        opt = getattr(self, "_optimizer", None)
        if opt is not None:
            for name in ("state1", "state2"):  # a read-only memmap (joblib) is copied:
                arr = getattr(opt, name, None)  # the kernels update the state in place
                if isinstance(arr, np.ndarray) and not arr.flags.writeable:
                    setattr(opt, name, np.array(arr))
            self._check_optimizer(opt)

    def _check_optimizer(self, opt):
        """An optimizer state that partial_fit / warm_start may hand to the kernel."""
        if type(opt) not in (_SGDState, _AdamState):
            raise ValueError(f"the fitted optimizer state is a {type(opt).__name__}; "
                             "expected scikit-learn's SGD or Adam state")
        check_optimizer_state(opt.state1, opt.state2, n_params=self._params.shape[0],
                              dtype=self._params.dtype,
                              kind="adam" if type(opt) is _AdamState else "sgd")

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        state.pop("_params", None)  # coefs_/intercepts_ carry the weights
        state.pop("_views", None)
        state.pop("_layout", None)  # compiled, rebuilt on load
        state.pop("_own_random_state", None)  # a private shortcut, rebuilt on the next fit
        state["_fastdense_version"] = _version.__version__
        return state

    # ------------------------------------------------------------------ input

    def _validate_params(self):
        # scikit-learn's check, with its constraint objects built once per class
        # (a third of a small fit's set-up); its own validation gives any error
        if not _fast_input.params_valid(self):
            super()._validate_params()

    @classmethod
    def _get_param_names(cls):
        # the __init__ signature, read once per class (get_params runs on every fit)
        return _fast_input.param_names(cls, super()._get_param_names)

    def _dtype_spec(self):
        if self.dtype is None:
            return (np.float64, np.float32)
        return np.dtype(self.dtype).type

    def _sample_weight(self, sample_weight, X, y_raw, incremental):
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if getattr(self, "class_weight", None) is None:
            return sample_weight
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported in partial_fit: the class "
                "frequencies of the whole data are unknown. Compute the weights once "
                "with sklearn.utils.class_weight.compute_class_weight and pass a dict."
            )
        cw = compute_sample_weight(self.class_weight, y_raw).astype(X.dtype, copy=False)
        return cw if sample_weight is None else sample_weight * cw

    @staticmethod
    def _kernel_X(X, dtype):
        """(dense 2-D C array, CSR data, CSR indptr, CSR indices) for the kernels."""
        empty_i = np.zeros(0, dtype=np.intp)
        if sp.issparse(X):
            # scipy builds a CSR from user arrays without checking the indices; the
            # sparse kernel indexes the weights with them, so prove them in range first
            X.check_format(full_check=True)
            X = X.tocsr()
            data = np.ascontiguousarray(X.data, dtype=dtype)
            indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
            indices = np.ascontiguousarray(X.indices, dtype=np.intp)
            if indptr.shape[0] == 0:  # never: a CSR has n + 1 row pointers
                indptr = np.zeros(1, dtype=np.intp)
            dense = np.zeros((0, X.shape[1]), dtype=dtype)
            return dense, data, indptr, indices
        return (np.ascontiguousarray(X, dtype=dtype), np.zeros(0, dtype=dtype),
                empty_i, empty_i)

    def _net_spec(self, output=0):
        """The network as the kernels run it, with the current ``activation``."""
        return _train.NetSpec(self._layout, _kernel_activation(self.activation),
                              _LEAKY_RELU_SLOPE, output)

    def _epoch_plan(self, X, y, sample_weight, batch_size, shuffle):
        """The compiled loops' description of one fit: network, data, scratch buffers."""
        dtype = self._params.dtype
        Xd, xs_data, xs_indptr, xs_indices = self._kernel_X(X, dtype)
        y_k = np.ascontiguousarray(y.reshape(y.shape[0], self._units_list[-1]), dtype=dtype)
        sw_k = (np.zeros(0, dtype=dtype) if sample_weight is None
                else np.ascontiguousarray(sample_weight, dtype=dtype))
        net = self._net_spec(_train.OUTPUT_CODES[self.out_activation_])
        return _train.EpochPlan(net, Xd, xs_data, xs_indptr, xs_indices, y_k, sw_k,
                                float(self.alpha), batch_size, shuffle)

    # ------------------------------------------------------------------- fit

    def _initialize(self, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = int(layer_units[-1])
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        self._fit_dtype = np.dtype(dtype)
        layout = _train.Layout(layer_units)
        params = np.empty(layout.n_params, dtype=dtype)
        self._bind_views(params, layout)
        # Glorot uniform, coefs then intercepts per layer, as MLPClassifier draws them.
        factor = 2.0 if self.activation == "logistic" else 6.0
        for i in range(self.n_layers_ - 1):
            fan_in, fan_out = layer_units[i], layer_units[i + 1]
            bound = np.sqrt(factor / (fan_in + fan_out))
            self.coefs_[i][...] = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            self.intercepts_[i][...] = self._random_state.uniform(-bound, bound, fan_out)
        self._best_params = params.copy()
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        bad = [h for h in hidden_layer_sizes
               if isinstance(h, (bool, np.bool_)) or not isinstance(h, Integral)]
        if bad:  # MLPClassifier raises TypeError for these too (from np.zeros)
            raise TypeError(
                f"hidden_layer_sizes must be integers; got {self.hidden_layer_sizes!r} "
                f"({bad[0]!r} is a {type(bad[0]).__name__})"
            )
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
        if len(hidden_layer_sizes) + 1 > _MAX_LAYERS:
            raise ValueError(
                f"at most {_MAX_LAYERS - 1} hidden layers are supported; got "
                f"{len(hidden_layer_sizes)}"
            )
        hidden_layer_sizes = [int(h) for h in hidden_layer_sizes]
        self._check_blas_sizes(X, hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        X, y, y_raw = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X, y_raw, incremental)
        n_features = X.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [y.shape[1]]
        self._random_state = self._seeded_random_state()

        if first_pass:
            self._initialize(layer_units, X.dtype)
        else:
            params, units_before = self._flat_params()
            if units_before != layer_units:
                raise ValueError(
                    f"warm_start/partial_fit need the same network shape: fitted "
                    f"layer sizes {units_before}, now {layer_units}"
                )
            if params.dtype != X.dtype:
                X = X.astype(params.dtype)
                if sample_weight is not None:
                    sample_weight = sample_weight.astype(params.dtype)

        if self.solver in _STOCHASTIC_SOLVERS:
            max_subtasks = 1 if incremental else self.max_iter
        else:  # one subtask per L-BFGS iteration, plus the one scipy never runs
            max_subtasks = self.max_iter + 1
        callbacks = _Callbacks.begin(self, X, y_raw, sample_weight, max_subtasks)

        epochs_before = len(getattr(self, "loss_curve_", None) or ())
        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, y, sample_weight, layer_units, incremental, callbacks)
        else:
            self._fit_lbfgs(X, y, sample_weight, layer_units, callbacks)

        if not np.isfinite(self._params).all():
            # inf -> NaN: any NaN weight makes every output NaN, which predict refuses
            self._params[~np.isfinite(self._params)] = np.nan
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
                + _DIVERGED_HINT.format(self.n_iter_)
                + " The estimator refuses to predict with these weights."
            )
        loss = getattr(self, "loss_", None)  # none yet if interrupted in epoch 1
        if loss is not None and not np.isfinite(loss) and not (
                self.early_stopping and self.solver in _STOCHASTIC_SOLVERS):
            raise ValueError(
                f"Solver produced a non-finite loss ({loss})."
                + _DIVERGED_HINT.format(self.n_iter_)
            )
        # this call's epochs only: an earlier fit on other labels says nothing of this run
        curve = getattr(self, "loss_curve_", None) if self.solver != "lbfgs" else None
        curve = curve[epochs_before:] if curve else None
        if curve and curve[-1] > 1.0 and curve[-1] > 4 * min(curve):
            # finite but blown up: worse than a constant guess and far above the best epoch
            warnings.warn(
                f"Training diverged: the loss rose from {min(curve):.4g} to "
                f"{curve[-1]:.4g}. Lower learning_rate_init or scale the features.",
                ConvergenceWarning,
            )
        if callbacks is not None:
            callbacks.end_fit()
        return self

    def _seeded_random_state(self):
        """``check_random_state(self.random_state)``, as scikit-learn's MLP calls it on every fit.

        For an integer seed, the generator this estimator made for the last
        call is re-seeded instead of replaced: ``RandomState.seed(seed)``
        leaves the very state ``RandomState(seed)`` starts from, without the
        ~0.1 ms of building a new MT19937 (a fixed cost of every fit and
        partial_fit). Only a generator the estimator made itself, and no one
        else holds, is ever re-seeded -- never the global one or a user's.
        """
        seed, own = self.random_state, self.__dict__.get("_own_random_state")
        if (own is not None and own is self.__dict__.get("_random_state")
                and isinstance(seed, Integral)):
            own.seed(seed)
            return own
        rng = check_random_state(seed)
        self._own_random_state = rng if isinstance(seed, Integral) else None
        return rng

    def _check_blas_sizes(self, X, hidden_layer_sizes):
        """Reject sizes BLAS's 32-bit ints cannot take, before any copy or allocation."""
        shape = getattr(X, "shape", None)
        if shape is None or len(shape) != 2:
            return  # validate_data gives the error (or converts a list)
        n_samples, n_features = (int(d) for d in shape)
        if n_features > _MAX_BLAS_DIM:
            raise ValueError(
                f"X has {n_features} features; at most {_MAX_BLAS_DIM} are supported "
                "(BLAS takes 32-bit sizes)"
            )
        widest = max(hidden_layer_sizes, default=0)
        if widest > _MAX_BLAS_DIM:
            raise ValueError(
                f"hidden_layer_sizes has a layer of {widest} units; at most "
                f"{_MAX_BLAS_DIM} are supported (BLAS takes 32-bit sizes)"
            )
        if self.solver == "lbfgs" and n_samples > _MAX_BLAS_DIM:
            raise ValueError(
                f"solver='lbfgs' computes on all {n_samples} rows at once; at most "
                f"{_MAX_BLAS_DIM} are supported (BLAS takes 32-bit sizes). Use "
                "solver='adam' or 'sgd' (minibatches) for more rows"
            )
        if (self.solver != "lbfgs" and self.batch_size != "auto"
                and min(int(self.batch_size), n_samples) > _MAX_BLAS_DIM):
            raise ValueError(
                f"batch_size={self.batch_size} exceeds {_MAX_BLAS_DIM}, the largest "
                "size BLAS takes"
            )

    def _fit_stochastic(self, X, y, sample_weight, layer_units, incremental, callbacks=None):
        params = self._params
        dtype = params.dtype
        n_params = params.shape[0]
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = _SGDState(
                    n_params, dtype, self.learning_rate_init, self.learning_rate,
                    self.momentum, self.nesterovs_momentum, self.power_t,
                )
            else:
                self._optimizer = _AdamState(
                    n_params, dtype, self.learning_rate_init, self.beta_1,
                    self.beta_2, self.epsilon,
                )
        opt = self._optimizer
        self._check_optimizer(opt)  # it may come from a pickle, a file or an earlier fit

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            # (n, 1) booleans, exactly what MLPClassifier stratifies on; none for
            # multilabel targets or regression
            stratify = y if (is_classifier(self) and y.shape[1] == 1) else None
            if sample_weight is None:
                X_train, X_val, y_train, y_val = train_test_split(
                    X, y, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify,
                )
                sw_train = sw_val = None
            else:
                X_train, X_val, y_train, y_val, sw_train, sw_val = train_test_split(
                    X, y, sample_weight, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify,
                )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, sw_train = X, y, sample_weight
            X_val = y_val = sw_val = None

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

        # The network, the data and every buffer, described to the kernel once per fit.
        plan = self._epoch_plan(X_train, y_train, sw_train, batch_size, bool(self.shuffle))
        spec = opt.spec()
        # Ctrl-C reaches only the main thread: only there does the epoch poll for it.
        check_signals = threading.current_thread() is threading.main_thread()

        try:
            self.n_iter_ = 0
            for it in range(self.max_iter):
                if callbacks is not None:
                    callbacks.begin_step("epoch")
                order = None
                if self.shuffle:
                    order = sample_idx = _shuffled(sample_idx, self._random_state)
                spec.learning_rate = opt.learning_rate  # the schedules change it
                accumulated_loss, _, error = _train.stochastic_epoch(
                    plan, spec, params, order, check_signals)
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

                self._update_no_improvement_count(early_stopping, X_val, y_val, sw_val)
                opt.iteration_ends(self.t_)
                if callbacks is not None and callbacks.end_step(self._params):
                    break  # a callback asked to stop

                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    if opt.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break

                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter,
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

    def _update_no_improvement_count(self, early_stopping, X, y, sample_weight):
        if early_stopping:
            val_score = self._validation_score(X, y, sample_weight)
            self.validation_scores_.append(val_score)
            if self.verbose:
                print("Validation score: %f" % self.validation_scores_[-1])
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

    def _validation_score(self, X, y, sample_weight):
        if self.scoring is None:  # MLPClassifier's / MLPRegressor's _score, NaN if non-finite
            y_pred = self._predict_validated(X)
            if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
                return np.nan
            return self._default_score(y, y_pred, sample_weight=sample_weight)
        scorer = check_scoring(self, scoring=self.scoring)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        with warnings.catch_warnings():
            # X is the validated split (feature names were checked at fit entry)
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return float(scorer(self, X, y, **kwargs))

    def _fit_lbfgs(self, X, y, sample_weight, layer_units, callbacks=None):
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

            def scipy_callback(xk):
                callbacks.end_step(xk)
                callbacks.begin_step("lbfgs-iter")

        opt_res = scipy.optimize.minimize(
            loss_grad, params.copy(), method="L-BFGS-B", jac=True, callback=scipy_callback,
            options={
                "maxfun": self.max_fun,
                "maxiter": self.max_iter,
                "gtol": self.tol,
                **_get_additional_lbfgs_options_dict("iprint", iprint),
            },
        )
        if _check_optimize_result is not None:
            self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        else:  # pragma: no cover
            self.n_iter_ = min(opt_res.nit, self.max_iter)
        if callbacks is not None:
            callbacks.end_step(None)
        self.loss_ = opt_res.fun
        params[...] = opt_res.x

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data (CSR/CSC sparse input runs a sparse first layer).

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets: class labels (or a label indicator matrix) for the
            classifiers, real values for the regressor.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (multiplied by the ``class_weight`` weights).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    # --------------------------------------------------------------- predict

    def _decision_validated(self, X, params=None):
        """The logits (n, n_outputs) of an already validated X, forward in row chunks."""
        if params is None:
            params, _ = self._flat_params()
        dtype = params.dtype
        if X.ndim != 2 or X.shape[1] != self._n_in:
            raise ValueError(
                f"X has {X.shape[1] if X.ndim == 2 else X.shape} features, but the network's "
                f"first layer (coefs_[0]) takes {self._n_in}; was n_features_in_ edited?"
            )
        Xd, xs_data, xs_indptr, xs_indices = self._kernel_X(X, dtype)
        n = X.shape[0]
        out = np.empty((n, self._units_list[-1]), dtype=dtype)
        width = self._width
        chunk = int(max(1, min(max(n, 1), _PREDICT_CHUNK_ELEMENTS // width)))
        acts = np.empty(chunk * width, dtype=dtype)
        _train.decision_function(
            self._net_spec(), Xd, xs_data, xs_indptr, xs_indices, n, params, acts, chunk,
            out.reshape(-1),
        )
        return out

    def _predict_fast(self, X, binary_proba=False):
        """The logits (or, with `binary_proba`, the (n, 2) probabilities) in one compiled call.

        For the common call only: a C-ordered ndarray of the fitted dtype and
        width, with no feature names in play, finite (proven in the same
        call). These are the checks validate_data would make, without its
        fixed cost (most of the time of a small prediction). None for
        anything else, for non-finite X and for NaN logits: the caller then
        takes the full path, which raises the proper errors.
        """
        if not (type(X) is np.ndarray and X.ndim == 2 and X.shape[0] > 0
                and X.flags.c_contiguous and "feature_names_in_" not in self.__dict__
                and getattr(self, "_params", None) is not None
                and X.shape[1] == self.__dict__.get("n_features_in_")):
            return None
        params, units = self._flat_params()
        if X.dtype != params.dtype or X.shape[1] != self._n_in:
            return None
        n, width = X.shape[0], self._width
        chunk = max(1, min(n, _PREDICT_CHUNK_ELEMENTS // width))
        out = np.empty((n, 2 if binary_proba else units[-1]), dtype=params.dtype)
        status = _train.predict_dense(
            self._net_spec(), X, params, np.empty(chunk * width, dtype=params.dtype), chunk,
            out, binary_proba)
        return None if status else out

    def _validated_decision(self, X):
        z = self._predict_fast(X)
        if z is not None:
            return z
        check_is_fitted(self)
        params, _ = self._flat_params()
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                          dtype=params.dtype)
        z = self._decision_validated(X, params)
        if np.isnan(z).any():  # never a silent constant prediction from NaN weights
            raise ValueError(_NAN_OUTPUT)
        return z

    @property
    def module_(self) -> "nn.Sequential":
        """The fitted network as a :class:`fastdense.nn.Sequential`, in PyTorch's layout.

        ``Linear(n_in, n_out)`` layers with ``weight = coefs_[i].T`` and
        ``bias = intercepts_[i]``, each hidden one followed by its activation
        module (``nn.Identity`` for ``"identity"``), and no output sigmoid:
        ``module_(X)`` is the output layer's pre-activation (the logits), an
        (n, n_outputs) tensor. Its
        ``state_dict()`` loads into the equivalent ``torch.nn.Sequential``.
        Built anew (a copy of the weights) on each access, so it always matches
        the current ``coefs_``; building it does not consume the random stream
        of :func:`fastdense.manual_seed`.
        """
        check_is_fitted(self, "coefs_")
        self._flat_params()  # prove an edited coefs_ / intercepts_ first
        from . import nn
        from ._random import default_generator

        activations: Dict[str, Any] = {
            "relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid,
            "identity": nn.Identity, "leaky_relu": lambda: nn.LeakyReLU(_LEAKY_RELU_SLOPE),
        }
        generator = default_generator()
        saved = generator.bit_generator.state
        try:
            layers = []
            for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
                linear = nn.Linear(W.shape[0], W.shape[1], dtype=W.dtype)
                linear.load_state_dict({"weight": W.T, "bias": b})
                layers.append(linear)
                if i < len(self.coefs_) - 1:
                    layers.append(activations[self.activation]())
        finally:
            generator.bit_generator.state = saved
        net = nn.Sequential(*layers)
        net.eval()
        return net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

def _softmax(z):
    """scikit-learn's inplace_softmax on a copy-free (n, k) array, step by step."""
    tmp = z - z.max(axis=1)[:, np.newaxis]
    np.exp(tmp, out=z)
    z /= z.sum(axis=1)[:, np.newaxis]
    return z


class _ClassifierCore(ClassifierMixin, _DenseBase):
    """What the classifiers share: labels, class weights, the logistic/softmax output."""

    _parameter_constraints: dict = {
        **_DenseBase._parameter_constraints,
        "class_weight": _CLASS_WEIGHT_CONSTRAINT,
    }
    _binary_only = False

    def _output_activation(self):
        # MLPClassifier: softmax for multi-class, a logistic unit per output otherwise
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    @staticmethod
    def _default_score(y, y_pred, sample_weight=None):
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def _check_targets_state(self):
        classes = getattr(self, "classes_", None)
        binarizer = getattr(self, "_label_binarizer", None)
        if classes is None or np.ndim(classes) != 1 or len(classes) < 2:
            raise ValueError(f"classes_ must hold at least 2 classes; got {classes!r}")
        if not isinstance(binarizer, LabelBinarizer) or not np.array_equal(
                getattr(binarizer, "classes_", None), classes):
            raise ValueError("the fitted label binarizer does not match classes_")
        y_type = getattr(binarizer, "y_type_", None)
        n_out = 1 if y_type == "binary" else len(classes)
        if y_type not in ("binary", "multiclass", "multilabel-indicator") or (
                self._binary_only and y_type != "binary"):
            raise ValueError(f"the fitted label binarizer has target type {y_type!r}")
        if getattr(self, "n_outputs_", None) != n_out:
            raise ValueError(f"n_outputs_ must be {n_out} for {len(classes)} classes "
                             f"({y_type}); got {getattr(self, 'n_outputs_', None)!r}")

    def _validate_input(self, X, y, incremental, reset):
        fast = self._fast_input(X, y, incremental, reset)
        if fast is not None:
            return fast
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=self._dtype_spec(), reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y")
        if self._binary_only and y_type != "binary":
            raise ValueError(_BINARY_ONLY.format(y_type))
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        y_raw = y
        # This downcast to bool is to prevent upcasting when working with float32 data
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y, y_raw

    def _fast_input(self, X, y, incremental, reset):
        """What :meth:`_validate_input` returns, for the common input only; else None.

        A 1-d numeric y of a binary (or, for DenseClassifier, multiclass)
        target and a float ndarray X (see :mod:`fastdense._fast_input`); the
        label binarizer is built as ``LabelBinarizer().fit(y)`` builds it.
        """
        y = _fast_input.numeric_targets(y, getattr(X, "shape", (None,))[0], allow_2d=False)
        if y is None:
            return None
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            classes = _fast_input.class_labels(y)
            if classes is None or (self._binary_only and classes.shape[0] > 2):
                return None
            binarizer = None
        else:
            binarizer = getattr(self, "_label_binarizer", None)
            if type(binarizer) is not LabelBinarizer or binarizer.y_type_ not in (
                    "binary", "multiclass"):
                return None
            classes = binarizer.classes_
            if self.warm_start and not np.array_equal(np.unique(y), classes):
                return None  # the full path raises warm_start's error
        y_bin = _fast_input.binarized(y, classes)
        if y_bin is None:
            return None
        X = _fast_input.features(self, X, self._dtype_spec(), reset)
        if X is None:
            return None
        if binarizer is None:  # the attributes LabelBinarizer.fit sets, for this y
            binarizer = LabelBinarizer()
            binarizer.y_type_ = "binary" if classes.shape[0] == 2 else "multiclass"
            binarizer.sparse_input_ = False
            binarizer.classes_ = classes
            self._label_binarizer = binarizer
            self.classes_ = classes
        return X, y_bin, y


    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> Any:
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels (a label indicator matrix for multilabel targets).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call, may be omitted later.
            (MLPClassifier's order: ``partial_fit(X, y, sample_weight, classes)``.)

        Returns
        -------
        self : object
            The updated estimator.
        """
        if self._binary_only and classes is not None and not hasattr(self, "classes_"):
            n_classes = len(unique_labels(classes))
            if n_classes > 2:
                raise ValueError(_BINARY_ONLY.format(f"{n_classes}-class"))
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                if self._binary_only:
                    raise ValueError(_BINARY_ONLY.format(type_of_target(y)))
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)


    def _output(self, z):
        """The output layer's activation of the logits z (n, n_outputs), as MLPClassifier's."""
        if self.out_activation_ == "softmax":
            return _softmax(z)
        return expit(z, out=z)

    def _predict_validated(self, X):
        y_pred = self._output(self._decision_validated(X))
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _proba(self, X):
        y_pred = self._output(self._validated_decision(X))
        if self.n_outputs_ == 1:
            p = y_pred.ravel()
            return np.vstack([1 - p, p]).T
        return y_pred

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes (a label indicator matrix for multilabel targets).
        """
        y_pred = self._output(self._validated_decision(X))
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability estimates, one column per class of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Column j is the probability of ``classes_[j]`` (for multilabel
            targets, of label j independently of the others).
        """
        return self._proba(X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of the probability estimates, ``np.log(predict_proba(X))`` as MLPClassifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probability of each class of ``classes_``.
        """
        y_prob = self._proba(X)
        return np.log(y_prob, out=y_prob)


class DenseBinaryClassifier(_ClassifierCore):
    """Multi-layer perceptron for binary classification, trained in compiled code.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`
    on binary targets: the same parameters with the same defaults and
    meanings, the same fitted attributes, and, in float64 with the same
    ``random_state``, the same model up to floating-point rounding. Each
    training epoch (``sgd``/``adam``) or loss evaluation (``lbfgs``) is a
    single call into a Cython+BLAS kernel that releases the GIL.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu'}, default='relu'
        Hidden-layer activation. ``'leaky_relu'`` (slope 0.01 for negative
        inputs, as ``torch.nn.LeakyReLU``) is an addition to MLPClassifier's set.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization, as in MLPClassifier.

    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size
        (the sum of sample weights) when added to the loss.

    batch_size : int or 'auto', default='auto'
        Minibatch size for the stochastic solvers; 'auto' is ``min(200, n_samples)``.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule for ``solver='sgd'``.

    learning_rate_init : float, default=0.001
        Initial learning rate (sgd and adam).

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs (sgd/adam) or iterations (lbfgs).

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch (sgd/adam).

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the early-stopping split and the
        shuffling, drawn in the same order as MLPClassifier.

    tol : float, default=1e-4
        Tolerance for the stopping rules.

    verbose : bool, default=False
        Whether to print progress messages to stdout (MLPClassifier's
        ``Iteration N, loss = ...`` lines). With scikit-learn >= 1.9,
        ``set_callbacks`` also takes scikit-learn's callbacks, e.g.
        ``clf.set_callbacks(sklearn.callback.ProgressBar())``: the fit is one
        task with one subtask per epoch (sgd/adam) or per iteration (lbfgs).

    warm_start : bool, default=False
        Reuse the previous solution as initialisation.

    momentum : float, default=0.9
        Momentum of ``solver='sgd'``.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum (sgd, momentum > 0).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified) and
        stop when the validation score stops improving (sgd/adam).

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.

    beta_1 : float, default=0.9
        Adam's first-moment decay rate.

    beta_2 : float, default=0.999
        Adam's second-moment decay rate.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    n_iter_no_change : int, default=10
        Number of epochs without ``tol`` improvement before stopping.

    max_fun : int, default=15000
        Maximum number of loss evaluations for ``solver='lbfgs'``.

    dtype : {None, 'float32', 'float64'}, default=None
        Floating type of the parameters and the computation. None keeps
        float32 input in float32 and uses float64 otherwise (as MLPClassifier).

    class_weight : dict, 'balanced' or None, default=None
        Weights per class, multiplied into ``sample_weight``; 'balanced' uses
        ``n_samples / (n_classes * np.bincount(y))``. Not available with
        'balanced' in :meth:`partial_fit`.

    scoring : str, callable or None, default=None
        Validation metric for early stopping: None is accuracy (as
        MLPClassifier); otherwise a scikit-learn scorer name (e.g.
        ``'roc_auc'``, ``'neg_log_loss'``) or a callable ``scorer(estimator,
        X, y)`` (called with ``sample_weight=`` when weights are given).
        Greater is better.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels.

    loss_ : float
        The current loss.

    best_loss_ : float or None
        The minimum training loss (None with early stopping).

    loss_curve_ : list of shape (n_iter_,)
        Loss at the end of each epoch (sgd/adam).

    validation_scores_ : list or None
        Validation score of each epoch with early stopping, else None.

    best_validation_score_ : float or None
        Best validation score with early stopping, else None.

    t_ : int
        Number of training samples seen by the solver.

    coefs_ : list of ndarray
        ``coefs_[i]`` is the (n_in, n_out) weight matrix of layer i + 1.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen during fit (string column names only).

    n_iter_ : int
        Number of epochs (sgd/adam) or iterations (lbfgs) run.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs (1).

    out_activation_ : str
        Output activation ('logistic').

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The reference implementation.

    Notes
    -----
    Differences from MLPClassifier: binary targets only; float32 input with
    ``solver='lbfgs'`` keeps float32 parameters (MLPClassifier returns float64
    ones); an edit of ``coefs_`` / ``intercepts_`` that breaks the network is
    a ``ValueError`` naming the array (see ``docs/from_mlpclassifier.md``).

    Persistence: a pickle (or ``joblib.dump``) of this estimator runs code when
    it is loaded, as every pickle does: load pickles only from sources you
    trust. ``fastdense.save`` / ``fastdense.load`` write and read a safetensors
    file instead, which runs no code and is read through a whitelist.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastdense import DenseBinaryClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), DenseBinaryClassifier(
    ...     hidden_layer_sizes=(16,), max_iter=300, random_state=0))
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> bool(cross_val_score(clf, X, y, cv=3).mean() > 0.8)
    True
    """

    _binary_only = True

    def _output_activation(self):
        return "logistic"

    def _check_targets_state(self):
        classes = getattr(self, "classes_", None)
        if classes is None or np.ndim(classes) != 1 or len(classes) != 2:
            raise ValueError(f"classes_ must hold the 2 classes of a binary target; got "
                             f"{classes!r}")
        super()._check_targets_state()

    def decision_function(self, X: Any) -> np.ndarray:
        """The logit of the positive class (``classes_[1]``) for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        z : ndarray of shape (n_samples,)
            The output layer's pre-activation; positive means ``classes_[1]``.
        """
        return self._validated_decision(X).ravel()

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted classes.
        """
        p = expit(self._validated_decision(X))
        return self._label_binarizer.inverse_transform(p)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability estimates for ``classes_[0]`` and ``classes_[1]``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Column j is the probability of ``classes_[j]``.
        """
        proba = self._predict_fast(X, binary_proba=True)
        if proba is not None:
            return proba
        p = expit(self._validated_decision(X)).ravel()
        proba = np.empty((p.shape[0], 2), dtype=p.dtype)
        proba[:, 1] = p
        np.subtract(1, p, out=proba[:, 0])
        return proba

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, 2)
            ``log(predict_proba(X))``, computed without rounding 1 - p to 0
            (finite for any finite logit).
        """
        # log(expit(+-z)) computed as such: finite where 1 - p rounds to 0, no warning
        z = self._validated_decision(X).ravel()
        return np.vstack([log_expit(-z), log_expit(z)]).T

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = False
        return tags


def _params_doc(classifier):
    """The shared "Parameters" entries of DenseBinaryClassifier's docstring (one source).

    Without ``class_weight`` for the regressor; empty under ``python -OO``.
    """
    doc = DenseBinaryClassifier.__doc__ or ""
    start = doc.find("----------\n")
    end = doc.find("\n    Attributes\n")
    if start < 0 or end < 0:  # pragma: no cover - docstrings stripped
        return ""
    text = doc[start + len("----------\n"):end]
    if not classifier:
        cw = text.find("    class_weight :")
        sc = text.find("    scoring :")
        text = text[:cw] + text[sc:]
        text = text.replace("None is accuracy (as\n        MLPClassifier)",
                            "None is R^2 (as\n        MLPRegressor)")
    return text
