"""Generate the API reference pages docs/api/*.md from the docstrings.

    python tools/gen_api_docs.py            # (re)writes docs/api/
    python tools/gen_api_docs.py --check    # exit 1 if the pages are out of date

Run it with the package importable (built in place or installed). Numpydoc
sections become Markdown: headers, parameter lists, Examples as code blocks.
"""

import argparse
import inspect
import os
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "docs", "api")

SECTIONS = {
    "Parameters",
    "Returns",
    "Yields",
    "Attributes",
    "Raises",
    "See Also",
    "Notes",
    "Examples",
    "Warns",
    "Other Parameters",
    "References",
    "Shape",
    "Args",
}
LISTS = {"Parameters", "Returns", "Yields", "Attributes", "Raises", "Warns", "Other Parameters"}


def docstring_to_md(doc):
    lines = textwrap.dedent(inspect.cleandoc(doc or "")).splitlines()
    out, section, i = [], None, 0
    in_code = False
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() in SECTIONS and set(nxt.strip()) == {"-"}:
            if in_code:
                out.append("```")
                in_code = False
            section = line.strip()
            out += ["", f"**{section}**", ""]
            i += 2
            if section == "Examples":
                out.append("```python")
                in_code = True
            continue
        if section in LISTS:
            if line and not line.startswith(" "):
                name, _, kind = line.partition(" : ")
                out.append(f"- `{name.strip()}`" + (f" : {kind.strip()}" if kind else ""))
            elif line.strip():
                out.append("  " + line.strip())
            else:
                out.append("")
        else:
            out.append(line[4:] if line.startswith("    ") and not in_code else line)
        i += 1
    if in_code:
        out.append("```")
    text = "\n".join(out).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def signature(name, obj):
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return name
    return f"{name}{sig}"


def document(name, obj, level=3, members=()):
    parts = [
        f"{'#' * level} `{name}`",
        "",
        "```python",
        signature(name, obj),
        "```",
        "",
        docstring_to_md(obj.__doc__),
    ]
    for member in members:
        attr = getattr(obj, member, None)
        if attr is None:
            continue
        target = attr.fget if isinstance(attr, property) else attr
        sig = member if isinstance(attr, property) else signature(member, target)
        parts += [
            "",
            f"{'#' * (level + 1)} `{name}.{member}`",
            "",
            "```python",
            sig,
            "```",
            "",
            docstring_to_md(target.__doc__),
        ]
    return "\n".join(parts)


def page(title, intro, entries):
    body = [f"# {title}", "", intro, ""]
    body += [f"- [`{name}`](#{name.lower().replace('.', '')})" for name, *_ in entries]
    body.append("")
    for name, obj, members in entries:
        body += [document(name, obj, members=members), ""]
    return "\n".join(body).rstrip() + "\n"


def pages():
    import fastdense as fd
    from fastdense import kernels, nn, optim, plot
    from fastdense.nn import functional
    from fastdense.optim import lr_scheduler

    est = fd.DenseBinaryClassifier
    estimator = page(
        "API reference: the scikit-learn estimator",
        "Generated from the docstrings by `tools/gen_api_docs.py`. Parameter by parameter "
        "next to MLPClassifier: [coming from MLPClassifier](../from_mlpclassifier.md).",
        [
            (
                "DenseBinaryClassifier",
                est,
                [
                    "fit",
                    "partial_fit",
                    "predict",
                    "predict_proba",
                    "predict_log_proba",
                    "decision_function",
                    "score",
                    "module_",
                    "set_callbacks",
                ],
            ),
            (
                "DenseClassifier",
                fd.DenseClassifier,
                ["fit", "partial_fit", "predict", "predict_proba", "predict_log_proba", "score"],
            ),
            ("DenseRegressor", fd.DenseRegressor, ["fit", "partial_fit", "predict", "score"]),
            ("DenseFeatures", fd.DenseFeatures, ["fit", "transform", "get_feature_names_out"]),
            ("fastdense.gradcheck", fd.gradcheck, []),
            ("fastdense.plot.loss_curve", plot.loss_curve, []),
            ("fastdense.plot.benchmark", plot.benchmark, []),
        ],
    )
    module_members = [
        "forward",
        "parameters",
        "named_parameters",
        "state_dict",
        "load_state_dict",
        "train",
        "eval",
        "zero_grad",
        "to",
        "double",
    ]
    nn_entries = [
        (f"nn.{n}", getattr(nn, n), module_members if n == "Module" else [])
        for n in nn.__all__
        if n not in ("functional", "Parameter", "init", "utils")
    ]
    nn_entries += [
        (f"nn.functional.{n}", getattr(functional, n), [])
        for n in getattr(functional, "__all__", [])
    ]
    nn_entries += [
        (
            "optim.Optimizer",
            optim.Optimizer,
            [
                "zero_grad",
                "step",
                "state_dict",
                "load_state_dict",
                "add_param_group",
                "register_step_pre_hook",
                "register_step_post_hook",
            ],
        )
    ]
    nn_entries += [(f"nn.init.{n}", getattr(nn.init, n), []) for n in nn.init.__all__]
    nn_entries += [(f"nn.utils.{n}", getattr(nn.utils, n), []) for n in nn.utils.__all__]
    nn_entries += [
        (f"optim.{n}", getattr(optim, n), [])
        for n in optim.__all__
        if n not in ("Optimizer", "lr_scheduler")
    ]
    nn_entries += [
        (f"optim.lr_scheduler.{n}", getattr(lr_scheduler, n), [])
        for n in getattr(lr_scheduler, "__all__", [])
    ]
    nn_entries += [
        ("Tensor", fd.Tensor, ["backward", "item", "numpy", "detach"]),
        ("Parameter", fd.Parameter, []),
        ("no_grad", fd.no_grad, []),
        ("enable_grad", fd.enable_grad, []),
        ("manual_seed", fd.manual_seed, []),
        ("from_torch", fd.from_torch, []),
        ("to_torch", fd.to_torch, []),
    ]
    import fastdense.torch as ft
    from fastdense.torch.utils import data

    nn_entries += [
        (f"torch.{n}", getattr(ft, n), [])
        for n in (
            "tensor",
            "from_numpy",
            "cat",
            "allclose",
            "set_grad_enabled",
            "device",
            "save",
            "load",
        )
    ]
    nn_entries += [
        (f"torch.utils.data.{n}", getattr(data, n), [])
        for n in (
            "Dataset",
            "TensorDataset",
            "ConcatDataset",
            "Subset",
            "random_split",
            "DataLoader",
            "Generator",
            "Sampler",
            "SequentialSampler",
            "RandomSampler",
            "SubsetRandomSampler",
            "WeightedRandomSampler",
            "BatchSampler",
        )
    ]
    nn_page = page(
        "API reference: fastdense.nn and fastdense.optim (PyTorch-compatible)",
        "Generated from the docstrings by `tools/gen_api_docs.py`. The differences from "
        "PyTorch: [coming from PyTorch](../pytorch_api.md).",
        nn_entries,
    )
    kernel_names = [
        n
        for n in (
            "dense_forward",
            "dense_backward",
            "bce_with_logits",
            "torch_sgd_step",
            "torch_adam_step",
            "sklearn_sgd_step",
            "sklearn_adam_step",
        )
        if hasattr(kernels, n)
    ]
    kernels_page = page(
        "API reference: fastdense.kernels",
        "Generated from the docstrings by `tools/gen_api_docs.py`. Validated entry points to "
        "single fused kernels (the compiled `fastdense._kernels`, typed in "
        "`fastdense/_kernels.pyi`); the math they implement is derived step by step in "
        "[Backpropagation, step by step](../backprop.md).",
        [(f"kernels.{n}", getattr(kernels, n), []) for n in kernel_names],
    )
    from fastdense import onnx as fd_onnx  # imports onnx only when a function runs

    onnx_page = page(
        "API reference: fastdense.onnx",
        "Generated from the docstrings by `tools/gen_api_docs.py`. How to export, run and "
        "deploy, with the graph's ops and precision: [deployment](../deploy.md).",
        [
            ("fastdense.onnx.to_onnx", fd_onnx.to_onnx, []),
            ("fastdense.onnx.register_skl2onnx", fd_onnx.register_skl2onnx, []),
        ],
    )
    return {
        "estimator.md": estimator,
        "nn_optim.md": nn_page,
        "kernels.md": kernels_page,
        "onnx.md": onnx_page,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    stale = []
    for name, text in pages().items():
        path = os.path.join(OUT, name)
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            stale.append(name)
            if not args.check:
                with open(path, "w") as f:
                    f.write(text)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python tools/gen_api_docs.py")
        return 1
    print(("checked " if args.check else "wrote ") + ", ".join(sorted(pages())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
