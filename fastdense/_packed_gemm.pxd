# A packed float32 matrix product with sgemm_small's arithmetic (the sgd/adam epoch's
# split products).
#
# Why it exists. Above SMALL_GEMM_MACS the estimators' float32 products go to
# OpenBLAS, one single-threaded sgemm per block of a split product
# (_parallel.product_blocks), and OpenBLAS's single-thread speed on those
# blocks is what limits an epoch (issue 23). This is the BLIS-style product
# that could replace it while keeping `sgemm_small`'s contract, so that the
# bits would be the same in every build and for any split of C into blocks:
# every element of C is summed over k in order from 0, one rounded multiply
# and one rounded add per term (no FMA:
# the modules build with -ffp-contract=off). k-blocking keeps that sequence:
# a later panel of k loads C's partial sums and goes on adding.
#
# Layout (Goto/BLIS): for each nc-wide panel of C's columns and each kc-deep
# panel of k, op(B)'s kc x nc panel is packed into micro-panels of NR columns
# (p-major, zero-padded), and for each mc-row block, op(A)'s mc x kc block
# into micro-panels of MR rows (p-major, zero-padded); a register tile of
# MR x NR accumulators then runs over the micro-panels, each B micro-panel
# reused by every A micro-panel of the block. A partial tile (C's edges) runs
# in a zero-filled tile buffer and copies back only its part of C. The
# AVX-512 build uses 8-float (ymm) vectors in a 12 x 16 tile (24 of its 32
# registers): on Zen4 a 512-bit broadcast costs an FP pipe slot, and 16-float
# tiles ran ~15% slower than 8-float ones in L1 (measured ~96 against
# ~113-116 GFLOP/s, one core); the AVX2 build (16 registers) a 6 x 16 tile,
# the baseline (SSE) 6 x 8. Row-major A and transposed B are packed with 4 x 4
# in-register transposes. Without GCC/Clang vector extensions the product is a
# plain loop in the same order (same bits, slow).
#
# Where it runs, and why there (issue 23's go/no-go asked for 1.10x OpenBLAS's
# single-thread speed on the products that dominate M and L). Measured
# 2026-12-08 on the Zen4 machine (2 vCPUs, KVM), benchmarks/bench_gemm.py, the
# AVX-512 build against OpenBLAS 0.3.30's SkylakeX sgemm, the epoch's products
# in their blocks, the paths alternating, a minibatch's five products in turn:
# - each block packing both its operands (what a drop-in for blas.gemm_block
#   does): M 1.07-1.11x, L 1.02-1.04x on one thread; 1.08-1.13x and 1.02-1.06x
#   on two. L's large products gain 2-9% only: their blocks (128 columns of C)
#   each pack all of op(A) again, ~10% of a block's time (up to ~25% for a row
#   block's op(B)).
# - the operand every block uses whole packed once per product, its
#   micro-panels split among the threads (path 4): M 1.15-1.17x, L 1.10-1.11x on
#   one thread, 1.15x and 1.08x on two.
# So the sgd/adam epoch loop (_train.stochastic_epoch) runs its float32
# products of two blocks or more the second way: before a product's blocks the
# team packs the shared operand (pack_shared), meets at a barrier, then shares
# the blocks (_train.pyx: pack_shared, product_block). The products of one
# block (small data: S and T) stay with OpenBLAS and sgemm_small, which are
# faster there; so do lbfgs (loss_grad), prediction and the nn path. float64
# always goes to BLAS (the precision in which the estimators reproduce
# scikit-learn). A kernel without FMA issues twice the floating-point
# instructions per flop, so it loses more than OpenBLAS when the host's other
# tenants slow the vCPUs (one such run: M 0.71-0.81x). docs/performance.md has
# the tables.

cimport fastdense._blas as blas


cdef extern from *:
    """
    #include <stddef.h>
    #include <string.h>

    #if defined(__GNUC__) || defined(__clang__)
    #if defined(__AVX512F__)
    #define FD_PW 8
    #define FD_PMR 12
    #elif defined(__AVX__)
    #define FD_PW 8
    #define FD_PMR 6
    #else
    #define FD_PW 4
    #define FD_PMR 6
    #endif
    #define FD_PNV 2                   /* vectors per row of the tile */
    #define FD_PNR (FD_PW * FD_PNV)   /* columns of the tile */
    #define FD_PKC 512                 /* depth of a k panel */
    #define FD_PMC 144                 /* rows of a packed A block (a multiple of 12 and 6) */
    #define FD_PNC 512                 /* columns of a packed B panel */
    #define FD_PPREFETCH 24            /* k steps ahead that the tile prefetches A */

    static inline ptrdiff_t fd_pmin(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }
    /* x rounded up to a multiple of w (the zero-padded micro-panels' extent) */
    static inline ptrdiff_t fd_pround(ptrdiff_t x, ptrdiff_t w) { return (x + w - 1) / w * w; }

    typedef float fd_pv __attribute__((vector_size(FD_PW * 4)));
    static inline fd_pv fd_pv_load(const float* p) { fd_pv v; memcpy(&v, p, sizeof v); return v; }
    static inline void fd_pv_store(float* p, fd_pv v) { memcpy(p, &v, sizeof v); }

    /* The MR x NR tile at c (row stride ldc) := its sums over the kc steps of the
       packed micro-panels ap (kc x MR) and bp (kc x NR), starting from 0, or from
       the tile's values when `load`. */
    static inline void fd_ptile(ptrdiff_t kc, const float* __restrict ap,
                                const float* __restrict bp, float* c, ptrdiff_t ldc,
                                int load) {
        fd_pv acc[FD_PMR][FD_PNV];
        for (int r = 0; r < FD_PMR; r++)
            for (int q = 0; q < FD_PNV; q++)
                acc[r][q] = load ? fd_pv_load(c + r * ldc + q * FD_PW) : (fd_pv){0};
        for (ptrdiff_t p = 0; p < kc; p++) {
            fd_pv bv[FD_PNV];
            __builtin_prefetch(ap + (p + FD_PPREFETCH) * FD_PMR);
            for (int q = 0; q < FD_PNV; q++) bv[q] = fd_pv_load(bp + p * FD_PNR + q * FD_PW);
            for (int r = 0; r < FD_PMR; r++) {
                float av = ap[p * FD_PMR + r];  /* a scalar times a vector: a broadcast */
                for (int q = 0; q < FD_PNV; q++) acc[r][q] += av * bv[q];
            }
        }
        for (int r = 0; r < FD_PMR; r++)
            for (int q = 0; q < FD_PNV; q++) fd_pv_store(c + r * ldc + q * FD_PW, acc[r][q]);
    }

    #if defined(__clang__) || __GNUC__ >= 12
    #define FD_PTRANSPOSE 1
    typedef float fd_pv4 __attribute__((vector_size(16)));
    /* dst[q * ds + r] = src[r * ss + q] for r, q in 0..3. */
    static inline void fd_ptranspose4(const float* src, ptrdiff_t ss, float* dst, ptrdiff_t ds) {
        fd_pv4 r0, r1, r2, r3, t0, t1, t2, t3;
        memcpy(&r0, src, 16);
        memcpy(&r1, src + ss, 16);
        memcpy(&r2, src + 2 * ss, 16);
        memcpy(&r3, src + 3 * ss, 16);
        t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);
        t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
        t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
        t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
        r0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
        r1 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
        r2 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
        r3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
        memcpy(dst, &r0, 16);
        memcpy(dst + ds, &r1, 16);
        memcpy(dst + 2 * ds, &r2, 16);
        memcpy(dst + 3 * ds, &r3, 16);
    }
    #endif

    /* x's (s, t) at x[s * ss + t * st] for s < ns (ns <= width), t < nt, into
       dst[t * width + s], zero for ns <= s < width: one micro-panel, p-major.
       (A: s = row, t = p; B: s = column, t = p.) */
    static void fd_ppack(ptrdiff_t ns, ptrdiff_t nt, const float* x, ptrdiff_t ss,
                         ptrdiff_t st, float* dst, int width) {
        ptrdiff_t s = 0, t;
        if (ss == 1) {  /* the panel's rows are contiguous in x: a copy per step */
            for (t = 0; t < nt; t++) {
                const float* src = x + t * st;
                float* d = dst + t * width;
                for (s = 0; s < ns; s++) d[s] = src[s];
                for (; s < width; s++) d[s] = 0.0f;
            }
            return;
        }
    #ifdef FD_PTRANSPOSE
        if (st == 1)  /* contiguous along t: 4 x 4 blocks transposed in registers */
            for (; s + 4 <= ns; s += 4) {
                for (t = 0; t + 4 <= nt; t += 4)
                    fd_ptranspose4(x + s * ss + t, ss, dst + t * width + s, width);
                for (; t < nt; t++)
                    for (ptrdiff_t u = s; u < s + 4; u++) dst[t * width + u] = x[u * ss + t];
            }
    #endif
        for (; s < width; s++)
            for (t = 0; t < nt; t++) dst[t * width + s] = s < ns ? x[s * ss + t * st] : 0.0f;
    }

    /* The floats of the workspace fd_sgemm_packed needs for a product of these sizes
       (its packed B panel and A block, and a cache line's worth to align them). */
    static size_t fd_packed_work(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k) {
        ptrdiff_t kcx = fd_pmin(k, FD_PKC);
        ptrdiff_t ncp = fd_pround(fd_pmin(n, FD_PNC), FD_PNR);
        ptrdiff_t mcp = fd_pround(fd_pmin(m, FD_PMC), FD_PMR);
        return (size_t) (ncp + mcp) * (size_t) (kcx > 0 ? kcx : 0) + 16;
    }

    /* A whole operand packed ahead, for the blocks of a split product that all use it
       whole (op(B) when C is split by rows, op(A) by columns): its `ns` rows of A (or
       columns of B) in micro-panels of `width` (FD_PMR, FD_PNR), for every k panel;
       micro-panel s of k panel p0 at dst + p0 * roundup(ns, width) + s * kc. */
    static size_t fd_packed_ahead_size(ptrdiff_t ns, ptrdiff_t k, int width) {
        return (size_t) fd_pround(ns, width) * (size_t) k;
    }
    static void fd_packed_ahead(ptrdiff_t ns, ptrdiff_t k, const float* x, ptrdiff_t ss,
                                ptrdiff_t st, float* dst, int width, int part, int parts) {
        /* part `part` of `parts`: the micro-panels s0 .. s1 - 1 of every k panel */
        ptrdiff_t pad = fd_pround(ns, width), p0, s;
        ptrdiff_t s0 = pad / width * part / parts * width;
        ptrdiff_t s1 = pad / width * (part + 1) / parts * width;
        for (p0 = 0; p0 < k; p0 += FD_PKC) {
            ptrdiff_t kc = fd_pmin(k - p0, FD_PKC);
            for (s = s0; s < s1; s += width)
                fd_ppack(fd_pmin(ns - s, width), kc, x + s * ss + p0 * st, ss, st,
                         dst + p0 * pad + s * kc, width);
        }
    }

    /* C (m, n; row stride ldc) := op(A) @ op(B), op(A)'s (i, p) at a[i * sam + p * sak],
       op(B)'s (p, j) at b[p * sbk + j * sbn].
       `apre`/`bpre`: op(A)/op(B) packed ahead by fd_packed_ahead (or NULL: packed here).
       `work` holds fd_packed_work(m, n, k) floats: the caller's, one per thread (a
       buffer allocated per call costs page faults when threads trim their heaps). */
    static void fd_sgemm_packed(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* a,
                                ptrdiff_t sam, ptrdiff_t sak, const float* b, ptrdiff_t sbk,
                                ptrdiff_t sbn, float* c, ptrdiff_t ldc, const float* apre,
                                const float* bpre, float* work) {
        ptrdiff_t mpad = fd_pround(m, FD_PMR), npad = fd_pround(n, FD_PNR);
        const float *apan, *bpan;
        ptrdiff_t i0, j0, p0, i, j, r;
        float tile[FD_PMR * FD_PNR];
        float *bp, *ap;
        if (m <= 0 || n <= 0)
            return;
        if (k <= 0) {  /* an empty sum */
            for (i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t) n * sizeof(float));
            return;
        }
        /* fd_packed_work's layout: the B panel from a cache line's start, then the A block */
        bp = (float*) (((size_t) work + 63) & ~(size_t) 63);
        ap = bp + fd_pround(fd_pmin(n, FD_PNC), FD_PNR) * fd_pmin(k, FD_PKC);
        memset(tile, 0, sizeof tile);
        for (j0 = 0; j0 < n; j0 += FD_PNC) {
            ptrdiff_t nc = fd_pmin(n - j0, FD_PNC);
            for (p0 = 0; p0 < k; p0 += FD_PKC) {
                ptrdiff_t kc = fd_pmin(k - p0, FD_PKC);
                int load = p0 > 0;  /* a later k panel goes on from C's partial sums */
                bpan = bpre ? bpre + p0 * npad + j0 * kc : bp;
                if (!bpre)
                    for (j = 0; j < nc; j += FD_PNR)
                        fd_ppack(fd_pmin(nc - j, FD_PNR), kc,
                                 b + p0 * sbk + (j0 + j) * sbn, sbn, sbk, bp + j * kc, FD_PNR);
                for (i0 = 0; i0 < m; i0 += FD_PMC) {
                    ptrdiff_t mc = fd_pmin(m - i0, FD_PMC);
                    apan = apre ? apre + p0 * mpad + i0 * kc : ap;
                    if (!apre)
                        for (i = 0; i < mc; i += FD_PMR)
                            fd_ppack(fd_pmin(mc - i, FD_PMR), kc,
                                     a + (i0 + i) * sam + p0 * sak, sam, sak, ap + i * kc,
                                     FD_PMR);
                    for (j = 0; j < nc; j += FD_PNR) {
                        ptrdiff_t w = fd_pmin(nc - j, FD_PNR);
                        for (i = 0; i < mc; i += FD_PMR) {
                            ptrdiff_t h = fd_pmin(mc - i, FD_PMR);
                            float* cij = c + (i0 + i) * ldc + j0 + j;
                            if (h == FD_PMR && w == FD_PNR) {
                                fd_ptile(kc, apan + i * kc, bpan + j * kc, cij, ldc, load);
                                continue;
                            }
                            if (load)
                                for (r = 0; r < h; r++)
                                    memcpy(tile + r * FD_PNR, cij + r * ldc,
                                           (size_t) w * sizeof(float));
                            fd_ptile(kc, apan + i * kc, bpan + j * kc, tile, FD_PNR, load);
                            for (r = 0; r < h; r++)
                                memcpy(cij + r * ldc, tile + r * FD_PNR,
                                       (size_t) w * sizeof(float));
                        }
                    }
                }
            }
        }
    }
    #else
    /* No vector extensions (MSVC): the same sums, one element at a time. */
    #define FD_PMR 1
    #define FD_PNR 1
    static size_t fd_packed_work(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k) {
        (void) m; (void) n; (void) k;
        return 1;
    }
    static size_t fd_packed_ahead_size(ptrdiff_t ns, ptrdiff_t k, int width) {
        (void) ns; (void) k; (void) width;
        return 1;
    }
    static void fd_packed_ahead(ptrdiff_t ns, ptrdiff_t k, const float* x, ptrdiff_t ss,
                                ptrdiff_t st, float* dst, int width, int part, int parts) {
        (void) ns; (void) k; (void) x; (void) ss; (void) st; (void) dst; (void) width;
        (void) part; (void) parts;
    }
    static void fd_sgemm_packed(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float* a,
                                ptrdiff_t sam, ptrdiff_t sak, const float* b, ptrdiff_t sbk,
                                ptrdiff_t sbn, float* c, ptrdiff_t ldc, const float* apre,
                                const float* bpre, float* work) {
        ptrdiff_t i, j, p;
        (void) apre; (void) bpre; (void) work;
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++) {
                float s = 0.0f;
                for (p = 0; p < k; p++) s += a[i * sam + p * sak] * b[p * sbk + j * sbn];
                c[i * ldc + j] = s;
            }
    }
    #endif
    """
    int MR "FD_PMR"
    int NR "FD_PNR"
    size_t packed_work "fd_packed_work"(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil
    size_t packed_ahead_size "fd_packed_ahead_size"(Py_ssize_t ns, Py_ssize_t k,
                                                    int width) noexcept nogil
    void packed_ahead "fd_packed_ahead"(Py_ssize_t ns, Py_ssize_t k, const float* x,
                                        Py_ssize_t ss, Py_ssize_t st, float* dst,
                                        int width, int part, int parts) noexcept nogil
    void sgemm_packed "fd_sgemm_packed"(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                                        const float* a, Py_ssize_t sam, Py_ssize_t sak,
                                        const float* b, Py_ssize_t sbk, Py_ssize_t sbn,
                                        float* c, Py_ssize_t ldc, const float* apre,
                                        const float* bpre, float* work) noexcept nogil


cdef inline size_t shared_size(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """The floats of the operand that every block of a split product uses whole (op(B)
    when C is split by rows, m >= n; op(A) by columns), packed ahead."""
    return packed_ahead_size(n, k, NR) if m >= n else packed_ahead_size(m, k, MR)


cdef inline void pack_shared(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
                             Py_ssize_t k, const float* a, Py_ssize_t lda, const float* b,
                             Py_ssize_t ldb, float* dst, int part, int parts) noexcept nogil:
    """Pack part `part` of `parts` (its micro-panels) of the operand the blocks share
    (shared_size floats at dst): once per product, the parts shared by a team."""
    if m >= n:
        packed_ahead(n, k, b, ldb if trans_b else 1, 1 if trans_b else ldb, dst, NR, part,
                     parts)
    else:
        packed_ahead(m, k, a, 1 if trans_a else lda, lda if trans_a else 1, dst, MR, part,
                     parts)


cdef inline void packed_gemm_block(int i, int blocks, bint trans_a, bint trans_b,
                                   Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float* a,
                                   Py_ssize_t lda, const float* b, Py_ssize_t ldb, float* c,
                                   Py_ssize_t ldc, const float* shared,
                                   float* work) noexcept nogil:
    """Block i of `blocks` (blas.block_rect) of row-major C (m, n) := op(A) @ op(B),
    in sgemm_packed.

    The stored arrays are row-major with row lengths lda, ldb, ldc; op(A)'s row r
    is A's row r (or column r if trans_a), op(B)'s column j is B's column j (or
    row j if trans_b). `shared`: the operand every block uses whole, packed
    ahead by pack_shared (or NULL: each block packs it). `work`: the calling
    thread's packed_work(m, n, k) floats (enough for any block of the product).
    """
    cdef Py_ssize_t r0, r1, c0, c1
    blas.block_rect(i, blocks, m, n, &r0, &r1, &c0, &c1)
    sgemm_packed(r1 - r0, c1 - c0, k, a + (r0 if trans_a else r0 * lda),
                 1 if trans_a else lda, lda if trans_a else 1,
                 b + (c0 * ldb if trans_b else c0), 1 if trans_b else ldb,
                 ldb if trans_b else 1, c + r0 * ldc + c0, ldc, shared if m < n else NULL,
                 shared if m >= n else NULL, work)
