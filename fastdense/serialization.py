"""Saving and loading models as safetensors files: no pickle, so no code runs on load.

The public ``fastdense.save`` / ``fastdense.load``: they tell what is saved
(a module's state_dict, a fitted estimator, arrays) and dispatch to the
formats in :mod:`fastdense.io` (the safetensors container, the estimator
file). Writes are atomic (:func:`fastdense.io.atomic_write`): a crash or a
full disk mid-save never leaves a half-written model under the final name, an
existing file keeps its mode and a symlink is written through.
"""

import os
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

# the container moved to fastdense.io; these names stay importable from here
from .io.container import check_safetensors_header, load_arrays, save_arrays
from .io.estimator_file import read_estimator

__all__ = ["save", "load", "save_arrays", "load_arrays", "check_safetensors_header"]


# ------------------------------------------------------- fastdense.save / load

_KIND = "fastdense_kind"


def save(obj, path):
    """Save a model to `path` in the safetensors format (no pickle), atomically.

    Parameters
    ----------
    obj : fastdense.nn.Module, fitted estimator, or mapping of str to array
        A module is saved as its ``state_dict()`` (PyTorch's names, readable by
        ``safetensors.torch.load_file`` and loadable into the equivalent
        ``torch.nn`` model). A fitted ``DenseBinaryClassifier``,
        ``DenseClassifier`` (binary, multi-class or multilabel) or
        ``DenseRegressor`` is saved as its weights plus its parameters,
        classes and fitted attributes in the header, and the optimizer state,
        so that :func:`load` returns a working estimator whose
        ``partial_fit`` / warm-started ``fit`` continue exactly as the
        original's would. Arrays (NumPy, fastdense or
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
    from .io.estimator_file import estimator_arrays
    from .nn import Module

    if isinstance(obj, Module):
        arrays = OrderedDict((k, np.asarray(v)) for k, v in obj.state_dict().items())
        meta = {_KIND: "state_dict", "module": type(obj).__name__}
    elif _is_estimator(obj):
        arrays, meta = estimator_arrays(obj)
    elif isinstance(obj, Mapping):
        arrays = OrderedDict((k, _as_array(k, v)) for k, v in obj.items())
        meta = {_KIND: "arrays"}
    else:
        raise TypeError(
            "fastdense.save stores an nn.Module, a fitted DenseBinaryClassifier, "
            "DenseClassifier or DenseRegressor, or a mapping of names to arrays; got "
            f"{type(obj).__name__} (pickle or joblib store anything, but loading a pickle "
            "can run code)"
        )
    save_arrays(arrays, path, metadata=meta)


def _is_estimator(obj):
    """A fastdense estimator, without importing scikit-learn for anything else."""
    import sys

    if "sklearn" not in sys.modules:  # no estimator exists before scikit-learn is imported
        return False
    import fastdense

    from .io.estimator_file import KINDS

    return isinstance(obj, tuple(getattr(fastdense, kind) for kind in KINDS))


def _as_array(name, value):
    from ._validation import to_ndarray

    if hasattr(value, "_value"):  # a fastdense Tensor
        value = value._value()
    return to_ndarray(value, f"arrays[{name!r}]")


def load(path):
    """Load what :func:`save` wrote (or any safetensors file), without pickle.

    A model file is treated as untrusted input: no code runs, the header is
    checked before any array is built, an estimator is read through a
    whitelist of typed, range-checked entries and its network is proven
    consistent before it is returned (see "Threat model" in
    ``docs/reliability.md``). A valid file with bad weights still predicts
    badly: the file is not signed. Unlike this, ``pickle.load`` /
    ``joblib.load`` of an estimator run code named by the file: load pickles
    only from sources you trust.

    Parameters
    ----------
    path : str or os.PathLike
        A safetensors file.

    Returns
    -------
    DenseBinaryClassifier, DenseClassifier or DenseRegressor
        For a saved estimator (fitted, ready to predict and to continue training).
    OrderedDict of str to ndarray
        Otherwise: the saved state_dict (for ``module.load_state_dict``) or
        arrays, in the saved order.

    Raises
    ------
    ValueError
        The file is truncated, malformed or inconsistent (every such failure is a
        ValueError naming the entry; never a KeyError or a crash).
    OSError
        The file cannot be read.

    Warns
    -----
    VersionWarning
        The file was written by another fastdense version.
    UserWarning
        The file has entries this version does not know; they are ignored.
    """
    arrays, meta = load_arrays(path)
    if "fastdense_version" in meta:
        from ._validation import warn_if_other_version

        warn_if_other_version(meta["fastdense_version"], repr(os.fspath(path)))
    from .io.estimator_file import KINDS

    if meta.get(_KIND) in KINDS:
        from .io.estimator_file import CLI_FORMAT, CLI_PREPROCESS, estimator_from

        extra = CLI_PREPROCESS if meta.get("format") == CLI_FORMAT else ()
        return read_estimator(estimator_from, arrays, meta, path, extra_arrays=extra)
    return arrays
