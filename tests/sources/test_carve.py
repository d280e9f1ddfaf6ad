"""carve() on generated pictures placed in noise, and carving an image's free space."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import random
from pathlib import Path

from vigil.model import Item
from vigil.sources.carve import carve
from vigil.sources.image import iter_image

DISK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "disk"


def _picture():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(
        "build_dftt8", Path(__file__).resolve().parent / "build_dftt8.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.picture


picture = _picture()


def test_carve_finds_each_kind_exactly() -> None:
    rng = random.Random(5)
    pics = [picture(1), picture(2, "PNG"), picture(3, "GIF"), picture(4, size=(300, 200))]
    blob = bytearray(rng.randbytes(3000))
    spots = []
    for pic in pics:
        spots.append((len(blob), len(pic)))
        blob += pic + rng.randbytes(rng.randrange(100, 5000))
    # Truncated copies are not carved: they lack their end.
    blob += pics[0][:2000] + rng.randbytes(500) + pics[1][:1500] + rng.randbytes(500)
    found = list(carve(io.BytesIO(bytes(blob)), 0, len(blob)))
    assert [(o, n) for o, n, _ in found] == spots
    assert [k for _, _, k in found] == ["jpeg", "png", "gif", "jpeg"]


def test_carve_respects_range_and_noise() -> None:
    rng = random.Random(6)
    noise = bytearray(rng.randbytes(2_000_000))
    for offset in range(0, len(noise), 4099):  # plenty of false JPEG/GIF starts
        noise[offset : offset + 4] = b"\xff\xd8\xff\xe0" if offset % 2 else b"GIF8"
    assert list(carve(io.BytesIO(bytes(noise)), 0, len(noise))) == []
    pic = picture(7)
    data = b"x" * 100 + pic + b"y" * 100
    assert list(carve(io.BytesIO(data), 0, len(data))) == [(100, len(pic), "jpeg")]
    assert list(carve(io.BytesIO(data), 0, 100 + len(pic) - 1)) == []
    assert list(carve(io.BytesIO(data), 101, len(data) - 101)) == []


def test_carve_image_fat_exfat_and_unpartitioned_space_without_errors() -> None:
    for name in ("generated/gen_fat12.raw", "generated/gen_exfat.raw",
                 "generated/gen_mbr_disk.E01"):
        results = list(iter_image(DISK / name, carve=True))
        errors = [r for r in results if not isinstance(r, Item)]
        assert errors == [], name


def test_carve_unsupported_fs_is_reported() -> None:
    results = list(iter_image(DISK / "dfvfs" / "ext2.E01", carve=True))
    errors = [r for r in results if not isinstance(r, Item) and r.stage == "carve"]
    assert len(errors) == 1 and "EXT" in errors[0].reason


def test_carved_bytes_match_source(tmp_path: Path) -> None:
    pic = picture(9)
    disk = bytearray(DISK.joinpath("generated", "gen_fat12.raw").read_bytes())
    # Find a free data cluster through the carver's own FAT reading, then plant a picture.
    from vigil.sources.carve import free_ranges

    ranges = free_ranges("FAT12", io.BytesIO(bytes(disk)), None)
    start = next(o for o, n in reversed(ranges) if n >= len(pic))
    disk[start : start + len(pic)] = pic
    image = tmp_path / "planted.raw"
    image.write_bytes(bytes(disk))
    carved = [r for r in iter_image(image, carve=True) if isinstance(r, Item) and r.carved]
    hit = next(c for c in carved if c.offset == start)
    assert hit.path == f"FAT12/$Unallocated@{start}"
    with hit.open() as stream:
        assert hashlib.md5(stream.read()).hexdigest() == hashlib.md5(pic).hexdigest()
