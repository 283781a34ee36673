# Early stopping that keeps the best weights with copy.deepcopy(model.state_dict()).
import copy

import torch
from _port import data, same_start
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

X, y = data(n=300, d=10, seed=3)
loader = DataLoader(
    TensorDataset(torch.from_numpy(X[:200]), torch.from_numpy(y[:200])), batch_size=50
)
Xv, yv = torch.from_numpy(X[200:]), torch.from_numpy(y[200:])
model = same_start(nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1)))
opt = optim.Adam(model.parameters(), lr=3e-2)
loss_fn = nn.BCEWithLogitsLoss()
best, best_state, bad, patience = float("inf"), None, 0, 2
for epoch in range(12):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        val = loss_fn(model(Xv), yv).item()
    print(f"epoch {epoch} val {val:.10g}")
    if val < best:
        best, best_state, bad = val, copy.deepcopy(model.state_dict()), 0
    else:
        bad += 1
        if bad > patience:
            break
model.load_state_dict(best_state)
with torch.no_grad():
    print(f"epoch best val {loss_fn(model(Xv), yv).item():.10g}")
