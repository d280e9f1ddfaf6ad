"""vigil's video hashing against Meta's vPDQ expected per-frame hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.hashing.video import hash_video, hash_video_exact
from vigil.hashsets.vpdq_file import read_vpdq_file

VPDQ = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "vpdq"
VIDEOS = sorted((VPDQ / "tmk" / "sample-videos").glob("*.mp4"))
DISTANCE = 31
QUALITY = 50


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_reference_videos_present() -> None:
    assert [v.stem for v in VIDEOS] == [
        "chair-19-sd-bar",
        "doorknob-hd-no-bar",
        "pattern-sd-grey-bar",
        "pattern-sd-with-small-logo-bar",
        "test-padded-dimensions",
    ]


@pytest.mark.parametrize("video", VIDEOS, ids=lambda p: p.stem)
def test_exact_mode_matches_reference_every_frame(video: Path) -> None:
    # Upstream's rule (vpdq/python/tests/test_vpdq_hash.py): same frame count, and every
    # frame pair where both qualities are >= 50 within the distance.
    expected = read_vpdq_file(VPDQ / "sample-hashes" / f"{video.stem}.txt")
    assert expected.malformed == []
    result = hash_video_exact(video)
    assert result.errors == []
    assert len(result.frames) == len(expected.frames)
    compared = 0
    for got, want in zip(result.frames, expected.frames, strict=True):
        assert got.timestamp == pytest.approx(want.timestamp, abs=0.0011)
        if got.quality >= QUALITY and want.quality >= QUALITY:
            compared += 1
            assert _distance(got.pdq, want.pdq) < DISTANCE, got.timestamp
    assert compared >= 50


@pytest.mark.parametrize("video", VIDEOS, ids=lambda p: p.stem)
def test_one_fps_sampling_matches_reference_frame_at_same_time(video: Path) -> None:
    expected = read_vpdq_file(VPDQ / "sample-hashes" / f"{video.stem}.txt").frames
    by_time = {round(f.timestamp, 3): f for f in expected}
    result = hash_video(video, fps=1.0)
    assert result.errors == [] and not result.partial
    duration = expected[-1].timestamp
    assert [f.timestamp for f in result.frames] == [float(s) for s in range(int(duration) + 1)]
    assert result.decoded_frames < len(expected)
    checked = 0
    for frame in result.frames:
        want = by_time[frame.timestamp]
        if want.quality >= QUALITY:
            checked += 1
            # Measured: at most 6 bits on these five videos.
            assert _distance(frame.pdq, want.pdq) <= 8, frame.timestamp
    assert checked >= 2
