# Activations: g and g' (from the output a = g(z)), the element-wise passes
# around a layer's product (bias + g after the forward GEMM; dZ = dA * g'(A)
# with the bias gradient before the backward GEMMs) and scikit-learn's
# variants of those passes.
#
# The enum is the kernels' half of THE activation registry, fastdense/_activations.py
# (a test checks that the two agree). Most activations take g' from the output a;
# GELU and SiLU are not monotonic, so a does not determine z: their g' is computed
# from z (grad_from_input), which the caller keeps (the *_keep_z / *_from_input passes).
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes; nothing here allocates,
# raises or touches Python objects.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, expf

cimport fastdense._parallel as par

from fastdense._math cimport f_erf, f_exp, f_expm1, f_log1p, f_tanh


cdef enum Activation:
    IDENTITY = 0
    RELU = 1
    TANH = 2
    SIGMOID = 3
    LEAKY_RELU = 4
    GELU = 5       # z * Phi(z), the exact (erf) form: PyTorch's approximate='none'
    SILU = 6       # z * sigmoid(z)
    ELU = 7        # z > 0 ? z : expm1(z)  (alpha = 1)
    SOFTPLUS = 8   # z > 20 ? z : log1p(exp(z))  (PyTorch's beta = 1, threshold = 20)


# the largest code: every code 0..LAST_ACTIVATION is an activation
cdef enum:
    LAST_ACTIVATION = 8

# GELU's constants 1/sqrt(2) and 1/sqrt(2 pi), and softplus's threshold (C macros:
# an assignment in a .pxd would never run)
cdef extern from *:
    """
    #define FASTDENSE_SQRT1_2 0.70710678118654752440
    #define FASTDENSE_INV_SQRT_2PI 0.39894228040143267794
    #define FASTDENSE_SOFTPLUS_THRESHOLD 20.0
    """
    const double SQRT1_2 "FASTDENSE_SQRT1_2"
    const double INV_SQRT_2PI "FASTDENSE_INV_SQRT_2PI"
    const double SOFTPLUS_THRESHOLD "FASTDENSE_SOFTPLUS_THRESHOLD"


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
    elif activation == GELU:  # PyTorch's order: (z * 0.5) * (1 + erf(z / sqrt 2))
        return (z * <floating> 0.5) * (<floating> 1 + f_erf(z * <floating> SQRT1_2))
    elif activation == SILU:  # z / (1 + exp(-z)): -0 where exp(-z) overflows
        return z / (<floating> 1 + f_exp(-z))
    elif activation == ELU:
        return z if z > 0 else f_expm1(z)
    elif activation == SOFTPLUS:
        return z if z > <floating> SOFTPLUS_THRESHOLD else f_log1p(f_exp(z))
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
    elif activation == ELU:  # z <= 0: exp(z) = a + 1
        return da if a > 0 else da * (a + one)
    elif activation == SOFTPLUS:  # sigmoid(z) = 1 - exp(-a), past the threshold 1
        return da if a > <floating> SOFTPLUS_THRESHOLD else da * -f_expm1(-a)
    return da


cdef inline floating gelu_grad(floating da, floating z, floating e) noexcept nogil:
    """da * GELU'(z) given e = erf(z / sqrt 2): Phi(z) + z phi(z) (PyTorch's formula).
    The training forward keeps e, so the backward takes no second erf."""
    cdef floating cdf = <floating> 0.5 * (<floating> 1 + e)
    cdef floating pdf = f_exp(<floating> -0.5 * z * z) * <floating> INV_SQRT_2PI
    return da * (cdf + z * pdf)


cdef inline floating grad_from_input(floating da, floating z, int activation) noexcept nogil:
    """da * g'(z) from the pre-activation z, for GELU and SiLU (PyTorch's formulas).

    gelu: Phi(z) + z phi(z); silu: s (1 + z (1 - s)), s = sigmoid(z). Any other
    activation passes da through (callers send only these two here).
    """
    cdef floating one = 1, s
    if activation == GELU:
        return gelu_grad(da, z, f_erf(z * <floating> SQRT1_2))
    elif activation == SILU:
        s = one / (one + f_exp(-z))
        return da * s * (one + z * (one - s))
    return da


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


# ------------------------------------------------ the passes around a product

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
    elif activation == GELU:
        for j in range(n):
            row[j] = activate(row[j], GELU, slope)
    elif activation == SILU:
        for j in range(n):
            row[j] = activate(row[j], SILU, slope)
    elif activation == ELU:
        for j in range(n):
            row[j] = activate(row[j], ELU, slope)
    elif activation == SOFTPLUS:
        for j in range(n):
            row[j] = activate(row[j], SOFTPLUS, slope)


cdef inline void bias_activation_block(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                                       floating* z, const floating* bias, int activation,
                                       floating slope, bint sklearn) noexcept nogil:
    """In place A = g(Z + b) over m rows of n elements (row stride ld), row by row
    while the row is in L1. bias may be NULL. sklearn: the logistic is scipy's
    expit formula (what scikit-learn computes)."""
    cdef Py_ssize_t i, j
    cdef floating* row
    if sklearn and activation == SIGMOID:
        for i in range(m):
            row = z + i * ld
            if bias == NULL:  # (after a batch norm, which adds its own shift)
                for j in range(n):
                    row[j] = expit(row[j])
            else:
                for j in range(n):
                    row[j] = expit(row[j] + bias[j])
        return
    if activation == RELU and bias != NULL:  # the common case, as one loop
        for i in range(m):
            row = z + i * ld
            for j in range(n):
                row[j] = activate(row[j] + bias[j], RELU, slope)
        return
    for i in range(m):
        row = z + i * ld
        if bias != NULL:
            for j in range(n):
                row[j] = row[j] + bias[j]
        activate_row(n, row, activation, slope)


cdef inline void bias_activation_keep_z(Py_ssize_t m, Py_ssize_t n, floating* z,
                                        const floating* bias, floating* z_out,
                                        floating* erf_out, int activation,
                                        floating slope) noexcept nogil:
    """In place A = g(Z + b), with Z + b also written to z_out (m, n): the saved
    tensor of an activation whose g' needs z (GELU, SiLU). bias may be NULL.
    erf_out (m, n) or NULL: for GELU, erf(z / sqrt 2) kept too (gelu_grad)."""
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating* zr
    cdef floating* er
    cdef floating e
    for i in range(m):
        row = z + i * n
        zr = z_out + i * n
        for j in range(n):
            zr[j] = row[j] + bias[j] if bias != NULL else row[j]
        if activation == GELU and erf_out != NULL:  # activate's GELU, keeping its erf
            er = erf_out + i * n
            for j in range(n):
                e = f_erf(zr[j] * <floating> SQRT1_2)
                er[j] = e
                row[j] = (zr[j] * <floating> 0.5) * (<floating> 1 + e)
            continue
        for j in range(n):
            row[j] = activate(zr[j], activation, slope)


cdef inline void delta_row(Py_ssize_t n, const floating* da, const floating* a,
                           floating* dz, int activation, floating slope) noexcept nogil:
    """dz := da * g'(.) over one row; one branch-free loop per activation.

    `a` is the tensor the derivative reads (the registry's ``derivative``):
    the output g(z), or the pre-activation z for GELU and SiLU.
    """
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
    elif activation == ELU:
        for j in range(n):
            dz[j] = grad_from_output(da[j], a[j], ELU, slope)
    elif activation == SOFTPLUS:
        for j in range(n):
            dz[j] = grad_from_output(da[j], a[j], SOFTPLUS, slope)
    elif activation == GELU or activation == SILU:
        for j in range(n):  # a is the pre-activation z here
            dz[j] = grad_from_input(da[j], a[j], activation)
    elif dz != da:
        for j in range(n):
            dz[j] = da[j]


cdef inline void delta_block(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                             const floating* da, const floating* a, floating* dz,
                             floating* db, int activation, floating slope,
                             bint sklearn, const floating* erfs) noexcept nogil:
    """dZ = dA * g'(A) and db += column sums of dZ over m rows of n elements (row
    stride ld), row by row while the row is in L1. dz may alias da; db may be NULL.
    sklearn: the logistic multiplies in scikit-learn's order, (d * a) * (1 - a).
    erfs: for GELU (a is z), the erf(z / sqrt 2) its forward kept, or NULL."""
    cdef Py_ssize_t i, j
    cdef floating g
    cdef floating* dz_row
    cdef const floating* a_row
    if activation == GELU and erfs != NULL:
        for i in range(m):
            for j in range(n):
                g = gelu_grad(da[i * ld + j], a[i * ld + j], erfs[i * ld + j])
                dz[i * ld + j] = g
                if db != NULL:
                    db[j] += g
        return
    if sklearn and activation == SIGMOID:
        for i in range(m):
            dz_row = dz + i * ld
            a_row = a + i * ld
            for j in range(n):
                g = da[i * ld + j] * a_row[j]
                g = g * (<floating> 1 - a_row[j])
                dz_row[j] = g
                db[j] += g
        return
    if activation == RELU and db != NULL:  # the common case, as one loop
        for i in range(m):
            for j in range(n):
                g = grad_from_output(da[i * ld + j], a[i * ld + j], RELU, slope)
                dz[i * ld + j] = g
                db[j] += g
        return
    for i in range(m):
        dz_row = dz + i * ld
        delta_row(n, da + i * ld, a + i * ld, dz_row, activation, slope)
        if db != NULL:
            for j in range(n):
                db[j] += dz_row[j]


# --------------------------------- the passes, split by columns across threads
# A pass over (m, n) is split into blocks of columns, each block all m rows: an
# element's value does not depend on the split, and the bias gradient db[j]
# is still summed over the rows in order, so the bits are those of one thread.

cdef inline int column_blocks(Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    """Blocks of at least MIN_EXTENT columns, GRAIN_ELEMENTS elements each."""
    cdef int blocks = par.pass_blocks(m * n)
    if blocks > n // par.MIN_EXTENT:
        blocks = <int> (n // par.MIN_EXTENT)
    return blocks if blocks > 1 else 1


cdef inline void forward_pass(Py_ssize_t m, Py_ssize_t n, floating* z,
                              const floating* bias, int activation, floating slope,
                              bint sklearn) noexcept nogil:
    cdef int blocks = column_blocks(m, n), team = par.team_for(blocks), i
    cdef Py_ssize_t lo, hi
    if team <= 1:
        bias_activation_block(m, n, n, z, bias, activation, slope, sklearn)
        return
    for i in prange(blocks, num_threads=team, schedule='dynamic', chunksize=1):
        lo = par.block_start(n, blocks, i)
        hi = par.block_start(n, blocks, i + 1)
        bias_activation_block(m, hi - lo, n, z + lo, bias + lo if bias != NULL else NULL,
                              activation, slope, sklearn)


cdef inline void backward_pass(Py_ssize_t m, Py_ssize_t n, const floating* da,
                               const floating* a, floating* dz, floating* db,
                               int activation, floating slope, bint sklearn,
                               const floating* erfs) noexcept nogil:
    cdef int blocks = column_blocks(m, n), team = par.team_for(blocks), i
    cdef Py_ssize_t lo, hi
    if team <= 1:
        delta_block(m, n, n, da, a, dz, db, activation, slope, sklearn, erfs)
        return
    for i in prange(blocks, num_threads=team, schedule='dynamic', chunksize=1):
        lo = par.block_start(n, blocks, i)
        hi = par.block_start(n, blocks, i + 1)
        delta_block(m, hi - lo, n, da + lo, a + lo, dz + lo, db + lo if db != NULL else NULL,
                    activation, slope, sklearn, erfs + lo if erfs != NULL else NULL)


cdef inline void bias_activation(Py_ssize_t m, Py_ssize_t n, floating* z,
                                 const floating* bias, int activation,
                                 floating slope) noexcept nogil:
    """In place A = g(Z + b). bias may be NULL."""
    forward_pass(m, n, z, bias, activation, slope, False)


cdef inline void delta_and_bias_grad(Py_ssize_t m, Py_ssize_t n, const floating* da,
                                     const floating* a, floating* dz, floating* db,
                                     int activation, floating slope) noexcept nogil:
    """dZ = dA * g'(.) and db += column sums of dZ. dz may alias da; db may be NULL.
    `a` is the output A, or Z for an activation whose g' needs the input (delta_row)."""
    backward_pass(m, n, da, a, dz, db, activation, slope, False, NULL)
