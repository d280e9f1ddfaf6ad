"""Seeded generator of benign, photo-like test pictures (landscapes, shapes, noise).

Every picture is procedurally drawn: a sky gradient, layered mountain ridges, a lake
or field, a sun, some random shapes, and sensor-like noise. The same seed always gives
the same pixels, so benchmarks and tests are repeatable. Nothing here depicts people.

    python benchmarks/corpus.py OUT_DIR --count 20 --size 1920x1080
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZES = {
    "12MP": (4000, 3000),
    "1080p": (1920, 1080),
    "1024x768": (1024, 768),
    "640x480": (640, 480),
}


def _ridge(rng: np.random.Generator, width: int, base: float, roughness: float) -> np.ndarray:
    """Heights of a mountain ridge (sum of random sines), one per column."""
    x = np.linspace(0, 1, width)
    height = np.full(width, base)
    for octave in range(1, 6):
        freq = rng.uniform(1, 3) * 2**octave
        phase = rng.uniform(0, 2 * np.pi)
        height += roughness / octave * np.sin(2 * np.pi * freq * x + phase)
    return height


def photo(seed: int, width: int, height: int) -> Image.Image:
    """Draw one photo-like RGB picture.

    Args:
        seed: random seed; the same seed gives the same picture.
        width: width in pixels.
        height: height in pixels.

    Returns:
        An RGB Pillow image.
    """
    rng = np.random.default_rng(seed)
    # Draw at a working size, then scale up: big pictures stay cheap to make.
    work_w, work_h = max(64, width // 4), max(48, height // 4)
    y = np.linspace(0, 1, work_h)[:, None, None]
    top = rng.uniform(40, 140, 3)
    bottom = rng.uniform(150, 255, 3)
    sky = top + (bottom - top) * y
    canvas = np.broadcast_to(sky, (work_h, work_w, 3)).copy()
    rows = np.arange(work_h)[:, None]
    for layer in range(rng.integers(2, 5)):
        base = work_h * rng.uniform(0.3, 0.7) + layer * work_h * 0.08
        ridge = _ridge(rng, work_w, base, work_h * rng.uniform(0.03, 0.12))
        colour = rng.uniform(20, 160, 3) * (0.6 + 0.1 * layer)
        shade = rng.uniform(0.4, 1.0)
        below = rows >= ridge[None, :]
        depth = np.clip((rows - ridge[None, :]) / work_h, 0, 1)[..., None]
        canvas = np.where(below[..., None], colour * (1 - shade * depth), canvas)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    sun = rng.uniform(0.1, 0.9) * work_w, rng.uniform(0.05, 0.3) * work_h
    radius = rng.uniform(0.03, 0.08) * work_w
    draw.ellipse(
        (sun[0] - radius, sun[1] - radius, sun[0] + radius, sun[1] + radius),
        fill=tuple(int(v) for v in rng.uniform(200, 255, 3)),
    )
    for _ in range(rng.integers(3, 12)):
        x0, y0 = rng.uniform(0, work_w), rng.uniform(0.4 * work_h, work_h)
        size = rng.uniform(0.02, 0.15) * work_w
        fill = tuple(int(v) for v in rng.uniform(0, 255, 3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x0 + size, y0 + size * rng.uniform(0.5, 2)), fill=fill)
        else:
            draw.polygon(
                [(x0, y0), (x0 + size, y0), (x0 + size / 2, y0 - size * rng.uniform(1, 3))],
                fill=fill,
            )
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    noise = rng.normal(0, rng.uniform(1, 6), (height, width, 1)).astype(np.float32)
    pixels = np.asarray(image, dtype=np.float32) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg_bytes(image: Image.Image, quality: int = 88, progressive: bool = False) -> bytes:
    """Encode a picture as JPEG.

    Args:
        image: the picture.
        quality: JPEG quality (1..95).
        progressive: write a progressive JPEG.

    Returns:
        The file's bytes.
    """
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, progressive=progressive)
    return buffer.getvalue()


def mixed_sizes(count: int, seed: int = 0) -> Iterator[tuple[int, int]]:
    """Random (width, height) pairs between 160 and 1600 px, portrait and landscape."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        long_side = int(rng.integers(160, 1600))
        short_side = int(long_side * rng.uniform(0.5, 1.0))
        yield (long_side, short_side) if rng.random() < 0.7 else (short_side, long_side)


def main() -> None:
    """Write a corpus of JPEGs to a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--size", default="1024x768", help="WxH, or a name in SIZES")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    width, height = SIZES.get(args.size) or tuple(int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    for number in range(args.count):
        data = jpeg_bytes(photo(args.seed + number, width, height))
        (args.out / f"photo-{args.seed + number:05d}.jpg").write_bytes(data)


if __name__ == "__main__":
    main()
