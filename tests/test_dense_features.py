"""DenseFeatures: hidden-layer activations as a scikit-learn transformer.

The activations are checked against the network's own weights through the
NumPy oracle (_reference.dense_forward) and against its to-torch module under
PyTorch; then the scikit-learn contract: Pipeline, set_output, clone and
GridSearchCV, prefit, feature names, routing, bad layers, estimator checks.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastdense import (
    DenseBinaryClassifier,
    DenseClassifier,
    DenseFeatures,
    DenseRegressor,
    _reference,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=150):
    return make_classification(n, 6, n_informative=4, n_classes=3, random_state=0)


def _oracle(est, X, layer):
    """Hidden layer `layer`'s activations by the NumPy reference, from coefs_/intercepts_."""
    A = np.asarray(X, dtype=est.coefs_[0].dtype)
    for W, b in zip(est.coefs_[: layer + 1], est.intercepts_[: layer + 1]):
        A = _reference.dense_forward(
            A, W.T, b, activation={"logistic": "sigmoid"}.get(est.activation, est.activation)
        )
    return A


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "leaky_relu", "identity"])
@pytest.mark.parametrize("layer,index", [(0, 0), (1, 1), (-1, 2), (-3, 0)])
def test_activations_match_the_reference(layer, index, activation, dtype):
    X, y = _data()
    X = X.astype(dtype)
    feats = DenseFeatures(
        DenseClassifier(
            hidden_layer_sizes=(7, 5, 4), activation=activation, max_iter=5, random_state=0
        ),
        layer=layer,
    ).fit(X, y)
    out = feats.transform(X)
    assert feats.layer_ == index and out.shape == (len(X), (7, 5, 4)[index])
    assert out.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, _oracle(feats.estimator_, X, index), rtol=tol, atol=tol)
    # sparse X: the sparse first layer of the same forward pass
    np.testing.assert_allclose(feats.transform(sp.csr_matrix(X)), out, rtol=tol, atol=tol)


def test_activations_match_torch():
    torch = pytest.importorskip("torch")
    X, y = _data()
    feats = DenseFeatures(
        DenseClassifier(hidden_layer_sizes=(6, 5), max_iter=5, random_state=0), layer=1
    ).fit(X, y)
    net = feats.estimator_.module_
    state = {
        k: torch.tensor(v.numpy() if hasattr(v, "numpy") else np.asarray(v))
        for k, v in net.state_dict().items()
    }
    ref = torch.nn.Sequential(
        torch.nn.Linear(6, 6),
        torch.nn.ReLU(),
        torch.nn.Linear(6, 5),
        torch.nn.ReLU(),
        torch.nn.Linear(5, 3),
    ).double()
    ref.load_state_dict(state)
    with torch.no_grad():
        expected = ref[:4](torch.tensor(X)).numpy()
    np.testing.assert_allclose(feats.transform(X), expected, rtol=1e-12, atol=1e-12)


def test_pipeline_set_output_and_names():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    pipe = make_pipeline(
        StandardScaler(),
        DenseFeatures(DenseClassifier(hidden_layer_sizes=(8, 3), max_iter=20, random_state=0)),
        LogisticRegression(),
    )
    pipe.fit(df, y)
    assert pipe.score(df, y) > 0.5
    names = pipe[:-1].get_feature_names_out()
    assert names.tolist() == [
        "densefeatures_layer2_0",
        "densefeatures_layer2_1",
        "densefeatures_layer2_2",
    ]
    pipe[:-1].set_output(transform="pandas")
    pipe.fit(df, y)  # (refit: the network now sees the scaler's named columns)
    out = pipe[:-1].transform(df)
    assert list(out.columns) == names.tolist() and out.index.equals(df.index)
    feats = DenseFeatures(DenseRegressor(hidden_layer_sizes=(4,), max_iter=5))
    feats.fit(df, X[:, 0])
    np.testing.assert_array_equal(feats.feature_names_in_, df.columns)
    with pytest.raises(ValueError, match="input_features"):
        feats.get_feature_names_out(["a", "b", "c", "d", "e", "f"])


def test_prefit_takes_a_copy_and_clone_and_search_work():
    X, y = _data()
    net = DenseClassifier(hidden_layer_sizes=(6, 4), max_iter=10, random_state=0).fit(X, y)
    feats = DenseFeatures(net, prefit=True, layer=0).fit(X[:3])  # y unused
    assert feats.estimator_ is not net
    np.testing.assert_array_equal(feats.estimator_.coefs_[0], net.coefs_[0])
    with pytest.raises(NotFittedError, match="prefit"):
        DenseFeatures(DenseClassifier(), prefit=True).fit(X)
    twin = clone(feats)
    assert not hasattr(twin, "estimator_") and twin.get_params()["layer"] == 0
    search = GridSearchCV(
        make_pipeline(
            DenseFeatures(DenseClassifier(max_iter=10, random_state=0)), LogisticRegression()
        ),
        {
            "densefeatures__estimator__hidden_layer_sizes": [(4,), (8,)],
            "densefeatures__layer": [-1],
        },
        cv=2,
    )
    search.fit(X, y)
    assert search.best_params_["densefeatures__estimator__hidden_layer_sizes"] in [(4,), (8,)]
    again = pickle.loads(pickle.dumps(feats))
    np.testing.assert_array_equal(again.transform(X), feats.transform(X))


def test_fit_params_and_routing():
    X, y = _data()
    kw = dict(hidden_layer_sizes=(5,), max_iter=4, random_state=0)
    feats = DenseFeatures(DenseClassifier(**kw)).fit(X[:100], y[:100], X_val=X[100:], y_val=y[100:])
    assert len(feats.estimator_.validation_loss_curve_) == 4
    with sklearn.config_context(enable_metadata_routing=True):
        net = DenseClassifier(**kw).set_fit_request(sample_weight=True)
        feats = DenseFeatures(net).fit(X, y, sample_weight=np.ones(len(y)))
        plain = DenseFeatures(DenseClassifier(**kw)).fit(X, y)
        np.testing.assert_allclose(feats.transform(X), plain.transform(X))


@pytest.mark.parametrize("layer", [1, -2, 5])
def test_layer_out_of_range(layer):
    X, y = _data()
    feats = DenseFeatures(DenseRegressor(hidden_layer_sizes=(4,), max_iter=2), layer=layer)
    with pytest.raises(ValueError, match="layer="):
        feats.fit(X, y)
    ok = DenseFeatures(DenseRegressor(hidden_layer_sizes=(4,), max_iter=2)).fit(X, y)
    ok.set_params(layer=layer)
    with pytest.raises(ValueError, match="layer="):
        ok.transform(X)


def test_not_a_fastdense_network_and_unfitted():
    X, y = _data()
    with pytest.raises(TypeError, match="fastdense"):
        DenseFeatures(LogisticRegression()).fit(X, y)
    with pytest.raises(NotFittedError):
        DenseFeatures(DenseClassifier()).transform(X)
    assert not hasattr(DenseFeatures(DenseClassifier()), "n_features_in_")


def test_binary_and_wrong_width_input():
    X, y = make_classification(80, 5, random_state=0)
    feats = DenseFeatures(DenseBinaryClassifier(hidden_layer_sizes=(3,), max_iter=3)).fit(X, y)
    assert feats.transform(X).shape == (80, 3)
    with pytest.raises(ValueError, match="features"):
        feats.transform(X[:, :4])


def test_regressor_features_with_robust_loss():
    X, y = make_regression(60, 4, random_state=0)
    feats = DenseFeatures(
        DenseRegressor(loss="huber", hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    ).fit(X, y / 100)
    np.testing.assert_allclose(feats.transform(X), _oracle(feats.estimator_, X, 0), rtol=1e-12)


@parametrize_with_checks(
    [
        DenseFeatures(DenseRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0)),
        DenseFeatures(
            DenseClassifier(hidden_layer_sizes=(5, 3), max_iter=20, random_state=0), layer=0
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
