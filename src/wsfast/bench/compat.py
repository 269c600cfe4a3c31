"""websocket-client sending and receiving text messages: with wsfast, with wsaccel, with neither.

websocket-client masks what it sends (RFC 6455 §5.3: a client masks every frame) and validates
the UTF-8 of the text it receives (§8.1), with wsaccel's classes when wsaccel is installed and in
pure Python otherwise. Each case below is its own copy of websocket-client's modules, imported
while ``wsaccel`` resolves to one implementation:

- ``wsfast`` / ``wsfast-python``: what ``wsfast.accelerate("websocket-client")`` installs, on
  the compiled classes / their pure-Python twins;
- ``wsaccel``: the real wsaccel (websocket-client's own ``try: import wsaccel`` branch);
- ``websocket-client alone``: neither (its pure-Python fallbacks).

Send: ``ABNF.create_frame(payload, opcode).format()``, websocket-client's send path up to the
socket (a fresh random mask key per frame, as it does), for a binary message (bytes: framing and
masking) and a text message (a str, which websocket-client first encodes: for 64 KiB of text that
is not pure ASCII, CPython's ``str.encode`` takes most of the time whatever masks). Receive:
``frame_buffer.recv_frame()`` over an in-memory socket and the ``continuous_frame`` steps of
``WebSocket.recv_data_frame``, which validate the text. The sizes are 16 B and 64 KiB.

The ``wsaccel-api`` family times the classes alone, the way websocket-client calls them (a new
object per message): ``XorMaskerSimple(key).process(payload)`` and
``Utf8Validator().validate(payload)``, wsfast's against wsaccel's.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import cast

from .core import DROP_IN_TAG, Case, Skip, Workload, size_label, twin
from .utf8 import corpus

SIZES = (16, 64 * 1024)

#: case name -> (what ``wsaccel`` resolves to while websocket-client is imported, case kind)
VARIANTS = {
    "wsfast": "wsfast",
    "wsfast-python": "wsfast-python",
    "wsaccel": "peer",
    "websocket-client alone": "peer",
}

_copies: dict[str, ModuleType] = {}


def websocket_client(variant: str) -> ModuleType:
    """A private copy of websocket-client's ``websocket._abnf`` using ``variant``'s masking and
    validation; ``sys.modules`` is left as it was."""
    if variant in _copies:
        return _copies[variant]
    from wsfast.accelerate import websocket_client_values

    impl = (
        None
        if variant in ("wsaccel", "websocket-client alone")
        else twin(variant, "wsaccel_compat")
    )
    prefixes = ("websocket", "wsaccel")
    saved = {n: m for n, m in sys.modules.items() if n.split(".")[0] in prefixes}
    for name in saved:
        del sys.modules[name]
    try:
        if variant != "wsaccel":
            # None in sys.modules blocks the import: websocket-client takes its Python branch.
            blocked: dict[str, object] = sys.modules  # type: ignore[assignment]
            for blocked_name in ("wsaccel", "wsaccel.xormask", "wsaccel.utf8validator"):
                blocked[blocked_name] = None
        else:
            try:
                masker = importlib.import_module("wsaccel.xormask").XorMaskerSimple
            except ImportError as exc:
                raise Skip(f"wsaccel not importable: {exc}") from None
        try:
            abnf = importlib.import_module("websocket._abnf")
        except ImportError as exc:
            raise Skip(f"websocket-client not importable: {exc}") from None
        if variant == "wsaccel" and getattr(abnf, "XorMaskerSimple", None) is not masker:
            raise Skip("this websocket-client does not use wsaccel")
        if impl is not None:
            for module_name, values in websocket_client_values(impl).items():
                vars(sys.modules[module_name]).update(values)
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] in prefixes]:
            del sys.modules[name]
        sys.modules.update(saved)
    _copies[variant] = abnf
    return abnf


def _text(size: int) -> str:
    return corpus("mostly-ascii" if size > 100 else "ascii", size).decode()


def _send_case(name: str, kind: str, size: int, text: bool) -> Case:
    def setup() -> Callable[[], object]:
        abnf = websocket_client(name)
        create_frame = abnf.ABNF.create_frame
        payload: str | bytes = _text(size)
        opcode = abnf.ABNF.OPCODE_TEXT
        if not text:
            payload, opcode = _text(size).encode(), abnf.ABNF.OPCODE_BINARY
        if not create_frame(payload, opcode).format()[1] & 0x80:
            raise AssertionError(f"{name}: websocket-client sent an unmasked frame")
        return lambda: create_frame(payload, opcode).format()

    return Case(name, setup, kind)


class _Socket:
    """The bytes of one server frame, returned by ``recv(n)`` as a socket would."""

    __slots__ = ("data", "position")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def recv(self, n: int) -> bytes:
        start = self.position
        self.position = start + n
        return self.data[start : start + n]


def _recv_case(name: str, kind: str, size: int) -> Case:
    def setup() -> Callable[[], object]:
        abnf = websocket_client(name)
        text = _text(size).encode()
        frame = abnf.ABNF(1, 0, 0, 0, abnf.ABNF.OPCODE_TEXT, 0, text).format()  # unmasked
        bad = abnf.ABNF(1, 0, 0, 0, abnf.ABNF.OPCODE_TEXT, 0, text[:-1] + b"\xff").format()

        def receiver(data: bytes) -> Callable[[], object]:
            sock = _Socket(data)
            frames = abnf.frame_buffer(sock.recv, skip_utf8_validation=False)
            messages = abnf.continuous_frame(fire_cont_frame=False, skip_utf8_validation=False)

            def receive() -> object:
                sock.position = 0
                received = frames.recv_frame()
                messages.validate(received)
                messages.add(received)
                if not messages.is_fire(received):
                    raise AssertionError("one final frame is a whole message")
                return messages.extract(received)

            return receive

        try:
            receiver(bad)()
        except abnf.WebSocketPayloadException:
            pass
        else:
            raise AssertionError(f"{name}: invalid UTF-8 was not rejected")
        receive = receiver(frame)
        opcode, message = cast("tuple[int, object]", receive())
        if opcode != abnf.ABNF.OPCODE_TEXT or getattr(message, "data", None) != text:
            raise AssertionError(f"{name}: the message did not come back intact")
        return receive

    return Case(name, setup, kind)


def _api_case(name: str, kind: str, size: int, validator: bool) -> Case:
    def setup() -> Callable[[], object]:
        if name == "wsaccel":
            try:
                module = importlib.import_module(
                    "wsaccel.utf8validator" if validator else "wsaccel.xormask"
                )
            except ImportError as exc:
                raise Skip(f"wsaccel not importable: {exc}") from None
            if not module.__name__.startswith("wsaccel"):
                raise Skip("wsaccel is wsfast's stand-in here (accelerate('wsaccel') is active)")
        else:
            module = twin(name, "wsaccel_compat")
        data = _text(size).encode()
        if validator:
            validator_class = module.Utf8Validator
            if validator_class().validate(data) != (True, True, size, size):
                raise AssertionError(f"{name}: valid text was not accepted")
            return lambda: validator_class().validate(data)
        masker_class, key = module.XorMaskerSimple, b"\x37\xfa\x21\x3d"
        if masker_class(key).process(masker_class(key).process(data)) != data:
            raise AssertionError(f"{name}: masking twice did not give the data back")
        return lambda: masker_class(key).process(data)

    return Case(name, setup, kind)


def workloads() -> list[Workload]:
    """Sending (binary and text) and receiving (text) a message of each size through
    websocket-client."""
    found = []
    for size in SIZES:
        label = size_label(size)
        for family, text, what in (
            ("websocket-client-send", False, "bytes: mask with a fresh key, frame"),
            ("websocket-client-send-text", True, "str: encode, mask with a fresh key, frame"),
        ):
            cases = tuple(_send_case(name, kind, size, text) for name, kind in VARIANTS.items())
            found.append(
                Workload(
                    family,
                    f"{family}/{label}",
                    cases,
                    size,
                    1,
                    f"ABNF.create_frame(payload).format() of {what}",
                    tags=frozenset({DROP_IN_TAG}),
                )
            )
        found.append(
            Workload(
                "websocket-client-recv",
                f"websocket-client-recv/{label}",
                tuple(_recv_case(name, kind, size) for name, kind in VARIANTS.items()),
                size,
                1,
                "frame_buffer.recv_frame() + continuous_frame: parse, validate the UTF-8",
                tags=frozenset({DROP_IN_TAG}),
            )
        )
    for size in SIZES:
        for what, validator in (("XorMaskerSimple", False), ("Utf8Validator", True)):
            cases = tuple(
                _api_case(name, kind, size, validator)
                for name, kind in VARIANTS.items()
                if name != "websocket-client alone"
            )
            found.append(
                Workload(
                    "wsaccel-api",
                    f"wsaccel-api/{what}/{size_label(size)}",
                    cases,
                    size,
                    1,
                    "a new object per message, as websocket-client uses them",
                    tags=frozenset({DROP_IN_TAG}),
                )
            )
    return found
