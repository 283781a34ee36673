# A BatchNorm MLP trained with SGD + momentum; eval mode uses the running statistics.
import torch
import torch.nn as nn
from _port import data, same_start
from torch.utils.data import DataLoader, TensorDataset

X, y = data(n=320, d=12, seed=1)
loader = DataLoader(
    TensorDataset(torch.from_numpy(X[:256]), torch.from_numpy(y[:256])),
    batch_size=64,
    drop_last=True,
)
Xv, yv = torch.tensor(X[256:]), torch.tensor(y[256:])


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(12, 32),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.Linear(32, 16),
            nn.BatchNorm1d(16),
            nn.Tanh(),
            nn.Linear(16, 1),
        )

    def forward(self, x):
        return self.net(x)


model = same_start(MLP())
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
criterion = nn.BCEWithLogitsLoss()
for epoch in range(5):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        val = criterion(model(Xv), yv)
    print(f"epoch {epoch} last {loss.item():.10g} val {val.item():.10g}")
