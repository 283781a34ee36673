"""Saving and loading models as safetensors files: no pickle, so no code runs on load.

A file holds named arrays plus string metadata (safetensors' format: an
8-byte little-endian header length, a JSON header, then the raw data). Writes
are atomic: the data goes to a temporary file in the target's folder, is
flushed to disk, then renamed over the target, so a crash mid-save never
leaves a half-written model under the final name.
"""

import json
import os
import struct
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ._version import __version__

__all__ = ["save", "load", "save_arrays", "load_arrays", "check_safetensors_header"]

_DTYPES = {"F16", "F32", "F64", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64",
           "BOOL", "BF16"}
_MAX_HEADER = 100 * 1024 * 1024


def _require_safetensors():
    try:
        from safetensors import numpy as st_numpy
    except ImportError as exc:  # pragma: no cover - safetensors is a dependency
        raise ImportError(
            "saving and loading models needs the 'safetensors' package: pip install safetensors"
        ) from exc
    return st_numpy


def save_arrays(arrays, path, metadata=None):
    """Write a mapping of name -> array to `path` in safetensors format, atomically.

    Parameters
    ----------
    arrays : mapping of str to array-like
        Numeric arrays; they are written C-contiguous.
    path : str or os.PathLike
        Target file; replaced only once the new file is complete.
    metadata : mapping of str to str, optional
        Stored in the header; the fastdense version is added.
    """
    st_numpy = _require_safetensors()
    tensors = OrderedDict()
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"array names must be strings; got {name!r}")
        arr = np.ascontiguousarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name!r} is not a numeric array (dtype {arr.dtype})")
        tensors[name] = arr
    # safetensors orders the data its own way; the mapping's order is kept here
    meta = {"fastdense_version": __version__, "fastdense_keys": json.dumps(list(tensors))}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("metadata must map strings to strings")
        meta[key] = value
    data = st_numpy.save(tensors, metadata=meta)

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastdense-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def check_safetensors_header(blob, source="file"):
    """Validate a safetensors byte string; return its parsed JSON header.

    Raises ValueError naming what is wrong (truncated, bad header length,
    malformed JSON, unknown dtype, offsets outside the data, overlapping or
    size-inconsistent tensors) before any array is built.
    """
    if len(blob) < 8:
        raise ValueError(f"{source} is not a safetensors file: {len(blob)} bytes, truncated")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > min(_MAX_HEADER, len(blob) - 8):
        raise ValueError(
            f"{source} is not a valid safetensors file: header length {n} exceeds the "
            f"file ({len(blob)} bytes); truncated or corrupt"
        )
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{source} has a malformed safetensors header: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{source} has a malformed safetensors header: not a JSON object")
    data_size = len(blob) - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in info.items()
            ):
                raise ValueError(f"{source}: __metadata__ must map strings to strings")
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{source}: entry {name!r} lacks dtype/shape/data_offsets") from None
        if dtype not in _DTYPES:
            raise ValueError(f"{source}: entry {name!r} has unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise ValueError(f"{source}: entry {name!r} has an invalid shape {shape!r}")
        itemsize = 2 if dtype in ("F16", "BF16", "I16", "U16") else (
            1 if dtype in ("I8", "U8", "BOOL") else (4 if dtype in ("F32", "I32", "U32") else 8))
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= data_size):
            raise ValueError(
                f"{source}: entry {name!r} points outside the data ({start}..{end} of "
                f"{data_size} bytes); truncated or corrupt"
            )
        if end - start != itemsize * int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{source}: entry {name!r}: its byte size does not match its shape")
        spans.append((start, end))
    spans.sort()
    for (_, end_a), (start_b, _) in zip(spans, spans[1:]):
        if start_b < end_a:
            raise ValueError(f"{source}: tensors overlap in the data section; corrupt file")
    return header


def load_arrays(path):
    """Read a safetensors file written by :func:`save_arrays` (or by PyTorch's safetensors).

    Returns
    -------
    arrays : OrderedDict of str to ndarray
        In the order of the file's data.
    metadata : dict of str to str
    """
    st_numpy = _require_safetensors()
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()
    header = check_safetensors_header(blob, source=repr(path))
    try:
        arrays = st_numpy.load(blob)
    except Exception as exc:  # safetensors' own checks, as a clear ValueError
        raise ValueError(f"{path!r} is not a valid safetensors file: {exc}") from None
    metadata = dict(header.get("__metadata__", {}))
    order = sorted(arrays, key=lambda k: header[k]["data_offsets"][0])
    try:
        saved_order = json.loads(metadata.get("fastdense_keys", "null"))
    except json.JSONDecodeError:
        saved_order = None
    if isinstance(saved_order, list) and sorted(saved_order) == sorted(arrays):
        order = saved_order
    return OrderedDict((k, arrays[k]) for k in order), metadata


# ------------------------------------------------------- fastdense.save / load

_KIND = "fastdense_kind"
_ESTIMATOR_SCALARS = ("n_features_in_", "n_iter_", "t_", "n_layers_", "n_outputs_",
                      "out_activation_", "loss_", "best_loss_", "best_validation_score_",
                      "loss_curve_", "validation_scores_", "_no_improvement_count")
_OPTIMIZER_SCALARS = ("learning_rate_init", "learning_rate", "lr_schedule", "momentum",
                      "nesterov", "power_t", "beta_1", "beta_2", "epsilon", "t")


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


def _estimator_arrays(est):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "coefs_")
    params = {}
    for name, value in est.get_params(deep=False).items():
        if name == "random_state" and isinstance(value, np.random.RandomState):
            warnings.warn("random_state is a RandomState instance; it is saved as None "
                          "(the fitted weights are saved exactly)", UserWarning, stacklevel=3)
            value = None
        elif name == "dtype" and value is not None:
            value = np.dtype(value).name
        elif name == "class_weight" and isinstance(value, dict):
            value = {"__items__": [[_plain(k, name), _plain(v, name)] for k, v in value.items()]}
        elif name == "scoring" and callable(value):
            raise TypeError("fastdense.save cannot store a callable `scoring` (no code goes "
                            "into the file); set scoring to a scorer name or None, or pickle")
        params[name] = value if isinstance(value, dict) else _plain(value, name)
    arrays = OrderedDict()
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        arrays[f"coefs_.{i}"] = w
        arrays[f"intercepts_.{i}"] = b
    classes = np.asarray(est.classes_)
    fitted = {k: _plain(getattr(est, k), k) for k in _ESTIMATOR_SCALARS if hasattr(est, k)}
    fitted["_fit_dtype"] = np.dtype(est._fit_dtype).name
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
        fitted["_optimizer"] = {"class": type(opt).__name__, **{
            k: _plain(getattr(opt, k), k) for k in _OPTIMIZER_SCALARS if hasattr(opt, k)}}
        arrays["_optimizer.state1"] = opt.state1
        arrays["_optimizer.state2"] = opt.state2
    meta = {_KIND: "DenseBinaryClassifier", "params": json.dumps(params),
            "fitted": json.dumps(fitted)}
    return arrays, meta


def _estimator_from(arrays, meta):
    from sklearn.preprocessing import LabelBinarizer

    from . import estimator as est_mod

    params = json.loads(meta["params"])
    fitted = json.loads(meta["fitted"])
    cw = params.get("class_weight")
    if isinstance(cw, dict):
        params["class_weight"] = {k: v for k, v in cw["__items__"]}
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    est = est_mod.DenseBinaryClassifier(**params)
    dtype = np.dtype(fitted.pop("_fit_dtype"))
    n_layers = sum(1 for k in arrays if k.startswith("coefs_."))
    coefs = [arrays[f"coefs_.{i}"] for i in range(n_layers)]
    icpts = [arrays[f"intercepts_.{i}"] for i in range(n_layers)]
    if not coefs or any(c.ndim != 2 or c.dtype != dtype for c in coefs) or any(
            b.shape != (c.shape[1],) for b, c in zip(icpts, coefs)):
        raise ValueError("the file's weights are inconsistent with a DenseBinaryClassifier")
    layer_units = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
    if "classes_" in fitted:
        classes = np.asarray(fitted.pop("classes_"), dtype=fitted.pop("classes_dtype"))
    else:
        classes = arrays["classes_"]
    names = fitted.pop("feature_names_in_", None)
    opt_meta = fitted.pop("_optimizer", None)
    for k, v in fitted.items():
        setattr(est, k, v)
    est._fit_dtype = dtype
    est._bind_views(np.concatenate([a.ravel() for a in coefs + icpts]).astype(dtype),
                    layer_units)
    est._best_params = None if params.get("early_stopping") else est._params.copy()
    est.classes_ = classes
    est._label_binarizer = LabelBinarizer().fit(classes)
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    if opt_meta is not None:
        cls = getattr(est_mod, opt_meta.pop("class"))
        opt = cls.__new__(cls)
        for k, v in opt_meta.items():
            setattr(opt, k, v)
        opt.kind = cls.kind
        opt.state1 = np.array(arrays["_optimizer.state1"], dtype=dtype)
        opt.state2 = np.array(arrays["_optimizer.state2"], dtype=dtype)
        est._optimizer = opt
    return est


def save(obj, path):
    """Save a model to `path` in the safetensors format (no pickle), atomically.

    Parameters
    ----------
    obj : fastdense.nn.Module, fitted DenseBinaryClassifier, or mapping of str to array
        A module is saved as its ``state_dict()`` (PyTorch's names, readable by
        ``safetensors.torch.load_file`` and loadable into the equivalent
        ``torch.nn`` model). An estimator is saved as its weights plus its
        parameters, classes and fitted attributes in the header, so that
        :func:`load` returns a working estimator. Arrays (NumPy, fastdense or
        PyTorch CPU tensors) are saved as they are.
    path : str or os.PathLike
        The target file; an existing one is replaced only once the new file
        is complete on disk.

    Examples
    --------
    >>> import fastdense as fd, tempfile, os
    >>> model = fd.nn.Linear(3, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> fd.save(model, path)
    >>> list(fd.load(path))
    ['weight', 'bias']
    """
    from .estimator import DenseBinaryClassifier
    from .nn import Module

    if isinstance(obj, Module):
        arrays = OrderedDict((k, np.asarray(v)) for k, v in obj.state_dict().items())
        meta = {_KIND: "state_dict", "module": type(obj).__name__}
    elif isinstance(obj, DenseBinaryClassifier):
        arrays, meta = _estimator_arrays(obj)
    elif isinstance(obj, Mapping):
        arrays = OrderedDict((k, _as_array(k, v)) for k, v in obj.items())
        meta = {_KIND: "arrays"}
    else:
        raise TypeError(
            "fastdense.save stores an nn.Module, a fitted DenseBinaryClassifier or a "
            f"mapping of names to arrays; got {type(obj).__name__} (pickle or joblib "
            "store anything, but loading a pickle can run code)"
        )
    save_arrays(arrays, path, metadata=meta)


def _as_array(name, value):
    from ._validation import to_ndarray

    if hasattr(value, "_value"):  # a fastdense Tensor
        value = value._value()
    return to_ndarray(value, f"arrays[{name!r}]")


def load(path):
    """Load what :func:`save` wrote (or any safetensors file), without pickle.

    Returns
    -------
    DenseBinaryClassifier
        For a saved estimator (fitted, ready to predict).
    OrderedDict of str to ndarray
        Otherwise: the saved state_dict (for ``module.load_state_dict``) or
        arrays, in the saved order.

    Raises
    ------
    ValueError
        The file is truncated, malformed or inconsistent.

    Warns
    -----
    VersionWarning
        The file was written by another fastdense version.
    """
    arrays, meta = load_arrays(path)
    if "fastdense_version" in meta:
        from ._validation import warn_if_other_version

        warn_if_other_version(meta["fastdense_version"], repr(os.fspath(path)))
    if meta.get(_KIND) == "DenseBinaryClassifier":
        try:
            return _estimator_from(arrays, meta)
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(
                f"{os.fspath(path)!r} holds a damaged DenseBinaryClassifier: {exc!r}"
            ) from None
    return arrays
