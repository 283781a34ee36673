# Gradient clipping by norm, AdamW and a StepLR schedule.
import torch
from _port import data, same_start
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

X, y = data(n=256, d=10, seed=5)
loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=32)
model = same_start(nn.Sequential(nn.Linear(10, 32), nn.Sigmoid(), nn.Linear(32, 1)))
opt = torch.optim.AdamW(model.parameters(), lr=5e-2, weight_decay=1e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
loss_fn = nn.BCEWithLogitsLoss()
for epoch in range(6):
    total, norms = 0.0, 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        norms += float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5))
        opt.step()
        total += loss.item()
    sched.step()
    print(f"epoch {epoch} loss {total / len(loader):.10g} norm {norms:.10g}")
