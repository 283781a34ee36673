"""Pickles of ``fastdense.nn`` modules made before nn was split into one family per file still load.

``tests/data/pre_nn_reorg_modules.pkl`` was written by the code of commit 37f6ca2
(``tests/data/make_pre_nn_reorg_pickle.py``): its classes are named by their old
paths (``fastdense.nn.modules.Linear``, ``fastdense.nn.layers.BatchNorm1d``, ...).
Loaded today they are today's classes, compute what they computed then, and train.
"""

import os
import pickle
import pickletools
import warnings

import numpy as np

from fastdense import VersionWarning, nn, optim
from fastdense.autograd import tensor

FIXTURE = os.path.join(os.path.dirname(__file__), "data", "pre_nn_reorg_modules.pkl")


def _load():
    with open(FIXTURE, "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", VersionWarning)
        return pickle.load(f)


def test_the_fixture_names_the_old_module_paths():
    with open(FIXTURE, "rb") as f:
        strings = {arg for op, arg, _ in pickletools.genops(f.read()) if isinstance(arg, str)}
    assert {"fastdense.nn.modules", "fastdense.nn.layers"} <= strings


def test_old_module_pickles_load_compute_and_train():
    data = _load()
    model, heads, losses = data["model"], data["heads"], data["losses"]
    assert type(model) is nn.Sequential and type(model[1]) is nn.BatchNorm1d
    assert type(heads["proba"]) is nn.LogSoftmax and type(losses["ce"]) is nn.CrossEntropyLoss
    model.eval()
    # (LayerNorm and GELU now run as one node each: the same formulas, float32 rounding)
    np.testing.assert_allclose(
        heads["proba"](model(data["X"])).numpy(), data["expected"], rtol=1e-5, atol=1e-6
    )
    model.train()
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = model[0].weight.detach().numpy().copy()
    for name in ("ce", "bce", "mse", "huber"):
        opt.zero_grad()
        out = model(data["X"])
        if name == "ce":
            loss = losses[name](out, tensor(data["y"]))
        else:
            loss = losses[name](out[:, :1], np.ones((16, 1), np.float32))
        loss.backward()
        opt.step()
    assert not np.array_equal(before, model[0].weight.detach().numpy())
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again[0].weight.numpy(), model[0].weight.numpy())


def test_old_module_paths_are_the_new_classes():
    from fastdense.nn import layers, modules

    assert modules.Linear is nn.Linear and modules.Sequential is nn.Sequential
    assert modules.Module is nn.Module and modules.BCEWithLogitsLoss is nn.BCEWithLogitsLoss
    assert layers.BatchNorm1d is nn.BatchNorm1d and layers.CrossEntropyLoss is nn.CrossEntropyLoss
    assert layers.ModuleList is nn.ModuleList and layers.GELU is nn.GELU
