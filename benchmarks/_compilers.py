"""The compiled competitors of bench_fit.py: a jitted JAX epoch and ``torch.compile``.

Both are optional (``pip install ".[bench]"`` brings JAX and optax; PyTorch is
``pip install torch==2.13.0``) and train the network every competitor of
``fastdense/_bench.py`` trains: ReLU hidden layers, the task's output layer and
loss (sigmoid + mean BCE, softmax + cross-entropy, identity + squared error),
Adam with lr=1e-3, betas (0.9, 0.999), eps=1e-8, no L2 (alpha=0), shuffled
minibatches of ``batch`` rows, the last one partial (``n % batch`` rows, its
loss the mean over its own rows: scikit-learn's ``gen_batches``, as fastdense
and MLPClassifier do).

Each factory returns ``(fit, reset)``: ``fit(epochs) -> (seconds, score)``
trains a fresh model (the same initial distribution every time) and times the
training only; ``reset()`` empties the compilation caches, so that the next
``fit`` pays tracing and compilation again (the time to a first model).
"""

import time
import warnings

import numpy as np

from fastdense._bench import network_score, torch_network

ADAM = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


# --------------------------------------------------------------------- JAX


def glorot_params(sizes, dtype, seed=0):
    """scikit-learn's initialisation (MLPClassifier._init_coef for ReLU): W and b
    uniform in +-sqrt(6 / (fan_in + fan_out)); W stored (fan_in, fan_out), as JAX
    code writes ``x @ W``."""
    rng = np.random.RandomState(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(
            (
                rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype),
                rng.uniform(-bound, bound, fan_out).astype(dtype),
            )
        )
    return params


def jax_competitor(
    X,
    y,
    Xt,
    yt,
    hidden,
    batch,
    task=("binary", 1),
    alpha=0.0,
    gather="epoch",
    shuffle="host",
    flatten=False,
):
    """A whole epoch as one ``jax.jit`` function: permutation, ``lax.scan`` over
    the full minibatches, the partial last one, ``optax.adam``; params and the
    optimizer state donated. ``gather='epoch'`` permutes X once per epoch and
    scans over its contiguous (batch, d) slices; ``'batch'`` gathers each
    minibatch's rows from X inside the scan. ``shuffle='host'`` draws the
    permutation with NumPy (an argument of the jitted epoch; XLA's CPU sort
    makes ``jax.random.permutation`` cost ~3.5 ms for 5,000 rows, 70 ms for
    50,000), ``'device'`` with ``jax.random.permutation`` inside it.
    ``flatten`` wraps Adam in ``optax.flatten`` (one vector for all
    parameters: fewer, larger kernels per step)."""
    import jax
    import jax.numpy as jnp
    import optax

    n, d = X.shape
    sizes = [d, *hidden, task[1]]
    n_full, rest = divmod(n, batch)
    opt = optax.adam(ADAM["lr"], b1=ADAM["betas"][0], b2=ADAM["betas"][1], eps=ADAM["eps"])
    if flatten:
        opt = optax.flatten(opt)
    y_np = y.astype(np.int32 if task[0] == "multiclass" else X.dtype)

    def forward(params, x):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def loss_fn(params, x, t):
        z = forward(params, x)
        if task[0] == "binary":
            loss = optax.sigmoid_binary_cross_entropy(z[:, 0], t).mean()
        elif task[0] == "multiclass":
            loss = optax.softmax_cross_entropy_with_integer_labels(z, t).mean()
        else:  # scikit-learn's squared_loss: mean((y - z)^2) / 2
            loss = 0.5 * jnp.mean((z[:, 0] - t) ** 2)
        if alpha:  # scikit-learn's L2: alpha / 2 * sum(W^2) / rows of the batch
            loss = loss + 0.5 * alpha * sum(jnp.vdot(w, w) for w, _ in params) / x.shape[0]
        return loss

    def step(params, state, x, t):
        grads = jax.grad(loss_fn)(params, x, t)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    def run_epoch(params, state, key, X, y, perm):
        if shuffle == "device":
            key, sub = jax.random.split(key)
            perm = jax.random.permutation(sub, n)
        if gather == "epoch":
            Xp, yp = X[perm], y[perm]
            xs = (
                Xp[: n_full * batch].reshape(n_full, batch, d),
                yp[: n_full * batch].reshape(n_full, batch),
            )

            def body(carry, xt):
                return step(*carry, *xt), None
        else:
            xs = perm[: n_full * batch].reshape(n_full, batch)

            def body(carry, idx):
                return step(*carry, X[idx], y[idx]), None

        (params, state), _ = jax.lax.scan(body, (params, state), xs)
        if rest:  # the partial last minibatch: its own (static) shape, one more step
            idx = perm[n_full * batch :]
            params, state = step(params, state, X[idx], y[idx])
        return params, state, key

    epoch = jax.jit(run_epoch, donate_argnums=(0, 1))
    predict = jax.jit(forward)

    def fit(epochs):
        with jax.enable_x64(X.dtype == np.float64):  # float64 needs JAX's 64-bit mode
            return _fit(epochs)

    def _fit(epochs):
        start = time.perf_counter()
        params = jax.tree.map(jnp.asarray, glorot_params(sizes, X.dtype))
        state = opt.init(params)
        key = jax.random.key(0)
        rng = np.random.default_rng(0)
        Xj, yj = jnp.asarray(X), jnp.asarray(y_np)
        with warnings.catch_warnings():  # a backend that cannot donate says so once
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(epochs):
                perm = rng.permutation(n).astype(np.int32) if shuffle == "host" else None
                params, state, key = epoch(params, state, key, Xj, yj, perm)
        jax.block_until_ready(params)
        elapsed = time.perf_counter() - start
        return elapsed, network_score(task, np.asarray(predict(params, jnp.asarray(Xt))), yt)

    def reset():
        epoch.clear_cache()
        predict.clear_cache()

    return fit, reset


# ------------------------------------------------------------ torch.compile


def torch_compile_competitor(
    torch, X, y, Xt, yt, hidden, batch, task=("binary", 1), compile_step=False
):
    """``torch.compile`` (inductor) of the eager PyTorch competitor's model (same
    layers, same seed, same init), ``dynamic=False`` (the full batch and the
    partial last one are two static graphs); fused Adam, or with ``compile_step``
    a compiled ``opt.step`` of the foreach Adam (PyTorch's "compiled optimizer")."""
    import torch._dynamo

    model, loss_fn, Xt_, yt_ = torch_network(torch, X, y, hidden, task)
    compiled = torch.compile(model, dynamic=False)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.Adam(
        model.parameters(),
        lr=ADAM["lr"],
        betas=ADAM["betas"],
        eps=ADAM["eps"],
        fused=not compile_step,
        foreach=True if compile_step else None,
    )

    @torch.compile(dynamic=False)
    def compiled_step():
        opt.step()

    def fit(epochs):
        start = time.perf_counter()
        torch.manual_seed(0)  # the eager competitor's initial weights, every fit
        with torch.no_grad():
            for lin in linears:
                lin.reset_parameters()
        opt.state.clear()  # a fresh Adam state (its buffers are created by step 1)
        generator = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            order = torch.randperm(X.shape[0], generator=generator)
            for s in range(0, X.shape[0], batch):
                idx = order[s : s + batch]
                opt.zero_grad()
                loss = loss_fn(compiled(Xt_[idx]), yt_[idx])
                loss.backward()
                if compile_step:
                    compiled_step()
                else:
                    opt.step()
        elapsed = time.perf_counter() - start
        with torch.no_grad():
            out = model(torch.from_numpy(Xt)).numpy()
        return elapsed, network_score(task, out, yt)

    def reset():
        # the next call compiles from scratch: no in-process graphs, and no kernels
        # from inductor's on-disk caches (which a second run of a script would find)
        import torch._functorch.config
        import torch._inductor.config

        torch._inductor.config.fx_graph_cache = False
        torch._functorch.config.enable_autograd_cache = False
        torch._dynamo.reset()

    return fit, reset
