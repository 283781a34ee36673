"""Backpropagation, step by step, on a tiny network (companion of docs/backprop.md).

    python examples/backprop_walkthrough.py

A 3-layer network (2 ReLU hidden layers, a sigmoid output, mean binary
cross-entropy) on m = 4 examples with 3 features. Every step of the forward
and backward pass is printed with its shape and values, computed twice:

- in plain NumPy, in the course notation (examples as COLUMNS, Z = W·X + b,
  dZ[L] = A[L] − Y, the 1/m in dW and db), and
- with fastdense's kernels (examples as ROWS, Z = X·Wᵀ + b, the 1/m in dZ[L]),

then the two are compared with each other, with fastdense's autograd
(``loss.backward()``) and with central finite differences
(``fastdense.gradcheck``). Any mismatch stops the script with an error.
"""

import numpy as np

import fastdense as fd
from fastdense import nn
from fastdense.kernels import bce_with_logits, dense_backward, dense_forward

np.set_printoptions(precision=4, suppress=True, linewidth=100)


def show(name, value, note=""):
    value = np.asarray(value)
    print(f"{name:<9} shape {str(value.shape):<8} {note}")
    print("   " + np.array2string(value, prefix="   "))


def relu(z):
    return np.maximum(z, 0.0)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ----------------------------------------------------------------- the setup
rng = np.random.default_rng(0)
sizes = [3, 4, 2, 1]  # n0 (features), n1, n2, n3 = 1 (the output)
L = len(sizes) - 1
m = 4
X_rows = rng.standard_normal((m, sizes[0]))  # (m, n0): rows are examples
y = np.array([1.0, 0.0, 1.0, 0.0])
W = {
    l: rng.standard_normal((sizes[l], sizes[l - 1])) * 0.8 for l in range(1, L + 1)
}  # (n_l, n_{l-1})
b = {l: rng.standard_normal(sizes[l]) * 0.1 for l in range(1, L + 1)}

print(
    f"Network: {' -> '.join(map(str, sizes))} units, ReLU hidden layers, sigmoid output; "
    f"m = {m} examples\n"
)

# ======================================================= column notation (course)
print("=" * 30, "course notation: examples as columns", "=" * 30)
X = X_rows.T  # (n0, m)
Y = y.reshape(1, m)
A = {0: X}
Z = {}
for l in range(1, L + 1):
    Z[l] = W[l] @ A[l - 1] + b[l].reshape(-1, 1)  # (n_l, m)
    A[l] = sigmoid(Z[l]) if l == L else relu(Z[l])
    show(f"Z[{l}]", Z[l], f"= W[{l}]·A[{l - 1}] + b[{l}]")
    show(f"A[{l}]", A[l], "= sigmoid(Z)" if l == L else "= relu(Z)")
J = float(-np.mean(Y * np.log(A[L]) + (1 - Y) * np.log(1 - A[L])))
print(f"\ncost J = {J:.6f}\n")

grads_col = {}
dZ = A[L] - Y  # step 1: sigmoid and cross-entropy derivatives cancel (no 1/m here)
show(f"dZ[{L}]", dZ, f"= A[{L}] - Y")
for l in range(L, 0, -1):
    dW = (1.0 / m) * dZ @ A[l - 1].T  # (n_l, n_{l-1}): the shape of W[l]
    db = (1.0 / m) * np.sum(dZ, axis=1, keepdims=True)  # sum over the examples
    show(f"dW[{l}]", dW, f"= (1/m) dZ[{l}]·A[{l - 1}]ᵀ")
    show(f"db[{l}]", db, f"= (1/m) Σ_columns dZ[{l}]")
    grads_col[l] = (dW, db.ravel())
    if l > 1:  # dA[0] (the gradient for X) is never needed
        dA = W[l].T @ dZ
        dZ = dA * (A[l - 1] > 0)  # g' of layer l-1's own activation (ReLU: 1 where A > 0)
        show(f"dA[{l - 1}]", dA, f"= W[{l}]ᵀ·dZ[{l}]")
        show(f"dZ[{l - 1}]", dZ, f"= dA[{l - 1}] * relu'(Z[{l - 1}])")

# ====================================================== row notation (fastdense)
print("\n" + "=" * 30, "fastdense kernels: examples as rows", "=" * 30)
A_rows = {0: X_rows}
for l in range(1, L + 1):
    # one kernel call: GEMM, then bias + activation in one pass (the logits stay linear)
    A_rows[l] = dense_forward(A_rows[l - 1], W[l], b[l], "identity" if l == L else "relu")
    show(
        f"A[{l}]",
        A_rows[l],
        "dense_forward: g(A[l-1]·Wᵀ + b)"
        if l < L
        else "dense_forward: the logits Z[L] (sigmoid fused into the loss)",
    )
loss, dZ_rows = bce_with_logits(A_rows[L], y.reshape(-1, 1))
print(f"\nbce_with_logits: loss = {loss:.6f}")
show(f"dZ[{L}]", dZ_rows, f"= (sigmoid(Z[{L}]) - Y) / m   (the 1/m lives here)")
grads_row = {}
dA = dZ_rows  # the output layer is linear in Z: its dA is dZ
for l in range(L, 0, -1):
    dA_prev, dW, db = dense_backward(
        dA, A_rows[l - 1], W[l], A_rows[l], "identity" if l == L else "relu", input_grad=l > 1
    )
    show(f"dW[{l}]", dW, f"dense_backward: dZ[{l}]ᵀ·A[{l - 1}]")
    show(f"db[{l}]", db, f"dense_backward: Σ_rows dZ[{l}]")
    grads_row[l] = (dW, db)
    dA = dA_prev  # dZ[l-1] = dA[l-1] * g'(A[l-1]) happens inside the next call

# ============================================================== the checks
print("\n" + "=" * 30, "checks", "=" * 30)
assert abs(loss - J) < 1e-12, (loss, J)
for l in range(1, L + 1):
    for (name, a), c in zip((("dW", grads_row[l][0]), ("db", grads_row[l][1])), grads_col[l]):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-15)
print("column notation == row notation (kernels): same cost, same dW and db for every layer")

# the same weights in a fastdense.nn model: autograd, then finite differences
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 1))
model.double()
model.load_state_dict(
    {f"{2 * (l - 1)}.weight": W[l] for l in W} | {f"{2 * (l - 1)}.bias": b[l] for l in b}
)
out = nn.BCEWithLogitsLoss()(model(X_rows), y.reshape(-1, 1))
out.backward()
for l in range(1, L + 1):
    np.testing.assert_allclose(model[2 * (l - 1)].weight.grad, grads_row[l][0], rtol=1e-12)
    np.testing.assert_allclose(model[2 * (l - 1)].bias.grad, grads_row[l][1], rtol=1e-12)
print("fastdense.nn autograd (loss.backward()) gives the same gradients")

errors = fd.gradcheck(model, X_rows, y, eps=1e-6)
for name, err in errors.items():
    print(f"  gradcheck {name:<9} max relative error {err:.1e}")
print("fastdense.gradcheck: every gradient matches central finite differences")
