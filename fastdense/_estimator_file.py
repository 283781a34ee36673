"""Moved to :mod:`fastdense.io.estimator_file`; this old path stays importable."""

from .io.estimator_file import *  # noqa: F401,F403
from .io.estimator_file import (  # noqa: F401
    _FITTED,
    _KIND,
    _REQUIRED,
    _REQUIRED_STOCHASTIC,
    CLI_FORMAT,
    CLI_PREPROCESS,
    ESTIMATOR_KIND,
    KINDS,
    estimator_arrays,
    estimator_from,
    read_estimator,
)
