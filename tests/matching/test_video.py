"""The vPDQ video rule and known stills inside videos."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil import synthetic_video as corpus
from vigil.hashing.video import frame_pdq, hash_video
from vigil.hashsets.vpdq_file import read_vpdq_file
from vigil.matching.video import StillSegment, match_video, stills_in_video
from vigil.model import FrameHash

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
HASHES = SHARED / "reference" / "vpdq" / "sample-hashes"




def _frames(name: str) -> list[FrameHash]:
    hashes = read_vpdq_file(HASHES / f"{name}.txt")
    assert hashes.malformed == []
    return hashes.frames


@pytest.mark.parametrize(
    ("target", "query_pct", "compared_pct", "matched"),
    [
        ("chair-19-sd-bar", 100.0, 100.0, True),
        ("chair-22-sd-sepia-bar", 100.0, 85.82, True),
        ("chair-20-sd-bar", 100.0, 92.76, True),
        ("chair-22-with-large-logo-bar", 10.50, 10.58, False),
    ],
)
def test_reference_hash_files(
    target: str, query_pct: float, compared_pct: float, matched: bool
) -> None:
    # Expected figures: the "<=31, unique" column of the reference README's derived check.
    result = match_video(_frames("chair-19-sd-bar"), _frames(target))
    assert result.query_pct == pytest.approx(query_pct, abs=0.005)
    assert result.compared_pct == pytest.approx(compared_pct, abs=0.005)
    assert result.matched is matched


def test_thresholds_and_floor_are_parameters() -> None:
    query, sepia = _frames("chair-19-sd-bar"), _frames("chair-22-sd-sepia-bar")
    assert not match_video(query, sepia, compared_match_threshold=0.9).matched
    assert match_video(query, sepia, compared_match_threshold=0.0).matched
    assert match_video(query, sepia, quality_floor=101) == match_video([], sepia)
    assert match_video([], sepia).matched is False and match_video([], sepia).query_pct == 0.0


def test_distinct_hashes_only() -> None:
    a = FrameHash(0.0, "0" * 64, 100)
    b = FrameHash(1.0, "f" * 64, 100)
    # Ten copies of a matching frame do not outweigh one unmatched distinct frame.
    result = match_video([a] * 10 + [b], [a])
    assert (result.query_pct, result.compared_pct, result.matched) == (50.0, 100.0, False)
    near = FrameHash(0.0, "0" * 56 + "7fffffff", 100)  # 31 bits from a
    far = FrameHash(0.0, "0" * 56 + "ffffffff", 100)  # 32 bits
    assert match_video([a], [near]).matched and not match_video([a], [far]).matched


def test_reencoded_copy_matches_and_other_video_does_not(tmp_path: Path) -> None:
    original = corpus.write_clip(tmp_path / "o.mp4", width=640, height=360, seconds=10.0,
                                 seed=21)
    copy = corpus.reencode(original, tmp_path / "c.mp4", width=320, height=180,
                           bit_rate=120_000)
    other = corpus.write_clip(tmp_path / "x.mp4", width=640, height=360, seconds=10.0,
                              seed=22)
    known = hash_video(original).frames
    assert len(known) == 10
    same = match_video(hash_video(copy).frames, known)
    assert same.matched and same.query_pct >= 90 and same.compared_pct >= 90
    different = match_video(hash_video(other).frames, known)
    assert not different.matched and different.query_pct < 20


def _brute_force(stills: dict[int, str], limit: int = 31):
    def query(pdq: str) -> list[tuple[int, int]]:
        hits = []
        for entry_id, known in stills.items():
            dist = (int(pdq, 16) ^ int(known, 16)).bit_count()
            if dist <= limit:
                hits.append((entry_id, dist))
        return hits

    return query


def test_known_still_found_inside_generated_video(tmp_path: Path) -> None:
    picture = corpus.landscape_still(320, 240, seed=41)
    decoy = corpus.landscape_still(320, 240, seed=42)
    clip = corpus.write_clip(tmp_path / "v.mp4", width=320, height=240, seconds=10.0,
                             seed=40, still=corpus.Still(picture, 4.5, 6.5))
    frames = hash_video(clip).frames
    known = {7: frame_pdq(picture)[0], 8: frame_pdq(decoy)[0]}
    segments = stills_in_video(frames, _brute_force(known))
    assert len(segments) == 1
    segment = segments[0]
    assert segment.entry_id == 7
    assert segment.start == pytest.approx(4.5, abs=1.0)
    assert segment.end == pytest.approx(6.0, abs=1.0)
    assert segment.frames == 2 and segment.distance <= 16


def test_consecutive_hits_merge_and_gaps_split() -> None:
    frames = [FrameHash(float(t), f"{t:064x}", 100) for t in range(8)]
    frames[5] = FrameHash(5.0, f"{5:064x}", 10)  # too flat to look up
    table = {0: [], 1: [(3, 9)], 2: [(3, 4), (4, 0)], 3: [(3, 6)], 4: [(3, 1)],
             5: [(3, 0)], 6: [(3, 2)], 7: []}
    calls: list[str] = []

    def query(pdq: str) -> list[tuple[int, int]]:
        calls.append(pdq)
        return table[int(pdq, 16)]

    assert stills_in_video(list(reversed(frames)), query) == [
        StillSegment(entry_id=3, start=1.0, end=4.0, distance=1, frames=4),
        StillSegment(entry_id=4, start=2.0, end=2.0, distance=0, frames=1),
        StillSegment(entry_id=3, start=6.0, end=6.0, distance=2, frames=1),
    ]
    assert len(calls) == 7
