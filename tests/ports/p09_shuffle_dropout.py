# The everyday loop: shuffle=True with a seeded generator, Dropout, AdamW, OneCycleLR per
# batch, and a 3-class head trained with CrossEntropyLoss (class-index targets).
import torch
import torch.nn as nn
import torch.nn.functional as F
from _port import data, same_draws, same_start
from torch.utils.data import DataLoader, TensorDataset

X, y = data(n=300, d=10, seed=3)
labels = (y[:, 0] + (X[:, 0] > 1)).astype("int64")  # 3 classes
train = TensorDataset(torch.from_numpy(X[:240]), torch.from_numpy(labels[:240]))
Xv, yv = torch.from_numpy(X[240:]), torch.from_numpy(labels[240:])
loader = DataLoader(
    train, batch_size=32, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(7)
)
model = same_start(
    nn.Sequential(
        nn.Linear(10, 32),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(32, 16),
        nn.Tanh(),
        nn.Dropout(0.1),
        nn.Linear(16, 3),
    )
)
model, loader = same_draws(model, loader)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-2, epochs=4, steps_per_epoch=len(loader))
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
for epoch in range(4):
    model.train()
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        out = model(Xv)
        val = F.cross_entropy(out, yv).item()
        acc = (out.argmax(dim=1) == yv).float().mean().item()
        p_max = F.softmax(out, dim=1).max(dim=1).values.mean().item()
    print(
        f"epoch {epoch} train {total / len(loader):.10g} val {val:.10g} acc {acc:.10g} "
        f"conf {p_max:.10g} lr {sched.get_last_lr()[0]:.10g}"
    )
