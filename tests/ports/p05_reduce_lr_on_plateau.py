# ReduceLROnPlateau stepped on the validation loss.
import torch
from _port import data, same_start
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

X, y = data(n=240, d=6, seed=4)
X, y = torch.from_numpy(X), torch.from_numpy(y)
Xt, yt, Xv, yv = X[:180], y[:180], X[180:], y[180:]
model = same_start(nn.Sequential(nn.Linear(6, 24), nn.LeakyReLU(0.1), nn.Linear(24, 1)))
opt = torch.optim.SGD(model.parameters(), lr=0.5)
sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
loss_fn = nn.BCEWithLogitsLoss()
for epoch in range(10):
    model.train()
    for i in range(0, 180, 30):
        opt.zero_grad()
        loss = loss_fn(model(Xt[i : i + 30]), yt[i : i + 30])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        val = loss_fn(model(Xv), yv).item()
    sched.step(val)
    print(f"epoch {epoch} val {val:.10g} lr {opt.param_groups[0]['lr']:.10g}")
