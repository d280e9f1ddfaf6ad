"""MD5, SHA-1 and SHA-256 of a stream in one read.

hashlib releases the GIL for updates larger than 2 KiB, so a thread pool of these
calls uses every core without processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20
HEAD_SIZE = 4096


@dataclass(frozen=True)
class Digests:
    """Cryptographic digests of one content plus its first bytes for type sniffing."""

    size: int
    md5: str
    sha1: str
    sha256: str
    head: bytes


def digest_stream(
    stream: BinaryIO, chunk: int = CHUNK, copy_to: BinaryIO | None = None
) -> Digests:
    """Read ``stream`` to its end once and return its digests.

    Args:
        stream: a binary stream positioned at the start of the content.
        chunk: read size in bytes.
        copy_to: also write every byte here (a spool for a second read).

    Returns:
        The size, MD5, SHA-1 and SHA-256 (lower-case hex) and the first 4 KiB.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    sha1 = hashlib.sha1(usedforsecurity=False)
    sha256 = hashlib.sha256()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    head = b""
    size = 0
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            block = view[:n]
        else:
            data = stream.read(chunk)
            if not data:
                break
            n = len(data)
            block = memoryview(data)
        if size < HEAD_SIZE:
            head += bytes(block[: HEAD_SIZE - size])
        size += n
        md5.update(block)
        sha1.update(block)
        sha256.update(block)
        if copy_to is not None:
            copy_to.write(block)
    return Digests(size, md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest(), head)
