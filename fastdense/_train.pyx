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

A fit describes itself to these loops once, in typed objects built in
Python: a ``Layout`` (the widths and the flat buffer's offsets), a
``NetSpec`` (layout, hidden activation, output layer and loss), an
``EpochPlan`` (the data, the minibatch size and every scratch buffer) and,
for sgd/adam, an ``OptimizerSpec`` (the step's constants and state
buffers); each epoch is then ``stochastic_epoch(plan, opt, params, order)``.
The estimators' doors prove the network and the optimizer state first
(``fastdense._network``); the constructors here only refuse what would make
a loop index outside a buffer. The loops run without the GIL. The output
layers and losses are ``_losses.pxd``'s ``sklearn_output_loss``.
"""

from cython cimport floating
from libc.math cimport sqrt, pow
from libc.string cimport memcpy
from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid

from scipy.linalg.cython_blas cimport sdot, ddot

cimport fastdense._activations as act
cimport fastdense._batchnorm as bn
cimport fastdense._blas as blas
cimport fastdense._dropout as drp
cimport fastdense._losses as losses
cimport fastdense._packed_gemm as packed
cimport fastdense._parallel as par
cimport fastdense._shuffle as shf
cimport fastdense._updates as upd
from cython.parallel cimport parallel
from fastdense._small_gemm cimport matmul_block, matmul_blocks
cimport numpy as cnp

import numpy as np

from fastdense import _threadpool

cnp.import_array()
par.parallel_init()

cdef enum:
    STEP_SGD = 0
    STEP_ADAM = 1

SOLVER_SGD = STEP_SGD
SOLVER_ADAM = STEP_ADAM

cdef enum:
    MAX_LAYERS = 64  # weight layers: the loops keep one pointer per layer on the stack

MAX_WEIGHT_LAYERS = MAX_LAYERS

# The output layer and its loss, scikit-learn's out_activation_ (losses.Output).
# The regressor's robust losses (identity output) are named by their loss.
OUTPUT_CODES = {"logistic": losses.OUT_LOGISTIC, "softmax": losses.OUT_SOFTMAX,
                "identity": losses.OUT_IDENTITY, "exp": losses.OUT_EXP,
                "absolute_error": losses.OUT_ABSOLUTE, "huber": losses.OUT_HUBER}

# How often (at most) a nogil epoch takes the GIL back to run Python's signal
# handlers (Ctrl-C): after any minibatch once this much time has passed since
# the last check. Reads the clock the team tuner reads after each minibatch
# (fastdense._parallel.clock) and costs one GIL round trip per interval;
# bounds the reaction time to max(one minibatch, this).
cdef double signal_check_seconds = 0.005  # a constant (never assigned)
SIGNAL_CHECK_SECONDS = signal_check_seconds


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
# Rows of at most this many bytes are copied inline (copy_short), longer ones by memcpy.
cdef Py_ssize_t SHORT_ROW_BYTES = 256  # a constant (never assigned)


# --------------------------------------------------------------- primitives

ctypedef struct Net:
    # Network shape and the flat parameter layout (all arrays owned by Python).
    Py_ssize_t n_layers          # number of weight layers L (>= 1)
    const Py_ssize_t* units      # (L + 1,): n_features, hidden..., 1
    const Py_ssize_t* coef_off   # (L,): offset of W[l] in the flat buffer
    const Py_ssize_t* icpt_off   # (L,): offset of b[l]
    int activation               # hidden activation (act.Activation)
    double slope                 # leaky_relu negative slope
    int output                   # output layer and loss (losses.Output)
    double huber_delta           # the Huber loss's delta (OUT_HUBER)
    bint keep_z                  # g' needs the pre-activation z (GELU, SiLU): keep it
    const double* dropout        # (L,): dropout probability after hidden layer l; NULL: none
    const Py_ssize_t* bn_off     # (L,): offset of gamma[l] (beta[l] follows) in the flat
                                 # buffer for hidden layer l; NULL: no batch norm
    const Py_ssize_t* stat_off   # (L,): offset of running_mean[l] (running_var[l] follows)


ctypedef struct Extras:
    # What a training forward keeps beyond the activations, for its backward
    # (each (m, units[l+1]) per layer, laid out as the activations; NULL: absent).
    # Forward at predict passes no Extras: no dropout, nothing kept.
    void* zs                     # pre-activations z, when net.keep_z
    void* erfs                   # GELU: erf(z / sqrt 2) of the forward, for g' (or NULL)
    void* masks                  # dropout multipliers, 0 or 1 / (1 - p)
    void* dropped                # activations times their mask: what the next layer reads
    void* xhat                   # batch norm: the normalized pre-activations
    void* inv                    # batch norm: 1 / std of each unit (its row 0 of the slot)
    unsigned long long* rng      # the dropout generator's state (EpochPlan's)


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


cdef inline Py_ssize_t copy_piece(char* dst, const char* src, Py_ssize_t done,
                                  Py_ssize_t nbytes, Py_ssize_t piece) noexcept nogil:
    """Bytes done .. done + piece - 1 copied if the row has them; returns the bytes done.
    Inlined with a constant piece, the memcpy becomes one vector move."""
    if nbytes - done >= piece:
        memcpy(dst + done, src + done, piece)
        return done + piece
    return done


cdef inline void copy_short(char* dst, const char* src, Py_ssize_t nbytes) noexcept nogil:
    """memcpy of a short row (a multiple of 4 bytes) in fixed-size pieces: a libc
    call per row of small data costs more than its copy."""
    cdef Py_ssize_t done = 0
    while nbytes - done >= 32:
        done = copy_piece(dst, src, done, nbytes, 32)
    done = copy_piece(dst, src, done, nbytes, 16)
    done = copy_piece(dst, src, done, nbytes, 8)
    copy_piece(dst, src, done, nbytes, 4)


cdef inline void gather_rows(Py_ssize_t m, const Py_ssize_t* rows, const floating* x,
                             Py_ssize_t n_feat, floating* out) noexcept nogil:
    """out (m, n_feat) := x[rows]: one copy per row (copy_short up to
    SHORT_ROW_BYTES, else memcpy), with the loads of the row GATHER_AHEAD places
    later started first (one hint per 64-byte line)."""
    cdef Py_ssize_t i, k, row_bytes = n_feat * sizeof(floating)
    cdef const char* ahead
    cdef bint by_pieces = row_bytes <= SHORT_ROW_BYTES
    for i in range(m):
        if i + GATHER_AHEAD < m:
            ahead = <const char*> (x + rows[i + GATHER_AHEAD] * n_feat)
            for k in range(0, row_bytes, 64):
                prefetch(ahead + k)
        if by_pieces:
            copy_short(<char*> (out + i * n_feat), <const char*> (x + rows[i] * n_feat),
                       row_bytes)
        else:
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


cdef inline floating* layer_slot(void* buf, floating** acts, Py_ssize_t l) noexcept nogil:
    """Layer l's (m, units[l+1]) block of an Extras buffer, laid out as the activations."""
    return <floating*> buf + (acts[l] - acts[0])


cdef inline const floating* layer_output(Net net, const Extras* ex, floating** acts,
                                         Py_ssize_t l) noexcept nogil:
    """What the layer after hidden layer l reads: its activations, after dropout if any."""
    if ex != NULL and net.dropout != NULL and net.dropout[l] > 0:
        return layer_slot(ex.dropped, acts, l)
    return acts[l]


cdef enum:
    # The inner edges of a team's shares of columns or elements are multiples of
    # this many values: 64 bytes of float32, so that two threads never write one
    # cache line of a row (rows, being whole, need no such edge).
    SHARE_ALIGN = 16


ctypedef struct Packing:
    # The buffers of the packed float32 product (fastdense/_packed_gemm.pxd), which
    # an epoch's float32 products of two blocks or more run in: `shared`, the
    # operand that every block of a product uses whole, packed once per product
    # by the team; `work`, `per` floats for each thread of the team.
    float* shared
    float* work
    Py_ssize_t per


cdef inline bint packs(const Packing* pkg, int blocks) noexcept nogil:
    return pkg != NULL and blocks > 1


cdef inline void pack_shared(par.Team t, const Packing* pkg, int blocks, bint trans_a,
                             bint trans_b, int m, int n, int k, const floating* a, int lda,
                             const floating* b, int ldb) noexcept nogil:
    """Before the blocks of a product that runs packed: the team packs the operand
    every block uses whole, each thread its part, and meets at a barrier."""
    if floating is float:
        if packs(pkg, blocks):
            packed.pack_shared(trans_a, trans_b, m, n, k, a, lda, b, ldb, pkg.shared, t.id,
                               t.size)
            par.sync(t)


cdef inline void product_block(par.Team t, const Packing* pkg, int i, int blocks,
                               bint trans_a, bint trans_b, int m, int n, int k,
                               const floating* a, int lda, const floating* b, int ldb,
                               floating* c, int ldc) noexcept nogil:
    """Block i of a product: packed (after pack_shared) with a Packing, else
    matmul_block's BLAS call. Either way a function of the sizes only, so the
    same bits for any team (the packed product's elements are sgemm_small's sums)."""
    if floating is float:
        if packs(pkg, blocks):
            packed.packed_gemm_block(i, blocks, trans_a, trans_b, m, n, k, a, lda, b, ldb,
                                     c, ldc, pkg.shared, pkg.work + t.id * pkg.per)
            return
    matmul_block(i, blocks, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc)


cdef void packing_sizes(Net net, Py_ssize_t rows, Py_ssize_t* per,
                        Py_ssize_t* ahead) noexcept nogil:
    """The floats a Packing needs for an epoch of `rows`-row minibatches: per
    thread (per) and for the shared operand (ahead); 0 if no product splits. A
    shorter minibatch's products are no larger in any dimension."""
    cdef Py_ssize_t l, i, m, n, k, a_rows, b_cols
    cdef int blocks
    cdef bint ta, tb
    per[0] = 0
    ahead[0] = 0
    for l in range(net.n_layers):
        for i in range(3):  # forward; dA (not for the first layer); dW
            if i == 1 and l == 0:
                continue
            if i == 0:
                m, n, k = rows, net.units[l + 1], net.units[l]
            elif i == 1:
                m, n, k = rows, net.units[l], net.units[l + 1]
            else:
                m, n, k = net.units[l], net.units[l + 1], rows
            ta, tb = i == 2, i == 1
            blocks = matmul_blocks(ta, tb, <int> m, <int> n, <int> k, <float*> NULL)
            if blocks <= 1:
                continue
            per[0] = max(per[0], <Py_ssize_t> packed.packed_work(m, n, k))
            # either operand may be the shared one (which depends on m >= n)
            a_rows = <Py_ssize_t> packed.packed_ahead_size(m, k, packed.MR)
            b_cols = <Py_ssize_t> packed.packed_ahead_size(n, k, packed.NR)
            ahead[0] = max(ahead[0], a_rows, b_cols)


cdef void forward(par.Team t, Net net, Py_ssize_t m, const floating* x0, Csr xs,
                  const floating* xs_data, const Py_ssize_t* rows, Py_ssize_t row0,
                  const floating* params, floating** acts, const Extras* ex,
                  const Packing* pkg) noexcept nogil:
    """acts[l] (m, units[l+1]) := layer l+1 output; the last one is the logit Z[L].

    Run by every thread of the team t (par.Team; par.solo() outside a region),
    each doing its share; the logits are complete once the team has passed
    the caller's next par.sync. The first layer reads the dense rows x0
    (m, n_features) or, if xs.present, the CSR rows (rows or row0..); hidden
    layers apply g, the output adds b only. With ex (training): z kept for g'
    where the activation needs it, and dropout after the hidden activations
    (the next layer reads ex.dropped). A hidden layer's bias, activation and
    dropout run on each block of its product as soon as the block is done,
    by the thread that computed it (while it is in that thread's cache), except
    where they need whole columns (batch norm), keep z, or the product is one block.
    """
    cdef Py_ssize_t l, n_in, n_out, lo, hi, c_lo, c_hi, k, r, r0, r1, c0, c1
    cdef const floating* a_prev = x0
    cdef const floating* w
    cdef const floating* b
    cdef floating* z
    cdef floating* masks
    cdef floating* dropped
    cdef double p
    cdef drp.Draw draws[MAX_LAYERS]
    cdef bint dropping = ex != NULL and net.dropout != NULL, csr, fused
    cdef unsigned long long rng = 0
    cdef int turn = 0, blocks, i, i0, i1
    if dropping:  # each layer's draw, in layer order, from the state as it stands
        rng = ex.rng[0]
        for l in range(net.n_layers - 1):
            if net.dropout[l] > 0:
                draws[l] = drp.draw(net.dropout[l], &rng)
    lo = par.share_edge(t, m, 1, t.id)  # rows of the element-wise passes
    hi = par.share_edge(t, m, 1, t.id + 1)
    for l in range(net.n_layers):
        n_in = net.units[l]
        n_out = net.units[l + 1]
        w = params + net.coef_off[l]
        b = params + net.icpt_off[l]
        z = acts[l]
        p = net.dropout[l] if dropping and l < net.n_layers - 1 else 0
        masks = layer_slot(ex.masks, acts, l) if p > 0 else NULL
        dropped = layer_slot(ex.dropped, acts, l) if p > 0 else NULL
        csr = l == 0 and xs.present
        # (a one-unit layer goes to gemv inside blas.gemm, as numpy's matmul does)
        blocks = 1 if csr else matmul_blocks(False, False, <int> m, <int> n_out, <int> n_in,
                                             a_prev)
        fused = (blocks > 1 and l < net.n_layers - 1 and net.bn_off == NULL
                 and not (ex != NULL and net.keep_z))
        pack_shared(t, pkg, blocks, False, False, <int> m, <int> n_out, <int> n_in, a_prev,
                    <int> n_in, w, <int> n_out)
        par.block_share(t, turn, blocks, &i0, &i1)
        turn += blocks
        for i in range(i0, i1):
            if csr:
                csr_rows_times_dense(m, rows, row0, xs, xs_data, w, n_out, z)
                continue
            product_block(t, pkg, i, blocks, False, False, <int> m, <int> n_out, <int> n_in,
                          a_prev, <int> n_in, w, <int> n_out, z, <int> n_out)
            if fused:
                blas.block_rect(i, blocks, m, n_out, &r0, &r1, &c0, &c1)
                k = r0 * n_out + c0
                act.bias_activation_block(r1 - r0, c1 - c0, n_out, z + k, b + c0,
                                          net.activation, <floating> net.slope, True)
                if p > 0:
                    for r in range(r0, r1):
                        k = r * n_out + c0
                        drp.dropout_span(c1 - c0, k, z + k, masks + k, dropped + k, draws[l])
        par.sync(t)
        if l == 0 and dropping and t.id == 0:
            ex.rng[0] = rng  # every thread read the old state before the sync above
        a_prev = dropped if p > 0 else z
        if fused:
            continue
        k = lo * n_out
        if l == net.n_layers - 1:
            act.bias_activation_block(hi - lo, n_out, n_out, z + k, b, act.IDENTITY,
                                      <floating> net.slope, True)
            return
        if net.bn_off != NULL:
            # Linear (with its bias) -> BatchNorm1d -> activation (-> dropout), fused,
            # by columns (each column's statistics sum over all rows)
            c_lo = par.share_edge(t, n_out, SHARE_ALIGN, t.id)
            c_hi = par.share_edge(t, n_out, SHARE_ALIGN, t.id + 1)
            if ex != NULL:
                bn.train_columns(m, n_out, c_lo, c_hi, z, b, layer_slot(ex.xhat, acts, l),
                                 layer_slot(ex.inv, acts, l), params + net.bn_off[l],
                                 params + net.bn_off[l] + n_out,
                                 <floating*> params + net.stat_off[l],
                                 <floating*> params + net.stat_off[l] + n_out,
                                 net.activation, <floating> net.slope,
                                 layer_slot(ex.zs, acts, l) if net.keep_z else NULL,
                                 layer_slot(ex.erfs, acts, l) if ex.erfs != NULL else NULL,
                                 masks, dropped, &draws[l] if p > 0 else NULL)
            else:
                bn.eval_columns(m, n_out, c_lo, c_hi, z, b, params + net.bn_off[l],
                                params + net.bn_off[l] + n_out, params + net.stat_off[l],
                                params + net.stat_off[l] + n_out, net.activation,
                                <floating> net.slope)
        else:
            if ex != NULL and net.keep_z:
                act.bias_activation_keep_z(hi - lo, n_out, z + k, b,
                                           layer_slot(ex.zs, acts, l) + k,
                                           layer_slot(ex.erfs, acts, l) + k if ex.erfs != NULL
                                           else NULL, net.activation, <floating> net.slope)
            else:
                act.bias_activation_block(hi - lo, n_out, n_out, z + k, b, net.activation,
                                          <floating> net.slope, True)
            if p > 0:
                drp.dropout_span((hi - lo) * n_out, k, z + k, masks + k, dropped + k, draws[l])
        par.sync(t)


cdef inline void update_range(const Update* u, Py_ssize_t off, Py_ssize_t n,
                              Py_ssize_t n_l2, floating* params, const floating* grads,
                              floating* state1, floating* state2, double alpha,
                              floating scale) noexcept nogil:
    """scikit-learn's step for params[off:off + n], the first n_l2 with the L2 term,
    on the calling thread. Each parameter's step is independent of the others':
    any split of a buffer gives the bits of one pass."""
    if n <= 0:
        return
    if u.solver == STEP_ADAM:
        upd.sklearn_adam_block(n, n_l2, params + off, grads + off, state1 + off, state2 + off,
                               <floating> u.lr, u.beta_1, u.beta_2, <floating> u.epsilon,
                               <floating> alpha, scale)
    else:
        upd.sklearn_sgd_block(n, n_l2, params + off, grads + off, state1 + off,
                              <floating> u.lr, <floating> u.momentum, u.nesterov,
                              <floating> alpha, scale)


cdef inline void step_span(const Update* u, Py_ssize_t off, Py_ssize_t n, bint decay,
                           floating* params, floating* grads, floating* state1,
                           floating* state2, double alpha, floating scale) noexcept nogil:
    """params[off:off + n]'s step (with the L2 term if decay), or without an update
    (u NULL) the gradients finished in place: (g + alpha p) / S, or g / S."""
    cdef Py_ssize_t k
    cdef floating a = <floating> alpha if decay else 0
    if u != NULL:
        update_range(u, off, n, n if decay else 0, params, grads, state1, state2, alpha, scale)
    elif decay:
        for k in range(off, off + n):
            grads[k] = (grads[k] + a * params[k]) / scale
    else:
        for k in range(off, off + n):
            grads[k] = grads[k] / scale


cdef inline void delta_rect(Net net, Py_ssize_t n, Py_ssize_t r0, Py_ssize_t r1,
                            Py_ssize_t c0, Py_ssize_t c1, floating* d, const floating* saved,
                            const floating* mask, const floating* erfs) noexcept nogil:
    """d := (d * mask) * g'(saved) over rows r0 .. r1 - 1, columns c0 .. c1 - 1 of an
    (m, n) block: the element-wise part of the delta pass (scikit-learn's order for
    the logistic, (d a)(1 - a)); its column sums are taken apart (column_sums)."""
    cdef Py_ssize_t r, j, k
    cdef floating g, a
    if r1 <= r0 or c1 <= c0:
        return
    if mask != NULL:  # through the dropout
        for r in range(r0, r1):
            for j in range(c0, c1):
                d[r * n + j] = d[r * n + j] * mask[r * n + j]
    if net.activation == act.SIGMOID:
        for r in range(r0, r1):
            for j in range(c0, c1):
                a = saved[r * n + j]
                g = d[r * n + j] * a
                d[r * n + j] = g * (<floating> 1 - a)
        return
    k = r0 * n + c0
    act.delta_block(r1 - r0, c1 - c0, n, d + k, saved + k, d + k, NULL, net.activation,
                    <floating> net.slope, True, erfs + k if erfs != NULL else NULL)


cdef inline void column_sums(Py_ssize_t m, Py_ssize_t n, Py_ssize_t c0, Py_ssize_t c1,
                             const floating* d, floating* sums) noexcept nogil:
    """sums[j] := the sum of d[:, j] over the rows in order, for j in c0 .. c1 - 1 (the
    order in which the one-pass delta kernel accumulates db)."""
    cdef Py_ssize_t i, j
    for j in range(c0, c1):
        sums[j] = 0
    for i in range(m):
        for j in range(c0, c1):
            sums[j] += d[i * n + j]


cdef inline void update_share(par.Team t, const Update* u, Py_ssize_t off, Py_ssize_t n,
                              bint decay, floating* params, floating* grads,
                              floating* state1, floating* state2, double alpha,
                              floating scale) noexcept nogil:
    """This thread's share (par.share_edge) of step_span over params[off:off + n]."""
    cdef Py_ssize_t lo = par.share_edge(t, n, SHARE_ALIGN, t.id)
    cdef Py_ssize_t hi = par.share_edge(t, n, SHARE_ALIGN, t.id + 1)
    if hi > lo:
        step_span(u, off + lo, hi - lo, decay, params, grads, state1, state2, alpha, scale)


cdef double batch_loss_grad(par.Team t, Net net, Py_ssize_t m, const floating* x0, Csr xs,
                            const floating* xs_data, const Py_ssize_t* rows,
                            Py_ssize_t row0, const floating* y, const floating* sw,
                            floating* params, floating* grads,
                            floating** acts, floating* d_a, floating* d_b,
                            double alpha, const Update* update, floating* state1,
                            floating* state2, const Extras* ex,
                            const Packing* pkg) noexcept nogil:
    """scikit-learn's _backprop on m rows: returns the batch loss, fills grads.

    Run by every thread of the team t (par.Team; par.solo() outside a region),
    in phases separated by par.sync; thread 0 returns the loss (the others
    an unspecified value) and everything is written once the team has passed
    the region's end. y and sw are the batch's targets and weights (m,), sw
    NULL for none. acts: per-layer (m, units[l+1]) buffers; d_a, d_b: (m, max
    units) each. With update NULL, grads are scikit-learn's ((sums + alpha W)
    / S). Otherwise they stay raw sums and each layer takes the optimizer step
    (state1/state2: velocities, or Adam's m and v) as soon as the backward pass
    is done with it, while its gradients are hot; the step finishes the sums,
    which saves a pass. ex: the training extras (kept z, dropout), or NULL.

    Two phases per layer l (L .. 1). First dA[l-1] = dZ[l] @ W, each block
    followed by its element-wise delta (dropout mask, g') on the thread that
    computed it. Then dW[l] = A.T @ dZ[l], each block followed by the step of
    the weights it holds (W is read no more), b[l]'s step, and db[l-1], the
    column sums of dZ[l-1] (by columns: each is summed over the rows in order,
    as on one thread). Batch norm's backward needs whole columns: it runs in
    the second phase by columns, as does the delta pass of a one-block dA (and
    of the output layer's outer product when the team is one thread).
    """
    cdef Py_ssize_t L = net.n_layers, l, i, j, n_in, n_out, lo, hi, c_lo, c_hi
    cdef Py_ssize_t r, r0, r1, c0, c1
    cdef floating sw_sum_f
    cdef double sw_sum, sq = 0, loss = 0
    cdef floating* dz = d_a
    cdef floating* tmp = d_b
    cdef floating* dw
    cdef const floating* w
    cdef const floating* a_prev
    cdef floating* saved = NULL
    cdef const floating* mask = NULL
    cdef const floating* erfs = NULL
    cdef bint csr, fused
    cdef int blocks, b, b0, b1

    forward(t, net, m, x0, xs, xs_data, rows, row0, params, acts, ex, pkg)
    par.sync(t)

    sw_sum = <double> losses.pairwise_sum(sw, m) if sw != NULL else <double> m
    sw_sum_f = <floating> sw_sum
    if t.id == 0:
        # dZ[L] = (out(Z) - Y) * s and the loss, scikit-learn's, in one pass (_losses.pxd)
        loss = losses.sklearn_output_loss(net.output, m, net.units[L], acts[L - 1], y, sw,
                                          sw_sum_f, dz, d_b, grads + net.icpt_off[L - 1],
                                          <floating> net.huber_delta)
        # The L2 term of the loss, from the weights before this step's update:
        # one BLAS dot per layer summed in order, as scikit-learn's np.dot(s, s).
        # (With alpha = 0 the term is 0 for finite weights: no pass needed.)
        if alpha != 0:
            for l in range(L):
                sq += <double> self_dot(net.units[l] * net.units[l + 1],
                                        params + net.coef_off[l])
        loss = loss + (0.5 * alpha) * sq / sw_sum
    par.sync(t)

    for l in range(L - 1, -1, -1):
        n_in = net.units[l]
        n_out = net.units[l + 1]
        w = params + net.coef_off[l]
        dw = grads + net.coef_off[l]
        fused = False
        if l > 0:
            # phase 1: dA[l-1] = dZ[l] @ W.T, and dZ[l-1] = dA[l-1] * g'(A[l-1]) on its blocks
            tmp = d_b if dz == d_a else d_a
            mask = (layer_slot(ex.masks, acts, l - 1)
                    if layer_output(net, ex, acts, l - 1) != acts[l - 1] else NULL)
            # g' reads the output, or the kept z (registry: derivative)
            saved = layer_slot(ex.zs, acts, l - 1) if ex != NULL and net.keep_z else acts[l - 1]
            erfs = (layer_slot(ex.erfs, acts, l - 1) if ex != NULL and ex.erfs != NULL
                    else NULL)
            if n_out == 1:  # an outer product: one multiply per element, no sum
                # on a team, each thread's rows take their delta at once; alone, the
                # delta pass with db's sums (phase 2, delta_columns) is one pass fewer
                fused = net.bn_off == NULL and t.size > 1
                lo = par.share_edge(t, m, 1, t.id)
                hi = par.share_edge(t, m, 1, t.id + 1)
                for i in range(lo, hi):
                    for j in range(n_in):
                        tmp[i * n_in + j] = dz[i] * w[j]
                if fused:
                    delta_rect(net, n_in, lo, hi, 0, n_in, tmp, saved, mask, erfs)
            else:
                blocks = matmul_blocks(False, True, <int> m, <int> n_in, <int> n_out, dz)
                fused = blocks > 1 and net.bn_off == NULL
                pack_shared(t, pkg, blocks, False, True, <int> m, <int> n_in, <int> n_out, dz,
                            <int> n_out, w, <int> n_out)
                par.block_share(t, 0, blocks, &b0, &b1)
                for b in range(b0, b1):
                    product_block(t, pkg, b, blocks, False, True, <int> m, <int> n_in,
                                  <int> n_out, dz, <int> n_out, w, <int> n_out, tmp, <int> n_in)
                    if fused:
                        blas.block_rect(b, blocks, m, n_in, &r0, &r1, &c0, &c1)
                        delta_rect(net, n_in, r0, r1, c0, c1, tmp, saved, mask, erfs)
            par.sync(t)
        # phase 2: dW = A.T @ dZ, each block followed by its weights' step (or the
        # gradient finished: (dW + alpha W) / S); b[l]'s; db[l-1] from dZ[l-1]
        csr = l == 0 and xs.present
        blocks = 1 if csr else matmul_blocks(True, False, <int> n_in, <int> n_out, <int> m, dz)
        a_prev = x0 if l == 0 else layer_output(net, ex, acts, l - 1)
        pack_shared(t, pkg, blocks, True, False, <int> n_in, <int> n_out, <int> m, a_prev,
                    <int> n_in, dz, <int> n_out)  # (a CSR X's product is one block: no packing)
        par.block_share(t, 0, blocks, &b0, &b1)
        for b in range(b0, b1):
            if csr:
                csr_rows_t_times_dense(m, rows, row0, xs, xs_data, dz, n_in, n_out, dw)
                r0, r1, c0, c1 = 0, n_in, 0, n_out
            else:
                product_block(t, pkg, b, blocks, True, False, <int> n_in, <int> n_out, <int> m,
                              a_prev, <int> n_in, dz, <int> n_out, dw, <int> n_out)
                blas.block_rect(b, blocks, n_in, n_out, &r0, &r1, &c0, &c1)
            if c0 == 0 and c1 == n_out:  # whole rows of W: one span
                step_span(update, net.coef_off[l] + r0 * n_out, (r1 - r0) * n_out, True,
                          params, grads, state1, state2, alpha, sw_sum_f)
            else:
                for r in range(r0, r1):
                    step_span(update, net.coef_off[l] + r * n_out + c0, c1 - c0, True,
                              params, grads, state1, state2, alpha, sw_sum_f)
        update_share(t, update, net.icpt_off[l], n_out, False, params, grads, state1,
                     state2, alpha, sw_sum_f)
        if l > 0:
            c_lo = par.share_edge(t, n_in, SHARE_ALIGN, t.id)
            c_hi = par.share_edge(t, n_in, SHARE_ALIGN, t.id + 1)
            if net.bn_off != NULL:
                # back through the dropout, g' and the batch norm, then the Linear's bias
                bn.backward_columns(m, n_in, c_lo, c_hi, tmp, saved, mask,
                                    layer_slot(ex.xhat, acts, l - 1),
                                    layer_slot(ex.inv, acts, l - 1),
                                    params + net.bn_off[l - 1],
                                    grads + net.bn_off[l - 1] + n_in,
                                    grads + net.bn_off[l - 1], grads + net.icpt_off[l - 1],
                                    net.activation, <floating> net.slope, erfs)
                if update != NULL and c_hi > c_lo:
                    # gamma and beta (no L2 term), while their gradients are hot
                    update_range(update, net.bn_off[l - 1] + c_lo, c_hi - c_lo, 0, params,
                                 grads, state1, state2, alpha, sw_sum_f)
                    update_range(update, net.bn_off[l - 1] + n_in + c_lo, c_hi - c_lo, 0,
                                 params, grads, state1, state2, alpha, sw_sum_f)
            elif fused:
                column_sums(m, n_in, c_lo, c_hi, tmp, grads + net.icpt_off[l - 1])
            elif c_hi > c_lo:  # the whole delta pass by columns, db[l-1] summed in it
                delta_columns(net, m, n_in, c_lo, c_hi, tmp, saved, mask, erfs,
                              grads + net.icpt_off[l - 1])
            dz = tmp
            par.sync(t)
    return loss


cdef inline void delta_columns(Net net, Py_ssize_t m, Py_ssize_t n, Py_ssize_t c0,
                               Py_ssize_t c1, floating* d, const floating* saved,
                               const floating* mask, const floating* erfs,
                               floating* col_sums) noexcept nogil:
    """Columns c0 .. c1 - 1 of the delta pass: d := (d * mask) * g'(saved), with
    col_sums[j] := the column sums of the result (scikit-learn's g' variants)."""
    cdef Py_ssize_t i, j
    for j in range(c0, c1):
        col_sums[j] = 0
    if mask != NULL:  # through the dropout
        for i in range(m):
            for j in range(c0, c1):
                d[i * n + j] = d[i * n + j] * mask[i * n + j]
    act.delta_block(m, c1 - c0, n, d + c0, saved + c0, d + c0, col_sums + c0, net.activation,
                    <floating> net.slope, True, erfs + c0 if erfs != NULL else NULL)


ctypedef struct Batch:
    # One minibatch of the epoch loop, as every thread of its region reads it
    # (the floating buffers as void*: a struct cannot hold a fused type).
    Net net
    Py_ssize_t m, row0, n_feat, n_out
    const Py_ssize_t* rows       # the minibatch's rows (gathered into xb, yb, swb), or NULL:
                                 # rows row0 .. row0 + m - 1 read in place
    Csr xs
    const void* xs_data
    const void* X                # all rows, dense (NULL for a CSR X or no features)
    const void* y                # all targets (n, n_out)
    const void* sw               # all weights (n,), or NULL
    void* xb
    void* yb
    void* swb
    void* grads
    void** acts
    void* d_a
    void* d_b
    double alpha
    const Update* update         # NULL: the gradients finished, no step (loss_grad)
    void* state1
    void* state2
    const Extras* ex
    const Packing* packing       # float32 split products packed (stochastic_epoch), or NULL
    double loss                  # out: the batch loss (written by thread 0)


cdef void run_batch(par.Team t, Batch* bt, floating* params) noexcept nogil:
    """A minibatch's gather, forward, loss, backward and step: batch_loss_grad, run
    by every thread of the team t, each gathering its share of the rows first."""
    cdef Py_ssize_t m = bt.m, n_feat = bt.n_feat, n_out = bt.n_out, lo, hi, i, j, r
    cdef const floating* y = <const floating*> bt.y
    cdef const floating* sw = <const floating*> bt.sw
    cdef const floating* X = <const floating*> bt.X
    cdef floating* yb = <floating*> bt.yb
    cdef floating* swb = <floating*> bt.swb
    cdef const floating* x0
    cdef const floating* ybp
    cdef const floating* swp
    cdef double loss
    if bt.rows != NULL:
        lo = par.share_edge(t, m, 1, t.id)
        hi = par.share_edge(t, m, 1, t.id + 1)
        for i in range(lo, hi):
            r = bt.rows[i]
            for j in range(n_out):
                yb[i * n_out + j] = y[r * n_out + j]
            if sw != NULL:
                swb[i] = sw[r]
        if not bt.xs.present and n_feat > 0 and hi > lo:
            gather_rows(hi - lo, bt.rows + lo, X, n_feat, <floating*> bt.xb + lo * n_feat)
        par.sync(t)
        x0 = <const floating*> bt.xb
        ybp = yb
        swp = swb if sw != NULL else NULL
    else:
        ybp = y + bt.row0 * n_out
        swp = sw + bt.row0 if sw != NULL else NULL
        x0 = X + bt.row0 * n_feat if X != NULL else NULL
    loss = batch_loss_grad(t, bt.net, m, x0, bt.xs, <const floating*> bt.xs_data, bt.rows,
                           bt.row0, ybp, swp, params, <floating*> bt.grads,
                           <floating**> bt.acts, <floating*> bt.d_a, <floating*> bt.d_b,
                           bt.alpha, bt.update, <floating*> bt.state1,
                           <floating*> bt.state2, bt.ex, bt.packing)
    if t.id == 0:
        bt.loss = loss


cdef void batch_on_team(Batch* bt, floating* params) noexcept nogil:
    """run_batch on the calling thread's team (par.get_team()): one parallel region,
    whose threads meet at the barriers of its phases; no region for one thread, nor
    where no product splits (the passes alone are not worth a region)."""
    cdef int size = par.get_team()
    cdef par.Barrier barrier
    cdef par.Barrier* bar = &barrier
    if size > 1 and splits(bt.net, bt.m):
        barrier.count = 0
        barrier.sense = 0
        with parallel(num_threads=size):
            run_batch(par.team_here(bar), bt, params)
    else:
        run_batch(par.solo(), bt, params)


cdef void forward_on_team(Net net, Py_ssize_t m, const floating* x0, Csr xs,
                          const floating* xs_data, Py_ssize_t row0, const floating* params,
                          floating** acts) noexcept nogil:
    """The prediction forward of m rows (no extras) on the calling thread's team."""
    cdef int size = par.get_team()
    cdef par.Barrier barrier
    cdef par.Barrier* bar = &barrier
    if size > 1 and splits(net, m):
        barrier.count = 0
        barrier.sense = 0
        with parallel(num_threads=size):
            forward(par.team_here(bar), net, m, x0, xs, xs_data, NULL, row0, params, acts, NULL,
                    NULL)
    else:
        forward(par.solo(), net, m, x0, xs, xs_data, NULL, row0, params, acts, NULL, NULL)


cdef void layer_pointers(Net net, floating* acts_buf, Py_ssize_t m,
                         floating** acts) noexcept nogil:
    cdef Py_ssize_t l, off = 0
    for l in range(net.n_layers):
        acts[l] = acts_buf + off
        off += m * net.units[l + 1]


cdef inline bint splits(Net net, Py_ssize_t rows) noexcept nogil:
    """Whether a pass over `rows` rows has a product of two blocks or more (the
    least work _parallel.product_blocks splits is two grains)."""
    return largest_product(net, rows) >= 2 * par.GRAIN_MACS


cdef Py_ssize_t largest_product(Net net, Py_ssize_t rows) noexcept nogil:
    """The multiply-adds of the largest product of a pass over `rows` rows (for
    _parallel.enter: whether the call splits products across threads)."""
    cdef Py_ssize_t l, most = 0
    for l in range(net.n_layers):
        if net.units[l] * net.units[l + 1] > most:
            most = net.units[l] * net.units[l + 1]
    return most * rows


# ------------------------------------------------------- typed descriptions
# What one fit hands the compiled loops, built once per fit in Python (the
# estimator's door has proven the network and the optimizer state first:
# fastdense._network.check_network / check_optimizer_state). The constructors
# only refuse what would make a loop index outside a buffer; they own every
# scratch buffer, so sizes cannot disagree with the network.

cdef inline void* data_of(object arr):
    """The first element of a non-empty NumPy array (NULL for an empty one)."""
    return <void*> cnp.PyArray_DATA(arr) if arr.size > 0 else NULL


cdef object float_array(object arr, str name, int ndim, bint writeable):
    """arr as given if it is a C-contiguous float32/float64 array of ndim dims, else TypeError."""
    if (not isinstance(arr, np.ndarray) or arr.ndim != ndim
            or arr.dtype not in (np.float32, np.float64) or not arr.flags.c_contiguous
            or (writeable and not arr.flags.writeable)):
        raise TypeError(f"{name} must be a {'writeable ' if writeable else ''}C-contiguous "
                        f"{ndim}-d float32 or float64 ndarray; got {type(arr).__name__} "
                        f"{getattr(arr, 'dtype', '')} {getattr(arr, 'shape', '')}")
    return arr


cdef object index_array(object arr, str name):
    if (not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != np.intp
            or not arr.flags.c_contiguous):
        raise TypeError(f"{name} must be a C-contiguous 1-d np.intp ndarray")
    return arr


cdef class Layout:
    """The flat parameter buffer of a network, laid out as scikit-learn's ``_pack``.

    All coefs, W[l] (units[l], units[l+1]) raveled in C order, then all
    intercepts b[l] (units[l+1],); with ``batch_norm``, then each hidden
    layer's BatchNorm1d weight and bias (gamma[l], beta[l]), then each hidden
    layer's running mean and running variance (the statistics travel with the
    weights: predict, copies, early stopping's best state and warm starts
    all carry them). ``units``, ``coef_off``, ``icpt_off``, ``bn_off`` and
    ``stat_off`` are read-only np.intp arrays (the last two: one entry per
    weight layer, -1 for the output layer, empty without batch norm);
    ``n_params`` is the buffer's length, ``bn_start`` where the batch-norm
    part starts (``n_params`` without it), ``width`` the activations per row
    (sum of units[1:]), ``widest`` the widest layer after the input.

    Parameters
    ----------
    units : sequence of int
        n_features, hidden widths..., n_outputs: 2 to MAX_LAYERS + 1 widths, each >= 1.
    batch_norm : bool, default=False
        A BatchNorm1d between each hidden layer's Linear and its activation.
    """
    cdef readonly object units, coef_off, icpt_off, bn_off, stat_off
    cdef readonly Py_ssize_t n_layers, n_params, width, widest, bn_start
    cdef readonly bint batch_norm

    def __init__(self, units, batch_norm=False):
        widths = [int(u) for u in units]
        if not 2 <= len(widths) <= MAX_LAYERS + 1 or min(widths) < 1:
            raise ValueError(f"a network has 2 to {MAX_LAYERS + 1} layer widths, each >= 1; "
                             f"got {widths}")
        coef_off, icpt_off, start = [], [], 0
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            coef_off.append(start)
            start += n_in * n_out
        for n_out in widths[1:]:
            icpt_off.append(start)
            start += n_out
        self.bn_start = start
        bn_off, stat_off = [], []
        hidden = widths[1:len(widths) - 1]
        if batch_norm:
            for n_out in hidden:
                bn_off.append(start)
                start += 2 * n_out
            for n_out in hidden:
                stat_off.append(start)
                start += 2 * n_out
            bn_off.append(-1)
            stat_off.append(-1)
        self.units = np.array(widths, dtype=np.intp)  # OverflowError past Py_ssize_t
        self.coef_off = np.array(coef_off, dtype=np.intp)
        self.icpt_off = np.array(icpt_off, dtype=np.intp)
        self.bn_off = np.array(bn_off, dtype=np.intp)
        self.stat_off = np.array(stat_off, dtype=np.intp)
        for arr in (self.units, self.coef_off, self.icpt_off, self.bn_off, self.stat_off):
            arr.flags.writeable = False
        self.batch_norm = bool(batch_norm)
        self.n_layers = len(widths) - 1
        self.n_params = start
        self.width = sum(widths[1:])
        self.widest = max(widths[1:])

    def initial_batch_norm(self, dtype):
        """The batch-norm part of a new buffer: gamma 1, beta 0, running mean 0 and
        running variance 1 per hidden layer (BatchNorm1d's initial state)."""
        tail = np.zeros(self.n_params - self.bn_start, dtype=dtype)
        units = self.units.tolist()
        for l in range(len(self.bn_off) - 1):
            n = units[l + 1]
            tail[self.bn_off[l] - self.bn_start:][:n] = 1
            tail[self.stat_off[l] - self.bn_start + n:][:n] = 1
        return tail

    def batch_norm_state(self, params):
        """Views of `params`: per hidden layer (gamma, beta, running_mean, running_var)."""
        units = self.units.tolist()
        out = []
        for l in range(len(self.bn_off) - 1):
            n, g, r = units[l + 1], self.bn_off[l], self.stat_off[l]
            out.append((params[g:g + n], params[g + n:g + 2 * n], params[r:r + n],
                        params[r + n:r + 2 * n]))
        return out

    def __eq__(self, other):
        return (isinstance(other, Layout) and np.array_equal(self.units, other.units)
                and self.batch_norm == other.batch_norm)

    def __hash__(self):
        return hash((tuple(self.units.tolist()), self.batch_norm))

    def __repr__(self):
        return (f"Layout({self.units.tolist()}, batch_norm=True)" if self.batch_norm
                else f"Layout({self.units.tolist()})")


cdef class NetSpec:
    """A network as the compiled loops run it: its layout, hidden activation and output.

    Parameters
    ----------
    layout : Layout
        The widths and the flat buffer's layout.
    activation : int
        The hidden activation (``fastdense._kernels.ACTIVATION_CODES``).
    slope : float
        leaky_relu's negative slope (>= 0).
    output : int
        The output layer and loss (``OUTPUT_CODES``); decision_function ignores it.
    huber_delta : float, default=1.0
        The Huber loss's delta (> 0); only ``OUTPUT_CODES["huber"]`` reads it.
    dropout : sequence of float, optional
        The dropout probability in [0, 1) after each hidden layer (training
        only); None or all zeros: no dropout.
    """
    cdef Net net
    cdef readonly Layout layout
    cdef readonly int activation, output
    cdef readonly double slope, huber_delta
    cdef readonly object dropout  # read-only float64 array (n_layers,), or None
    cdef readonly bint keep_z

    def __init__(self, Layout layout not None, int activation, double slope, int output,
                 double huber_delta=1.0, dropout=None):
        if not act.IDENTITY <= activation <= act.LAST_ACTIVATION:
            raise ValueError(f"activation code {activation} is not one of the kernels'")
        if not losses.OUT_LOGISTIC <= output <= losses.OUT_LAST:
            raise ValueError(f"output code {output} is not one of OUTPUT_CODES")
        if not slope >= 0:
            raise ValueError(f"the leaky_relu slope must be >= 0; got {slope}")
        if not huber_delta > 0:
            raise ValueError(f"huber_delta must be > 0; got {huber_delta}")
        self.huber_delta = huber_delta
        self.net.huber_delta = huber_delta
        self.layout, self.activation, self.slope, self.output = layout, activation, slope, output
        self.net.n_layers = layout.n_layers
        self.net.units = <const Py_ssize_t*> cnp.PyArray_DATA(layout.units)
        self.net.coef_off = <const Py_ssize_t*> cnp.PyArray_DATA(layout.coef_off)
        self.net.icpt_off = <const Py_ssize_t*> cnp.PyArray_DATA(layout.icpt_off)
        self.net.activation = activation
        self.net.slope = slope
        self.net.output = output
        self.net.bn_off = NULL
        self.net.stat_off = NULL
        if layout.batch_norm and layout.n_layers > 1:
            self.net.bn_off = <const Py_ssize_t*> cnp.PyArray_DATA(layout.bn_off)
            self.net.stat_off = <const Py_ssize_t*> cnp.PyArray_DATA(layout.stat_off)
        self.keep_z = activation == act.GELU or activation == act.SILU
        self.net.keep_z = self.keep_z
        self.dropout = None
        self.net.dropout = NULL
        if dropout is not None:
            p = np.zeros(layout.n_layers, dtype=np.float64)
            p[:len(p) - 1] = dropout  # ValueError for a wrong count
            if not ((p >= 0) & (p < 1)).all():
                raise ValueError(f"dropout probabilities must be in [0, 1); got {dropout}")
            if (p > 0).any():
                p.flags.writeable = False
                self.dropout = p
                self.net.dropout = <const double*> cnp.PyArray_DATA(p)


cdef class OptimizerSpec:
    """scikit-learn's SGD or Adam step as the epoch loop applies it: constants and state.

    ``learning_rate`` may be set between epochs (the schedules); ``t``, Adam's
    step count, is advanced by each epoch. state1/state2 are the velocities
    (sgd; state2 unused) or Adam's first and second moments, updated in place.

    Parameters
    ----------
    solver : int
        SOLVER_SGD or SOLVER_ADAM.
    state1, state2 : ndarray of shape (n_params,)
        Writeable, C-contiguous, the parameters' dtype (state2 may be empty for sgd).
    learning_rate, momentum, nesterov, beta_1, beta_2, epsilon, t
        scikit-learn's SGDOptimizer / AdamOptimizer constants and Adam's step count.
    """
    cdef Update update
    cdef void* s1
    cdef void* s2
    cdef readonly object state1, state2
    cdef readonly Py_ssize_t n_params
    cdef readonly int solver
    cdef bint is_float
    cdef public double learning_rate
    cdef public long long t

    def __init__(self, int solver, state1, state2, double learning_rate,
                 double momentum=0.0, bint nesterov=False, double beta_1=0.0,
                 double beta_2=0.0, double epsilon=0.0, long long t=0):
        if solver not in (STEP_SGD, STEP_ADAM):
            raise ValueError(f"solver code {solver} is not SOLVER_SGD or SOLVER_ADAM")
        self.state1 = float_array(state1, "state1", 1, True)
        self.n_params = state1.shape[0]
        self.is_float = state1.dtype == np.float32
        if solver == STEP_ADAM:
            self.state2 = float_array(state2, "state2", 1, True)
            if state2.shape != state1.shape or state2.dtype != state1.dtype:
                raise ValueError("state2 must have state1's shape and dtype")
        else:
            self.state2 = None
        self.s1 = data_of(self.state1)
        self.s2 = data_of(self.state2) if solver == STEP_ADAM else NULL
        self.solver = solver
        self.learning_rate = learning_rate
        self.t = t
        self.update.solver = solver
        self.update.lr = learning_rate
        self.update.momentum = momentum
        self.update.nesterov = nesterov
        self.update.beta_1 = beta_1
        self.update.beta_2 = beta_2
        self.update.epsilon = epsilon


cdef class EpochPlan:
    """A training set and every scratch buffer of one fit, checked against the network.

    X is the dense (n, n_features) data, or (0, n_features) with X in CSR form
    in (xs_data, xs_indptr, xs_indices) (empty xs_indptr: dense; the column
    indices must already be proven in range, e.g. by scipy's
    ``check_format(full_check=True)``). y is (n, n_outputs), sw (n,) or empty
    for no weights, all of one float dtype and C-contiguous. Minibatches have
    at most ``batch_size`` rows (the whole set for ``loss_grad``); with
    ``shuffle`` each epoch gathers them in the order it is given. ``seed``
    (an integer, taken mod 2**64) starts the dropout generator, whose state
    advances through the epochs of the plan: same seed, same masks.
    """
    cdef readonly NetSpec net
    cdef readonly Py_ssize_t n_samples, batch_size
    cdef readonly double alpha
    cdef readonly bint shuffle
    cdef readonly object dtype
    cdef object arrays  # everything the pointers below point into
    cdef object packing_buf  # the Packing's floats (stochastic_epoch), grown as needed
    cdef bint is_float
    cdef Csr xs
    cdef void* X
    cdef void* xs_data
    cdef void* y
    cdef void* sw
    cdef void* grads
    cdef void* acts
    cdef void* d_a
    cdef void* d_b
    cdef void* xb
    cdef void* yb
    cdef void* swb
    cdef Extras extras
    cdef unsigned long long rng_state
    cdef par.TeamTuner tuner  # the team per minibatch, carried across epochs (zeroed)
    cdef readonly object zs, erfs, masks, dropped, xhat, inv  # the Extras buffers (empty: unused)

    def _tuner_state(self):
        """The team tuner's state (diagnostics and tests): a dict with the team
        ``enter`` gave (``most``), the stage (0 timing the winner, 1 timing the
        other choice, 2 settled), the ``winner`` and the settled stretch's length."""
        return {"most": self.tuner.most, "stage": self.tuner.stage,
                "winner": self.tuner.winner, "settle": self.tuner.settle,
                "spent_winner": self.tuner.spent_winner, "spent_other": self.tuner.spent_other}

    def __init__(self, NetSpec net not None, X, xs_data, xs_indptr, xs_indices, y, sw,
                 double alpha, Py_ssize_t batch_size, bint shuffle, seed=0):
        cdef Layout lay = net.layout
        cdef Py_ssize_t n, n_feat = lay.units[0], n_out = lay.units[lay.n_layers]
        X = float_array(X, "X", 2, False)
        y = float_array(y, "y", 2, False)
        sw = float_array(sw, "sw", 1, False)
        xs_data = float_array(xs_data, "xs_data", 1, False)
        xs_indptr = index_array(xs_indptr, "xs_indptr")
        xs_indices = index_array(xs_indices, "xs_indices")
        dtype = X.dtype
        if not (y.dtype == sw.dtype == xs_data.dtype == dtype):
            raise TypeError("X, xs_data, y and sw must share one dtype")
        n = y.shape[0]
        if y.shape[1] != n_out:
            raise ValueError(f"y has {y.shape[1]} columns for {n_out} outputs")
        if sw.shape[0] not in (0, n):
            raise ValueError(f"sw has {sw.shape[0]} weights for {n} rows")
        if xs_indptr.shape[0] > 0:
            if (X.shape[0] != 0 or X.shape[1] != n_feat or xs_indptr.shape[0] != n + 1
                    or xs_indptr[0] != 0 or xs_indptr[n] != xs_indices.shape[0]
                    or xs_data.shape[0] != xs_indices.shape[0]):
                raise ValueError("the CSR X does not match y and the network")
        elif X.shape[0] != n or X.shape[1] != n_feat:
            raise ValueError(f"X is {X.shape}; the network takes ({n}, {n_feat})")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}")
        self.net, self.n_samples, self.batch_size = net, n, batch_size
        self.alpha, self.shuffle, self.dtype = alpha, shuffle, dtype
        self.is_float = dtype == np.float32
        gather = shuffle and xs_indptr.shape[0] == 0
        grads = np.empty(lay.n_params, dtype=dtype)
        acts = np.empty(batch_size * lay.width, dtype=dtype)
        d_a = np.empty(batch_size * lay.widest, dtype=dtype)
        d_b = np.empty(batch_size * lay.widest, dtype=dtype)
        xb = np.empty(batch_size * n_feat if gather else 0, dtype=dtype)
        yb = np.empty(batch_size * n_out if shuffle else 0, dtype=dtype)
        swb = np.empty(batch_size if shuffle and sw.shape[0] > 0 else 0, dtype=dtype)
        self.arrays = (X, xs_data, xs_indptr, xs_indices, y, sw, grads, acts, d_a, d_b,
                       xb, yb, swb)
        self.X = data_of(X)
        self.xs_data = data_of(xs_data)
        self.xs.present = xs_indptr.shape[0] > 0
        self.xs.indptr = <const Py_ssize_t*> data_of(xs_indptr)
        self.xs.indices = <const Py_ssize_t*> data_of(xs_indices)
        self.y, self.sw = data_of(y), data_of(sw)
        self.grads, self.acts, self.d_a, self.d_b = (
            data_of(grads), data_of(acts), data_of(d_a), data_of(d_b))
        self.xb, self.yb, self.swb = data_of(xb), data_of(yb), data_of(swb)
        # the training extras: z kept for g' (GELU, SiLU), dropout masks and outputs
        dropping = net.dropout is not None
        self.zs = np.empty(batch_size * lay.width if net.keep_z else 0, dtype=dtype)
        self.erfs = np.empty(batch_size * lay.width if net.activation == act.GELU else 0,
                             dtype=dtype)
        self.masks = np.empty(batch_size * lay.width if dropping else 0, dtype=dtype)
        self.dropped = np.empty(batch_size * lay.width if dropping else 0, dtype=dtype)
        norm = lay.batch_norm and lay.n_layers > 1
        if norm and batch_size < 2:
            raise ValueError("batch norm needs minibatches of at least 2 rows")
        self.xhat = np.empty(batch_size * lay.width if norm else 0, dtype=dtype)
        self.inv = np.empty(batch_size * lay.width if norm else 0, dtype=dtype)
        self.extras.xhat = data_of(self.xhat)
        self.extras.inv = data_of(self.inv)
        self.extras.zs = data_of(self.zs)
        self.extras.erfs = data_of(self.erfs)
        self.extras.masks = data_of(self.masks)
        self.extras.dropped = data_of(self.dropped)
        self.rng_state = <unsigned long long> (int(seed) & 0xFFFFFFFFFFFFFFFF)
        self.extras.rng = &self.rng_state

    def layer_masks(self, Py_ssize_t m):
        """The dropout multipliers of the last minibatch of m rows: one (m, units[l+1])
        array per hidden layer (copies), or None without dropout. For tests."""
        if self.net.dropout is None:
            return None
        units = self.net.layout.units.tolist()
        out, off = [], 0
        for width in units[1:len(units) - 1]:
            out.append(self.masks[off:off + m * width].reshape(m, width).copy())
            off += m * width
        return out


cdef check_params(EpochPlan plan, Py_ssize_t n_params, bint is_float):
    if is_float != plan.is_float:
        raise TypeError(f"params must be {plan.dtype}, the dtype of the plan")
    if n_params != plan.net.layout.n_params:
        raise ValueError(f"params has {n_params} entries; the network has "
                         f"{plan.net.layout.n_params}")


# ---------------------------------------------------------------- entry points

cdef void batch_of_plan(Batch* batch, EpochPlan plan, Net net) noexcept:
    """The fields of a Batch that come from the fit's plan: the network, all the data,
    the scratch buffers and the L2 strength (the caller sets rows, outputs, the step)."""
    batch.net = net
    batch.n_feat = net.units[0]
    batch.n_out = net.units[net.n_layers]
    batch.xs = plan.xs
    batch.xs_data = plan.xs_data
    batch.X = plan.X
    batch.y = plan.y
    batch.sw = plan.sw
    batch.d_a, batch.d_b = plan.d_a, plan.d_b
    batch.alpha = plan.alpha
    batch.packing = NULL


def stochastic_epoch(EpochPlan plan not None, OptimizerSpec opt not None,
                     floating[::1] params, const Py_ssize_t[::1] order,
                     bint check_signals=False):
    """One epoch of minibatch SGD/Adam as scikit-learn's _fit_stochastic runs it.

    Batches are the gen_batches slices of ``order`` (a permutation of
    0..n-1, trusted; None without ``plan.shuffle``) or of 0..n-1. Returns
    (accumulated_loss, n_done, error): accumulated_loss = sum of batch_loss *
    batch_len over the n_done rows whose minibatches completed; ``opt.t``
    counts Adam's steps.

    With check_signals (the caller is the main thread), Python's signal
    handlers run between minibatches every SIGNAL_CHECK_SECONDS; if one raises
    (KeyboardInterrupt on Ctrl-C) the epoch stops after the minibatch in
    progress, params hold the last completed update, and the exception is
    returned as ``error`` (None otherwise) for the caller to handle.
    """
    check_params(plan, params.shape[0], floating is float)
    if opt.is_float != plan.is_float or opt.n_params != params.shape[0]:
        raise ValueError("the optimizer state does not match params")
    if plan.shuffle and (order is None or order.shape[0] != plan.n_samples):
        raise ValueError(f"order must hold the {plan.n_samples} row indices")
    cdef Net net = plan.net.net
    cdef Py_ssize_t n = plan.n_samples
    cdef Py_ssize_t batch_size = plan.batch_size, start, stop, m
    cdef bint use_order = plan.shuffle
    cdef double acc = 0, lr = opt.learning_rate
    cdef double beta_1 = opt.update.beta_1, beta_2 = opt.update.beta_2
    cdef long long adam_t = opt.t
    cdef bint adam = opt.solver == STEP_ADAM
    cdef Update update = opt.update
    cdef floating* acts[MAX_LAYERS]
    cdef floating* acts_buf = <floating*> plan.acts
    cdef floating* params_ptr = &params[0]
    cdef double last_check = 0, now
    cdef bint stop_now = False
    cdef Batch batch
    cdef Batch* bt = &batch
    error = None
    if n == 0:
        return 0.0, 0, None
    update.lr = lr
    batch_of_plan(bt, plan, net)
    batch.xb, batch.yb, batch.swb = plan.xb, plan.yb, plan.swb
    batch.grads = plan.grads
    batch.acts = <void**> acts
    batch.update = &update
    batch.state1, batch.state2 = opt.s1, opt.s2
    batch.ex = &plan.extras
    cdef Packing packing
    cdef Py_ssize_t per, ahead, threads
    if floating is float:
        # the packed product's buffers, for the most threads this call's regions may have
        packing_sizes(net, min(batch_size, n), &per, &ahead)
        if per > 0:
            threads = max(par.get_team(), par.available_threads())
            if plan.packing_buf is None or plan.packing_buf.shape[0] < threads * per + ahead:
                plan.packing_buf = np.empty(threads * per + ahead, dtype=np.float32)
            packing.work = <float*> data_of(plan.packing_buf)
            packing.shared = packing.work + threads * per
            packing.per = per
            batch.packing = &packing
    cdef int team = par.enter(largest_product(net, min(batch_size, n)), _threadpool)
    cdef par.TeamTuner* tuner = &plan.tuner
    with nogil:
        par.tuner_start(tuner)
        if check_signals:
            last_check = par.clock()
        start = 0
        while start < n:
            stop = start + batch_size
            if stop > n:
                stop = n
            m = stop - start
            layer_pointers(net, acts_buf, m, acts)
            batch.m = m
            batch.row0 = start
            batch.rows = &order[start] if use_order else NULL
            if adam:
                adam_t += 1
                update.lr = lr * sqrt(1 - pow(beta_2, <double> adam_t)) / (
                    1 - pow(beta_1, <double> adam_t))
            par.tuner_before(tuner, par.clock())
            batch_on_team(bt, params_ptr)
            now = par.clock()
            par.tuner_after(tuner, m == batch_size, now)
            acc += batch.loss * m
            start = stop
            if check_signals and start < n and now - last_check >= signal_check_seconds:
                with gil:
                    try:
                        PyErr_CheckSignals()
                    except BaseException as exc:
                        error = exc
                        stop_now = True
                last_check = par.clock()
                if stop_now:
                    break
    par.leave(team, _threadpool)
    opt.t = adam_t
    return acc, start, error


cdef extern from *:
    """
    /* NumPy's bitgen_t (numpy/random/bitgen.h): its first member is the state */
    typedef struct { void* state; } fd_bitgen_head;
    """
    ctypedef struct fd_bitgen_head:
        void* state


cdef shf.MTState* mt19937_state(object bit_generator) except NULL:
    """The MT19937 state behind a NumPy MT19937 bit generator (its capsule)."""
    capsule = bit_generator.capsule
    if not PyCapsule_IsValid(capsule, "BitGenerator"):
        raise TypeError("not a NumPy bit generator")
    return <shf.MTState*> (<fd_bitgen_head*> PyCapsule_GetPointer(capsule, "BitGenerator")).state


cdef object legacy_mt19937(random_state):
    """The MT19937 bit generator of exactly a numpy.random.RandomState, else None."""
    if type(random_state) is not np.random.RandomState:
        return None
    bit_generator = getattr(random_state, "_bit_generator", None)
    return bit_generator if type(bit_generator) is np.random.MT19937 else None


cdef bint state_read_in_place() except -1:
    """Whether NumPy's MT19937 state is laid out as _shuffle.MTState: proven once,
    when the module loads, on a generator of its own against the public get_state
    (so that a future NumPy with another layout gets NumPy's own shuffle)."""
    cdef shf.MTState* s
    random_state = np.random.RandomState(12345)
    random_state.random_sample(3)  # a position inside the key
    bit_generator = legacy_mt19937(random_state)
    if bit_generator is None:
        return False
    public = random_state.get_state(legacy=False)["state"]
    s = mt19937_state(bit_generator)
    return s.pos == public["pos"] and np.array_equal(
        np.asarray(<cnp.uint32_t[:shf.MT_N]> s.key), public["key"])


# a constant (never assigned again)
MT19937_IN_PLACE = state_read_in_place()


def mt19937_of(random_state):
    """The MT19937 bit generator of a ``numpy.random.RandomState`` whose state
    :func:`mt19937_shuffle` can run on, or None (then shuffle with the object's
    own ``shuffle``): None for another bit generator, a subclass of RandomState,
    or a NumPy whose state is not laid out as fastdense reads it
    (``MT19937_IN_PLACE``)."""
    return legacy_mt19937(random_state) if MT19937_IN_PLACE else None


def mt19937_shuffle(Py_ssize_t[::1] x not None, bit_generator):
    """``RandomState.shuffle(x)`` for the RandomState of ``bit_generator`` (from
    :func:`mt19937_of`): the same permutation of x, in place, and the same
    state afterwards (fastdense/_shuffle.pxd)."""
    cdef shf.MTState* s
    with bit_generator.lock:
        s = mt19937_state(bit_generator)
        if s.pos < 0 or s.pos > shf.MT_N:
            raise ValueError(f"the MT19937 state's position is {s.pos}, outside 0..{shf.MT_N}")
        shf.shuffle(x.shape[0], &x[0] if x.shape[0] > 0 else NULL, s)


def loss_grad(EpochPlan plan not None, const floating[::1] params, floating[::1] grads):
    """Full-batch loss (returned) and gradient (into grads): _loss_grad_lbfgs.

    params is only read; grads (n_params,) is written. The plan's batch_size
    must cover all its rows.
    """
    check_params(plan, params.shape[0], floating is float)
    if grads.shape[0] != params.shape[0]:
        raise ValueError("grads must have params' length")
    if plan.batch_size < plan.n_samples:
        raise ValueError("loss_grad needs a plan whose batch_size covers every row")
    if plan.net.dropout is not None:  # a random objective: no line search can use it
        raise ValueError("loss_grad takes no dropout: the loss would change on every call")
    if plan.net.layout.batch_norm and plan.net.layout.n_layers > 1:
        raise ValueError("loss_grad takes no batch norm: each call would move its running "
                         "statistics")
    cdef Net net = plan.net.net
    cdef Py_ssize_t n = plan.n_samples
    cdef floating* params_ptr = <floating*> &params[0]  # read only without an update
    cdef floating* acts[MAX_LAYERS]
    cdef Batch batch
    cdef Batch* bt = &batch
    batch_of_plan(bt, plan, net)
    batch.m = n
    batch.row0 = 0
    batch.rows = NULL
    batch.xb, batch.yb, batch.swb = NULL, NULL, NULL
    batch.grads = <void*> &grads[0]
    batch.acts = <void**> acts
    batch.update = NULL
    batch.state1, batch.state2 = NULL, NULL
    batch.ex = &plan.extras
    cdef int team = par.enter(largest_product(net, n), _threadpool)
    with nogil:
        layer_pointers(net, <floating*> plan.acts, n, acts)
        batch_on_team(bt, params_ptr)
    par.leave(team, _threadpool)
    return batch.loss



cdef int check_predict_call(NetSpec net_spec, Py_ssize_t n_params, Py_ssize_t n_x_cols,
                            Py_ssize_t n_acts, Py_ssize_t chunk, Py_ssize_t n_out_room,
                            Py_ssize_t n_rows, Py_ssize_t n_out) except -1:
    """The buffers of a predict call against its network: O(1), before any unchecked loop.

    The estimators' doors prove these; this repeats the lengths the loops rely on, so a
    caller that read a buffer of one network and the layout of another (a refit in another
    thread) gets a ValueError, never a read past the buffer. n_out is the width of the
    rows the call writes (the outputs, or a hidden layer's units).
    """
    cdef Layout lay = net_spec.layout
    if n_params != lay.n_params:
        raise ValueError(f"params has {n_params} entries; the network has {lay.n_params}")
    if n_x_cols != net_spec.net.units[0]:
        raise ValueError(f"X has {n_x_cols} columns; the network takes {net_spec.net.units[0]}")
    if n_rows > 0 and (chunk < 1 or n_acts < chunk * lay.width):
        raise ValueError(f"the activation buffer has {n_acts} entries; {chunk} rows of this "
                         f"network need {chunk * lay.width}")
    if n_out_room < n_rows * n_out:
        raise ValueError(f"out has room for {n_out_room} values; {n_rows} rows need "
                         f"{n_rows * n_out}")
    return 0


def decision_function(NetSpec net_spec not None, const floating[:, ::1] X,
                      const floating[::1] xs_data, const Py_ssize_t[::1] xs_indptr,
                      const Py_ssize_t[::1] xs_indices, Py_ssize_t n,
                      const floating[::1] params, floating[::1] acts_buf, Py_ssize_t chunk,
                      floating[::1] out, Py_ssize_t layer=-1):
    """out (n * n_out,) := the logits Z[L] of each row, forward in chunks of `chunk` rows.

    With `layer` l in 0 .. L - 2, out (n * units[l + 1],) := the activations of
    hidden layer l + 1 instead, from the same forward pass (the hidden
    features DenseFeatures returns); -1 (or L - 1) is the logits.
    Trusts its caller (the estimator's predict door): X (n, n_features) dense
    or (0, n_features) with the CSR triple; acts_buf >= chunk * layout.width:
    memory is O(chunk x width), not O(n).
    """
    cdef Net net = net_spec.net
    cdef Csr xs = make_csr(xs_indptr, xs_indices)
    cdef Py_ssize_t n_feat = net.units[0], start, m, L = net.n_layers
    if layer == -1:
        layer = L - 1
    if not 0 <= layer < L:
        raise ValueError(f"layer {layer} is not one of the network's 0 .. {L - 1}")
    cdef Py_ssize_t n_out = net.units[layer + 1]
    cdef floating* acts[MAX_LAYERS]
    cdef const floating* xs_ptr = &xs_data[0] if xs_data.shape[0] > 0 else NULL
    cdef const floating* X_ptr = &X[0, 0] if (X.shape[0] > 0 and n_feat > 0) else NULL
    check_predict_call(net_spec, params.shape[0], X.shape[1], acts_buf.shape[0], chunk,
                       out.shape[0], n, n_out)
    if X.shape[0] != 0 and X.shape[0] < n:
        raise ValueError(f"X has {X.shape[0]} rows; {n} are predicted")
    if X.shape[0] == 0 and n > 0 and xs_indptr.shape[0] < n + 1:
        raise ValueError(f"the CSR row pointers cover {xs_indptr.shape[0] - 1} rows; "
                         f"{n} are predicted")
    if n == 0:
        return
    cdef int team = par.enter(largest_product(net, min(chunk, n)), _threadpool)
    with nogil:
        start = 0
        while start < n:
            m = chunk if start + chunk <= n else n - start
            layer_pointers(net, &acts_buf[0], m, acts)
            forward_on_team(net, m, X_ptr + start * n_feat if X_ptr != NULL else NULL, xs,
                            xs_ptr, start, &params[0], acts)
            memcpy(&out[start * n_out], acts[layer], m * n_out * sizeof(floating))
            start += m
    par.leave(team, _threadpool)


def output_loss(int output, floating[:, ::1] z, const floating[:, ::1] y,
                const floating[::1] sw, double huber_delta=1.0):
    """The loss of the logits z (n, k) against y (n, k), without the L2 term.

    The training loss's output part, computed by the same kernel
    (``_losses.pxd``'s ``sklearn_output_loss``) on all n rows at once: the
    (weighted, sw (n,) or empty) average over rows of the element loss, summed
    over outputs (halved, and averaged over outputs, for the squared error;
    averaged over outputs for the absolute and Huber losses).
    The estimators score a validation set with it, on the logits that the
    prediction path (:func:`decision_function`) computed. z is overwritten.
    """
    cdef Py_ssize_t n = z.shape[0], k = z.shape[1]
    if not losses.OUT_LOGISTIC <= output <= losses.OUT_LAST:
        raise ValueError(f"output code {output} is not one of OUTPUT_CODES")
    if not huber_delta > 0:
        raise ValueError(f"huber_delta must be > 0; got {huber_delta}")
    if y.shape[0] != n or y.shape[1] != k or sw.shape[0] not in (0, n):
        raise ValueError(f"z is ({n}, {k}); y is ({y.shape[0]}, {y.shape[1]}) and sw "
                         f"({sw.shape[0]},)")
    if n == 0 or k == 0:
        return float("nan")
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] dz = np.empty(n * k, dtype=dtype)
    cdef floating[::1] lbuf = np.empty(n * k, dtype=dtype)
    cdef floating[::1] db = np.empty(k, dtype=dtype)
    cdef const floating* sw_ptr = &sw[0] if sw.shape[0] > 0 else NULL
    cdef double loss
    cdef floating sw_sum
    with nogil:
        sw_sum = losses.pairwise_sum(sw_ptr, n) if sw_ptr != NULL else <floating> n
        loss = losses.sklearn_output_loss(output, n, k, &z[0, 0], &y[0, 0], sw_ptr,
                                          sw_sum, &dz[0], &lbuf[0], &db[0],
                                          <floating> huber_delta)
    return loss


cdef Csr make_csr(const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] indices):
    cdef Csr xs
    xs.present = indptr.shape[0] > 0
    xs.indptr = &indptr[0] if indptr.shape[0] > 0 else NULL
    xs.indices = &indices[0] if indices.shape[0] > 0 else NULL
    return xs


# ------------------------------------------------- predict: the whole call in one

def predict_dense(NetSpec net_spec not None, const floating[:, ::1] X,
                  const floating[::1] params, floating[::1] acts_buf, Py_ssize_t chunk,
                  floating[:, ::1] out, bint binary_proba):
    """Forward a dense X in chunks of `chunk` rows, checking X and the logits on the way.

    With `binary_proba`, out (n, 2) := (1 - p, p), p = expit(z) of the single
    logit z (scipy's formula, as MLPClassifier's predict_proba); else out
    (n, n_out) := the logits. Returns 1 if X holds a NaN or an infinity
    (nothing is computed), 2 if a logit is NaN, 0 otherwise: the caller then
    takes the full path, which raises the proper error. The caller proves
    the shapes: X (n, units[0]) with n >= 1, acts_buf >= chunk * layout.width.
    """
    cdef Net net = net_spec.net
    cdef Csr xs
    cdef Py_ssize_t n = X.shape[0], n_feat = net.units[0], start, m, i
    cdef Py_ssize_t L = net.n_layers, n_out = net.units[L], total = n * n_feat
    cdef floating* acts[MAX_LAYERS]
    cdef const floating* x = &X[0, 0]
    cdef floating* z
    cdef floating d, p
    cdef int status = 0, bad = 0
    check_predict_call(net_spec, params.shape[0], X.shape[1], acts_buf.shape[0], chunk,
                       out.shape[0] * out.shape[1], n, n_out)
    if out.shape[0] < n or out.shape[1] != (2 if binary_proba else n_out):
        raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}); expected "
                         f"({n}, {2 if binary_proba else n_out})")
    xs.indptr = NULL
    xs.indices = NULL
    xs.present = False
    cdef int team = par.enter(largest_product(net, min(chunk, n)), _threadpool)
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
            forward_on_team(net, m, x + start * n_feat, xs, <const floating*> NULL, start,
                            &params[0], acts)
            z = acts[L - 1]
            for i in range(m * n_out):
                bad |= z[i] != z[i]
            if bad:
                status = 2
            if binary_proba:
                for i in range(m):
                    p = act.expit(z[i])
                    out[start + i, 1] = p
                    out[start + i, 0] = 1 - p
            else:
                memcpy(&out[start, 0], z, m * n_out * sizeof(floating))
            start += m
    par.leave(team, _threadpool)
    return status


def _tuner_trace(int most, double team_seconds, double one_seconds, int batches):
    """The team the tuner runs each of `batches` full minibatches on (tests).

    The tuner of ``stochastic_epoch`` (fastdense._parallel), fed a minibatch
    time of `team_seconds` on a team of `most` threads and `one_seconds` on
    one thread instead of the clock. Returns a list of team sizes.
    """
    cdef par.TeamTuner t
    cdef int old = par.get_team(), i, team
    cdef double now = 0
    teams = []
    t.most = 0
    par.set_team(most)
    try:
        par.tuner_start(&t)
        for i in range(batches):
            team = par.get_team()
            teams.append(team)
            par.tuner_before(&t, now)
            now += one_seconds if team == 1 else team_seconds
            par.tuner_after(&t, True, now)
    finally:
        par.set_team(old)
    return teams
