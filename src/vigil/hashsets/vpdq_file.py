"""Reader of Meta's vPDQ hash files: one ``frameNumber,quality,hash,timestamp`` per line.

This is the format the vPDQ reference tools write (``vpdqio.cpp``), e.g.
``0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000``. The hash
is 64 hex digits in the reference's order; quality is 0-100; timestamp is in seconds.
A line that does not fit is recorded with its 1-based number and reason, and reading goes on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.hashsets.entry import Malformed
from vigil.model import FrameHash

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class VideoHashes:
    """The frame hashes of one known video, in file order."""

    name: str
    frames: list[FrameHash] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)


def parse_vpdq_line(line: str) -> FrameHash:
    """Parse one vPDQ line.

    Args:
        line: ``frameNumber,quality,hash,timestamp`` without the line ending.

    Returns:
        The frame hash, with the hash in lower case.

    Raises:
        ValueError: with the reason when the line is not a valid vPDQ record.
    """
    parts = [part.strip() for part in line.split(",")]
    if len(parts) != 4:
        raise ValueError(f"expected 4 comma-separated fields, got {len(parts)}")
    number, quality_text, pdq, time_text = parts
    if not number.isdigit():
        raise ValueError(f"frame number {number!r} is not a non-negative integer")
    if not quality_text.isdigit() or int(quality_text) > 100:
        raise ValueError(f"quality {quality_text!r} is not an integer 0-100")
    pdq = pdq.lower()
    if len(pdq) != 64 or not set(pdq) <= _HEX:
        raise ValueError(f"hash {pdq[:70]!r} is not 64 hex digits")
    try:
        timestamp = float(time_text)
    except ValueError:
        raise ValueError(f"timestamp {time_text!r} is not a number") from None
    if not math.isfinite(timestamp) or timestamp < 0:
        raise ValueError(f"timestamp {time_text!r} is not a non-negative number")
    return FrameHash(timestamp, pdq, int(quality_text))


def parse_vpdq_lines(lines: Iterable[str], name: str) -> VideoHashes:
    """Read vPDQ records from lines of text; blank lines are skipped.

    Args:
        lines: the file's lines, with or without line endings.
        name: the video's name to carry (usually the file stem).

    Returns:
        The frames read and the lines that could not be read.
    """
    result = VideoHashes(name)
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        try:
            result.frames.append(parse_vpdq_line(line))
        except ValueError as exc:
            result.malformed.append(Malformed(number, str(exc)))
    return result


def read_vpdq_file(path: str | Path, name: str | None = None) -> VideoHashes:
    """Read a vPDQ hash file.

    Args:
        path: the file to read; undecodable bytes become malformed lines, not errors.
        name: the video's name; defaults to the file name without its extension.

    Returns:
        The frames read and the malformed lines with their numbers and reasons.
    """
    path = Path(path)
    with path.open(encoding="utf-8", errors="replace", newline=None) as handle:
        return parse_vpdq_lines(handle, name if name is not None else path.stem)
