"""A fitted estimator as safetensors arrays + JSON metadata, and back, through a whitelist.

A model file is untrusted input. Reading one never calls ``getattr`` /
``setattr`` with a name taken from the file and never builds a class named
by it: each entry it accepts is listed here with its type and range, class
names are looked up in an explicit table, and the network is proven by
:func:`fastdense._network.check_network` before the estimator is returned.
Entries this version does not know are ignored with a ``UserWarning`` (a
file from a newer fastdense still loads; the version warning says so too).
Every failure is a ``ValueError`` naming the entry and what was expected.

Three estimators have a file format, told apart by the ``fastdense_kind``
metadata: ``DenseBinaryClassifier``, ``DenseClassifier`` (binary,
multi-class or multilabel: its ``target_type`` says which) and
``DenseRegressor``. The targets' entries of each are proven against one
another and against the network: the classes against the output width and
the target type, ``out_activation_`` against the target type or the
regressor's ``loss``.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections import OrderedDict
from numbers import Integral, Real

import numpy as np

from .._network import check_count, check_network
from .container import parse_json

__all__ = [
    "KINDS",
    "ESTIMATOR_KIND",
    "CLI_FORMAT",
    "CLI_PREPROCESS",
    "FORMAT_KEY",
    "FORMAT_VERSION",
    "MAX_LABEL_WIDTH",
    "MAX_STEPS",
    "estimator_arrays",
    "estimator_from",
    "read_estimator",
]

_KIND = "fastdense_kind"
ESTIMATOR_KIND = "DenseBinaryClassifier"
#: the estimators a file may hold (its fastdense_kind), looked up in this fixed list
KINDS = ("DenseBinaryClassifier", "DenseClassifier", "DenseRegressor")
_CLASSIFIER_KINDS = ("DenseBinaryClassifier", "DenseClassifier")
#: a classifier's target type (its label binarizer's y_type_) -> its output activation
_TARGET_TYPES = {"binary": "logistic", "multiclass": "softmax", "multilabel-indicator": "logistic"}
#: a regressor's loss -> its output activation (MLPRegressor's)
_REGRESSOR_OUTPUTS = {
    "squared_error": "identity",
    "poisson": "exp",
    "absolute_error": "identity",
    "huber": "identity",
}
# the command line's model files add its standardization (fastdense.io.model_file)
CLI_FORMAT = "fastdense-cli-model/1"
CLI_PREPROCESS = ("preprocess.mean", "preprocess.scale")
#: the metadata key of the estimator format's version, and the version this code writes.
#: New entries (a new parameter, fitted attribute or optimizer field) keep the version:
#: a reader ignores what it does not know, with a warning. A change that an older reader
#: would misread increments it; a reader refuses a version newer than its own.
#: 2 adds the batch norms' state (per hidden layer gamma, beta, then per hidden layer
#: running mean and variance, flat, in the estimator buffer's order): a file without batch
#: norm is still written as version 1, which every reader reads.
FORMAT_KEY = "fastdense_format"
FORMAT_VERSION = 2
BATCH_NORM_ARRAY = "batch_norm_state"
#: the widest string label dtype accepted beyond the longest label's own length
MAX_LABEL_WIDTH = 1024


class _Bad(ValueError):
    """A file entry that is out of its type or range (a ValueError)."""


def _real(value, name, *, low=-math.inf, high=math.inf, finite=True, none=False):
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise _Bad(f"{name} must be a number; the file has {value!r}")
    value = float(value)
    if not math.isfinite(value):
        if finite:
            raise _Bad(f"{name} must be finite; the file has {value!r}")
        return value  # a loss may be inf / NaN (as MLPClassifier records it)
    if not low <= value <= high:
        raise _Bad(f"{name} must be in [{low}, {high}]; the file has {value!r}")
    return value


def _bool(value, name):
    if not isinstance(value, bool):
        raise _Bad(f"{name} must be true or false; the file has {value!r}")
    return value


def _reals(value, name, *, none=False):
    if value is None and none:
        return None
    if not isinstance(value, list):
        raise _Bad(f"{name} must be a list of numbers; the file has {type(value).__name__}")
    return [_real(v, f"{name}[{i}]", finite=False) for i, v in enumerate(value)]


def _choice(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise _Bad(f"{name} must be one of {sorted(options)}; the file has {value!r}")
    return value


def _count(value, name, low=0, high=None):
    try:
        return check_count(value, name, low=low, high=high)
    except ValueError as exc:
        raise _Bad(f"the file's {exc}") from None


# fitted attribute -> its reader: what fastdense.load may set, and nothing else
_FITTED = {
    "n_features_in_": lambda v, n: _count(v, n, low=1),
    "n_iter_": lambda v, n: _count(v, n, high=MAX_STEPS),
    "t_": lambda v, n: _count(v, n, high=MAX_STEPS),
    "n_layers_": lambda v, n: _count(v, n, low=2),
    "n_outputs_": lambda v, n: _count(v, n, low=1),
    "out_activation_": lambda v, n: _choice(v, n, {"logistic", "softmax", "identity", "exp"}),
    "loss_": lambda v, n: _real(v, n, finite=False, none=True),
    "best_loss_": lambda v, n: _real(v, n, finite=False, none=True),
    "best_validation_score_": lambda v, n: _real(v, n, finite=False, none=True),
    "loss_curve_": lambda v, n: _reals(v, n),
    "validation_scores_": lambda v, n: _reals(v, n, none=True),
    "validation_loss_curve_": lambda v, n: _reals(v, n, none=True),
    "_no_improvement_count": lambda v, n: _count(v, n, high=MAX_STEPS),
}
# what every fitted estimator has, and what sgd / adam add (partial_fit reads them)
_REQUIRED = ("n_features_in_", "n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_")
_REQUIRED_STOCHASTIC = (
    "loss_curve_",
    "best_loss_",
    "best_validation_score_",
    "validation_scores_",
    "_no_improvement_count",
)
_FITTED_SPECIAL = (
    "_fit_dtype",
    "classes_",
    "classes_dtype",
    "feature_names_in_",
    "_optimizer",
    "target_type",
    "sparse_target",
)

#: the largest step count (n_iter_, t_, an optimizer's t): exact as a float, far from int64's
#: end (the same bound as ``fastdense.estimators._optimizers.MAX_STEPS``, which needs sklearn)
MAX_STEPS = 2**53


def _optimizers():
    """The optimizer states a file may name: our classes, by this fixed table (imports sklearn)."""
    from ..estimators._optimizers import _AdamState, _SGDState

    return {"_SGDState": ("sgd", _SGDState), "_AdamState": ("adam", _AdamState)}


def _field(value, name, field):
    """A file's optimizer scalar read by its declaration (a ``StateField``), or _Bad."""
    if field.kind == "bool":
        return _bool(value, name)
    if field.kind == "choice":
        return _choice(value, name, set(field.choices))
    if field.kind == "count":
        return _count(value, name, low=int(field.low), high=int(field.high))
    value = _real(value, name, low=field.low, high=field.high)
    if (field.open_low and value == field.low) or (field.open_high and value == field.high):
        raise _Bad(
            f"{name} must be {'>' if field.open_low else '<'} "
            f"{field.low if field.open_low else field.high}; the file has {value!r}"
        )
    return value


def _plain(value, what):
    """`value` as plain JSON data (NumPy scalars and tuples converted), else TypeError."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v, what) for v in value]
    raise TypeError(f"{what} = {value!r} cannot be stored in a safetensors file")


def _kind_of(est):
    """The file kind of a fastdense estimator (its public class), else TypeError."""
    from .. import estimators  # lazily: scikit-learn is imported only when a file is

    for kind in KINDS:  # a fixed list of public names
        if isinstance(est, getattr(estimators, kind)):
            return kind
    raise TypeError(f"fastdense.save stores {', '.join(KINDS)}; got {type(est).__name__}")


def _batch_norm_state(arrays, units, dtype):
    """The file's batch-norm state array, proven against the network (format 2)."""
    n = 4 * sum(units[1 : len(units) - 1])
    state = arrays.get(BATCH_NORM_ARRAY)
    if state is None:
        raise _Bad(f"the file's batch_norm=True needs its {BATCH_NORM_ARRAY} array")
    if state.ndim != 1 or state.shape[0] != n or state.dtype != dtype:
        raise _Bad(
            f"the file's {BATCH_NORM_ARRAY} must be {n} {dtype} values; it is "
            f"{state.dtype} {state.shape}"
        )
    return state


def _class_weight_entry(value, name):
    """A class_weight dict as [[label, weight], ...] (JSON objects have string keys only)."""
    return {"__items__": [[_plain(k, name), _plain(v, name)] for k, v in value.items()]}


def estimator_arrays(est):
    """(arrays, metadata) of a fitted fastdense estimator, for :func:`save_arrays`."""
    from sklearn.utils.validation import check_is_fitted

    kind = _kind_of(est)
    check_is_fitted(est, "coefs_")
    net = est._snapshot()  # the one network, read once; an edited coefs_ proven first
    est._check_fitted_state()  # and the targets beside it
    params = {}
    for name, value in est.get_params(deep=False).items():
        if name == "random_state" and isinstance(value, np.random.RandomState):
            warnings.warn(
                "random_state is a RandomState instance; it is saved as None "
                "(the fitted weights are saved exactly)",
                UserWarning,
                stacklevel=3,
            )
            value = None
        elif name == "dtype" and value is not None:
            value = np.dtype(value).name
        elif name == "class_weight" and isinstance(value, dict):
            value = _class_weight_entry(value, name)
        elif name == "class_weight" and isinstance(value, list):  # multilabel: one per label
            value = {"__per_label__": [_class_weight_entry(d, name) for d in value]}
        elif name == "scoring" and callable(value):
            raise TypeError(
                "fastdense.save cannot store a callable `scoring` (no code goes "
                "into the file); set scoring to a scorer name or None, or pickle"
            )
        params[name] = value if isinstance(value, dict) else _plain(value, name)
    arrays = OrderedDict()
    for i, (w, b) in enumerate(zip(net.coefs, net.intercepts)):
        arrays[f"coefs_.{i}"] = w
        arrays[f"intercepts_.{i}"] = b
    fitted = {k: _plain(getattr(est, k), k) for k in _FITTED if hasattr(est, k)}
    fitted["_fit_dtype"] = np.dtype(est._fit_dtype).name
    if kind in _CLASSIFIER_KINDS:
        binarizer = est._label_binarizer
        fitted["target_type"] = str(binarizer.y_type_)
        fitted["sparse_target"] = bool(binarizer.sparse_input_)
        classes = np.asarray(est.classes_)
        if classes.dtype.kind in "biuf":
            arrays["classes_"] = classes
        else:
            if not all(isinstance(c, str) for c in classes.tolist()):
                raise TypeError("fastdense.save stores numeric or string class labels only")
            fitted["classes_"] = classes.tolist()
            fitted["classes_dtype"] = classes.dtype.str
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(f) for f in est.feature_names_in_]
    opt = getattr(est, "_optimizer", None)
    if opt is not None:  # for partial_fit / warm_start after loading
        fitted["_optimizer"] = {
            "class": type(opt).__name__,
            **{k: _plain(getattr(opt, k), k) for k in opt.FILE_FIELDS},
        }
        arrays["_optimizer.state1"] = opt.state1
        arrays["_optimizer.state2"] = opt.state2
    meta = {
        _KIND: kind,
        FORMAT_KEY: "1",
        "params": json.dumps(params),
        "fitted": json.dumps(fitted),
    }
    if net.layout.batch_norm:  # format 2: the batch norms' parameters and running statistics
        arrays[BATCH_NORM_ARRAY] = net.params[net.layout.bn_start :]
        meta[FORMAT_KEY] = "2"
    return arrays, meta


def read_estimator(reader, arrays, meta, path, **kwargs):
    """`reader(arrays, meta, **kwargs)`, every failure a ValueError naming the file.

    The readers check each entry explicitly; this also turns a lookup error
    that slipped past them into the same clear ValueError, never a KeyError.
    """
    try:
        return reader(arrays, meta, **kwargs)
    except (KeyError, TypeError, IndexError, AttributeError, OverflowError, ValueError) as exc:
        raise ValueError(
            f"{os.fspath(path)!r} holds a damaged or invalid fastdense model: {exc}"
        ) from None


def _json_object(meta, key):
    if key not in meta:
        raise _Bad(f"the file lacks its {key!r} metadata")
    value = parse_json(meta[key], f"the file's {key!r} metadata")
    if not isinstance(value, dict):
        raise _Bad(f"the file's {key!r} metadata must be a JSON object")
    return value


def _warn_unknown(kind, names):
    if names:
        warnings.warn(
            f"fastdense.load ignored the file's unknown {kind} {sorted(names)} "
            "(written by another fastdense version?)",
            UserWarning,
            stacklevel=4,
        )


def _read_class_weight(entry, name):
    items = entry.get("__items__") if isinstance(entry, dict) else None
    if not (
        isinstance(entry, dict)
        and len(entry) == 1
        and isinstance(items, list)
        and all(isinstance(kv, list) and len(kv) == 2 for kv in items)
    ):
        raise _Bad(f"the file's {name} must be a list of [class, weight] pairs")
    weights = {}
    for k, v in items:
        if isinstance(k, bool) or not isinstance(k, (str, int, float)):
            raise _Bad(f"the file's {name} has a key {k!r} that is not a label")
        weights[k] = _real(v, f"{name}[{k!r}]", low=0.0)
    return weights


def _read_params(cls, params):
    from sklearn.utils._param_validation import InvalidParameterError

    known = set(cls._get_param_names())
    _warn_unknown("parameter(s)", set(params) - known)
    params = {k: v for k, v in params.items() if k in known}
    cw = params.get("class_weight")
    if isinstance(cw, dict) and "__per_label__" in cw:  # multilabel: one dict per label
        per_label = cw["__per_label__"]
        if not (isinstance(per_label, list) and per_label and len(cw) == 1):
            raise _Bad("the file's per-label class_weight must be a non-empty list")
        params["class_weight"] = [
            _read_class_weight(d, f"class_weight[{i}]") for i, d in enumerate(per_label)
        ]
    elif isinstance(cw, dict):
        params["class_weight"] = _read_class_weight(cw, "class_weight")
    hls = params.get("hidden_layer_sizes")
    if isinstance(hls, list):
        params["hidden_layer_sizes"] = tuple(hls)
    est = cls(**params)
    try:
        est._validate_params()  # scikit-learn's declared constraints, the estimator's own
    except InvalidParameterError as exc:
        raise _Bad(f"the file's parameters are invalid: {exc}") from None
    sizes = est.hidden_layer_sizes
    sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
    if any(isinstance(h, bool) or not isinstance(h, Integral) or h < 1 for h in sizes):
        raise _Bad(
            f"the file's hidden_layer_sizes {est.hidden_layer_sizes!r} are not positive integers"
        )
    return est, [int(h) for h in sizes]


def _read_classes(fitted, arrays):
    if "classes_" in fitted:
        labels = fitted["classes_"]
        dtype_str = fitted.get("classes_dtype")
        if not (isinstance(labels, list) and all(isinstance(c, str) for c in labels)):
            raise _Bad("the file's classes_ must be a list of strings")
        try:
            dtype = np.dtype(dtype_str) if isinstance(dtype_str, str) else None
        except TypeError:
            dtype = None
        if dtype is None or dtype.kind != "U":
            raise _Bad(
                f"the file's classes_dtype must be a NumPy string dtype; it has {dtype_str!r}"
            )
        longest = max((len(c) for c in labels), default=0)
        if dtype.itemsize // 4 > max(longest, MAX_LABEL_WIDTH):
            raise _Bad(
                f"the file's classes_dtype {dtype_str!r} is wider than its labels "
                f"need ({longest} characters) and than {MAX_LABEL_WIDTH}: refused "
                "(a short file must not allocate gigabytes)"
            )
        classes = np.asarray(labels, dtype=dtype)
        if classes.tolist() != labels:
            raise _Bad("the file's classes_ do not fit its classes_dtype")
    elif "classes_" in arrays:
        classes = np.array(arrays["classes_"])
        if classes.dtype.kind not in "biuf":
            raise _Bad(f"the file's classes_ array has dtype {classes.dtype}")
    else:
        raise _Bad("the file lacks classes_")
    if classes.ndim != 1 or classes.shape[0] < 2:
        raise _Bad(
            f"classes_ must be a list of at least 2 labels; the file has shape {classes.shape}"
        )
    if not np.all(classes[:-1] < classes[1:]):
        raise _Bad(
            f"classes_ must be distinct labels in sorted order (as LabelBinarizer "
            f"sorts them); the file has {classes.tolist()!r}"
        )
    return classes


def _read_targets(est, kind, fitted, arrays, values):
    """A classifier's classes_ and label binarizer, proven against its target type and outputs.

    The binarizer is rebuilt as fitting one gives it (never read from the
    file): from the classes, or for a multilabel target from its label count.
    """
    from sklearn.preprocessing import LabelBinarizer

    binary_only = kind == "DenseBinaryClassifier"
    target = _choice(
        fitted.get("target_type", "binary" if binary_only else None),
        "target_type",
        {"binary"} if binary_only else set(_TARGET_TYPES),
    )
    sparse = _bool(fitted.get("sparse_target", False), "sparse_target")
    classes = _read_classes(fitted, arrays)
    k = classes.shape[0]
    if target == "binary" and k != 2:
        raise _Bad(f"the file's binary target must have 2 classes; its classes_ has {k}")
    if target == "multiclass" and k < 3:
        raise _Bad(
            f"the file's multiclass target must have at least 3 classes (2 are a "
            f"binary target); its classes_ has {k}"
        )
    if target == "multilabel-indicator" and not (
        classes.dtype.kind in "iu" and np.array_equal(classes, np.arange(k))
    ):
        raise _Bad(
            f"the file's multilabel target must have the label indices 0..{k - 1} as "
            f"classes_ (as LabelBinarizer has them); it has {classes.tolist()!r}"
        )
    if sparse and target != "multilabel-indicator":
        raise _Bad(
            f"the file's sparse_target is true, but only a multilabel target can be "
            f"sparse; its target is {target!r}"
        )
    cw = est.class_weight
    if isinstance(cw, list) and (target != "multilabel-indicator" or len(cw) != k):
        raise _Bad(
            f"the file's class_weight is a list of {len(cw)} per-label dicts, but its "
            f"target is {target} with {k} classes (a list needs a multilabel target, "
            "one dict per label)"
        )
    n_out = 1 if target == "binary" else k
    if values["n_outputs_"] != n_out:
        raise _Bad(
            f"the file's n_outputs_ = {values['n_outputs_']} contradicts its {k} "
            f"classes ({target} target: {n_out} output unit(s))"
        )
    want = _TARGET_TYPES[target]
    if values["out_activation_"] != want:
        raise _Bad(
            f"the file's out_activation_ {values['out_activation_']!r} contradicts its "
            f"{target} target (which has {want!r} output units)"
        )
    binarizer = LabelBinarizer()
    try:
        if target == "multilabel-indicator":
            binarizer.fit(np.zeros((1, k), dtype=np.int8))  # an indicator matrix of k labels
        else:
            binarizer.fit(classes)
        read_as = binarizer.y_type_
    except ValueError as exc:
        read_as = str(exc)
    if read_as != target or not np.array_equal(binarizer.classes_, classes):
        raise _Bad(
            f"the file's classes_ {classes.tolist()!r} are not the labels of a {target} "
            f"target (LabelBinarizer reads them as {read_as!r})"
        )
    binarizer.sparse_input_ = sparse  # what a sparse indicator matrix leaves: sparse predict
    return classes, binarizer


def _check_regressor_output(est, values):
    want = _REGRESSOR_OUTPUTS[est.loss]  # loss was validated with the parameters
    if values["out_activation_"] != want:
        raise _Bad(
            f"the file's out_activation_ {values['out_activation_']!r} contradicts its "
            f"loss {est.loss!r} (which has an {want!r} output)"
        )


def _read_optimizer(est, opt_meta, arrays, n_params, dtype):
    if not isinstance(opt_meta, dict) or not isinstance(opt_meta.get("class"), str):
        raise _Bad("the file's _optimizer must be an object with a 'class' name")
    name = opt_meta["class"]
    optimizers = _optimizers()
    if name not in optimizers:
        raise _Bad(
            f"the file names an unknown optimizer class {name!r}; expected one of "
            f"{sorted(optimizers)}"
        )
    solver, cls = optimizers[name]
    if est.solver != solver:
        raise _Bad(
            f"the file's optimizer state is {solver}'s, but its solver parameter is {est.solver!r}"
        )
    fields = cls.FILE_FIELDS
    _warn_unknown("optimizer entries", set(opt_meta) - set(fields) - {"class"})
    missing = sorted(set(fields) - set(opt_meta))
    if missing:
        raise _Bad(f"the file's optimizer state lacks {missing}")
    opt = cls.__new__(cls)
    for key, field in fields.items():  # a fixed list of names: never the file's
        setattr(opt, key, _field(opt_meta[key], f"_optimizer.{key}", field))
    if getattr(opt, "lr_schedule", None) == "invscaling":
        step = getattr(est, "t_", 0)  # the schedule's time step is the estimator's t_
        try:  # what the next epoch computes (scikit-learn's formula) must be a number
            opt.learning_rate_init / (step + 1) ** opt.power_t
        except (OverflowError, ZeroDivisionError):
            raise _Bad(
                f"the file's invscaling schedule overflows at its step t_ = {step} "
                f"(power_t = {opt.power_t})"
            ) from None
    for key in ("state1", "state2"):
        if f"_optimizer.{key}" not in arrays:
            raise _Bad(f"the file lacks the optimizer's _optimizer.{key} array")
        arr = arrays[f"_optimizer.{key}"]
        if arr.dtype != dtype:
            raise _Bad(
                f"_optimizer.{key} has dtype {arr.dtype}; expected {dtype}, the network's dtype"
            )
        setattr(opt, key, np.array(arr, dtype=dtype, order="C"))
    est._optimizer = opt
    est._check_optimizer(opt)


def _estimator_classes():
    from .. import estimators  # lazily, as in _kind_of

    return {kind: getattr(estimators, kind) for kind in KINDS}  # our names, never the file's


def estimator_from(arrays, meta, extra_arrays=(), kinds=KINDS):
    """A fitted fastdense estimator from a file's arrays and metadata, or ValueError.

    `extra_arrays` names further arrays the caller reads itself (the CLI's
    preprocessing); any other array not listed here is ignored with a warning.
    `kinds` are the estimators the caller accepts (the CLI: the binary one).
    """
    version = meta.get(FORMAT_KEY, "1")  # files written before the key are version 1
    if not (isinstance(version, str) and version.isdigit() and len(version) < 6):
        raise _Bad(f"the file's {FORMAT_KEY} must be a version number; it has {version!r}")
    if int(version) > FORMAT_VERSION:
        raise _Bad(
            f"the file's estimator format is version {version}; this fastdense reads "
            f"up to version {FORMAT_VERSION} (upgrade fastdense)"
        )
    kind = _choice(meta.get(_KIND), _KIND, set(kinds))
    est, hidden = _read_params(_estimator_classes()[kind], _json_object(meta, "params"))
    classifier = kind in _CLASSIFIER_KINDS
    fitted = _json_object(meta, "fitted")
    special = (
        set(_FITTED_SPECIAL) if classifier else {"_fit_dtype", "feature_names_in_", "_optimizer"}
    )
    _warn_unknown("fitted attribute(s)", set(fitted) - set(_FITTED) - special)

    dtype = _choice(fitted.get("_fit_dtype"), "_fit_dtype", {"float32", "float64"})
    dtype = np.dtype(dtype)
    n_layers = 0
    while f"coefs_.{n_layers}" in arrays:
        n_layers += 1
    expected = {f"{k}.{i}" for k in ("coefs_", "intercepts_") for i in range(n_layers)}
    expected |= {"_optimizer.state1", "_optimizer.state2", *extra_arrays}
    expected |= {BATCH_NORM_ARRAY} if est.batch_norm else set()
    expected |= {"classes_"} if classifier else set()
    _warn_unknown("array(s)", set(arrays) - expected)
    if n_layers == 0:
        raise _Bad("the file has no coefs_.0 array: no network")
    missing = [f"intercepts_.{i}" for i in range(n_layers) if f"intercepts_.{i}" not in arrays]
    if missing:
        raise _Bad(f"the file lacks {missing}")
    coefs = [arrays[f"coefs_.{i}"] for i in range(n_layers)]
    icpts = [arrays[f"intercepts_.{i}"] for i in range(n_layers)]

    required = _REQUIRED + (_REQUIRED_STOCHASTIC if est.solver != "lbfgs" else ())
    missing = [k for k in required if k not in fitted]
    if missing:
        raise _Bad(f"the file lacks the fitted attribute(s) {missing}")
    values = {k: read(fitted[k], k) for k, read in _FITTED.items() if k in fitted}
    n_features = values["n_features_in_"]
    if classifier:
        classes, binarizer = _read_targets(est, kind, fitted, arrays, values)
    else:
        _check_regressor_output(est, values)
    from ..estimators._base import _MAX_LAYERS

    units, _ = check_network(
        coefs,
        icpts,
        n_features=n_features,
        n_outputs=values["n_outputs_"],
        dtype=dtype,
        max_layers=_MAX_LAYERS - 1,
    )
    if any(a.dtype != dtype for a in coefs + icpts):  # no silent casts of a file's arrays
        raise _Bad(f"the file's weights must all be {dtype}, its _fit_dtype")
    if units[1:-1] != hidden:
        raise _Bad(
            f"the file's weights have hidden layers {units[1:-1]}, but its "
            f"hidden_layer_sizes parameter says {hidden}"
        )
    if values.get("n_layers_", len(units)) != len(units):
        raise _Bad(
            f"the file's n_layers_ = {values['n_layers_']} contradicts its "
            f"{n_layers} weight arrays ({len(units)} layers)"
        )
    names = fitted.get("feature_names_in_")
    if names is not None and not (
        isinstance(names, list)
        and len(names) == n_features
        and all(isinstance(f, str) for f in names)
    ):
        raise _Bad(f"the file's feature_names_in_ must be {n_features} strings (one per feature)")

    for key, value in values.items():  # the whitelist's names only
        setattr(est, key, value)
    est._fit_dtype = dtype
    parts = [np.ravel(a) for a in coefs + icpts]
    if est.batch_norm:
        parts.append(_batch_norm_state(arrays, units, dtype))
    est._bind_views(np.concatenate(parts).astype(dtype), units)
    est._best_params = None if est.early_stopping else est._params.copy()
    if classifier:
        est.classes_ = classes
        est._label_binarizer = binarizer
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    if "_optimizer" in fitted:
        _read_optimizer(est, fitted["_optimizer"], arrays, est._params.shape[0], dtype)
    est._check_fitted_state()
    return est
