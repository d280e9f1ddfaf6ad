"""A worker opens an image's listed items from their locators: it never walks or carves.

The coordinator lists the image once; each unit carries its items (detached from their
openers, as they travel to a worker process). Here the walk, the deleted-file walk and
the carver are made to fail inside the worker, so the unit's records can only come
from the locators; they must equal what the listing's own openers read.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.model import Item
from vigil.pipeline import units
from vigil.pipeline.scan import ScanSettings
from vigil.sources import carve, deleted, image

DISK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "disk"
IMAGES = [
    "generated/gen_ntfs.raw",  # allocated, alternate data streams, deleted (inode)
    "generated/gen_fat12.raw",
    "generated/gen_mbr_disk.E01",  # partitions inside an E01
    "dfvfs/ext2.qcow2",
    "dfvfs/vsstest.qcow2",
]


def _planted_disk(folder: Path) -> Path:
    """An MBR disk (sfdisk): FAT12 at sector 2048 with a picture in its free clusters,
    and a second picture in the gap before the partition (unpartitioned space)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
    from build_dftt8 import picture

    fat = bytearray((DISK / "generated" / "gen_fat12.raw").read_bytes())
    free = carve.free_ranges("FAT12", io.BytesIO(bytes(fat)), None)
    first, second = picture(3), picture(4)
    start = next(o for o, n in reversed(free) if n >= len(first))
    fat[start : start + len(first)] = first
    disk = folder / "planted.raw"
    with disk.open("wb") as f:
        f.truncate(2048 * 512 + len(fat))
    subprocess.run(["sfdisk", "-q", str(disk)], check=True,
                   input=f"label: dos\nstart=2048, size={len(fat) // 512}, type=1\n".encode())
    data = bytearray(disk.read_bytes())
    data[2048 * 512 :] = fat
    data[64 * 512 : 64 * 512 + len(second)] = second
    disk.write_bytes(bytes(data))
    return disk


def _md5(item: Item) -> str:
    with item.open() as stream:
        return hashlib.md5(stream.read()).hexdigest()


def _forbid(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("a worker walked the image")


@pytest.mark.parametrize(
    ("name", "kinds"),
    [(name, {"entry", "inode"}) for name in IMAGES[:3]]
    + [(name, {"entry"}) for name in IMAGES[3:]]
    + [("planted", {"entry", "inode", "runs", "layer-runs"})],
)
def test_unit_items_open_from_locators_alone(
    name: str, kinds: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = _planted_disk(tmp_path) if name == "planted" else DISK / name
    listed = [e for e in image.iter_image(evidence, carve=True) if isinstance(e, Item)]
    expected = {item.path: _md5(item) for item in listed}
    assert {item.locator.how for item in listed if item.locator} == kinds
    assert all(item.locator is not None for item in listed)
    top = [(item.path, item.size) for item in listed]
    # As an executor sends them to a worker process: pickled.
    plan = pickle.loads(pickle.dumps(units.plan_units(evidence, "image", top, listed)))
    monkeypatch.setattr(image, "_walk", _forbid)
    monkeypatch.setattr(deleted, "iter_deleted", _forbid)
    monkeypatch.setattr(carve, "carve_file_system", _forbid)
    monkeypatch.setattr(units, "_WORKERS", {})
    settings = ScanSettings(carve=True).as_dict()
    found: dict[str, str | None] = {}
    for unit in plan:
        for batch in units.run_unit(unit, settings, str(tmp_path), None, 1):
            for record in batch.records:
                if record.item.path in expected:
                    found[record.item.path] = record.hashes.md5 if record.hashes else None
    assert found == expected
