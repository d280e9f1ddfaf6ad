"""Perceptual analysers: add PDQ to pictures and frame hashes to videos.

Each takes an item and its crypto hashes, re-opens the item's bytes (the crypto pass
has already read them once, so they are usually in the page cache) and returns the
hashes with perceptual values added, plus any errors as records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import numpy as np

from vigil.hashing.decode import decode
from vigil.hashing.pdq import DEFAULT_MAX_PIXELS, FAST_MIN_SIDE, pdq_for_decoded
from vigil.hashing.video import hash_video
from vigil.model import Hashes, Item, ScanError
from vigil.pipeline.analyse import Analyser

# Decode failures that say nothing about whether the bytes are a picture: it stays one.
_STILL_PICTURES = ("decompression bomb", "cannot read")


class DecodedPictures:
    """The last picture each thread decoded, kept for a later step of the same item (the
    lab bank's region matching): one picture per thread, replaced by the next."""

    def __init__(self) -> None:
        self._local = threading.local()

    def keep(self, sha256: str, pixels: np.ndarray) -> None:
        """Keep ``pixels`` as the decoded picture of content ``sha256``."""
        self._local.last = (sha256, pixels)

    def take(self, sha256: str) -> np.ndarray | None:
        """The kept pixels of content ``sha256`` (None if this thread's last decode was
        another content's), forgotten after."""
        last = getattr(self._local, "last", None)
        self._local.last = None
        return last[1] if last is not None and last[0] == sha256 else None


def analyse_picture(
    item: Item,
    hashes: Hashes,
    mode: str = "fast",
    tilts: bool = True,
    uncrops: str = "default",
    keep: DecodedPictures | None = None,
) -> tuple[Hashes, list[ScanError]]:
    """PDQ hash, quality and query variants of a still picture (``tilts``: also the
    small-rotation variants; ``uncrops``: which cropped-copy variants, a level of
    ``pdq_uncrops``: ``none``, ``default`` or ``all``; ``keep``: where to leave the
    decoded pixels, the fast mode's reduced decode, for region matching)."""
    min_side = FAST_MIN_SIDE if mode == "fast" else None
    with item.open() as stream:
        decoded = decode(stream, min_side=min_side, max_pixels=DEFAULT_MAX_PIXELS)
    result = pdq_for_decoded(decoded, mode, tilts=tilts, uncrops=uncrops)  # type: ignore[arg-type]
    if keep is not None and decoded.pixels is not None:
        keep.keep(hashes.sha256, decoded.pixels)
    errors = []
    if result.error and result.hash is None and not result.error.startswith(_STILL_PICTURES):
        # A signature but nothing that decodes: damaged, counted as "other", not a picture.
        errors.append(ScanError(item.path, "decode", f"{result.error}; not counted as a picture"))
        return replace(hashes, media="other", partial=True), errors
    if result.error:
        errors.append(ScanError(item.path, "decode", result.error))
    elif result.partial:
        errors.append(ScanError(item.path, "decode", "picture only partly decoded (truncated?)"))
    return (
        replace(
            hashes,
            pdq=result.hash,
            pdq_quality=result.quality,
            partial=hashes.partial or result.partial,
            pdq_variants=dict(result.variants),
            exif=result.exif,
        ),
        errors,
    )


def analyse_video(item: Item, hashes: Hashes, fps: float = 1.0) -> tuple[Hashes, list[ScanError]]:
    """Frame hashes (vPDQ-compatible) and blurred review thumbnails of a video."""
    with item.open() as stream:
        result = hash_video(stream, fps=fps)
    errors = [ScanError(item.path, "video", reason) for reason in result.errors]
    return (
        replace(
            hashes,
            frames=tuple(result.frames),
            thumbnails=tuple(result.thumbnails),
            partial=hashes.partial or result.partial,
        ),
        errors,
    )


def perceptual_analysers(
    pdq_mode: str = "fast",
    video_fps: float = 1.0,
    pdq_tilts: bool = True,
    pdq_uncrops: bool = False,
    keep: DecodedPictures | None = None,
) -> dict[str, Analyser]:
    """The built-in analysers by media kind (``pdq_uncrops``: all 18 cropped-copy
    variants instead of the default six; ``keep``: see ``analyse_picture``)."""
    uncrops = "all" if pdq_uncrops else "default"
    picture: Callable[[Item, Hashes], tuple[Hashes, list[ScanError]]] = partial(
        analyse_picture, mode=pdq_mode, tilts=pdq_tilts, uncrops=uncrops, keep=keep
    )
    return {
        "image": picture,
        "video": partial(analyse_video, fps=video_fps),
    }
