"""Contract every registered reader keeps, whatever file it is handed."""

from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType

import pytest

from vigil.errors import HashSetFormatError
from vigil.hashsets import formats
from vigil.hashsets.entry import HashEntry, Malformed, Truncated

from .conftest import FIXTURE_FILES, FIXTURES

READERS = sorted(formats.FORMATS)


def _garbage_files(folder: Path) -> list[Path]:
    rng = random.Random(1234)
    contents = {
        "empty.bin": b"",
        "random.bin": bytes(rng.randrange(256) for _ in range(5000)),
        "zeros.bin": bytes(2000),
        "json_array.json": b'[{"MD5": "d41d8cd98f00b204e9800998ecf8427e"}]',
        "json_other.json": b'{"odata.metadata": "http://example.org/other.xml#Media", "value": []}',
        "truncated.json": b'\xef\xbb\xbf{"@odata.context": "http://github.com/VICSDATAMODEL/'
        b'ProjectVic/DataModels/2.0.xml/Default/$metadata#Media", "value": [{"MD5": "d41d8',
        "sqlite_magic_only.db": b"SQLite format 3\x00" + bytes(200),
        "encase_magic_only.hash": b"HASH\r\n\xff\x00" + bytes(100),
        "latin1.txt": "caf\xe9 \xff\n".encode("latin-1"),
    }
    paths = []
    for name, data in contents.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def _read_all(module: ModuleType, path: Path) -> list[HashEntry | Malformed | Truncated]:
    return list(module.read(path))


@pytest.mark.parametrize("reader", READERS)
def test_reader_module_shape(reader: str) -> None:
    module = formats.FORMATS[reader]
    assert reader == module.NAME
    assert callable(module.sniff) and callable(module.read)
    assert isinstance(module.HAS_CATEGORIES, bool)


SHARED = FIXTURES.parents[1]
# A PDQ list is the same shape as a SHA-256 list by design: naming the format decides.
AMBIGUOUS = {"pdq": {"plain_sha256.txt"}}


def _own_fixtures(reader: str, tmp_path: Path) -> list[Path]:
    own = [FIXTURES / name for name, spec in FIXTURE_FILES.items() if spec[0] == reader]
    if reader == "vpdq":
        own.append(SHARED / "reference" / "vpdq" / "sample-hashes" / "doorknob-hd-no-bar.txt")
    if reader == "pdq":
        rows = (SHARED / "reference" / "pdq" / "expected_pdq.csv").read_text().splitlines()[1:]
        hashes = sorted({row.split(",")[1] for row in rows})
        path = tmp_path / "bank.pdq"
        path.write_text("# benign reference pictures\n" + "".join(
            f"{h},{i % 3}\n" for i, h in enumerate(hashes)
        ))
        own.append(path)
    return own


@pytest.mark.parametrize("reader", READERS)
def test_reader_is_deterministic_on_its_own_fixtures(reader: str, tmp_path: Path) -> None:
    own = _own_fixtures(reader, tmp_path)
    assert own, f"no fixture for reader {reader}"
    module = formats.FORMATS[reader]
    for path in own:
        records = _read_all(module, path)
        assert records and all(isinstance(r, HashEntry) for r in records)
        assert records == _read_all(module, path)
        assert module.sniff(path.read_bytes()[:65536], path) == getattr(
            module, "AUTO_DETECT", True
        )


@pytest.mark.parametrize("reader", READERS)
def test_reader_rejects_other_formats(reader: str, tmp_path: Path) -> None:
    module = formats.FORMATS[reader]
    foreign = [
        FIXTURES / n
        for n, spec in FIXTURE_FILES.items()
        if spec[0] != reader and n not in AMBIGUOUS.get(reader, set())
    ]
    for path in foreign + _garbage_files(tmp_path):
        try:
            records = _read_all(module, path)
        except HashSetFormatError:
            continue
        # Anything else raised fails the test by propagating.
        assert all(isinstance(r, Malformed | Truncated) for r in records), (
            f"{reader} accepted {path.name}"
        )
        assert _read_all(module, path) == records


@pytest.mark.parametrize("reader", READERS)
def test_sniff_never_claims_another_formats_fixture(reader: str) -> None:
    module = formats.FORMATS[reader]
    for name, spec in FIXTURE_FILES.items():
        if spec[0] == reader:
            continue
        path = FIXTURES / name
        if module.sniff(path.read_bytes()[:65536], path):
            # Only a later (more generic) reader may also accept; detect() picks the first.
            order = list(formats.FORMATS)
            assert order.index(reader) > order.index(spec[0]), f"{reader} claims {name}"
