# Full-batch L-BFGS with a closure (the scipy-like way to fit a small model): a logistic
# regression with an L2 penalty, line search by strong Wolfe, then a second model fitted
# with plain L-BFGS steps (no line search) and a small history.
import numpy as np
import torch
import torch.nn as nn
from _port import data, same_start

X, y = data(n=200, d=5, seed=9)
X, y = torch.from_numpy(X), torch.from_numpy(y)
model = same_start(nn.Linear(5, 1))
opt = torch.optim.LBFGS(
    model.parameters(), lr=1, max_iter=15, history_size=10, line_search_fn="strong_wolfe"
)
loss_fn = nn.BCEWithLogitsLoss()


def closure():
    opt.zero_grad()
    loss = loss_fn(model(X), y) + 1e-2 * model.weight.pow(2).sum()
    loss.backward()
    return loss


for epoch in range(4):
    loss = opt.step(closure)
    with torch.no_grad():
        acc = ((model(X) > 0).float() == y).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.10g} acc {acc:.10g}")

model2 = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 1))
rng = np.random.default_rng(2)  # its own start, the same in both runs
model2.load_state_dict(
    {
        k: torch.from_numpy((0.5 * rng.standard_normal(tuple(v.shape))).astype("float32"))
        for k, v in model2.state_dict().items()
    }
)
opt2 = torch.optim.LBFGS(model2.parameters(), lr=0.5, max_iter=5, history_size=3)


def closure2():
    opt2.zero_grad()
    loss = loss_fn(model2(X), y)
    loss.backward()
    return loss


for epoch in range(4, 7):
    loss = opt2.step(closure2)
    print(f"epoch {epoch} loss {loss.item():.10g}")
