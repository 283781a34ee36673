"""The random generator behind parameter initialisation and dropout.

Like PyTorch's default generator this is one generator per process, reseeded
by :func:`manual_seed`: the one piece of global mutable state in fastdense
(the kernels have none). It is a NumPy ``Generator`` (PCG64), so the numbers
differ from PyTorch's for the same seed; the distributions are the same.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["manual_seed", "default_generator"]

_generator = np.random.Generator(np.random.PCG64())


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator used for initialisation and dropout (``torch.manual_seed``).

    Parameters
    ----------
    seed : int
        Non-negative integer.

    Returns
    -------
    numpy.random.Generator
        The newly seeded process-wide generator.

    Examples
    --------
    >>> import fastdense as fd
    >>> _ = fd.manual_seed(0)
    """
    global _generator
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer; got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative; got {seed}")
    _generator = np.random.Generator(np.random.PCG64(int(seed)))
    return _generator


def default_generator() -> np.random.Generator:
    """The process-wide generator (reseeded by :func:`manual_seed`)."""
    return _generator
