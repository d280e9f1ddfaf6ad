"""Series grouping of 100,000 unknown pictures (`vigil series` as a process), and what
reading EXIF costs a scan (`vigil scan` of JPEGs with EXIF against a baseline tree).

Part 1 writes a synthetic case store straight through SQLAlchemy (cached under /tmp):
N unknown pictures with random PDQ hashes (2% near-duplicate copies a few bits away),
60% with camera facts from 300 cameras (serials; five consecutive pictures a
burst 2 s apart), 40% with GPS
positions around 500 places, in folders of 100. It then runs `vigil series CASE
--json` on it and on a store of N/10 pictures, each as its own process (wall time and
peak RSS from ``wait4``). Target (issue 18): under 2 minutes at 100,000.

Part 2 (with ``--baseline-src``) scans the same folder of generated JPEGs with EXIF
with this tree and with the baseline checkout (which reads no EXIF facts), alternating,
then times, in this process, reading the facts from each opened picture against the
scan's reduced decode of it.

    nice -n 10 python benchmarks/series.py [--pictures 100000] [--scan-pictures 1000]
        [--baseline-src ../main/src]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from store_proof import SRC, run  # benchmarks/ is on the path when run as a script

sys.path.insert(0, str(SRC))
from vigil.store.api import open_engine  # noqa: E402
from vigil.store.schema import cases, contents, exhibits, exif, items  # noqa: E402

CHUNK = 5000


def synthetic_store(count: int, prefix: str = "/tmp/series-bench") -> str:
    """A case store ``SER`` with ``count`` unknown pictures (cached as
    ``PREFIX-COUNT.sqlite``); its URL."""
    path = Path(f"{prefix}-{count}.sqlite")
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    rng = np.random.default_rng(18)
    engine = open_engine(url + ".part")
    codes = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    copies = rng.random(count) < 0.02
    for i in np.flatnonzero(copies):
        codes[i] = codes[rng.integers(0, count)]
        codes[i, rng.integers(0, 32, 3)] ^= np.uint8(1)
    base = np.datetime64("2024-01-01T00:00:00")
    with engine.begin() as conn:
        conn.execute(insert(cases).values(id=1, name="SER", created_at="2026-12-01T00:00:00Z"))
        conn.execute(insert(exhibits).values(
            id=1, case_id=1, name="EX1", evidence_path="/none", evidence_kind="folder",
            created_at="2026-12-01T00:00:00Z"))
        for start in range(0, count, CHUNK):
            ids = range(start + 1, min(count, start + CHUNK) + 1)
            conn.execute(insert(contents), [
                {"id": i, "case_id": 1, "sha256": f"{i:064x}", "sha1": f"{i:040x}",
                 "md5": f"{i:032x}", "size": 1000, "mime": "image/jpeg", "media": "image",
                 "pdq": codes[i - 1].tobytes().hex(), "pdq_quality": 80, "partial": False}
                for i in ids
            ])
            conn.execute(insert(items), [
                {"exhibit_id": 1, "path": f"d{(i - 1) // 100:05d}/p{i:06d}.jpg",
                 "content_id": i, "allocated": True, "deleted": False, "carved": False,
                 "embedded": False, "in_archive": False, "encrypted": False, "depth": 0}
                for i in ids
            ])
            facts = []
            for i in ids:
                if rng.random() >= 0.6:
                    continue
                # Five consecutive pictures are a burst of one camera, 2 s apart.
                camera = (i // 5) % 300
                when = base + np.timedelta64((i // 5) * 600 + (i % 5) * 2, "s")
                row = {"content_id": i, "make": f"Make{camera % 7}",
                       "model": f"Model{camera % 31}", "body_serial": f"SN{camera:05d}",
                       "taken": str(when), "latitude": None, "longitude": None}
                if rng.random() < 0.67:
                    place = int(rng.integers(0, 500))
                    row["latitude"] = 50 + place * 0.01 + float(rng.normal(0, 0.0002))
                    row["longitude"] = -1 + place * 0.013 + float(rng.normal(0, 0.0002))
                facts.append(row)
            if facts:
                conn.execute(insert(exif), facts)
    engine.dispose()
    Path(str(path) + ".part").rename(path)
    return url


def jpeg_folder(count: int) -> Path:
    """``count`` generated 1024x768 JPEG landscapes with camera EXIF (cached)."""
    from PIL import Image

    from vigil.demo import draw_landscape

    folder = Path(f"/tmp/series-bench-jpegs-{count}")
    done = folder / ".complete"
    if done.exists():
        return folder
    for i in range(count):
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "DemoCam", "Model 7"
        sub = exif.get_ifd(0x8769)
        sub[0x9003], sub[0xA431] = f"2024:05:01 10:{i // 60 % 60:02d}:{i % 60:02d}", "SN-1"
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, float(i % 60)), "W", (0.0, 7.0, 1.0)
        out = io.BytesIO()
        draw_landscape(i, (1024, 768)).save(out, "JPEG", quality=88, exif=exif)
        sub_folder = folder / f"d{i // 100:03d}"
        sub_folder.mkdir(parents=True, exist_ok=True)
        (sub_folder / f"IMG_{i:05d}.jpg").write_bytes(out.getvalue())
    done.write_text("")
    return folder


def exif_share(folder: Path) -> tuple[float, float]:
    """In-process, per picture: microseconds to read the camera facts from an opened
    picture, and milliseconds for the scan's reduced decode of it."""
    from PIL import Image

    from vigil.hashing.decode import decode
    from vigil.hashing.exif import facts_of
    from vigil.hashing.pdq import FAST_MIN_SIDE

    pictures = [p.read_bytes() for p in sorted(folder.rglob("*.jpg"))]
    facts = 0.0
    for data in pictures:
        with Image.open(io.BytesIO(data)) as image:
            start = time.perf_counter()
            facts_of(image)
            facts += time.perf_counter() - start
    start = time.perf_counter()
    for data in pictures:
        decode(data, min_side=FAST_MIN_SIDE)
    decoding = time.perf_counter() - start
    return facts * 1e6 / len(pictures), decoding * 1000 / len(pictures)


def main() -> None:
    """Run both parts and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=100_000)
    parser.add_argument("--scan-pictures", type=int, default=1000)
    parser.add_argument("--baseline-src", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--store-prefix", default="/tmp/series-bench",
                        help="where the synthetic stores are cached (PREFIX-N.sqlite)")
    args = parser.parse_args()
    home = Path("/tmp/series-bench-home")
    home.mkdir(exist_ok=True)
    print(f"load before: {os.getloadavg()[0]:.2f}")
    print("| pictures | vigil series --json | peak RSS |")
    print("|---|---|---|")
    for count in (args.pictures // 10, args.pictures):
        url = synthetic_store(count, args.store_prefix)
        seconds, rss = run(SRC, home, "series", "SER", "--json", "--db", url)
        print(f"| {count:,} | {seconds:.1f} s | {rss:.0f} MB |", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if args.baseline_src is None:
        return
    folder = jpeg_folder(args.scan_pictures)
    print(f"\nload before: {os.getloadavg()[0]:.2f}; {args.scan_pictures} JPEGs with EXIF")
    print("| round | tree | vigil scan | peak RSS |")
    print("|---|---|---|---|")
    for n in range(1, args.rounds + 1):
        for label, src in (("baseline", args.baseline_src), ("this tree", SRC)):
            db = f"sqlite:////tmp/series-bench-scan-{label.replace(' ', '-')}-{n}.sqlite"
            Path(db[len("sqlite:///"):]).unlink(missing_ok=True)
            seconds, rss = run(src, home, "scan", str(folder), "--case", "SCAN", "--exhibit",
                               f"E{n}", "-q", "--db", db)
            print(f"| {n} | {label} | {seconds:.1f} s | {rss:.0f} MB |", flush=True)
            Path(db[len("sqlite:///"):]).unlink(missing_ok=True)
    facts_us, decode_ms = exif_share(folder)
    print(f"in-process: camera facts {facts_us:.0f} us per picture, reduced decode "
          f"(which includes them) {decode_ms:.1f} ms per picture")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
