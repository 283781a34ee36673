"""Weights and models between fastdense and real PyTorch; the issue's example loop."""

from collections import OrderedDict

import numpy as np
import pytest

import fastdense as fd
from fastdense import nn, optim

torch = pytest.importorskip("torch")


def torch_mlp(seed=0, dtype=None):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(20, 64, dtype=dtype),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32, dtype=dtype),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 1, dtype=dtype),
    )


def test_issue_example_loop_matches_pytorch_step_for_step():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((640, 20)).astype(np.float32)
    Y = X[:, :2].sum(1, keepdims=True) + 0.3 * rng.standard_normal((640, 1)) > 0
    Y = Y.astype(np.float32)
    X_test = rng.standard_normal((50, 20)).astype(np.float32)
    batches = [(X[i : i + 64], Y[i : i + 64]) for i in range(0, 640, 64)] * 3
    torch_model = torch_mlp()

    # --- the loop of the issue, verbatim apart from the comparison lines ---
    fd.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1)
    )
    model.load_state_dict(torch_model.state_dict())  # real torch tensors accepted as-is
    loss_fn = nn.BCEWithLogitsLoss()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    t_loss_fn = torch.nn.BCEWithLogitsLoss()
    t_opt = torch.optim.Adam(torch_model.parameters(), lr=1e-3)
    for xb, yb in batches:  # NumPy arrays
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        t_opt.zero_grad()
        t_loss = t_loss_fn(torch_model(torch.from_numpy(xb)), torch.from_numpy(yb))
        t_loss.backward()
        t_opt.step()
        np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-5)
        for p, tp in zip(model.parameters(), torch_model.parameters()):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-4, atol=1e-6)
    pred = np.asarray(model(X_test))
    assert isinstance(loss.item(), float) and pred.shape == (50, 1) and pred.dtype == np.float32
    with torch.no_grad():
        t_pred = torch_model(torch.from_numpy(X_test)).numpy()
    np.testing.assert_allclose(pred, t_pred, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dict_round_trips_both_ways(dtype):
    tdt = getattr(torch, np.dtype(dtype).name)
    t_model = torch_mlp(1, tdt)
    model = nn.Sequential(
        nn.Linear(20, 64, dtype=dtype),
        nn.ReLU(),
        nn.Linear(64, 32, dtype=dtype),
        nn.ReLU(),
        nn.Linear(32, 1, dtype=dtype),
    )
    model.load_state_dict(t_model.state_dict())
    assert list(model.state_dict()) == list(t_model.state_dict())
    for (k, v), (tk, tv) in zip(model.state_dict().items(), t_model.state_dict().items()):
        assert k == tk and v.dtype == dtype
        np.testing.assert_array_equal(v, tv.numpy())
    # back into a fresh torch model
    t_model2 = torch_mlp(2, tdt)
    t_model2.load_state_dict(fd.to_torch(model.state_dict()))
    for a, b in zip(t_model.parameters(), t_model2.parameters()):
        assert torch.equal(a, b)
    # the torch copy does not alias fastdense's arrays
    with torch.no_grad():
        t_model2[0].weight.zero_()
    assert np.any(model[0].weight.data != 0)


def test_from_torch_and_to_torch_models():
    torch.manual_seed(3)
    t_model = torch.nn.Sequential(
        OrderedDict(
            [
                ("hidden", torch.nn.Linear(5, 7)),
                ("act", torch.nn.LeakyReLU(0.2)),
                ("drop", torch.nn.Dropout(0.1)),
                ("tanh", torch.nn.Tanh()),
                ("out", torch.nn.Linear(7, 1)),
                ("prob", torch.nn.Sigmoid()),
            ]
        )
    ).eval()
    model = fd.from_torch(t_model)
    assert isinstance(model, nn.Sequential) and not model.training
    assert list(model.state_dict()) == list(t_model.state_dict())
    assert model.act.negative_slope == 0.2 and model.drop.p == 0.1
    X = np.random.default_rng(0).standard_normal((9, 5)).astype(np.float32)
    with torch.no_grad():
        expected = t_model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(np.asarray(model(X)), expected, rtol=1e-5, atol=1e-6)
    back = fd.to_torch(model)
    assert isinstance(back, torch.nn.Sequential) and not back.training
    assert repr(back) == repr(t_model)
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(X)).numpy(), expected, rtol=1e-6)
    loss = fd.to_torch(nn.BCEWithLogitsLoss(pos_weight=np.array([2.0], np.float32)))
    assert isinstance(loss, torch.nn.BCEWithLogitsLoss) and float(loss.pos_weight) == 2.0

    class Custom(torch.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="no fastdense equivalent"):
        fd.from_torch(torch.nn.Sequential(Custom()))


class FdNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 10)
        self.fc2 = nn.Linear(10, 4)
        self.fc3 = nn.Linear(4, 1)

    def forward(self, x):
        x = nn.functional.relu(self.fc1(x))
        x = nn.functional.tanh(self.fc2(x))
        return self.fc3(x)


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 10)
        self.fc2 = torch.nn.Linear(10, 4)
        self.fc3 = torch.nn.Linear(4, 1)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


def test_custom_subclass_trains_like_pytorch():
    torch.manual_seed(4)
    t_net, net = TorchNet(), FdNet()
    net.load_state_dict(t_net.state_dict())
    assert list(net.state_dict()) == [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
        "fc3.weight",
        "fc3.bias",
    ]
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    t_opt = torch.optim.SGD(t_net.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(1)
    for _ in range(25):
        xb = rng.standard_normal((8, 6)).astype(np.float32)
        yb = (rng.random(8) < 0.5).astype(np.float32)
        opt.zero_grad()
        loss = nn.BCEWithLogitsLoss()(net(xb).squeeze(1), yb)
        loss.backward()
        opt.step()
        t_opt.zero_grad()
        t_loss = torch.nn.BCEWithLogitsLoss()(
            t_net(torch.from_numpy(xb)).squeeze(1), torch.from_numpy(yb)
        )
        t_loss.backward()
        t_opt.step()
        np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-5)
    for (k, v), tv in zip(net.state_dict().items(), t_net.state_dict().values()):
        np.testing.assert_allclose(v, tv.numpy(), rtol=1e-4, atol=1e-6, err_msg=k)


def test_inputs_may_be_torch_tensors():
    t_model = torch_mlp(5)
    model = fd.from_torch(t_model)
    x = torch.randn(4, 20)
    out = model(x)
    np.testing.assert_allclose(np.asarray(out), t_model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    loss = nn.BCEWithLogitsLoss()(out, torch.ones(4, 1))
    loss.backward()
    assert model[0].weight.grad.shape == (64, 20)
