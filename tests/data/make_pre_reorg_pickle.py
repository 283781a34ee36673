"""How tests/data/pre_reorg_estimators.pkl was made: with the code of commit 884f257,
before the estimators moved into fastdense.estimators (its pickles name
fastdense.estimator.DenseBinaryClassifier, fastdense.estimator._SGDState / _AdamState,
fastdense.classifier.DenseClassifier, fastdense.regressor.DenseRegressor).

    git worktree add /tmp/old 884f257 && cd /tmp/old && python setup.py build_ext --inplace
    PYTHONPATH=/tmp/old python tests/data/make_pre_reorg_pickle.py tests/data/pre_reorg_estimators.pkl

Run with today's code it writes a pickle of today's classes (not the fixture's purpose).
"""

import pickle
import sys

import numpy as np

import fastdense
from fastdense import DenseBinaryClassifier, DenseClassifier, DenseRegressor

rng = np.random.RandomState(0)
X = rng.randn(40, 3)
yb = (X[:, 0] > 0).astype(int)
ym = np.digitize(X[:, 1], [-0.5, 0.5])
yr = X @ np.array([1.0, -2.0, 0.5])
models = {
    "binary_adam": DenseBinaryClassifier((4,), max_iter=5, random_state=0).fit(X, yb),
    "binary_sgd": DenseBinaryClassifier((4,), solver="sgd", max_iter=5, random_state=0).fit(X, yb),
    "classifier": DenseClassifier((4,), max_iter=5, random_state=0).fit(X, ym),
    "regressor": DenseRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, yr),
}
X_test = X[:5]
expected = {
    k: (m.predict_proba(X_test) if hasattr(m, "predict_proba") else m.predict(X_test))
    for k, m in models.items()
}
with open(sys.argv[1], "wb") as f:
    pickle.dump(
        {
            "version": fastdense.__version__,
            "models": models,
            "X": X,
            "y": {"binary_adam": yb, "binary_sgd": yb, "classifier": ym, "regressor": yr},
            "X_test": X_test,
            "expected": expected,
        },
        f,
        protocol=4,
    )
