"""How tests/data/pre_nn_reorg_modules.pkl was made: with the code of commit 37f6ca2,
before ``fastdense.nn`` was split into one concept family per file (its pickles name
``fastdense.nn.modules.Linear``/``Sequential``/``ReLU``/``BCEWithLogitsLoss`` and
``fastdense.nn.layers.BatchNorm1d``/``LayerNorm``/``GELU``/``CrossEntropyLoss``...).

    git worktree add /tmp/old 37f6ca2 && cd /tmp/old && python setup.py build_ext --inplace
    PYTHONPATH=/tmp/old python tests/data/make_pre_nn_reorg_pickle.py tests/data/pre_nn_reorg_modules.pkl

Run with today's code it writes a pickle of today's classes (not the fixture's purpose).
"""

import pickle
import sys

import numpy as np

import fastdense
from fastdense import nn

fastdense.manual_seed(0)
model = nn.Sequential(
    nn.Linear(3, 8),
    nn.BatchNorm1d(8),
    nn.ReLU(),
    nn.Dropout(0.1),
    nn.Linear(8, 6),
    nn.LayerNorm(6),
    nn.GELU(),
    nn.Linear(6, 4),
    nn.Tanh(),
    nn.Linear(4, 3),
)
heads = nn.ModuleDict({"proba": nn.LogSoftmax(dim=1), "flat": nn.Flatten()})
losses = {
    "bce": nn.BCEWithLogitsLoss(pos_weight=np.array([2.0], np.float32)),
    "ce": nn.CrossEntropyLoss(label_smoothing=0.1),
    "mse": nn.MSELoss(),
    "huber": nn.HuberLoss(delta=0.5),
}
rng = np.random.RandomState(0)
X = rng.randn(16, 3).astype(np.float32)
y = rng.randint(0, 3, size=16).astype(np.int64)
model.train()
model(X)  # running statistics moved once
model.eval()
expected = heads["proba"](model(X)).numpy()
with open(sys.argv[1], "wb") as f:
    pickle.dump(
        {
            "version": fastdense.__version__,
            "model": model,
            "heads": heads,
            "losses": losses,
            "X": X,
            "y": y,
            "expected": expected,
        },
        f,
        protocol=4,
    )
