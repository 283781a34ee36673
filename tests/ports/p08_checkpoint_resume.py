# torch.save / torch.load of a checkpoint (model + optimizer + epoch), resumed in new objects.
import os
import tempfile

import torch
from _port import data, same_start
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

X, y = data(n=192, d=8, seed=7)
loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=48)
loss_fn = nn.BCEWithLogitsLoss()


def make():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))


def run_epoch(model, opt):
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    return total / len(loader)


model = same_start(make())
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(3):
    print(f"epoch {epoch} loss {run_epoch(model, opt):.10g}")
path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
torch.save({"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict()}, path)
ckpt = torch.load(path)
model2 = make()
model2.load_state_dict(ckpt["model"])
opt2 = torch.optim.Adam(model2.parameters(), lr=1e-2)
opt2.load_state_dict(ckpt["optimizer"])
for epoch in range(ckpt["epoch"], 6):
    print(f"epoch {epoch} loss {run_epoch(model2, opt2):.10g}")
