"""Bombs, recursion, encryption and corrupt containers end as ScanErrors, never crashes."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, expander_for
from vigil.sources.expand.recurse import expand_tree


def bytes_item(data: bytes, name: str) -> Item:
    return Item(path=name, open=lambda: io.BytesIO(data), size=len(data))


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_zip_bomb_hits_ratio_limit() -> None:
    bomb = make_zip({"zeros.bin": bytes(20 * 1024 * 1024), "ok.txt": b"fine"})
    results = list(expand_tree(bytes_item(bomb, "bomb.zip")))
    errors = [r for r in results if isinstance(r, ScanError)]
    assert len(errors) == 1
    assert errors[0].location == "bomb.zip!zeros.bin"
    assert "expansion ratio limit" in errors[0].reason
    assert [r.path for r in results if isinstance(r, Item)] == ["bomb.zip!ok.txt"]


def test_total_bytes_and_entry_limits() -> None:
    data = make_zip({f"f{i}.txt": b"x" * 100 for i in range(10)}, zipfile.ZIP_STORED)
    limits = Limits(max_total_bytes=450, max_entries=100)
    results = list(expander_for("application/zip")(bytes_item(data, "a.zip"), limits))  # type: ignore[misc]
    assert sum(isinstance(r, Item) for r in results) == 4
    assert all("total bytes limit" in r.reason for r in results if isinstance(r, ScanError))
    limits = Limits(max_entries=3)
    results = list(expander_for("application/zip")(bytes_item(data, "a.zip"), limits))  # type: ignore[misc]
    assert sum(isinstance(r, Item) for r in results) == 3
    assert "entry limit" in results[-1].reason  # type: ignore[union-attr]


def test_gzip_bomb_hits_ratio_limit() -> None:
    bomb = gzip.compress(bytes(30 * 1024 * 1024))
    results = list(expand_tree(bytes_item(bomb, "z.gz")))
    assert len(results) == 1 and isinstance(results[0], ScanError)
    assert "expansion ratio limit" in results[0].reason


def test_nested_zips_stop_at_depth_limit() -> None:
    data = b"deepest"
    name = "leaf.txt"
    for level in range(12):
        data = make_zip({name: data})
        name = f"level{level}.zip"
    results = list(expand_tree(bytes_item(data, "top.zip"), Limits(max_depth=5)))
    items = [r for r in results if isinstance(r, Item)]
    errors = [r for r in results if isinstance(r, ScanError)]
    assert max(i.depth for i in items) == 5
    assert len(errors) == 1 and "depth limit" in errors[0].reason
    assert errors[0].location.count("!") == 5


def test_self_containing_content_is_stopped() -> None:
    # A container whose child has the same bytes as the container (as in a zip quine):
    # the child's expansion is refused by the ancestor-content check.
    inner = make_zip({"x.txt": b"x"})
    gz = gzip.compress(inner)

    results = list(expand_tree(bytes_item(gz, "a.gz")))
    assert [r.path for r in results if isinstance(r, Item)] == ["a.gz!a", "a.gz!a!x.txt"]
    quine = bytes_item(gz, "q.gz")
    same = Item(path="q.gz!q.gz", open=lambda: io.BytesIO(gz), size=len(gz), depth=1,
                parent="q.gz")
    from vigil.sources.expand import recurse

    digest = recurse._digest(quine)
    stopped = list(recurse.expand_tree(same, None, frozenset({digest})))
    assert len(stopped) == 1 and "recursion" in stopped[0].reason  # type: ignore[union-attr]


def _mark_encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' flag bit in every local and central header of a stored zip."""
    buf = bytearray(data)
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = buf.find(sig)
        while i != -1:
            buf[i + flag_at] |= 0x01
            i = buf.find(sig, i + 4)
    return bytes(buf)


def test_encrypted_zip_lists_names_and_reports() -> None:
    data = _mark_encrypted(make_zip({"a.jpg": b"A" * 64, "b.txt": b"B" * 64}, zipfile.ZIP_STORED))
    results = list(expand_tree(bytes_item(data, "locked.zip")))
    items = [r for r in results if isinstance(r, Item)]
    assert sorted(i.path for i in items) == ["locked.zip!a.jpg", "locked.zip!b.txt"]
    assert all(i.encrypted for i in items)
    errors = [r for r in results if isinstance(r, ScanError)]
    assert len(errors) == 1 and errors[0].reason.startswith("encrypted")


def test_truncated_containers(tmp_path: Path) -> None:
    whole = make_zip({"a.txt": b"hello" * 1000})
    for mime, data in (
        ("application/zip", whole[: len(whole) // 2]),
        ("application/gzip", gzip.compress(bytes(range(256)) * 40)[:60]),
        ("application/x-7z-compressed", b"7z\xbc\xaf\x27\x1c" + b"\0" * 30),
        ("application/vnd.rar", b"Rar!\x1a\x07\x01\x00" + b"\xff" * 30),
        ("application/pdf", b"%PDF-1.4\n1 0 obj << /Subtype /Image /Filter /DCTDecode"),
        ("application/x-ole-storage", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600),
        ("application/x-tar", b"\0" * 100 + b"garbage" * 100),
    ):
        results = list(expander_for(mime)(bytes_item(data, "c"), Limits()))  # type: ignore[misc]
        assert all(isinstance(r, ScanError) for r in results), mime
