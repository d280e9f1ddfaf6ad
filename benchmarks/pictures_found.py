"""Pictures found in documents and containers: vigil against independent tools (issue 14).

    .venv/bin/python benchmarks/pictures_found.py [--copies 20] [--workers 2]
    .venv/bin/python benchmarks/pictures_found.py --pagefile 4

The corpus (cached under /tmp/vigil-bench-pictures) is the document corpus
(``tests/documents_corpus/build_documents.py``: PDF, mail, mbox, .msg, SQLite, audio
covers, web archives, WARC, caches, OneNote, raw camera, a camera JPEG with EXIF
thumbnails, an unknown binary with pictures inside, a Firefox cache2 entry) plus, from
real producers: a zip of pictures (Python's zipfile), a 7z (``7z a``), a cab (gcab) and a
PDF made by pikepdf; ``--copies`` copies of it, one folder each.

For each file, the pictures vigil finds below it (media ``image`` in the case store)
are compared with an independent count: ``pdfimages -list`` for PDFs, ``unzip -l`` +
``unzip -p`` for zips, ``7z l`` + ``7z e -so`` for 7z and cab, each extracted member
counted if Pillow opens and loads it; for the formats no such tool reads (mail, caches,
app data, EXIF), the builders' own lists, each picture checked with Pillow. The scan is
one ``vigil scan`` process tree (wall time, peak RSS); the peers' time is the sum of
the tools' runs over the same files.

``--pagefile GIB`` instead scans a pagefile of zeros and noise with a picture inside, with
carving inside files on and off, beside ``md5sum`` of it (one read).

``--ese COPIES`` instead scans COPIES copies of real ESE databases (dissect.esedb's test
data, the WebCacheV01.dat of ``make test`` and the ESE test's two-picture database) beside
``esedbexport`` of each, its binary values counted if Pillow loads them.

``--ost COPIES`` instead scans COPIES copies of the two real Outlook OST files of the
pst-extractor npm package (``tests/real/real_files.py``, ``make testdata``) beside the same
work by the independent tools: ``pffexport`` of each file, each exported attachment
counted if Pillow loads it, and ``pdfimages -list`` for the PDF attachments.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "real"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PIL import Image  # noqa: E402
from real_files import OST_FULL, OST_PDF, pst_extractor_file  # noqa: E402

from documents_corpus.build_documents import corpus, encoded  # noqa: E402
from scale import timed_scan  # noqa: E402

CACHE = Path("/tmp/vigil-bench-pictures")
_TOP_END = re.compile(r"!|@(?=\d+(?:$|[!@]))")


def _is_picture(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        return True
    except Exception:  # noqa: BLE001 - anything Pillow refuses is not a picture here
        return False


def _extra_files(folder: Path) -> dict[str, int]:
    """Containers written by real producers; returns name -> pictures put in."""
    pictures = {f"p{i}.{'png' if i % 3 == 0 else 'jpg'}":
                encoded(200 + i, "PNG" if i % 3 == 0 else "JPEG", size=(96 + i, 64))
                for i in range(12)}
    src = folder / "_src"
    src.mkdir(parents=True, exist_ok=True)
    for name, data in pictures.items():
        (src / name).write_bytes(data)
    (src / "notes.txt").write_text("benign\n")
    names = [*pictures, "notes.txt"]
    with zipfile.ZipFile(folder / "album.zip", "w") as z:
        for name in names:
            z.write(src / name, f"album/{name}")
    subprocess.run(["7z", "a", "-bd", "-y", str(folder / "album.7z"), *names], cwd=src,
                   check=True, capture_output=True)
    subprocess.run(["gcab", "--create", "--zip", str(folder / "album.cab"), *names], cwd=src,
                   check=True, capture_output=True)
    shutil.rmtree(src)
    return {"album.zip": 12, "album.7z": 12, "album.cab": 12}


def build(copies: int) -> tuple[Path, dict[str, int]]:
    """The corpus folder and, per file of one copy, the pictures the builders put in it."""
    evidence = CACHE / f"copies-{copies}"
    one = CACHE / "one"
    if not one.exists():
        one.mkdir(parents=True)
        for name, (data, _expected) in corpus().items():
            (one / name).parent.mkdir(parents=True, exist_ok=True)
            (one / name).write_bytes(data)
        _extra_files(one)
    if not evidence.exists():
        for n in range(copies):
            shutil.copytree(one, evidence / f"copy{n:03d}")
    put = {"album.zip": 12, "album.7z": 12, "album.cab": 12}
    for name, (_data, expected) in corpus().items():
        # None: a bitmap vigil renders to PNG, or a re-serialised attached message.
        put[name] = sum(1 for key, body in expected.items()
                        if (body is None and key.endswith(".png"))
                        or (body is not None and _is_picture(body)))
    return evidence, put


def independent(folder: Path) -> tuple[dict[str, int], float]:
    """Pictures per file of one copy by the independent tools, and their total time."""
    counts: dict[str, int] = {}
    start = time.perf_counter()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if path.suffix == ".pdf":
            counts[name] = _pdf_pictures(path)
        elif path.suffix == ".zip":
            listed = subprocess.run(["unzip", "-Z1", str(path)], capture_output=True,
                                    text=True, check=True).stdout.split()
            counts[name] = sum(_is_picture(subprocess.run(
                ["unzip", "-p", str(path), member], capture_output=True, check=True).stdout)
                for member in listed)
        elif path.suffix in (".7z", ".cab"):
            listing = subprocess.run(["7z", "l", "-slt", str(path)], capture_output=True,
                                     text=True, check=True).stdout
            members = [line[7:] for line in listing.splitlines()
                       if line.startswith("Path = ") and line[7:] != str(path)]
            counts[name] = sum(_is_picture(subprocess.run(
                ["7z", "e", "-so", str(path), member], capture_output=True, check=True).stdout)
                for member in members)
    return counts, time.perf_counter() - start


def found_by_vigil(store: Path, copy: str = "copy000/") -> dict[str, int]:
    """Pictures below each top-level file of ``copy`` in the case store."""
    with sqlite3.connect(store) as conn:
        rows = conn.execute("select i.path from items i join contents c on c.id = i.content_id "
                            "where c.media = 'image'").fetchall()
    counts: dict[str, int] = {}
    for (path,) in rows:
        if not path.startswith(copy):
            continue
        # The top-level file ends at the first member ("!") or offset ("@<digits>")
        # separator; a name may hold an "@" of its own (user@outlook.com.ost).
        cut = _TOP_END.search(path.removeprefix(copy))
        if cut:
            top = path.removeprefix(copy)[: cut.start()]
            counts[top] = counts.get(top, 0) + 1
    return counts


def pagefile(gib: int, workers: int) -> None:
    """A ``pagefile.sys`` of ``gib`` GiB (zeros, then 64 MiB of noise, a JPEG in the middle)
    scanned with and without ``--no-carve-files``: the cost of carving inside files."""
    folder = CACHE / f"pagefile-{gib}"
    picture = encoded(300, size=(640, 480))
    if not folder.exists():
        folder.mkdir(parents=True)
        rng = random.Random(3)
        with open(folder / "pagefile.sys", "wb") as out:
            zero = bytes(1 << 20)
            for _ in range(gib * 1024 // 2):
                out.write(zero)
            out.write(picture)
            for _ in range(gib * 1024 // 2):
                out.write(zero)
            out.write(rng.randbytes(64 << 20))
    for flag in ([], ["--no-carve-files"]):
        home = Path(tempfile.mkdtemp(prefix="pictures-bench-", dir="/tmp"))
        try:
            load = os.getloadavg()[0]
            seconds, peak = timed_scan(home, folder, "PF", ["--workers", str(workers), *flag], [])
            found = found_by_vigil(home / "cases" / "PF.sqlite", "")
        finally:
            shutil.rmtree(home, ignore_errors=True)
        print(f"pagefile {gib} GiB {' '.join(flag) or '(carving on)'}: {seconds:.2f} s, "
              f"peak RSS {peak / 2**20:.0f} MiB, pictures {found}; load {load:.2f}")
    start = time.perf_counter()
    subprocess.run(["md5sum", str(folder / "pagefile.sys")], check=True, capture_output=True)
    print(f"md5sum of it (one read, the floor): {time.perf_counter() - start:.2f} s")


def _pdf_pictures(path: Path) -> int:
    """Distinct image objects ``pdfimages -list`` shows: an image drawn on two pages is
    one picture, soft masks are left out, each inline image counts."""
    rows = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True,
                          text=True, check=True).stdout.splitlines()[2:]
    objects = set()
    for number, row in enumerate(line.split() for line in rows):
        if row[2] != "smask":
            objects.add(f"inline {number}" if row[10] == "[inline]" else row[10])
    return len(objects)


def pffexport_pictures(folder: Path) -> tuple[dict[str, int], float]:
    """Pictures per OST/PST file of ``folder`` by pffexport + Pillow + pdfimages, and the
    time it all took."""
    counts: dict[str, int] = {}
    start = time.perf_counter()
    for path in sorted(folder.rglob("*.ost")):
        out = Path(tempfile.mkdtemp(prefix="pictures-pff-", dir="/tmp"))
        try:
            subprocess.run(["pffexport", "-q", "-t", str(out / "x"), str(path)], check=True,
                           capture_output=True)
            found = 0
            for part in (out / "x.export").rglob("*"):
                if part.is_file() and part.parent.name == "Attachments":
                    if part.suffix.lower() == ".pdf":
                        found += _pdf_pictures(part)
                    else:
                        found += _is_picture(part.read_bytes())
            counts[str(path.relative_to(folder))] = found
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return counts, time.perf_counter() - start


def scan_counted(folder: Path, case: str, workers: int, size: int
                 ) -> tuple[float, dict[str, int]]:
    """One timed ``vigil scan`` of ``folder`` into a fresh home: its seconds and the
    pictures below each top-level file; prints the scan's line."""
    home = Path(tempfile.mkdtemp(prefix="pictures-bench-", dir="/tmp"))
    try:
        load = os.getloadavg()[0]
        seconds, peak = timed_scan(home, folder, case, ["--workers", str(workers)], [])
        found = found_by_vigil(home / "cases" / f"{case}.sqlite", "")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"vigil scan: {seconds:.2f} s ({size / 1e6 / seconds:.1f} MB/s), peak RSS "
          f"{peak / 2**20:.0f} MiB, {sum(found.values())} pictures (load {load:.2f})")
    return seconds, found


def ost(copies: int, workers: int) -> None:
    """``copies`` copies of the two real OSTs: ``vigil scan`` against pffexport's work."""
    folder = CACHE / f"ost-{copies}"
    if not folder.exists():
        files = {name: pst_extractor_file(name) for name in (OST_FULL, OST_PDF)}
        for n in range(copies):
            (folder / f"copy{n:03d}").mkdir(parents=True)
            for name, data in files.items():
                (folder / f"copy{n:03d}" / name).write_bytes(data)
    size = sum(p.stat().st_size for p in folder.rglob("*.ost"))
    print(f"OST corpus: {copies} copies of 2 files, {size / 1e6:.0f} MB; "
          f"load {os.getloadavg()[0]:.2f}")
    seconds, found = scan_counted(folder, "OST", workers, size)
    load_tools = os.getloadavg()[0]
    tools, tool_seconds = pffexport_pictures(folder)
    print(f"pffexport + Pillow + pdfimages: {tool_seconds:.2f} s "
          f"({size / 1e6 / tool_seconds:.1f} MB/s), {sum(tools.values())} pictures "
          f"(load {load_tools:.2f}); vigil / tools = {seconds / tool_seconds:.2f}")
    for name in (OST_FULL, OST_PDF):
        print(f"  {name}: vigil {found.get(f'copy000/{name}', 0)}, "
              f"tools {tools.get(f'copy000/{name}', 0)}")


ESE_SDIST = "dissect_esedb-3.18.tar.gz"


def ese_corpus(copies: int) -> Path:
    """``copies`` folders of real ESE databases: dissect.esedb 3.18's test data (Apache-2.0,
    fetched from PyPI into the cache), the WebCacheV01.dat ``make test`` fetches, and the
    test's ``binary-pictures.edb`` (two PNGs in binary values)."""
    import gzip
    import tarfile

    folder = CACHE / f"ese-{copies}"
    if folder.exists():
        return folder
    sdist = CACHE / ESE_SDIST
    if not sdist.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "-d", str(CACHE), "dissect.esedb==3.18"],
                       check=True)
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if "/tests/_data/" in member.name and member.name.endswith(".gz"):
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                files[Path(member.name).stem] = gzip.decompress(data)
    sys.path.insert(0, str(ROOT / "tests" / "sources"))
    from test_expand_ese import DISSECT_TARGET, binary_pictures

    with tarfile.open(DISSECT_TARGET) as tar:
        files["WebCacheV01.dat"] = gzip.decompress(tar.extractfile(  # type: ignore[union-attr]
            "dissect.target-3.10/tests/data/plugins/browsers/iexplore/WebCacheV01.dat.gz"
        ).read())
    files["binary-pictures.edb"] = binary_pictures()
    for n in range(copies):
        (folder / f"copy{n:03d}").mkdir(parents=True)
        for name, data in files.items():
            (folder / f"copy{n:03d}" / name).write_bytes(data)
    return folder


def esedbexport_pictures(folder: Path) -> tuple[int, float]:
    """Pictures in the binary values ``esedbexport`` writes for every database of
    ``folder`` (each hex value that Pillow loads), and the time it took."""
    found = 0
    start = time.perf_counter()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        out = Path(tempfile.mkdtemp(prefix="pictures-ese-", dir="/tmp"))
        try:
            subprocess.run(["esedbexport", "-t", str(out / "x"), str(path)],
                           capture_output=True)
            for table in (out / "x.export").glob("*"):
                for line in table.read_text(errors="replace").splitlines()[1:]:
                    for value in line.split("\t"):
                        if len(value) > 64 and re.fullmatch(r"[0-9a-f]+", value):
                            found += _is_picture(bytes.fromhex(value))
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return found, time.perf_counter() - start


def ese(copies: int, workers: int) -> None:
    """``copies`` copies of real ESE databases: ``vigil scan`` against esedbexport."""
    folder = ese_corpus(copies)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"ESE corpus: {copies} copies of {len(list((folder / 'copy000').iterdir()))} "
          f"databases, {size / 1e6:.0f} MB; load {os.getloadavg()[0]:.2f}")
    seconds, _found = scan_counted(folder, "ESE", workers, size)
    load_tools = os.getloadavg()[0]
    tools, tool_seconds = esedbexport_pictures(folder)
    print(f"esedbexport + Pillow: {tool_seconds:.2f} s ({size / 1e6 / tool_seconds:.1f} "
          f"MB/s), {tools} pictures (load {load_tools:.2f}); vigil / tool = "
          f"{seconds / tool_seconds:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pagefile", type=int, default=0, metavar="GIB",
                        help="instead: scan a pagefile of GIB GiB with and without carving")
    parser.add_argument("--ost", type=int, default=0, metavar="COPIES",
                        help="instead: scan COPIES copies of two real OSTs against pffexport")
    parser.add_argument("--ese", type=int, default=0, metavar="COPIES",
                        help="instead: scan COPIES copies of real ESE databases against "
                             "esedbexport")
    args = parser.parse_args()
    if args.ese:
        ese(args.ese, args.workers)
        return
    if args.ost:
        ost(args.ost, args.workers)
        return
    if args.pagefile:
        pagefile(args.pagefile, args.workers)
        return
    evidence, put = build(args.copies)
    size = sum(p.stat().st_size for p in evidence.rglob("*") if p.is_file())
    files = sum(1 for p in evidence.rglob("*") if p.is_file())
    print(f"corpus: {args.copies} copies, {files} files, {size / 1e6:.1f} MB; "
          f"load {os.getloadavg()[0]:.2f}")
    home = Path(tempfile.mkdtemp(prefix="pictures-bench-", dir="/tmp"))
    try:
        seconds, peak = timed_scan(home, evidence, "PICS", ["--workers", str(args.workers)], [])
        found = found_by_vigil(home / "cases" / "PICS.sqlite")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    # The same work on both sides: only the files the tools read, scanned alone.
    same = CACHE / f"tool-kinds-{args.copies}"
    if not same.exists():
        for path in evidence.rglob("*"):
            if path.suffix in (".pdf", ".zip", ".7z", ".cab"):
                target = same / path.relative_to(evidence)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    home = Path(tempfile.mkdtemp(prefix="pictures-bench-", dir="/tmp"))
    try:
        load_same = os.getloadavg()[0]
        same_seconds, _ = timed_scan(home, same, "SAME", ["--workers", str(args.workers)], [])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    tools, one_copy = independent(evidence / "copy000")
    print(f"vigil scan: {seconds:.2f} s ({size / 1e6 / seconds:.1f} MB/s, "
          f"{files / seconds:.0f} files/s), peak RSS {peak / 2**20:.0f} MiB; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"independent tools on one copy (PDF, zip, 7z, cab only): {one_copy:.2f} s; "
          f"x{args.copies} = {one_copy * args.copies:.2f} s; vigil scan of the same "
          f"{args.copies} x 4 files: {same_seconds:.2f} s (load {load_same:.2f})")
    print(f"{'file':58} {'put':>4} {'tool':>5} {'vigil':>6}")
    missing = 0
    for name in sorted(put):
        tool = tools.get(name, "-")
        got = found.get(name, 0)
        want = tools.get(name, put[name])
        missing += max(0, want - got)
        print(f"{name:58} {put[name]:>4} {tool!s:>5} {got:>6}")
    print(f"pictures put {sum(put.values())}, found by vigil {sum(found.values())}, "
          f"missed {missing}")


if __name__ == "__main__":
    main()
