# Losses from logits, loss and gradient in one pass: PyTorch's forms
# (log-sum-exp, nothing cancels) and scikit-learn's output layers.
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes; nothing here allocates,
# raises or touches Python objects.

from cython cimport floating
from libc.math cimport exp, expf, log, logf
from libc.float cimport DBL_EPSILON, FLT_EPSILON

from fastdense._activations cimport expit, sigmoid
from fastdense._math cimport f_exp, f_log, f_log1p


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
# numpy's pairwise sums. dZ = out(Z) - Y for these four: each output activation
# is its loss's canonical link. Beyond scikit-learn, two robust regression
# losses on the identity output, per element PyTorch's L1Loss and HuberLoss
# (whose small-residual branch 0.5 r^2 is scikit-learn's half squared error:
# huber -> squared_error as delta -> inf), with dZ = psi(Z - Y), psi the
# element loss's derivative (sign, with sign(0) = 0 as torch.sign; the clipped
# residual), scaled as squared_error's: reported as the mean over outputs,
# differentiated as their sum.

cdef enum Output:
    OUT_LOGISTIC = 0   # sigmoid per output + binary log loss (binary, multilabel)
    OUT_SOFTMAX = 1    # softmax + categorical log loss (multi-class)
    OUT_IDENTITY = 2   # identity + half squared error (regression)
    OUT_EXP = 3        # exp (log link) + half Poisson deviance (regression)
    OUT_ABSOLUTE = 4   # identity + absolute error (PyTorch's L1Loss)
    OUT_HUBER = 5      # identity + Huber loss with delta (PyTorch's HuberLoss)
    OUT_LAST = 5       # the largest code (the doors' range check)


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
                                    floating* dz, floating delta) noexcept nogil:
    """One row of k outputs from its logits z: loss[j] the element loss, dz[j] its gradient.

        logistic  -log(pc) if y else -log(1 - pc),  pc = clip(expit(z), eps, 1 - eps)
        softmax   -log(pc) if y else 0,  pc = clip(softmax(z), eps, 1 - eps)
        identity  (y - z)^2
        exp       xlogy(y, y / exp(z)) - y + exp(z)   (xlogy(0, t) = 0 unless t is NaN)
        absolute  |r|                            dz = sign(r), sign(0) = 0    (r = z - y)
        huber     0.5 r^2 if |r| < delta else delta (|r| - 0.5 delta)
                                                 dz = clip(r, -delta, delta)
    dz = out(z) - y for the first four. NaN residuals give NaN losses and
    gradients.

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
    elif output == OUT_ABSOLUTE:
        for j in range(k):
            d = z[j] - y[j]
            loss[j] = d if d >= 0 else -d
            dz[j] = one if d > 0 else (-one if d < 0 else d)  # d: 0 at 0, NaN at NaN
    elif output == OUT_HUBER:
        for j in range(k):
            d = z[j] - y[j]
            t = d if d >= 0 else -d
            if t < delta:
                loss[j] = (<floating> 0.5 * d) * d
                dz[j] = d
            else:
                loss[j] = delta * (t - <floating> 0.5 * delta)
                dz[j] = delta if d > 0 else (-delta if d < 0 else d)
    else:
        for j in range(k):
            d = y[j] - z[j]
            loss[j] = d * d
            dz[j] = z[j] - y[j]


cdef inline double sklearn_output_loss(int output, Py_ssize_t m, Py_ssize_t k, floating* z,
                                       const floating* y, const floating* sw,
                                       floating sw_sum, floating* dz, floating* lbuf,
                                       floating* db, floating delta) noexcept nogil:
    """scikit-learn's output layer and loss on m rows of k outputs, from the logits z.

    Returns the loss as LOSS_FUNCTIONS compute it (without the L2 term): per
    output column the (weighted) average over rows of the element loss of
    sklearn_output_row, then the sum over columns (``.mean()``, half of it,
    for the squared error; the mean for the absolute and Huber losses). Writes dZ[L] = (out(z) - y) * s into dz (no 1/S,
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
        sklearn_output_row(output, k, z + i * k, y + i * k, eps, lbuf + i * k, dz + i * k,
                           delta)
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
    if output == OUT_ABSOLUTE or output == OUT_HUBER:
        return <double> (tot / <floating> k)
    return <double> tot
# ================== end of scikit-learn's output layers and losses (issue 15) ==
