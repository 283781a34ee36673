# Small float32 matrix products without BLAS.
#
# Below a few thousand multiply-adds a BLAS call costs more in fixed work
# (argument checks, packing both operands into its panel layout, its thread
# dispatch) than in arithmetic: on the benchmark machine OpenBLAS's sgemm
# takes 0.69 µs for a (32, 10) @ (10, 16) product that a register-tiled loop
# does in 0.24 µs, and sgemv 0.6 µs for a 32-long row-vector product the loop
# does in 0.04 µs. That is the T benchmark's every minibatch (issue 16).
#
# `sgemm_small` is the loop: C (m, n) := A (m, k) @ B (k, n), row-major, A read
# through two strides (so A or A.T without a copy), B's rows contiguous. Every
# element of C is summed over k in order, starting from 0, one multiply and
# one add per term (the modules are built with -ffp-contract=off): the
# result does not depend on the tile or the vector width, so the baseline and
# the SIMD builds give the same bits (tests/test_simd.py). The tiles are 6 x 16
# (12 accumulators of 8 floats: registers in the AVX builds; the baseline
# build's SSE has half as many, and its spills still beat 4 x 8 tiles on the
# T products), then 4 x 8, 8 x 1 and 1-row tiles for the edges; GCC/Clang
# vector extensions, plain C loops elsewhere.
#
# `matmul` is the one entry point: blas.gemm's row-major arguments with
# alpha = 1 and beta = 0; it sends float32 products of at most
# SMALL_GEMM_MACS multiply-adds to the loop and everything else to BLAS. The
# limit is the same in every build (so are the bits): above it the baseline
# build's loop loses to BLAS (measured 0.4-0.6x at 32k multiply-adds), and
# the AVX2 build's gain is small. float64 always goes to BLAS: it is the
# precision in which the estimators reproduce scikit-learn's model, whose
# products are numpy's BLAS calls.

from cython cimport floating

cimport fastdense._blas as blas
cimport fastdense._parallel as par


cdef extern from *:
    """
    #include <stddef.h>
    #include <string.h>
    #if defined(__GNUC__) || defined(__clang__)
    typedef float fd_v8 __attribute__((vector_size(32)));
    static inline fd_v8 fd_v8_load(const float* p) { fd_v8 v; memcpy(&v, p, sizeof v); return v; }
    static inline void fd_v8_store(float* p, fd_v8 v) { memcpy(p, &v, sizeof v); }
    static inline fd_v8 fd_v8_splat(float x) { fd_v8 v = {x, x, x, x, x, x, x, x}; return v; }
    /* One MR x (8 NV) tile of C: acc[r][q] holds C[r, 8q .. 8q + 7]. */
    #define FD_VTILE(NAME, MR, NV)                                                      \\
    static inline void NAME(ptrdiff_t k, const float* a, ptrdiff_t sa, ptrdiff_t sk,   \\
                            const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc) {  \\
        fd_v8 acc[MR][NV], bv[NV];                                                      \\
        for (int r = 0; r < MR; r++)                                                    \\
            for (int q = 0; q < NV; q++) acc[r][q] = fd_v8_splat(0.0f);                 \\
        for (ptrdiff_t p = 0; p < k; p++) {                                             \\
            for (int q = 0; q < NV; q++) bv[q] = fd_v8_load(b + p * ldb + 8 * q);       \\
            for (int r = 0; r < MR; r++) {                                              \\
                fd_v8 av = fd_v8_splat(a[r * sa + p * sk]);                             \\
                for (int q = 0; q < NV; q++) acc[r][q] += av * bv[q];                   \\
            }                                                                           \\
        }                                                                               \\
        for (int r = 0; r < MR; r++)                                                    \\
            for (int q = 0; q < NV; q++) fd_v8_store(c + r * ldc + 8 * q, acc[r][q]);   \\
    }
    FD_VTILE(fd_tile_6x16, 6, 2)
    FD_VTILE(fd_tile_1x16, 1, 2)
    FD_VTILE(fd_tile_4x8, 4, 1)
    FD_VTILE(fd_tile_1x8, 1, 1)
    #define FD_VECTOR_TILES 1
    #endif

    /* One MR x 1 tile: a column of C, MR independent sums. */
    #define FD_STILE(NAME, MR)                                                          \\
    static inline void NAME(ptrdiff_t k, const float* a, ptrdiff_t sa, ptrdiff_t sk,   \\
                            const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc) {  \\
        float acc[MR];                                                                  \\
        for (int r = 0; r < MR; r++) acc[r] = 0.0f;                                     \\
        for (ptrdiff_t p = 0; p < k; p++)                                               \\
            for (int r = 0; r < MR; r++) acc[r] += a[r * sa + p * sk] * b[p * ldb];     \\
        for (int r = 0; r < MR; r++) c[r * ldc] = acc[r];                               \\
    }
    FD_STILE(fd_tile_8x1, 8)
    FD_STILE(fd_tile_1x1, 1)

    /* C (m, n; row stride ldc) := A @ B, A's (i, p) at a[i * sa + p * sk], B (k, n)
       with row stride ldb. */
    static void fd_sgemm_small(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* a,
                               ptrdiff_t sa, ptrdiff_t sk, const float* b, ptrdiff_t ldb,
                               float* c, ptrdiff_t ldc) {
        ptrdiff_t i, j = 0;
    #ifdef FD_VECTOR_TILES
        for (; j + 16 <= n; j += 16) {
            for (i = 0; i + 6 <= m; i += 6)
                fd_tile_6x16(k, a + i * sa, sa, sk, b + j, ldb, c + i * ldc + j, ldc);
            for (; i < m; i++)
                fd_tile_1x16(k, a + i * sa, sa, sk, b + j, ldb, c + i * ldc + j, ldc);
        }
        for (; j + 8 <= n; j += 8) {
            for (i = 0; i + 4 <= m; i += 4)
                fd_tile_4x8(k, a + i * sa, sa, sk, b + j, ldb, c + i * ldc + j, ldc);
            for (; i < m; i++)
                fd_tile_1x8(k, a + i * sa, sa, sk, b + j, ldb, c + i * ldc + j, ldc);
        }
    #endif
        for (; j < n; j++) {
            for (i = 0; i + 8 <= m; i += 8)
                fd_tile_8x1(k, a + i * sa, sa, sk, b + j, ldb, c + i * ldc + j, ldc);
            for (; i < m; i++)
                fd_tile_1x1(k, a + i * sa, sa, sk, b + j, ldb, c + i * ldc + j, ldc);
        }
    }
    """
    void sgemm_small "fd_sgemm_small"(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                                      const float* a, Py_ssize_t sa, Py_ssize_t sk,
                                      const float* b, Py_ssize_t ldb, float* c,
                                      Py_ssize_t ldc) noexcept nogil


cdef enum:
    # The most multiply-adds (m * n * k) a product may have to skip BLAS.
    SMALL_GEMM_MACS = 8192


cdef inline bint goes_small(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
                            Py_ssize_t k) noexcept nogil:
    """Whether a float32 `matmul` of these sizes runs in sgemm_small (else BLAS).

    Not for a transposed B with several columns (its rows are not contiguous),
    and not for one column of C under an untransposed A: there the loop's
    column tile (independent scalar sums) was slower than BLAS's gemv.
    """
    if m <= 0 or n <= 0 or m * n * k > SMALL_GEMM_MACS:
        return False
    return (n == 1 and trans_a) if (trans_b or n == 1) else True


cdef inline void small_matmul(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
                              Py_ssize_t k, const float* a, Py_ssize_t lda, const float* b,
                              Py_ssize_t ldb, float* c, Py_ssize_t ldc) noexcept nogil:
    """Row-major C (m, n) := op(A) @ op(B) in sgemm_small (op(B) with contiguous rows,
    or one column).

    op(A) is read through its strides, op(B) as rows of B (or, for one
    column of a transposed B, B's one stored row). One column of C that is
    contiguous (ldc 1) under a transposed A is computed as the row
    C.T = op(B).T @ A, which the loop vectorizes; each element is the same
    ordered sum either way.
    """
    cdef Py_ssize_t b_row = 1 if trans_b else ldb  # op(B)'s row stride when n == 1
    if n == 1 and trans_a and ldc == 1:
        # C.T (1, m) = op(B).T (1, k) @ A (k, m) stored, rows of stride lda
        sgemm_small(1, m, k, b, 0, b_row, a, lda, c, m)
    else:
        sgemm_small(m, n, k, a, 1 if trans_a else lda, lda if trans_a else 1, b,
                    b_row if n == 1 else ldb, c, ldc)


cdef inline void matmul(bint trans_a, bint trans_b, int m, int n, int k,
                        const floating* a, int lda, const floating* b, int ldb,
                        floating* c, int ldc) noexcept nogil:
    """Row-major C (m, n) := op(A) @ op(B): blas.gemm with alpha 1 and beta 0.

    Small float32 products (goes_small) run in small_matmul, the rest in BLAS.
    """
    if floating is float and goes_small(trans_a, trans_b, m, n, k):
        small_matmul(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc)
        return
    blas.gemm(trans_a, trans_b, m, n, k, <floating> 1, a, lda, b, ldb, <floating> 0, c, ldc)



cdef inline int matmul_blocks(bint trans_a, bint trans_b, int m, int n, int k,
                              const floating* a) noexcept nogil:
    """How many blocks `matmul` runs a product of these sizes in (blas.gemm's blocks;
    one for a product that goes small). `a` only picks the dtype."""
    if floating is float and goes_small(trans_a, trans_b, m, n, k):
        return 1
    return par.product_blocks(m, n, k)


cdef inline void matmul_block(int i, int blocks, bint trans_a, bint trans_b, int m, int n,
                              int k, const floating* a, int lda, const floating* b, int ldb,
                              floating* c, int ldc) noexcept nogil:
    """Block i of the `blocks` (matmul_blocks) of `matmul`'s product: the very call
    `matmul` makes for it, on the calling thread (blas.block_rect: what it writes)."""
    if blocks <= 1:
        matmul(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc)
    else:
        blas.gemm_block(i, blocks, trans_a, trans_b, m, n, k, <floating> 1, a, lda, b, ldb,
                        <floating> 0, c, ldc)

