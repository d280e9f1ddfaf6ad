"""Measure what a review-app tile carries: PSNR against downscales, and attacks on it.

Shared by ``tests/web/test_tiles.py`` and ``benchmarks/tile_information.py``.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vigil.demo import draw_landscape
from vigil.web import imaging

SIZES = (16, 24, 32, 40, 48, 64, 96, 128)


def detailed_picture(seed: int) -> bytes:
    """A benign 640x480 test picture with fine detail: a landscape, lettering, stripes."""
    img = draw_landscape(seed, (640, 480))
    draw = ImageDraw.Draw(img)
    for n in range(8):
        draw.text((20, 20 + 24 * n), f"LINE {n} ABCDEFGHIJKLMNOP 0123456789", fill=(0, 0, 0))
    for x in range(400, 620, 4):
        draw.line([(x, 300), (x, 460)], fill=(255, 255, 255) if x % 8 else (0, 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95)
    return out.getvalue()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two 8-bit greyscale arrays, in dB."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def reference(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """The original in greyscale at the tile's display size."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("L").resize(size, Image.LANCZOS))


def downscaled(full: np.ndarray, side: int) -> np.ndarray:
    """``full`` shrunk to ``side`` px on its long side and enlarged back (bicubic)."""
    img = Image.fromarray(full)
    scale = side / max(img.size)
    small = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                       Image.BOX)
    return np.asarray(small.resize(img.size, Image.BICUBIC))


def wiener(tile: np.ndarray, sigma: float, k: float = 1e-3) -> np.ndarray:
    """Deconvolve a Gaussian blur of known ``sigma`` (the attacker knows the kernel)."""
    h, w = tile.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    kernel = np.exp(-2 * (np.pi**2) * (sigma**2) * (fx**2 + fy**2))
    spectrum = np.fft.fft2(tile.astype(np.float64))
    out = np.real(np.fft.ifft2(spectrum * kernel / (kernel**2 + k)))
    return np.clip(out, 0, 255).astype(np.uint8)


def attacks(tile: np.ndarray, sigma: float) -> dict[str, np.ndarray]:
    """The tile as served and after the client-side recoveries tried."""
    sharp = Image.fromarray(tile).filter(ImageFilter.UnsharpMask(radius=6, percent=300))
    return {
        "tile": tile,
        "wiener": wiener(tile, sigma),
        "wiener+unsharp": np.asarray(
            Image.fromarray(wiener(tile, sigma)).filter(ImageFilter.UnsharpMask(6, 200))
        ),
        "unsharp": np.asarray(sharp),
    }


def measure(data: bytes) -> tuple[dict[int, float], dict[str, float]]:
    """PSNR against the original for each downscale size and each attack on the tile."""
    tile = np.asarray(Image.open(io.BytesIO(imaging.blurred_tile(data, imaging.MIN_BLUR))))
    full = reference(data, (tile.shape[1], tile.shape[0]))
    sizes = {side: psnr(full, downscaled(full, side)) for side in SIZES}
    tried = {name: psnr(full, img) for name, img in attacks(tile, imaging.MIN_BLUR).items()}
    return sizes, tried


def equivalent_side(sizes: dict[int, float], value: float) -> float:
    """The downscale size (interpolated) whose PSNR equals ``value``."""
    sides = sorted(sizes)
    for lo, hi in zip(sides, sides[1:], strict=False):
        if sizes[lo] <= value <= sizes[hi]:
            return lo + (hi - lo) * (value - sizes[lo]) / (sizes[hi] - sizes[lo])
    return float(sides[0] if value < sizes[sides[0]] else sides[-1])
