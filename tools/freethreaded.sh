#!/usr/bin/env bash
# Builds a free-threaded CPython (--disable-gil) from the source tarball in Debian's archive, builds
# wsfast's extensions with it and runs the test suite with the GIL off (issue 9).
#
#   tools/freethreaded.sh                     # build what is missing, then test
#   tools/freethreaded.sh -x -k threads       # extra arguments go to pytest
#
# The interpreter is cached: a second run reuses it (and the venv) and only rebuilds wsfast and
# reruns the tests. Stages print their wall time; the whole run ends with a summary of them.
#
# Environment:
#   WSFAST_FT_DIR       cache directory (default /tmp/wsfast-ft-python): python/ (the install),
#                       venv/, src/ (the unpacked CPython), stage/ (a clean copy of wsfast), logs
#   WSFAST_FT_VERSIONS  CPython series to try, in order (default "3.14 3.13")
#   WSFAST_FT_SUITES    Debian suites whose Sources.xz is searched, in order (default
#                       "forky trixie sid")
#   WSFAST_FT_MIRROR    Debian mirror (default http://deb.debian.org/debian)
#   WSFAST_FT_REBUILD=1 rebuild the interpreter even if one is cached
#   WSFAST_FT_NO_APT=1  never apt-get install missing -dev packages (just report them)
#   WSFAST_FT_PEER_TIMEOUT  seconds allowed for installing one optional test peer (default 900)
#
# Exit status: 0 when the suite passed with the GIL off; 3 when no CPython source could be
# obtained (nothing was tested); anything else is a failure of the build, the checks or the tests.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${WSFAST_FT_DIR:-/tmp/wsfast-ft-python}
PREFIX=$CACHE/python
VENV=$CACHE/venv
STAGE=$CACHE/stage
MARKER=$PREFIX/.wsfast-ft-built
VERSIONS=${WSFAST_FT_VERSIONS:-"3.14 3.13"}
SUITES=${WSFAST_FT_SUITES:-"forky trixie sid"}
MIRROR=${WSFAST_FT_MIRROR:-http://deb.debian.org/debian}
PEER_TIMEOUT=${WSFAST_FT_PEER_TIMEOUT:-900}
HOST_PYTHON=${HOST_PYTHON:-python3}
mkdir -p "$CACHE"
# One run at a time per cache directory (a second one waits).
exec 9>"$CACHE/.lock"
flock 9

T_ALL=$(date +%s.%N)
TIMINGS=()
T_STAGE=
STAGE_NAME=
stage() {  # stage NAME: ends the current stage (printing its time) and starts the next
    local now
    now=$(date +%s.%N)
    if [ -n "$STAGE_NAME" ]; then
        local took
        took=$(awk -v a="$T_STAGE" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
        echo "== $STAGE_NAME: ${took}s"
        TIMINGS+=("$(printf '%-28s %8ss' "$STAGE_NAME" "$took")")
    fi
    STAGE_NAME=${1:-}
    T_STAGE=$now
    [ -n "$STAGE_NAME" ] && echo "== $STAGE_NAME ..."
    return 0
}
summary() {
    local status=$?
    stage ""
    echo "== timings"
    printf '   %s\n' "${TIMINGS[@]}"
    awk -v a="$T_ALL" -v b="$(date +%s.%N)" 'BEGIN { printf "   %-28s %8.1fs\n", "total", b - a }'
    [ "$status" = 0 ] || echo "== FAILED (exit $status)"
}
trap summary EXIT

# ---------------------------------------------------------------------------------------- interpreter
built_ok() {
    [ -f "$MARKER" ] && [ -x "$PREFIX/bin/python3" ] &&
        "$PREFIX/bin/python3" -c 'import sys, sysconfig, ssl, zlib, ctypes
sys.exit(not sysconfig.get_config_var("Py_GIL_DISABLED"))' 2>/dev/null
}

if [ "${WSFAST_FT_REBUILD:-0}" != 1 ] && built_ok; then
    echo "== cached free-threaded CPython: $(cat "$MARKER")"
else
    stage "build dependencies"
    # What CPython needs for pip (ssl, zlib), ctypes (libffi), and the usual stdlib modules.
    NEED=(build-essential pkg-config xz-utils curl libssl-dev zlib1g-dev libffi-dev libbz2-dev
          liblzma-dev libsqlite3-dev libreadline-dev libncurses-dev uuid-dev libzstd-dev)
    MISSING=()
    for pkg in "${NEED[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            MISSING+=("$pkg")
    done
    if [ ${#MISSING[@]} -gt 0 ]; then
        echo "missing: ${MISSING[*]}"
        if [ "${WSFAST_FT_NO_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${MISSING[@]}" >/dev/null
        else
            echo "not installing them (WSFAST_FT_NO_APT=1 or not root); the build may lack modules"
        fi
    else
        echo "all present: ${NEED[*]}"
    fi

    stage "find + download source"
    mkdir -p "$CACHE/downloads" "$CACHE/src"
    # Every orig tarball of the wanted series that the suites list, best first ("series version url
    # sha256 size" a line): the series in $VERSIONS order, newest version first. A file the mirror
    # does not serve (the index can run ahead of the pool) is skipped for the next one.
    mapfile -t CANDIDATES < <(
        "$HOST_PYTHON" - "$MIRROR" "$VERSIONS" "$SUITES" <<'PY'
import lzma, re, sys, urllib.request
mirror, versions, suites = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
found = {}
for suite in suites:
    url = f"{mirror}/dists/{suite}/main/source/Sources.xz"
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            text = lzma.decompress(resp.read()).decode("utf-8", "replace")
    except Exception as exc:
        print(f"  {suite}: cannot read {url}: {exc}", file=sys.stderr)
        continue
    for block in text.split("\n\n"):
        series = next((v for v in versions if block.startswith(f"Package: python{v}\n")), None)
        if series is None:
            continue
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key].append(line.strip())
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = [value.strip()] if value.strip() else []
        for sha, size, name in (l.split() for l in fields.get("Checksums-Sha256", [])):
            if name.endswith(".orig.tar.xz"):
                upstream = name.split("_")[1].removesuffix(".orig.tar.xz")
                key_ = (versions.index(series), [-int(n) for n in re.findall(r"\d+", upstream)])
                url = f"{mirror}/{fields['Directory'][0]}/{name}"
                found.setdefault(name, (key_, f"{series} {upstream} {url} {sha} {size}", suite))
if not found:
    sys.exit(f"no python{'/'.join(versions)} source package in {' '.join(suites)}")
for _, line, suite in sorted(found.values()):
    print(f"  candidate ({suite}): {line.split()[2]}", file=sys.stderr)
    print(line)
PY
    )
    [ ${#CANDIDATES[@]} -gt 0 ] || { echo "no CPython source found in Debian's archive"; exit 3; }
    TARBALL=
    for candidate in "${CANDIDATES[@]}"; do
        read -r SERIES UPSTREAM URL SHA256 SIZE <<<"$candidate"
        TARBALL=$CACHE/downloads/$(basename "$URL")
        if echo "$SHA256  $TARBALL" | sha256sum -c --quiet - >/dev/null 2>&1; then
            break  # downloaded by an earlier run
        fi
        echo "downloading $URL ($SIZE bytes)"
        if curl -fsSL --retry 3 -o "$TARBALL.part" "$URL"; then
            echo "$SHA256  $TARBALL.part" | sha256sum -c --quiet - ||
                { echo "sha256 mismatch for $URL"; rm -f "$TARBALL.part"; exit 1; }
            mv "$TARBALL.part" "$TARBALL"
            break
        fi
        rm -f "$TARBALL.part"
        TARBALL=
        echo "not served by the mirror; trying the next candidate"
    done
    [ -n "$TARBALL" ] || { echo "none of the CPython source tarballs could be downloaded"; exit 3; }
    echo "sha256 ok: $SHA256  $(basename "$TARBALL")"

    stage "configure"
    SRC=$CACHE/src/python-$UPSTREAM
    rm -rf "$CACHE/src" "$PREFIX" && mkdir -p "$SRC"
    tar -xf "$TARBALL" -C "$SRC" --strip-components=1
    cd "$SRC"
    ./configure --disable-gil --prefix="$PREFIX" --with-ensurepip=install >"$CACHE/configure.log" 2>&1 ||
        { tail -40 "$CACHE/configure.log"; exit 1; }

    stage "make -j2"
    make -j2 >"$CACHE/make.log" 2>&1 || { tail -60 "$CACHE/make.log"; exit 1; }
    # The modules the build could not make (missing -dev packages) are listed near the end.
    grep -A4 -E 'necessary bits to build these optional modules were not found|Failed to build these modules' \
        "$CACHE/make.log" || true

    stage "make install"
    make install >"$CACHE/install.log" 2>&1 || { tail -40 "$CACHE/install.log"; exit 1; }
    cd "$ROOT"
    echo "CPython $UPSTREAM ($(basename "$URL"), sha256 $SHA256)" >"$MARKER"
    built_ok || { echo "the built interpreter is not free-threaded or lacks ssl/zlib/ctypes"; exit 1; }
    rm -rf "$VENV"  # a venv of an older interpreter would not match
fi
PY_FT=$PREFIX/bin/python3
"$PY_FT" -VV

# ----------------------------------------------------------------------------------------------- venv
stage "venv + test tools"
if [ ! -x "$VENV/bin/python" ] || ! grep -q "^home = $PREFIX/bin\$" "$VENV/pyvenv.cfg"; then
    rm -rf "$VENV"
    "$PY_FT" -m venv "$VENV"
fi
PY=$VENV/bin/python
# PIP_PREFER_BINARY: a package whose newest release has no wheel for this interpreter (hypothesis's
# native builds, say) installs from its newest release that has one, rather than from an sdist
# that may need a toolchain or downloads this machine cannot do; a package with no wheel at all
# is still built from source.
export PIP_PREFER_BINARY=1
pip_() {  # pip, without the warnings about find-links folders that this machine lacks
    local out rc=0
    out=$("$PY" -m pip --disable-pip-version-check "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -v 'is ignored: it is neither a file nor a directory' || true
    return $rc
}
PIP=(pip_)
"${PIP[@]}" install -q --upgrade pip
# The build tools (no isolated build: the Cython that compiles wsfast is the one checked below) and
# the test runner, which the suite cannot do without.
"${PIP[@]}" install -q 'setuptools>=77' 'Cython>=3.1,<4' 'pytest>=8' 'hypothesis>=6.100'

stage "optional test peers"
# The remaining test extras, one by one: a peer with no free-threaded wheel that does not build
# either is left out, and the tests that need it skip.
mapfile -t PEERS < <("$PY" - "$ROOT/pyproject.toml" <<'PY'
import re, sys, tomllib
extras = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["test"]
for req in extras:
    if re.split(r"[<>=!~;\[ ]", req)[0].lower() not in ("pytest", "hypothesis"):
        print(req)
PY
)
PEERS_OK=()
PEERS_LEFT_OUT=()
for req in "${PEERS[@]}"; do
    if timeout "$PEER_TIMEOUT" "$PY" -m pip --disable-pip-version-check install -q "$req" \
        >"$CACHE/peer.log" 2>&1; then
        PEERS_OK+=("$req")
    else
        PEERS_LEFT_OUT+=("$req")
        echo "left out: $req ($(grep -E '^(error|ERROR)' "$CACHE/peer.log" | tail -2 | tr '\n' ' '))"
    fi
done
echo "installed: ${PEERS_OK[*]:-none}"
[ ${#PEERS_LEFT_OUT[@]} -eq 0 ] || echo "left out: ${PEERS_LEFT_OUT[*]}"

# ------------------------------------------------------------------------------------------- wsfast
stage "build wsfast"
# A clean copy of the sources: no in-place .so files of other interpreters, no stale Cython output.
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -r "$ROOT/src" "$ROOT/setup.py" "$ROOT/pyproject.toml" "$ROOT/README.md" "$STAGE/"
find "$STAGE/src" \( -name '*.so' -o -name '*.pyd' -o -name '__pycache__' \) -prune -exec rm -rf {} +
find "$STAGE/src/wsfast" -maxdepth 2 \( -name '_*.c' -o -name 'connection.c' \) -delete
WSFAST_REQUIRE_EXTENSIONS=1 "${PIP[@]}" install --no-build-isolation --no-deps --force-reinstall \
    "$STAGE" >"$CACHE/wsfast-build.log" 2>&1 || { tail -40 "$CACHE/wsfast-build.log"; exit 1; }
# The freethreading_compatible directive took effect: Cython's default for the module's Py_mod_gil
# slot (the last definition of the macro, used unless CYTHON_FREETHREADING_COMPATIBLE is defined)
# is Py_MOD_GIL_NOT_USED. Cython older than 3.1 writes no Py_mod_gil slot at all.
for c in "$STAGE"/src/wsfast/_*.c "$STAGE"/src/wsfast/connection.c "$STAGE"/src/wsfast/asyncio/connection.c; do
    grep '#define __Pyx_FREETHREADING_COMPATIBLE' "$c" | tail -1 | grep -q 'Py_MOD_GIL_NOT_USED' ||
        { echo "$(basename "$c"): Py_mod_gil is not Py_MOD_GIL_NOT_USED"; exit 1; }
done
echo "$(head -1 "$STAGE/src/wsfast/_mask.c"): Py_mod_gil = Py_MOD_GIL_NOT_USED in every module"

stage "import checks"
# Without PYTHON_GIL set, importing a module that does not declare free-threading support turns the
# GIL back on (with a RuntimeWarning): after importing every extension it must still be off.
(cd /tmp && env -u PYTHON_GIL "$PY" -W error::RuntimeWarning - <<'PY'
import importlib, sys, sysconfig
assert sysconfig.get_config_var("Py_GIL_DISABLED"), "not a free-threaded build"
assert not sys._is_gil_enabled(), "GIL on at start"
import wsfast
from wsfast._speedups import ONE_SOURCE
for name in ("wsfast._kernels", "wsfast._mask", "wsfast._utf8", "wsfast._frames",
             "wsfast._wsaccel_compat", *ONE_SOURCE):
    module = importlib.import_module(name)
    assert module.__file__.endswith(sysconfig.get_config_var("EXT_SUFFIX")), module.__file__
assert wsfast.implementation == "compiled", wsfast.implementation
assert not sys._is_gil_enabled(), "importing wsfast re-enabled the GIL"
print(f"wsfast implementation={wsfast.implementation}, GIL enabled after importing every "
      f"extension: {sys._is_gil_enabled()}")
from importlib import metadata
names = ["Cython", "setuptools", "pytest", "hypothesis", "pytest-benchmark", "websockets",
         "websocket-client", "autobahn", "wsproto", "h11", "matplotlib"]
found = []
for name in names:
    try:
        found.append(f"{name} {metadata.version(name)}")
    except metadata.PackageNotFoundError:
        found.append(f"{name} (not installed)")
print("with " + ", ".join(found))
PY
)

stage "pytest (GIL off)"
cd "$ROOT"
set +e
PYTHON_GIL=0 PYTHONDONTWRITEBYTECODE=1 WSFAST_REQUIRE_EXTENSIONS=1 \
    "$PY" -X gil=0 -m pytest -q -m "not slow" -p no:cacheprovider "$@"
RC=$?
set -e
exit $RC
