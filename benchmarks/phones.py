"""A UFDR and an Android file-system tar against the same pictures as a folder.

    .venv/bin/python benchmarks/phones.py [--pictures 10000] [--large 50] [--workers 2]

The corpus is benchmarks/archives.py's (cached under /tmp/vigil-bench-archives):
``--pictures`` small generated benign pictures and ``--large`` 1920x1080 JPEGs. From it
(cached under /tmp/phones-bench) a UFDR (zip, members stored as Cellebrite stores
pictures, with a ``report.xml`` naming every file by a device path) and an Android
full-file-system tar (every file under ``data/media/0/``). Each scan is a real
``vigil scan`` process tree.

Target (issue 15): each extraction scans at >= 0.8x the speed of the folder (its time
<= 1.25x the folder's). The folder is scanned first and last and its mean is the peer;
speeds are given by wall time and by CPU time of the scan's process tree (the fairer
one when other jobs share the machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(Path(__file__).resolve().parent))

from archives import make_folder  # noqa: E402
from scale import timed_scan  # noqa: E402

ROOT = Path("/tmp/phones-bench")
NS = "http://pa.cellebrite.com/report/2.0"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".complete")


def _cached(out: Path, write: Callable[[Path], None]) -> Path:
    """``out``, written by ``write`` (to a temporary name first) unless it exists."""
    if not out.exists():
        ROOT.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".part")
        write(partial)
        os.replace(partial, out)
    return out


def make_ufdr(folder: Path) -> Path:
    return _cached(ROOT / f"{folder.name}.ufdr", lambda partial: _write_ufdr(folder, partial))


def _write_ufdr(folder: Path, partial: Path) -> None:
    entries = []
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for n, f in enumerate(_files(folder)):
            rel = f.relative_to(folder).as_posix()
            local = f"files/Image/{n:06d}_{f.name}"
            zf.write(f, local)
            device = f"/private/var/mobile/Media/DCIM/{rel}"
            entries.append(
                f'<file fs="iPhone" path={quoteattr(device)} size="{f.stat().st_size}" '
                f'id="f{n}" deleted="Intact"><accessInfo><timestamp name="ModifyTime">'
                "2021-05-01T10:00:00.000+00:00</timestamp></accessInfo>"
                f'<metadata section="File"><item name="Local Path"><![CDATA['
                f"{local.replace('/', chr(92))}]]></item></metadata></file>"
            )
        zf.writestr(
            "report.xml",
            f'<?xml version="1.0" encoding="utf-8"?><project reportVersion="7.60.0.0" '
            f'xmlns="{NS}"><taggedFiles>{"".join(entries)}</taggedFiles></project>',
        )


def make_android_tar(folder: Path) -> Path:
    def write(partial: Path) -> None:
        with tarfile.open(partial, "w", format=tarfile.GNU_FORMAT) as tf:
            for f in _files(folder):
                tf.add(f, "data/media/0/" + f.relative_to(folder).as_posix())

    return _cached(ROOT / f"{folder.name}-android.tar", write)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pictures", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    folder = make_folder(args.pictures, args.large)
    extractions = {"UFDR": make_ufdr(folder), "Android tar": make_android_tar(folder)}
    size = sum(p.stat().st_size for p in _files(folder))
    print(
        f"corpus: {args.pictures} small + {args.large} large pictures, {size / 1e9:.2f} GB; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    workers = ["--workers", str(args.workers)]
    with tempfile.TemporaryDirectory(prefix="vigil-bench-phones-") as tmp:
        home = Path(tmp)

        def scan(evidence: Path, case: str) -> tuple[float, float, int, float]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds, peak = timed_scan(home, evidence, case, workers, [])
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            return seconds, cpu, peak, os.getloadavg()[0]

        # The folder runs first and last: other jobs on a shared machine change the load.
        first = scan(folder, "F1")
        runs = {label: scan(evidence, f"P{n}") for n, (label, evidence) in enumerate(
            extractions.items()
        )}
        last = scan(folder, "F2")
        t_folder = (first[0] + last[0]) / 2
        cpu_folder = (first[1] + last[1]) / 2
        for label, (t, cpu, peak, load) in {"folder": first, **runs, "folder again": last}.items():
            speed, cpu_speed = t_folder / t, cpu_folder / cpu
            verdict = "" if label.startswith("folder") else (
                " (target >= 0.8: " + ("met" if min(speed, cpu_speed) >= 0.8 else "MISSED") + ")"
            )
            print(
                f"{label:12} wall {t:6.1f} s ({speed:.2f}x)  CPU {cpu:6.1f} s ({cpu_speed:.2f}x) "
                f" peak {peak / 2**20:4.0f} MiB  load {load:.2f}{verdict}"
            )

if __name__ == "__main__":
    main()
