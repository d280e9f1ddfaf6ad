"""Archive bombs end quickly, in little memory, with a budget record.

    .venv/bin/python benchmarks/bombs.py

Two hostile files (benign content: a generated picture, zeros):
* a nested zip, 10 levels of 10 copies each (10^10 leaves if walked naively);
* an overlapping-entry zip: 250 files whose deflate data overlap (each quotes the next
  file's header, all share one kernel of 21 MiB of zeros): 5 GiB from ~30 kB.
Each is scanned by ``vigil scan`` as a whole process tree (2 workers), timed, its peak
RSS sampled; the store must hold a budget or repeat record for it.
Limits (issue: containers read once): < 30 s and peak RSS < 500 MB each.
"""

from __future__ import annotations

import io
import sqlite3
import struct
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from PIL import Image  # noqa: E402

from scale import timed_scan  # noqa: E402


def nested(levels: int = 10, copies: int = 10) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (70, 120, 200)).save(out, "PNG")
    data, name = out.getvalue(), "leaf.png"
    for level in range(levels):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(copies):
                z.writestr(f"{i}-{name}", data)
        data, name = buf.getvalue(), f"level{level}.zip"
    return data


def overlapping(entries: int = 250, size: int = 21 * 1024 * 1024) -> bytes:
    """Overlapping entries (after Fifield's "better zip bomb" construction, rebuilt here).

    File ``i``'s deflate data is a stored block quoting the local header of file
    ``i + 1``, then file ``i + 1``'s data; the last file's data is one deflate stream of
    ``size`` zeros. So every file expands to all the later headers plus the zeros, and
    the ``entries`` files share one 21 KiB kernel: ~5 GiB from a few dozen kB.
    """
    kernel = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed_kernel = kernel.compress(bytes(size)) + kernel.flush()
    names = [b"%04d.bin" % i for i in range(entries)]
    headers: list[bytes] = [b""] * entries
    packed_len = [0] * entries
    plain_len = [0] * entries
    crcs = [0] * entries
    crc_tail = zlib.crc32(bytes(size))
    for i in range(entries - 1, -1, -1):
        if i == entries - 1:
            packed_len[i], plain_len[i], crcs[i] = len(packed_kernel), size, crc_tail
        else:
            quoted = headers[i + 1]
            packed_len[i] = 5 + len(quoted) + packed_len[i + 1]
            plain_len[i] = len(quoted) + plain_len[i + 1]
            crcs[i] = zlib.crc32(quoted + _plain_after(headers, i + 1, size))
        headers[i] = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crcs[i], packed_len[i], plain_len[i],
            len(names[i]), 0,
        ) + names[i]
    body = b""
    offsets = []
    for i in range(entries):
        offsets.append(len(body))
        body += headers[i]
        if i < entries - 1:
            n = len(headers[i + 1])
            body += b"\x00" + struct.pack("<HH", n, n ^ 0xFFFF)
    body += packed_kernel
    central = b""
    for i in range(entries):
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crcs[i], packed_len[i],
            plain_len[i], len(names[i]), 0, 0, 0, 0, 0, offsets[i],
        ) + names[i]
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(central),
                      len(body), 0)
    return body + central + end


def _plain_after(headers: list[bytes], start: int, size: int) -> bytes:
    """What file ``start`` expands to (the later headers, then the zeros)."""
    return b"".join(headers[start + 1 :]) + bytes(size)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-bombs-") as tmp:
        root = Path(tmp)
        for label, data in (
            ("nested 10x10", nested()),
            ("overlapping 250", overlapping()),
        ):
            case = label.split()[0].upper()
            evidence = root / case
            evidence.mkdir()
            (evidence / "bomb.zip").write_bytes(data)
            seconds, peak = timed_scan(root / "home", evidence, case, ["--workers", "2"], [])
            with sqlite3.connect(root / "home" / "cases" / f"{case}.sqlite") as conn:
                items = conn.execute("select count(*) from items").fetchone()[0]
                records = conn.execute(
                    "select stage, reason from errors where stage in ('budget', 'expand.archive')"
                    " or reason like 'same content%' limit 3"
                ).fetchall()
            met = "met" if seconds < 30 and peak < 500 * 2**20 else "MISSED"
            print(
                f"{label:16} {len(data):>8} bytes  {seconds:6.1f} s  peak {peak / 2**20:5.0f} MiB"
                f"  {items} items  (limits 30 s, 500 MB: {met})"
            )
            for stage, reason in records:
                print(f"    record: [{stage}] {reason[:110]}")


if __name__ == "__main__":
    main()
