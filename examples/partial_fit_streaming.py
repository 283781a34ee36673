"""Streaming training with partial_fit: data that arrives in chunks.

    python examples/partial_fit_streaming.py

Each chunk is one call to ``partial_fit`` (one epoch over that chunk, the
optimizer's state carried over). A StandardScaler is updated incrementally
too. The first call names both classes; later calls may omit them. Accuracy
on a fixed held-out set is printed as the stream goes on.
"""

import numpy as np
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from fastdense import DenseBinaryClassifier

X, y = make_classification(n_samples=12_000, n_features=20, n_informative=8, random_state=0)
X_test, y_test = X[-2000:], y[-2000:]
stream = zip(np.array_split(X[:-2000], 20), np.array_split(y[:-2000], 20))

scaler = StandardScaler()
clf = DenseBinaryClassifier(hidden_layer_sizes=(32,), learning_rate_init=3e-3, random_state=0)
for i, (X_chunk, y_chunk) in enumerate(stream, start=1):
    scaler.partial_fit(X_chunk)
    clf.partial_fit(scaler.transform(X_chunk), y_chunk, classes=[0, 1])
    if i % 4 == 0:
        acc = clf.score(scaler.transform(X_test), y_test)
        print(
            f"after {i:2d} chunks ({clf.t_:5d} rows seen): loss {clf.loss_:.4f}, "
            f"held-out accuracy {acc:.4f}"
        )
assert acc > 0.85
