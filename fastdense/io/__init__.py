"""fastdense's file formats, each read as untrusted input within stated bounds.

- :mod:`.container`: the safetensors container (named arrays + string
  metadata), read from regular files only, header first, JSON with a nesting
  limit (:func:`load_arrays`, :func:`save_arrays`);
- :mod:`.estimator_file`: a fitted estimator as arrays + JSON metadata, read
  back through a whitelist of typed, range-checked entries;
- :mod:`.model_file`: the command line's model file (an estimator file plus
  the CLI's preprocessing);
- :mod:`.checkpoint`: ``fastdense.torch.save`` / ``load``'s trees of tensors;
- :func:`atomic_write`: the one way fastdense writes a file (models and the
  CLI's CSV outputs): atomically, keeping an existing file's mode, through
  symlinks, never a truncated file on a full disk.

``fastdense.save`` / ``fastdense.load`` (:mod:`fastdense.serialization`) are
the public entry points; the bounds are listed in ``docs/reliability.md``.
"""

from ._files import atomic_write, open_regular
from .container import MAX_HEADER, MAX_JSON_DEPTH, load_arrays, parse_json, save_arrays

__all__ = [
    "atomic_write",
    "open_regular",
    "load_arrays",
    "save_arrays",
    "parse_json",
    "MAX_HEADER",
    "MAX_JSON_DEPTH",
]
