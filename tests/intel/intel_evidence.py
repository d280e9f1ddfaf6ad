"""Benign evidence for the intelligence tests: cases sharing pictures, one near-duplicate.

Every picture is a generated landscape (``vigil.demo.draw_landscape``): the same seed and
JPEG settings give the same bytes, so two folders written from the same seeds share
contents exactly; the near-duplicate is the same drawing resized and re-encoded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests_support import InProcessVigil
from vigil.demo import draw_landscape

NEAR_SEED = 7
PASSWORD = "quiet-harbour-lamp-41"


@dataclass
class IntelLab:
    """The home, the CLI runner and the evidence folders of a lab of scanned cases."""

    home: Path
    vigil: InProcessVigil
    evidence: dict[str, Path]


def scan(
    vigil: InProcessVigil, folder: Path, case: str, exhibit: str, threads: bool = True
) -> str:
    """Scan ``folder`` as ``case``/``exhibit`` through the real command line.

    One worker thread by default: these folders hold a few pictures, and a process pool
    costs more to start than the scan. A scan that must see hash sets changed since an
    earlier scan in this process uses processes (thread workers keep the matchers they
    built first, as a long-lived worker does).
    """
    executor = ["--executor", "threads", "--workers", "1"] if threads else []
    return vigil(
        "scan", str(folder), "--case", case, "--exhibit", exhibit, "-q", "--json", *executor
    )


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    """JPEG bytes of a picture."""
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def landscape(seed: int) -> bytes:
    """The JPEG of landscape ``seed`` at 320 x 240 (same seed, same bytes)."""
    return jpeg(draw_landscape(seed, (320, 240)))


def near_original() -> bytes:
    """A 480 x 360 landscape."""
    return jpeg(draw_landscape(NEAR_SEED, (480, 360)), 92)


def near_copy() -> bytes:
    """The same drawing resized to 400 x 300 and re-encoded: a near-duplicate."""
    return jpeg(draw_landscape(NEAR_SEED, (480, 360)).resize((400, 300)), 80)


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative path -> bytes) under ``folder``."""
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def alpha_files() -> dict[str, bytes]:
    """Case ALPHA: landscapes 100-105 and the near-duplicate's original."""
    files = {f"DCIM/land_{s}.jpg": landscape(s) for s in range(100, 106)}
    files["DCIM/near_original.jpg"] = near_original()
    return files


def bravo_files() -> dict[str, bytes]:
    """Case BRAVO: landscapes 103 and 104 (also in ALPHA, 104 twice), 200, the near copy."""
    return {
        "photos/a.jpg": landscape(103),
        "photos/b.jpg": landscape(104),
        "photos/copy/b.jpg": landscape(104),
        "photos/c.jpg": landscape(200),
        "photos/near_copy.jpg": near_copy(),
    }


def charlie_files() -> dict[str, bytes]:
    """Case CHARLIE: landscape 105 (also in ALPHA) and 300."""
    return {"x/105.jpg": landscape(105), "x/300.jpg": landscape(300)}
