"""``torch.backends.mps``: no Apple GPU backend."""


def is_available() -> bool:
    """False: no Apple GPU backend."""
    return False


def is_built() -> bool:
    """False."""
    return False
