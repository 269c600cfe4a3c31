"""Instructions per request/response message of an echo server, counted by callgrind.

    python tools/callgrind_echo.py [--uvloop] [--size 256] wsfast-callback wsfast picows ...

Each server (``python -m wsfast.bench.echo_server LIBRARY``) runs under ``valgrind
--tool=callgrind`` twice, answering ``--few`` and then ``--many`` request/response messages from
one fixed client (a blocking socket that sends masked frames prepared in advance, the same for
every server); the difference in instructions, divided by the difference in messages, is the cost
of one message without the start-up and the handshake. Instruction counts do not depend on the
machine's load, so the figure is repeatable where timings are not.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import socket
import subprocess
import sys
import tempfile

REQUEST = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _masked_frame(payload: bytes, key: bytes = b"\x01\x02\x03\x04") -> bytes:
    length = len(payload)
    if length < 126:
        header = bytes([0x82, 0x80 | length])
    elif length < 65536:
        header = bytes([0x82, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([0x82, 0x80 | 127]) + length.to_bytes(8, "big")
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return header + key + masked


def _recv_exactly(sock: socket.socket, n: int) -> None:
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("server closed the connection")
        n -= len(chunk)


def _client(port: int, messages: int, size: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(REQUEST.format(key=key).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("no handshake response")
        head += chunk
    frame = _masked_frame(os.urandom(size))
    answer = size + (2 if size < 126 else 4 if size < 65536 else 10)
    for _ in range(messages):
        sock.sendall(frame)
        _recv_exactly(sock, answer)
    sock.sendall(bytes([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]))  # Close 1000, key 0
    sock.settimeout(5)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass
    sock.close()


def _instructions(library: str, uvloop: bool, messages: int, size: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "wsfast.bench.echo_server",
            library,
        ]
        if uvloop:
            command.append("--uvloop")
        server = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        assert server.stdout is not None and server.stdin is not None
        line = server.stdout.readline()
        if not line.startswith("PORT "):
            server.kill()
            raise RuntimeError(
                f"{library}: {line!r} {server.stderr.read() if server.stderr else ''}"
            )
        _client(int(line.split()[1]), messages, size)
        server.stdin.close()
        assert server.stderr is not None
        stderr = server.stderr.read()
        server.wait(timeout=600)
        match = re.search(r"Collected : (\d+)", stderr)
        if match is None:
            raise RuntimeError(f"{library}: no callgrind summary:\n{stderr[-2000:]}")
        return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("libraries", nargs="+")
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--few", type=int, default=200)
    parser.add_argument("--many", type=int, default=2200)
    args = parser.parse_args()
    loop = "uvloop" if args.uvloop else "asyncio"
    for library in args.libraries:
        few = _instructions(library, args.uvloop, args.few, args.size)
        many = _instructions(library, args.uvloop, args.many, args.size)
        per = (many - few) / (args.many - args.few)
        print(f"{library:20} {loop:8} {args.size:>6} B  {per:10.0f} instructions per message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
