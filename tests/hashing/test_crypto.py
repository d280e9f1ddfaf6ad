import hashlib
import io
import os

from vigil.hashing.crypto import CHUNK, HEAD_SIZE, digest_stream


def test_known_vectors() -> None:
    d = digest_stream(io.BytesIO(b"abc"))
    assert d.size == 3
    assert d.md5 == "900150983cd24fb0d6963f7d28e17f72"
    assert d.sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert d.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert d.head == b"abc"


def test_empty_stream() -> None:
    d = digest_stream(io.BytesIO(b""))
    assert (d.size, d.md5, d.sha1) == (
        0,
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    )


def test_multi_chunk_matches_hashlib_and_keeps_head() -> None:
    data = os.urandom(CHUNK * 2 + 12345)
    d = digest_stream(io.BytesIO(data), chunk=CHUNK)
    assert d.size == len(data)
    assert d.md5 == hashlib.md5(data).hexdigest()
    assert d.sha1 == hashlib.sha1(data).hexdigest()
    assert d.sha256 == hashlib.sha256(data).hexdigest()
    assert d.head == data[:HEAD_SIZE]


def test_stream_without_readinto() -> None:
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self.buf = io.BytesIO(data)

        def read(self, n: int) -> bytes:
            return self.buf.read(min(n, 1000))

    data = b"x" * 5000
    d = digest_stream(ReadOnly(data))  # type: ignore[arg-type]
    assert d.md5 == hashlib.md5(data).hexdigest()
    assert d.head == data[:HEAD_SIZE]
