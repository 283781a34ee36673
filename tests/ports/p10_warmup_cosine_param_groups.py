# A scheduler-driven loop in another style: two parameter groups (no weight decay on biases),
# SGD with Nesterov momentum, a linear warm-up chained into cosine annealing by SequentialLR,
# then warm restarts stepped with fractional epochs per batch; the scheduler is checkpointed
# and resumed half-way through the state_dicts.
import torch
from _port import data, same_start
from torch import nn
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    LinearLR,
    SequentialLR,
)

X, y = data(n=200, d=8, seed=5)
target = torch.from_numpy(X[:, :1] * 0.5 + y)  # a regression target
X = torch.from_numpy(X)
model = same_start(nn.Sequential(nn.Linear(8, 16), nn.SiLU(), nn.Linear(16, 1)))
decay = [p for n, p in model.named_parameters() if n.endswith("weight")]
no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
opt = torch.optim.SGD(
    [{"params": decay, "weight_decay": 1e-3}, {"params": no_decay, "weight_decay": 0.0}],
    lr=0.05,
    momentum=0.9,
    nesterov=True,
)
sched = SequentialLR(
    opt,
    [LinearLR(opt, start_factor=0.1, total_iters=3), CosineAnnealingLR(opt, T_max=5, eta_min=1e-3)],
    milestones=[3],
)
loss_fn = nn.MSELoss()
for epoch in range(8):
    for i in range(0, 200, 40):
        opt.zero_grad()
        loss = loss_fn(model(X[i : i + 40]), target[i : i + 40])
        loss.backward()
        opt.step()
    sched.step()
    if epoch == 3:  # checkpoint and resume the optimizer and the scheduler
        saved = {"opt": opt.state_dict(), "sched": sched.state_dict()}
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
    with torch.no_grad():
        full = loss_fn(model(X), target).item()
    print(
        f"epoch {epoch} loss {full:.10g} lr {sched.get_last_lr()[0]:.10g} "
        f"lr_bias {opt.param_groups[1]['lr']:.10g}"
    )
restarts = CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=1e-4)
iters = 5
for epoch in range(8, 12):
    for i in range(iters):
        opt.zero_grad()
        loss = loss_fn(model(X[i * 40 : (i + 1) * 40]), target[i * 40 : (i + 1) * 40])
        loss.backward()
        opt.step()
        restarts.step(epoch - 8 + i / iters)
    with torch.no_grad():
        full = loss_fn(model(X), target).item()
    print(f"epoch {epoch} loss {full:.10g} lr {restarts.get_last_lr()[0]:.10g}")
