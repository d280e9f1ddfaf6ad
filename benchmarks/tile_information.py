"""How much of a picture a review-app tile carries, measured as PSNR.

For benign test pictures (drawn landscapes with lettering and fine stripes, and the
public PDQ reference images when present) the script renders the tile at the lowest
blur a client can ask for, and attacks it: Wiener deconvolution with the known
Gaussian kernel, then unsharp masking. Each is compared (PSNR, dB, on the 480 px
greyscale picture) with the original shrunk to 16..128 px and enlarged again: the size
whose PSNR the best attack does not exceed is the detail the tile gives away.

    .venv/bin/python benchmarks/tile_information.py [--images DIR ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

from tile_measure import SIZES, detailed_picture, equivalent_side, measure  # noqa: E402

from vigil.web import imaging  # noqa: E402


def main() -> int:
    """Print one table row per picture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images", type=Path, action="append", default=[],
        help="Folder of extra benign pictures (repeatable; its first 6 JPEGs).",
    )
    args = parser.parse_args()
    pictures = [(f"drawn-{s}", detailed_picture(s)) for s in (1, 2, 3)]
    for folder in args.images:
        for path in sorted(folder.glob("*.jpg"))[:6]:
            pictures.append((path.name, path.read_bytes()))
    head = " | ".join(f"{s} px" for s in SIZES)
    print(f"| picture | {head} | tile | best attack | = px |")
    print("|---" * (len(SIZES) + 4) + "|")
    worst = 0.0
    for name, data in pictures:
        sizes, tried = measure(data)
        best = max(tried.values())
        side = equivalent_side(sizes, best)
        worst = max(worst, side)
        cells = " | ".join(f"{sizes[s]:.1f}" for s in SIZES)
        print(f"| {name} | {cells} | {tried['tile']:.1f} | {best:.1f} "
              f"({max(tried, key=tried.get)}) | {side:.0f} |")
    print(f"floor {imaging.FLOOR_SIDE} px; worst equivalent size {worst:.0f} px")
    return 0 if worst <= 48 else 1


if __name__ == "__main__":
    sys.exit(main())
