"""Compiled training and inference loops of the scikit-learn estimators.

The estimator keeps every parameter in ONE flat buffer laid out exactly as
scikit-learn's ``_pack`` does (all ``coefs_`` raveled in (n_in, n_out) C
order, then all ``intercepts_``). So ``coefs_``/``intercepts_`` are views of
that buffer, the L-BFGS parameter vector is that buffer, and the optimizer
states are buffers of the same shape updated by one elementwise pass.

Math, scikit-learn's (``MLPClassifier._backprop``), rows are examples and
W[l] is (n_{l-1}, n_l)::

    A[l]   = g(A[l-1] @ W[l] + b[l]),  p = sigmoid(A[L-1] @ W[L] + b[L])
    loss   = sum_i s_i l_i / S + (alpha / 2) sum_l |W[l]|^2 / S
             l_i = -log(clip(p_i)) if y_i else -log(1 - clip(p_i)),
             clip to [eps, 1 - eps], S = sum_i s_i (= m without weights)
    dZ[L]  = (p - y) * s                   (no 1/S here, as scikit-learn)
    dW[l]  = (A[l-1].T @ dZ[l] + alpha W[l]) / S,  db[l] = sum_rows dZ[l] / S
    dZ[l-1] = (dZ[l] @ W[l].T) * g'(A[l-1])        (no dA[0])

A sparse X (CSR) only touches the first layer: Z[1] rows are sums of rows
of W[1] (``Z[r] += v * W[j]`` over the stored (j, v) of row r), and dW[1]
is the transposed scatter (``dW[j] += v * dZ[r]``): both run over the
stored entries of the minibatch rows, read straight from the full CSR
arrays through the row index list; no row of X is ever densified.

Everything here trusts its caller (fastdense/estimator.py checks shapes,
dtypes and contiguity) and runs without the GIL.
"""

from cython cimport floating
from libc.math cimport exp, expf, log, logf, sqrt, pow
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.string cimport memcpy
from cpython.exc cimport PyErr_CheckSignals

from scipy.linalg.cython_blas cimport sdot, ddot

cimport fastdense._core as core

import numpy as np

cdef enum:
    STEP_SGD = 0
    STEP_ADAM = 1

SOLVER_SGD = STEP_SGD
SOLVER_ADAM = STEP_ADAM

cdef enum:
    # The output layer and its loss, scikit-learn's (out_activation_ + loss):
    OUT_LOGISTIC = 0   # sigmoid per output + binary log loss (binary, multilabel)
    OUT_SOFTMAX = 1    # softmax + categorical log loss (multi-class)
    OUT_IDENTITY = 2   # identity + half squared error (regression)
    OUT_EXP = 3        # exp (log link) + half Poisson deviance (regression)

OUTPUT_CODES = {"logistic": OUT_LOGISTIC, "softmax": OUT_SOFTMAX,
                "identity": OUT_IDENTITY, "exp": OUT_EXP}

# How often (at most) a nogil epoch takes the GIL back to run Python's signal
# handlers (Ctrl-C): after any minibatch once this much time has passed since
# the last check. Costs one clock read per minibatch and one GIL round trip
# per interval; bounds the reaction time to max(one minibatch, this).
cdef double signal_check_seconds = 0.005  # a constant (never assigned)
SIGNAL_CHECK_SECONDS = signal_check_seconds


cdef extern from *:
    """
    /* A cheap monotonic clock for the signal polling: the coarse clock (a few ns
       per read, ~4 ms resolution) where Linux has it. */
    #ifdef _WIN32
    #include <windows.h>
    static double fastdense_monotonic(void) { return GetTickCount64() * 1e-3; }
    #else
    #include <time.h>
    #ifdef CLOCK_MONOTONIC_COARSE
    #define FASTDENSE_CLOCK CLOCK_MONOTONIC_COARSE
    #else
    #define FASTDENSE_CLOCK CLOCK_MONOTONIC
    #endif
    static double fastdense_monotonic(void) {
        struct timespec ts;
        clock_gettime(FASTDENSE_CLOCK, &ts);
        return ts.tv_sec + 1e-9 * ts.tv_nsec;
    }
    #endif
    """
    double monotonic "fastdense_monotonic"() noexcept nogil


cdef extern from *:
    """
    /* A hint to start loading a cache line (no effect where the compiler has no builtin). */
    #if defined(__GNUC__) || defined(__clang__)
    #define fastdense_prefetch(p) __builtin_prefetch((p))
    #else
    #define fastdense_prefetch(p) ((void)(p))
    #endif
    """
    void prefetch "fastdense_prefetch"(const void* p) noexcept nogil


# Rows ahead of the copy whose loads the minibatch gather starts early: shuffled
# rows are random addresses, which the hardware prefetcher cannot guess.
cdef Py_ssize_t GATHER_AHEAD = 8  # a constant (never assigned)


# --------------------------------------------------------------- primitives

cdef inline floating expit(floating z) noexcept nogil:
    """scipy.special.expit's formula, 1 / (1 + exp(-z)) (exp(-z) = inf gives 0).

    Where exp(-z) certainly overflows the result is exactly 0, and where it
    underflows the result is exactly 1 (1 + exp(-z) already rounds to 1 from
    z > 17 in float and z > 37 in double), so neither calls exp, whose
    over/underflow path (errno, the SVID wrapper) costs ~100x a normal call.
    The bounds lie past the thresholds (overflow at -88.72 / -709.78, underflow
    at 87.3 / 708.4), so every other z gets exp's own answer.
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


cdef inline floating f_log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating f_exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


ctypedef struct Net:
    # Network shape and the flat parameter layout (all arrays owned by Python).
    Py_ssize_t n_layers          # number of weight layers L (>= 1)
    const Py_ssize_t* units      # (L + 1,): n_features, hidden..., 1
    const Py_ssize_t* coef_off   # (L,): offset of W[l] in the flat buffer
    const Py_ssize_t* icpt_off   # (L,): offset of b[l]
    int activation               # hidden activation (core.Activation)
    double slope                 # leaky_relu negative slope
    int output                   # output layer and loss (OUT_*)


ctypedef struct Update:
    # The optimizer step of a minibatch, applied layer by layer inside the
    # backward pass (while the layer's gradients are still in cache).
    int solver                   # STEP_SGD or STEP_ADAM
    double lr                    # sgd: the learning rate; adam: lr_t (bias-corrected)
    double momentum              # sgd
    bint nesterov                # sgd
    double beta_1, beta_2, epsilon  # adam


ctypedef struct Csr:
    # A CSR matrix's structure (data is passed separately, typed).
    const Py_ssize_t* indptr
    const Py_ssize_t* indices
    bint present


cdef inline void hidden_activation(Py_ssize_t m, Py_ssize_t n, floating* z,
                                   const floating* bias, int activation,
                                   floating slope) noexcept nogil:
    """A = g(Z + b) in place. The logistic is scipy's expit formula (what
    scikit-learn computes); every other activation is _core's epilogue."""
    cdef Py_ssize_t i, j
    cdef floating* row
    if activation != core.SIGMOID:
        core.bias_activation(m, n, z, bias, activation, slope)
        return
    for i in range(m):
        row = z + i * n
        for j in range(n):
            row[j] = expit(row[j] + bias[j])


cdef inline floating self_dot(Py_ssize_t n, const floating* x) noexcept nogil:
    """x @ x by BLAS (sdot/ddot), the routine numpy's np.dot uses for 1-D arrays.

    BLAS takes a 32-bit length: a longer x is summed in chunks of 2**30.
    """
    cdef int n_, one = 1
    cdef floating total = 0
    cdef Py_ssize_t chunk = 1 << 30
    if n <= 0:
        return 0
    if n <= chunk:
        n_ = <int> n
        if floating is float:
            return sdot(&n_, <float*> x, &one, <float*> x, &one)
        else:
            return ddot(&n_, <double*> x, &one, <double*> x, &one)
    while n > 0:
        n_ = <int> (chunk if n > chunk else n)
        if floating is float:
            total += sdot(&n_, <float*> x, &one, <float*> x, &one)
        else:
            total += ddot(&n_, <double*> x, &one, <double*> x, &one)
        x += n_
        n -= n_
    return total


cdef floating pairwise_sum(const floating* a, Py_ssize_t n) noexcept nogil:
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


cdef inline void hidden_delta(Py_ssize_t m, Py_ssize_t n, floating* d, const floating* a,
                              floating* db, int activation, floating slope) noexcept nogil:
    """d := d * g'(a) in place with db += column sums of the result.

    The logistic multiplies in scikit-learn's order, (d * a) * (1 - a); every
    other activation is _core's delta_and_bias_grad.
    """
    cdef Py_ssize_t i, j
    cdef floating g
    cdef floating* dr
    cdef const floating* ar
    if activation != core.SIGMOID:
        core.delta_and_bias_grad(m, n, d, a, d, db, activation, slope)
        return
    for i in range(m):
        dr = d + i * n
        ar = a + i * n
        for j in range(n):
            g = dr[j] * ar[j]
            g = g * (<floating> 1 - ar[j])
            dr[j] = g
            db[j] += g


cdef inline void gather_rows(Py_ssize_t m, const Py_ssize_t* rows, const floating* x,
                             Py_ssize_t n_feat, floating* out) noexcept nogil:
    """out (m, n_feat) := x[rows]: one memcpy per row, with the loads of the row
    GATHER_AHEAD places later started first (one hint per 64-byte line)."""
    cdef Py_ssize_t i, k, row_bytes = n_feat * sizeof(floating)
    cdef const char* ahead
    for i in range(m):
        if i + GATHER_AHEAD < m:
            ahead = <const char*> (x + rows[i + GATHER_AHEAD] * n_feat)
            for k in range(0, row_bytes, 64):
                prefetch(ahead + k)
        memcpy(out + i * n_feat, x + rows[i] * n_feat, row_bytes)


cdef inline void csr_rows_times_dense(Py_ssize_t m, const Py_ssize_t* rows,
                                      Py_ssize_t row0, Csr x, const floating* data,
                                      const floating* w, Py_ssize_t n_out,
                                      floating* z) noexcept nogil:
    """Z (m, n_out) := X[rows] @ W, X CSR and W (n_in, n_out) row-major.

    rows == NULL means rows row0 .. row0 + m - 1. Each output row is the sum of
    the W rows picked by the row's stored columns, in storage order (the order
    scipy's csr_matvecs uses).
    """
    cdef Py_ssize_t r, p, j, row
    cdef floating v
    cdef floating* zr
    cdef const floating* wr
    for r in range(m):
        zr = z + r * n_out
        for j in range(n_out):
            zr[j] = 0
        row = rows[r] if rows != NULL else row0 + r
        for p in range(x.indptr[row], x.indptr[row + 1]):
            v = data[p]
            wr = w + x.indices[p] * n_out
            for j in range(n_out):
                zr[j] += v * wr[j]


cdef inline void csr_rows_t_times_dense(Py_ssize_t m, const Py_ssize_t* rows,
                                        Py_ssize_t row0, Csr x, const floating* data,
                                        const floating* dz, Py_ssize_t n_in,
                                        Py_ssize_t n_out, floating* dw) noexcept nogil:
    """dW (n_in, n_out) := X[rows].T @ dZ, a scatter of dZ rows into dW rows."""
    cdef Py_ssize_t r, p, j, row
    cdef floating v
    cdef floating* dwr
    cdef const floating* dzr
    for j in range(n_in * n_out):
        dw[j] = 0
    for r in range(m):
        dzr = dz + r * n_out
        row = rows[r] if rows != NULL else row0 + r
        for p in range(x.indptr[row], x.indptr[row + 1]):
            v = data[p]
            dwr = dw + x.indices[p] * n_out
            for j in range(n_out):
                dwr[j] += v * dzr[j]


cdef inline void forward(Net net, Py_ssize_t m, const floating* x0, Csr xs,
                         const floating* xs_data, const Py_ssize_t* rows,
                         Py_ssize_t row0, const floating* params,
                         floating** acts) noexcept nogil:
    """acts[l] (m, units[l+1]) := layer l+1 output; the last one is the logit Z[L].

    The first layer reads the dense rows x0 (m, n_features) or, if xs.present,
    the CSR rows (rows or row0..); hidden layers apply g, the output adds b only.
    """
    cdef Py_ssize_t l, n_in, n_out
    cdef const floating* a_prev
    cdef const floating* w
    cdef const floating* b
    for l in range(net.n_layers):
        n_in = net.units[l]
        n_out = net.units[l + 1]
        w = params + net.coef_off[l]
        b = params + net.icpt_off[l]
        if l == 0 and xs.present:
            csr_rows_times_dense(m, rows, row0, xs, xs_data, w, n_out, acts[0])
        else:  # a one-unit layer goes to gemv inside core.gemm, as numpy's matmul does
            a_prev = x0 if l == 0 else acts[l - 1]
            core.gemm(False, False, <int> m, <int> n_out, <int> n_in, <floating> 1,
                      a_prev, <int> n_in, w, <int> n_out, <floating> 0, acts[l],
                      <int> n_out)
        hidden_activation(m, n_out, acts[l], b,
                          core.IDENTITY if l == net.n_layers - 1 else net.activation,
                          <floating> net.slope)


cdef inline void update_layer(const Update* u, Net net, Py_ssize_t l, floating* params,
                              const floating* grads, floating* state1, floating* state2,
                              double alpha, floating scale) noexcept nogil:
    """scikit-learn's step for layer l: W[l] with the L2 term, b[l] without.

    The grads are raw sums; the optimizer's pass finishes them ((g + alpha W) / S).
    Every parameter's update is independent of the others', so stepping layer
    by layer gives the bits of one pass over the whole buffer.
    """
    cdef Py_ssize_t k, off, n
    for k in range(2):
        off = net.coef_off[l] if k == 0 else net.icpt_off[l]
        n = net.units[l + 1] * (net.units[l] if k == 0 else 1)
        if u.solver == STEP_ADAM:
            core.sklearn_adam(n, n if k == 0 else 0, params + off, grads + off,
                              state1 + off, state2 + off, <floating> u.lr,
                              u.beta_1, u.beta_2,
                              <floating> u.epsilon, <floating> alpha, scale)
        else:
            core.sklearn_sgd(n, n if k == 0 else 0, params + off, grads + off,
                             state1 + off, <floating> u.lr, <floating> u.momentum,
                             u.nesterov, <floating> alpha, scale)


cdef double output_loss_delta(int output, Py_ssize_t m, Py_ssize_t k, floating* z,
                              const floating* y, const floating* sw, floating sw_sum,
                              floating* dz, floating* lbuf, floating* db) noexcept nogil:
    """scikit-learn's output layer and loss on m rows of k outputs, from the logits z.

    The loss as scikit-learn's LOSS_FUNCTIONS compute it (returned, without the
    L2 term): per output column, the (weighted) average over rows of the
    element loss, then the sum over columns (``.mean()`` for squared error):
        logistic  -(y log(pc) + (1 - y) log(1 - pc)),  pc = clip(expit(z), eps, 1 - eps)
        softmax   -y log(pc),  pc = clip(softmax(z), eps, 1 - eps)
        identity  (y - z)^2, reported as half the mean over columns
        exp       xlogy(y, y / exp(z)) - y + exp(z)  (half the Poisson deviance)
    and dZ[L] = (out(z) - y) * s into dz (the canonical link makes this the
    derivative for all four; scikit-learn's squared error divides its reported
    loss by k but not its gradient). db := the column sums of dz. z is
    overwritten (softmax in place); lbuf (m * k) is scratch. Sums over rows are
    numpy's: pairwise for one column, row after row for several.
    """
    cdef Py_ssize_t i, j, idx
    cdef floating eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef floating a, pc, yi, g, d, mx, tot, t
    cdef floating one = 1
    cdef floating* zr
    for i in range(m):
        zr = z + i * k
        if output == OUT_SOFTMAX:  # scikit-learn's inplace_softmax, step by step
            mx = zr[0]
            for j in range(1, k):
                if zr[j] > mx:
                    mx = zr[j]
            for j in range(k):
                zr[j] = f_exp(zr[j] - mx)
            tot = pairwise_sum(zr, k)
            for j in range(k):
                zr[j] = zr[j] / tot
        for j in range(k):
            idx = i * k + j
            yi = y[idx]
            if output == OUT_LOGISTIC:
                a = expit(zr[j])
                pc = eps if a < eps else (one - eps if a > one - eps else a)
                g = -f_log(pc) if yi > 0.5 else -f_log(one - pc)
            elif output == OUT_SOFTMAX:
                a = zr[j]
                pc = eps if a < eps else (one - eps if a > one - eps else a)
                g = -f_log(pc) if yi > 0.5 else 0
            elif output == OUT_EXP:
                a = f_exp(zr[j])
                t = yi / a
                if yi == 0 and t == t:  # scipy's xlogy(0, t) = 0 unless t is NaN
                    g = 0
                else:
                    g = yi * f_log(t)
                g = (g - yi) + a
            else:
                a = zr[j]
                d = yi - a
                g = d * d
            d = a - yi
            if sw != NULL:
                g = g * sw[i]
                d = d * sw[i]
            lbuf[idx] = g
            dz[idx] = d
    if k == 1:
        lbuf[0] = pairwise_sum(lbuf, m)
        db[0] = pairwise_sum(dz, m)
    else:
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


cdef double batch_loss_grad(Net net, Py_ssize_t m, const floating* x0, Csr xs,
                            const floating* xs_data, const Py_ssize_t* rows,
                            Py_ssize_t row0, const floating* y, const floating* sw,
                            floating* params, floating* grads,
                            floating** acts, floating* d_a, floating* d_b,
                            double alpha, const Update* update, floating* state1,
                            floating* state2) noexcept nogil:
    """scikit-learn's _backprop on m rows: returns the batch loss, fills grads.

    y and sw are the batch's targets and weights (m,), sw NULL for none.
    acts: per-layer (m, units[l+1]) buffers; d_a, d_b: (m, max units) each.
    With update NULL, grads are scikit-learn's ((sums + alpha W) / S). Otherwise
    they stay raw sums and each layer takes the optimizer step (state1/state2:
    velocities, or Adam's m and v) as soon as the backward pass is done with it,
    while its gradients are hot; the step finishes the sums, which saves a pass.
    """
    cdef Py_ssize_t L = net.n_layers, l, i, j, k, n_in, n_out
    cdef floating eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef floating z, p, pc, g, sw_sum_f
    cdef double loss_sum, sw_sum, sq = 0, loss
    cdef bint finish = update == NULL
    cdef floating* dz = d_a
    cdef floating* tmp
    cdef floating* dw
    cdef floating* db
    cdef const floating* w
    cdef const floating* a_prev

    forward(net, m, x0, xs, xs_data, rows, row0, params, acts)

    if net.output == OUT_LOGISTIC and net.units[L] == 1:
        # Binary: p = expit(z), the clipped log loss per row (into d_b) and
        # dZ[L] = (p - y) * s (into dz); the three sums are numpy's pairwise sums,
        # as np.average / np.sum compute them in scikit-learn.
        for i in range(m):
            z = acts[L - 1][i]
            p = expit(z)
            pc = eps if p < eps else (1 - eps if p > 1 - eps else p)
            if y[i] > 0.5:
                g = -f_log(pc)
            else:
                g = -f_log(1 - pc)
            p = p - y[i]
            if sw != NULL:
                g = g * sw[i]
                p = p * sw[i]
            d_b[i] = g
            dz[i] = p
        loss_sum = <double> pairwise_sum(d_b, m)
        sw_sum = <double> pairwise_sum(sw, m) if sw != NULL else <double> m
        grads[net.icpt_off[L - 1]] = pairwise_sum(dz, m)
        sw_sum_f = <floating> sw_sum
        loss = loss_sum / sw_sum
    else:
        sw_sum = <double> pairwise_sum(sw, m) if sw != NULL else <double> m
        sw_sum_f = <floating> sw_sum
        loss = output_loss_delta(net.output, m, net.units[L], acts[L - 1], y, sw,
                                 sw_sum_f, dz, d_b, grads + net.icpt_off[L - 1])

    # The L2 term of the loss, from the weights before this step's update:
    # one BLAS dot per layer summed in order, as scikit-learn's np.dot(s, s).
    # (With alpha = 0 the term is 0 for finite weights: no pass needed.)
    if alpha != 0:
        for l in range(L):
            sq += <double> self_dot(net.units[l] * net.units[l + 1],
                                    params + net.coef_off[l])
    loss = loss + (0.5 * alpha) * sq / sw_sum

    for l in range(L - 1, -1, -1):
        n_in = net.units[l]
        n_out = net.units[l + 1]
        w = params + net.coef_off[l]
        dw = grads + net.coef_off[l]
        db = grads + net.icpt_off[l]
        # dW = (A.T @ dZ + alpha W) / S and db /= S (db holds the column sums)
        if l == 0 and xs.present:
            csr_rows_t_times_dense(m, rows, row0, xs, xs_data, dz, n_in, n_out, dw)
        else:
            a_prev = x0 if l == 0 else acts[l - 1]
            core.gemm(True, False, <int> n_in, <int> n_out, <int> m, <floating> 1,
                      a_prev, <int> n_in, dz, <int> n_out, <floating> 0, dw,
                      <int> n_out)
        if finish:
            for k in range(n_in * n_out):
                dw[k] = (dw[k] + <floating> alpha * w[k]) / sw_sum_f
        if l > 0:
            # dZ[l-1] = (dZ[l] @ W.T) * g'(A[l-1]) with db[l-1] summed in the same pass
            tmp = d_b if dz == d_a else d_a
            if n_out == 1:  # an outer product: one multiply per element, no sum
                for i in range(m):
                    for j in range(n_in):
                        tmp[i * n_in + j] = dz[i] * w[j]
            else:
                core.gemm(False, True, <int> m, <int> n_in, <int> n_out, <floating> 1,
                          dz, <int> n_out, w, <int> n_out, <floating> 0, tmp,
                          <int> n_in)
            for j in range(n_in):
                grads[net.icpt_off[l - 1] + j] = 0
            hidden_delta(m, n_in, tmp, acts[l - 1], grads + net.icpt_off[l - 1],
                         net.activation, <floating> net.slope)
        if finish:
            for j in range(n_out):
                db[j] = db[j] / sw_sum_f
        else:  # W[l] is no longer needed, and db[l] is complete
            update_layer(update, net, l, params, grads, state1, state2, alpha, sw_sum_f)
        if l > 0:
            dz = tmp
    return loss


cdef void layer_pointers(Net net, floating* acts_buf, Py_ssize_t m,
                         floating** acts) noexcept nogil:
    cdef Py_ssize_t l, off = 0
    for l in range(net.n_layers):
        acts[l] = acts_buf + off
        off += m * net.units[l + 1]


cdef Net make_net(const Py_ssize_t[::1] units, const Py_ssize_t[::1] coef_off,
                  const Py_ssize_t[::1] icpt_off, int activation, double slope,
                  int output):
    cdef Net net
    net.output = output
    net.n_layers = coef_off.shape[0]
    net.units = &units[0]
    net.coef_off = &coef_off[0]
    net.icpt_off = &icpt_off[0]
    net.activation = activation
    net.slope = slope
    return net


cdef Csr make_csr(const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] indices):
    cdef Csr xs
    xs.present = indptr.shape[0] > 0
    xs.indptr = &indptr[0] if indptr.shape[0] > 0 else NULL
    xs.indices = &indices[0] if indices.shape[0] > 0 else NULL
    return xs


# ---------------------------------------------------------------- entry points

def stochastic_epoch(const floating[:, ::1] X, const floating[::1] xs_data,
                     const Py_ssize_t[::1] xs_indptr, const Py_ssize_t[::1] xs_indices,
                     const floating[:, ::1] y, const floating[::1] sw,
                     const Py_ssize_t[::1] order, bint use_order, Py_ssize_t batch_size,
                     const Py_ssize_t[::1] units, const Py_ssize_t[::1] coef_off,
                     const Py_ssize_t[::1] icpt_off, int activation, double slope,
                     int output, floating[::1] params, floating[::1] grads, floating[::1] state1,
                     floating[::1] state2, floating[::1] acts_buf, floating[::1] d_a,
                     floating[::1] d_b, floating[::1] xb, floating[::1] yb,
                     floating[::1] swb, int solver, double lr, double momentum,
                     bint nesterov, double beta_1, double beta_2, double epsilon,
                     long long adam_t, double alpha, bint check_signals=False):
    """One epoch of minibatch SGD/Adam as scikit-learn's _fit_stochastic runs it.

    X is the dense (n, n_features) training data, or (0, n_features) when the
    CSR triple xs_* is given (empty xs_indptr = dense). Batches are the
    gen_batches slices of ``order`` (use_order) or of 0..n-1. Returns
    (accumulated_loss, adam_t, n_done, error): accumulated_loss = sum of
    batch_loss * batch_len over the n_done rows whose minibatches completed.

    With check_signals (the caller is the main thread), Python's signal
    handlers run between minibatches every SIGNAL_CHECK_SECONDS; if one raises
    (KeyboardInterrupt on Ctrl-C) the epoch stops after the minibatch in
    progress, params hold the last completed update, and the exception is
    returned as ``error`` (None otherwise) for the caller to handle.
    y is (n, n_outputs); output is the OUT_* code of the output layer and loss.
    Buffers: acts_buf >= batch * sum(units[1:]), d_a/d_b >= batch * max(units[1:]),
    xb >= batch * n_features (dense gather), yb >= batch * n_outputs, swb >= batch.
    """
    cdef Net net = make_net(units, coef_off, icpt_off, activation, slope, output)
    cdef Csr xs = make_csr(xs_indptr, xs_indices)
    cdef Py_ssize_t n = y.shape[0], n_feat = units[0], n_out = y.shape[1]
    cdef Py_ssize_t start, stop, m, i, r, j
    cdef double acc = 0, batch_loss
    cdef Update update
    cdef floating* acts[64]
    cdef const floating* x0
    cdef const floating* ybp
    cdef const floating* swp
    cdef const Py_ssize_t* rows
    cdef const floating* xs_ptr = &xs_data[0] if xs_data.shape[0] > 0 else NULL
    cdef const floating* sw_all = &sw[0] if sw.shape[0] > 0 else NULL
    cdef const floating* X_ptr = &X[0, 0] if (X.shape[0] > 0 and n_feat > 0) else NULL
    cdef double last_check = 0
    cdef bint stop_now = False
    error = None
    if n == 0:
        return 0.0, adam_t, 0, None
    update.solver = solver
    update.lr = lr
    update.momentum = momentum
    update.nesterov = nesterov
    update.beta_1 = beta_1
    update.beta_2 = beta_2
    update.epsilon = epsilon
    with nogil:
        if check_signals:
            last_check = monotonic()
        start = 0
        while start < n:
            stop = start + batch_size
            if stop > n:
                stop = n
            m = stop - start
            layer_pointers(net, &acts_buf[0], m, acts)
            rows = &order[start] if use_order else NULL
            if use_order:
                for i in range(m):
                    r = rows[i]
                    for j in range(n_out):
                        yb[i * n_out + j] = y[r, j]
                    if sw_all != NULL:
                        swb[i] = sw_all[r]
                if not xs.present and n_feat > 0:
                    gather_rows(m, rows, X_ptr, n_feat, &xb[0])
                ybp = &yb[0]
                swp = &swb[0] if sw_all != NULL else NULL
                x0 = &xb[0]
            else:
                ybp = &y[start, 0]
                swp = sw_all + start if sw_all != NULL else NULL
                x0 = X_ptr + start * n_feat if X_ptr != NULL else NULL
            if solver == STEP_ADAM:
                adam_t += 1
                update.lr = lr * sqrt(1 - pow(beta_2, <double> adam_t)) / (
                    1 - pow(beta_1, <double> adam_t))
            batch_loss = batch_loss_grad(net, m, x0, xs, xs_ptr, rows, start, ybp,
                                         swp, &params[0], &grads[0], acts, &d_a[0],
                                         &d_b[0], alpha, &update, &state1[0],
                                         &state2[0] if state2.shape[0] > 0 else NULL)
            acc += batch_loss * m
            start = stop
            if check_signals and start < n and monotonic() - last_check >= signal_check_seconds:
                with gil:
                    try:
                        PyErr_CheckSignals()
                    except BaseException as exc:
                        error = exc
                        stop_now = True
                last_check = monotonic()
                if stop_now:
                    break
    return acc, adam_t, start, error


def loss_grad(const floating[:, ::1] X, const floating[::1] xs_data,
              const Py_ssize_t[::1] xs_indptr, const Py_ssize_t[::1] xs_indices,
              const floating[:, ::1] y, const floating[::1] sw,
              const Py_ssize_t[::1] units, const Py_ssize_t[::1] coef_off,
              const Py_ssize_t[::1] icpt_off, int activation, double slope, int output,
              const floating[::1] params, floating[::1] grads,
              floating[::1] acts_buf, floating[::1] d_a, floating[::1] d_b,
              double alpha):
    """Full-batch loss (returned) and gradient (into grads): _loss_grad_lbfgs."""
    cdef Net net = make_net(units, coef_off, icpt_off, activation, slope, output)
    cdef Csr xs = make_csr(xs_indptr, xs_indices)
    cdef Py_ssize_t n = y.shape[0], n_feat = units[0]
    cdef double loss
    cdef floating* params_ptr = <floating*> &params[0]  # read only without an update
    cdef floating* acts[64]
    cdef const floating* xs_ptr = &xs_data[0] if xs_data.shape[0] > 0 else NULL
    cdef const floating* sw_ptr = &sw[0] if sw.shape[0] > 0 else NULL
    cdef const floating* X_ptr = &X[0, 0] if (X.shape[0] > 0 and n_feat > 0) else NULL
    with nogil:
        layer_pointers(net, &acts_buf[0], n, acts)
        loss = batch_loss_grad(net, n, X_ptr, xs, xs_ptr, NULL, 0, &y[0, 0], sw_ptr,
                               params_ptr, &grads[0], acts, &d_a[0], &d_b[0], alpha,
                               NULL, NULL, NULL)
    return loss


def decision_function(const floating[:, ::1] X, const floating[::1] xs_data,
                      const Py_ssize_t[::1] xs_indptr, const Py_ssize_t[::1] xs_indices,
                      Py_ssize_t n, const Py_ssize_t[::1] units,
                      const Py_ssize_t[::1] coef_off, const Py_ssize_t[::1] icpt_off,
                      int activation, double slope, const floating[::1] params,
                      floating[::1] acts_buf, Py_ssize_t chunk, floating[::1] out):
    """out (n * n_out,) := the logits Z[L] of each row, forward in chunks of `chunk` rows.

    acts_buf >= chunk * sum(units[1:]): memory is O(chunk x width), not O(n).
    """
    cdef Net net = make_net(units, coef_off, icpt_off, activation, slope, 0)
    cdef Csr xs = make_csr(xs_indptr, xs_indices)
    cdef Py_ssize_t n_feat = units[0], start, m, L = coef_off.shape[0]
    cdef Py_ssize_t n_out = units[L]
    cdef floating* acts[64]
    cdef const floating* xs_ptr = &xs_data[0] if xs_data.shape[0] > 0 else NULL
    cdef const floating* X_ptr = &X[0, 0] if (X.shape[0] > 0 and n_feat > 0) else NULL
    if n == 0:
        return
    with nogil:
        start = 0
        while start < n:
            m = chunk if start + chunk <= n else n - start
            layer_pointers(net, &acts_buf[0], m, acts)
            forward(net, m, X_ptr + start * n_feat if X_ptr != NULL else NULL, xs,
                    xs_ptr, NULL, start, &params[0], acts)
            memcpy(&out[start * n_out], acts[L - 1], m * n_out * sizeof(floating))
            start += m


# ------------------------------------------------- predict: the whole call in one

def predict_dense(const floating[:, ::1] X, const Py_ssize_t[::1] units,
                  const Py_ssize_t[::1] coef_off, const Py_ssize_t[::1] icpt_off,
                  int activation, double slope, const floating[::1] params,
                  floating[::1] acts_buf, Py_ssize_t chunk, floating[:, ::1] out,
                  bint binary_proba):
    """Forward a dense X in chunks of `chunk` rows, checking X and the logits on the way.

    With `binary_proba`, out (n, 2) := (1 - p, p), p = expit(z) of the single
    logit z (scipy's formula, as MLPClassifier's predict_proba); else out
    (n, n_out) := the logits. Returns 1 if X holds a NaN or an infinity
    (nothing is computed), 2 if a logit is NaN, 0 otherwise: the caller then
    takes the full path, which raises the proper error. The caller proves
    the shapes: X (n, units[0]) with n >= 1, acts_buf >= chunk * sum(units[1:]).
    """
    cdef Net net = make_net(units, coef_off, icpt_off, activation, slope, 0)
    cdef Csr xs
    cdef Py_ssize_t n = X.shape[0], n_feat = units[0], start, m, i
    cdef Py_ssize_t L = coef_off.shape[0], n_out = units[L], total = n * n_feat
    cdef floating* acts[64]
    cdef const floating* x = &X[0, 0]
    cdef floating* z
    cdef floating d, p
    cdef int status = 0, bad = 0
    xs.indptr = NULL
    xs.indices = NULL
    xs.present = False
    with nogil:
        for i in range(total):  # x - x is NaN exactly for NaN and +-inf (an OR: it vectorizes)
            d = x[i] - x[i]
            bad |= d != d
        if bad:
            status = 1
        start = 0
        while status == 0 and start < n:
            m = chunk if start + chunk <= n else n - start
            layer_pointers(net, &acts_buf[0], m, acts)
            forward(net, m, x + start * n_feat, xs, NULL, NULL, start, &params[0], acts)
            z = acts[L - 1]
            for i in range(m * n_out):
                bad |= z[i] != z[i]
            if bad:
                status = 2
            if binary_proba:
                for i in range(m):
                    p = expit(z[i])
                    out[start + i, 1] = p
                    out[start + i, 0] = 1 - p
            else:
                memcpy(&out[start, 0], z, m * n_out * sizeof(floating))
            start += m
    return status
