# Batch normalization over the rows of one layer's pre-activation (PyTorch's
# BatchNorm1d: affine, eps 1e-5, momentum 0.1), forward and backward:
#   training  mean, var = column mean and biased variance of Z;  inv = 1 / sqrt(var + eps)
#             xhat = (Z - mean) * inv;  Y = gamma * xhat + beta
#             running_mean += momentum * (mean - running_mean)        (as (1 - mom) r + mom x)
#             running_var  += momentum * (var * m / (m - 1) - running_var)   (unbiased)
#   eval      Y = gamma * (Z - running_mean) / sqrt(running_var + eps) + beta
#   backward  dbeta = colsum(dY),  dgamma = colsum(dY * xhat)
#             dZ = gamma * inv * (dY - dbeta / m - xhat * dgamma / m)
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes (m >= 2 in training);
# nothing here allocates, raises or touches Python objects.

from cython cimport floating

from fastdense._math cimport f_sqrt

cdef extern from *:
    """
    #define FASTDENSE_BN_EPS 1e-5
    #define FASTDENSE_BN_MOMENTUM 0.1
    """
    const double BN_EPS "FASTDENSE_BN_EPS"
    const double BN_MOMENTUM "FASTDENSE_BN_MOMENTUM"


cdef inline void batch_norm_train(Py_ssize_t m, Py_ssize_t n, floating* z,
                                  const floating* bias, floating* xhat,
                                  floating* inv, const floating* gamma,
                                  const floating* beta, floating* running_mean,
                                  floating* running_var) noexcept nogil:
    """In place Z := Z + bias (the Linear's), then Z := gamma * xhat + beta with the
    batch's statistics; xhat (m, n) and inv (n,) kept for the backward pass; the
    running statistics updated.

    Two passes over the rows (the mean, then the centred squares), in the
    kernel's precision, then the normalizing pass.
    """
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating* xr
    cdef floating d, one = 1, mf = <floating> m
    cdef floating mom = <floating> BN_MOMENTUM
    for j in range(n):
        inv[j] = 0  # the column sums, then the mean
    for i in range(m):
        row = z + i * n
        for j in range(n):
            row[j] = row[j] + bias[j]
            inv[j] += row[j]
    for j in range(n):  # mean in xhat's first row for now: reuse inv for the variance
        xhat[j] = inv[j] / mf
        inv[j] = 0
    for i in range(m):
        row = z + i * n
        for j in range(n):
            d = row[j] - xhat[j]
            inv[j] += d * d
    for j in range(n):
        # running statistics (before inv becomes 1 / std): unbiased variance
        running_mean[j] = (one - mom) * running_mean[j] + mom * xhat[j]
        running_var[j] = (one - mom) * running_var[j] + mom * (inv[j] / (mf - one))
        inv[j] = one / f_sqrt(inv[j] / mf + <floating> BN_EPS)
    # row 0 of xhat holds the mean: subtract it last
    for i in range(m - 1, -1, -1):
        row = z + i * n
        xr = xhat + i * n
        for j in range(n):
            xr[j] = (row[j] - xhat[j]) * inv[j]
            row[j] = gamma[j] * xr[j] + beta[j]


cdef inline void batch_norm_eval(Py_ssize_t m, Py_ssize_t n, floating* z,
                                 const floating* gamma, const floating* beta,
                                 const floating* running_mean,
                                 const floating* running_var) noexcept nogil:
    """In place Z := gamma * (Z - running_mean) / sqrt(running_var + eps) + beta."""
    cdef Py_ssize_t i, j
    cdef floating* row
    for i in range(m):
        row = z + i * n
        for j in range(n):
            row[j] = gamma[j] * ((row[j] - running_mean[j])
                                 / f_sqrt(running_var[j] + <floating> BN_EPS)) + beta[j]


cdef inline void batch_norm_backward(Py_ssize_t m, Py_ssize_t n, floating* d,
                                     const floating* xhat, const floating* inv,
                                     const floating* gamma, const floating* dbeta,
                                     floating* dgamma, floating* db) noexcept nogil:
    """In place dY := dZ, given dbeta = colsum(dY) (already summed by the delta pass);
    dgamma (n,) := colsum(dY * xhat); db (n,) := colsum(dZ), the Linear bias's."""
    cdef Py_ssize_t i, j
    cdef floating* dr
    cdef const floating* xr
    cdef floating inv_m = <floating> 1 / <floating> m
    for j in range(n):
        dgamma[j] = 0
        db[j] = 0
    for i in range(m):
        dr = d + i * n
        xr = xhat + i * n
        for j in range(n):
            dgamma[j] += dr[j] * xr[j]
    for i in range(m):
        dr = d + i * n
        xr = xhat + i * n
        for j in range(n):
            dr[j] = gamma[j] * inv[j] * (dr[j] - dbeta[j] * inv_m - xr[j] * (dgamma[j] * inv_m))
            db[j] += dr[j]
