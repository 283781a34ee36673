# Optimizer updates, one pass per parameter buffer.
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes; nothing here allocates,
# raises or touches Python objects.

from cython cimport floating
from cython.parallel cimport prange

cimport fastdense._parallel as par
from fastdense._math cimport f_sqrt


# ---------------------------------------------------------------- optimizers
# PyTorch's update rules (torch.optim single-tensor paths), and scikit-learn's
# (sklearn.neural_network._stochastic_optimizers). Scalars that PyTorch and
# scikit-learn compute in Python double (bias corrections, step sizes) are
# computed by the caller in double and passed in.

cdef inline void torch_sgd(Py_ssize_t n, floating* p, const floating* g, floating* buf,
                           floating lr, floating momentum, floating one_minus_dampening,
                           floating weight_decay, bint nesterov, bint maximize,
                           bint first_step) noexcept nogil:
    """torch.optim.SGD: g += wd p; buf = g (first step) or mu buf + (1 - damp) g;
    g = g + mu buf (Nesterov) or buf; p -= lr g. (1 - damp) comes computed in
    double, as PyTorch computes it in Python."""
    cdef Py_ssize_t i
    cdef floating gi, bi
    for i in range(n):
        gi = -g[i] if maximize else g[i]
        if weight_decay != 0:
            gi = gi + weight_decay * p[i]
        if momentum != 0:
            if first_step:
                bi = gi
            else:
                bi = momentum * buf[i] + one_minus_dampening * gi
            buf[i] = bi
            gi = gi + momentum * bi if nesterov else bi
        p[i] = p[i] - lr * gi


cdef inline void torch_adam(Py_ssize_t n, floating* p, const floating* g, floating* m,
                            floating* v, floating* v_max, floating step_size,
                            floating bias_correction2_sqrt, floating one_minus_beta1,
                            floating beta2, floating one_minus_beta2, floating eps,
                            floating weight_decay, floating decay_factor, bint amsgrad,
                            bint maximize) noexcept nogil:
    """torch.optim.Adam / AdamW (one step; the caller advanced `step`).

    1 - b1 and 1 - b2 come computed in double, as PyTorch computes them in Python.
    Adam:  g += wd p.   AdamW: p *= decay_factor (= 1 - lr wd), and wd = 0 here.
    m = lerp(m, g, 1 - b1); v = b2 v + (1 - b2) g^2; v_max = max(v_max, v) (amsgrad)
    p -= step_size * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps),
    step_size = lr / (1 - b1^t).
    """
    cdef Py_ssize_t i
    cdef floating gi, mi, vi, denom
    for i in range(n):
        gi = -g[i] if maximize else g[i]
        if decay_factor != 1:
            p[i] = p[i] * decay_factor
        if weight_decay != 0:
            gi = gi + weight_decay * p[i]
        mi = m[i] + one_minus_beta1 * (gi - m[i])
        vi = beta2 * v[i] + one_minus_beta2 * gi * gi
        m[i] = mi
        v[i] = vi
        if amsgrad:
            if v_max[i] > vi:
                vi = v_max[i]
            v_max[i] = vi
        denom = f_sqrt(vi) / bias_correction2_sqrt + eps
        p[i] = p[i] - step_size * (mi / denom)


# scikit-learn's gradients, finished inside its optimizers' pass: the raw sums g
# become (g + alpha p) / scale for the first n_decay entries (the coefs, whose L2
# term scikit-learn adds) and (g + 0 p) / scale = g / scale after them (the
# intercepts), the same arithmetic as scikit-learn's `grads += alpha W; grads /=
# sum(weights)`, one pass over memory instead of two. scale = 1, alpha = 0 leaves
# g as it is.

# Every parameter's step is independent of the others': a long buffer is split
# into blocks shared by the caller's team (_parallel), with the same bits.

cdef inline Py_ssize_t clamp(Py_ssize_t x, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    return lo if x < lo else (hi if x > hi else x)


cdef inline void sklearn_sgd(Py_ssize_t n, Py_ssize_t n_decay, floating* p,
                             const floating* g, floating* velocity, floating lr,
                             floating momentum, bint nesterov, floating alpha,
                             floating scale) noexcept nogil:
    """scikit-learn SGDOptimizer: v = mu v - lr g; p += v, or mu v - lr g (Nesterov)."""
    cdef int blocks = par.pass_blocks(n), team = par.team_for(blocks), b
    cdef Py_ssize_t lo, hi
    if team <= 1:
        sklearn_sgd_block(n, n_decay, p, g, velocity, lr, momentum, nesterov, alpha, scale)
        return
    for b in prange(blocks, num_threads=team, schedule='dynamic', chunksize=1):
        lo = par.block_start(n, blocks, b)
        hi = par.block_start(n, blocks, b + 1)
        sklearn_sgd_block(hi - lo, clamp(n_decay - lo, 0, hi - lo), p + lo, g + lo,
                          velocity + lo, lr, momentum, nesterov, alpha, scale)


cdef inline void sklearn_sgd_block(Py_ssize_t n, Py_ssize_t n_decay, floating* p,
                                   const floating* g, floating* velocity, floating lr,
                                   floating momentum, bint nesterov, floating alpha,
                                   floating scale) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating vi, gi, a
    for i in range(n):
        a = alpha if i < n_decay else 0
        gi = (g[i] + a * p[i]) / scale
        vi = momentum * velocity[i] - lr * gi
        velocity[i] = vi
        if nesterov:
            vi = momentum * vi - lr * gi
        p[i] = p[i] + vi


cdef inline void sklearn_adam(Py_ssize_t n, Py_ssize_t n_decay, floating* p,
                              const floating* g, floating* m, floating* v, floating lr_t,
                              double beta1, double beta2, floating eps,
                              floating alpha, floating scale) noexcept nogil:
    """scikit-learn AdamOptimizer: eps outside the bias correction.

    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p += -lr_t m / (sqrt(v) + eps),
    lr_t = lr sqrt(1 - b2^t) / (1 - b1^t). 1 - b1 and 1 - b2 are computed in
    double and rounded once, as NumPy does with scikit-learn's Python floats;
    everything per element is in the buffers' precision.
    """
    cdef int blocks = par.pass_blocks(n), team = par.team_for(blocks), b
    cdef Py_ssize_t lo, hi
    if team <= 1:
        sklearn_adam_block(n, n_decay, p, g, m, v, lr_t, beta1, beta2, eps, alpha, scale)
        return
    for b in prange(blocks, num_threads=team, schedule='dynamic', chunksize=1):
        lo = par.block_start(n, blocks, b)
        hi = par.block_start(n, blocks, b + 1)
        sklearn_adam_block(hi - lo, clamp(n_decay - lo, 0, hi - lo), p + lo, g + lo, m + lo,
                           v + lo, lr_t, beta1, beta2, eps, alpha, scale)


cdef inline void sklearn_adam_block(Py_ssize_t n, Py_ssize_t n_decay, floating* p,
                                    const floating* g, floating* m, floating* v,
                                    floating lr_t, double beta1, double beta2, floating eps,
                                    floating alpha, floating scale) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating mi, vi, gi, a
    cdef floating b1 = <floating> beta1, c1 = <floating> (1 - beta1)
    cdef floating b2 = <floating> beta2, c2 = <floating> (1 - beta2)
    for i in range(n):
        a = alpha if i < n_decay else 0
        gi = (g[i] + a * p[i]) / scale
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        p[i] = p[i] + (-lr_t * mi) / (f_sqrt(vi) + eps)


# ---------------------------------------------------------------------------
# torch.optim.RMSprop and torch.optim.Adagrad (fastdense.optim.adaptive), one pass
# per parameter, in the order of operations of PyTorch's single-tensor paths:
# ATen's addcmul is self + (value * t1) * t2, addcdiv self + (value * t1) / t2,
# lerp(a, b, w) is a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w).
# Scalars PyTorch computes in Python (1 - alpha, the decayed Adagrad lr) come
# computed in double from the caller.

cdef inline floating torch_grad(floating g, floating p, floating weight_decay,
                                bint maximize) noexcept nogil:
    """The gradient PyTorch's optimizers step with: -g if maximize, then + wd p."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    return g


cdef inline floating torch_lerp(floating a, floating b, floating w) noexcept nogil:
    cdef floating one = 1
    if (w if w >= 0 else -w) < <floating> 0.5:
        return a + w * (b - a)
    return b - (b - a) * (one - w)


cdef inline void torch_rmsprop(Py_ssize_t n, floating* p, const floating* g, floating* v,
                               floating* grad_avg, floating* buf, floating lr,
                               floating alpha, floating one_minus_alpha, floating eps,
                               floating weight_decay, floating momentum,
                               bint maximize) noexcept nogil:
    """torch.optim.RMSprop: g += wd p; v = alpha v + (1 - alpha) g^2;
    avg = sqrt(v - m^2) with m = lerp(m, g, 1 - alpha) (centered: grad_avg != NULL)
    or sqrt(v); avg += eps; with momentum (buf != NULL) buf = mu buf + g / avg and
    p -= lr buf, else p += (-lr g) / avg."""
    cdef Py_ssize_t i
    cdef floating gi, vi, mi, avg, bi
    cdef floating neg_one = -1
    for i in range(n):
        gi = torch_grad(g[i], p[i], weight_decay, maximize)
        vi = v[i] * alpha
        vi = vi + one_minus_alpha * gi * gi
        v[i] = vi
        if grad_avg != NULL:
            mi = torch_lerp(grad_avg[i], gi, one_minus_alpha)
            grad_avg[i] = mi
            avg = f_sqrt(vi + neg_one * mi * mi)
        else:
            avg = f_sqrt(vi)
        avg = avg + eps
        if buf != NULL:
            bi = buf[i] * momentum
            bi = bi + gi / avg
            buf[i] = bi
            p[i] = p[i] + (-lr) * bi
        else:
            p[i] = p[i] + (-lr) * gi / avg


cdef inline void torch_adagrad(Py_ssize_t n, floating* p, const floating* g, floating* s,
                               floating clr, floating eps, floating weight_decay,
                               bint maximize) noexcept nogil:
    """torch.optim.Adagrad: g += wd p; s += g^2; p += (-clr g) / (sqrt(s) + eps),
    clr = lr / (1 + (step - 1) lr_decay)."""
    cdef Py_ssize_t i
    cdef floating gi, si
    for i in range(n):
        gi = torch_grad(g[i], p[i], weight_decay, maximize)
        si = s[i] + gi * gi
        s[i] = si
        p[i] = p[i] + (-clr) * gi / (f_sqrt(si) + eps)
