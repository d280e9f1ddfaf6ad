"""Perceptual analysers: add PDQ to pictures and frame hashes to videos.

Each takes an item and its crypto hashes, re-opens the item's bytes (the crypto pass
has already read them once, so they are usually in the page cache) and returns the
hashes with perceptual values added, plus any errors as records.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from vigil.hashing.pdq import pdq_for_file
from vigil.hashing.video import hash_video
from vigil.model import Hashes, Item, ScanError
from vigil.pipeline.analyse import Analyser

# Decode failures that say nothing about whether the bytes are a picture: it stays one.
_STILL_PICTURES = ("decompression bomb", "cannot read")


def analyse_picture(
    item: Item, hashes: Hashes, mode: str = "fast", tilts: bool = True, uncrops: str = "default"
) -> tuple[Hashes, list[ScanError]]:
    """PDQ hash, quality and query variants of a still picture (``tilts``: also the
    small-rotation variants; ``uncrops``: which cropped-copy variants, a level of
    ``pdq_uncrops``: ``none``, ``default`` or ``all``)."""
    with item.open() as stream:
        result = pdq_for_file(stream, mode, tilts=tilts, uncrops=uncrops)  # type: ignore[arg-type]
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
) -> dict[str, Analyser]:
    """The built-in analysers by media kind (``pdq_uncrops``: all 18 cropped-copy
    variants instead of the default six)."""
    uncrops = "all" if pdq_uncrops else "default"
    return {
        "image": partial(analyse_picture, mode=pdq_mode, tilts=pdq_tilts, uncrops=uncrops),
        "video": partial(analyse_video, fps=video_fps),
    }
