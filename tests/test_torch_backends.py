"""fastdense.torch.backends and fastdense.torch.cuda answer as PyTorch's CPU build does."""

import pytest

import fastdense.torch as ft

torch = pytest.importorskip("torch")

SAME_ANSWER = [
    "cuda.is_available()",
    "cuda.device_count()",
    "cuda.is_initialized()",
    "cuda.is_bf16_supported()",
    "cuda.memory_allocated()",
    "cuda.max_memory_allocated()",
    "cuda.memory_reserved()",
    "cuda.manual_seed(0)",
    "cuda.manual_seed_all(0)",
    "cuda.seed()",
    "cuda.seed_all()",
    "cuda.empty_cache()",
    "backends.cudnn.is_available()",
    "backends.cudnn.version()",
    "backends.mps.is_available()",
    "backends.mps.is_built()",
    "backends.cuda.is_built()",
    "backends.openmp.is_available()",
    "are_deterministic_algorithms_enabled()",
]
NEEDS_GPU = [
    "current_device()",
    "synchronize()",
    "get_device_name(0)",
    "get_device_properties(0)",
    "get_device_capability()",
    "init()",
    "get_rng_state()",
    "initial_seed()",
    "mem_get_info()",
]
FLAGS = [
    "cudnn.enabled",
    "cudnn.benchmark",
    "cudnn.deterministic",
    "cudnn.allow_tf32",
    "cuda.matmul.allow_tf32",
]


@pytest.mark.parametrize("expr", SAME_ANSWER)
def test_same_answer_as_torch_cpu_build(expr):
    if not expr.startswith("are_") and torch.cuda.is_available():
        pytest.skip("torch has a GPU here")
    assert eval("ft." + expr) == eval("torch." + expr)


@pytest.mark.parametrize("call", NEEDS_GPU)
def test_gpu_calls_raise_naming_the_call(call):
    with pytest.raises(AssertionError, match=r"torch\.cuda\." + call.split("(")[0]):
        eval("ft.cuda." + call)


@pytest.mark.parametrize("flag", FLAGS)
def test_flags_have_torch_defaults_and_can_be_set(flag):
    owner, name = flag.rsplit(".", 1)
    fd_obj = eval("ft.backends." + owner)
    assert getattr(fd_obj, name) == getattr(eval("torch.backends." + owner), name)
    old = getattr(fd_obj, name)
    try:
        setattr(fd_obj, name, not old)
        assert getattr(fd_obj, name) is (not old)
    finally:
        setattr(fd_obj, name, old)


def test_deterministic_switch():
    ft.use_deterministic_algorithms(True)
    try:
        assert ft.are_deterministic_algorithms_enabled()
    finally:
        ft.use_deterministic_algorithms(False)
    with pytest.raises(TypeError):
        ft.use_deterministic_algorithms("yes")
    assert ft.backends.cpu.get_cpu_capability() in ("AVX512", "AVX2", "DEFAULT")
