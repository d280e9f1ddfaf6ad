"""Archives against the same pictures as a folder: one pass per container, every core used.

    .venv/bin/python benchmarks/archives.py [--pictures 100000] [--large 1000] [--workers 2]

The corpus (cached under /tmp/vigil-bench-archives) is ``--pictures`` small generated
benign pictures (64x48 to 160x120 PNG and JPEG) and ``--large`` 1920x1080 JPEGs. The
same files are scanned as a folder, then as a zip, a solid 7z, a tar.gz, a RAR and a zip
of zips three deep (written by bsdtar, Python's zipfile, and for the RAR by
``benchmarks/rar5_write.py``: Debian has no RAR writer, so the RAR is RAR 5.0 with
*stored* members; the decompression of a real, compressed RAR is not measured). The
archives are cached beside the folder. Each scan is a real ``vigil scan`` process tree;
its peak memory is the largest sum of RSS over it.

Peer in the same run: ``bsdtar -xOf ARCHIVE | md5sum`` (reading everything once, the
floor for any tool that looks at every member). The doubling check scans a zip of the
first half of the pictures.

Targets (issue: containers read once): each archive <= 1.5x the folder's time; doubling
the members at most x2.2 the time; the zip with 2 workers >= 1.6x one worker.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from PIL import Image  # noqa: E402

from corpus import jpeg_bytes, photo  # noqa: E402
from rar5_write import Rar5Writer  # noqa: E402
from scale import timed_scan  # noqa: E402

ROOT = Path("/tmp/vigil-bench-archives")


def small_picture(i: int) -> tuple[str, bytes]:
    rng = random.Random(i)
    w, h = rng.choice([(64, 48), (96, 72), (128, 96), (160, 120)])
    img = Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(6):
        x, y = rng.randrange(w), rng.randrange(h)
        img.paste((rng.randrange(256), rng.randrange(256), 60), (x, y, x + w // 3, y + h // 3))
    out = io.BytesIO()
    if i % 2:
        img.save(out, "PNG")
        return f"small/d{i // 1000:03d}/p{i:06d}.png", out.getvalue()
    img.save(out, "JPEG", quality=85)
    return f"small/d{i // 1000:03d}/p{i:06d}.jpg", out.getvalue()


def make_folder(pictures: int, large: int) -> Path:
    folder = ROOT / f"folder-{pictures}-{large}"
    marker = folder / ".complete"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(pictures):
        name, data = small_picture(i)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for i in range(large):
        path = folder / "large" / f"IMG_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg_bytes(photo(10_000 + i, 1920, 1080)))
    marker.touch()
    return folder


def bsdtar(out: Path, folder: Path, *args: str) -> None:
    subprocess.run(["bsdtar", "-cf", str(out), *args, "-C", str(folder), "."], check=True)


def zip_of_zips(out: Path, folder: Path) -> None:
    """The pictures in zips of 1,000 inside zips of 10 inside one zip (3 levels)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".complete")
    groups = [files[i : i + 1000] for i in range(0, len(files), 1000)]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as top:
        for g in range(0, len(groups), 10):
            middle = io.BytesIO()
            with zipfile.ZipFile(middle, "w", zipfile.ZIP_STORED) as mz:
                for n, group in enumerate(groups[g : g + 10]):
                    inner = io.BytesIO()
                    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as iz:
                        for f in group:
                            iz.write(f, str(f.relative_to(folder)))
                    mz.writestr(f"part{g + n:04d}.zip", inner.getvalue())
            top.writestr(f"set{g // 10:03d}.zip", middle.getvalue())


def rar_of(out: Path, folder: Path) -> None:
    """The folder as a RAR 5.0 archive of stored members (and its directories), streamed."""
    part = out.with_name(out.name + ".part")
    with part.open("wb") as f, Rar5Writer(f) as rar:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if path.is_dir():
                rar.add_dir(name, int(path.stat().st_mtime))
            elif path.name != ".complete":
                rar.add_file(name, path)
    part.rename(out)


def make_archives(folder: Path) -> dict[str, Path]:
    out = ROOT / f"archives-{folder.name}"
    out.mkdir(parents=True, exist_ok=True)
    made = {
        "zip": out / "pictures.zip",
        "7z (solid)": out / "pictures.7z",
        "tar.gz": out / "pictures.tar.gz",
        "RAR 5 (stored)": out / "pictures.rar",
        "zip of zips x3": out / "nested.zip",
    }
    if not made["zip"].exists():
        bsdtar(made["zip"], folder, "--format", "zip")
    if not made["7z (solid)"].exists():
        bsdtar(made["7z (solid)"], folder, "--format", "7zip")
    if not made["tar.gz"].exists():
        bsdtar(made["tar.gz"], folder, "-z", "--format", "ustar")
    if not made["RAR 5 (stored)"].exists():
        rar_of(made["RAR 5 (stored)"], folder)
    if not made["zip of zips x3"].exists():
        zip_of_zips(made["zip of zips x3"], folder)
    return made


def small_zip(folder: Path, count: int) -> Path:
    """A zip of the first ``count`` small pictures (for the doubling check)."""
    out = ROOT / f"small-{count}-{folder.name}.zip"
    if not out.exists():
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(count):
                name, _ = small_picture(i)
                z.write(folder / name, name)
    return out


def peer(archive: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(f"bsdtar -xOf '{archive}' | md5sum > /dev/null", shell=True,
                          check=True, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    # libarchive 3.6's RAR 5 reader answers -xO on every directory entry with "Can't
    # decompress an entry marked as a directory" (the shared fixture rar5-subdirs.rar
    # too): one line for all of them, not one per directory.
    lines = done.stderr.splitlines()
    if lines:
        print(f"  (bsdtar -xOf: {len(lines)} lines on stderr, first: {lines[0]})")
    return elapsed


def single(evidence: Path, home: Path, case: str, workers: int) -> tuple[float, int]:
    """A scan of one archive as the evidence itself (a loose file is an exhibit)."""
    return timed_scan(home, evidence, case, ["--workers", str(workers)], [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pictures", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=1_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--parts", default="archives,workers,doubling",
                    help="which comparisons to run (comma-separated; default all)")
    ap.add_argument("--kinds", default="",
                    help="archive kinds for the archives part: zip,7z,tar.gz,rar,nested "
                         "(default all)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    kinds = set(args.kinds.split(",")) if args.kinds else None
    folder = make_folder(args.pictures, args.large)
    archives = make_archives(folder)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"corpus: {args.pictures} small + {args.large} large pictures, {size / 1e9:.2f} GB")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-arch-") as tmp:
        home = Path(tmp)
        print(f"start: {_load()}", flush=True)
        if "archives" in parts:
            compare_archives(folder, archives, home, args.workers, kinds)
        if "workers" in parts:
            compare_workers(archives["zip"], home, args.workers)
        if "doubling" in parts:
            doubling(folder, args.pictures, home, args.workers)
        print(f"end: {_load()}", flush=True)


_KIND = {"zip": "zip", "7z (solid)": "7z", "tar.gz": "tar.gz", "RAR 5 (stored)": "rar",
         "zip of zips x3": "nested"}


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def compare_archives(
    folder: Path, archives: dict[str, Path], home: Path, workers: int, kinds: set[str] | None
) -> None:
    """Each archive against the folder, with the read-everything peer."""
    t_folder, m_folder = single(folder, home, "FOLDER", workers)
    print(f"{'folder':16} {t_folder:7.1f} s  peak {m_folder / 2**20:5.0f} MiB  1.00x  "
          f"({_load()})", flush=True)
    for n, (label, archive) in enumerate(archives.items()):
        if kinds is not None and _KIND[label] not in kinds:
            continue
        t, m = single(archive, home, f"A{n}", workers)
        floor = peer(archive)
        verdict = "met" if t <= 1.5 * t_folder else "MISSED"
        print(
            f"{label:16} {t:7.1f} s  peak {m / 2**20:5.0f} MiB  {t / t_folder:.2f}x the "
            f"folder (limit 1.5: {verdict}); bsdtar -xOf | md5sum {floor:.1f} s  "
            f"({_load()})", flush=True
        )


def compare_workers(archive: Path, home: Path, workers: int) -> None:
    """The zip with ``workers`` workers against one worker."""
    t_zip = single(archive, home, "Z2", workers)[0]
    t_one = single(archive, home, "Z1", 1)[0]
    verdict = "met" if t_one / t_zip >= 1.6 else "MISSED"
    print(f"zip, {workers} workers {t_zip:7.1f} s, 1 worker {t_one:7.1f} s: {t_one / t_zip:.2f}x "
          f"(target >= 1.6: {verdict})  ({_load()})", flush=True)


def doubling(folder: Path, pictures: int, home: Path, workers: int) -> None:
    """A zip of half the small pictures against one of all of them."""
    half, whole = pictures // 2, pictures
    t_half = single(small_zip(folder, half), home, "H", workers)[0]
    t_whole = single(small_zip(folder, whole), home, "W", workers)[0]
    verdict = "met" if t_whole / t_half <= 2.2 else "MISSED"
    print(
        f"zip of {half} small {t_half:7.1f} s; of {whole} {t_whole:.1f} s: "
        f"x{t_whole / t_half:.2f} (limit 2.2: {verdict})  ({_load()})", flush=True
    )


if __name__ == "__main__":
    main()
