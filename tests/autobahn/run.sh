#!/usr/bin/env bash
# Run Autobahn|Testsuite against wsfast's server and/or client, and summarise the results.
#
#   tests/autobahn/run.sh [--quick|--full] [--server] [--client] [--peer] [--uvicorn] [--docker]
#
#   --quick    every case except 12.*/13.* plus a fixed sample of 25 of them (default; CI)
#   --full     every case, 1.* to 13.* (about 25 minutes per side for the compression cases)
#   --server   wstest's fuzzing client against `python -m wsfast serve` on port 9001
#   --client   wstest's fuzzing server on port 9002 against tests/autobahn/client_runner.py
#              (with neither --server nor --client, both run)
#   --peer     test the websockets package instead of wsfast, to check the harness itself
#   --uvicorn  server mode only: uvicorn serving an ASGI echo application (wsfast.bench.uvicorn's
#              echo_app) with --ws wsfast.uvicorn:WebSocketProtocol, permessage-deflate on
#   --docker   run wstest from the crossbario/autobahn-testsuite image instead of the local
#              Python 2.7 virtualenv (which setup_wstest.sh creates otherwise)
#   --cases=P  only these case patterns, comma-separated (e.g. --cases=12.1.*,13.3.2)
#
# Environment: PYTHON (default python3) runs wsfast; WSTEST overrides the wstest command;
# AUTOBAHN_SERVER_PORT / AUTOBAHN_CLIENT_PORT (default 9001 / 9002) let two runs share a machine;
# AUTOBAHN_TIME_LIMIT (seconds; default 1800 quick, 5400 full or --cases) bounds each side's run.
# Reports land in tests/autobahn/reports/{servers,clients}/ (index.json and HTML per case).
# Exit status: 0 when no case FAILED or is UNIMPLEMENTED, wstest and the client runner exited 0,
# and the reports hold every case of the set (spec.py says how many); non-zero otherwise.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
SCOPE=--quick
RUN_SERVER=0
RUN_CLIENT=0
TARGET=wsfast
DOCKER=0
CASES=""
for arg in "$@"; do
    case "$arg" in
        --quick|--full) SCOPE="$arg" ;;
        --server) RUN_SERVER=1 ;;
        --client) RUN_CLIENT=1 ;;
        --peer) TARGET=websockets ;;
        --uvicorn) TARGET=uvicorn ;;
        --docker) DOCKER=1 ;;
        --cases=*) CASES="${arg#--cases=}" ;;
        -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done
if [[ $RUN_SERVER == 0 && $RUN_CLIENT == 0 ]]; then RUN_SERVER=1; RUN_CLIENT=1; fi
if [[ $TARGET == uvicorn ]]; then
    # uvicorn is a server: there is no client side to test.
    if [[ $RUN_CLIENT == 1 && $RUN_SERVER == 0 ]]; then echo "--uvicorn has no client mode" >&2; exit 2; fi
    RUN_SERVER=1; RUN_CLIENT=0
fi

WORK="$HERE/work"
REPORTS="$HERE/reports"
SERVER_PORT="${AUTOBAHN_SERVER_PORT:-9001}"
CLIENT_PORT="${AUTOBAHN_CLIENT_PORT:-9002}"
mkdir -p "$WORK"

if [[ -n "${WSTEST:-}" ]]; then
    read -r -a WSTEST_CMD <<< "$WSTEST"
elif [[ $DOCKER == 1 ]]; then
    # The same absolute paths inside the container, so the spec's outdir works unchanged.
    WSTEST_CMD=(docker run --rm --network host -v "$HERE:$HERE" -w "$HERE"
                crossbario/autobahn-testsuite wstest)
else
    "$HERE/setup_wstest.sh" >/dev/null
    WSTEST_CMD=("$HERE/.venv27/bin/wstest")
fi

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_for_port() {  # host port seconds
    "$PYTHON" - "$@" <<'PY'
import socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(f"nothing listens on {host}:{port} after {limit} s")
PY
}

STATUS=0
STARTED=$SECONDS
# wstest can hang after an internal error (an unknown case id): bound each side's run.
# An explicit --cases set may hold every compression case (about as long as --full).
RUN_LIMIT=${AUTOBAHN_TIME_LIMIT:-$([[ $SCOPE == --full || -n $CASES ]] && echo 5400 || echo 1800)}

# A run that did not complete fails even when the cases it reported passed.
fail() {  # message log
    echo "$1; the end of $2:" >&2
    tail -20 "$2" >&2
    STATUS=1
}

if [[ $RUN_SERVER == 1 ]]; then
    echo "== Autobahn $SCOPE: wstest fuzzingclient -> $TARGET server on 127.0.0.1:$SERVER_PORT"
    rm -rf "$REPORTS/servers"
    if [[ $TARGET == wsfast ]]; then
        (cd "$ROOT" && exec "$PYTHON" -m wsfast serve --host 127.0.0.1 --port "$SERVER_PORT" \
            --max-message-size 67108864) > "$WORK/server.log" 2>&1 &
    elif [[ $TARGET == uvicorn ]]; then
        (cd "$ROOT" && exec "$PYTHON" -m uvicorn wsfast.bench.uvicorn:echo_app \
            --host 127.0.0.1 --port "$SERVER_PORT" --ws wsfast.uvicorn:WebSocketProtocol \
            --ws-max-size 67108864 --ws-per-message-deflate true --lifespan off \
            --log-level warning) > "$WORK/server.log" 2>&1 &
    else
        "$PYTHON" "$HERE/peer_echo_server.py" --port "$SERVER_PORT" > "$WORK/server.log" 2>&1 &
    fi
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for_port 127.0.0.1 "$SERVER_PORT" 30
    EXPECT=$("$PYTHON" "$HERE/spec.py" fuzzingclient "$SCOPE" --url "ws://127.0.0.1:$SERVER_PORT" \
        --agent "$TARGET" --outdir "$REPORTS/servers" --out "$WORK/fuzzingclient.json" \
        --cases "$CASES")
    (cd "$HERE" && timeout "$RUN_LIMIT" "${WSTEST_CMD[@]}" -m fuzzingclient -s "$WORK/fuzzingclient.json") \
        > "$WORK/wstest-fuzzingclient.log" 2>&1 || fail "wstest exited with $?" "$WORK/wstest-fuzzingclient.log"
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    "$PYTHON" "$HERE/summarize.py" "$REPORTS/servers/index.json" --agent "$TARGET" \
        --expect "$EXPECT" || STATUS=1
fi

if [[ $RUN_CLIENT == 1 ]]; then
    echo "== Autobahn $SCOPE: wstest fuzzingserver on 127.0.0.1:$CLIENT_PORT -> $TARGET client"
    rm -rf "$REPORTS/clients"
    EXPECT=$("$PYTHON" "$HERE/spec.py" fuzzingserver "$SCOPE" --url "ws://127.0.0.1:$CLIENT_PORT" \
        --outdir "$REPORTS/clients" --out "$WORK/fuzzingserver.json" --cases "$CASES")
    (cd "$HERE" && exec "${WSTEST_CMD[@]}" -m fuzzingserver -s "$WORK/fuzzingserver.json" -u 0) \
        > "$WORK/wstest-fuzzingserver.log" 2>&1 &
    WSTEST_PID=$!
    PIDS+=("$WSTEST_PID")
    wait_for_port 127.0.0.1 "$CLIENT_PORT" 60
    (cd "$ROOT" && timeout "$RUN_LIMIT" "$PYTHON" "$HERE/client_runner.py" --url "ws://127.0.0.1:$CLIENT_PORT" \
        --agent "$TARGET" --library "$TARGET") > "$WORK/client.log" 2>&1 \
        || fail "client runner exited with $?" "$WORK/client.log"
    kill "$WSTEST_PID" 2>/dev/null || true
    wait "$WSTEST_PID" 2>/dev/null || true
    "$PYTHON" "$HERE/summarize.py" "$REPORTS/clients/index.json" --agent "$TARGET" \
        --expect "$EXPECT" || STATUS=1
fi

echo "Autobahn $SCOPE finished in $((SECONDS - STARTED)) s"
exit $STATUS
