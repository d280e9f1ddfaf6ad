"""SQLite: pictures in BLOB cells of any table, and deleted ones left in the file."""

from __future__ import annotations

import hashlib
import io

from documents_corpus.build_documents import chat_database
from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff


def test_blob_pictures_and_a_deleted_thumbnail() -> None:
    data, expected = chat_database()
    assert sniff(data[:4096]).mime == "application/vnd.sqlite3"
    results = list(expand_tree(Item(path="chat.db", open=lambda: io.BytesIO(data),
                                    size=len(data))))
    assert [r for r in results if isinstance(r, ScanError)] == []
    items = {r.path: hashlib.md5(r.open().read()).hexdigest()
             for r in results if isinstance(r, Item)}
    assert items == {
        ("chat.db" + ("" if p.startswith("@") else "!") + p): hashlib.md5(d).hexdigest()
        for p, d in expected.items()
    }


def test_damaged_database_is_a_record() -> None:
    data = b"SQLite format 3\x00" + b"\xff" * 2000
    results = list(expand_tree(Item(path="x.db", open=lambda: io.BytesIO(data), size=len(data))))
    assert len(results) == 1 and isinstance(results[0], ScanError)
    assert results[0].location == "x.db" and results[0].stage == "expand.sqlite"


def test_safari_cache_db_bodies(tmp_path) -> None:  # noqa: ANN001
    import sqlite3

    from documents_corpus.build_documents import encoded

    bodies = {7: encoded(190), 8: encoded(191, "PNG")}
    path = tmp_path / "Cache.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE cfurl_cache_response (entry_ID INTEGER PRIMARY KEY "
                     "AUTOINCREMENT UNIQUE, request_key TEXT UNIQUE)")
        conn.execute("CREATE TABLE cfurl_cache_receiver_data (entry_ID INTEGER PRIMARY KEY, "
                     "isDataOnFS INTEGER, receiver_data BLOB)")
        for entry, body in bodies.items():
            conn.execute("INSERT INTO cfurl_cache_response VALUES (?, ?)",
                         (entry, f"https://example.org/{entry}"))
            conn.execute("INSERT INTO cfurl_cache_receiver_data VALUES (?, 0, ?)", (entry, body))
    data = path.read_bytes()
    results = list(expand_tree(Item(path="Cache.db", open=lambda: io.BytesIO(data),
                                    size=len(data))))
    assert [(r.path, hashlib.md5(r.open().read()).hexdigest()) for r in results] == [
        (f"Cache.db!BLOB(cfurl_cache_receiver_data.receiver_data,rowid={e})",
         hashlib.md5(b).hexdigest()) for e, b in bodies.items()
    ]
