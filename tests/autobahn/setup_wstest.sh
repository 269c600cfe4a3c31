#!/usr/bin/env bash
# Create the Python 2.7 virtualenv that runs Autobahn|Testsuite's `wstest` (it only runs on 2.7).
#
#   tests/autobahn/setup_wstest.sh            # idempotent: does nothing when wstest already works
#   PYTHON27=/path/to/python2.7 tests/autobahn/setup_wstest.sh
#
# Needs only a Python 2.7 interpreter (pyenv's 2.7.18 on our machines) and the package registry.
# The pins are the newest releases that still install and run on 2.7; autobahntestsuite itself is
# installed without its dependencies because its metadata asks for versions that no longer build.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${WSTEST_VENV:-$HERE/.venv27}"
BOOT="$HERE/.bootstrap27"

if [[ -x "$VENV/bin/wstest" ]] && "$VENV/bin/wstest" --help >/dev/null 2>&1; then
    echo "wstest ready: $VENV/bin/wstest"
    exit 0
fi

find_python27() {
    if [[ -n "${PYTHON27:-}" ]]; then echo "$PYTHON27"; return; fi
    local candidate
    for candidate in \
        "$(command -v pyenv >/dev/null 2>&1 && pyenv prefix 2.7.18 2>/dev/null)/bin/python" \
        /root/.pyenv/versions/2.7.18/bin/python \
        "$(command -v python2.7 || true)" \
        "$(command -v python2 || true)"; do
        if [[ -x "$candidate" ]] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))'; then
            echo "$candidate"; return
        fi
    done
    echo "no Python 2.7 found: install one (pyenv install 2.7.18) or set PYTHON27" >&2
    exit 1
}

PY27="$(find_python27)"
echo "using $PY27 ($("$PY27" --version 2>&1))"

# virtualenv < 20.22 is the last line that can create Python 2.7 environments. It goes into a
# private directory so the interpreter's own site-packages stay untouched.
if ! PYTHONPATH="$BOOT" "$PY27" -c 'import virtualenv' 2>/dev/null; then
    "$PY27" -m pip install --quiet --disable-pip-version-check --target "$BOOT" 'virtualenv<20.22'
fi
rm -rf "$VENV"
PYTHONPATH="$BOOT" "$PY27" -m virtualenv --quiet --python "$PY27" "$VENV"

PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" \
    txaio==2.1.0 incremental==16.10.1 pyOpenSSL==19.1.0 cryptography==3.3.2 Twisted==19.10.0 \
    zope.interface==4.6.0 jinja2==2.11.3 markupsafe==1.1.1 Werkzeug==1.0.1 klein==17.10.0 \
    service_identity==18.1.0 unittest2==1.1.0 six==1.16.0 'autobahn[twisted]==0.10.9'
"${PIP[@]}" --no-deps autobahntestsuite==25.10.1

"$VENV/bin/wstest" --help >/dev/null
echo "wstest ready: $VENV/bin/wstest"
