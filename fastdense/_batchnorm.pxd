# Batch normalization over the rows of one layer's pre-activation (PyTorch's
# BatchNorm1d: affine, eps 1e-5, momentum 0.1), fused with the activation that
# follows it and, while training, the dropout after that:
#   training  Z := Z + bias (the Linear's);  mean, var = column mean and biased
#             variance of Z;  inv = 1 / sqrt(var + eps)
#             xhat = (Z - mean) * inv;  A = g(gamma * xhat + beta);  dropout(A)
#             running_mean += momentum * (mean - running_mean)        (as (1 - mom) r + mom x)
#             running_var  += momentum * (var * m / (m - 1) - running_var)   (unbiased)
#   eval      A = g((Z + bias) * scale + shift), per column
#             scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale
#             (PyTorch's eval transform: one sqrt and division per column, not per value)
#   backward  dY = g'(.) * (dA * mask);  dbeta = colsum(dY),  dgamma = colsum(dY * xhat)
#             dZ = gamma * inv * (dY - dbeta / m - xhat * dgamma / m);  db = colsum(dZ)
#
# Every column is independent, so the work goes by CHUNKs of columns, all rows
# of a chunk at a time: a chunk's per-column values (mean, inv, gamma, sums)
# sit in local arrays the compiler knows alias nothing, so each row's loop
# vectorizes, and a row's values are normalized, activated and dropped while
# they are in L1. A column's sums still run over the rows in order, so the bits
# do not depend on the chunks, nor on the blocks of columns the threads share
# (`_parallel.pxd`): the same for any thread count.
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes (m >= 2 in training);
# nothing here allocates, raises or touches Python objects.

from cython cimport floating
from cython.parallel cimport prange

cimport fastdense._activations as act
cimport fastdense._parallel as par
from fastdense._dropout cimport Draw, dropout_span, multiplier
from fastdense._math cimport f_sqrt

cdef extern from *:
    """
    #define FASTDENSE_BN_EPS 1e-5
    #define FASTDENSE_BN_MOMENTUM 0.1
    """
    const double BN_EPS "FASTDENSE_BN_EPS"
    const double BN_MOMENTUM "FASTDENSE_BN_MOMENTUM"


cdef enum:
    CHUNK = 64  # columns whose per-column values live in local arrays


cdef inline void activate_span(Py_ssize_t w, floating* row, floating* z_row,
                               floating* erf_row, int activation, floating slope) noexcept nogil:
    """row := g(row) over w values, scikit-learn's variant (expit for the logistic);
    with z_row (GELU, SiLU in training) the pre-activation is kept there too, and
    with erf_row GELU's erf."""
    if z_row != NULL:
        act.bias_activation_keep_z(1, w, row, NULL, z_row, erf_row, activation, slope)
    else:
        act.bias_activation_block(1, w, w, row, NULL, activation, slope, True)


cdef inline void train_columns(Py_ssize_t m, Py_ssize_t n, Py_ssize_t lo, Py_ssize_t hi,
                               floating* z, const floating* bias, floating* xhat,
                               floating* inv, const floating* gamma, const floating* beta,
                               floating* running_mean, floating* running_var,
                               int activation, floating slope, floating* zs,
                               floating* erfs, floating* mask, floating* dropped,
                               const Draw* drop) noexcept nogil:
    """Columns lo .. hi - 1 of batch_norm_train, CHUNK columns at a time.

    Z + bias is formed in each pass rather than stored (the same value each
    time); ReLU, the common case, is one loop with the normalization and the
    dropout, the other activations a second loop over the row while in L1.
    """
    cdef floating s[CHUNK]
    cdef floating mu[CHUNK]
    cdef floating iv[CHUNK]
    cdef floating g[CHUNK]
    cdef floating bt[CHUNK]
    cdef floating bb[CHUNK]
    cdef Py_ssize_t i, j, k
    cdef floating* row
    cdef floating* xr
    cdef floating* mr
    cdef floating* dr
    cdef floating d, x, y, keep, one = 1, mf = <floating> m
    cdef floating mom = <floating> BN_MOMENTUM
    cdef floating scale = <floating> 1 / <floating> (1 - drop.p) if drop != NULL else one
    cdef unsigned int base
    cdef Py_ssize_t c0 = lo, w
    while c0 < hi:  # chunk by chunk
        w = CHUNK if c0 + CHUNK <= hi else hi - c0
        for j in range(w):
            s[j] = 0
            bb[j] = bias[c0 + j]
        for i in range(m):  # the column sums of Z + bias
            row = z + i * n + c0
            for j in range(w):
                s[j] += row[j] + bb[j]
        for j in range(w):
            mu[j] = s[j] / mf
            s[j] = 0
        for i in range(m):  # the centred squares (two passes: the kernel's precision suffices)
            row = z + i * n + c0
            for j in range(w):
                d = (row[j] + bb[j]) - mu[j]
                s[j] += d * d
        for j in range(w):
            running_mean[c0 + j] = (one - mom) * running_mean[c0 + j] + mom * mu[j]
            running_var[c0 + j] = (one - mom) * running_var[c0 + j] + mom * (s[j] / (mf - one))
            iv[j] = one / f_sqrt(s[j] / mf + <floating> BN_EPS)
            inv[c0 + j] = iv[j]
            g[j] = gamma[c0 + j]
            bt[j] = beta[c0 + j]
        for i in range(m):  # normalize, activate and drop each row while it is in L1
            k = i * n + c0
            row = z + k
            xr = xhat + k
            if activation == act.RELU and drop != NULL:
                mr = mask + k
                dr = dropped + k
                base = drop.base + <unsigned int> k
                for j in range(w):
                    x = ((row[j] + bb[j]) - mu[j]) * iv[j]
                    xr[j] = x
                    y = act.activate(g[j] * x + bt[j], act.RELU, slope)
                    row[j] = y
                    keep = multiplier(drop[0], base + <unsigned int> j, scale)
                    mr[j] = keep
                    dr[j] = y * keep
                continue
            for j in range(w):
                x = ((row[j] + bb[j]) - mu[j]) * iv[j]
                xr[j] = x
                row[j] = g[j] * x + bt[j]
            activate_span(w, row, zs + k if zs != NULL else NULL,
                          erfs + k if erfs != NULL else NULL, activation, slope)
            if drop != NULL:
                dropout_span(w, k, row, mask + k, dropped + k, drop[0])
        c0 += CHUNK


cdef inline void batch_norm_train(Py_ssize_t m, Py_ssize_t n, floating* z,
                                  const floating* bias, floating* xhat, floating* inv,
                                  const floating* gamma, const floating* beta,
                                  floating* running_mean, floating* running_var,
                                  int activation, floating slope, floating* zs,
                                  floating* erfs, floating* mask, floating* dropped,
                                  const Draw* drop) noexcept nogil:
    """In place Z (m, n) := g(gamma * xhat + beta) of Z + bias with the batch's
    statistics; xhat (m, n) and inv (n,) kept for the backward pass; the running
    statistics updated. zs (m, n) or NULL: the pre-activations kept (GELU, SiLU);
    erfs (m, n) or NULL: GELU's erf(z / sqrt 2) kept.
    drop or NULL: the dropout draw, masks into mask and the dropped values into
    dropped (each (m, n))."""
    cdef int blocks = act.column_blocks(m, n), team = par.team_for(blocks), i
    if team <= 1:
        train_columns(m, n, 0, n, z, bias, xhat, inv, gamma, beta, running_mean,
                      running_var, activation, slope, zs, erfs, mask, dropped, drop)
        return
    for i in prange(blocks, num_threads=team, schedule='dynamic', chunksize=1):
        train_columns(m, n, par.block_start(n, blocks, i), par.block_start(n, blocks, i + 1),
                      z, bias, xhat, inv, gamma, beta, running_mean, running_var,
                      activation, slope, zs, erfs, mask, dropped, drop)


cdef inline void eval_columns(Py_ssize_t m, Py_ssize_t n, Py_ssize_t lo, Py_ssize_t hi,
                              floating* z, const floating* bias, const floating* gamma,
                              const floating* beta, const floating* running_mean,
                              const floating* running_var, int activation,
                              floating slope) noexcept nogil:
    cdef floating sc[CHUNK]
    cdef floating sh[CHUNK]
    cdef floating bb[CHUNK]
    cdef floating one = 1
    cdef Py_ssize_t c0 = lo, w, i, j
    cdef floating* row
    while c0 < hi:
        w = CHUNK if c0 + CHUNK <= hi else hi - c0
        for j in range(w):
            sc[j] = one / f_sqrt(running_var[c0 + j] + <floating> BN_EPS) * gamma[c0 + j]
            sh[j] = beta[c0 + j] - running_mean[c0 + j] * sc[j]
            bb[j] = bias[c0 + j]
        for i in range(m):
            row = z + i * n + c0
            for j in range(w):
                row[j] = (row[j] + bb[j]) * sc[j] + sh[j]
            act.bias_activation_block(1, w, w, row, NULL, activation, slope, True)
        c0 += CHUNK


cdef inline void backward_columns(Py_ssize_t m, Py_ssize_t n, Py_ssize_t lo, Py_ssize_t hi,
                                  floating* d, const floating* a, const floating* mask,
                                  const floating* xhat, const floating* inv,
                                  const floating* gamma, floating* dbeta, floating* dgamma,
                                  floating* db, int activation, floating slope,
                                  const floating* erfs) noexcept nogil:
    """Columns lo .. hi - 1 of batch_norm_backward, CHUNK columns at a time."""
    cdef floating sb[CHUNK]
    cdef floating sg[CHUNK]
    cdef floating c1[CHUNK]
    cdef floating c2[CHUNK]
    cdef floating c3[CHUNK]
    cdef Py_ssize_t i, j, k
    cdef floating* dr
    cdef const floating* xr
    cdef const floating* mr
    cdef const floating* ar
    cdef floating v, inv_m = <floating> 1 / <floating> m
    cdef Py_ssize_t c0 = lo, w
    while c0 < hi:  # chunk by chunk
        w = CHUNK if c0 + CHUNK <= hi else hi - c0
        for j in range(w):
            sb[j] = 0
            sg[j] = 0
        for i in range(m):  # through the dropout and g', with both column sums
            k = i * n + c0
            dr = d + k
            xr = xhat + k
            if activation == act.RELU:  # the common case, as one loop
                ar = a + k
                if mask != NULL:
                    mr = mask + k
                    for j in range(w):
                        v = act.grad_from_output(dr[j] * mr[j], ar[j], act.RELU, slope)
                        dr[j] = v
                        sb[j] += v
                        sg[j] += v * xr[j]
                else:
                    for j in range(w):
                        v = act.grad_from_output(dr[j], ar[j], act.RELU, slope)
                        dr[j] = v
                        sb[j] += v
                        sg[j] += v * xr[j]
                continue
            if mask != NULL:
                mr = mask + k
                for j in range(w):
                    dr[j] = dr[j] * mr[j]
            act.delta_block(1, w, w, dr, a + k, dr, sb, activation, slope, True,
                            erfs + k if erfs != NULL else NULL)
            for j in range(w):
                sg[j] += dr[j] * xr[j]
        for j in range(w):
            dbeta[c0 + j] = sb[j]
            dgamma[c0 + j] = sg[j]
            c1[j] = gamma[c0 + j] * inv[c0 + j]
            c2[j] = sb[j] * inv_m
            c3[j] = sg[j] * inv_m
            sb[j] = 0  # now db's sums
        for i in range(m):
            dr = d + i * n + c0
            xr = xhat + i * n + c0
            for j in range(w):
                v = c1[j] * ((dr[j] - c2[j]) - xr[j] * c3[j])
                dr[j] = v
                sb[j] += v
        for j in range(w):
            db[c0 + j] = sb[j]
        c0 += CHUNK


cdef inline void batch_norm_backward(Py_ssize_t m, Py_ssize_t n, floating* d,
                                     const floating* a, const floating* mask,
                                     const floating* xhat, const floating* inv,
                                     const floating* gamma, floating* dbeta,
                                     floating* dgamma, floating* db, int activation,
                                     floating slope, const floating* erfs) noexcept nogil:
    """In place d (m, n): dA (what the next layer's input gradient gave) := dZ.

    mask (m, n) or NULL: the dropout multipliers; a: what g' reads (the
    output, or the kept pre-activation for GELU and SiLU); dbeta, dgamma (n,)
    := the BatchNorm1d parameters' gradients, db (n,) := the Linear bias's.
    g' is scikit-learn's variant (the logistic's product in its order); erfs
    (m, n) or NULL: GELU's erf kept by the forward.
    """
    cdef int blocks = act.column_blocks(m, n), team = par.team_for(blocks), i
    if team <= 1:
        backward_columns(m, n, 0, n, d, a, mask, xhat, inv, gamma, dbeta, dgamma, db,
                         activation, slope, erfs)
        return
    for i in prange(blocks, num_threads=team, schedule='dynamic', chunksize=1):
        backward_columns(m, n, par.block_start(n, blocks, i), par.block_start(n, blocks, i + 1),
                         d, a, mask, xhat, inv, gamma, dbeta, dgamma, db, activation, slope,
                         erfs)
