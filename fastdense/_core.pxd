# The nogil building blocks of fastdense: one source of truth per formula.
#
# Everything here is `cdef inline ... noexcept nogil` over raw, C-contiguous,
# row-major buffers, so every compiled module can cimport it and the compiler
# can inline it into its loops. Callers have checked shapes and sizes; nothing
# here allocates, raises or touches Python objects.
#
# Math (rows are examples; see DESIGN.md):
#   Z = A_prev @ W.T + b,  A = g(Z)                        forward
#   dZ = dA * g'(A),  db = sum_rows dZ                     backward prologue
#   dW = dZ.T @ A_prev,  dA_prev = dZ @ W                  backward products

from cython cimport floating
from libc.math cimport exp, expf, log, logf, log1p, log1pf, tanh, tanhf, sqrt, sqrtf
from libc.float cimport DBL_EPSILON, FLT_EPSILON  # for the output losses (issue 15)
from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv


cdef enum Activation:
    IDENTITY = 0
    RELU = 1
    TANH = 2
    SIGMOID = 3
    LEAKY_RELU = 4


# ---------------------------------------------------------------- scalar math

cdef inline floating f_exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating f_log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating f_log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating f_tanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf(x)
    else:
        return tanh(x)


cdef inline floating f_sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating sigmoid(floating z) noexcept nogil:
    """1 / (1 + exp(-z)) without overflow: exp is only taken of -|z|."""
    cdef floating e, one = 1  # a typed 1: a bare `1` is a C double in float code
    if z >= 0:
        return one / (one + f_exp(-z))
    e = f_exp(z)  # also the NaN path: NaN in, NaN out
    return e / (one + e)


cdef inline floating activate(floating z, int activation, floating slope) noexcept nogil:
    """g(z). `z < 0` (not `z > 0`) decides, so NaN propagates as in NumPy/PyTorch."""
    if activation == RELU:
        return 0 if z < 0 else z
    elif activation == TANH:
        return f_tanh(z)
    elif activation == SIGMOID:
        return sigmoid(z)
    elif activation == LEAKY_RELU:
        return z * slope if z < 0 else z
    return z


cdef inline floating grad_from_output(floating da, floating a, int activation,
                                      floating slope) noexcept nogil:
    """da * g'(z), with g' written in terms of the output a = g(z).

    relu: 0 where a <= 0, else 1 (a select: an upstream NaN is masked where
    a <= 0, and a NaN output passes da through, as PyTorch's threshold_backward
    and scikit-learn's `delta[Z == 0] = 0` do); leaky_relu: 1 or slope (slope >= 0,
    so a > 0 iff z > 0; a NaN output gets da * slope, as PyTorch);
    tanh: 1 - a^2; sigmoid: a (1 - a); identity: 1.
    """
    cdef floating one = 1  # in the kernel's precision (a bare `1` is a C double)
    if activation == RELU:
        return 0 if a <= 0 else da
    elif activation == TANH:
        return da * (one - a * a)
    elif activation == SIGMOID:
        return da * (a * (one - a))
    elif activation == LEAKY_RELU:
        return da if a > 0 else da * slope
    return da


# ----------------------------------------------------------------------- BLAS

cdef inline void gemv(bint trans, int rows, int cols, floating alpha, const floating* a,
                      int lda, const floating* x, int incx, floating beta, floating* y,
                      int incy) noexcept nogil:
    """Column-major (BLAS) y := alpha * op(A) @ x + beta * y, A stored (rows, cols)."""
    cdef char t = b'T' if trans else b'N'
    if floating is float:
        sgemv(&t, &rows, &cols, &alpha, <float*> a, &lda, <float*> x, &incx, &beta, y, &incy)
    else:
        dgemv(&t, &rows, &cols, &alpha, <double*> a, &lda, <double*> x, &incx, &beta, y, &incy)


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating* a, int lda,
                      const floating* b, int ldb, floating beta,
                      floating* c, int ldc) noexcept nogil:
    """Row-major C := alpha * op(A) @ op(B) + beta * C; C is (m, n), op(A) is (m, k).

    BLAS is column-major, and a row-major matrix read column-major is its
    transpose, so we ask for C.T = op(B).T @ op(A).T: the operands and the
    sizes swap, the transpose flags pass through unchanged. lda/ldb/ldc are the
    row lengths of the stored (row-major) arrays. A single row or column of C is
    a matrix-vector product, which goes to gemv (BLAS gemm is slow there).
    """
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef Py_ssize_t i, j
    if m <= 0 or n <= 0:
        return
    if k <= 0:  # an empty sum: C := beta * C, and no BLAS call on empty operands
        for i in range(m):
            for j in range(n):
                c[i * ldc + j] = 0 if beta == 0 else beta * c[i * ldc + j]
        return
    if m == 1:
        # C (1, n) as a vector = op(B).T @ x, x = op(A)'s only row (stride lda if transposed).
        # Column-major, stored B is (n, k) when not transposed and (k, n) when transposed.
        if trans_b:
            gemv(True, k, n, alpha, b, ldb, a, lda if trans_a else 1, beta, c, 1)
        else:
            gemv(False, n, k, alpha, b, ldb, a, lda if trans_a else 1, beta, c, 1)
    elif n == 1:
        # C (m, 1) as a vector (stride ldc) = op(A) @ x, x = op(B)'s only column.
        # Column-major, stored A is (k, m) when not transposed and (m, k) when transposed.
        if trans_a:
            gemv(False, m, k, alpha, a, lda, b, 1 if trans_b else ldb, beta, c, ldc)
        else:
            gemv(True, k, m, alpha, a, lda, b, 1 if trans_b else ldb, beta, c, ldc)
    elif floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
              &beta, c, &ldc)


# ---------------------------------------------------------------- dense layer

cdef inline void activate_row(Py_ssize_t n, floating* row, int activation,
                              floating slope) noexcept nogil:
    """row := g(row). One loop per activation, so each inner loop is branch-free
    and the compiler can vectorize it."""
    cdef Py_ssize_t j
    if activation == RELU:
        for j in range(n):
            row[j] = activate(row[j], RELU, slope)
    elif activation == LEAKY_RELU:
        for j in range(n):
            row[j] = activate(row[j], LEAKY_RELU, slope)
    elif activation == TANH:
        for j in range(n):
            row[j] = activate(row[j], TANH, slope)
    elif activation == SIGMOID:
        for j in range(n):
            row[j] = activate(row[j], SIGMOID, slope)


cdef inline void bias_activation(Py_ssize_t m, Py_ssize_t n, floating* z,
                                 const floating* bias, int activation,
                                 floating slope) noexcept nogil:
    """In place A = g(Z + b), row by row while the row is in L1. bias may be NULL."""
    cdef Py_ssize_t i, j
    cdef floating* row
    if activation == RELU and bias != NULL:  # the common case, as one loop
        for i in range(m):
            row = z + i * n
            for j in range(n):
                row[j] = activate(row[j] + bias[j], RELU, slope)
        return
    for i in range(m):
        row = z + i * n
        if bias != NULL:
            for j in range(n):
                row[j] = row[j] + bias[j]
        activate_row(n, row, activation, slope)


cdef inline void dense_forward(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out,
                               const floating* a_prev, const floating* w,
                               const floating* bias, floating* out, int activation,
                               floating slope) noexcept nogil:
    """out (m, n_out) := g(A_prev @ W.T + b); W is (n_out, n_in) as nn.Linear.weight."""
    gemm(False, True, <int> m, <int> n_out, <int> n_in, <floating> 1, a_prev,
         <int> n_in, w, <int> n_in, <floating> 0, out, <int> n_out)
    bias_activation(m, n_out, out, bias, activation, slope)


cdef inline void delta_row(Py_ssize_t n, const floating* da, const floating* a,
                           floating* dz, int activation, floating slope) noexcept nogil:
    """dz := da * g'(a) over one row; one branch-free loop per activation."""
    cdef Py_ssize_t j
    if activation == RELU:
        for j in range(n):
            dz[j] = grad_from_output(da[j], a[j], RELU, slope)
    elif activation == LEAKY_RELU:
        for j in range(n):
            dz[j] = grad_from_output(da[j], a[j], LEAKY_RELU, slope)
    elif activation == TANH:
        for j in range(n):
            dz[j] = grad_from_output(da[j], a[j], TANH, slope)
    elif activation == SIGMOID:
        for j in range(n):
            dz[j] = grad_from_output(da[j], a[j], SIGMOID, slope)
    elif dz != da:
        for j in range(n):
            dz[j] = da[j]


cdef inline void delta_and_bias_grad(Py_ssize_t m, Py_ssize_t n, const floating* da,
                                     const floating* a, floating* dz, floating* db,
                                     int activation, floating slope) noexcept nogil:
    """dZ = dA * g'(A) and db += column sums of dZ, row by row while the row is in
    L1. dz may alias da; db may be NULL."""
    cdef Py_ssize_t i, j
    cdef floating g
    cdef floating* dz_row
    if activation == RELU and db != NULL:  # the common case, as one loop
        for i in range(m):
            for j in range(n):
                g = grad_from_output(da[i * n + j], a[i * n + j], RELU, slope)
                dz[i * n + j] = g
                db[j] += g
        return
    for i in range(m):
        dz_row = dz + i * n
        delta_row(n, da + i * n, a + i * n, dz_row, activation, slope)
        if db != NULL:
            for j in range(n):
                db[j] += dz_row[j]


cdef inline void weight_grad(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out,
                             const floating* dz, const floating* a_prev, floating* dw,
                             bint accumulate) noexcept nogil:
    """dW (n_out, n_in) := dZ.T @ A_prev (+ dW if accumulate)."""
    gemm(True, False, <int> n_out, <int> n_in, <int> m, <floating> 1, dz, <int> n_out,
         a_prev, <int> n_in, <floating> (1 if accumulate else 0), dw, <int> n_in)


cdef inline void input_grad(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out,
                            const floating* dz, const floating* w,
                            floating* da_prev) noexcept nogil:
    """dA_prev (m, n_in) := dZ @ W."""
    gemm(False, False, <int> m, <int> n_in, <int> n_out, <floating> 1, dz, <int> n_out,
         w, <int> n_in, <floating> 0, da_prev, <int> n_in)


cdef inline void dense_backward(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out,
                                const floating* da, const floating* a_prev,
                                const floating* w, const floating* a, floating* dz,
                                floating* dw, floating* db, floating* da_prev,
                                int activation, floating slope,
                                bint accumulate) noexcept nogil:
    """dZ = dA * g'(A), db += colsum(dZ), dW (+)= dZ.T @ A_prev, dA_prev := dZ @ W.

    m, n_out >= 1. dz may alias da; db (added to, as delta_and_bias_grad does)
    and da_prev may be NULL; nothing but the delta pass runs when n_in == 0.
    """
    delta_and_bias_grad(m, n_out, da, a, dz, db, activation, slope)
    if n_in > 0:
        weight_grad(m, n_in, n_out, dz, a_prev, dw, accumulate)
        if da_prev != NULL:
            input_grad(m, n_in, n_out, dz, w, da_prev)


# ---------------------------------------------------------------------- loss

cdef inline double bce_with_logits(Py_ssize_t rows, Py_ssize_t cols, const floating* z,
                                   const floating* y, const floating* weight,
                                   const floating* pos_weight, floating* dz,
                                   floating* loss, floating grad_scale) noexcept nogil:
    """Sigmoid + binary cross-entropy from logits, loss and gradient in one pass.

    Per element (PyTorch's BCEWithLogitsLoss), with p = pos_weight[col] or 1:
        l     = -p y log(sigmoid(z)) - (1 - y) log(sigmoid(-z))
              = [(1 - y) z  if z >= 0  else  -p y z] + (1 + (p - 1) y) log1p(exp(-|z|))
        dl/dz = (1 - y) sigmoid(z) - p y sigmoid(-z)          (= sigmoid(z) - y if p == 1)
    Both forms avoid cancellation for 0/1 targets: no term is subtracted from a
    nearly equal one, so a tiny loss keeps its digits at any |z|. One exp, of
    -|z|, serves sigmoid(z), sigmoid(-z) and the log1p: no overflow, no log(0).
    Returns sum(w * l) (accumulated in double); writes dz = grad_scale * w * dl/dz
    and, if loss is not NULL, loss = w * l. weight (rows*cols) and pos_weight
    (cols) may be NULL.
    """
    cdef Py_ssize_t i, j, idx
    cdef floating zi, yi, p, e, inv, s_pos, s_neg, li, gi
    cdef floating one = 1  # in the kernel's precision (a bare `1` is a C double)
    cdef double total = 0
    p = one
    for i in range(rows):
        for j in range(cols):
            idx = i * cols + j
            zi = z[idx]
            yi = y[idx]
            if pos_weight != NULL:
                p = pos_weight[j]
            e = f_exp(-zi if zi >= 0 else zi)  # NaN propagates
            inv = one / (one + e)
            if zi >= 0:
                s_pos, s_neg = inv, e * inv
                li = (one - yi) * zi
            else:
                s_pos, s_neg = e * inv, inv
                li = -(p * yi) * zi
            li = li + (one + (p - one) * yi) * f_log1p(e)
            gi = (one - yi) * s_pos - (p * yi) * s_neg
            if weight != NULL:
                li = li * weight[idx]
                gi = gi * weight[idx]
            total += li
            dz[idx] = grad_scale * gi
            if loss != NULL:
                loss[idx] = li
    return total


cdef inline double bce_probs(Py_ssize_t n, const floating* p, const floating* y,
                             const floating* weight, floating* dp, floating* loss,
                             floating grad_scale) noexcept nogil:
    """Binary cross-entropy from probabilities (PyTorch's BCELoss), loss and gradient.

    Per element, logs clamped at -100 as PyTorch does (so p = 0 or 1 stays finite):
        l     = -(y max(log p, -100) + (1 - y) max(log1p(-p), -100))
        dl/dp = (p - y) / max(p (1 - p), float32(1e-12))
    Returns sum(w * l) (in double); writes dp = grad_scale * w * dl/dp and, if
    loss is not NULL, loss = w * l. weight may be NULL.
    """
    cdef Py_ssize_t i
    cdef floating pi, yi, lp, lq, li, gi, den
    cdef floating one = 1  # in the kernel's precision (a bare `1` is a C double)
    cdef float eps = 1e-12  # PyTorch's floor is the float 1e-12, in both dtypes
    cdef double total = 0
    for i in range(n):
        pi = p[i]
        yi = y[i]
        lp = f_log(pi)
        lq = f_log1p(-pi)
        if lp < -100:
            lp = -100
        if lq < -100:
            lq = -100
        li = (yi - one) * lq - yi * lp
        den = (one - pi) * pi
        if den < <floating> eps:
            den = <floating> eps
        gi = (pi - yi) / den
        if weight != NULL:
            li = li * weight[i]
            gi = gi * weight[i]
        total += li
        dp[i] = grad_scale * gi
        if loss != NULL:
            loss[i] = li
    return total


# ====================== scikit-learn's output layers and losses (issue 15) =====
# MLPClassifier's and MLPRegressor's out_activation_ with its loss
# (sklearn.neural_network._base: ACTIVATIONS + LOSS_FUNCTIONS), computed the way
# scikit-learn computes them, so that a float64 fit gives its model bit for
# bit: scipy's expit formula, the log of a probability clipped to
# [eps, 1 - eps] (the clip keeps every log finite, also where p underflowed;
# the log-sum-exp forms of the PyTorch semantics are bce_with_logits above),
# numpy's pairwise sums. dZ = out(Z) - Y for all four: each output activation
# is its loss's canonical link.

cdef enum Output:
    OUT_LOGISTIC = 0   # sigmoid per output + binary log loss (binary, multilabel)
    OUT_SOFTMAX = 1    # softmax + categorical log loss (multi-class)
    OUT_IDENTITY = 2   # identity + half squared error (regression)
    OUT_EXP = 3        # exp (log link) + half Poisson deviance (regression)


cdef inline floating expit(floating z) noexcept nogil:
    """scipy.special.expit's formula, 1 / (1 + exp(-z)) (exp(-z) = inf gives 0).

    Where exp(-z) certainly overflows the result is exactly 0, and where it
    underflows the result is exactly 1 (1 + exp(-z) already rounds to 1 from
    z > 17 in float and z > 37 in double), so neither calls exp, whose
    over/underflow path (errno, the SVID wrapper) costs ~100x a normal call.
    The bounds lie past the thresholds (overflow at -88.72 / -709.78, underflow
    at 87.3 / 708.4), so every other z gets exp's own answer. (sigmoid above is
    the other formula, e / (1 + e) for z < 0, which PyTorch's bits need.)
    """
    if floating is float:  # float arithmetic, as scipy's expit for float32
        if z < -89:
            return 0
        if z > 88:
            return 1
        return <float> 1 / (<float> 1 + expf(-z))
    else:
        if z < -710:
            return 0
        if z > 708:
            return 1
        return 1 / (1 + exp(-z))


cdef inline floating pairwise_sum(const floating* a, Py_ssize_t n) noexcept nogil:
    """numpy's pairwise summation (8 accumulators, blocks of 128), bit for bit."""
    cdef Py_ssize_t i, n2
    cdef floating res, r0, r1, r2, r3, r4, r5, r6, r7
    if n < 8:
        res = 0
        for i in range(n):
            res += a[i]
        return res
    elif n <= 128:
        r0 = a[0]; r1 = a[1]; r2 = a[2]; r3 = a[3]
        r4 = a[4]; r5 = a[5]; r6 = a[6]; r7 = a[7]
        i = 8
        while i < n - (n % 8):
            r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3]
            r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2)


cdef inline void sklearn_output_row(int output, Py_ssize_t k, floating* z,
                                    const floating* y, floating eps, floating* loss,
                                    floating* dz) noexcept nogil:
    """One row of k outputs from its logits z: loss[j] the element loss, dz[j] = out(z[j]) - y[j].

        logistic  -log(pc) if y else -log(1 - pc),  pc = clip(expit(z), eps, 1 - eps)
        softmax   -log(pc) if y else 0,  pc = clip(softmax(z), eps, 1 - eps)
        identity  (y - z)^2
        exp       xlogy(y, y / exp(z)) - y + exp(z)   (xlogy(0, t) = 0 unless t is NaN)

    softmax overwrites z with softmax(z) (scikit-learn's inplace_softmax, step
    by step). One loop per output, so each inner loop is branch-free.
    """
    cdef Py_ssize_t j
    cdef floating a, pc, g, t, d, mx, tot
    cdef floating one = 1  # in the kernel's precision (a bare `1` is a C double)
    if output == OUT_LOGISTIC:
        for j in range(k):
            a = expit(z[j])
            pc = eps if a < eps else (one - eps if a > one - eps else a)
            loss[j] = -f_log(pc) if y[j] > 0.5 else -f_log(one - pc)
            dz[j] = a - y[j]
    elif output == OUT_SOFTMAX:
        mx = z[0]
        for j in range(1, k):
            if z[j] > mx:
                mx = z[j]
        for j in range(k):
            z[j] = f_exp(z[j] - mx)
        tot = pairwise_sum(z, k)
        for j in range(k):
            a = z[j] / tot
            z[j] = a
            pc = eps if a < eps else (one - eps if a > one - eps else a)
            loss[j] = -f_log(pc) if y[j] > 0.5 else 0
            dz[j] = a - y[j]
    elif output == OUT_EXP:
        for j in range(k):
            a = f_exp(z[j])
            t = y[j] / a
            if y[j] == 0 and t == t:  # scipy's xlogy(0, t) = 0 unless t is NaN
                g = 0
            else:
                g = y[j] * f_log(t)
            loss[j] = (g - y[j]) + a
            dz[j] = a - y[j]
    else:
        for j in range(k):
            d = y[j] - z[j]
            loss[j] = d * d
            dz[j] = z[j] - y[j]


cdef inline double sklearn_output_loss(int output, Py_ssize_t m, Py_ssize_t k, floating* z,
                                       const floating* y, const floating* sw,
                                       floating sw_sum, floating* dz, floating* lbuf,
                                       floating* db) noexcept nogil:
    """scikit-learn's output layer and loss on m rows of k outputs, from the logits z.

    Returns the loss as LOSS_FUNCTIONS compute it (without the L2 term): per
    output column the (weighted) average over rows of the element loss of
    sklearn_output_row, then the sum over columns (``.mean()``, half of it,
    for the squared error). Writes dZ[L] = (out(z) - y) * s into dz (no 1/S,
    as scikit-learn: it divides the parameter gradients by S; its squared
    error divides the reported loss by k but not the gradient) and db := the
    column sums of dz. sw (m,) may be NULL (s = 1), sw_sum is S. z is
    overwritten; lbuf (m * k) is scratch. Sums over rows are numpy's:
    pairwise for one column, row after row for several. One column's average
    is divided in double, several columns' in the buffers' precision (in
    float32 the binary estimators keep the loss values they always had).
    """
    cdef Py_ssize_t i, j
    cdef floating eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef floating s, tot
    cdef double total
    for i in range(m):
        sklearn_output_row(output, k, z + i * k, y + i * k, eps, lbuf + i * k, dz + i * k)
        if sw != NULL:
            s = sw[i]
            for j in range(k):
                lbuf[i * k + j] = lbuf[i * k + j] * s
                dz[i * k + j] = dz[i * k + j] * s
    if k == 1:  # one output: the average taken in double (in float64, the same bits)
        db[0] = pairwise_sum(dz, m)
        total = <double> pairwise_sum(lbuf, m) / <double> sw_sum
        return 0.5 * total if output == OUT_IDENTITY else total
    for j in range(k):
        db[j] = dz[j]
    for i in range(1, m):
        for j in range(k):
            lbuf[j] += lbuf[i * k + j]
            db[j] += dz[i * k + j]
    for j in range(k):
        lbuf[j] = lbuf[j] / sw_sum
    tot = pairwise_sum(lbuf, k)
    if output == OUT_IDENTITY:
        return <double> (<floating> 0.5 * (tot / <floating> k))
    return <double> tot
# ================== end of scikit-learn's output layers and losses (issue 15) ==


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

cdef inline void sklearn_sgd(Py_ssize_t n, Py_ssize_t n_decay, floating* p,
                             const floating* g, floating* velocity, floating lr,
                             floating momentum, bint nesterov, floating alpha,
                             floating scale) noexcept nogil:
    """scikit-learn SGDOptimizer: v = mu v - lr g; p += v, or mu v - lr g (Nesterov)."""
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
