"""Letterbox trimming measured on generated pictures: false trims and missed trims.

Borderless pictures: photo-like scenes (``corpus.photo``), drawn landscapes
(``vigil.demo.draw_landscape``), dark night versions of both, vignetted ones whose edges
fade to near black, and pictures with a dark band of their own along one edge. Padded
pictures: each of the dark, vignetted and banded ones, and plain ones, letterboxed to
16:9 or pillarboxed to 4:3 with black bars, padded with white, or shown on a dark phone
screen with a status bar. Everything is saved as JPEG (quality 90) and decoded as a scan
decodes it (reduced luma).

A *false trim* is a box found in a borderless picture; a *missed trim* is a padded picture
whose box is not found, or is off by more than 2% of the side (at least 4 px) on a side.

    python benchmarks/borders.py [--count 60]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402
from vigil.demo import draw_landscape  # noqa: E402
from vigil.hashing.decode import decode  # noqa: E402
from vigil.hashing.pdq import FAST_MIN_SIDE  # noqa: E402
from vigil.hashing.pdq_borders import find_borders  # noqa: E402

SIZES = ((640, 480), (800, 600), (720, 540), (960, 540), (600, 600), (480, 640))
Box = tuple[int, int, int, int]


def _scale(image: Image.Image, factor: np.ndarray | float) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    factor = factor[..., None] if isinstance(factor, np.ndarray) else factor
    return Image.fromarray(np.clip(pixels * factor, 0, 255).astype(np.uint8))


def _noise(image: Image.Image, seed: int, sigma: float = 2.5) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0, sigma, pixels.shape[:2] + (1,))
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def night(image: Image.Image, seed: int) -> Image.Image:
    """The scene at night: a quarter of the light, with sensor noise."""
    return _noise(_scale(image, 0.22), seed)


def vignette(image: Image.Image, seed: int) -> Image.Image:
    """Edges fading to near black, as a lens vignette or a spotlight does."""
    h, w = image.height, image.width
    y, x = np.mgrid[0:h, 0:w]
    r = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2))
    return _noise(_scale(image, np.clip(1.25 - 1.1 * r, 0.05, 1.0)), seed)


def banded(image: Image.Image, seed: int) -> Image.Image:
    """A dark band of the picture's own along one edge (a ceiling, a shadow, a road)."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    depth = rng.uniform(0.04, 0.12)
    level = int(rng.integers(4, 30))
    side = int(rng.integers(0, 4))
    box = [
        (0, 0, w, int(h * depth)),
        (0, int(h * (1 - depth)), w, h),
        (0, 0, int(w * depth), h),
        (int(w * (1 - depth)), 0, w, h),
    ][side]
    draw.rectangle(box, fill=(level, level, level + 3))
    return _noise(out, seed, 3.0)


def borderless(count: int) -> Iterator[tuple[str, Image.Image]]:
    """``count`` pictures of each kind, none with a border: (label, picture)."""
    for i in range(count):
        size = SIZES[i % len(SIZES)]
        photo = corpus.photo(5000 + i, *size)
        land = draw_landscape(6000 + i, size)
        yield f"photo-{i}", photo
        yield f"landscape-{i}", land
        yield f"night-{i}", night(photo if i % 2 else land, i)
        yield f"vignette-{i}", vignette(land if i % 2 else photo, i)
        yield f"banded-{i}", banded(photo if i % 2 else land, i)


def pad(image: Image.Image, style: str) -> tuple[Image.Image, Box]:
    """``image`` padded in one of four styles, and where it sits: (top, bottom, left, right)."""
    w, h = image.size
    if style in ("black", "white"):
        if w / h < 16 / 9 - 0.01:
            canvas = (round(h * 16 / 9), h) if style == "black" else (w + w // 3, h + h // 5)
        else:
            canvas = (w, round(w * 3 / 4))
        colour = (0, 0, 0) if style == "black" else (250, 250, 250)
        out = Image.new("RGB", canvas, colour)
    else:  # a dark phone screen with a status bar, the picture full width
        screen_w = w
        canvas = (screen_w, max(round(screen_w * 19.5 / 9), h + 200))
        out = Image.new("RGB", canvas, (18, 18, 18))
        draw = ImageDraw.Draw(out)
        draw.text((16, 10), "09:41", fill=(235, 235, 235))
        draw.rectangle((screen_w - 50, 12, screen_w - 20, 22), outline=(235, 235, 235))
    left, top = (canvas[0] - w) // 2, (canvas[1] - h) // 2
    out.paste(image, (left, top))
    return out, (top, top + h, left, left + w)


def boxed(count: int) -> Iterator[tuple[str, Image.Image, Box]]:
    """Padded pictures: (label, picture, true content box)."""
    styles = ("black", "white", "screen")
    for k, (label, image) in enumerate(borderless(count)):
        style = styles[k % len(styles)]
        padded, box = pad(image, style)
        yield f"{label}-{style}", padded, box


def found_box(image: Image.Image) -> tuple[Box | None, int]:
    """The trimmer's box on the JPEG of ``image`` at stored scale, and the decode scale."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    decoded = decode(buffer.getvalue(), min_side=FAST_MIN_SIDE)
    box = find_borders(decoded.pixels)
    if box is None:
        return None, decoded.scale
    h, w = decoded.pixels.shape
    sy, sx = image.height / h, image.width / w
    top, bottom, left, right = box
    return (round(top * sy), round(bottom * sy), round(left * sx), round(right * sx)), decoded.scale


def box_is_right(found: Box | None, true: Box, size: tuple[int, int]) -> bool:
    """Every side within 2% of its length (at least 4 px) of the true box."""
    if found is None:
        return False
    w, h = size
    slack = (max(4, 0.02 * h),) * 2 + (max(4, 0.02 * w),) * 2
    return all(abs(a - b) <= s for a, b, s in zip(found, true, slack, strict=True))


def measure(count: int) -> dict[str, object]:
    """False and missed trims over ``5 * count`` borderless and as many padded pictures."""
    false_trims = [label for label, image in borderless(count) if found_box(image)[0]]
    missed = []
    for label, image, box in boxed(count):
        found, _ = found_box(image)
        if not box_is_right(found, box, image.size):
            missed.append((label, found, box))
    return {"borderless": 5 * count, "false": false_trims, "padded": 5 * count, "missed": missed}


def main() -> None:
    """Print the false and missed trims."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="pictures of each kind")
    args = parser.parse_args()
    start = time.perf_counter()
    result = measure(args.count)
    print(f"false trims: {len(result['false'])}/{result['borderless']} borderless pictures")
    by_kind: dict[str, int] = {}
    for label in result["false"]:
        by_kind[label.split("-")[0]] = by_kind.get(label.split("-")[0], 0) + 1
    print("  by kind:", by_kind)
    print(f"missed trims: {len(result['missed'])}/{result['padded']} padded pictures")
    by_kind = {}
    for label, _, _ in result["missed"]:
        kind = f"{label.split('-')[0]}-{label.split('-')[-1]}"
        by_kind[kind] = by_kind.get(kind, 0) + 1
    print("  by kind:", by_kind)
    for label, found, box in result["missed"][:10]:
        print("  e.g.", label, "found", found, "true", box)
    print(f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
