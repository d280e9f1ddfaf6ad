"""Assemble the matchers and analysers of a scan from the hash-set library."""

from __future__ import annotations

from pathlib import Path

from vigil.hashsets.library import HashSetLibrary
from vigil.matching.exact import ExactMatcher
from vigil.matching.lab_regions import RegionMatcher
from vigil.matching.perceptual import PerceptualMatcher, PerceptualSettings
from vigil.model import Hashes, Match
from vigil.pipeline.analyse import Analyser, Matcher
from vigil.pipeline.perceptual import DecodedPictures, perceptual_analysers
from vigil.pipeline.scan import ScanSettings


def hashset_records(library: HashSetLibrary, names: tuple[str, ...]) -> list[dict[str, object]]:
    """Descriptions of the chosen hash sets (all sets when ``names`` is empty)."""
    infos = [library.get(n) for n in names] if names else library.list()
    return [
        {
            "name": i.name,
            "format": i.format,
            "scheme": i.scheme,
            "known_good": i.known_good,
            "entries": i.entries,
            "source_sha256": i.source_sha256,
            "imported_at": i.imported_at,
        }
        for i in infos
    ]


def build_matchers(home: Path, settings: ScanSettings) -> tuple[list[Matcher], dict[str, Analyser]]:
    """The matchers and perceptual analysers for a scan with ``settings``."""
    library = HashSetLibrary(home)
    names = list(settings.hashsets) or None
    exact = ExactMatcher(library, names)

    def exact_match(h: Hashes) -> list[Match]:
        return exact.match(h.md5, h.sha1, h.sha256)

    perceptual = PerceptualMatcher(
        library,
        names,
        PerceptualSettings(
            min_quality=settings.pdq_min_quality,
            max_distance=settings.pdq_max_distance,
            video_threshold=settings.video_match_threshold,
        ),
    )
    regions = RegionMatcher(library, names) if settings.lab_regions else None
    if regions is None or not regions.indexes:
        analysers = perceptual_analysers(
            settings.pdq_mode, settings.video_fps, settings.pdq_tilts, settings.pdq_uncrops
        )
        return [exact_match, perceptual], analysers
    # A lab set holds region signatures: a picture that no exact hash and no PDQ
    # matched is looked up by its keypoints, on the pixels its PDQ was computed from.
    lab: RegionMatcher = regions
    decoded = DecodedPictures()
    analysers = perceptual_analysers(
        settings.pdq_mode, settings.video_fps, settings.pdq_tilts, settings.pdq_uncrops, decoded
    )

    def match(h: Hashes) -> list[Match]:
        found = exact_match(h) + perceptual(h)
        pixels = decoded.take(h.sha256) if h.media == "image" else None
        if found or pixels is None:
            return found
        return lab.match_pixels(pixels)

    return [match], analysers
