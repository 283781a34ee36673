# An imbalanced binary set (about 1 positive in 8) rebalanced with a WeightedRandomSampler
# (inverse class frequency), a ConcatDataset of two sources and a BatchNorm MLP; reports
# the minority class's recall each epoch.
import torch
import torch.nn as nn
from _port import data, same_draws, same_start
from torch.utils.data import ConcatDataset, DataLoader, TensorDataset, WeightedRandomSampler

X, y = data(n=320, d=6, seed=8)
score = X[:, 0] + 0.5 * X[:, 1]
label = (score > 1.2).astype("float32").reshape(-1, 1)  # the minority class
Xt, yt = torch.from_numpy(X[:256]), torch.from_numpy(label[:256])
Xv, yv = torch.from_numpy(X[256:]), torch.from_numpy(label[256:])
train = ConcatDataset([TensorDataset(Xt[:128], yt[:128]), TensorDataset(Xt[128:], yt[128:])])
counts = torch.tensor([(yt == 0).sum().item(), (yt == 1).sum().item()]).float()
weights = (1.0 / counts)[yt[:, 0].long()]
sampler = WeightedRandomSampler(weights, num_samples=len(train), replacement=True)
loader = DataLoader(train, batch_size=32, sampler=sampler)
model = same_start(nn.Sequential(nn.Linear(6, 24), nn.BatchNorm1d(24), nn.ReLU(), nn.Linear(24, 1)))
model, loader = same_draws(model, loader)
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
loss_fn = nn.BCEWithLogitsLoss()
print(f"epoch -1 positives {int(counts[1].item())} batches {len(loader)} samples {len(sampler)}")
for epoch in range(5):
    model.train()
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        pred = (model(Xv) > 0).float()
        recall = ((pred * yv).sum() / yv.sum().clamp(min=1)).item()
        acc = (pred == yv).float().mean().item()
    print(f"epoch {epoch} train {total / len(loader):.10g} acc {acc:.10g} recall {recall:.10g}")
