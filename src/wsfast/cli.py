"""The wsfast command line: python -m wsfast serve|client|bench ...

Each command is a module with ``add_parser(subparsers)``, which registers its subparser and sets
``func`` (``args -> exit status``) as its default. :data:`COMMAND_MODULES` lists them; a module
that is not importable in this version is left out, so a new command is one more entry.

Every error is one line on stderr, ``PROG: error: MESSAGE`` (argparse's last line, without the
usage lines above it), and the exit status says which kind it was: :data:`EXIT_FAILURE`,
:data:`EXIT_USAGE` or :data:`EXIT_INTERRUPTED`. A traceback means a bug in wsfast.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import importlib
import logging
import os
import signal
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = [
    "COMMAND_MODULES",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "add_client_parser",
    "add_serve_parser",
    "build_parser",
    "main",
    "version",
]

#: Modules that define ``add_parser(subparsers)``, in the order ``--help`` lists them.
COMMAND_MODULES = ("wsfast.cli:serve", "wsfast.cli:client", "wsfast.bench.cli")

#: Largest message the echo server accepts by default (Autobahn's largest case is 16 MiB).
DEFAULT_SERVE_MAX_MESSAGE = 64 * 1024 * 1024

#: Exit statuses. 2 is argparse's own status for a usage error; 130 is 128 + SIGINT, what a
#: shell reports for a program stopped by Ctrl-C.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

EXIT_STATUS_EPILOG = (
    "Exit status: 0 success (serve: stopped by SIGTERM); 1 failure: connection refused, unknown "
    "host, TLS error, handshake rejected (with its HTTP status), timeout, address in use, "
    "unreadable certificate; 2 usage error: option, URI, header, port; 130 interrupted (Ctrl-C). "
    "Errors are one line on stderr: 'PROG: error: MESSAGE'."
)


class CommandError(Exception):
    """A failure a command reports as one line on stderr, exiting with ``status``
    (:data:`EXIT_FAILURE` unless told otherwise)."""

    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


def _one_line(text: str) -> str:
    """``text`` on one line: a URI or header a user typed may hold a CR or LF."""
    return " ".join(text.split())


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line (no usage block), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_one_line(message)}\n")


def version() -> str:
    """``wsfast VERSION (IMPLEMENTATION, SIMD LEVEL)``, what ``--version`` prints."""
    import wsfast
    from wsfast import masking

    simd_level = getattr(wsfast, "simd_level", None) or masking.simd_level
    return f"wsfast {wsfast.__version__} ({wsfast.implementation}, {simd_level()})"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: not a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: not in 0-65535")
    return port


def _positive(convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)`` if it is above 0 (nan refused), else a usage error."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = 0
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {what}, got {text!r}")
        return value

    return parse


_positive_int = _positive(int, "integer")
_positive_float = _positive(float, "number")


def _add_command(subparsers: Any, name: str, summary: str, description: str) -> Any:
    """A subcommand's parser, with the exit statuses in its help."""
    return subparsers.add_parser(
        name, help=summary, description=description, epilog=EXIT_STATUS_EPILOG
    )


# --- serve -------------------------------------------------------------------------------------


def add_serve_parser(subparsers: Any) -> None:
    """Registers ``serve``: an echo server, the target of Autobahn|Testsuite's fuzzing client."""
    parser = _add_command(
        subparsers,
        "serve",
        "run an echo server",
        "Run a WebSocket echo server: every message received is sent back as is "
        "(text as text, binary as binary). This is the server Autobahn|Testsuite tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=9001, help="port to listen on (9001; 0: any free port)"
    )
    parser.add_argument(
        "--max-message-size",
        type=_positive_int,
        default=DEFAULT_SERVE_MAX_MESSAGE,
        help=f"largest message accepted, in bytes ({DEFAULT_SERVE_MAX_MESSAGE})",
    )
    parser.add_argument(
        "--no-compression", action="store_true", help="do not negotiate permessage-deflate"
    )
    parser.add_argument(
        "--deflate-backend",
        choices=("zlib", "zlib-ng", "isal"),
        help="permessage-deflate backend (default: WSFAST_DEFLATE_BACKEND, or the fastest "
        "installed one: see docs/compression.md)",
    )
    parser.add_argument("--certfile", help="PEM certificate chain: serve wss:// (TLS)")
    parser.add_argument("--keyfile", help="PEM private key for --certfile")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections")
    parser.set_defaults(func=run_serve)


async def _echo(ws: Any) -> None:
    async for message in ws:
        await ws.send(message)


def _server_ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.certfile:
        if args.keyfile:
            raise CommandError("--keyfile needs --certfile", EXIT_USAGE)
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(args.certfile, args.keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise CommandError(f"cannot load the certificate {args.certfile!r}: {exc}") from None
    return context


async def _serve(args: argparse.Namespace) -> int:
    from .asyncio import serve
    from .deflate import set_deflate_backend

    if args.deflate_backend:
        try:
            set_deflate_backend(args.deflate_backend)
        except ImportError as exc:
            raise CommandError(str(exc)) from None
    ssl_context = _server_ssl_context(args)
    try:
        server = await serve(
            _echo,
            args.host,
            args.port,
            max_message_size=args.max_message_size,
            compression=None if args.no_compression else "deflate",
            ssl=ssl_context,
        )
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {_os_reason(exc)}") from None
    async with server:
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[int] = loop.create_future()

        def request_stop(signum: int) -> None:
            if not stop.done():
                stop.set_result(signum)

        # Installed before the "listening" line: whoever reads that line may signal at once.
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C
                loop.add_signal_handler(signum, request_stop, signum)  # raises KeyboardInterrupt
        scheme = "wss" if ssl_context else "ws"
        for sock in server.sockets:
            host, port = sock.getsockname()[:2]
            print(f"wsfast echo server listening on {scheme}://{host}:{port}", flush=True)
        stopped_by = await stop
    print("server stopped", flush=True)
    return EXIT_INTERRUPTED if stopped_by == signal.SIGINT else EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    return asyncio.run(_serve(args))


# --- client ------------------------------------------------------------------------------------


def add_client_parser(subparsers: Any) -> None:
    """Registers ``client``: an interactive client (stdin lines out, messages in)."""
    parser = _add_command(
        subparsers,
        "client",
        "interactive client",
        "Connect to a WebSocket server: every line typed is sent as a text message, "
        "every message received is printed (binary ones as hex). End with Ctrl-D.",
    )
    parser.add_argument("uri", type=_websocket_uri, help="ws:// or wss:// URI")
    parser.add_argument(
        "--subprotocol", action="append", default=[], help="offer this subprotocol (repeatable)"
    )
    parser.add_argument(
        "-H",
        "--header",
        type=_header,
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="extra request header (repeatable)",
    )
    parser.add_argument(
        "--no-compression", action="store_true", help="do not offer permessage-deflate"
    )
    parser.add_argument("--insecure", action="store_true", help="wss: skip certificate checks")
    parser.add_argument(
        "--open-timeout",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="time allowed to connect: DNS, TCP, TLS and the opening handshake (10)",
    )
    parser.set_defaults(func=run_client)


def _websocket_uri(text: str) -> str:
    """Checks the URI as :func:`~wsfast.handshake.parse_uri` will, when the arguments are read."""
    from .handshake import parse_uri

    try:
        parse_uri(text)
    except ValueError as exc:
        reason = str(exc)
        if repr(text) not in reason:  # urlsplit's own errors ("Invalid IPv6 URL") do not say
            reason = f"invalid URI {text!r}: {reason}"
        scheme, sep, rest = text.partition("://")
        if sep and scheme.lower() in ("http", "https"):
            reason += f" (did you mean {'ws' if scheme.lower() == 'http' else 'wss'}://{rest}?)"
        raise argparse.ArgumentTypeError(reason) from None
    return text


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME:VALUE, got {text!r}")
    # The name and value rules (a token; no CR, LF or other control characters) are applied by
    # the request builder, before connecting: see _check_request.
    return name.strip(" \t"), value.strip(" \t")


#: A Sec-WebSocket-Key for a request that is built but never sent (RFC 6455 §1.3's sample nonce).
_SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def _check_request(args: argparse.Namespace) -> None:
    """Builds the opening handshake request once, without sending it, so that a subprotocol or
    header the handshake would refuse is a usage error, reported before connecting."""
    from .handshake import build_request, parse_uri

    try:
        build_request(
            parse_uri(args.uri),
            _SAMPLE_KEY,
            subprotocols=args.subprotocol,
            extra_headers=args.header,
        )
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def _show(message: str | bytes) -> str:
    if isinstance(message, str):
        return f"< {message}"
    return f"< (binary, {len(message)} bytes) {message.hex()}"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate check failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc}"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, TimeoutError) and str(exc):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return exc.strerror or str(exc) or type(exc).__name__


def _connect_failure(exc: Exception) -> str:
    """What went wrong, in a few words, for an exception raised by
    :func:`wsfast.asyncio.connect`."""
    from .asyncio import InvalidStatus

    if isinstance(exc, InvalidStatus):
        return f"handshake rejected with HTTP {exc.status} {exc.reason}".rstrip()
    if isinstance(exc, OSError):
        return _os_reason(exc)
    return str(exc)


def _start_stdin_reader(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines typed on stdin (without their line end), then None at the end of input.

    A daemon thread reads the file descriptor itself: a thread of the loop's executor would be
    joined at exit, so a read blocked on the terminal would keep the process alive after Ctrl-C,
    and a daemon thread blocked in ``sys.stdin``'s buffered reader can abort the interpreter's
    shutdown (its lock is held).
    """
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def put(line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is reading
            loop.call_soon_threadsafe(lines.put_nowait, line)

    def read() -> None:
        decoder = codecs.getincrementaldecoder(sys.stdin.encoding or "utf-8")("replace")
        pending = ""
        while True:
            try:
                chunk = os.read(sys.stdin.fileno(), 65536)
            except (OSError, ValueError):  # stdin closed or not a file
                chunk = b""
            *complete, pending = (pending + decoder.decode(chunk, final=not chunk)).split("\n")
            for line in complete:
                put(line.removesuffix("\r"))
            if not chunk:
                if pending:
                    put(pending)
                put(None)
                return

    threading.Thread(target=read, name="wsfast-client-stdin", daemon=True).start()
    return lines


async def _client(args: argparse.Namespace) -> int:
    from .asyncio import ConnectionClosed, InvalidHandshake, connect

    _check_request(args)
    ssl_context = None
    if args.uri.lower().startswith("wss:") and args.insecure:
        ssl_context = ssl.create_default_context()
        ssl_context.check_hostname = False
        ssl_context.verify_mode = ssl.CERT_NONE
    try:
        ws = await connect(
            args.uri,
            subprotocols=args.subprotocol,
            additional_headers=args.header,
            compression=None if args.no_compression else "deflate",
            ssl=ssl_context,
            open_timeout=args.open_timeout,
        )
    except (OSError, InvalidHandshake) as exc:  # TimeoutError is an OSError
        raise CommandError(f"cannot connect to {args.uri}: {_connect_failure(exc)}") from None
    subprotocol = f" ({ws.subprotocol})" if ws.subprotocol else ""
    print(f"connected to {args.uri}{subprotocol}", flush=True)

    async def printer() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                print(_show(message), flush=True)

    lines = _start_stdin_reader(asyncio.get_running_loop())
    printing = asyncio.ensure_future(printer())
    next_line: asyncio.Future[str | None] | None = None
    try:
        while True:
            next_line = asyncio.ensure_future(lines.get())
            await asyncio.wait((next_line, printing), return_when=asyncio.FIRST_COMPLETED)
            line = next_line.result() if next_line.done() else None
            if line is None:  # end of input, or the server closed the connection
                break
            await ws.send(line)
    except ConnectionClosed:
        pass
    finally:
        # Also on Ctrl-C (this task cancelled): a closing handshake, not a dropped connection.
        if next_line is not None:
            next_line.cancel()
        await ws.close()
        await printing
    print(f"connection closed: {ws.close_code} {ws.close_reason}".rstrip(), flush=True)
    return EXIT_OK


def run_client(args: argparse.Namespace) -> int:
    return asyncio.run(_client(args))


# --- the parser ---------------------------------------------------------------------------------

_BUILTIN = {"wsfast.cli:serve": add_serve_parser, "wsfast.cli:client": add_client_parser}


def build_parser(prog: str = "wsfast") -> argparse.ArgumentParser:
    """The top-level parser, with one subparser per available command."""
    parser = _Parser(prog=prog, description=__doc__.split("\n")[0], epilog=EXIT_STATUS_EPILOG)
    parser.add_argument(
        "--version",
        action="version",
        version=version(),
        help="print the version, the implementation (compiled or python) and the SIMD level",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        if name in _BUILTIN:
            _BUILTIN[name](subparsers)
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # this command does not exist in this version
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "wsfast") -> int:
    """Entry point of the ``wsfast`` script (and of ``python -m wsfast``, with that ``prog``).

    Returns the exit status; usage errors exit from argparse (:data:`EXIT_USAGE`).
    """
    try:
        args, unrecognized = build_parser(prog).parse_known_args(argv)
        command_prog = f"{prog} {args.command}"
        try:
            if unrecognized:  # blamed on the command, whose --help lists its options
                raise CommandError(f"unrecognized arguments: {' '.join(unrecognized)}", EXIT_USAGE)
            return int(args.func(args) or EXIT_OK)
        except CommandError as exc:
            print(f"{command_prog}: error: {_one_line(str(exc))}", file=sys.stderr)
            return exc.status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
