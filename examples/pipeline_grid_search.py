"""DenseBinaryClassifier in a scikit-learn Pipeline, tuned with GridSearchCV.

    python examples/pipeline_grid_search.py

The estimator takes MLPClassifier's parameters, so the usual tools work:
scaling inside the pipeline (fitted on each training fold only), a grid over
the network's size and its L2 strength, cross-validated, then a held-out test.
"""

import warnings

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastdense import DenseBinaryClassifier

warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        ("net", DenseBinaryClassifier(max_iter=200, random_state=0)),
    ]
)
grid = {
    "net__hidden_layer_sizes": [(16,), (64, 32)],
    "net__alpha": [1e-4, 1e-2],
}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X_train, y_train)

for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    print(f"{score:.4f}  {params}")
print("best:", search.best_params_, f"(cv accuracy {search.best_score_:.4f})")
print(f"held-out accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}")
net = search.best_estimator_.named_steps["net"]
print(f"the best network trained {net.n_iter_} epochs (final training loss {net.loss_:.4f})")
assert search.score(X_test, y_test) > 0.9
