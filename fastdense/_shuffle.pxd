# The epoch's shuffle, scikit-learn's ``shuffle(sample_idx, random_state)``,
# which is NumPy's legacy ``RandomState.shuffle``: the same permutation and the
# same generator state afterwards (tests/test_shuffle.py checks both against
# NumPy), run on the RandomState's own MT19937 state, in place.
#
# NumPy's legacy shuffle, for i = n-1 down to 1, draws j = random_interval(i)
# and swaps x[i] and x[j]. random_interval(i) takes 32-bit outputs (64-bit,
# two 32-bit outputs high word first, when i >= 2**32) masked to the smallest
# all-ones number >= i, and rejects those above i. NumPy makes each draw
# through its bit generator's function pointer; here the twist and the
# tempering are inlined into the loop, which is most of what a small fit's
# epoch spends outside the network (docs/performance.md).
#
# `cdef inline ... noexcept nogil`; the caller has proven that the state is an
# MT19937 state laid out as NumPy's (_train.mt19937_of) and that x is writable.

from libc.stdint cimport uint32_t, uint64_t


cdef enum:
    MT_N = 624   # the state's words
    MT_M = 397   # the twist's offset


ctypedef struct MTState:
    # NumPy's mt19937_state (numpy/random/src/mt19937/mt19937.h): the key and the
    # index of the next word to temper (MT_N: the key must be twisted first).
    uint32_t key[MT_N]
    int pos


cdef inline uint32_t twisted(uint32_t upper, uint32_t lower, uint32_t far) noexcept nogil:
    """One word of the twist: far ^ (y >> 1) ^ (0x9908b0df if y is odd), where y
    joins the top bit of `upper` and the low 31 bits of `lower`."""
    cdef uint32_t y = (upper & 0x80000000U) | (lower & 0x7fffffffU)
    return far ^ (y >> 1) ^ (0x9908b0dfU if (y & 1U) else 0U)


cdef inline void twist(MTState* s) noexcept nogil:
    """The next 624 words of the key, in place (Matsumoto and Nishimura 1998)."""
    cdef int i
    for i in range(MT_N - MT_M):
        s.key[i] = twisted(s.key[i], s.key[i + 1], s.key[i + MT_M])
    for i in range(MT_N - MT_M, MT_N - 1):
        s.key[i] = twisted(s.key[i], s.key[i + 1], s.key[i + MT_M - MT_N])
    s.key[MT_N - 1] = twisted(s.key[MT_N - 1], s.key[0], s.key[MT_M - 1])
    s.pos = 0


cdef inline uint32_t tempered(uint32_t y) noexcept nogil:
    """MT19937's output function on one key word."""
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c5680U
    y ^= (y << 15) & 0xefc60000U
    return y ^ (y >> 18)


cdef inline uint32_t next32(MTState* s) noexcept nogil:
    """The generator's next 32-bit output: the next key word, tempered."""
    cdef uint32_t y
    if s.pos >= MT_N:
        twist(s)
    y = s.key[s.pos]
    s.pos += 1
    return tempered(y)


cdef inline uint64_t next64(MTState* s) noexcept nogil:
    """Two 32-bit outputs as one 64-bit one, the first in the high word (NumPy's order)."""
    cdef uint64_t high = next32(s)
    return (high << 32) | next32(s)


cdef inline uint64_t ones_to_top(uint64_t most) noexcept nogil:
    """The smallest all-ones number >= most: random_interval's mask for [0, most]."""
    most |= most >> 1
    most |= most >> 2
    most |= most >> 4
    most |= most >> 8
    most |= most >> 16
    return most | (most >> 32)


cdef inline void swap(Py_ssize_t* x, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    cdef Py_ssize_t t = x[i]
    x[i] = x[j]
    x[j] = t


cdef inline uint64_t interval(MTState* s, uint64_t most) noexcept nogil:
    """A uniform integer in [0, most] (most > 0), drawn as NumPy's random_interval."""
    cdef uint64_t mask = ones_to_top(most), value
    if most <= 0xffffffffU:
        value = next32(s) & mask
        while value > most:
            value = next32(s) & mask
        return value
    value = next64(s) & mask
    while value > most:
        value = next64(s) & mask
    return value


cdef inline void temper_from(MTState* s, int p, uint32_t* out) noexcept nogil:
    """out[k] := the output of key word k, for k = p .. MT_N - 1 (a loop that vectorizes)."""
    cdef int k
    for k in range(p, MT_N):
        out[k] = tempered(s.key[k])


cdef enum:
    CHUNK = 1024  # draws accepted, then swaps made, per round of the shuffle


cdef inline void shuffle(Py_ssize_t n, Py_ssize_t* x, MTState* s) noexcept nogil:
    """x[:n] shuffled in place as NumPy's legacy RandomState.shuffle(x) does.

    Below 2**32 every draw is one 32-bit output. The outputs are tempered a
    key's worth at a time; then, in rounds of CHUNK positions, one loop takes
    each output as the candidate for the current position i, masked to i's
    bit length (which changes only at powers of two), and keeps it, moving to
    i - 1, if it is <= i; a second loop makes the swaps. That is NumPy's
    sequence of draws and swaps, without its mispredicted rejection branch
    and without a chain through memory from one draw to the next.
    """
    cdef Py_ssize_t i = n - 1, stop, k
    cdef uint32_t out[MT_N]
    cdef uint32_t picks[CHUNK]
    cdef uint32_t v, mask, top, low
    cdef int p, got
    cdef bint accepted
    while i > <Py_ssize_t> 0xffffffffU:  # 64-bit draws: NumPy's random_interval as it is
        swap(x, i, <Py_ssize_t> interval(s, <uint64_t> i))
        i -= 1
    if i <= 0:
        return
    p = s.pos  # at MT_N, the first draw below twists the key
    if p < MT_N:
        temper_from(s, p, out)
    while i > 0:
        stop = i - CHUNK if i > CHUNK else 0
        top = <uint32_t> i  # the position the next pick is for
        got = 0
        while top > stop:
            # top's bit length, and so the mask, stay the same down to `low`
            mask = <uint32_t> ones_to_top(top)
            low = (mask >> 1) + 1
            if low <= stop:
                low = <uint32_t> stop + 1
            # the only chain from one draw to the next is top's compare and subtract
            while top >= low:
                if p == MT_N:
                    twist(s)
                    p = 0
                    temper_from(s, 0, out)
                v = out[p] & mask
                p += 1
                picks[got] = v
                accepted = v <= top
                got += accepted
                top -= accepted
        for k in range(got):
            swap(x, i - k, picks[k])
        i = stop
    s.pos = p
