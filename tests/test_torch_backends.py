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


_IMPORTED = {"annotations", "contextmanager", "Iterator", "Optional", "SimpleNamespace"}


def test_backend_submodules_import_by_dotted_path_as_in_torch():
    import importlib

    import fastdense.torch.backends.cudnn as cudnn
    from fastdense.torch.backends import cudnn as cudnn2

    assert cudnn is cudnn2 is ft.backends.cudnn
    for name in ("cudnn", "cuda", "mps", "mkldnn", "openmp", "mkl", "cpu"):
        fd_mod = importlib.import_module(f"fastdense.torch.backends.{name}")
        t_mod = importlib.import_module(f"torch.backends.{name}")
        assert fd_mod is getattr(ft.backends, name)
        public = [n for n in vars(fd_mod) if not n.startswith("_") and n not in _IMPORTED]
        assert public and all(hasattr(t_mod, n) for n in public), (name, public)
    old = cudnn.benchmark
    try:
        cudnn.benchmark = not old  # what a script writes after `import ... as cudnn`
        assert ft.backends.cudnn.benchmark is (not old)
    finally:
        cudnn.benchmark = old


def test_cudnn_flags_context_restores_as_torch():
    import torch.backends.cudnn as t_cudnn

    import fastdense.torch.backends.cudnn as cudnn

    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    assert cudnn.benchmark_limit == t_cudnn.benchmark_limit  # (None in a CPU build)
    before = [getattr(cudnn, n) for n in names]
    with (
        cudnn.flags(enabled=True, benchmark=True, deterministic=True),
        t_cudnn.flags(enabled=True, benchmark=True, deterministic=True),
    ):
        assert [getattr(cudnn, n) for n in names] == [getattr(t_cudnn, n) for n in names]
    assert [getattr(cudnn, n) for n in names] == before
