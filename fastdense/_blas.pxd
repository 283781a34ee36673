# The BLAS wrapper: row-major gemm/gemv over scipy's cython_blas, written once.
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes; nothing here allocates,
# raises or touches Python objects.

from cython cimport floating
from cython.parallel cimport prange
from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv

cimport fastdense._parallel as par


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

    A large product is split along C's longer side into the blocks of
    _parallel.product_blocks (a function of m, n, k only), each one BLAS call,
    shared by the caller's team: the same bits for any number of threads.
    """
    cdef int blocks = par.product_blocks(m, n, k), team, i
    if blocks <= 1:
        gemm_call(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    team = par.team_for(blocks)
    if team <= 1:
        for i in range(blocks):
            gemm_block(i, blocks, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                       c, ldc)
        return
    for i in prange(blocks, num_threads=team, schedule='dynamic', chunksize=1):
        gemm_block(i, blocks, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef inline void block_rect(int i, int blocks, Py_ssize_t m, Py_ssize_t n, Py_ssize_t* r0,
                            Py_ssize_t* r1, Py_ssize_t* c0, Py_ssize_t* c1) noexcept nogil:
    """The rows r0 .. r1 - 1 and columns c0 .. c1 - 1 of C (m, n) that block i of
    `blocks` of gemm_block writes (all of C for one block)."""
    r0[0], r1[0], c0[0], c1[0] = 0, m, 0, n
    if blocks <= 1:
        return
    if m >= n:
        r0[0] = par.block_start(m, blocks, i)
        r1[0] = par.block_start(m, blocks, i + 1)
    else:
        c0[0] = par.block_start(n, blocks, i)
        c1[0] = par.block_start(n, blocks, i + 1)


cdef inline void gemm_block(int i, int blocks, bint trans_a, bint trans_b, int m, int n,
                            int k, floating alpha, const floating* a, int lda,
                            const floating* b, int ldb, floating beta, floating* c,
                            int ldc) noexcept nogil:
    """Block i of `blocks` of gemm's C: rows of C (and of op(A)) if m >= n, else
    columns of C (and of op(B))."""
    cdef Py_ssize_t lo, hi
    if m >= n:
        lo = par.block_start(m, blocks, i)
        hi = par.block_start(m, blocks, i + 1)
        # op(A)'s row r is stored row r (no transpose) or stored column r
        gemm_call(trans_a, trans_b, <int> (hi - lo), n, k, alpha,
                  a + (lo if trans_a else lo * lda), lda, b, ldb, beta, c + lo * ldc, ldc)
    else:
        lo = par.block_start(n, blocks, i)
        hi = par.block_start(n, blocks, i + 1)
        # op(B)'s column j is stored row j (transposed) or stored column j
        gemm_call(trans_a, trans_b, m, <int> (hi - lo), k, alpha, a, lda,
                  b + (lo * ldb if trans_b else lo), ldb, beta, c + lo, ldc)


cdef inline void gemm_call(bint trans_a, bint trans_b, int m, int n, int k,
                           floating alpha, const floating* a, int lda,
                           const floating* b, int ldb, floating beta,
                           floating* c, int ldc) noexcept nogil:
    """gemm as one BLAS call (or one gemv, or the empty-sum fill).

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
