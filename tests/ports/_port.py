"""What the porting scripts share, written once for both libraries.

``data`` makes the tabular data set with NumPy. ``same_start`` makes the two
runs start from the same weights: in the PyTorch run it saves the model's
initial state_dict (as NumPy arrays) to $PORT_STATE; in the fastdense run it
loads that file with ``model.load_state_dict``.

``same_draws`` makes them see the same random draws. fastdense's generator is
not PyTorch's (same distributions, other draws), so the PyTorch run records
what PyTorch drew -- each epoch's shuffled order of the DataLoader and each
training-mode Dropout mask, through a forward hook -- and the fastdense run
replays it: the order through the loader's ``sampler`` (so fastdense's
batching, ``drop_last`` and gathering still run), the masks through a forward
hook on each Dropout that returns ``input * mask / (1 - p)``, as PyTorch
computes dropout. Where a Dropout input is exactly 0 the mask is not
observable (the output is 0 either way) and 1 is replayed.
"""

import atexit
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


def same_draws(model, loader):
    """Record PyTorch's shuffles and dropout masks (PyTorch run), replay them (fastdense run)."""
    path = os.environ.get("PORT_STATE")
    if not path:
        return model, loader
    path += ".draws.npz"
    drops = [m for m in model.modules() if type(m).__name__ == "Dropout"]
    if os.environ.get("PORT_ROLE") == "torch":
        orders, masks = [], []
        sampler = loader.sampler

        class Recording(type(sampler)):
            def __iter__(self):
                order = list(super().__iter__())
                orders.append(np.asarray(order, dtype=np.int64))
                return iter(order)

        sampler.__class__ = Recording

        def record(m, args, out):
            if m.training:
                x, o = args[0].detach().numpy(), out.detach().numpy()
                masks.append((o != 0) | (x == 0))

        for m in drops:
            m.register_forward_hook(record)
        atexit.register(
            lambda: np.savez(
                path,
                **{f"order{i}": o for i, o in enumerate(orders)},
                **{f"mask{i}": k for i, k in enumerate(masks)},
            )
        )
        return model, loader
    with np.load(path) as f:
        orders = [f[f"order{i}"] for i in range(sum(k.startswith("order") for k in f.files))]
        masks = [f[f"mask{i}"] for i in range(sum(k.startswith("mask") for k in f.files))]

    class Replay:
        epoch = 0

        def __iter__(self):
            self.epoch += 1
            return iter(orders[self.epoch - 1].tolist())

        def __len__(self):
            return len(orders[0])

    loader.shuffle, loader.sampler = False, Replay()

    def replay(m, args, out):
        if m.training:
            x = args[0]
            mask = masks.pop(0)
            assert mask.shape == tuple(x.shape), (mask.shape, x.shape)
            return x * (mask.astype(x.dtype) / np.asarray(1 - m.p, dtype=x.dtype))
        return None

    for m in drops:
        m.register_forward_hook(replay)
    return model, loader
