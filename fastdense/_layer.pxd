# One dense layer, forward and backward (rows are examples; see DESIGN.md):
#   Z = A_prev @ W.T + b,  A = g(Z)                        forward
#   dZ = dA * g'(A),  db = sum_rows dZ                     backward prologue
#   dW = dZ.T @ A_prev,  dA_prev = dZ @ W                  backward products
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes; nothing here allocates,
# raises or touches Python objects.

from cython cimport floating

from fastdense._activations cimport bias_activation, delta_and_bias_grad
from fastdense._blas cimport gemm


cdef inline void dense_forward(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out,
                               const floating* a_prev, const floating* w,
                               const floating* bias, floating* out, int activation,
                               floating slope) noexcept nogil:
    """out (m, n_out) := g(A_prev @ W.T + b); W is (n_out, n_in) as nn.Linear.weight."""
    gemm(False, True, <int> m, <int> n_out, <int> n_in, <floating> 1, a_prev,
         <int> n_in, w, <int> n_in, <floating> 0, out, <int> n_out)
    bias_activation(m, n_out, out, bias, activation, slope)


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
