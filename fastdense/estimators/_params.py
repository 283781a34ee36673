"""The estimators' parameters, written once: defaults, constraints, docs, ``__init__``.

scikit-learn reads an estimator's parameters from the signature of its
``__init__`` (``get_params``, ``set_params``, ``clone``, the repr) and wants
``__init__`` to store each one under its own name and do nothing else. The
three estimators share MLPClassifier's and MLPRegressor's parameters (plus
``dtype`` and ``scoring``); the classifiers add ``class_weight``, the
regressor puts ``loss`` first, as MLPRegressor does. :func:`init_with` builds
each estimator's ``__init__`` from :data:`DEFAULTS`, with an explicit
signature: ``inspect.signature`` (and so scikit-learn, ``help()`` and
IPython) shows every parameter with its default, and there is no
``*args``/``**kwargs`` in it. Each estimator's parameter order is one line
of names in its class.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.metrics import get_scorer_names
from sklearn.utils._param_validation import Interval, Options, StrOptions

from .._activations import ESTIMATOR_ACTIVATIONS

__all__ = ["DEFAULTS", "MLP_KEYWORDS", "LAYER_KEYWORDS", "CONSTRAINTS", "init_with", "params_doc"]

#: Every parameter's default. MLPClassifier's order; ``loss`` is MLPRegressor's.
DEFAULTS = {
    "loss": "squared_error",
    "hidden_layer_sizes": (100,),
    "activation": "relu",
    "solver": "adam",
    "alpha": 0.0001,
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 0.001,
    "power_t": 0.5,
    "max_iter": 200,
    "shuffle": True,
    "random_state": None,
    "tol": 1e-4,
    "verbose": False,
    "warm_start": False,
    "momentum": 0.9,
    "nesterovs_momentum": True,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "n_iter_no_change": 10,
    "max_fun": 15000,
    "leaky_relu_slope": 0.01,
    "dropout": 0.0,
    "batch_norm": False,
    "dtype": None,
    "class_weight": None,
    "scoring": None,
    "huber_delta": 1.0,
}

#: The layer parameters scikit-learn's MLP does not have (after MLP_KEYWORDS, in this order).
LAYER_KEYWORDS = ("leaky_relu_slope", "dropout", "batch_norm")

#: The keyword-only parameters MLPClassifier and MLPRegressor share, in their order.
MLP_KEYWORDS = tuple(
    name
    for name in DEFAULTS
    if name
    not in (
        "loss",
        "hidden_layer_sizes",
        "activation",
        "dtype",
        "class_weight",
        "scoring",
        *LAYER_KEYWORDS,
        "huber_delta",
    )
)

CONSTRAINTS: dict = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ESTIMATOR_ACTIVATIONS))],
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
    "leaky_relu_slope": [Interval(Real, 0, None, closed="left")],
    # one probability per hidden layer is checked against the layer count by fit
    "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
    "batch_norm": ["boolean"],
    "dtype": [None, StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
    "scoring": [None, StrOptions(set(get_scorer_names())), callable],
}


def init_with(positional, keyword):
    """An ``__init__`` taking `positional`, then ``*``, then `keyword` (names of DEFAULTS).

    It stores each argument under its name, nothing else, as scikit-learn's
    estimators do by hand. The function is written out and compiled once per
    class, as :mod:`dataclasses` writes its ``__init__``: a real signature
    (scikit-learn reads it), real defaults, Python's own argument errors, and
    no per-call cost beyond the assignments.
    """
    params = [f"{name}=_defaults[{name!r}]" for name in positional]
    params += ["*"] + [f"{name}=_defaults[{name!r}]" for name in keyword]
    body = "".join(f"\n    self.{name} = {name}" for name in (*positional, *keyword))
    namespace: dict = {}
    exec(
        f"def __init__(self, {', '.join(params)}):{body}\n",  # noqa: S102 - our own names
        {"_defaults": DEFAULTS, "__name__": __name__},
        namespace,
    )
    return namespace["__init__"]


_SHARED_DOC = """    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'gelu', \
'silu', 'elu', 'softplus'}, default='relu'
        Hidden-layer activation. The last five are additions to MLPClassifier's
        set, each PyTorch's module of that name with its defaults:
        ``'leaky_relu'`` (slope ``leaky_relu_slope`` for negative inputs),
        ``'gelu'`` (the exact erf form), ``'silu'`` (``z * sigmoid(z)``),
        ``'elu'`` (alpha=1) and ``'softplus'`` (beta=1, threshold=20).

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

    leaky_relu_slope : float, default=0.01
        The slope of ``activation='leaky_relu'`` for negative inputs (>= 0;
        ``torch.nn.LeakyReLU``'s default ``negative_slope``).

    dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Inverted dropout after each hidden activation while training (sgd,
        adam), as ``torch.nn.Dropout``: each activation is zeroed with this
        probability and the others scaled by ``1 / (1 - p)``; one probability
        for every hidden layer, or one per hidden layer. Each value is in
        [0, 1). The masks are drawn from ``random_state`` (same seed, same
        model); predictions use no dropout. ``solver='lbfgs'`` refuses
        dropout (a random objective breaks its line search).

    batch_norm : bool, default=False
        A batch normalization between each hidden layer's product and its
        activation, ``torch.nn.BatchNorm1d``'s (Linear -> BatchNorm1d ->
        activation -> Dropout): the minibatch's mean and biased variance while
        training, running statistics (momentum 0.1, unbiased variance, eps
        1e-5) at predict; its weight and bias are trained by the solver
        (without the L2 term). Every training minibatch needs 2 rows or more
        (a ValueError names ``batch_size`` otherwise); ``solver='lbfgs'``
        refuses it (each loss evaluation would move the statistics).

    dtype : {None, 'float32', 'float64'}, default=None
        Floating type of the parameters and the computation. None keeps
        float32 input in float32 and uses float64 otherwise (as MLPClassifier).

"""

_CLASS_WEIGHT_DOC = """    class_weight : dict, 'balanced' or None, default=None
        Weights per class, multiplied into ``sample_weight``; 'balanced' uses
        ``n_samples / (n_classes * np.bincount(y))``. Not available with
        'balanced' in :meth:`partial_fit`.

"""

_SCORING_DOC = """    scoring : str, callable or None, default=None
        Validation metric for early stopping: None is {default}; otherwise a scikit-learn scorer name (e.g.
        ``'roc_auc'``, ``'neg_log_loss'``) or a callable ``scorer(estimator,
        X, y)`` (called with ``sample_weight=`` when weights are given).
        Greater is better.
"""


def params_doc(*, loss="", classifier=True):
    """The numpydoc "Parameters" entries of an estimator: `loss` first, then the shared ones.

    With ``class_weight`` for the classifiers; the regressor's early-stopping
    score is R^2, the classifiers' accuracy (as scikit-learn's).
    """
    default = (
        "accuracy (as\n        MLPClassifier)" if classifier else "R^2 (as\n        MLPRegressor)"
    )
    return (
        loss
        + _SHARED_DOC
        + (_CLASS_WEIGHT_DOC if classifier else "")
        + _SCORING_DOC.format(default=default)
    )
