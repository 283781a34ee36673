"""PyTorch's OpInfo database run through fastdense: scope, translation, comparison.

Shared by ``tests/test_opinfo.py`` (the differential suite) and
``tools/gen_pytorch_coverage.py`` (the coverage table in docs/pytorch_api.md).
PyTorch defines its own operator surface by ``op_db`` (each entry an op with
its ``sample_inputs``); fastdense's scope is that database minus the families
listed in :data:`EXCLUDED` with their reasons. For every in-scope op whose name
resolves in fastdense, torch's sample inputs (float32 and float64) are
converted to fastdense tensors, the op runs in both libraries, and the outputs
(shape, dtype, values) and the gradients of a random cotangent must agree.
"""

from __future__ import annotations

import re
import types
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

# family -> (regular expression on the OpInfo name, reason it is out of scope)
EXCLUDED: "Dict[str, Tuple[str, str]]" = {
    "fft": (r"^fft\.", "spectral transforms: no dense-network use on tabular data"),
    "linalg": (
        r"^(linalg\.|cholesky|cholesky_inverse|cholesky_solve|lu|lu_solve|lu_unpack|qr|svd"
        r"|svd_lowrank|pca_lowrank|geqrf|ormqr|triangular_solve|pinverse|matrix_exp"
        r"|logdet|det|inverse)$|^linalg\.",
        "matrix decompositions and solvers: NumPy/SciPy's LAPACK is the tool for these",
    ),
    "special": (
        r"^special\.",
        "special functions beyond the everyday ones (erf, lgamma, ...): use scipy.special",
    ),
    "signal": (r"^(signal\.|stft|istft)", "signal processing windows and transforms"),
    "sparse": (r"^(sparse\.|to_sparse)", "sparse layouts: fastdense tensors are dense"),
    "masked": (r"^masked\.", "masked-tensor reductions (torch.masked is a prototype)"),
    "complex": (
        r"^(complex|view_as_complex|view_as_real|real|imag|angle|conj|conj_physical"
        r"|resolve_conj|resolve_neg|polar|cfloat|cdouble|chalf|isreal|sgn|vdot)$",
        "complex numbers: fastdense tensors are real",
    ),
    "convolution, pooling, image": (
        r"^(nn\.functional\.(conv|.*pool|interpolate|upsample|grid_sample|pixel_|unfold"
        r"|channel_shuffle|local_response_norm|instance_norm|pad|affine_grid|fold)"
        r"|grid_sampler|_upsample|max_pool|constant_pad_nd|unfold|unfold_copy|im2col|col2im"
        r"|rot90)",
        "spatial layers for images and sequences: fastdense is for dense networks",
    ),
    "attention, sequence losses": (
        r"^(nn\.functional\.(scaled_dot_product_attention|multi_head_attention_forward"
        r"|ctc_loss|linear_cross_entropy)|torch\.ops\.aten\._(efficient|flash))",
        "attention and sequence models: not dense networks",
    ),
    "random sampling": (
        r"^(bernoulli|cauchy|exponential|geometric|log_normal|normal|uniform|multinomial"
        r"|rand|randn|rand_like|randn_like|randint_like|randint|nn\.functional\.(rrelu|dropout.*|alpha_dropout"
        r"|feature_alpha_dropout)|native_dropout_backward)$",
        "random draws: fastdense has its own stream, so values cannot match torch's "
        "(the methods exist; their distributions are tested separately)",
    ),
    "uninitialised memory": (
        r"^(empty|empty_like|empty_permuted|empty_strided|new_empty|new_empty_strided|resize_"
        r"|resize_as_)$",
        "values are undefined in PyTorch, so there is nothing to compare",
    ),
    "strides and memory layout": (
        r"^(as_strided|as_strided_copy|as_strided_scatter|hash_tensor)$",
        "fastdense tensors are dense NumPy arrays without user-visible strides",
    ),
    "bfloat16": (
        r"^(bfloat16)$",
        "NumPy has no bfloat16 arithmetic: Tensor.bfloat16() raises TypeError naming it",
    ),
    "internal aten ops": (
        r"^(_|torch\._|torch\.ops\.|jiterator_|native_|nn\.functional\.embedding_bag$)",
        "private ATen entry points and CUDA-only test ops, not part of the user API",
    ),
    "histograms, unique, sets": (
        r"^(histogram|histogramdd|unique|unique_consecutive|nonzero_static)$",
        "data-dependent output shapes beyond the everyday ones; use NumPy",
    ),
}

_EXCLUDED_RE = [(fam, re.compile(rx)) for fam, (rx, _) in EXCLUDED.items()]


def family_of_excluded(name: str) -> Optional[str]:
    """The excluded family an OpInfo name falls in, or None when it is in scope."""
    for fam, rx in _EXCLUDED_RE:
        if rx.search(name):
            return fam
    return None


def family(name: str) -> str:
    """The family under which an in-scope op is counted in the coverage table."""
    if name.startswith("nn.functional."):
        return "nn.functional"
    if name.startswith("__"):
        return "operators"
    return "tensor ops"


# ------------------------------------------------------------------ translation


def _fd():
    import fastdense.torch as fdt

    return fdt


def resolve(op) -> Optional[Callable]:
    """The fastdense callable for an OpInfo entry, or None if fastdense lacks the name."""
    import fastdense.nn.functional as F
    from fastdense.autograd import Tensor

    fdt = _fd()
    fn = op.op
    name = op.name
    if isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>":
        # OpInfo's lambda, with `torch` in its globals rebound to fastdense.torch
        glb = dict(fn.__globals__)
        glb["torch"] = fdt
        glb["F"] = F
        return types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    if name.startswith("nn.functional."):
        attr = name[len("nn.functional.") :]
        return getattr(F, attr, None) if attr in getattr(F, "__dict__", {}) else None
    if name.startswith("__r"):  # reflected operators: other.__rop__(input) as PyTorch's lambda
        meth = name
        if meth in Tensor.__dict__:
            return lambda x, *a, **k: getattr(x, meth)(*a, **k)
        return None
    base = name.split(".")[-1]
    if base in fdt.__dict__ and callable(fdt.__dict__[base]):
        return fdt.__dict__[base]
    if type(fn).__name__ == "OpOverload" and base + "_copy" in fdt.__dict__:
        # an ATen view op (torch.ops.aten.slice): fastdense has no aten namespace, its public
        # twin torch.<name>_copy takes the same arguments and gives the same values
        return fdt.__dict__[base + "_copy"]
    m = _tensor_attr(Tensor, base)
    if m is not None:
        return lambda x, *a, **k: getattr(x, base)(*a, **k)
    return None


def _tensor_attr(cls, name):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


# torch module class name -> its constructor arguments, for modules that samples pass as arguments
_MODULE_ARGS: "Dict[str, Callable[[Any], tuple]]" = {
    "PairwiseDistance": lambda m: (m.norm, m.eps, m.keepdim),
    "CosineSimilarity": lambda m: (m.dim, m.eps),
}


def to_fd(x: Any, leaves: list) -> Any:
    """A torch structure with fastdense tensors, dtypes, devices and memory formats in it."""
    import torch

    fdt = _fd()
    if isinstance(x, torch.Tensor):
        arr = x.detach().cpu().numpy().copy()
        t = fdt.tensor(arr, dtype=arr.dtype)
        if x.requires_grad:
            t.requires_grad_(True)
            leaves.append((x, t))
        return t
    if isinstance(x, torch.dtype):
        return getattr(fdt, str(x).replace("torch.", ""))
    if isinstance(x, torch.device):
        return fdt.device(str(x))
    if isinstance(x, torch.memory_format):
        return getattr(fdt, str(x).replace("torch.", ""))
    if isinstance(x, torch.Size):
        return tuple(x)
    if isinstance(x, torch.nn.Module) and type(x).__name__ in _MODULE_ARGS:
        # a module passed as an argument (a loss's distance_function): fastdense's own
        import fastdense.nn as fnn

        return getattr(fnn, type(x).__name__)(*_MODULE_ARGS[type(x).__name__](x))
    if isinstance(x, tuple):
        return tuple(to_fd(v, leaves) for v in x)
    if isinstance(x, list):
        return [to_fd(v, leaves) for v in x]
    if isinstance(x, dict):
        return {k: to_fd(v, leaves) for k, v in x.items()}
    return x


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flat(o))
        return res
    return [out]


class Mismatch(AssertionError):
    """fastdense and torch disagree on one sample."""


def _tol(dtype, grad: bool = False) -> Tuple[float, float]:
    """(rtol, atol): float32 values to 1e-4, float32 gradients to 1e-3 (torch and fastdense
    sum in different orders), float64 values to 1e-7 and gradients to 1e-6."""
    import torch

    if dtype == torch.float32:
        return (1e-3, 1e-3) if grad else (1e-4, 1e-4)
    return (1e-6, 1e-6) if grad else (1e-7, 1e-7)


def _compare(name: str, t_out: Any, f_out: Any, tol, what: str, dtypes: bool = True) -> None:
    import torch

    from fastdense.autograd import Tensor

    if isinstance(t_out, torch.Tensor):
        if not isinstance(f_out, Tensor):
            raise Mismatch(f"{what}: expected a Tensor, got {type(f_out).__name__}")
        fa = np.asarray(f_out._data)
        if tuple(t_out.shape) != fa.shape:
            raise Mismatch(f"{what}: shape {fa.shape} != torch's {tuple(t_out.shape)}")
        tdt = str(t_out.dtype).replace("torch.", "")
        if dtypes and tdt != str(fa.dtype) and not (tdt == "bool" and fa.dtype == np.bool_):
            raise Mismatch(f"{what}: dtype {fa.dtype} != torch's {tdt}")
        ref = t_out.detach().numpy()
        rtol, atol = tol
        if fa.dtype.kind == "f":
            ok = np.allclose(fa, ref, rtol=rtol, atol=atol, equal_nan=True)
        else:
            ok = np.array_equal(fa, ref)
        if not ok:
            with np.errstate(all="ignore"):
                err = np.nanmax(np.abs(fa.astype(np.float64) - ref.astype(np.float64)))
            raise Mismatch(f"{what}: values differ (max abs diff {err:.3g})")
    elif isinstance(t_out, (tuple, list)):
        if not isinstance(f_out, (tuple, list)) or len(f_out) != len(t_out):
            raise Mismatch(f"{what}: expected a sequence of {len(t_out)}, got {f_out!r:.80}")
        for i, (a, b) in enumerate(zip(t_out, f_out)):
            _compare(name, a, b, tol, f"{what}[{i}]", dtypes)
    elif isinstance(t_out, (bool, int, float)):
        fv = f_out.item() if isinstance(f_out, Tensor) else f_out
        if isinstance(t_out, float):
            if not np.isclose(fv, t_out, rtol=tol[0], atol=tol[1], equal_nan=True):
                raise Mismatch(f"{what}: {fv} != torch's {t_out}")
        elif fv != t_out:
            raise Mismatch(f"{what}: {fv!r} != torch's {t_out!r}")


def _double(x: Any) -> Any:
    """A torch structure with its float32 tensors in float64 (leaves keep requires_grad)."""
    import torch

    if isinstance(x, torch.Tensor):
        if x.dtype != torch.float32:
            return x
        return x.detach().double().requires_grad_(x.requires_grad)
    if isinstance(x, (tuple, list)):
        return type(x)(_double(v) for v in x)
    if isinstance(x, dict):
        return {k: _double(v) for k, v in x.items()}
    return x


def run_sample(
    op, fn: Callable, sample, dtype, rng: np.random.Generator, reference64: bool = False
) -> None:
    """Run one torch sample through torch and fastdense; raise Mismatch (or the error) on a
    difference in outputs or gradients.

    With ``reference64``, torch computes in float64 what fastdense computes in
    float32 (PyTorch's own float32 kernels round differently from NumPy's: the
    float64 result is the truth both are measured against), and dtypes are
    not compared.
    """
    import torch

    tol = _tol(dtype)
    leaves: list = []
    f_in = to_fd(sample.input, leaves)
    f_args = to_fd(sample.args, leaves)
    f_kwargs = to_fd(sample.kwargs, leaves)
    if reference64:
        t_in, t_args, t_kwargs = (
            _double(sample.input),
            _double(sample.args),
            _double(sample.kwargs),
        )
        flat_t = [
            t
            for t in _flat([t_in, list(t_args), list(t_kwargs.values())])
            if isinstance(t, torch.Tensor) and t.requires_grad
        ]
        leaves = [(t, f) for t, (_, f) in zip(flat_t, leaves)]
        t_out = op.op(t_in, *t_args, **t_kwargs)
    else:
        t_out = op.op(sample.input, *sample.args, **sample.kwargs)
    f_out = fn(f_in, *f_args, **f_kwargs)
    _compare(op.name, t_out, f_out, tol, "output", not reference64)
    if not op.supports_autograd or not leaves:
        return
    t_flat = [o for o in _flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
    if not t_flat:
        return
    f_flat = [
        o
        for o in _flat(f_out)
        if getattr(o, "requires_grad", False) or getattr(o, "grad_fn", None) is not None
    ]
    t_all = [o for o in _flat(t_out) if isinstance(o, torch.Tensor)]
    f_all = _flat(f_out)
    pairs = [(t, f) for t, f in zip(t_all, f_all) if t.requires_grad]
    if len(f_flat) < len(pairs):
        raise Mismatch("backward: fastdense output has no graph where torch's has one")
    cots = [
        torch.from_numpy(rng.standard_normal(tuple(t.shape)).astype(str(f._data.dtype))).to(t.dtype)
        for t, f in pairs
    ]
    t_leaves = [t for t, _ in leaves]
    t_grads = torch.autograd.grad([t for t, _ in pairs], t_leaves, cots, allow_unused=True)
    total = None
    for (_, f), c in zip(pairs, cots):
        term = (f * _fd().tensor(c.numpy(), dtype=f._data.dtype)).sum()
        total = term if total is None else total + term
    total.backward()
    for i, ((tl, fl), tg) in enumerate(zip(leaves, t_grads)):
        fg = fl.grad
        if tg is None:
            if fg is not None and np.any(np.asarray(fg._data) != 0):
                raise Mismatch(f"grad[{i}]: nonzero where torch's is unused")
            continue
        if fg is None:
            if torch.any(tg != 0):
                raise Mismatch(f"grad[{i}]: missing")
            continue
        _compare(op.name, tg, fg, _tol(dtype, True), f"grad[{i}]", not reference64)


def dtypes_for(op) -> list:
    """float32 and float64 when the op supports them, else its integer or bool dtype."""
    import torch

    sup = op.supported_dtypes("cpu")
    dts = [d for d in (torch.float32, torch.float64) if d in sup]
    if not dts:
        dts = [d for d in (torch.int64, torch.bool) if d in sup][:1]
    return dts


MAX_SAMPLES = 4  # per op and dtype: the whole suite in CI's time budget


def run_op(op, max_samples: int = MAX_SAMPLES, seed: int = 0) -> Optional[str]:
    """None if the op passes on its first `max_samples` samples in each dtype, else the
    first failure as a line of text."""
    import torch

    fn = resolve(op)
    if fn is None:
        return "missing"
    rng = np.random.default_rng(seed)
    for dtype in dtypes_for(op):
        torch.manual_seed(seed)
        try:
            samples = op.sample_inputs(
                "cpu", dtype, requires_grad=op.supports_autograd and dtype.is_floating_point
            )
            for k, sample in enumerate(samples):
                if k >= max_samples:
                    break
                try:
                    try:
                        state = rng.bit_generator.state
                        run_sample(op, fn, sample, dtype, rng)
                    except Mismatch as exc:
                        if dtype != torch.float32 or "values differ" not in str(exc):
                            raise
                        rng.bit_generator.state = state  # (the same cotangents)
                        run_sample(op, fn, sample, dtype, rng, reference64=True)
                except AttributeError as exc:
                    if "fastdense" in str(exc):  # OpInfo's lambda reached a name we lack
                        return "missing"
                    raise
                except Exception as exc:  # noqa: BLE001 - reported per sample
                    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    return f"{str(dtype)[6:]} sample {k}: {type(exc).__name__}: {msg[:160]}"
        except Exception as exc:  # noqa: BLE001 - torch's sample generation itself
            return f"{str(dtype)[6:]} samples: {type(exc).__name__}: {str(exc)[:160]}"
    return None


def in_scope_ops() -> list:
    """Every OpInfo entry not in an excluded family, as (key, op)."""
    from torch.testing._internal.common_methods_invocations import op_db

    res = []
    for op in op_db:
        if family_of_excluded(op.name) is None:
            key = op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")
            res.append((key, op))
    return res


def excluded_counts() -> Dict[str, int]:
    from torch.testing._internal.common_methods_invocations import op_db

    counts: Dict[str, int] = {}
    for op in op_db:
        fam = family_of_excluded(op.name)
        if fam is not None:
            counts[fam] = counts.get(fam, 0) + 1
    return counts


def run_all(max_samples: int = MAX_SAMPLES) -> Dict[str, Optional[str]]:
    """key -> None (pass) / 'missing' / failure text, for every in-scope op."""
    import warnings

    res = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            for key, op in in_scope_ops():
                res[key] = run_op(op, max_samples)
    return res


START, END = "<!-- opinfo-coverage:start -->", "<!-- opinfo-coverage:end -->"


def coverage_table(results: Dict[str, Optional[str]]) -> str:
    """The Markdown coverage table (by family), with the excluded families and reasons."""
    fams: Dict[str, List[int]] = {}
    for key, r in results.items():
        f = family(key)
        c = fams.setdefault(f, [0, 0, 0])
        c[0] += 1
        if r is None:
            c[1] += 1
        elif r == "missing":
            c[2] += 1
    lines = ["| family | in scope | passing | missing | failing |", "|---|---|---|---|---|"]
    tot = [0, 0, 0]
    for f in sorted(fams):
        n, p, m = fams[f]
        tot = [tot[0] + n, tot[1] + p, tot[2] + m]
        lines.append(f"| {f} | {n} | {p} | {m} | {n - p - m} |")
    n, p, m = tot
    lines.append(
        f"| **all in scope** | **{n}** | **{p} ({100 * p / max(n, 1):.0f}%)** | "
        f"**{m}** | **{n - p - m}** |"
    )
    lines += ["", "| excluded family | OpInfo entries | reason |", "|---|---|---|"]
    for f, c in sorted(excluded_counts().items()):
        lines.append(f"| {f} | {c} | {EXCLUDED[f][1]} |")
    for what, pick in (
        ("Missing (no name in fastdense yet)", lambda r: r == "missing"),
        ("Failing", lambda r: r is not None and r != "missing"),
    ):
        lines += [
            "",
            f"{what}: "
            + (", ".join(f"`{k}`" for k, r in sorted(results.items()) if pick(r)) or "none")
            + ".",
        ]
    return "\n".join(lines)
