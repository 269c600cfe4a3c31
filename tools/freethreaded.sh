#!/usr/bin/env bash
# Builds a free-threaded CPython (./configure --disable-gil) from the CPython source that Debian's
# archive carries (pyenv cannot reach python.org from these machines), then builds wsfast's
# extensions with it and runs the test suite with the GIL off.
#
#   tools/freethreaded.sh                  # CPython 3.13 from Debian trixie's source package
#   WSFAST_FT_SUITE=forky WSFAST_FT_PACKAGE=python3.14 tools/freethreaded.sh   # once its pool has it
#
# Environment: WSFAST_FT_DIR (default /tmp/wsfast-ft) caches the source, the interpreter and the
# venv, so a second run only rebuilds wsfast and reruns the tests. Extra pytest arguments pass
# through: tools/freethreaded.sh tests/hardening -x
#
# It fails when the interpreter has the GIL, when importing wsfast turns the GIL back on (an
# extension module that does not declare free-threading support does that, with a warning), when
# the build silently falls back to pure Python, or when a test fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WSFAST_FT_DIR:-/tmp/wsfast-ft}
SUITE=${WSFAST_FT_SUITE:-trixie}
PACKAGE=${WSFAST_FT_PACKAGE:-python3.13}
MIRROR=${WSFAST_FT_MIRROR:-http://deb.debian.org/debian}
PREFIX="$DIR/python"
VENV="$DIR/venv"
mkdir -p "$DIR"

stage_started=$(date +%s)
stage() {
    local now
    now=$(date +%s)
    echo "=== [+$((now - stage_started))s] $*"
}

stage "source: $PACKAGE from Debian $SUITE"
if [ ! -x "$PREFIX/bin/python3" ]; then
    # The .orig tarball is CPython's release tarball; Sources.xz gives its name and SHA-256.
    curl -fsS "$MIRROR/dists/$SUITE/main/source/Sources.xz" -o "$DIR/Sources.xz"
    xz -dc "$DIR/Sources.xz" >"$DIR/Sources"
    read -r sha size name directory < <(awk -v pkg="$PACKAGE" '
        $0 == "Package: " pkg { inside = 1; next }
        /^Package: / { inside = 0 }
        inside && /^Directory:/ { directory = $2 }
        inside && /^Checksums-Sha256:/ { sums = 1; next }
        inside && sums && /^ / { if ($3 ~ /\.orig\.tar\.(xz|gz)$/) { file = $3; sha = $1; size = $2 } ; next }
        { sums = 0 }
        /^$/ && inside && file { print sha, size, file, directory; exit }' "$DIR/Sources")
    [ -n "${name:-}" ] || { echo "no $PACKAGE source in Debian $SUITE"; exit 1; }
    if [ ! -f "$DIR/$name" ] || ! echo "$sha  $DIR/$name" | sha256sum -c --quiet; then
        curl -fsS "$MIRROR/$directory/$name" -o "$DIR/$name"
        echo "$sha  $DIR/$name" | sha256sum -c --quiet
    fi
    echo "$name ($size bytes, sha256 verified)"
    rm -rf "$DIR/src" && mkdir -p "$DIR/src"
    tar -xf "$DIR/$name" -C "$DIR/src" --strip-components=1

    stage "configure --disable-gil, make -j$(nproc)"
    (
        cd "$DIR/src"
        ./configure --disable-gil --prefix="$PREFIX" --without-ensurepip >"$DIR/configure.log" 2>&1 ||
            { tail -30 "$DIR/configure.log"; exit 1; }
        make -j"$(nproc)" >"$DIR/make.log" 2>&1 || { tail -40 "$DIR/make.log"; exit 1; }
        make install >"$DIR/install.log" 2>&1 || { tail -40 "$DIR/install.log"; exit 1; }
    )
fi
PY="$PREFIX/bin/python3"
"$PY" -c 'import sys, sysconfig
assert sysconfig.get_config_var("Py_GIL_DISABLED"), "not a free-threaded build"
print(sys.version)'

stage "venv with wsfast's test dependencies"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv --without-pip "$VENV"
    # No ensurepip in this build: bootstrap pip from the package registry's wheel.
    "$PY" -m pip --version >/dev/null 2>&1 || {
        tmp=$(mktemp -d)
        "$ROOT/.venv/bin/python" -m pip download -q --only-binary=:all: --no-deps pip -d "$tmp" 2>/dev/null ||
            python3 -m pip download -q --only-binary=:all: --no-deps pip -d "$tmp"
        "$VENV/bin/python" "$(ls "$tmp"/pip-*.whl)/pip" install -q "$(ls "$tmp"/pip-*.whl)"
        rm -rf "$tmp"
    }
fi
"$VENV/bin/python" -m pip install -q --upgrade "setuptools>=77" "Cython>=3.1" pytest hypothesis

stage "build wsfast (compiled extensions required)"
# A copy of the tree, so that the in-place build's .so files never mix with the dev venv's.
rm -rf "$DIR/wsfast" && mkdir -p "$DIR/wsfast"
(cd "$ROOT" && git ls-files -z | xargs -0 cp --parents -t "$DIR/wsfast")
(cd "$DIR/wsfast" && WSFAST_REQUIRE_EXTENSIONS=1 "$VENV/bin/python" -m pip install -q --no-build-isolation .)

stage "checks: compiled, and the GIL stays off after importing every extension"
(cd "$DIR" && PYTHON_GIL=0 "$VENV/bin/python" -W error::RuntimeWarning -c '
import sys
import wsfast, wsfast._mask, wsfast._utf8, wsfast._frames, wsfast._wsaccel_compat
import wsfast.asyncio
assert wsfast.implementation == "compiled", wsfast.implementation
assert not sys._is_gil_enabled(), "importing wsfast enabled the GIL"
print("wsfast", wsfast.implementation, "- GIL disabled:", not sys._is_gil_enabled())
')

stage "test suite, GIL off"
# The optional peers (websockets, aiohttp, picows ...) are not installed here: their tests skip.
(cd "$DIR/wsfast" && rm -rf src/wsfast &&
    PYTHON_GIL=0 "$VENV/bin/python" -X gil=0 -m pytest -q -m "not slow" -p no:cacheprovider "$@" tests)
stage "done"
