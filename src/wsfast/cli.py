"""The wsfast command line: python -m wsfast serve|client|bench ...

Each command is a module with ``add_parser(subparsers)``, which registers its subparser and sets
``func`` (``args -> exit status``) as its default. :data:`COMMAND_MODULES` lists them; a module
that is not importable in this version is left out, so a new command is one more entry.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["COMMAND_MODULES", "add_client_parser", "add_serve_parser", "build_parser", "main"]

#: Modules that define ``add_parser(subparsers)``, in the order ``--help`` lists them.
COMMAND_MODULES = ("wsfast.cli:serve", "wsfast.cli:client", "wsfast.bench.cli")

#: Largest message the echo server accepts by default (Autobahn's largest case is 16 MiB).
DEFAULT_SERVE_MAX_MESSAGE = 64 * 1024 * 1024


# --- serve -------------------------------------------------------------------------------------


def add_serve_parser(subparsers: Any) -> None:
    """Registers ``serve``: an echo server, the target of Autobahn|Testsuite's fuzzing client."""
    parser = subparsers.add_parser(
        "serve",
        help="run an echo server",
        description="Run a WebSocket echo server: every message received is sent back as is "
        "(text as text, binary as binary). This is the server Autobahn|Testsuite tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=9001, help="port to listen on (9001)")
    parser.add_argument(
        "--max-message-size",
        type=int,
        default=DEFAULT_SERVE_MAX_MESSAGE,
        help=f"largest message accepted, in bytes ({DEFAULT_SERVE_MAX_MESSAGE})",
    )
    parser.add_argument(
        "--no-compression", action="store_true", help="do not negotiate permessage-deflate"
    )
    parser.add_argument("--certfile", help="PEM certificate chain: serve wss:// (TLS)")
    parser.add_argument("--keyfile", help="PEM private key for --certfile")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections")
    parser.set_defaults(func=run_serve)


async def _echo(ws: Any) -> None:
    async for message in ws:
        await ws.send(message)


async def _serve(args: argparse.Namespace) -> None:
    from .asyncio import serve

    ssl_context = None
    if args.certfile:
        import ssl

        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(args.certfile, args.keyfile)
    async with serve(
        _echo,
        args.host,
        args.port,
        max_message_size=args.max_message_size,
        compression=None if args.no_compression else "deflate",
        ssl=ssl_context,
    ) as server:
        scheme = "wss" if ssl_context else "ws"
        for sock in server.sockets:
            host, port = sock.getsockname()[:2]
            print(f"wsfast echo server listening on {scheme}://{host}:{port}", flush=True)
        loop = asyncio.get_running_loop()
        stop = loop.create_future()

        def request_stop() -> None:
            if not stop.done():
                stop.set_result(None)

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, request_stop)
        await stop
    print("server stopped", flush=True)


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


# --- client ------------------------------------------------------------------------------------


def add_client_parser(subparsers: Any) -> None:
    """Registers ``client``: an interactive client (stdin lines out, messages in)."""
    parser = subparsers.add_parser(
        "client",
        help="interactive client",
        description="Connect to a WebSocket server: every line typed is sent as a text message, "
        "every message received is printed (binary ones as hex). End with Ctrl-D.",
    )
    parser.add_argument("uri", help="ws:// or wss:// URI")
    parser.add_argument(
        "--subprotocol", action="append", default=[], help="offer this subprotocol (repeatable)"
    )
    parser.add_argument(
        "--header", action="append", default=[], help="extra request header NAME:VALUE"
    )
    parser.add_argument(
        "--no-compression", action="store_true", help="do not offer permessage-deflate"
    )
    parser.add_argument("--insecure", action="store_true", help="wss: skip certificate checks")
    parser.set_defaults(func=run_client)


def _show(message: str | bytes) -> str:
    if isinstance(message, str):
        return f"< {message}"
    return f"< (binary, {len(message)} bytes) {message.hex()}"


async def _client(args: argparse.Namespace) -> int:
    from .asyncio import ConnectionClosed, connect

    headers = []
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep:
            print(f"--header needs NAME:VALUE, got {item!r}", file=sys.stderr)
            return 2
        headers.append((name.strip(), value.strip()))
    ssl_context = None
    if args.uri.startswith("wss:") and args.insecure:
        import ssl

        ssl_context = ssl.create_default_context()
        ssl_context.check_hostname = False
        ssl_context.verify_mode = ssl.CERT_NONE

    loop = asyncio.get_running_loop()
    async with connect(
        args.uri,
        subprotocols=args.subprotocol,
        additional_headers=headers,
        compression=None if args.no_compression else "deflate",
        ssl=ssl_context,
    ) as ws:
        print(f"connected to {args.uri}" + (f" ({ws.subprotocol})" if ws.subprotocol else ""))

        async def printer() -> None:
            try:
                async for message in ws:
                    print(_show(message), flush=True)
            except ConnectionClosed:
                pass

        printing = asyncio.ensure_future(printer())
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line or printing.done():
                    break
                await ws.send(line.rstrip("\n"))
        except ConnectionClosed:
            pass
        if not printing.done():
            await ws.close()
        await printing
        print(f"connection closed: {ws.close_code} {ws.close_reason}".rstrip())
    return 0


def run_client(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_client(args))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"cannot connect to {args.uri}: {exc}", file=sys.stderr)
        return 1


# --- the parser ---------------------------------------------------------------------------------

_BUILTIN = {"wsfast.cli:serve": add_serve_parser, "wsfast.cli:client": add_client_parser}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser, with one subparser per available command."""
    parser = argparse.ArgumentParser(prog="python -m wsfast", description=__doc__.split("\n")[0])
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m wsfast`` and the ``wsfast`` script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
