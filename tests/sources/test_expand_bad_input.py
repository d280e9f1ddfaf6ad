"""Bombs, recursion, encryption and corrupt containers end as ScanErrors, never crashes."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.expand import Budget, Limits, expander_for
from vigil.sources.expand.recurse import expand_tree


def bytes_item(data: bytes, name: str) -> Item:
    return Item(path=name, open=lambda: io.BytesIO(data), size=len(data))


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def expand(mime: str, data: bytes, name: str = "c", limits: Limits | None = None) -> list:
    """Run one expander over ``data``; members are read (and dropped) as they stream out."""
    item = bytes_item(data, name)
    budget = Budget(name, limits or Limits(), size=len(data))
    out: list = []
    for found in expander_for(mime)(item, io.BytesIO(data), budget):  # type: ignore[misc]
        if isinstance(found, ScanError):
            out.append(found)
        else:
            try:
                out.append((found.name, len(found.stream.read())))
            except OSError as exc:
                out.append((found.name, str(exc)))
    return out


def test_ratio_is_no_reason_to_refuse_a_member() -> None:
    # 20 MiB of zeros from a 20 kB zip (ratio 1000): inside the byte budget, so read.
    bomb = make_zip({"ok.txt": b"fine", "zeros.bin": bytes(20 * 1024 * 1024)})
    results = list(expand_tree(bytes_item(bomb, "bomb.zip")))
    assert [r for r in results if isinstance(r, ScanError)] == []
    assert [(r.path, r.size) for r in results if isinstance(r, Item)] == [
        ("bomb.zip!ok.txt", 4),
        ("bomb.zip!zeros.bin", 20 * 1024 * 1024),
    ]


def test_byte_budget_keeps_what_came_before() -> None:
    bomb = make_zip({"ok.txt": b"fine", "zeros.bin": bytes(20 * 1024 * 1024)})
    limits = Limits(min_bytes=1024 * 1024, max_ratio=10)
    results = list(expand_tree(bytes_item(bomb, "bomb.zip"), limits))
    assert [r.path for r in results if isinstance(r, Item)] == ["bomb.zip!ok.txt"]
    errors = [r for r in results if isinstance(r, ScanError)]
    assert len(errors) == 1 and errors[0].location == "bomb.zip"
    assert errors[0].stage == "budget"
    assert errors[0].reason.startswith("bytes budget: more than 1048576 expanded bytes")


def test_member_budget() -> None:
    data = make_zip({f"f{i}.txt": b"x" * 100 for i in range(10)}, zipfile.ZIP_STORED)
    results = list(expand_tree(bytes_item(data, "a.zip"), Limits(max_members=3)))
    assert [r.path for r in results if isinstance(r, Item)] == [
        "a.zip!f0.txt",
        "a.zip!f1.txt",
        "a.zip!f2.txt",
    ]
    assert results[-1] == ScanError(
        "a.zip", "budget", "members budget: more than max_members=3 members"
    )


def test_gzip_bomb_stops_at_the_byte_budget() -> None:
    bomb = gzip.compress(bytes(30 * 1024 * 1024))
    whole = list(expand_tree(bytes_item(bomb, "z.gz")))
    assert [(r.path, r.size) for r in whole if isinstance(r, Item)] == [("z.gz!z", None)]
    stopped = list(expand_tree(bytes_item(bomb, "z.gz"), Limits(min_bytes=1024 * 1024)))
    assert [r for r in stopped if isinstance(r, Item)] == []
    assert len(stopped) == 1 and stopped[0].reason.startswith("bytes budget")


def test_nested_zips_stop_at_depth_budget() -> None:
    data = b"deepest"
    name = "leaf.txt"
    for level in range(12):
        data = make_zip({name: data})
        name = f"level{level}.zip"
    results = list(expand_tree(bytes_item(data, "top.zip"), Limits(max_depth=5)))
    items = [r for r in results if isinstance(r, Item)]
    errors = [r for r in results if isinstance(r, ScanError)]
    assert max(i.depth for i in items) == 5
    assert len(errors) == 1 and errors[0].location.count("!") == 5
    assert errors[0].reason.startswith("depth budget: members would be deeper than max_depth=5")


def test_self_containing_content_is_stopped() -> None:
    # A container whose child has the same bytes as the container (as in a zip quine):
    # the child's expansion is refused by the ancestor-content check.
    inner = make_zip({"x.txt": b"x"})
    gz = gzip.compress(inner)

    results = list(expand_tree(bytes_item(gz, "a.gz")))
    assert [r.path for r in results if isinstance(r, Item)] == ["a.gz!a", "a.gz!a!x.txt"]
    same = Item(path="q.gz!q.gz", open=lambda: io.BytesIO(gz), size=len(gz), depth=1,
                parent="q.gz")
    digest = hashlib.sha1(gz).hexdigest()
    stopped = list(expand_tree(same, None, frozenset({digest})))
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
    whole = make_zip({"a.txt": b"hello" * 1000, "b.txt": b"world" * 1000})
    # The first member is whole before the cut: kept, then a record of the damage.
    assert expand("application/zip", whole[: len(whole) // 2]) == [
        ("a.txt", 5000),
        ("b.txt", "member data damaged: ZIP decompression failed (-5)"),
        ScanError("c", "expand.archive", "archive read stopped after 2 entries: "
                  "Truncated input file (needed 5 bytes, only 0 available)"),
    ]
    for mime, data in (
        ("application/gzip", gzip.compress(bytes(range(256)) * 40)[:60]),
        ("application/x-7z-compressed", b"7z\xbc\xaf\x27\x1c" + b"\0" * 30),
        ("application/vnd.rar", b"Rar!\x1a\x07\x01\x00" + b"\xff" * 30),
        ("application/pdf", b"%PDF-1.4\n1 0 obj << /Subtype /Image /Filter /DCTDecode"),
        ("application/x-ole-storage", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600),
        ("application/x-tar", b"\0" * 100 + b"garbage" * 100),
    ):
        results = expand(mime, data)
        assert results and all(isinstance(r, ScanError) for r in results), (mime, results)


def test_pdf_with_long_digit_runs_yields_its_picture() -> None:
    # Runs of 100,000 digits made the old object regex backtrack for minutes.
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"
    digits = b" ".join(b"%d" % i * 100_000 for i in range(4))
    pdf = (
        b"%PDF-1.4\n1 0 obj\n<< /Length " + b"%d" % len(digits) + b" >>\nstream\n" + digits
        + b"\nendstream\nendobj\n2 0 obj\n<< /Subtype /Image /Filter /DCTDecode /Length "
        + b"%d" % len(jpeg) + b" >>\nstream\n" + jpeg + b"\nendstream\nendobj\n%%EOF\n"
    )
    results = list(expand_tree(bytes_item(pdf, "numbers.pdf")))
    assert [(r.path, r.open().read()) for r in results if isinstance(r, Item)] == [
        ("numbers.pdf!obj[2 0]", jpeg)
    ]
    assert [r.reason for r in results if isinstance(r, ScanError)] == [
        "damaged: no usable trailer or page tree; objects found by a scan"
    ]
