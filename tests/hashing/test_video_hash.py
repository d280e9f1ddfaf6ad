"""hash_video on generated benign clips: formats, damage, rotation, thumbnails, sampling."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vigil import synthetic_video as corpus
from vigil.hashing.video import frame_pdq, hash_video, reduction_factor
from vigil.hashing.video_sampling import LinearSampler, plan_gop


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@pytest.mark.parametrize("ext", sorted(corpus.FORMATS))
def test_every_container_format_decodes(tmp_path: Path, ext: str) -> None:
    clip = corpus.write_clip(tmp_path / f"clip{ext}", seconds=3.0, seed=7)
    result = hash_video(clip)
    assert result.errors == [] and not result.partial
    assert (result.width, result.height) == (320, 240)
    assert result.duration == pytest.approx(3.0, abs=0.15)
    stamps = [f.timestamp for f in result.frames]
    assert len(stamps) == 3
    assert [int(s) for s in stamps] == [0, 1, 2]
    assert all(f.quality >= 50 for f in result.frames)


def test_samples_are_close_to_exact_frames(tmp_path: Path) -> None:
    clip = corpus.write_clip(tmp_path / "a.mp4", width=640, height=360, seconds=4.0, seed=3)
    result = hash_video(clip)
    pictures = list(corpus.moving_frames(640, 360, 4.0, 30, 3))
    for frame in result.frames:
        original, _ = frame_pdq(pictures[round(frame.timestamp * 30)])
        assert _distance(frame.pdq, original) <= 16


def test_truncated_video_gives_partial_frames_and_errors(tmp_path: Path) -> None:
    clip = corpus.write_clip(tmp_path / "whole.mp4", seconds=6.0, seed=11, gop=30)
    data = clip.read_bytes()
    cut = tmp_path / "half.mp4"
    cut.write_bytes(data[: len(data) // 2])
    whole = hash_video(clip)
    result = hash_video(cut)
    assert result.partial
    assert result.errors
    assert 1 <= len(result.frames) < len(whole.frames)
    assert result.frames == whole.frames[: len(result.frames)]


def test_garbage_and_missing_input_never_raise(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40)
    for source in (junk, tmp_path / "missing.mp4", io.BytesIO(b"not a video")):
        result = hash_video(source)
        assert result.frames == [] and result.partial
        assert result.errors[0].startswith("cannot open video")


def test_reads_from_binary_stream(tmp_path: Path) -> None:
    clip = corpus.write_clip(tmp_path / "s.mkv", seconds=2.0, seed=5)
    from_path = hash_video(clip)
    from_stream = hash_video(io.BytesIO(clip.read_bytes()))
    assert from_stream.frames == from_path.frames and len(from_path.frames) == 2


def test_rotation_is_reported_and_hashed_as_variant(tmp_path: Path) -> None:
    upright = corpus.landscape_still(240, 320, seed=4)  # portrait as displayed
    stored = np.ascontiguousarray(np.rot90(upright, k=-1))  # stored turned clockwise
    clip = corpus.write_clip(
        tmp_path / "r.mp4", width=320, height=240, seconds=2.0, seed=1, rotation=90,
        frames=iter([stored] * 60),
    )
    result = hash_video(clip)
    assert result.rotation == 90
    assert len(result.rotated_frames) == len(result.frames) == 2
    want, _ = frame_pdq(upright)
    assert _distance(result.rotated_frames[0].pdq, want) <= 16
    assert _distance(result.frames[0].pdq, want) > 64
    thumb = Image.open(io.BytesIO(result.thumbnails[0][1]))
    assert thumb.size == (192, 256)  # portrait, as displayed


def test_thumbnails_are_small_blurred_greyscale_jpegs(tmp_path: Path) -> None:
    clip = corpus.write_clip(tmp_path / "t.mp4", width=640, height=360, seconds=8.0, seed=2)
    result = hash_video(clip, thumbnails=3)
    assert [round(t) for t, _ in result.thumbnails] == [0, 4, 7]
    for _, data in result.thumbnails:
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and image.mode == "L" and image.size == (256, 144)
        pixels = np.asarray(image, dtype=np.int16)
        # Strong blur: neighbouring pixels differ by at most a few levels.
        assert np.abs(np.diff(pixels, axis=1)).max() <= 12
    assert hash_video(clip, thumbnails=0).thumbnails == []


def test_fps_controls_sample_count(tmp_path: Path) -> None:
    clip = corpus.write_clip(tmp_path / "f.webm", seconds=4.0, seed=9)
    assert len(hash_video(clip, fps=2.0).frames) == 8
    assert len(hash_video(clip, fps=0.5).frames) == 2
    assert hash_video(clip, fps=0).errors == ["fps must be positive, got 0"]


def test_reduction_factor_keeps_shorter_side() -> None:
    assert reduction_factor(1920, 1080, 540) == 2
    assert reduction_factor(1280, 720, 540) == 1
    assert reduction_factor(3840, 2160, 540) == 4
    assert reduction_factor(100, 80, 540) == 1


def test_plan_gop_prefers_keyframes_and_stops_early() -> None:
    # 30 fps, keyframe every 2 s, no B-frames: interval 0 uses the keyframe, interval 1
    # needs frames 0..30 decoded, the rest of the GOP is never fed.
    times = [i / 30 for i in range(60)]
    plan = plan_gop(times, prev_key=None, next_key=2.0, step=1.0)
    assert plan.wanted == frozenset({0, 30}) and plan.feed == 31
    # Dense keyframes (every 0.5 s): the second keyframe of an interval is skipped.
    assert plan_gop([0.5, 0.6], prev_key=0.0, next_key=1.0, step=1.0).feed == 0
    assert plan_gop([1.0, 1.1], prev_key=0.5, next_key=1.5, step=1.0).wanted == {0}
    # B-frames: decode order differs from presentation order; the earliest wins.
    plan = plan_gop([0.0, 1.1, 1.0, 1.05], prev_key=None, next_key=None, step=1.0)
    assert plan.wanted == frozenset({0, 2}) and plan.feed == 3


def test_linear_sampler_takes_first_frame_of_each_interval() -> None:
    sampler = LinearSampler(0.5)
    taken = [t for t in [0.0, 0.2, 0.5, 0.55, 1.7, 1.8, 2.0] if sampler.take(t)]
    assert taken == [0.0, 0.5, 1.7, 2.0]
