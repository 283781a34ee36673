"""``torch.cuda`` on a machine without CUDA: fastdense runs on the CPU only."""


def is_available() -> bool:
    """False: fastdense runs on the CPU only."""
    return False


def device_count() -> int:
    """0."""
    return 0


def manual_seed(seed: int) -> None:
    """No-op (there is no CUDA generator), as in PyTorch without CUDA."""


manual_seed_all = manual_seed
