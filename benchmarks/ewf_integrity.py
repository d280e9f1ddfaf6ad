"""E01 integrity pass (``verify.check_media``) against ``ewfverify`` on the same image.

    .venv/bin/python benchmarks/ewf_integrity.py [--size-mb 512]

Builds (once, cached in /tmp/vigil-bench-ewfcheck) a raw image of pseudo-random bytes
and its E01 (``ewfacquire``, uncompressed chunks, MD5 + SHA-1), reads the E01 once so
both start from a warm page cache, then times in the same run, best of three, each as
the process a user runs:

* ``ewfverify -q IMAGE.E01`` (libewf's own tool: chunk checksums and the MD5), and
  ``ewfverify -q -d sha1`` (also SHA-1, like for like);
* ``python -c 'check_media(IMAGE.E01)'``: the same checks as vigil's scan would run them
  (MD5 + SHA-1 of the media, the list of chunks that failed their Adler-32).

Prints seconds, MB/s of media and peak RSS (``/usr/bin/time``) for both.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

CORPUS = Path("/tmp/vigil-bench-ewfcheck")


def build(size_mb: int) -> Path:
    """The cached E01 of ``size_mb`` MiB of media."""
    e01 = CORPUS / f"media-{size_mb}.E01"
    if e01.exists():
        return e01
    CORPUS.mkdir(parents=True, exist_ok=True)
    raw = CORPUS / "media.raw"
    block = os.urandom(8 << 20)
    with raw.open("wb") as f:
        for _ in range(size_mb // 8):
            f.write(block)
    subprocess.run(
        ["ewfacquire", "-u", "-q", "-t", str(e01.with_suffix("")), "-c", "deflate:none",
         "-d", "sha1", "-C", "bench", "-D", "bench", "-e", "bench", "-E", "1", "-N", "bench",
         str(raw)],
        check=True, capture_output=True,
    )
    raw.unlink()
    return e01


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of ``cmd`` run to completion."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True,
                          check=True)
    elapsed = time.perf_counter() - start
    return elapsed, int(proc.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=512)
    args = parser.parse_args()
    e01 = build(args.size_mb)
    subprocess.run(["cat", str(e01)], stdout=subprocess.DEVNULL, check=True)  # warm cache
    code = ("import sys; from vigil.sources.verify import check_media; "
            "r = check_media(sys.argv[1]); print(r.summary())")
    runs = {
        "ewfverify": ["ewfverify", "-q", str(e01)],
        "ewfverify+1": ["ewfverify", "-q", "-d", "sha1", str(e01)],
        "check_media": [sys.executable, "-c", code, str(e01)],
    }
    print(f"load: {os.getloadavg()[0]:.2f} (1 min)  media: {args.size_mb} MiB")
    for name, cmd in runs.items():
        best = min(timed(cmd) for _ in range(3))
        print(f"{name:12s} {best[0]:6.2f} s  {args.size_mb / best[0]:7.1f} MB/s"
              f"  peak RSS {best[1] / 1024:6.1f} MiB")


if __name__ == "__main__":
    main()
