"""``torch.backends.openmp``: fastdense's kernels use OpenMP threads."""


def is_available() -> bool:
    """True: fastdense's kernels run their threads with OpenMP."""
    return True
