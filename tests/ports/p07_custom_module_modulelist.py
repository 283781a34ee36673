# A custom nn.Module holding its layers in a ModuleList, F.relu in forward, RMSprop.
import torch
import torch.nn as nn
import torch.nn.functional as F
from _port import data, same_start

X, y = data(n=200, d=10, seed=6)
X, y = torch.from_numpy(X), torch.from_numpy(y)


class Net(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], 1)

    def forward(self, x):
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.out(x)


model = same_start(Net([10, 32, 16]))
opt = torch.optim.RMSprop(model.parameters(), lr=1e-2)
for epoch in range(6):
    for i in range(0, 200, 40):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(X[i : i + 40]), y[i : i + 40])
        loss.backward()
        opt.step()
    with torch.no_grad():
        full = F.binary_cross_entropy_with_logits(model(X), y).item()
        correct = ((model(X) > 0).long() == y.long()).sum().item()
    print(f"epoch {epoch} loss {full:.10g} correct {correct}")
