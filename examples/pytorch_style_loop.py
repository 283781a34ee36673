"""A PyTorch-style training loop with fastdense.nn and fastdense.optim.

    python examples/pytorch_style_loop.py

The same code as a PyTorch loop with ``torch`` replaced by ``fastdense``:
modules, BCEWithLogitsLoss, Adam, a learning-rate scheduler, zero_grad /
backward / step, eval mode and no_grad for inference. Tensors are NumPy arrays.
"""

import numpy as np
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

import fastdense as fd
from fastdense import nn, optim

fd.manual_seed(0)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, random_state=0)
X = StandardScaler().fit_transform(X).astype(np.float32)
y = y.astype(np.float32).reshape(-1, 1)  # like the model's output: (m, 1)
X_train, y_train, X_val, y_val = X[:1600], y[:1600], X[1600:], y[1600:]


class Net(nn.Module):
    def __init__(self, n_in):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_in, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 32), nn.ReLU()
        )
        self.head = nn.Linear(32, 1)  # logits; the sigmoid is inside the loss

    def forward(self, x):
        return self.head(self.body(x))


model = Net(X.shape[1])
loss_fn = nn.BCEWithLogitsLoss()
opt = optim.Adam(model.parameters(), lr=3e-3)
sched = optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
rng = np.random.default_rng(0)
batch = 64
for epoch in range(10):
    model.train()
    order = rng.permutation(len(X_train))
    total = 0.0
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        opt.zero_grad()
        loss = loss_fn(model(X_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    sched.step()
    model.eval()
    with fd.no_grad():
        val_logits = np.asarray(model(X_val))
    val_acc = float(np.mean((val_logits > 0) == (y_val > 0.5)))
    print(
        f"epoch {epoch + 1:2d}  train loss {total / len(X_train):.4f}  "
        f"val accuracy {val_acc:.4f}  lr {sched.get_last_lr()[0]:.5f}"
    )

print("parameters:", {k: v.shape for k, v in model.state_dict().items()})
assert val_acc > 0.85
