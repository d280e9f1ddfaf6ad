"""The record every hash-set reader yields, and hash validation at the edge."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.model import FrameHash

# Hex digits per algorithm; PDQ is 256 bits like SHA-256, so only the caller knows which.
HEX_LENGTHS: dict[str, int] = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
_HEX_DIGITS = re.compile("[0-9a-f]*")


@dataclass(frozen=True)
class HashEntry:
    """One entry of a hash set, with hashes as canonical lower-case hex.

    ``category`` is the source's raw category as text (e.g. ``"3"``); mapping it to a
    grade is the library's job, not the reader's. ``record`` is the 1-based line number
    or record index in the source file.
    """

    md5: str | None
    sha1: str | None
    sha256: str | None
    size: int | None = None
    name: str | None = None
    category: str | None = None
    photodna: str | None = None
    pdq: str | None = None
    record: int = 0
    # A known video: its frame hashes (vPDQ), for matching videos by frame sequence.
    frames: tuple[FrameHash, ...] = ()


@dataclass(frozen=True)
class Malformed:
    """A record of the source that could not be read, and why."""

    record: int
    reason: str


@dataclass(frozen=True)
class Truncated:
    """The source breaks off here: the records before it are intact, none after it exist.

    ``record`` is the line number or record index where it broke (the last one read
    plus one for record formats), ``reason`` what was found there. A reader yields it
    last, instead of raising, so the intact records are still imported.
    """

    record: int
    reason: str


def normalize_hex(value: object, algorithm: str) -> str:
    """Validate a hex digest and return it in canonical lower-case form.

    Args:
        value: The digest as found in the source (surrounding whitespace is ignored).
        algorithm: One of ``md5``, ``sha1``, ``sha256``, ``pdq``.

    Returns:
        The digest as lower-case hex.

    Raises:
        ValueError: If the value is not a string of hex digits of the right length; the
            message quotes the bad value.
    """
    expected = HEX_LENGTHS[algorithm]
    if not isinstance(value, str):
        raise ValueError(f"{algorithm.upper()} {value!r} is not a string")
    text = value.strip().lower()
    if len(text) != expected or not _HEX_DIGITS.fullmatch(text):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise ValueError(f"{algorithm.upper()} {shown!r} is not {expected} hex digits")
    return text


def algorithm_for_length(length: int) -> str | None:
    """Name the cryptographic hash whose hex digest has ``length`` digits, if any.

    Args:
        length: Number of hex digits.

    Returns:
        ``md5``, ``sha1`` or ``sha256``, or None for any other length.
    """
    return {32: "md5", 40: "sha1", 64: "sha256"}.get(length)
