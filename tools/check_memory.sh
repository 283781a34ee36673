#!/usr/bin/env bash
# Memory-safety run for the compiled kernels.
#
#   tools/check_memory.sh [--no-valgrind] [PYTEST_ARGS...]
#
# 1. Copies the source tree to a temporary folder and builds the extensions
#    there with FASTDENSE_DEBUG=1: Cython bounds checking, wraparound and
#    initialisation checks on, -O0 -g.
# 2. Runs the kernel tests, and the tests that drive the compiled training
#    loops (fastdense/_train.pyx: the estimator tests and the fuzzing of the
#    estimator and of fastdense.nn), against that build (an out-of-bounds
#    memoryview index then raises IndexError instead of reading past a buffer).
# 3. Unless --no-valgrind: runs the kernel tests, the estimator fuzzing and the door
#    fuzzing (FUZZ_EXAMPLES cases per test, default 300, randomised; forked children)
#    under valgrind memcheck with PYTHONMALLOC=malloc and fails if valgrind
#    reports any invalid read or write, or any use of uninitialised values,
#    in fastdense's code.
#
# PYTEST_ARGS replace the default test selection of both steps.
#
# CI (from a clean clone, with the test requirements and Cython installed):
#   PYTHON=python tools/check_memory.sh --no-valgrind
#
# Needs: the Python environment that has fastdense's build and test
# requirements (numpy, scipy, Cython, pytest, hypothesis); valgrind for step 3.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
VALGRIND=1
if [[ "${1:-}" == "--no-valgrind" ]]; then VALGRIND=0; shift; fi
TESTS=("$@")
VALGRIND_TESTS=("$@")
if [[ ${#TESTS[@]} -eq 0 ]]; then
    TESTS=(tests/test_kernels.py tests/test_kernels_hypothesis.py tests/test_estimator.py
           tests/test_estimator_hypothesis.py tests/test_nn_hypothesis.py
           tests/test_large_sizes.py tests/test_numerics.py tests/test_doors.py
           tests/test_fuzz_doors.py)
    VALGRIND_TESTS=(tests/test_kernels.py tests/test_kernels_hypothesis.py
                    tests/test_estimator_hypothesis.py tests/test_fuzz_doors.py)
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r "$SRC/fastdense" "$SRC/tests" "$SRC/setup.py" "$SRC/pyproject.toml" "$WORK/"
find "$WORK/fastdense" \( -name '*.so' -o -name '*.c' \) -delete
cd "$WORK"
echo "== building with bounds checking (FASTDENSE_DEBUG=1) in $WORK"
FASTDENSE_DEBUG=1 "$PYTHON" setup.py -q build_ext --inplace >build.log 2>&1 || { cat build.log; exit 1; }

echo "== kernel, estimator and nn tests against the bounds-checked build"
"$PYTHON" -m pytest -q -p no:cacheprovider "${TESTS[@]}"

if [[ $VALGRIND -eq 1 ]]; then
    command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)"; exit 1; }
    echo "== the same tests under valgrind memcheck (slow)"
    # Without the hypothesis examples' volume and the GIL timing test, which
    # needs real time: valgrind serialises threads.
    # the door fuzzing's long run: FUZZ_EXAMPLES cases per fuzz test, each in a forked
    # child that valgrind follows (one log per process: valgrind.PID.log)
    FASTDENSE_FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-300}" FASTDENSE_FUZZ_RANDOM=1 \
    PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=0 \
        --log-file=valgrind.%p.log --track-origins=no \
        "$PYTHON" -m pytest -q -p no:cacheprovider -x "${VALGRIND_TESTS[@]}" \
        -k "not release_the_gil" --hypothesis-profile=valgrind 2>&1 | tail -3 || true
    cat valgrind.*.log > valgrind.log
    echo "valgrind: $(ls valgrind.*.log | wc -l) processes checked (the forked fuzz cases included)"
    invalid=$(grep -cE "Invalid (read|write)|uninitialised value|Conditional jump or move depends on uninitialised" valgrind.log || true)
    # Only errors whose stack touches fastdense's own code count as ours;
    # CPython and OpenBLAS have known benign reports of their own.
    ours=$(grep -A12 -E "Invalid (read|write)|uninitialised" valgrind.log | grep -c "fastdense" || true)
    echo "valgrind: $(grep 'ERROR SUMMARY' valgrind.log | tail -1)"
    echo "valgrind: invalid reads/writes or uninitialised uses anywhere: $invalid; in fastdense's code: $ours"
    if [[ "$ours" -ne 0 ]]; then
        grep -B2 -A20 -E "Invalid (read|write)|uninitialised" valgrind.log | head -120
        exit 1
    fi
fi
echo "== memory check passed"
