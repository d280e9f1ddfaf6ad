"""Cover art in MP3 (ID3v2.3 and 2.4), FLAC and M4A files, byte-exact."""

from __future__ import annotations

import hashlib

import pytest

from documents_corpus.build_documents import flac_with_cover, m4a_with_cover, mp3_with_covers
from documents_corpus.expansion import expand_md5
from vigil.model import ScanError
from vigil.sources.sniff import sniff

_expand = expand_md5


@pytest.mark.parametrize(
    ("name", "build", "mime", "frames"),
    [
        ("song.mp3", lambda: mp3_with_covers(3), "audio/mpeg", ["ID3/APIC[1]", "ID3/APIC[2]"]),
        ("song4.mp3", lambda: mp3_with_covers(4), "audio/mpeg", ["ID3/APIC[1]", "ID3/APIC[2]"]),
        ("song.flac", flac_with_cover, "audio/flac", ["PICTURE[1]"]),
        ("song.m4a", m4a_with_cover, "audio/mp4", ["covr[1]"]),
    ],
)
def test_cover_art(name: str, build, mime: str, frames: list[str]) -> None:  # noqa: ANN001
    data, covers = build()
    assert sniff(data[:4096]).mime == mime
    assert _expand(data, name) == [
        (f"{name}!{frame}@{data.index(cover)}", hashlib.md5(cover).hexdigest())
        for frame, cover in zip(frames, covers, strict=True)
    ]


def test_tag_cut_short_is_a_record() -> None:
    data, _ = mp3_with_covers()
    results = _expand(data[:800], "cut.mp3")
    assert len(results) == 1 and isinstance(results[0], ScanError)
    assert results[0].reason.startswith("damaged tag: ValueError: ID3v2.3 tag of ")
