"""Coverage-guided fuzzing (atheris / libFuzzer) of the model-file readers.

    python tools/fuzz_files.py load [--time SECONDS] [--runs N] [--corpus DIR]
    python tools/fuzz_files.py cli  [--time SECONDS] [--runs N] [--corpus DIR]

``load`` feeds each input, as a file, to :func:`fastdense.load`; ``cli`` to the
command line's model reader (:func:`fastdense.io.model_file.load_model`, what
``fastdense predict`` / ``export`` read). The contract (docs/reliability.md):
every failure is a ValueError or an OSError. Anything else (RecursionError,
KeyError, MemoryError, OverflowError...), a crash, a hang (``-timeout``) or a
blow-up of memory (``-rss_limit_mb``) is a finding: libFuzzer stops, writes the
input to ``crash-*`` / ``timeout-*`` / ``oom-*`` and exits non-zero.

The fastdense modules are instrumented for coverage (atheris'
``instrument_imports``); the seed corpus is valid files of every kind (each
estimator, binary/multi-class/multilabel/regression, sgd/adam/lbfgs, string
and numeric labels, a CLI model file, a checkpoint, a state_dict), plus a
dictionary of the format's keys. A structure-aware mutator (:func:`mutate`)
mostly mutates one metadata value (the estimator's JSON entries) or the header
and re-packs the file with a correct header length, so mutations get past the
container into the estimator and CLI readers; the rest are libFuzzer's own
byte mutations.
libFuzzer prints its progress (``cov:`` edges covered, ``ft:`` features,
``corp:`` corpus size, ``exec/s``) and ``Done N runs in S second(s)``.

Run as a child process (tests/test_fuzz_files.py runs it with a small budget,
docs/reliability.md gives the long command): a crash of the harness is then
the child's exit status, never the caller's.
"""

import argparse
import os
import sys
import tempfile
import warnings

_KEYS = [
    "fastdense_kind",
    "DenseBinaryClassifier",
    "DenseClassifier",
    "DenseRegressor",
    "params",
    "fitted",
    "fastdense_format",
    "fastdense_keys",
    "fastdense_version",
    "classes_",
    "classes_dtype",
    "<U",
    "<U9",
    "target_type",
    "multiclass",
    "multilabel-indicator",
    "binary",
    "sparse_target",
    "_optimizer",
    "_SGDState",
    "_AdamState",
    "state1",
    "state2",
    "power_t",
    "learning_rate",
    "t_",
    "n_iter_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "softmax",
    "logistic",
    "identity",
    "exp",
    "loss_curve_",
    "hidden_layer_sizes",
    "class_weight",
    "__items__",
    "__per_label__",
    "coefs_.0",
    "coefs_.1",
    "intercepts_.0",
    "intercepts_.1",
    "preprocess.mean",
    "preprocess.scale",
    "info",
    "columns",
    "one_hot",
    "format",
    "fastdense-cli-model/1",
    "fastdense_checkpoint",
    "__tensor__",
    "__dict__",
    "__list__",
    "__float__",
    "__metadata__",
    "dtype",
    "shape",
    "data_offsets",
    "F32",
    "F64",
    "I64",
    "BF16",
    "feature_names_in_",
    "_fit_dtype",
    "float32",
    "float64",
    "solver",
    "sgd",
    "adam",
    "lbfgs",
    "[[[[",
    "1e308",
    "-1",
    "9223372036854775808",
    "NaN",
    "Infinity",
]


def _seeds(folder):
    """Valid files of every kind the readers accept: the corpus mutations start from."""
    import numpy as np

    import fastdense as fd
    from fastdense.io.model_file import save_model

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y2 = (X[:, 0] > 0).astype(int)
    y3 = np.digitize(X[:, 0], [-0.4, 0.4])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "binary_adam": fd.DenseBinaryClassifier((3,), max_iter=2, random_state=0).fit(X, y2),
            "binary_str_sgd": fd.DenseClassifier(
                (2,), solver="sgd", max_iter=2, learning_rate="invscaling", random_state=0
            ).fit(X, np.where(y2, "a", "b")),
            "multiclass_cw": fd.DenseClassifier(
                (3, 2), max_iter=2, random_state=0, class_weight={0: 1.0, 1: 2.0, 2: 0.5}
            ).fit(X, y3),
            "multilabel": fd.DenseClassifier((2,), max_iter=2, random_state=0).fit(
                X, np.stack([y2, 1 - y2, y2], axis=1)
            ),
            "regressor_lbfgs32": fd.DenseRegressor(
                hidden_layer_sizes=(2,), solver="lbfgs", max_iter=3, random_state=0
            ).fit(X.astype(np.float32), X[:, 0]),
            "poisson": fd.DenseRegressor(
                hidden_layer_sizes=(2,), loss="poisson", max_iter=2, random_state=0
            ).fit(X, np.abs(X[:, 0])),
        }
        for name, model in models.items():
            fd.save(model, os.path.join(folder, name))
        save_model(
            models["binary_adam"],
            os.path.join(folder, "cli_model"),
            mean=X.mean(0),
            scale=X.std(0),
            info={"columns": ["a", "b", "c"]},
        )
        fd.save(fd.nn.Sequential(fd.nn.Linear(3, 2), fd.nn.ReLU()), os.path.join(folder, "sd"))
        import fastdense.torch as fdt

        fdt.save(
            {"epoch": 3, "w": np.ones(2), "nested": [{"a": 1.5}, (2, None)]},
            os.path.join(folder, "checkpoint"),
        )


def mutate(data, max_size, seed):
    """libFuzzer's custom mutator: a file with one metadata value or its header mutated."""
    import json
    import random
    import struct

    import atheris

    rnd = random.Random(seed)
    if len(data) >= 8 and rnd.random() < 0.85:
        (n,) = struct.unpack("<Q", data[:8])
        if n <= len(data) - 8:
            head, rest = data[8 : 8 + n], data[8 + n :]
            try:
                header = json.loads(head)
                meta = header.get("__metadata__") if isinstance(header, dict) else None
            except (ValueError, RecursionError):
                header = meta = None
            if isinstance(meta, dict) and meta and rnd.random() < 0.7:
                key = rnd.choice(sorted(meta))
                # JSON may carry lone surrogates ("\udffd" escapes): keep them as bytes
                value = str(meta[key]).encode("utf-8", "surrogatepass")
                value = atheris.Mutate(value, max(2 * len(value), 64))
                meta[key] = value.decode("utf-8", "replace")
                head = json.dumps(header).encode("utf-8")
            else:
                head = atheris.Mutate(head, max(2 * len(head), 64))
            out = struct.pack("<Q", len(head)) + head + rest
            return out[:max_size] if len(out) > max_size else out
    return atheris.Mutate(data, max_size)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["load", "cli"])
    parser.add_argument(
        "--time", type=int, default=60, help="seconds (libFuzzer's -max_total_time)"
    )
    parser.add_argument("--runs", type=int, default=-1, help="inputs (-runs); -1: no limit")
    parser.add_argument("--corpus", default=None, help="corpus folder (kept between runs)")
    parser.add_argument("--seed", type=int, default=0, help="libFuzzer's -seed (0: random)")
    args, extra = parser.parse_known_args(argv)

    import atheris

    # the heavy dependencies first, uninstrumented; then fastdense, instrumented
    import numpy  # noqa: F401
    import safetensors.numpy  # noqa: F401
    import sklearn.neural_network  # noqa: F401
    import sklearn.preprocessing  # noqa: F401

    with atheris.instrument_imports(include=["fastdense"]):
        import fastdense
        import fastdense.io.checkpoint  # noqa: F401
        import fastdense.io.estimator_file  # noqa: F401
        import fastdense.io.model_file

    work = tempfile.mkdtemp(prefix="fastdense-fuzz-")
    corpus = args.corpus or os.path.join(work, "corpus")
    os.makedirs(corpus, exist_ok=True)
    if not os.listdir(corpus):
        _seeds(corpus)
    dict_path = os.path.join(work, "keys.dict")
    with open(dict_path, "w") as f:
        for key in _KEYS:
            f.write('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"\n')
    case = os.path.join(work, "case")
    read = fastdense.load if args.target == "load" else fastdense.io.model_file.load_model

    def one_input(data):
        with open(case, "wb") as f:
            f.write(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                read(case)
            except (ValueError, OSError):
                pass  # the documented outcome of a bad file

    libfuzzer = [
        sys.argv[0],
        corpus,
        f"-dict={dict_path}",
        f"-max_total_time={args.time}",
        f"-runs={args.runs}",
        "-timeout=20",
        "-max_len=1000000",
        "-rss_limit_mb=3072",
        f"-seed={args.seed}",
        "-print_final_stats=1",
        f"-artifact_prefix={os.getcwd()}{os.sep}",
        *extra,
    ]
    atheris.Setup(libfuzzer, one_input, custom_mutator=mutate)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
