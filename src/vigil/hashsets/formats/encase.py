"""EnCase 4-6 binary hash sets (``.hash``): a 0x480-byte header, then 18-byte MD5 records."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated

NAME = "encase"
HAS_CATEGORIES = False

MAGIC = b"HASH\r\n\xff\x00"
_COUNT_OFFSET = 0x10
_NAME_OFFSET, _NAME_BYTES = 0x408, 80
_CATEGORY_OFFSET, _CATEGORY_BYTES = 0x458, 40
HEADER_SIZE = 0x480
RECORD_SIZE = 18  # 16-byte MD5 + 2 bytes of padding
_CHUNK_RECORDS = 4096


def sniff(head: bytes, path: Path) -> bool:
    """Tell whether the file starts with the EnCase hash-set magic.

    Args:
        head: The first bytes of the file.
        path: The file (unused).

    Returns:
        True if the magic ``HASH\\r\\n\\xff\\x00`` is at offset 0.
    """
    return head.startswith(MAGIC)


def _utf16_field(raw: bytes) -> str:
    text = raw.decode("utf-16-le", errors="replace")
    return text.split("\x00", 1)[0].strip()


def _read_header(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(HEADER_SIZE)
    except OSError as exc:
        raise HashSetFormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    if not raw.startswith(MAGIC):
        raise HashSetFormatError(f"{path}: not an EnCase hash set (magic {raw[:8]!r})")
    if len(raw) < HEADER_SIZE:
        raise HashSetFormatError(
            f"{path}: EnCase header truncated at {len(raw)} of {HEADER_SIZE} bytes"
        )
    return raw


def header(path: Path) -> dict[str, object]:
    """Read the set name, category and declared entry count from the header.

    Args:
        path: The ``.hash`` file.

    Returns:
        ``{"set_name": str, "category": str, "declared_entries": int}``.

    Raises:
        HashSetFormatError: If the file is not an EnCase hash set.
    """
    raw = _read_header(path)
    (count,) = struct.unpack_from("<I", raw, _COUNT_OFFSET)
    return {
        "set_name": _utf16_field(raw[_NAME_OFFSET : _NAME_OFFSET + _NAME_BYTES]),
        "category": _utf16_field(raw[_CATEGORY_OFFSET : _CATEGORY_OFFSET + _CATEGORY_BYTES]),
        "declared_entries": count,
    }


def read(path: Path) -> Iterator[HashEntry | Malformed | Truncated]:
    """Read the MD5 records of an EnCase hash set.

    Args:
        path: The ``.hash`` file.

    Returns:
        An iterator of MD5-only entries (record = 1-based record index), and a
        ``Truncated`` for a last record cut short.

    Raises:
        HashSetFormatError: If the file is not an EnCase hash set.
    """
    _read_header(path)
    record = 0
    with path.open("rb") as handle:
        handle.seek(HEADER_SIZE)
        while chunk := handle.read(RECORD_SIZE * _CHUNK_RECORDS):
            for start in range(0, len(chunk), RECORD_SIZE):
                record += 1
                raw = chunk[start : start + RECORD_SIZE]
                if len(raw) < RECORD_SIZE:
                    yield Truncated(record, f"the file ends inside record {record}: "
                                    f"{len(raw)} of {RECORD_SIZE} bytes")
                    return
                yield HashEntry(md5=raw[:16].hex(), sha1=None, sha256=None, record=record)
