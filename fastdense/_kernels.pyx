"""Compiled kernels of fastdense: thin typed shells over the nogil building blocks (_activations, _blas, _layer, _losses, _updates .pxd).

Which entry points trust their callers and which check:

- **trust** (shapes, sizes and aliasing are proven by fastdense/kernels.py, the
  nn/optim layers or the estimators before the call; the typed memoryviews only
  enforce dtype, dimensions and contiguity): ``dense_forward``,
  ``dense_backward``, ``bce_with_logits``, ``activation_forward``,
  ``activation_backward``, ``bce_probs``, ``torch_sgd``, ``torch_adam``,
  ``sklearn_sgd``, ``sklearn_adam``, ``torch_rmsprop``, ``torch_adagrad``.
- **check** (everything they read, raising ``TypeError``/``ValueError``):
  ``matmul`` (shapes, BLAS's 32-bit range, the path), ``GemmFloor`` (dtype and
  the weights' chain), ``torch_adam_multi`` (every array of every list).
- **check and decline** (return ``None`` unless every argument is exactly what
  the kernel takes; the caller then takes its validating path):
  ``dense_forward_ready``, ``dense_backward_ready``.
- no buffers: ``product_blocks``, ``pass_blocks``, ``threads_available``.

Empty optional buffers (size 0) stand for "absent". Every function releases
the GIL for its compute. The layer entry points, ``matmul`` and ``GemmFloor``
run large products on the caller's threads (fastdense/_parallel.pxd) with
scipy's BLAS held at one thread (fastdense/_threadpool.py).
"""

from cython cimport floating
from cython.parallel cimport prange, threadid

cimport numpy as cnp

cimport fastdense._activations as act
cimport fastdense._blas as blas
cimport fastdense._layer as layer
cimport fastdense._losses as losses
cimport fastdense._parallel as par
cimport fastdense._updates as upd
from fastdense._small_gemm cimport goes_small, small_matmul, matmul as small_or_blas_matmul
from fastdense._packed_gemm cimport pack_shared, packed_gemm_block, packed_work, shared_size
from libc.limits cimport INT_MAX
from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc

from fastdense import _threadpool

cnp.import_array()
par.parallel_init()

from fastdense import _activations as _registry

# The kernels' enum as Python sees it; tests/test_activation_registry.py checks that
# the registry's codes are these.
ENUM_CODES = {
    "identity": act.IDENTITY,
    "relu": act.RELU,
    "tanh": act.TANH,
    "sigmoid": act.SIGMOID,
    "leaky_relu": act.LEAKY_RELU,
    "gelu": act.GELU,
    "silu": act.SILU,
    "elu": act.ELU,
    "softplus": act.SOFTPLUS,
}
# The kernels' names (the registry's), then every name a caller may pass: the
# kernels' own plus scikit-learn's "logistic".
ACTIVATIONS = {a.name: a.code for a in _registry.REGISTRY}
ACTIVATION_CODES = dict(_registry.KERNEL_CODES)


cdef inline const floating* optional_ptr(const floating[::1] x) noexcept nogil:
    return &x[0] if x.shape[0] > 0 else NULL


def dense_forward(const floating[:, ::1] a_prev, const floating[:, ::1] w,
                  const floating[::1] bias, floating[:, ::1] out, int activation,
                  double negative_slope):
    """out := g(a_prev @ w.T + bias); an empty bias means no bias."""
    cdef Py_ssize_t m = a_prev.shape[0], n_in = a_prev.shape[1], n_out = w.shape[0]
    if m == 0 or n_out == 0:
        return
    cdef const floating* b = optional_ptr(bias)
    cdef const floating* a_ptr = &a_prev[0, 0] if n_in > 0 else NULL
    cdef const floating* w_ptr = &w[0, 0] if n_in > 0 else NULL
    cdef int team = par.enter(m * n_in * n_out, _threadpool)
    with nogil:
        layer.dense_forward(m, n_in, n_out, a_ptr, w_ptr, b, &out[0, 0], activation,
                           <floating> negative_slope)
    par.leave(team, _threadpool)


def dense_backward(const floating[:, ::1] da, const floating[:, ::1] a_prev,
                   const floating[:, ::1] w, const floating[:, ::1] a,
                   floating[:, ::1] dz, floating[:, ::1] dw, floating[::1] db,
                   floating[:, ::1] da_prev, int activation, double negative_slope,
                   bint accumulate):
    """dz := da * g'(a); db (+)= colsum(dz); dw (+)= dz.T @ a_prev; da_prev := dz @ w.

    dz may be the same buffer as da. An empty db or da_prev is not computed.
    With accumulate, dw and db are added to; otherwise they are overwritten.
    """
    cdef Py_ssize_t m = da.shape[0], n_out = da.shape[1], n_in = a_prev.shape[1]
    cdef Py_ssize_t j
    cdef floating* db_ptr = &db[0] if db.shape[0] > 0 else NULL
    if not accumulate:
        for j in range(db.shape[0]):
            db[j] = 0
        if m == 0 or n_out == 0:
            dw[:, :] = 0
    if m == 0 or n_out == 0:
        if da_prev.shape[0] > 0 and da_prev.shape[1] > 0:
            da_prev[:, :] = 0
        return
    cdef const floating* a_prev_ptr = &a_prev[0, 0] if n_in > 0 else NULL
    cdef const floating* w_ptr = &w[0, 0] if n_in > 0 else NULL
    cdef floating* dw_ptr = &dw[0, 0] if n_in > 0 else NULL
    cdef floating* da_prev_ptr = &da_prev[0, 0] if (n_in > 0 and da_prev.shape[0] > 0) else NULL
    cdef int team = par.enter(m * n_in * n_out, _threadpool)
    with nogil:
        layer.dense_backward(m, n_in, n_out, &da[0, 0], a_prev_ptr, w_ptr, &a[0, 0],
                            &dz[0, 0], dw_ptr, db_ptr, da_prev_ptr, activation,
                            <floating> negative_slope, accumulate)
    par.leave(team, _threadpool)


def bce_with_logits(const floating[:, ::1] z, const floating[:, ::1] y,
                    const floating[::1] weight, const floating[::1] pos_weight,
                    floating[:, ::1] dz, floating[::1] loss, double grad_scale):
    """Returns sum(weight * l); dz := grad_scale * weight * dl/dz; loss := weight * l.

    weight is flat (rows*cols) or empty; pos_weight is (cols,) or empty; an
    empty loss buffer is not written.
    """
    cdef Py_ssize_t rows = z.shape[0], cols = z.shape[1]
    cdef double total
    if rows == 0 or cols == 0:
        return 0.0
    cdef const floating* w_ptr = optional_ptr(weight)
    cdef const floating* pw_ptr = optional_ptr(pos_weight)
    cdef floating* loss_ptr = &loss[0] if loss.shape[0] > 0 else NULL
    with nogil:
        total = losses.bce_with_logits(rows, cols, &z[0, 0], &y[0, 0], w_ptr, pw_ptr,
                                     &dz[0, 0], loss_ptr, <floating> grad_scale)
    return total


def activation_forward(const floating[::1] z, floating[::1] out, int activation,
                       double negative_slope):
    """out := g(z), element-wise (no matrix product; out may be z)."""
    cdef Py_ssize_t n = z.shape[0], i
    if n == 0:
        return
    with nogil:
        if &out[0] != &z[0]:
            for i in range(n):
                out[i] = z[i]
        act.bias_activation(1, n, &out[0], NULL, activation, <floating> negative_slope)


def activation_backward(const floating[::1] da, const floating[::1] a, floating[::1] dz,
                        int activation, double negative_slope):
    """dz := da * g'(.), element-wise from the activation's output a, or from z for
    gelu and silu (the registry's derivative="input"); dz may be da."""
    cdef Py_ssize_t n = da.shape[0]
    if n == 0:
        return
    with nogil:
        act.delta_and_bias_grad(1, n, &da[0], &a[0], &dz[0], NULL, activation,
                                 <floating> negative_slope)


def bce_probs(const floating[::1] p, const floating[::1] y, const floating[::1] weight,
              floating[::1] dp, floating[::1] loss, double grad_scale):
    """Returns sum(weight * l) of BCELoss; dp := grad_scale * weight * dl/dp.

    All flat; weight empty for none; an empty loss buffer is not written.
    """
    cdef Py_ssize_t n = p.shape[0]
    cdef double total
    if n == 0:
        return 0.0
    cdef const floating* w_ptr = optional_ptr(weight)
    cdef floating* loss_ptr = &loss[0] if loss.shape[0] > 0 else NULL
    with nogil:
        total = losses.bce_probs(n, &p[0], &y[0], w_ptr, &dp[0], loss_ptr,
                               <floating> grad_scale)
    return total


def torch_sgd(floating[::1] param, const floating[::1] grad, floating[::1] buf,
              double lr, double momentum, double dampening, double weight_decay,
              bint nesterov, bint maximize, bint first_step):
    """One torch.optim.SGD step in place (buf is used only when momentum != 0)."""
    cdef Py_ssize_t n = param.shape[0]
    if n == 0:
        return
    cdef floating* buf_ptr = &buf[0] if buf.shape[0] > 0 else NULL
    with nogil:
        upd.torch_sgd(n, &param[0], &grad[0], buf_ptr, <floating> lr,
                       <floating> momentum, <floating> (1 - dampening),
                       <floating> weight_decay, nesterov, maximize, first_step)


def torch_adam(floating[::1] param, const floating[::1] grad, floating[::1] exp_avg,
               floating[::1] exp_avg_sq, floating[::1] max_exp_avg_sq,
               double step_size, double bias_correction2_sqrt, double beta1,
               double beta2, double eps, double weight_decay, double decay_factor,
               bint amsgrad, bint maximize):
    """One torch.optim.Adam/AdamW step in place (max_exp_avg_sq used with amsgrad)."""
    cdef Py_ssize_t n = param.shape[0]
    if n == 0:
        return
    cdef floating* vmax_ptr = &max_exp_avg_sq[0] if max_exp_avg_sq.shape[0] > 0 else NULL
    with nogil:
        upd.torch_adam(n, &param[0], &grad[0], &exp_avg[0], &exp_avg_sq[0], vmax_ptr,
                        <floating> step_size, <floating> bias_correction2_sqrt,
                        <floating> (1 - beta1), <floating> beta2, <floating> (1 - beta2),
                        <floating> eps, <floating> weight_decay,
                        <floating> decay_factor, amsgrad, maximize)


def sklearn_sgd(floating[::1] param, const floating[::1] grad, floating[::1] velocity,
                double lr, double momentum, bint nesterov):
    """One scikit-learn SGDOptimizer step in place."""
    cdef Py_ssize_t n = param.shape[0]
    if n == 0:
        return
    with nogil:
        upd.sklearn_sgd(n, 0, &param[0], &grad[0], &velocity[0], <floating> lr,
                         <floating> momentum, nesterov, 0, 1)


def sklearn_adam(floating[::1] param, const floating[::1] grad, floating[::1] m,
                 floating[::1] v, double lr_t, double beta1, double beta2, double eps):
    """One scikit-learn AdamOptimizer step in place (lr_t already bias-corrected)."""
    cdef Py_ssize_t n = param.shape[0]
    if n == 0:
        return
    with nogil:
        upd.sklearn_adam(n, 0, &param[0], &grad[0], &m[0], &v[0], <floating> lr_t,
                          beta1, beta2, <floating> eps, 0, 1)


def matmul(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c,
           bint trans_a=False, bint trans_b=False, int path=0, Py_ssize_t repeat=1):
    """c := op(a) @ op(b) by the estimators' product (``_small_gemm.matmul``).

    For tests and benchmarks. op(x) is x.T where its flag is set. ``path`` 0
    lets the product choose (returns True when it ran in the small-product
    loop, False for BLAS); 1 forces the loop (float32, op(b) with contiguous
    rows or one column), 2 forces BLAS, 3 the packed product
    (``_packed_gemm.pxd``, float32) over the same blocks as BLAS, each block
    packing both operands, 4 the same with the operand that every block uses
    whole packed once per product, by the team, as the sgd/adam epoch runs
    its split products (both return False). ``repeat`` runs the product that
    many times in one nogil loop (for timing products of a microsecond).
    """
    cdef Py_ssize_t m = a.shape[1] if trans_a else a.shape[0]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef Py_ssize_t kb = b.shape[1] if trans_b else b.shape[0]
    cdef Py_ssize_t n = b.shape[0] if trans_b else b.shape[1]
    cdef Py_ssize_t r
    if kb != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError(f"cannot multiply {m}x{k} by {kb}x{n} into "
                         f"{c.shape[0]}x{c.shape[1]}")
    if max(m, n, k) > INT_MAX:
        raise ValueError("matmul: a dimension exceeds BLAS's 32-bit range")
    if path not in (0, 1, 2, 3, 4) or repeat < 1:
        raise ValueError("matmul: path must be 0, 1, 2, 3 or 4 and repeat at least 1")
    cdef bint small = floating is float and goes_small(trans_a, trans_b, m, n, k)
    if path == 1:
        if not (floating is float and (not trans_b or n == 1)):
            raise ValueError("the small-product loop takes float32 with op(b) rows "
                             "contiguous (or one column)")
        small = True
    elif path >= 3 and floating is not float:
        raise ValueError("the packed product takes float32")
    elif path >= 2:
        small = False
    if m == 0 or n == 0:
        return small
    cdef const floating* a_ptr = &a[0, 0] if a.shape[0] * a.shape[1] > 0 else NULL
    cdef const floating* b_ptr = &b[0, 0] if b.shape[0] * b.shape[1] > 0 else NULL
    cdef int lda = <int> a.shape[1], ldb = <int> b.shape[1], ldc = <int> n
    cdef int team = par.enter(m * n * k, _threadpool)
    cdef int blocks = par.product_blocks(m, n, k), i, threads = par.team_for(blocks)
    cdef size_t per = packed_work(m, n, k) if path >= 3 else 0
    cdef size_t ahead = shared_size(m, n, k) if path == 4 and blocks > 1 else 0
    cdef float* work = NULL
    cdef float* shared = NULL
    if per:  # a workspace per thread (and the shared panel), for every block and repeat
        work = <float*> malloc((threads * per + ahead) * sizeof(float))
        if work == NULL:
            par.leave(team, _threadpool)
            raise MemoryError("matmul: no memory for the packed product's workspace")
        if ahead:
            shared = work + threads * per
    with nogil:
        for r in range(repeat):
            if floating is float and path >= 3:  # blas.gemm's blocks, on its team
                if shared != NULL and threads <= 1:
                    pack_shared(trans_a, trans_b, m, n, k, a_ptr, lda, b_ptr, ldb, shared, 0, 1)
                elif shared != NULL:  # the team packs it, then shares the blocks
                    for i in prange(threads, num_threads=threads, schedule='static',
                                    chunksize=1):
                        pack_shared(trans_a, trans_b, m, n, k, a_ptr, lda, b_ptr, ldb, shared,
                                    i, threads)
                if threads <= 1:
                    for i in range(blocks):
                        packed_gemm_block(i, blocks, trans_a, trans_b, m, n, k, a_ptr, lda,
                                          b_ptr, ldb, &c[0, 0], ldc, shared, work)
                else:
                    for i in prange(blocks, num_threads=threads, schedule='dynamic',
                                    chunksize=1):
                        packed_gemm_block(i, blocks, trans_a, trans_b, m, n, k, a_ptr, lda,
                                          b_ptr, ldb, &c[0, 0], ldc, shared,
                                          work + threadid() * per)
            elif path == 0:
                small_or_blas_matmul(trans_a, trans_b, <int> m, <int> n, <int> k, a_ptr,
                                     lda, b_ptr, ldb, &c[0, 0], ldc)
            elif floating is float and path == 1:
                small_matmul(trans_a, trans_b, m, n, k, a_ptr, lda, b_ptr, ldb, &c[0, 0], ldc)
            else:
                blas.gemm(trans_a, trans_b, <int> m, <int> n, <int> k, <floating> 1, a_ptr,
                          lda, b_ptr, ldb, <floating> 0, &c[0, 0], ldc)
    par.leave(team, _threadpool)
    free(work)
    return small


# ------------------------------------------------------ benchmark support

def product_blocks(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k):
    """The blocks a product C (m, n) = op(A) (m, k) @ op(B) (k, n) is split into
    (1: one BLAS call on the caller's thread); fastdense._parallel's policy."""
    return par.product_blocks(m, n, k)


def pass_blocks(Py_ssize_t m, Py_ssize_t n):
    """The column blocks an element-wise pass over (m, n) is split into (the activation
    passes; the optimizer steps over m * n parameters take pass_blocks(m * n, 1))."""
    return act.column_blocks(m, n) if n > 1 else par.pass_blocks(m)


def threads_available():
    """(OpenMP compiled in, threads a call from this thread may use)."""
    return bool(par.OPENMP), par.available_threads()


cdef void _gemm_floor_epoch(const floating* x, Py_ssize_t n, Py_ssize_t batch,
                            Py_ssize_t n_layers, const Py_ssize_t* sizes,
                            floating** w, floating** z, floating** dw,
                            floating** da, bint backward, bint input_grad) noexcept nogil:
    """The products of one epoch: per minibatch Z = A @ W.T for every layer, then
    (backward) dW = dZ.T @ A for every layer and dA = dZ @ W for every layer but
    the first (and the first too with input_grad)."""
    cdef Py_ssize_t start = 0, m, l
    cdef const floating* a_in
    while start < n:
        m = min(batch, n - start)
        a_in = x + start * sizes[0]
        for l in range(n_layers):
            blas.gemm(False, True, <int> m, <int> sizes[l + 1], <int> sizes[l], <floating> 1,
                      a_in, <int> sizes[l], w[l], <int> sizes[l], <floating> 0, z[l],
                      <int> sizes[l + 1])
            a_in = z[l]
        for l in range(n_layers - 1, -1, -1):
            if not backward:
                break
            a_in = x + start * sizes[0] if l == 0 else z[l - 1]
            blas.gemm(True, False, <int> sizes[l + 1], <int> sizes[l], <int> m, <floating> 1,
                      z[l], <int> sizes[l + 1], a_in, <int> sizes[l], <floating> 0, dw[l],
                      <int> sizes[l])
            if l > 0 or input_grad:
                blas.gemm(False, False, <int> m, <int> sizes[l], <int> sizes[l + 1],
                          <floating> 1, z[l], <int> sizes[l + 1], w[l], <int> sizes[l],
                          <floating> 0, da[l], <int> sizes[l])
        start += batch


cdef void** _pointers(list arrays) except NULL:
    cdef void** out = <void**> malloc(max(len(arrays), 1) * sizeof(void*))
    if out == NULL:
        raise MemoryError()
    for i, arr in enumerate(arrays):
        out[i] = cnp.PyArray_DATA(<cnp.ndarray> arr)
    return out


cdef class GemmFloor:
    """The physical floor of a BLAS-based trainer, for benchmarks.

    Holds X (n, n_0), weights [(n_1, n_0), ...] (C-contiguous, X's dtype) and
    preallocated product buffers; ``run_epoch()`` performs exactly the matrix
    products of one epoch of minibatch training (forward, dW, dA but dA[0])
    with nothing else: no activations, no loss, no update, no row gather.
    With ``backward=False`` only the forward products; with ``input_grad``
    also dA[0] (the products of a layer's forward + backward with input grad).
    The buffers' addresses are taken once, so a call costs its products only.
    """

    cdef readonly object X, weights, sizes, z, dw, da
    cdef readonly Py_ssize_t batch
    cdef readonly bint backward, input_grad
    cdef void** _w
    cdef void** _z
    cdef void** _dw
    cdef void** _da

    def __init__(self, X, weights, batch_size, *, backward=True, input_grad=False):
        import numpy as np
        self.X = np.ascontiguousarray(X)
        if self.X.dtype not in (np.float32, np.float64):
            raise TypeError("X must be float32 or float64")
        self.weights = [np.ascontiguousarray(w, dtype=self.X.dtype) for w in weights]
        self.sizes = np.array([self.X.shape[1]] + [w.shape[0] for w in self.weights],
                              dtype=np.intp)
        for w, n_in in zip(self.weights, self.sizes):
            if w.ndim != 2 or w.shape[1] != n_in:
                raise ValueError("weights must chain: weights[l] has shape (n_l+1, n_l)")
        self.batch = int(min(batch_size, max(self.X.shape[0], 1)))
        self.backward = bool(backward)
        self.input_grad = bool(input_grad)
        n_layers = len(self.weights)
        self.z = [np.zeros((self.batch, n), self.X.dtype) for n in self.sizes[1:]]
        self.dw = [np.zeros_like(w) for w in self.weights]
        self.da = [np.zeros((self.batch, n), self.X.dtype) for n in self.sizes[:n_layers]]
        self._w = _pointers(self.weights)
        self._z = _pointers(self.z)
        self._dw = _pointers(self.dw)
        self._da = _pointers(self.da)

    def __dealloc__(self):
        free(self._w)
        free(self._z)
        free(self._dw)
        free(self._da)

    def run_epoch(self):
        """One epoch of products over X's rows, without the GIL."""
        cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray> self.X, 0)
        cdef Py_ssize_t n_layers = len(self.weights)
        cdef const Py_ssize_t* sizes = <const Py_ssize_t*> cnp.PyArray_DATA(
            <cnp.ndarray> self.sizes)
        cdef void* x = cnp.PyArray_DATA(<cnp.ndarray> self.X)
        cdef bint single = cnp.PyArray_TYPE(<cnp.ndarray> self.X) == cnp.NPY_FLOAT32
        cdef Py_ssize_t l, most = 0
        for l in range(n_layers):
            most = max(most, sizes[l] * sizes[l + 1])
        cdef int team = par.enter(self.batch * most, _threadpool)
        with nogil:
            if single:
                _gemm_floor_epoch(<const float*> x, n, self.batch, n_layers, sizes,
                                  <float**> self._w, <float**> self._z, <float**> self._dw,
                                  <float**> self._da, self.backward, self.input_grad)
            else:
                _gemm_floor_epoch(<const double*> x, n, self.batch, n_layers, sizes,
                                  <double**> self._w, <double**> self._z,
                                  <double**> self._dw, <double**> self._da, self.backward,
                                  self.input_grad)
        par.leave(team, _threadpool)


# ------------------------------------------------ fast paths of kernels.py
# fastdense.kernels.dense_forward / dense_backward try these first. When every
# argument already is what the kernel takes (exact ndarrays of one kernel dtype,
# C-contiguous, every dimension in 1..INT_MAX (BLAS's int, = MAX_BLAS_DIM),
# consistent shapes, a known activation name, a float slope >= 0) they allocate
# the outputs and run the kernel; otherwise they return None and the caller
# takes its validating path, which converts, or raises the proper error.
# C-level checks cost ~0.1 us; the same checks from Python cost ~1 us, more
# than a small layer's compute.

cdef int _ready_typenum(object x, int ndim, int typenum):
    """x's typenum if x is an exact, C-contiguous float32/float64 ndarray with
    `ndim` dimensions, each in 1..INT_MAX (and of `typenum`, unless that is -1);
    else -1."""
    cdef cnp.ndarray a
    cdef int t, k
    cdef cnp.npy_intp size
    if not cnp.PyArray_CheckExact(x):
        return -1
    a = <cnp.ndarray> x
    t = cnp.PyArray_TYPE(a)
    if (t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64) or (typenum != -1 and t != typenum):
        return -1
    if cnp.PyArray_NDIM(a) != ndim or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        return -1
    for k in range(ndim):
        size = cnp.PyArray_DIM(a, k)
        if size < 1 or size > INT_MAX:
            return -1
    return t


cdef int _fast_code(object activation, object negative_slope):
    """The kernel code of a known activation name with a float slope >= 0, else -1."""
    cdef double slope
    if type(activation) is not str or type(negative_slope) is not float:
        return -1
    slope = negative_slope
    if not (0 <= slope < INFINITY):
        return -1
    return ACTIVATION_CODES.get(activation, -1)


cdef inline void* _data(object a):
    return cnp.PyArray_DATA(<cnp.ndarray> a)


cdef inline cnp.npy_intp _dim(object a, int k):
    return cnp.PyArray_DIM(<cnp.ndarray> a, k)


cdef void _forward_run(floating kind, Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out,
                       void* a_prev, void* w, void* b, void* out, int code,
                       double slope) noexcept nogil:
    layer.dense_forward(m, n_in, n_out, <const floating*> a_prev, <const floating*> w,
                       <const floating*> b, <floating*> out, code, <floating> slope)


cdef void _backward_run(floating kind, Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out,
                        void* da, void* a_prev, void* w, void* a, void* dz, void* dw,
                        void* db, void* da_prev, int code, double slope) noexcept nogil:
    layer.dense_backward(m, n_in, n_out, <const floating*> da, <const floating*> a_prev,
                        <const floating*> w, <const floating*> a, <floating*> dz,
                        <floating*> dw, <floating*> db, <floating*> da_prev, code,
                        <floating> slope, False)


def dense_forward_ready(a_prev, w, b, activation, negative_slope):
    """g(a_prev @ w.T + b) as a new array, or None if an argument is not ready."""
    cdef int t = _ready_typenum(a_prev, 2, -1)
    cdef int code = _fast_code(activation, negative_slope)
    if t < 0 or code < 0 or _ready_typenum(w, 2, t) < 0:
        return None
    if b is not None and (_ready_typenum(b, 1, t) < 0 or _dim(b, 0) != _dim(w, 0)):
        return None
    cdef Py_ssize_t m = _dim(a_prev, 0), n_in = _dim(a_prev, 1), n_out = _dim(w, 0)
    if _dim(w, 1) != n_in:
        return None
    cdef cnp.npy_intp dims[2]
    dims[0] = m
    dims[1] = n_out
    out = cnp.PyArray_EMPTY(2, dims, t, 0)
    cdef void* pa = _data(a_prev)
    cdef void* pw = _data(w)
    cdef void* pb = _data(b) if b is not None else NULL
    cdef void* po = _data(out)
    cdef double slope = negative_slope
    cdef int team = par.enter(m * n_in * n_out, _threadpool)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            _forward_run(<float> 0, m, n_in, n_out, pa, pw, pb, po, code, slope)
        else:
            _forward_run(<double> 0, m, n_in, n_out, pa, pw, pb, po, code, slope)
    par.leave(team, _threadpool)
    return out


def dense_backward_ready(da, a_prev, w, a, activation, negative_slope, bint input_grad):
    """(dA_prev or None, dW, db) as new arrays, or None if an argument is not ready."""
    cdef int t = _ready_typenum(a_prev, 2, -1)
    cdef int code = _fast_code(activation, negative_slope)
    if (t < 0 or code < 0 or _ready_typenum(w, 2, t) < 0 or _ready_typenum(da, 2, t) < 0
            or _ready_typenum(a, 2, t) < 0):
        return None
    cdef Py_ssize_t m = _dim(a_prev, 0), n_in = _dim(a_prev, 1), n_out = _dim(w, 0)
    if (_dim(w, 1) != n_in or _dim(da, 0) != m or _dim(da, 1) != n_out
            or _dim(a, 0) != m or _dim(a, 1) != n_out):
        return None
    cdef cnp.npy_intp dims[2]
    dims[0] = m
    dims[1] = n_out
    dz = cnp.PyArray_EMPTY(2, dims, t, 0)
    db = cnp.PyArray_ZEROS(1, &dims[1], t, 0)  # the delta pass adds the column sums
    dims[0] = n_out
    dims[1] = n_in
    dw = cnp.PyArray_EMPTY(2, dims, t, 0)
    dims[0] = m
    da_prev = cnp.PyArray_EMPTY(2, dims, t, 0) if input_grad else None
    cdef void* p_da = _data(da)
    cdef void* p_ap = _data(a_prev)
    cdef void* p_w = _data(w)
    cdef void* p_a = _data(a)
    cdef void* p_dz = _data(dz)
    cdef void* p_dw = _data(dw)
    cdef void* p_db = _data(db)
    cdef void* p_dap = _data(da_prev) if input_grad else NULL
    cdef double slope = negative_slope
    cdef int team = par.enter(m * n_in * n_out, _threadpool)
    with nogil:
        if t == cnp.NPY_FLOAT32:
            _backward_run(<float> 0, m, n_in, n_out, p_da, p_ap, p_w, p_a, p_dz, p_dw, p_db,
                          p_dap, code, slope)
        else:
            _backward_run(<double> 0, m, n_in, n_out, p_da, p_ap, p_w, p_a, p_dz, p_dw, p_db,
                          p_dap, code, slope)
    par.leave(team, _threadpool)
    return da_prev, dw, db


# ------------------------------------------------- multi-tensor optimizer steps
# One call updates a whole parameter group (PyTorch's multi-tensor idea): the
# per-call overhead of the single-tensor shells dominates for small layers.
# Unlike the shells above, these check every array (cheap C-level checks).

cdef inline void* _checked_data(object a, int typenum, Py_ssize_t n, bint writable,
                                str name) except NULL:
    """Data pointer of `a` after checking: ndarray of `typenum`, C-contiguous, size n."""
    cdef cnp.ndarray arr
    if not isinstance(a, cnp.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray; got {type(a).__name__}")
    arr = <cnp.ndarray> a
    if cnp.PyArray_TYPE(arr) != typenum:
        raise TypeError(f"{name} must have the parameter's dtype; got {arr.dtype}")
    if cnp.PyArray_SIZE(arr) != n:
        raise ValueError(f"{name} must have the parameter's size {n}; got {arr.size}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{name} must be C-contiguous")
    if writable and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name} must be writable")
    return cnp.PyArray_DATA(arr)


cdef _adam_multi(floating kind, int typenum, list params, list grads, list exp_avgs,
                 list exp_avg_sqs, list max_exp_avg_sqs, list step_sizes,
                 list bc2_sqrts, double beta1, double beta2, double eps,
                 double weight_decay, double decay_factor, bint amsgrad, bint maximize):
    cdef Py_ssize_t i, n
    cdef floating *p
    cdef floating *g
    cdef floating *m
    cdef floating *v
    cdef floating *vm
    cdef floating step_size, bc2
    for i in range(len(params)):
        if not isinstance(params[i], cnp.ndarray):
            raise TypeError("params must be numpy.ndarrays")
        n = cnp.PyArray_SIZE(<cnp.ndarray> params[i])
        if n == 0:
            continue
        p = <floating*> _checked_data(params[i], typenum, n, True, "param")
        g = <floating*> _checked_data(grads[i], typenum, n, False, "grad")
        m = <floating*> _checked_data(exp_avgs[i], typenum, n, True, "exp_avg")
        v = <floating*> _checked_data(exp_avg_sqs[i], typenum, n, True, "exp_avg_sq")
        vm = NULL
        if amsgrad:
            vm = <floating*> _checked_data(max_exp_avg_sqs[i], typenum, n, True,
                                           "max_exp_avg_sq")
        step_size = <floating> (<double> step_sizes[i])
        bc2 = <floating> (<double> bc2_sqrts[i])
        with nogil:
            upd.torch_adam(n, p, g, m, v, vm, step_size, bc2, <floating> (1 - beta1),
                            <floating> beta2, <floating> (1 - beta2), <floating> eps,
                            <floating> weight_decay, <floating> decay_factor, amsgrad,
                            maximize)


def torch_adam_multi(list params, list grads, list exp_avgs, list exp_avg_sqs,
                     list max_exp_avg_sqs, list step_sizes, list bc2_sqrts,
                     double beta1, double beta2, double eps, double weight_decay,
                     double decay_factor, bint amsgrad, bint maximize):
    """torch_adam over lists of same-dtype arrays: one call per parameter group.

    step_sizes[i] = lr / (1 - beta1**step_i) and bc2_sqrts[i] = sqrt(1 - beta2**step_i)
    (computed by the caller in double). max_exp_avg_sqs is read only with amsgrad.
    """
    cdef Py_ssize_t k = len(params)
    cdef int typenum
    if not (len(grads) == len(exp_avgs) == len(exp_avg_sqs) == len(step_sizes)
            == len(bc2_sqrts) == k) or (amsgrad and len(max_exp_avg_sqs) != k):
        raise ValueError("torch_adam_multi: all lists must have one entry per parameter")
    if k == 0:
        return
    if not isinstance(params[0], cnp.ndarray):
        raise TypeError("params must be numpy.ndarrays")
    typenum = cnp.PyArray_TYPE(<cnp.ndarray> params[0])
    if typenum == cnp.NPY_FLOAT:
        _adam_multi[float](0, typenum, params, grads, exp_avgs, exp_avg_sqs,
                           max_exp_avg_sqs, step_sizes, bc2_sqrts, beta1, beta2, eps,
                           weight_decay, decay_factor, amsgrad, maximize)
    elif typenum == cnp.NPY_DOUBLE:
        _adam_multi[double](0, typenum, params, grads, exp_avgs, exp_avg_sqs,
                            max_exp_avg_sqs, step_sizes, bc2_sqrts, beta1, beta2, eps,
                            weight_decay, decay_factor, amsgrad, maximize)
    else:
        raise TypeError("params must be float32 or float64 arrays")


# ---------------------------------------------------------------------------
# torch.optim.RMSprop and torch.optim.Adagrad (fastdense.optim.adaptive)

def torch_rmsprop(floating[::1] param, const floating[::1] grad, floating[::1] square_avg,
                  floating[::1] grad_avg, floating[::1] momentum_buffer, double lr,
                  double alpha, double eps, double weight_decay, double momentum,
                  bint maximize):
    """One torch.optim.RMSprop step in place (grad_avg used when non-empty: centered;
    momentum_buffer when non-empty: momentum > 0)."""
    cdef Py_ssize_t n = param.shape[0]
    if n == 0:
        return
    cdef floating* m_ptr = &grad_avg[0] if grad_avg.shape[0] > 0 else NULL
    cdef floating* buf_ptr = &momentum_buffer[0] if momentum_buffer.shape[0] > 0 else NULL
    with nogil:
        upd.torch_rmsprop(n, &param[0], &grad[0], &square_avg[0], m_ptr, buf_ptr,
                           <floating> lr, <floating> alpha, <floating> (1 - alpha),
                           <floating> eps, <floating> weight_decay, <floating> momentum,
                           maximize)


def torch_adagrad(floating[::1] param, const floating[::1] grad, floating[::1] state_sum,
                  double clr, double eps, double weight_decay, bint maximize):
    """One torch.optim.Adagrad step in place (clr: the decayed lr, computed in double)."""
    cdef Py_ssize_t n = param.shape[0]
    if n == 0:
        return
    with nogil:
        upd.torch_adagrad(n, &param[0], &grad[0], &state_sum[0], <floating> clr,
                           <floating> eps, <floating> weight_decay, maximize)
