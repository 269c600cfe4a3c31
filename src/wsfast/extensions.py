"""WebSocket extensions: the ``Sec-WebSocket-Extensions`` header (RFC 6455 §9.1) and
permessage-deflate (RFC 7692).

:class:`PerMessageDeflate` is the configuration one side brings to the negotiation (what a client
offers, what a server accepts); negotiating yields a :class:`DeflateCodec`, the per-connection
compressor/decompressor the connection uses for messages whose first frame has RSV1 set.

Decompression is always bounded: :meth:`DeflateCodec.decompress` never produces more than the
remaining message-size budget plus one byte (``zlib.decompressobj().decompress(data,
max_length)``), so a few KiB that would inflate to a GiB cost at most the limit before the
connection is failed with 1009.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from ._deflate_codec import DeflateCodec
from .deflate import DeflateBackend, default_backend, get_deflate_backend
from .exceptions import NegotiationError

__all__ = [
    "DeflateCodec",
    "Extension",
    "NegotiationError",
    "PerMessageDeflate",
    "format_extensions",
    "parse_extensions",
]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match
# RFC 7692 §7.1.2.1: the value of a *_max_window_bits parameter is 8 to 15, without leading zero.
_WINDOW_BITS = re.compile(r"(?:[89]|1[0-5])\Z").match


class Extension(NamedTuple):
    """One element of a ``Sec-WebSocket-Extensions`` header: a name and its parameters
    (``(name, value)`` pairs in order; ``value`` is None for a parameter without a value)."""

    name: str
    params: tuple[tuple[str, str | None], ...] = ()

    def __str__(self) -> str:
        return format_extensions([self])


def _unquote(value: str) -> str:
    # RFC 6455 §9.1: a quoted-string value must be a token once unescaped.
    if len(value) < 2 or value[-1] != '"':
        raise NegotiationError(f"unterminated quoted string: {value!r}")
    return re.sub(r"\\(.)", r"\1", value[1:-1])


def parse_extensions(values: Iterable[str]) -> tuple[Extension, ...]:
    """Parses the values of every ``Sec-WebSocket-Extensions`` header (RFC 6455 §9.1).

    ``extension-list = 1#extension; extension = token *( ";" token [ "=" (token |
    quoted-string) ] )``; a quoted value must be a token once unescaped. Empty list elements are
    ignored (RFC 9110 §5.6.1). Raises :class:`NegotiationError` on any other deviation.
    """
    found: list[Extension] = []
    for value in values:
        for element in value.split(","):
            if not element.strip(" \t"):
                continue
            pieces = element.split(";")
            name = pieces[0].strip(" \t")
            if _TOKEN(name) is None:
                raise NegotiationError(f"invalid extension name: {name!r}")
            params: list[tuple[str, str | None]] = []
            for piece in pieces[1:]:
                key, equals, raw = piece.partition("=")
                key = key.strip(" \t")
                if _TOKEN(key) is None:
                    raise NegotiationError(f"invalid parameter name in extension {name}: {key!r}")
                if not equals:
                    params.append((key, None))
                    continue
                raw = raw.strip(" \t")
                param = _unquote(raw) if raw[:1] == '"' else raw
                if _TOKEN(param) is None:
                    raise NegotiationError(f"invalid value for parameter {key}: {raw!r}")
                params.append((key, param))
            found.append(Extension(name, tuple(params)))
    return tuple(found)


def format_extensions(extensions: Iterable[Extension]) -> str:
    """Serialises extensions into a ``Sec-WebSocket-Extensions`` header value."""
    parts = []
    for extension in extensions:
        items = [extension.name]
        for key, value in extension.params:
            items.append(key if value is None else f"{key}={value}")
        parts.append("; ".join(items))
    return ", ".join(parts)


class _Params(NamedTuple):
    server_no_context_takeover: bool
    client_no_context_takeover: bool
    server_max_window_bits: int | None
    # None: absent; 0: present without a value (only valid in an offer); 8-15 otherwise.
    client_max_window_bits: int | None


def _parse_deflate_params(params: tuple[tuple[str, str | None], ...], *, response: bool) -> _Params:
    """Validates permessage-deflate parameters (RFC 7692 §7.1). Raises NegotiationError."""
    seen: dict[str, str | None] = {}
    for key, value in params:
        # RFC 7692 §7.1: each parameter at most once; unknown parameters invalidate the element.
        if key in seen:
            raise NegotiationError(f"duplicate parameter {key}")
        if key in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                raise NegotiationError(f"{key} takes no value")
        elif key == "server_max_window_bits":
            if value is None or _WINDOW_BITS(value) is None:
                raise NegotiationError(f"invalid value for {key}: {value!r}")
        elif key == "client_max_window_bits":
            # RFC 7692 §7.1.2.2: may have no value in an offer; must have one in a response.
            if value is None:
                if response:
                    raise NegotiationError(f"{key} needs a value in a response")
            elif _WINDOW_BITS(value) is None:
                raise NegotiationError(f"invalid value for {key}: {value!r}")
        else:
            raise NegotiationError(f"unknown permessage-deflate parameter {key}")
        seen[key] = value
    smwb = seen.get("server_max_window_bits")
    cmwb = seen.get("client_max_window_bits", "absent")
    return _Params(
        "server_no_context_takeover" in seen,
        "client_no_context_takeover" in seen,
        int(smwb) if smwb is not None else None,
        None if cmwb == "absent" else (0 if cmwb is None else int(cmwb)),
    )


def _check_bits(name: str, value: int | None, *, compress: bool) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 8 <= value <= 15:
        raise ValueError(f"{name} must be between 8 and 15, got {value!r}")
    if compress and value == 8:
        # RFC 7692 notes: zlib cannot compress raw deflate with a 256-byte window (it uses 512).
        raise ValueError(f"{name}=8 cannot be honoured by zlib when compressing; use 9 or more")


class PerMessageDeflate:
    """Configuration of permessage-deflate (RFC 7692) for a client or a server.

    Client side, the parameters are what the client offers: ``server_no_context_takeover`` and
    ``server_max_window_bits`` constrain the server's compressor; ``client_no_context_takeover``
    announces that the client resets its compressor after each message;
    ``client_max_window_bits`` is ``True`` (offer the parameter without a value: the server may
    choose a window, the default), an int (the client compresses with at most 2**N), or None
    (not offered).

    Server side, they are what the server insists on in its response: ``server_no_context_takeover``
    (the server resets its compressor after each message), ``client_no_context_takeover`` (asks the
    client to do so), ``server_max_window_bits`` (the server compresses with at most 2**N; 9 to
    15, since zlib cannot compress with 8), ``client_max_window_bits`` (asks the client for at
    most 2**N, sent only when the client offered the parameter). Whatever the client asks for
    within the RFC is granted; an offer that cannot be honoured (``server_max_window_bits=8``)
    or is malformed is declined, and the next offer is tried.

    ``compress_threshold``: messages shorter than this many bytes are sent uncompressed (RSV1
    clear): below a few dozen bytes deflate's block header and Huffman codes outweigh what it
    saves, and the CPU is wasted. 0 compresses every message. ``compression_level`` (-1 to 9)
    and ``mem_level`` (1 to 9) are zlib's, whatever the backend (:mod:`wsfast.deflate` maps
    them for ISA-L).

    ``backend``: the deflate backend's name (``"zlib"``, ``"zlib-ng"``, ``"isal"``), or None (the
    default) for the process-wide choice, :func:`wsfast.deflate_backend`, at negotiation time.
    The bytes on the wire are raw deflate whatever the backend, so either side may use any.
    """

    name = "permessage-deflate"

    __slots__ = (
        "backend",
        "client_max_window_bits",
        "client_no_context_takeover",
        "compress_threshold",
        "compression_level",
        "mem_level",
        "server_max_window_bits",
        "server_no_context_takeover",
    )

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int | None = None,
        client_max_window_bits: int | bool | None = True,
        compress_threshold: int = 32,
        compression_level: int = 6,
        mem_level: int = 8,
        backend: str | None = None,
    ) -> None:
        if backend is not None:
            get_deflate_backend(backend)  # ValueError or ImportError now rather than later
        self.backend = backend
        self.server_no_context_takeover = bool(server_no_context_takeover)
        self.client_no_context_takeover = bool(client_no_context_takeover)
        _check_bits("server_max_window_bits", server_max_window_bits, compress=False)
        self.server_max_window_bits = server_max_window_bits
        if client_max_window_bits is not True and client_max_window_bits is not False:
            _check_bits("client_max_window_bits", client_max_window_bits, compress=False)
        self.client_max_window_bits: int | bool | None = client_max_window_bits
        if compress_threshold < 0:
            raise ValueError("compress_threshold must be >= 0")
        self.compress_threshold = compress_threshold
        if not -1 <= compression_level <= 9:
            raise ValueError("compression_level must be between -1 and 9")
        self.compression_level = compression_level
        if not 1 <= mem_level <= 9:
            raise ValueError("mem_level must be between 1 and 9")
        self.mem_level = mem_level

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"PerMessageDeflate({fields})"

    def _backend(self) -> DeflateBackend:
        return default_backend() if self.backend is None else get_deflate_backend(self.backend)

    # --- client side -----------------------------------------------------------------------

    def offer(self) -> Extension:
        """The client's offer (RFC 7692 §7.1)."""
        _check_bits("client_max_window_bits", self._client_bits(), compress=True)
        params: list[tuple[str, str | None]] = []
        if self.server_no_context_takeover:
            params.append(("server_no_context_takeover", None))
        if self.client_no_context_takeover:
            params.append(("client_no_context_takeover", None))
        if self.server_max_window_bits is not None:
            params.append(("server_max_window_bits", str(self.server_max_window_bits)))
        if self.client_max_window_bits is True:
            params.append(("client_max_window_bits", None))
        elif self._client_bits() is not None:
            params.append(("client_max_window_bits", str(self.client_max_window_bits)))
        return Extension(self.name, tuple(params))

    def _client_bits(self) -> int | None:
        bits = self.client_max_window_bits
        if bits is True or bits is False or bits is None:
            return None
        return bits

    def accept_response(self, extension: Extension) -> DeflateCodec:
        """Client side: checks the server's response against our offer (RFC 7692 §7.1) and
        returns the codec. Raises :class:`NegotiationError` if the response is unacceptable."""
        got = _parse_deflate_params(extension.params, response=True)
        offered_bits = self._client_bits()
        # RFC 7692 §7.1.1.1: a server accepting server_no_context_takeover must include it.
        if self.server_no_context_takeover and not got.server_no_context_takeover:
            raise NegotiationError("server did not agree to server_no_context_takeover")
        # RFC 7692 §7.1.2.1: the server's window must not exceed what the client asked for.
        if (
            self.server_max_window_bits is not None
            and got.server_max_window_bits is not None
            and got.server_max_window_bits > self.server_max_window_bits
        ):
            raise NegotiationError("server_max_window_bits larger than offered")
        compress_bits = offered_bits or 15
        if got.client_max_window_bits is not None:
            # RFC 7692 §7.1.2.2: only when offered, and not more than the offered value.
            if self.client_max_window_bits is None or self.client_max_window_bits is False:
                raise NegotiationError("client_max_window_bits in response but not offered")
            if offered_bits is not None and got.client_max_window_bits > offered_bits:
                raise NegotiationError("client_max_window_bits larger than offered")
            if got.client_max_window_bits == 8:
                raise NegotiationError("client_max_window_bits=8 cannot be honoured by zlib")
            compress_bits = got.client_max_window_bits
        return DeflateCodec(
            compress_bits=compress_bits,
            reset_compressor=got.client_no_context_takeover or self.client_no_context_takeover,
            reset_decompressor=got.server_no_context_takeover,
            compress_threshold=self.compress_threshold,
            compression_level=self.compression_level,
            mem_level=self.mem_level,
            backend=self._backend(),
            agreed=Extension(self.name, extension.params),
        )

    # --- server side -----------------------------------------------------------------------

    def accept_offer(self, extension: Extension) -> tuple[Extension, DeflateCodec] | None:
        """Server side: the response to one offer and the codec, or None to decline it
        (malformed, or asking for something zlib cannot do)."""
        _check_bits("server_max_window_bits", self.server_max_window_bits, compress=True)
        try:
            offer = _parse_deflate_params(extension.params, response=False)
        except NegotiationError:
            return None
        params: list[tuple[str, str | None]] = []
        server_reset = self.server_no_context_takeover or offer.server_no_context_takeover
        if server_reset:
            params.append(("server_no_context_takeover", None))
        client_reset = self.client_no_context_takeover or offer.client_no_context_takeover
        if client_reset:
            params.append(("client_no_context_takeover", None))
        limits = [b for b in (offer.server_max_window_bits, self.server_max_window_bits) if b]
        compress_bits = 15
        if limits:
            compress_bits = min(limits)
            if compress_bits == 8:
                return None  # zlib cannot compress with a 256-byte window: decline this offer.
            params.append(("server_max_window_bits", str(compress_bits)))
        client_bits = self._client_bits()
        if offer.client_max_window_bits is not None and client_bits is not None:
            # RFC 7692 §7.1.2.2: only if the client offered the parameter.
            if offer.client_max_window_bits:
                client_bits = min(client_bits, offer.client_max_window_bits)
            params.append(("client_max_window_bits", str(client_bits)))
        response = Extension(self.name, tuple(params))
        codec = DeflateCodec(
            compress_bits=compress_bits,
            reset_compressor=server_reset,
            reset_decompressor=client_reset,
            compress_threshold=self.compress_threshold,
            compression_level=self.compression_level,
            mem_level=self.mem_level,
            backend=self._backend(),
            agreed=response,
        )
        return response, codec

    def negotiate(self, offers: Iterable[Extension]) -> tuple[Extension, DeflateCodec] | None:
        """Server side: accepts the first acceptable permessage-deflate offer, if any."""
        for offer in offers:
            if offer.name == self.name:
                accepted = self.accept_offer(offer)
                if accepted is not None:
                    return accepted
        return None
