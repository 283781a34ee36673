# Full-batch gradient descent written by hand: p -= lr * p.grad under no_grad.
import torch
import torch.nn.functional as F
from _port import data, same_start

X, y = data(n=200, d=8, seed=2)
X, y = torch.from_numpy(X), torch.from_numpy(y)
model = same_start(
    torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
)
lr = 0.5
for epoch in range(8):
    logits = model(X)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    print(f"epoch {epoch} loss {loss.item():.10g}")
