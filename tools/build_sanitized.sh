#!/usr/bin/env bash
# Builds wsfast's C extensions with AddressSanitizer + UndefinedBehaviorSanitizer into a separate venv,
# so the normal in-place .so files in src/wsfast are never touched.
#
#   tools/build_sanitized.sh              # build (or rebuild) the sanitized venv
#   tools/build_sanitized.sh --selftest   # also prove a deliberate out-of-bounds read is caught
#   $VENV/bin/asan-python -m pytest tests # run anything against the sanitized build
#
# With clang (preferred) the extensions are also compiled with -fsanitize=fuzzer-no-link, so that
# atheris sees the C code's coverage (edges and comparisons) and not only the Python code's; the
# runtime is atheris's own asan_with_fuzzer.so (clang's ASan+UBSan runtime with libFuzzer in it).
# Without clang, gcc's libasan is used: sanitizers still work, the fuzzers then see Python coverage
# only. The wrapper $VENV/bin/asan-python sets LD_PRELOAD, ASAN_OPTIONS, UBSAN_OPTIONS and
# PYTHONMALLOC=malloc (so ASan sees every Python allocation, not pymalloc's arenas).
#
# Environment: WSFAST_ASAN_VENV (default /tmp/wsfast-asan-venv), WSFAST_ASAN_CC (clang|gcc, default:
# clang if installed), PYTHON (the interpreter for the venv, default python3),
# WSFAST_ASAN_INSTALL_CLANG=1 (apt-get install clang when missing, as CI does).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${WSFAST_ASAN_VENV:-/tmp/wsfast-asan-venv}
STAGE=${VENV}-build
PYTHON=${PYTHON:-python3}
SELFTEST=0
for arg in "$@"; do
    case $arg in
        --selftest) SELFTEST=1 ;;
        *) echo "usage: $0 [--selftest]" >&2; exit 2 ;;
    esac
done

if ! command -v clang >/dev/null && [ "${WSFAST_ASAN_INSTALL_CLANG:-0}" = 1 ]; then
    echo "installing clang (for coverage-guided fuzzing of the C code)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang) >/dev/null 2>&1 ||
        echo "could not install clang; falling back to gcc"
fi
CC_KIND=${WSFAST_ASAN_CC:-$(command -v clang >/dev/null && echo clang || echo gcc)}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check 'setuptools>=68' 'Cython>=3.1,<4' \
    atheris 'pytest>=8' 'pytest-timeout>=2.2' 'hypothesis>=6.100'
SITE=$("$VENV/bin/python" -c 'import atheris; print(atheris.path())')

SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
if [ "$CC_KIND" = clang ]; then
    export CC=clang
    export WSFAST_EXTRA_CFLAGS="$SAN_FLAGS -fsanitize=fuzzer-no-link"
    export WSFAST_EXTRA_LDFLAGS="-fsanitize=address,undefined"
    PRELOAD="$SITE/asan_with_fuzzer.so"
else
    export CC=gcc
    export WSFAST_EXTRA_CFLAGS="$SAN_FLAGS"
    export WSFAST_EXTRA_LDFLAGS="-fsanitize=address,undefined"
    PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
fi
export WSFAST_DEBUG_BUILD=1 WSFAST_REQUIRE_EXTENSIONS=1
unset WSFAST_NO_EXTENSIONS WSFAST_BUILD_ONLY

# A clean copy of the sources: no in-place .so files, no stale Cython output.
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -r "$ROOT/src" "$ROOT/setup.py" "$ROOT/pyproject.toml" "$ROOT/README.md" "$STAGE/"
find "$STAGE/src" \( -name '*.so' -o -name '*.pyd' -o -name '__pycache__' \) -prune -exec rm -rf {} +
find "$STAGE/src/wsfast" -maxdepth 1 -name '_*.c' -delete
rm -rf "$STAGE/build"
echo "building wsfast with $CC_KIND: $WSFAST_EXTRA_CFLAGS"
"$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation --force-reinstall \
    --no-deps "$STAGE" >"$VENV/build.log" 2>&1 || { tail -40 "$VENV/build.log"; exit 1; }

# The wrapper every sanitized run goes through.
cat >"$VENV/bin/asan-python" <<EOF
#!/usr/bin/env bash
# Runs the sanitized venv's Python with the sanitizer runtime preloaded (made by build_sanitized.sh).
export LD_PRELOAD="$PRELOAD\${LD_PRELOAD:+ \$LD_PRELOAD}"
# CPython's own allocations look like leaks at exit: leak checking is off (leaks are measured by the
# RSS/tracemalloc tests instead). Errors abort with a stack trace.
export ASAN_OPTIONS="\${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
export UBSAN_OPTIONS="\${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export PYTHONMALLOC=malloc
export WSFAST_REQUIRE_EXTENSIONS=1
export WSFAST_SANITIZED="$CC_KIND"
exec "$VENV/bin/python" "\$@"
EOF
chmod +x "$VENV/bin/asan-python"

# The build really is sanitized and really is the compiled one.
(cd /tmp && "$VENV/bin/asan-python" -c "
import wsfast, wsfast._speedups as s
from wsfast import masking
masking.mask(b'abcd' * 100, b'1234')
import importlib
for name in ('wsfast._kernels', 'wsfast._mask', 'wsfast._utf8', 'wsfast._frames',
             'wsfast._wsaccel_compat', *s.ONE_SOURCE):
    m = importlib.import_module(name)
    assert m.__file__.endswith('.so'), f'{name} is not compiled: {m.__file__}'
    print('  sanitized', name, '->', m.__file__)
")
# Every extension module carries ASan's checks (nm's output is read whole: with pipefail, `grep -q`
# quitting early would fail the pipeline on SIGPIPE).
mapfile -t modules < <(find "$VENV/lib" -path '*/site-packages/wsfast/*' -name '*.so')
[ "${#modules[@]}" -gt 0 ] || { echo "no compiled wsfast module was installed"; exit 1; }
for module in "${modules[@]}"; do
    symbols=$(nm -D "$module")
    grep -q __asan_report <<<"$symbols" || { echo "$module is not ASan-instrumented"; exit 1; }
done
echo "ASan-instrumented: ${#modules[@]} extension modules"

if [ "$SELFTEST" = 1 ]; then
    # A scratch extension with a deliberate one-past-the-end read, built with the same flags: ASan must
    # abort the process with a heap-buffer-overflow report. The size is not a multiple of 8 so that the
    # byte read lies in the allocation's own partially addressable shadow granule: with a size of 64 the
    # read lands in the next chunk's header, which ASan has not poisoned (or even mapped) when the chunk
    # is the last of its region, and the process dies of a plain SEGV instead (seen once in CI).
    T=$(mktemp -d)
    cat >"$T/oob.c" <<'C'
#include <Python.h>
static PyObject *read_past(PyObject *self, PyObject *arg) {
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    unsigned char *p = malloc((size_t)n);
    memset(p, 1, (size_t)n);
    volatile unsigned char c = p[n];  /* out of bounds by one */
    free(p);
    return PyLong_FromLong(c);
}
static PyMethodDef methods[] = {{"read_past", read_past, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "oob", NULL, -1, methods};
PyMODINIT_FUNC PyInit_oob(void) { return PyModule_Create(&mod); }
C
    INC=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    SUFFIX=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    # shellcheck disable=SC2086
    $CC -shared -fPIC -I"$INC" $WSFAST_EXTRA_CFLAGS -O1 "$T/oob.c" -o "$T/oob$SUFFIX" $WSFAST_EXTRA_LDFLAGS
    if (cd "$T" && "$VENV/bin/asan-python" -c 'import oob; oob.read_past(61)') >"$T/out" 2>&1; then
        echo "SELFTEST FAILED: the out-of-bounds read went unnoticed"; cat "$T/out"; exit 1
    fi
    grep -q 'heap-buffer-overflow' "$T/out" ||
        { echo "SELFTEST FAILED: no ASan report"; cat "$T/out"; exit 1; }
    echo "selftest: ASan caught the deliberate out-of-bounds read ($(grep -m1 -o 'READ of size [0-9]*' "$T/out"))"
    rm -rf "$T"
fi
echo "sanitized build ready: $VENV/bin/asan-python ($CC_KIND)"
