"""PDQ perceptual hashes of still pictures, with rotation, mirror and border variants.

Two modes:

* ``reference``: the python-threatexchange pipeline, hash for hash: Pillow decodes at
  full resolution, converts every mode other than RGB with Pillow's ``convert("RGB")``
  (16-bit grey clipped at 255, palette colours without their transparency, Pillow's
  CMYK ink, L stacked three times) and Meta's C++ core (the ``pdqhash`` package) hashes
  it. EXIF orientation is not applied (the ``oriented`` variant applies it).
* ``fast`` (the scan default): JPEGs are decoded at 1/2..1/8 scale in the DCT domain
  straight to luma, other formats are box-reduced, and the numpy PDQ core in
  ``pdq_core`` hashes the result. 16-bit grey keeps its high byte here, so that a 16-bit
  copy of a known picture still matches it. Meta's bar for a compatible implementation is
  within 10 bits of the reference at quality >= 80; ``benchmarks/pdq.py`` measures the
  drift on a generated corpus.

Every result also carries variants: the 8 dihedral transforms derived from the DCT
block (``orig``, ``rot90``, ... see ``pdq_core.DIHEDRAL_NAMES``), ``oriented`` (the
picture as its EXIF orientation displays it, when that is not the stored way),
``trimmed`` (the content inside uniform borders, when there are any) and the six small
rotations ``tilt-6`` ... ``tilt+6`` (``pdq_tilts``).

Low-quality hashes are returned with their quality: deciding what to trust is the
matcher's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pdqhash

from vigil.hashing import pdq_core
from vigil.hashing.decode import DEFAULT_MAX_PIXELS, Decoded, Source, apply_orientation, decode
from vigil.hashing.pdq_borders import find_borders
from vigil.hashing.pdq_tilts import tilt_variants
from vigil.hashing.pdq_uncrops import UncropLevel, uncrop_variants
from vigil.model import ExifFacts, Media

Mode = Literal["fast", "reference"]

# Short side kept by the reduced decode. Below about 200 px the reduced grid is too
# coarse for the reference's tent filter: at 192 a generated corpus drifts up to 14 bits,
# at 256 up to 10 (docs/benchmarks.md). A 12 MP JPEG is still decoded at 1/8 scale
# and a 1080p one at 1/4.
FAST_MIN_SIDE = 256
MATCH_DISTANCE = 31
MIN_QUALITY = 50

_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class PdqResult:
    """PDQ of one picture.

    Attributes:
        hash: 64 lower-case hex characters, or None when the picture could not be decoded.
        quality: 0..100 (below 50 the hash matches too much to be trusted), None on error.
        width: stored width of the picture.
        height: stored height of the picture.
        partial: only part of the file decoded (truncated or damaged).
        error: why there is no hash, or None.
        variants: variant name to hash: the 8 dihedral transforms, plus ``oriented``
            and ``trimmed`` when they apply.
        mode: the mode that produced the hash.
        exif: camera facts the decoder read from the picture's EXIF, or None.
    """

    hash: str | None
    quality: int | None
    width: int = 0
    height: int = 0
    partial: bool = False
    error: str | None = None
    variants: dict[str, str] = field(default_factory=dict)
    mode: Mode = "fast"
    exif: ExifFacts | None = None


def normalize_hash(value: str) -> str:
    """Validate a PDQ hash and return it in canonical lower-case form.

    Args:
        value: 64 hex characters, any case, surrounding blanks allowed.

    Returns:
        The lower-case hash.

    Raises:
        ValueError: the value is not 64 hex characters.
    """
    canonical = value.strip().lower()
    if not _HEX.match(canonical):
        raise ValueError(f"{value!r} is not a 256-bit PDQ hash (64 hex characters)")
    return canonical


def hamming(a_hex: str, b_hex: str) -> int:
    """Hamming distance between two PDQ hashes given as hex.

    Args:
        a_hex: first hash.
        b_hex: second hash.

    Returns:
        Number of differing bits, 0..256.
    """
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def pdq_for_file(
    source: Source,
    mode: Mode = "fast",
    *,
    variants: bool = True,
    tilts: bool = True,
    uncrops: bool | UncropLevel = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> PdqResult:
    """PDQ hash, quality and variants of one still picture.

    Args:
        source: the file's bytes, a path, or a binary stream at its start.
        mode: ``fast`` (reduced decode, numpy core) or ``reference`` (full resolution,
            Meta's C++ core; identical to python-threatexchange).
        variants: also compute the dihedral, ``oriented`` and ``trimmed`` variants.
        tilts: with ``variants``, also the small-rotation variants (``tilt+2`` ...).
        uncrops: with ``variants``, also the cropped-copy variants (``uncrop5-y25x25`` ...):
            a level of ``pdq_uncrops`` (``none``, ``default``, ``all``); True is ``all``,
            False ``none``.
        max_pixels: pictures with more pixels are refused as decompression bombs.

    Returns:
        A ``PdqResult``; ``error`` is set (and ``hash`` None) when nothing decoded.
    """
    min_side = FAST_MIN_SIDE if mode == "fast" else None
    decoded = decode(source, min_side=min_side, max_pixels=max_pixels)
    return pdq_for_decoded(decoded, mode, variants=variants, tilts=tilts, uncrops=uncrops)


def pdq_for_decoded(
    decoded: Decoded,
    mode: Mode = "fast",
    *,
    variants: bool = True,
    tilts: bool = True,
    uncrops: bool | UncropLevel = True,
) -> PdqResult:
    """PDQ of a picture already decoded by ``decode.decode``.

    Args:
        decoded: full-resolution RGB for ``reference``, reduced luma for ``fast``.
        mode: which core hashes the pixels.
        variants: also compute the dihedral, ``oriented`` and ``trimmed`` variants.
        tilts: with ``variants``, also the small-rotation variants (``pdq_tilts``).
        uncrops: with ``variants``, also the cropped-copy variants (``pdq_uncrops``): a
            level (``none``, ``default``, ``all``); True is ``all``, False ``none``.

    Returns:
        A ``PdqResult``.
    """
    size = {"width": decoded.width, "height": decoded.height, "exif": decoded.exif}
    if decoded.pixels is None:
        return PdqResult(
            None, None, **size, partial=decoded.partial, error=decoded.error, mode=mode
        )
    scale = decoded.scale
    block, quality = _block(decoded.pixels, mode, scale)
    found: dict[str, str] = {}
    if variants:
        for name, variant in pdq_core.dihedral_blocks(block).items():
            found[name] = pdq_core.block_to_hex(variant)
        if decoded.orientation != 1:
            shown = apply_orientation(decoded.pixels, decoded.orientation)
            found["oriented"] = pdq_core.block_to_hex(_block(shown, mode, scale)[0])
        grey = decoded.pixels if decoded.pixels.ndim == 2 else pdq_core.luma(decoded.pixels)
        box = find_borders(grey)
        if box is not None:
            top, bottom, left, right = box
            content = decoded.pixels[top:bottom, left:right]
            found["trimmed"] = pdq_core.block_to_hex(_block(content, mode, scale)[0])
        if tilts:
            found.update(tilt_variants(grey, scale))
        level = uncrops if isinstance(uncrops, str) else ("all" if uncrops else "none")
        found.update(uncrop_variants(grey, scale, level))
    return PdqResult(
        pdq_core.block_to_hex(block),
        quality,
        **size,
        partial=decoded.partial,
        variants=found,
        mode=mode,
    )


def _block(pixels: np.ndarray, mode: Mode, scale: int) -> tuple[np.ndarray, int]:
    """DCT block and quality, by Meta's core (reference) or the numpy core (fast)."""
    if mode == "reference":
        rgb = np.ascontiguousarray(pixels if pixels.ndim == 3 else np.stack([pixels] * 3, -1))
        values, quality = pdqhash.compute_float(rgb)
        # pdqhash lists coefficient (u, v) at position 255 - (16u + v).
        return np.asarray(values, dtype=np.float32)[::-1].reshape(16, 16), int(quality)
    grey = pixels if pixels.ndim == 2 else pdq_core.luma(pixels)
    return pdq_core.hash_grey(grey, scale)


class PdqHasher:
    """PDQ as a registered hasher (see ``vigil.hashing.registry``)."""

    name = "pdq"
    media: frozenset[Media] = frozenset({"image"})

    def __init__(self, mode: Mode = "fast") -> None:
        self.mode = mode

    def hash(self, data: bytes) -> dict[str, str | int | None]:
        """Hash one picture's bytes.

        Args:
            data: the file's bytes.

        Returns:
            ``pdq`` (hex or None), ``pdq_quality``, ``pdq_partial`` (0/1), ``pdq_error``
            and one ``pdq_<variant>`` entry per variant.
        """
        result = pdq_for_file(data, self.mode)
        values: dict[str, str | int | None] = {
            "pdq": result.hash,
            "pdq_quality": result.quality,
            "pdq_partial": int(result.partial),
            "pdq_error": result.error,
        }
        for name, value in result.variants.items():
            values[f"pdq_{name}"] = value
        return values
