"""Build a small NTFS image modelled on DFTT test #8 ("JPEG search"), seeded and benign.

Every picture is drawn with Pillow from a seed (gradients, ellipses, noise). The image
holds: a JPEG with the right extension, one with a wrong extension, a deleted one, a
deleted one with an odd extension, one in a zip, one in a zip renamed ``.boo``, one in a
``.docx``, one in an NTFS alternate data stream, three decoys that are not pictures, and
a picture written only to unallocated clusters (found only by carving).

Needs root, ``mkntfs`` and ``ntfs-3g`` (Debian ``ntfs-3g``) and FUSE: the files are
written and deleted through an ``ntfs-3g`` mount. Run directly to build into a folder:

    python tests/sources/build_dftt8.py /tmp/dftt8 [seed]

``build(folder, seed)`` returns the image path; ``manifest.json`` beside it maps each
expected picture provenance (``NTFS/...``) to its MD5, and lists the decoys.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

IMAGE_BYTES = 8 * 1024 * 1024
CLUSTER = 4096


def picture(seed: int, fmt: str = "JPEG", size: tuple[int, int] = (96, 64)) -> bytes:
    """A small seeded picture of a gradient, a few ellipses and noise, encoded as ``fmt``.

    Args:
        seed: RNG seed; the same seed gives the same bytes.
        fmt: Pillow format name (JPEG, PNG, GIF ...).
        size: Width and height.

    Returns:
        The encoded picture.
    """
    rng = random.Random(seed)
    w, h = size
    image = Image.new("RGB", size)
    px = image.load()
    a, b = rng.randrange(256), rng.randrange(256)
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 255 // w + a) % 256, (y * 255 // h + b) % 256, rng.randrange(256))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x0, y0, x0 + rng.randrange(8, 30), y0 + rng.randrange(8, 30)), fill=fill)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=90)
    else:
        image.save(out, fmt)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 5)), data)
    return out.getvalue()


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def build(folder: Path, seed: int = 8) -> Path:
    """Build (or reuse, if already built for ``seed``) the DFTT-#8-like image.

    Args:
        folder: Output folder; ``dftt8-<seed>.raw`` and ``manifest.json`` go there.
        seed: Seed of every picture and decoy.

    Returns:
        Path of the raw NTFS image.
    """
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / f"dftt8-{seed}.raw"
    manifest_path = folder / "manifest.json"
    if image.exists() and manifest_path.exists():
        return image
    for tool in ("mkntfs", "ntfs-3g", "umount"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found (Debian package ntfs-3g)")
    rng = random.Random(seed)
    pics = {name: picture(seed * 100 + i) for i, name in enumerate(
        ["right", "wrong", "deleted", "deleted_odd", "zip", "boo", "docx", "ads", "unalloc"]
    )}
    docx = _zip({
        "[Content_Types].xml": b"<Types/>",
        "word/document.xml": b"<w:document/>",
        "word/media/image1.jpeg": pics["docx"],
    })
    random_bytes = rng.randbytes(6000)
    ffd8 = b"\xff\xd8" + bytes([rng.randrange(0, 0xFF)]) + rng.randbytes(5997)
    multi = bytearray(b"\x00" + rng.randbytes(5999))
    for offset in (100, 1000, 2500, 4000):
        multi[offset : offset + 2] = b"\xff\xd8"
    files = {
        "pictures/right.jpg": pics["right"],
        "pictures/wrong.dat": pics["wrong"],
        "deleted.jpg": pics["deleted"],
        "deleted_odd.xyz": pics["deleted_odd"],
        "archive.zip": _zip({"inside.jpg": pics["zip"]}),
        "archive.boo": _zip({"inside2.jpg": pics["boo"]}),
        "report.docx": docx,
        "notes.txt": b"meeting notes, nothing to see here\n" * 40,
        "decoys/random.jpg": random_bytes,
        "decoys/ffd8.jpg": ffd8,
        "decoys/multi.bin": bytes(multi),
    }
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "ntfs.raw"
        with raw.open("wb") as f:
            f.truncate(IMAGE_BYTES)
        _run("mkntfs", "-F", "-q", "-Q", "-c", str(CLUSTER), "-L", "DFTT8", str(raw))
        mount = Path(tmp) / "mnt"
        mount.mkdir()
        _run("ntfs-3g", "-o", "streams_interface=windows", str(raw), str(mount))
        try:
            for name, data in files.items():
                target = mount / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            (mount / "notes.txt:hidden.jpg").write_bytes(pics["ads"])
            (mount / "deleted.jpg").unlink()
            (mount / "deleted_odd.xyz").unlink()
        finally:
            _run("umount", str(mount))
        offset = _free_cluster_offset(raw, len(pics["unalloc"]))
        with raw.open("r+b") as f:
            f.seek(offset)
            f.write(pics["unalloc"])
        shutil.copyfile(raw, image)
    md5 = {k: hashlib.md5(v).hexdigest() for k, v in pics.items()}
    manifest = {
        "pictures": {
            "NTFS/pictures/right.jpg": md5["right"],
            "NTFS/pictures/wrong.dat": md5["wrong"],
            "NTFS/deleted.jpg": md5["deleted"],
            "NTFS/deleted_odd.xyz": md5["deleted_odd"],
            "NTFS/archive.zip!inside.jpg": md5["zip"],
            "NTFS/archive.boo!inside2.jpg": md5["boo"],
            "NTFS/report.docx!word/media/image1.jpeg": md5["docx"],
            "NTFS/notes.txt:hidden.jpg": md5["ads"],
            f"NTFS/$Unallocated@{offset}": md5["unalloc"],
        },
        "deleted": ["NTFS/deleted.jpg", "NTFS/deleted_odd.xyz"],
        "decoys": ["NTFS/decoys/random.jpg", "NTFS/decoys/ffd8.jpg", "NTFS/decoys/multi.bin"],
        "unallocated_offset": offset,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return image


def _free_cluster_offset(raw: Path, size: int) -> int:
    """Byte offset of the last run of free clusters that can hold ``size`` bytes."""
    import pytsk3

    fs = pytsk3.FS_Info(pytsk3.Img_Info(str(raw)))
    bitmap_file = fs.open("/$Bitmap")
    bitmap = bitmap_file.read_random(0, int(bitmap_file.info.meta.size))
    clusters = IMAGE_BYTES // CLUSTER
    need = -(-size // CLUSTER) + 2
    run = 0
    # Search from the end, away from where ntfs-3g put the (deleted) files.
    for cluster in range(clusters - 2, 0, -1):
        used = bitmap[cluster >> 3] >> (cluster & 7) & 1
        run = 0 if used else run + 1
        if run == need:
            return (cluster + 1) * CLUSTER
    raise RuntimeError("no free clusters for the unallocated picture")


if __name__ == "__main__":
    out = build(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 8)
    print(out)
