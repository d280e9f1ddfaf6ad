"""JPEG previews in TIFF-based (raw-camera) files, byte-exact, by directory path."""

from __future__ import annotations

import hashlib

from documents_corpus.build_documents import encoded, raw_camera_tiff, raw_with_maker_note
from documents_corpus.expansion import expand_md5
from vigil.hashing.decode import decode
from vigil.model import ScanError
from vigil.sources.sniff import sniff

_expand = expand_md5


def test_thumbnail_and_preview() -> None:
    data, expected = raw_camera_tiff()
    assert sniff(data[:4096]).mime == "image/tiff"
    assert decode(data).error is None  # the file is still a picture of its own
    assert _expand(data, "DSC_0001.NEF") == [
        (f"DSC_0001.NEF{key}", hashlib.md5(body).hexdigest()) for key, body in expected.items()
    ]


def test_plain_tiff_has_no_members() -> None:
    assert _expand(encoded(203, "TIFF"), "scan.tif") == []
    assert _expand(encoded(203, "TIFF", compression="jpeg"), "scan.tif") == []


def test_directory_outside_the_file_is_a_record() -> None:
    data = b"II*\x00" + (10_000).to_bytes(4, "little") + b"\0" * 100
    results = _expand(data, "bad.tif")
    assert len(results) == 1 and isinstance(results[0], ScanError)
    assert results[0].reason == "damaged image directory: IFD0 at 10000 is outside the file"


def test_maker_note_preview() -> None:
    data, expected = raw_with_maker_note()
    assert decode(data).error is None
    assert _expand(data, "DSC_0002.NEF") == [
        (f"DSC_0002.NEF{key}", hashlib.md5(body).hexdigest()) for key, body in expected.items()
    ]
