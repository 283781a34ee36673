"""``torch.backends.mkl``: fastdense uses OpenBLAS, not MKL."""


def is_available() -> bool:
    """False: fastdense uses the BLAS NumPy and SciPy ship (OpenBLAS), not MKL."""
    return False
