"""The document corpus scanned end to end by `vigil scan` (worker processes, one pass).

Every file's descendants in the case store are exactly those the builders put there,
with the exact MD5 where the bytes are stored, and every picture has a PDQ.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from documents_corpus.build_documents import corpus
from vigil.sources.expand.firefox_cache import kind_of
from vigil.sources.sniff import sniff


def test_scan_finds_every_picture_of_the_corpus(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    files = corpus()
    for name, (data, _) in files.items():
        (evidence / name).parent.mkdir(parents=True, exist_ok=True)
        (evidence / name).write_bytes(data)
    env = {**os.environ, "VIGIL_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "scan", str(evidence), "--case", "DOCS", "--exhibit",
         "E1", "-q", "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(tmp_path / "home" / "cases" / "DOCS.sqlite") as conn:
        found = {path: (md5, media, pdq) for path, md5, media, pdq in conn.execute(
            "select i.path, c.md5, c.media, c.pdq from items i "
            "left join contents c on c.id = i.content_id")}
        errors = conn.execute("select location, reason from errors").fetchall()
    want: dict[str, tuple[str | None, str]] = {}
    for name, (data, expected) in files.items():
        want[name] = (hashlib.md5(data).hexdigest(), kind_of(data[:4096], io.BytesIO(data)).media)
        for suffix, body in expected.items():
            if body is None:  # a bitmap vigil renders to PNG, or a re-serialised message
                want[name + suffix] = (None, "image" if suffix.endswith(".png") else "other")
            else:
                want[name + suffix] = (hashlib.md5(body).hexdigest(), sniff(body[:4096]).media)
    assert sorted(found) == sorted(want)
    for path, (md5, media) in want.items():
        assert found[path][1] == media, path
        if md5 is not None:
            assert found[path][0] == md5, path
        if media == "image":
            assert found[path][2] is not None, path
    assert sum(media == "image" for _m, media in want.values()) == 69
    assert errors == [
        ("crawl.warc!https://example.org/hill.jpg[#2]",
         "member name repeated in the container: occurrence 2"),
    ]
