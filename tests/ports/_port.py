"""What the porting scripts share, written once for both libraries.

``data`` makes the tabular data set with NumPy. ``same_start`` makes the two
runs start from the same weights: in the PyTorch run it saves the model's
initial state_dict (as NumPy arrays) to $PORT_STATE; in the fastdense run it
loads that file with ``model.load_state_dict``.
"""

import os

import numpy as np


def data(n=256, d=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal(d)
    y = ((X @ w + 0.5 * rng.standard_normal(n)) > 0).astype(np.float32).reshape(-1, 1)
    return X, y


def same_start(model):
    path = os.environ.get("PORT_STATE")
    if not path:
        return model
    if os.environ.get("PORT_ROLE") == "torch":
        np.savez(path, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
    else:
        with np.load(path) as f:
            model.load_state_dict({k: f[k] for k in f.files})
    return model
