"""A UFDR and an Android file-system tar against the same pictures as a folder.

    .venv/bin/python benchmarks/phones.py [--pictures 10000] [--large 50] [--workers 2]

The corpus is benchmarks/archives.py's (cached under /tmp/vigil-bench-archives):
``--pictures`` small generated benign pictures and ``--large`` 1920x1080 JPEGs. From it
(cached under /tmp/phones-bench) a UFDR (zip, members stored as Cellebrite stores
pictures, with a ``report.xml`` naming every file by a device path) and an Android
full-file-system tar (every file under ``data/media/0/``). Each scan is a real
``vigil scan`` process tree.

Target (issue 15): each extraction scans at >= 0.8x the speed of the folder (its time
<= 1.25x the folder's). The folder is scanned first and last and its mean is the peer.
"""

from __future__ import annotations

import argparse
import os
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
        # The folder runs first and last: other jobs on a shared machine change the load.
        t_first, m_folder = timed_scan(home, folder, "F1", workers, [])
        times = {}
        for n, (label, evidence) in enumerate(extractions.items()):
            times[label] = (*timed_scan(home, evidence, f"P{n}", workers, []), os.getloadavg()[0])
        t_last = timed_scan(home, folder, "F2", workers, [])[0]
        t_folder = (t_first + t_last) / 2
        print(
            f"{'folder':12} {t_first:7.1f} s, again {t_last:.1f} s  peak {m_folder / 2**20:5.0f} "
            f"MiB; load {os.getloadavg()[0]:.2f}"
        )
        for label, (t, m, load) in times.items():
            speed = t_folder / t
            verdict = "met" if speed >= 0.8 else "MISSED"
            print(
                f"{label:12} {t:7.1f} s  peak {m / 2**20:5.0f} MiB  speed {speed:.2f}x the "
                f"folder's mean (target >= 0.8: {verdict}); load {load:.2f}"
            )

if __name__ == "__main__":
    main()
