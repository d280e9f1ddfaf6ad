"""WARC web archives: response and resource bodies by target URI."""

from __future__ import annotations

import hashlib

from documents_corpus.build_documents import warc_crawl
from documents_corpus.expansion import expand_md5
from vigil.model import ScanError
from vigil.sources.sniff import sniff

_expand = expand_md5


def test_responses_and_resources() -> None:
    data, expected = warc_crawl()
    assert sniff(data[:4096]).mime == "application/warc"
    results = _expand(data, "crawl.warc")
    assert [r for r in results if not isinstance(r, ScanError)] == [
        (f"crawl.warc!{uri}", hashlib.md5(body).hexdigest()) for uri, body in expected
    ]
    # The refetched URI is a second item with a record, never a silent drop.
    assert [r.reason for r in results if isinstance(r, ScanError)] == [
        "member name repeated in the container: occurrence 2"
    ]


def test_gzipped_warc_is_walked_through_gzip() -> None:
    data, expected = warc_crawl(gzipped=True)
    assert sniff(data[:4096]).mime == "application/gzip"
    items = [r for r in _expand(data, "crawl.warc.gz") if not isinstance(r, ScanError)]
    assert items[1:] == [
        (f"crawl.warc.gz!crawl.warc!{uri}", hashlib.md5(body).hexdigest())
        for uri, body in expected
    ]


def test_cut_record_is_a_record() -> None:
    data, expected = warc_crawl()
    cut = data[: data.index(expected[1][1][:64]) + 10]
    results = _expand(cut, "cut.warc")
    assert results[0] == ("cut.warc!" + expected[0][0],
                          hashlib.md5(expected[0][1]).hexdigest())
    assert isinstance(results[-1], ScanError)
    assert results[-1].reason.endswith("runs past the end of the file (cut short?)")
