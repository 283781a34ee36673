# Inverted dropout's masks, from a counter-based generator:
#   mask = 0 (probability p) or 1 / (1 - p);  out = a * mask
# (PyTorch's ``input * (bernoulli(1 - p) / (1 - p))``).
#
# One SplitMix64 draw per layer and minibatch (`draw`) gives a key and a base;
# the uniform of the value at flat index k of the layer's (m, n) block is
# mix32(key ^ (base + k) * golden). Counter-based: no dependency from one value
# to the next, so a loop over values vectorizes, and any span of the block
# (a row, a block of columns, a thread's share) gets the same masks as one
# pass over the whole block. A value is kept when its uniform is >= p * 2**32.
#
# `cdef inline ... noexcept nogil` over raw, C-contiguous, row-major buffers,
# so every compiled module can cimport it and the compiler can inline it into
# its loops. Callers have checked shapes and sizes; nothing here allocates,
# raises or touches Python objects.

from cython cimport floating


ctypedef struct Draw:
    # One layer's draw for one minibatch.
    unsigned int key
    unsigned int base
    unsigned int threshold       # p * 2**32: a value is dropped below it
    double p                     # the dropout probability, in (0, 1)


cdef inline unsigned long long splitmix64(unsigned long long* state) noexcept nogil:
    """The next output of SplitMix64 (Steele, Lea, Flood 2014): a 64-bit counter
    advanced by the golden-ratio increment, then mixed. Its whole state is one
    integer, so it runs inside the nogil epoch with no global state."""
    cdef unsigned long long z
    state[0] += 0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline unsigned int mix32(unsigned int h) noexcept nogil:
    """MurmurHash3's 32-bit finalizer: every input bit flips each output bit with
    probability ~1/2. 32-bit multiplies, so a loop of them vectorizes (AVX2)."""
    h ^= h >> 16
    h *= 0x85EBCA6BU
    h ^= h >> 13
    h *= 0xC2B2AE35U
    h ^= h >> 16
    return h


cdef inline Draw draw(double p, unsigned long long* rng) noexcept nogil:
    """A layer's key, base and threshold for one minibatch (one SplitMix64 step)."""
    cdef Draw d
    cdef unsigned long long r = splitmix64(rng)
    d.key = <unsigned int> (r >> 32)
    d.base = <unsigned int> r
    d.threshold = <unsigned int> (p * 4294967296.0)  # p < 1: fits
    d.p = p
    return d


cdef inline floating multiplier(Draw d, unsigned int k, floating scale) noexcept nogil:
    """The mask of the value at flat index k - d.base (k: the counter, base already
    added): 0 or scale = 1 / (1 - p)."""
    return scale if mix32(d.key ^ (k * 0x9E3779B9U)) >= d.threshold else <floating> 0


cdef inline void dropout_span(Py_ssize_t n, Py_ssize_t start, const floating* a,
                              floating* mask, floating* out, Draw d) noexcept nogil:
    """The n values at flat indices start .. start + n - 1 of a layer's block:
    mask[j] := 0 or 1 / (1 - p), out[j] := a[j] * mask[j] (a, mask, out point
    at index `start`)."""
    cdef Py_ssize_t j
    cdef unsigned int base = d.base + <unsigned int> start  # the counter wraps mod 2**32
    cdef floating scale = <floating> 1 / <floating> (1 - d.p), g
    for j in range(n):
        g = multiplier(d, base + <unsigned int> j, scale)
        mask[j] = g
        out[j] = a[j] * g
