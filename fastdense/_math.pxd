# Scalar math in the kernel's precision: the float or double libm call.
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes; nothing here allocates,
# raises or touches Python objects.

from cython cimport floating
from libc.math cimport (exp, expf, log, logf, log1p, log1pf, tanh, tanhf, sqrt, sqrtf,
                        expm1, expm1f, erf, erff)


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


cdef inline floating f_expm1(floating x) noexcept nogil:
    if floating is float:
        return expm1f(x)
    else:
        return expm1(x)


cdef inline floating f_erf(floating x) noexcept nogil:
    if floating is float:
        return erff(x)
    else:
        return erf(x)
