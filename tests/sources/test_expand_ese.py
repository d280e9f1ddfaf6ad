"""ESE databases: pictures in binary values, real Windows-written files, damage."""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff

DATA = Path(__file__).parent / "ese_data"
# The two values of binary.edb's record that pictures are written over (by their first
# bytes, as the database holds them) and their stored lengths.
OVERWRITTEN = {"FixedBinary": (b"test fixed binary data", 255),
               "LongBinary": (b"test long binary data", 1022)}


def _gradient_png(side: int, length: int) -> bytes:
    y, x = np.mgrid[0:side, 0:side]
    pixels = np.stack([x * 255 // side, y * 255 // side, (x + y) * 127 // side], -1)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, "PNG", optimize=True)
    assert len(out.getvalue()) <= length
    return out.getvalue().ljust(length, b"\x00")


def _database(name: str) -> bytes:
    return gzip.decompress((DATA / f"{name}.gz").read_bytes())


def binary_pictures() -> bytes:
    """binary.edb with its fixed-binary and long-binary values overwritten by PNGs."""
    data = bytearray(_database("binary.edb"))
    for side, (start, length) in zip((32, 40), OVERWRITTEN.values(), strict=True):
        at = bytes(data).index(start)
        assert bytes(data).count(start) == 1
        data[at : at + length] = _gradient_png(side, length)
    return bytes(data)


def _esedbexport(path: Path, table: str, tmp: Path) -> dict[str, str]:
    """The first record of ``table`` as ``esedbexport`` (libesedb) writes it."""
    subprocess.run(["esedbexport", "-t", str(tmp / "x"), str(path)], check=True,
                   capture_output=True)
    (export,) = (tmp / "x.export").glob(f"{table}.*")
    header, first = export.read_text().splitlines()[:2]
    return dict(zip(header.split("\t"), first.split("\t"), strict=True))


def _expand(name: str, data: bytes) -> list[Item | ScanError]:
    return list(expand_tree(Item(path=name, open=lambda: io.BytesIO(data), size=len(data))))


def test_pictures_in_binary_values_match_esedbexport(tmp_path: Path) -> None:
    data = binary_pictures()
    path = tmp_path / "binary-pictures.edb"
    path.write_bytes(data)
    assert sniff(data[:4096]).mime == "application/x-ese-database"
    record = _esedbexport(path, "binary", tmp_path)
    expected = {f"binary-pictures.edb!ESE(binary.{column},record=1)":
                hashlib.md5(bytes.fromhex(record[column])).hexdigest()
                for column in OVERWRITTEN}
    results = _expand("binary-pictures.edb", data)
    assert [r for r in results if isinstance(r, ScanError)] == []
    found = {r.path: hashlib.md5(r.open().read()).hexdigest()
             for r in results if isinstance(r, Item)}
    # Each picture once: the carve of the pages does not report them again as @offset.
    assert found == expected


def test_real_databases_hold_no_pictures_and_read_without_error() -> None:
    for name in ("binary.edb", "SRUDB.dat", "Current.mdb"):
        data = _database(name)
        assert sniff(data[:4096]).mime == "application/x-ese-database", name
        # Independent check that there is nothing to find: no picture signature at all.
        assert not any(sig in data for sig in (b"\xff\xd8\xff", b"\x89PNG", b"GIF8")), name
        assert _expand(name, data) == [], name


def test_truncated_database_is_a_record_and_the_walk_goes_on() -> None:
    data = binary_pictures()
    cut = data[: len(data) // 8]
    results = _expand("cut.edb", cut)
    errors = [r for r in results if isinstance(r, ScanError)]
    assert errors and all(e.stage == "expand.ese" for e in errors)
    assert errors[0].location.startswith("cut.edb")


ROOT = Path(__file__).resolve().parents[2]
DISSECT_TARGET = ROOT / ".cache" / "testdata" / "dissect.target-3.10.tar.gz"
DISSECT_TARGET_SHA256 = "7afc64533b92e3b5076a2b9d132c0e04c33def7ceb4d9141171fe37d7b17402b"


def test_real_ie_web_cache_reads_without_error(tmp_path: Path) -> None:
    """A WebCacheV01.dat written by Windows (from dissect.target's test data, fetched by
    ``make test``): 46 tables, its cache entries name INetCache files, no picture inside."""
    import tarfile

    if not DISSECT_TARGET.exists():  # fails, never skips
        raise FileNotFoundError(f"{DISSECT_TARGET} is missing: `make test` fetches it")
    raw = DISSECT_TARGET.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == DISSECT_TARGET_SHA256
    with tarfile.open(DISSECT_TARGET) as tar:
        member = tar.extractfile(
            "dissect.target-3.10/tests/data/plugins/browsers/iexplore/WebCacheV01.dat.gz")
        assert member is not None
        data = gzip.decompress(member.read())
    assert sniff(data[:4096]).mime == "application/x-ese-database"
    path = tmp_path / "WebCacheV01.dat"
    path.write_bytes(data)
    record = _esedbexport(path, "Containers", tmp_path)
    assert record["Name"] == "Content" and record["Directory"].endswith("INetCache\\\\IE\\\\")
    assert len(list((tmp_path / "x.export").iterdir())) == 46
    assert not any(sig in data for sig in (b"\xff\xd8\xff", b"\x89PNG", b"GIF8"))
    assert _expand("WebCacheV01.dat", data) == []


def test_records_libesedb_refuses_are_read_again_by_dissect() -> None:
    """The second reader gives the same members for a record as the first."""
    from vigil.sources.expand.ese import _Fallback

    data = binary_pictures()
    item = Item(path="b.edb", open=lambda: io.BytesIO(data), size=len(data))
    again = list(_Fallback(io.BytesIO(data)).records(item, "binary", list(OVERWRITTEN), [0]))
    first = [r for r in _expand("b.edb", data) if isinstance(r, Item)]
    assert [m.name for m in again] == [r.path.removeprefix("b.edb!") for r in first]
    assert [m.stream.getvalue() for m in again] == [r.open().read() for r in first]
