"""fastdense.gradcheck: finite differences vs backpropagation, and that it catches wrong gradients."""

import numpy as np
import pytest

import fastdense as fd
from fastdense import DenseBinaryClassifier, GradcheckError, gradcheck, nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "identity": nn.Identity,
}


def data(m=7, n=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), (rng.random(m) > 0.5).astype(float)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nn_models_pass(act, dtype):
    fd.manual_seed(1)
    model = nn.Sequential(
        nn.Linear(3, 5), ACTIVATIONS[act](), nn.Linear(5, 4), ACTIVATIONS[act](), nn.Linear(4, 1)
    ).to(dtype)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = data()
    errors = gradcheck(model, X, y.reshape(-1, 1))
    assert list(errors) == [name for name, _ in model.named_parameters()]
    assert max(errors.values()) < 1e-6
    # the model is left as it was: its dtype and its values
    for k, v in model.state_dict().items():
        assert v.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(v, before[k])


def test_custom_module_and_dropout_in_eval():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(3, 6)
            self.drop = nn.Dropout(0.5)
            self.fc2 = nn.Linear(6, 1)

        def forward(self, x):
            return self.fc2(self.drop(nn.functional.relu(self.fc1(x))))

    fd.manual_seed(0)
    X, y = data()
    errors = gradcheck(Net(), X, y)  # dropout is off (eval) during the check
    assert set(errors) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert max(errors.values()) < 1e-6


def test_detects_a_gradient_cut_off():
    class Wrong(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)
            self.scale = nn.Parameter(np.full((1, 1), 2.0))

        def forward(self, x):
            # the mistake: scale's contribution is detached, so backprop gives it 0
            return self.fc(x) * self.scale.detach() + self.scale.detach()

    X, y = data()
    with pytest.raises(GradcheckError, match=r"scale\[0, 0\]: analytic 0, numerical"):
        gradcheck(Wrong(), X, y)
    errors = gradcheck(Wrong(), X, y, raise_exception=False)
    assert errors["scale"] == pytest.approx(1.0)  # analytic 0 vs a nonzero numerical gradient
    assert errors["fc.weight"] < 1e-6


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "leaky_relu", "identity"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_estimator_training_kernel(activation, dtype):
    X, y = data(40, 4, seed=2)
    labels = np.where(y > 0, "b", "a")
    clf = DenseBinaryClassifier(
        (5, 3), activation=activation, alpha=0.3, max_iter=3, dtype=dtype, random_state=0
    )
    with pytest.warns(Warning):  # 3 epochs: not converged
        clf.fit(X, labels)
    errors = gradcheck(clf, X[:12], labels[:12])
    state = clf.module_.state_dict()
    assert list(errors) == list(state)  # module_'s names, in its order
    assert max(errors.values()) < 1e-6


def test_estimator_detects_a_wrong_kernel_gradient(monkeypatch):
    X, y = data(30, 4, seed=3)
    clf = DenseBinaryClassifier((4,), solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    from fastdense import _train

    real = _train.loss_grad

    def off_by_a_bit(*args):
        loss = real(*args)
        grad = args[2]  # loss_grad(plan, params, grads)
        grad[-1] *= 1.05  # the output bias gradient, 5% too large
        return loss

    monkeypatch.setattr(_train, "loss_grad", off_by_a_bit)
    with pytest.raises(GradcheckError, match=r"2\.bias\[0\]"):
        gradcheck(clf, X, y)


def test_bad_arguments():
    X, y = data()
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match="eps"):
        gradcheck(model, X, y, eps=0)
    with pytest.raises(ValueError, match="values for 7 rows"):
        gradcheck(model, X, y[:3])
    with pytest.raises(TypeError, match="Module"):
        gradcheck(lambda x: x, X, y)
    with pytest.raises(ValueError, match="2-D"):
        gradcheck(model, X[0], y[:1])
