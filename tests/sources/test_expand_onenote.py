"""OneNote sections: files stored in FileDataStoreObjects, byte-exact."""

from __future__ import annotations

import hashlib

from documents_corpus.build_documents import onenote_section
from documents_corpus.expansion import expand_md5
from vigil.model import ScanError
from vigil.sources.sniff import sniff


def test_pasted_pictures() -> None:
    data, expected = onenote_section()
    assert sniff(data[:4096]).mime == "application/onenote"
    assert expand_md5(data, "notes.one") == [
        (f"notes.one{key}", hashlib.md5(body).hexdigest()) for key, body in expected.items()
    ]


def test_missing_footer_is_a_record_and_the_next_object_is_read() -> None:
    data, expected = onenote_section()
    (first, photo), (second, sketch) = expected.items()
    start = int(first.rsplit("@", 1)[1])
    broken = bytearray(data)
    broken[start + len(photo) + (-len(photo) % 8)] ^= 0xFF  # the first footer's first byte
    assert expand_md5(bytes(broken), "notes.one") == [
        ScanError(f"notes.one!FileDataStore@{start}", "expand.onenote",
                  f"file data object of {len(photo)} bytes without its footer (damaged)"),
        (f"notes.one{second}", hashlib.md5(sketch).hexdigest()),
    ]
