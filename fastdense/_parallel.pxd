# Our own threads inside a call: the team, the split policy, fork safety.
#
# fastdense splits a large product (and a long element-wise pass) into BLOCKS
# whose number and boundaries depend only on the sizes, never on the number
# of threads: one thread runs every block in turn, N threads share them, and
# each block is the same BLAS call (or the same loop) either way. So a result
# has the same bits for 1, 2 or N threads. (Splitting a product into one
# block per thread would not: OpenBLAS's kernels sum an element in an order
# that depends on where the element falls in its tiling, which moves with the
# block edges.) BLAS itself runs at one thread meanwhile (fastdense._threadpool
# holds it there around the calls that split).
#
# The team is a per-thread value set by the entry points (`set_team`) for the
# duration of one call: 1 unless the entry point asked for more, so a kernel
# called from anywhere else runs on its caller's thread alone. Below the grain
# (GRAIN_MACS multiply-adds or GRAIN_ELEMENTS elements per block) there is
# one block, no parallel region and no synchronisation.
#
# Two ways to share the blocks. A single kernel (fastdense._kernels, the nn
# path) opens a region (prange) around each split product or pass. The
# training and prediction loops (_train.pyx) open ONE region per minibatch
# (or predicted chunk) where one of its products splits, and run it in
# phases separated by barriers (Team, sync, block_share, share_edge below).
#
# Fork: GNU libgomp's thread pool does not survive fork() (a child that
# starts a parallel region after its parent has used one waits forever for
# the parent's threads). A child of a fork runs every call on one thread:
# the same blocks, so the same bits.
#
# Without OpenMP (a compiler without it, e.g. Apple's clang without libomp)
# the prange loops are plain loops and a region has one thread: the same blocks.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FD_OPENMP 1
    static int fd_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    #define FD_OPENMP 0
    static int fd_omp_max_threads(void) { return 1; }
    #endif
    #if defined(_MSC_VER)
    #define FD_THREAD_LOCAL __declspec(thread)
    #else
    #define FD_THREAD_LOCAL __thread
    #endif
    #ifndef _WIN32
    #include <pthread.h>
    #endif

    /* The calling thread's team size (1 outside the entry points that set it). */
    static FD_THREAD_LOCAL int fd_team = 1;
    static int fd_get_team(void) { return fd_team; }
    static void fd_set_team(int n) { fd_team = n < 1 ? 1 : n; }

    /* Set in a child of fork(): OpenMP's pool is not usable there. */
    static volatile int fd_forked = 0;
    #ifndef _WIN32
    static void fd_on_fork_child(void) { fd_forked = 1; }
    static void fd_parallel_init(void) { pthread_atfork(NULL, NULL, fd_on_fork_child); }
    #else
    static void fd_parallel_init(void) { }
    #endif

    /* Threads an entry point may use: OpenMP's nthreads-var of the calling thread
       (OMP_NUM_THREADS, omp_set_num_threads (threadpoolctl's OpenMP limit), else the
       CPUs of the process's affinity mask), 1 without OpenMP or in a forked child. */
    static int fd_available_threads(void) {
        int n;
        if (!FD_OPENMP || fd_forked) return 1;
        n = fd_omp_max_threads();
        return n < 1 ? 1 : n;
    }
    """
    bint OPENMP "FD_OPENMP"
    int get_team "fd_get_team"() noexcept nogil
    void set_team "fd_set_team"(int n) noexcept nogil
    void parallel_init "fd_parallel_init"() noexcept nogil
    int available_threads "fd_available_threads"() noexcept nogil


cdef enum:
    # Least multiply-adds per block of a split product: below it one BLAS call
    # on one thread costs less than a parallel region's fork and join.
    GRAIN_MACS = 1 << 20
    # Least elements per block of a split element-wise pass.
    GRAIN_ELEMENTS = 1 << 15
    # Least rows (or columns) per block: each block of a product packs the
    # operand it shares with the others again, so blocks stay few and wide.
    MIN_EXTENT = 64
    # Most blocks of one product or pass.
    MAX_BLOCKS = 8


cdef inline int product_blocks(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """How many blocks a product C (m, n) = op(A) (m, k) @ op(B) (k, n) is split into,
    along C's longer side: a function of the sizes only (so are the bits). A power
    of two, so that teams of 2, 4 or 8 threads share the blocks evenly."""
    cdef Py_ssize_t work = m * n * k, p, ext = m if m >= n else n
    cdef int blocks = 1
    p = work // GRAIN_MACS
    if p > ext // MIN_EXTENT:
        p = ext // MIN_EXTENT
    if p > MAX_BLOCKS:
        p = MAX_BLOCKS
    while blocks * 2 <= p:
        blocks *= 2
    return blocks


cdef inline int pass_blocks(Py_ssize_t n) noexcept nogil:
    """How many blocks an element-wise pass over n independent elements is split into."""
    cdef Py_ssize_t p = n // GRAIN_ELEMENTS
    if p > MAX_BLOCKS:
        p = MAX_BLOCKS
    return <int> (p if p > 1 else 1)


cdef inline int team_for(int blocks) noexcept nogil:
    """Threads to run `blocks` blocks on: the caller's team, at most one per block."""
    cdef int t = get_team()
    return t if t < blocks else blocks


cdef inline Py_ssize_t block_start(Py_ssize_t extent, int blocks, Py_ssize_t i) noexcept nogil:
    """Where block i of `blocks` even blocks of 0 .. extent - 1 starts."""
    return extent * i // blocks


cdef enum:
    # A call whose largest product has more than this many multiply-adds holds
    # BLAS at one thread and runs on the caller's team. OpenBLAS runs a gemm of
    # at most 4 * 65536 multiply-adds on one thread itself (interface/gemm.c's
    # SMP threshold), so up to here nothing is split and nothing is held.
    HOLD_MACS = 1 << 18


cdef inline int enter(Py_ssize_t macs, object pool) except -1:
    """Begin an entry point's call whose largest product has `macs` multiply-adds.

    Above HOLD_MACS: scipy's BLAS held at one thread (`pool` is
    fastdense._threadpool) and the calling thread's team set to the threads
    available (available_threads). Returns the token for `leave` (0: nothing done).
    """
    cdef int old = get_team()
    if macs <= HOLD_MACS:
        return 0
    pool.hold()
    set_team(available_threads())
    return old


cdef inline int leave(int token, object pool) except -1:
    """End what `enter` began (token 0: nothing to end)."""
    if token > 0:
        set_team(token)
        pool.release()
    return 0


# ------------------------------------------------------------ one region, many phases
# A minibatch of the epoch loop runs as ONE parallel region: every thread of
# the team runs the whole minibatch function, each doing its share of every
# split step (its blocks of a product, its rows or columns of a pass, its
# elements of the optimizer step) and all meeting at a barrier (`sync`) where
# a step reads what another thread wrote. Steps that stay whole (the loss,
# a product of one block) run on the thread whose turn it is while the
# others go on to their share of the next step of the same phase, instead of
# a fork and a join per product and the other threads idle in between. The
# shares decide only who computes a block or an element, never how: a product
# keeps its blocks (product_blocks), a pass's element its operations, a bias
# gradient its sum over the rows in order; so the bits are those of one thread.

cdef extern from *:
    """
    #ifdef _OPENMP
    static int fd_thread_num(void) { return omp_get_thread_num(); }
    static int fd_num_threads(void) { return omp_get_num_threads(); }
    #else
    static int fd_thread_num(void) { return 0; }
    static int fd_num_threads(void) { return 1; }
    #endif

    /* The team's barrier: a counter and a sense that flips at each barrier, zeroed by
       the thread that opens the region; each thread keeps the sense it waits for.
       A waiting thread spins (FD_SPINS pauses, ~0.1 ms) and then yields the core at
       each look: it never sleeps in the kernel, so no barrier pays a futex wake-up,
       whatever wait policy the OpenMP runtime was started with (PyTorch starts
       libgomp, which it ships, without fastdense's brief spin; libgomp's own
       barrier then sleeps and costs a wake-up at each of a minibatch's barriers). */
    typedef struct { int count; int sense; } fd_bar_t;
    static FD_THREAD_LOCAL int fd_sense = 0;
    static void fd_bar_enter(void) { fd_sense = 0; }
    #if defined(_OPENMP) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
    #include <sched.h>
    #define FD_SPINS 4000
    static inline void fd_pause(void) {
    #if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
    #elif defined(__aarch64__)
        __asm__ __volatile__("yield");
    #endif
    }
    static void fd_bar_wait(fd_bar_t* b, int n) {
        int s = !fd_sense;
        long spins = 0;
        fd_sense = s;
        if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == n) {
            __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&b->sense, s, __ATOMIC_RELEASE);
            return;
        }
        while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != s) {
            if (spins < FD_SPINS) { spins++; fd_pause(); }
            else sched_yield();
        }
    }
    #else
    static void fd_bar_wait(fd_bar_t* b, int n) {
        (void) b; (void) n;
    #ifdef _OPENMP
        #pragma omp barrier
    #endif
    }
    #endif
    """
    ctypedef struct Barrier "fd_bar_t":
        int count
        int sense
    int thread_num "fd_thread_num"() noexcept nogil
    int num_threads "fd_num_threads"() noexcept nogil
    void barrier_enter "fd_bar_enter"() noexcept nogil
    void barrier_wait "fd_bar_wait"(Barrier* b, int n) noexcept nogil


ctypedef struct Team:
    int id    # this thread's number in the region, 0 .. size - 1 (0: the caller)
    int size  # the threads of the region (1: no region, no barrier)
    Barrier* barrier  # the region's barrier (zeroed by its opener; NULL alone)


cdef inline Team team_here(Barrier* barrier) noexcept nogil:
    """The calling thread's place in the parallel region it runs in (call it first
    thing inside `with parallel(...)`: the region may have fewer threads than asked).
    `barrier` is the region's, zeroed before the region by the thread that opens it."""
    cdef Team t
    t.id = thread_num()
    t.size = num_threads()
    t.barrier = barrier
    barrier_enter()
    return t


cdef inline Team solo() noexcept nogil:
    """A team of the caller alone, for a call made outside any region of ours."""
    cdef Team t
    t.id = 0
    t.size = 1
    t.barrier = NULL
    return t


cdef inline void sync(Team t) noexcept nogil:
    """Every thread of the team waits here for the others (nothing for one thread)."""
    if t.size > 1:
        barrier_wait(t.barrier, t.size)


cdef inline Py_ssize_t share_edge(Team t, Py_ssize_t n, Py_ssize_t align, int i) noexcept nogil:
    """Where share i of 0 .. n - 1 starts, i in 0 .. t.size: near-equal shares
    whose inner edges are multiples of `align` (a cache line of values)."""
    cdef Py_ssize_t e
    if i >= t.size:
        return n
    e = n * i // t.size
    e -= e % align
    return e


cdef inline bint owns(Team t, int turn) noexcept nogil:
    """Whether a step that stays whole, the `turn`-th of its phase, is this thread's."""
    return turn % t.size == t.id


cdef inline void block_share(Team t, int turn, int blocks, int* lo, int* hi) noexcept nogil:
    """This thread's blocks lo .. hi - 1 of a step of `blocks` blocks: one block goes
    to the thread whose turn it is (owns); several are dealt in contiguous runs, so
    that the rows (or columns) a thread writes in one product are those it reads in
    the next and those of its share of a pass (share_edge): they stay in its cache."""
    if blocks <= 1:
        lo[0] = 0
        hi[0] = 1 if owns(t, turn) else 0
        return
    lo[0] = <int> (<Py_ssize_t> blocks * t.id // t.size)
    hi[0] = <int> (<Py_ssize_t> blocks * (t.id + 1) // t.size)


# ------------------------------------------------------------------ the team tuner
# A fit's minibatches are many and alike, so the epoch loop can measure what
# the threads give. Two choices compete: the team `enter` gave and one thread.
# The tuner times PROBE_BATCHES full minibatches on the current winner (at
# first the team), then up to as many on the other choice, which it stops
# timing as soon as its minibatches take a quarter longer than the winner's
# on average (so a probe of a much slower choice costs one minibatch), and
# runs the faster one for a settled stretch before it measures again. The
# stretch doubles (to SETTLE_MOST) each time the winner holds and starts again
# at SETTLE_FIRST when it changes. On a quiet machine the team wins where the
# products are large enough; when other processes hold the cores, a team
# waits at every region for whichever of its threads was descheduled, and one
# thread wins. The team never changes the blocks, so it never changes the
# bits: only the time depends on these measurements.

cdef extern from *:
    """
    /* A fine monotonic clock in seconds: the tuner times single minibatches with it,
       and the epoch loop polls for signals with the same readings. */
    #ifdef _WIN32
    #include <windows.h>
    static inline double fd_clock(void) {
        LARGE_INTEGER c, f;
        QueryPerformanceCounter(&c);
        QueryPerformanceFrequency(&f);
        return (double) c.QuadPart / (double) f.QuadPart;
    }
    #else
    #include <time.h>
    static inline double fd_clock(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + 1e-9 * ts.tv_nsec;
    }
    #endif
    """
    double clock "fd_clock"() noexcept nogil


cdef enum:
    PROBE_BATCHES = 6
    SETTLE_FIRST = 48
    SETTLE_MOST = 3072


cdef struct TeamTuner:
    int most  # the team `enter` gave; below 2 the tuner does nothing
    int stage  # 0: timing the winner, 1: timing the other choice, 2: settled
    int count  # full minibatches timed (stages 0, 1) or run (stage 2) in this stage
    int settle  # minibatches of the next settled stretch
    int winner  # `most` or 1
    double spent_winner, spent_other  # seconds over the timed minibatches
    double started


cdef inline int tuner_other(TeamTuner* t) noexcept nogil:
    return t.most if t.winner == 1 else 1


cdef inline void tuner_start(TeamTuner* t) noexcept nogil:
    """Start (or resume, across the epochs of one fit) on the calling thread's team."""
    cdef int most = get_team()
    if most != t.most:  # a first call, or another thread limit: measure afresh
        # settle starts at half: the team holding at the first probe doubles it
        t.most, t.stage, t.count, t.settle, t.winner = most, 0, 0, SETTLE_FIRST // 2, most
        t.spent_winner = t.spent_other = 0
    if t.most > 1:
        set_team(tuner_other(t) if t.stage == 1 else t.winner)


cdef inline void tuner_settle(TeamTuner* t, int winner) noexcept nogil:
    if winner == t.winner:
        t.settle = t.settle * 2 if t.settle * 2 <= SETTLE_MOST else SETTLE_MOST
    else:
        t.settle = SETTLE_FIRST
    t.winner, t.stage, t.count = winner, 2, 0
    set_team(winner)


cdef inline void tuner_before(TeamTuner* t, double now) noexcept nogil:
    """Before a minibatch; `now` is clock() (a parameter so that tests can feed times)."""
    t.started = now


cdef inline void tuner_after(TeamTuner* t, bint full, double now) noexcept nogil:
    """After a minibatch (`now` is clock()); only full minibatches count, a short
    last one is not comparable."""
    if t.most <= 1 or not full:
        return
    t.count += 1
    if t.stage == 2:
        if t.count >= t.settle:
            t.stage, t.count, t.spent_winner, t.spent_other = 0, 0, 0, 0
        return
    if t.stage == 0:
        t.spent_winner += now - t.started
        if t.count >= PROBE_BATCHES:
            t.stage, t.count = 1, 0
            set_team(tuner_other(t))
        return
    t.spent_other += now - t.started
    # lost: it has spent more than the winner did over the whole probe, or its
    # minibatches so far took a quarter longer than the winner's on average
    if (t.spent_other > t.spent_winner
            or t.spent_other * PROBE_BATCHES > 1.25 * t.spent_winner * t.count):
        tuner_settle(t, t.winner)
    elif t.count >= PROBE_BATCHES:
        tuner_settle(t, tuner_other(t))
