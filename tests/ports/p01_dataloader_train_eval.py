# A DataLoader loop with model.train()/model.eval(), Adam, and accuracy by comparisons.
import torch
from _port import data, same_start
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

X, y = data()
train = TensorDataset(torch.from_numpy(X[:200]), torch.from_numpy(y[:200]))
Xv, yv = torch.from_numpy(X[200:]), torch.from_numpy(y[200:])
loader = DataLoader(train, batch_size=32, shuffle=False)
torch.manual_seed(0)
model = same_start(
    nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
)
loss_fn = nn.BCEWithLogitsLoss()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(5):
    model.train()
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    model.eval()
    with torch.no_grad():
        out = model(Xv)
        val = loss_fn(out, yv).item()
        acc = ((torch.sigmoid(out) > 0.5).float() == yv).float().mean().item()
    print(f"epoch {epoch} train {total / len(train):.10g} val {val:.10g} acc {acc:.10g}")
