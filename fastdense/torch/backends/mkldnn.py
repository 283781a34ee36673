"""``torch.backends.mkldnn``: the flag, and no oneDNN."""

enabled = True


def is_available() -> bool:
    """False: fastdense's kernels call BLAS directly, not oneDNN."""
    return False
