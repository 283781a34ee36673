"""Load a PyTorch model's weights into fastdense for fast CPU inference.

    python examples/torch_weights_inference.py

Trains (briefly) a small torch.nn.Sequential, then moves it to fastdense in
two ways — ``fd.from_torch(module)`` and ``load_state_dict`` into the same
architecture — and checks that the predictions agree and compares the time
of a small-batch forward. Skips (exit 0) when PyTorch is not installed.
"""

import sys
import time

import numpy as np

try:
    import torch
except ImportError:
    print("PyTorch is not installed: nothing to convert (pip install torch). Skipping.")
    sys.exit(0)

import fastdense as fd
from fastdense import nn

torch.manual_seed(0)
rng = np.random.default_rng(0)
X = rng.standard_normal((512, 16)).astype(np.float32)
y = (X[:, :4].sum(axis=1) > 0).astype(np.float32).reshape(-1, 1)

net = torch.nn.Sequential(
    torch.nn.Linear(16, 32),
    torch.nn.ReLU(),
    torch.nn.Linear(32, 16),
    torch.nn.ReLU(),
    torch.nn.Linear(16, 1),
)
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
for _ in range(50):
    opt.zero_grad()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(net(Xt), yt)
    loss.backward()
    opt.step()
print(f"torch model trained: loss {loss.item():.4f}")

# 1) convert the module
model = fd.from_torch(net).eval()
# 2) or build the same architecture and load the state_dict (torch tensors accepted)
same = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
same.load_state_dict(net.state_dict())
same.eval()

with torch.no_grad():
    ref = net(Xt).numpy()
with fd.no_grad():
    out1 = np.asarray(model(X))
    out2 = np.asarray(same(X))
np.testing.assert_allclose(out1, ref, rtol=1e-5, atol=1e-5)
np.testing.assert_array_equal(out1, out2)
print(f"fastdense and torch agree: max |difference| {np.max(np.abs(out1 - ref)):.2e}")


def per_call(fn, n=300):
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


x8 = X[:8]
with torch.no_grad():
    t_torch = per_call(lambda: net(torch.from_numpy(x8)))
with fd.no_grad():
    t_fd = per_call(lambda: model(x8))
print(f"forward of 8 rows: torch {t_torch * 1e6:.1f} µs, fastdense {t_fd * 1e6:.1f} µs")
proba = 1.0 / (1.0 + np.exp(-out1[:5, 0]))
print("first probabilities:", np.round(proba, 4))
