"""``torch.backends.cpu``: the SIMD build of fastdense's kernels in use."""


def get_cpu_capability() -> str:
    """The SIMD build of fastdense's kernels in use: "AVX512", "AVX2" or "DEFAULT"."""
    import os

    from ... import _kernels

    folder = os.path.basename(os.path.dirname(_kernels.__file__))
    return {"_avx512": "AVX512", "_avx2": "AVX2"}.get(folder, "DEFAULT")
