"""Property lists: Safari web archives by URL, pictures in any plist by key path."""

from __future__ import annotations

import hashlib

from documents_corpus.build_documents import app_plist, safari_webarchive
from documents_corpus.expansion import expand_md5
from vigil.model import ScanError
from vigil.sources.sniff import sniff

_expand = expand_md5


def _md5s(name: str, expected: dict[str, bytes]) -> list[tuple[str, str]]:
    return [(f"{name}!{key}", hashlib.md5(data).hexdigest()) for key, data in expected.items()]


def test_webarchive_resources_by_url() -> None:
    data, expected = safari_webarchive()
    assert sniff(data[:4096]).mime == "application/x-bplist"
    assert _expand(data, "page.webarchive") == _md5s("page.webarchive", expected)


def test_pictures_in_an_app_plist() -> None:
    data, expected = app_plist()
    assert sniff(data[:4096]).mime == "application/x-plist"
    assert _expand(data, "Settings.plist") == _md5s("Settings.plist", expected)


def test_damaged_plist_is_a_record() -> None:
    data = safari_webarchive()[0][:-40]
    results = _expand(data, "cut.webarchive")
    assert len(results) == 1 and isinstance(results[0], ScanError)
    assert results[0].reason.startswith("not a readable property list")
