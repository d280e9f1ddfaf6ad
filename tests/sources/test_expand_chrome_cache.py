"""Chrome Simple Cache entries: the cached body, named by its URL."""

from __future__ import annotations

import gzip
import hashlib

from documents_corpus.build_documents import encoded, simple_cache_entry
from documents_corpus.expansion import expand_md5
from vigil.model import ScanError
from vigil.sources.sniff import sniff

_expand = expand_md5


def test_cached_picture_is_byte_exact() -> None:
    jpeg = encoded(140)
    url = "https://example.org/img/a.jpg"
    for with_sha in (True, False):
        entry = simple_cache_entry(url, jpeg, key_sha256=with_sha)
        assert sniff(entry[:4096]).mime == "application/x-chrome-simple-cache"
        assert _expand(entry, "Cache_Data/1f2e_0") == [
            (f"Cache_Data/1f2e_0!{url}", hashlib.md5(jpeg).hexdigest())
        ]


def test_compressed_body_is_walked() -> None:
    jpeg = encoded(141)
    body = gzip.compress(jpeg, mtime=0)
    url = "https://example.org/b.jpg"
    assert _expand(simple_cache_entry(url, body), "e_0") == [
        (f"e_0!{url}", hashlib.md5(body).hexdigest()),
        (f"e_0!{url}!data", hashlib.md5(jpeg).hexdigest()),
    ]


def test_cut_entry_is_a_record() -> None:
    entry = simple_cache_entry("https://example.org/c.jpg", encoded(142))[:-10]
    assert _expand(entry, "e_0") == [ScanError(
        "e_0", "expand.chrome_cache", "damaged entry (version 5): no end record at its end "
        "(cut short?)")]


def test_block_file_pictures_by_offset() -> None:
    from documents_corpus.build_documents import chrome_block_file

    data, expected = chrome_block_file()
    assert sniff(data[:4096]).mime == "application/x-chrome-block-file"
    assert _expand(data, "Cache/data_2") == [
        (f"Cache/data_2{key}", hashlib.md5(body).hexdigest()) for key, body in expected.items()
    ]
