"""UTF-8 validation workloads (RFC 6455 §8.1): one-shot, incremental and decoding to str.

Corpora (valid UTF-8, exactly the stated size): ``ascii``; ``mostly-ascii`` (about 5 % of the
characters multi-byte); ``latin1`` (Western European text: ASCII and about 15 % accented letters,
all below U+0100); ``cyrillic`` (2-byte); ``cjk`` (3-byte); ``emoji`` (4-byte), each with a few
ASCII spaces; ``json`` (JSON records whose strings mix Latin, Greek, Cyrillic, CJK and emoji).

Two kinds of work, two sets of families, neither standing for the other:

- *validation* (``utf8-validate``, ``utf8-incremental``): a yes/no answer, no ``str`` built,
  against the validators that do the same (wsaccel's and autobahn's); ``memchr (limit)``,
  ``data.find(b"\\xff")``, one read-only pass of the buffer through glibc's vectorised memchr,
  is the floor no validator that reads every byte can go below;
- *decoding to str* (``utf8-decode``): against ``bytes.decode`` (CPython's strict decoder, which
  validates while it builds the ``str``).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

from .core import Case, Workload, import_or_skip, size_label, twin

SIZES = (125, 4 * 1024, 64 * 1024, 1024 * 1024)
#: Decoding adds 1 KiB, a typical text message.
DECODE_SIZES = (125, 1024, 4 * 1024, 64 * 1024, 1024 * 1024)
#: The chunk size of the incremental workloads: a typical TCP segment's payload.
CHUNK = 1400

_ALPHABETS = {
    "ascii": "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ 0123456789 .,;:!?'\"()-\n",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя АБВГДЕ ",
    "cjk": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过",
    "emoji": "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘🚀🌍🎉👍🔥💯 ",
    "latin1": "abcdefghijklmnopqrstuvwxyz      éèàùçâêîôûëïüöäßñ",
}
_SPRINKLE = "éüñçøßжщ中文語😀€"
_NAMES = (
    "Zoë Müller",
    "Андрей Иванов",
    "李小龍",
    "José Álvarez",
    "Ελένη",
    "山田太郎",
    "party 🎉🎉",
    "O'Brien",
    "François",
    "Łukasz",
)

CORPORA = ("ascii", "mostly-ascii", "latin1", "cyrillic", "cjk", "emoji", "json")


def _json_record(rng: random.Random, number: int) -> str:
    name, other = rng.choice(_NAMES), rng.choice(_NAMES)
    fields = f'"id": {number}, "name": "{name}", "score": {rng.random() * 100:.2f}'
    return f'{{{fields}, "tags": ["{other[:3]}", "x"], "ok": true}}, '


@functools.lru_cache(maxsize=64)
def corpus(kind: str, size: int, seed: int = 6455) -> bytes:
    """``size`` bytes of valid UTF-8 text of the given kind (deterministic)."""
    rng = random.Random(f"{kind}-{size}-{seed}")
    pieces: list[bytes] = []
    total = 0
    while total < size:
        if kind == "json":
            encoded = _json_record(rng, len(pieces)).encode()
        else:
            char = rng.choice(_ALPHABETS["ascii" if kind == "mostly-ascii" else kind])
            if kind == "mostly-ascii" and rng.random() < 0.05:
                char = rng.choice(_SPRINKLE)
            encoded = char.encode()
        if total + len(encoded) > size:
            encoded = b" " * (size - total)
        pieces.append(encoded)
        total += len(encoded)
    data = b"".join(pieces)
    assert len(data) == size
    data.decode("utf-8")  # valid by construction
    return data


def _chunks(data: bytes) -> list[memoryview]:
    view = memoryview(data)
    return [view[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def _validate_cases(kind: str, size: int) -> tuple[Case, ...]:
    def ours(which: str) -> Case:
        def setup() -> Callable[[], object]:
            m, data = twin(which, "utf8"), corpus(kind, size)
            return lambda: m.validate_utf8(data)

        return Case(which, setup, which)

    def wsaccel() -> Callable[[], object]:
        validator_cls = import_or_skip("wsaccel.utf8validator").Utf8Validator
        data = corpus(kind, size)
        return lambda: validator_cls().validate(data)

    def autobahn() -> Callable[[], object]:
        validator_cls = import_or_skip("autobahn.websocket.utf8validator").Utf8Validator
        data = corpus(kind, size)
        return lambda: validator_cls().validate(data)

    def memchr_limit() -> Callable[[], object]:
        data = corpus(kind, size)
        return lambda: data.find(b"\xff")

    return (
        ours("wsfast"),
        ours("wsfast-python"),
        Case("wsaccel", wsaccel),
        Case("autobahn", autobahn),
        Case("memchr (limit)", memchr_limit, "limit"),
    )


def _incremental_cases(kind: str, size: int) -> tuple[Case, ...]:
    def ours(which: str) -> Case:
        def setup() -> Callable[[], object]:
            m, chunks = twin(which, "utf8"), _chunks(corpus(kind, size))

            def run() -> bool:
                validator = m.Utf8Validator()
                for chunk in chunks:
                    validator.feed(chunk)
                return validator.finish()  # type: ignore[no-any-return]

            return run

        return Case(which, setup, which)

    def peer(module: str) -> Callable[[], Callable[[], object]]:
        def setup() -> Callable[[], object]:
            validator_cls = import_or_skip(module).Utf8Validator
            chunks = [bytes(c) for c in _chunks(corpus(kind, size))]

            def run() -> object:
                validator = validator_cls()
                result = None
                for chunk in chunks:
                    result = validator.validate(chunk)
                return result

            return run

        return setup

    return (
        ours("wsfast"),
        ours("wsfast-python"),
        Case("wsaccel", peer("wsaccel.utf8validator")),
        Case("autobahn", peer("autobahn.websocket.utf8validator")),
    )


def _decode_cases(kind: str, size: int) -> tuple[Case, ...]:
    def ours(which: str) -> Case:
        def setup() -> Callable[[], object]:
            m, data = twin(which, "utf8"), corpus(kind, size)
            return lambda: m.decode_utf8(data)

        return Case(which, setup, which)

    def decode() -> Callable[[], object]:
        data = corpus(kind, size)
        return lambda: data.decode("utf-8")

    def str_bytes() -> Callable[[], object]:
        data = corpus(kind, size)
        return lambda: str(data, "utf-8")

    return (
        ours("wsfast"),
        ours("wsfast-python"),
        Case("bytes.decode", decode),
        Case("str(bytes, 'utf-8')", str_bytes),
    )


def workloads() -> list[Workload]:
    """Validation and decoding of every corpus at every size; incremental validation in
    1400-byte chunks at 64 KiB."""
    found = []
    for kind in CORPORA:
        for size in SIZES:
            label = size_label(size)
            found.append(
                Workload(
                    "utf8-validate",
                    f"utf8-validate/{kind}/{label}",
                    _validate_cases(kind, size),
                    size,
                    1,
                    description=f"validate {label} of {kind} text in one call",
                    tags=frozenset({kind}),
                )
            )
    for kind in CORPORA:
        found.append(
            Workload(
                "utf8-incremental",
                f"utf8-incremental/{kind}/64KiB",
                _incremental_cases(kind, 64 * 1024),
                64 * 1024,
                1,
                description=f"validate 64 KiB of {kind} text fed in {CHUNK}-byte chunks",
                tags=frozenset({kind}),
            )
        )
    for kind in CORPORA:
        for size in DECODE_SIZES:
            label = size_label(size)
            found.append(
                Workload(
                    "utf8-decode",
                    f"utf8-decode/{kind}/{label}",
                    _decode_cases(kind, size),
                    size,
                    1,
                    description=f"decode {label} of {kind} text to str",
                    tags=frozenset({kind}),
                )
            )
    return found
