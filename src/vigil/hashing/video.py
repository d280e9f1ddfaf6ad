"""Video hashing: PDQ of sampled frames (vPDQ), rotation variant and review thumbnails.

Two modes:

* :func:`hash_video` (the scan path) samples one frame per ``1/fps`` seconds by
  presentation time, decodes only the packets those frames depend on (see
  ``video_sampling``), and hashes each sampled frame in RGB, area-averaged down by an
  integer factor to about ``min_side`` pixels on its shorter side. Decoding runs with
  frame and slice threads.
* :func:`hash_video_exact` replicates Meta's vPDQ reference: every frame, full
  resolution, converted to RGB24 with area scaling, timestamp ``frame_number / rate``.

Neither raises on bad input: a corrupt or truncated video yields the frames that decoded,
``partial=True`` and the reasons in ``errors``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from vigil.hashing import pdq_core
from vigil.hashing.video_sampling import LinearSampler, plan_gop
from vigil.hashing.video_thumbnails import ThumbnailPicker
from vigil.model import FrameHash

# Shorter side of the image fed to PDQ in the scan path (frames larger than twice this
# are reduced by an integer factor); chosen by measuring the distance to the reference
# hashes (docs/benchmarks.md): at most 8 bits, far inside the match distance 31.
DEFAULT_MIN_SIDE = 540
# Codecs whose packets may be flagged key although frames build on the previous one
# (GIF disposal, APNG blending): decoded frame by frame, never skipped.
_SEQUENTIAL_CODECS = frozenset({"gif", "apng", "webp"})
_MAX_ERRORS = 20
_MAX_DEMUX_RETRIES = 3

Source = str | Path | BinaryIO


@dataclass
class VideoResult:
    """Frame hashes and review material for one video.

    ``frames`` holds every sampled frame (low-quality ones included: the matcher filters
    by quality), hashed as stored, like the reference. ``rotated_frames`` holds the same
    frames turned to display orientation when the container carries a rotation, else
    it is empty. ``rotation`` is counterclockwise degrees from the display matrix.
    """

    frames: list[FrameHash] = field(default_factory=list)
    duration: float | None = None
    width: int = 0
    height: int = 0
    rotation: int = 0
    partial: bool = False
    errors: list[str] = field(default_factory=list)
    thumbnails: list[tuple[float, bytes]] = field(default_factory=list)
    rotated_frames: list[FrameHash] = field(default_factory=list)
    frame_rate: float | None = None
    decoded_frames: int = 0


def frame_pdq(pixels: np.ndarray, video_range: bool = False) -> tuple[str, int]:
    """PDQ of one frame, with vigil's numpy PDQ core (bit-identical to Meta's C++ core).

    Args:
        pixels: uint8 array, either H x W luma or H x W x 3 RGB.
        video_range: the luma is video-range Y (16-235), to be read as 0-255.

    Returns:
        (64-hex hash in the reference's order, quality 0-100).
    """
    grey = pdq_core.luma(pixels) if pixels.ndim == 3 else pixels
    gain, offset = (255.0 / 219.0, -16.0 * 255.0 / 219.0) if video_range else (1.0, 0.0)
    block, quality = pdq_core.hash_grey(grey, gain=gain, offset=offset)
    return pdq_core.block_to_hex(block), int(quality)


class _Errors:
    """A capped list of error reasons; the count of the dropped ones is kept."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, reason: str) -> None:
        if len(self.items) < _MAX_ERRORS:
            self.items.append(reason)
        else:
            self.dropped += 1

    def as_list(self) -> list[str]:
        if self.dropped:
            return [*self.items, f"{self.dropped} more errors not listed"]
        return list(self.items)


def _open(source: Source) -> av.container.InputContainer:
    if isinstance(source, str | Path):
        return av.open(str(source), mode="r")
    return av.open(source, mode="r")


def _demux(container: av.container.InputContainer, stream, errors: _Errors) -> Iterator:
    """Yield the stream's non-empty packets; a demux error is recorded, then retried."""
    retries = 0
    while retries <= _MAX_DEMUX_RETRIES:
        try:
            for packet in container.demux(stream):
                retries = 0
                if packet.size:
                    yield packet
            return
        except (av.FFmpegError, OSError, ValueError) as exc:
            errors.add(f"demux error: {exc}")
            retries += 1


def _decode(ctx, packet, errors: _Errors, where: float | None) -> list:
    try:
        return ctx.decode(packet)
    except (av.FFmpegError, ValueError) as exc:
        at = "at end of stream" if where is None else f"at {where:.3f}s"
        errors.add(f"decode error {at}: {exc}")
        return []


def _prepare_stream(stream) -> None:
    # Frame threads overlap whole frames, slice threads split one; AUTO takes both.
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = 0


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _rate(stream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def reduction_factor(width: int, height: int, min_side: int) -> int:
    """The largest integer factor that keeps the frame's shorter side >= ``min_side``.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        min_side: smallest shorter side allowed after the reduction.

    Returns:
        1 (no reduction) or more.
    """
    return max(1, min(width, height) // max(1, min_side))


# Planar YUV formats whose first plane is the luma (Y) of every pixel.
_Y_PLANE_FORMATS = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"}
)
_FULL_RANGE_FORMATS = frozenset({"yuvj420p", "yuvj422p", "yuvj444p"})


def _reduced_grey(frame, min_side: int) -> tuple[np.ndarray, bool]:
    """The frame's luma, averaged down by an integer factor, and whether it is video range.

    For planar YUV (nearly every video) at full size the Y plane is used as it is, with
    no colour conversion; ``frame_pdq`` maps video range (16-235) to 0-255 on its 64x64
    buffer, which gives what swscale's ``gray`` output gives (0.299R + 0.587G + 0.114B
    of ``rgb24`` to within about one level; hashes at most 2 bits apart on the benchmark
    clips). Frames to reduce, and other formats, go through swscale's ``gray``.
    """
    factor = reduction_factor(frame.width, frame.height, min_side)
    name = frame.format.name
    if factor == 1 and name in _Y_PLANE_FORMATS:
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        full = name in _FULL_RANGE_FORMATS or int(getattr(frame, "color_range", 0) or 0) == 2
        return rows[: frame.height, : frame.width], not full
    # Integer factors keep whole source pixels in each output pixel; fractional ones
    # shifted hashes of fine patterns by up to 32 bits in our measurements.
    width = -(-frame.width // factor)
    height = -(-frame.height // factor)
    grey = frame.reformat(
        width=width, height=height, format="gray", interpolation="AREA"
    ).to_ndarray()
    return grey, False


def _failed(reason: str) -> VideoResult:
    return VideoResult(partial=True, errors=[reason])


def hash_video(
    stream_or_path: Source,
    *,
    fps: float = 1.0,
    quality_floor: int = 50,
    thumbnails: int = 5,
    min_side: int = DEFAULT_MIN_SIDE,
) -> VideoResult:
    """Hash one frame per ``1/fps`` seconds of a video's first video stream.

    Args:
        stream_or_path: a path or a readable, seekable binary stream.
        fps: samples per second of presentation time.
        quality_floor: thumbnails are taken only from frames of at least this PDQ
            quality (flat frames make useless thumbnails); frames are all kept.
        thumbnails: how many blurred greyscale thumbnails to return.
        min_side: frames are reduced by the largest integer factor that keeps their
            shorter side at least this many pixels before PDQ.

    Returns:
        The sampled frame hashes, stream facts, thumbnails and any errors.
    """
    if fps <= 0:
        return _failed(f"fps must be positive, got {fps}")
    try:
        container = _open(stream_or_path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        return _failed(f"cannot open video: {exc}")
    with container:
        if not container.streams.video:
            return _failed("no video stream")
        stream = container.streams.video[0]
        _prepare_stream(stream)
        return _FastSampler(container, stream, 1.0 / fps, quality_floor, thumbnails, min_side).run()


class _FastSampler:
    """One pass of :func:`hash_video` over an open stream."""

    def __init__(
        self, container, stream, step: float, quality_floor: int, thumbnails: int, min_side: int
    ) -> None:
        self.container = container
        self.stream = stream
        self.ctx = stream.codec_context
        self.step = step
        self.quality_floor = quality_floor
        self.min_side = min_side
        self.picker = ThumbnailPicker(thumbnails)
        self.errors = _Errors()
        self.result = VideoResult(
            duration=_duration(container, stream),
            width=self.ctx.width,
            height=self.ctx.height,
            frame_rate=_rate(stream),
        )
        self.time_base = stream.time_base or Fraction(1, 1)
        self.origin: int | None = stream.start_time
        self.wanted: set[int] = set()
        self.linear: LinearSampler | None = None
        if self.ctx.name in _SEQUENTIAL_CODECS:
            self.linear = LinearSampler(step)
        self.rotation_seen = False
        self.last_time = 0.0

    def _seconds(self, pts: int) -> float:
        if self.origin is None:
            self.origin = pts
        return float((pts - self.origin) * self.time_base)

    def run(self) -> VideoResult:
        gop: list = []
        times: list[float] = []
        prev_key: float | None = None
        for packet in _demux(self.container, self.stream, self.errors):
            if packet.pts is None and self.linear is None:
                self.linear = LinearSampler(self.step)
            if self.linear is not None:
                if gop:
                    self._feed(gop, range(len(gop)), times)
                    gop, times = [], []
                where = None if packet.pts is None else self._seconds(packet.pts)
                self._frames(_decode(self.ctx, packet, self.errors, where))
                continue
            time = self._seconds(packet.pts)
            self.last_time = max(self.last_time, time)
            if packet.is_keyframe and gop:
                plan = plan_gop(times, prev_key, time, self.step)
                self._feed(gop, plan.wanted, times, plan.feed)
                prev_key = times[0]
                gop, times = [], []
            gop.append(packet)
            times.append(time)
        if gop:
            plan = plan_gop(times, prev_key, None, self.step)
            self._feed(gop, plan.wanted, times, plan.feed)
        self._frames(_decode(self.ctx, None, self.errors, None))
        return self._finish()

    def _feed(self, gop: list, wanted, times: list[float], feed: int | None = None) -> None:
        count = len(gop) if feed is None else feed
        for index in wanted:
            self.wanted.add(gop[index].pts)
        for index in range(count):
            # Frames nothing refers to and nobody wants need not be decoded at all; the
            # decoder copies skip_frame per packet, so toggling it is safe with threads.
            self.ctx.skip_frame = "DEFAULT" if index in wanted else "NONREF"
            self._frames(_decode(self.ctx, gop[index], self.errors, times[index]))
        self.ctx.skip_frame = "DEFAULT"

    def _frames(self, frames: list) -> None:
        for frame in frames:
            self.result.decoded_frames += 1
            if frame.pts is not None:
                time = self._seconds(frame.pts)
            else:
                time = (self.result.decoded_frames - 1) * (1.0 / (self.result.frame_rate or 1.0))
            self.last_time = max(self.last_time, time)
            if frame.pts is not None and frame.pts in self.wanted:
                self.wanted.discard(frame.pts)
                if self.linear is not None:
                    self.linear.mark(time)
            elif self.linear is None or not self.linear.take(time):
                continue
            self._hash(frame, time)

    def _hash(self, frame, time: float) -> None:
        if not self.rotation_seen:
            self.rotation_seen = True
            self.result.rotation = int(frame.rotation or 0)
        if frame.is_corrupt:
            self.errors.add(f"corrupt frame at {time:.3f}s")
        try:
            pixels, video_range = _reduced_grey(frame, self.min_side)
        except (av.FFmpegError, ValueError) as exc:
            self.errors.add(f"frame conversion failed at {time:.3f}s: {exc}")
            return
        pdq, quality = frame_pdq(pixels, video_range)
        self.result.frames.append(FrameHash(round(time, 3), pdq, quality))
        turns = round(self.result.rotation / 90) % 4
        if turns:
            turned, turned_quality = frame_pdq(np.rot90(pixels, k=turns), video_range)
            self.result.rotated_frames.append(FrameHash(round(time, 3), turned, turned_quality))
        if quality >= self.quality_floor:
            self.picker.offer(time, pixels)

    def _finish(self) -> VideoResult:
        result = self.result
        result.frames.sort(key=lambda f: f.timestamp)
        result.rotated_frames.sort(key=lambda f: f.timestamp)
        duration = result.duration
        if duration is not None and self.last_time < duration - max(self.step, 1.0):
            self.errors.add(f"stream ends at {self.last_time:.3f}s of a declared {duration:.3f}s")
        result.errors = self.errors.as_list()
        result.partial = bool(result.errors)
        result.thumbnails = self.picker.render(result.rotation)
        return result


def hash_video_exact(stream_or_path: Source) -> VideoResult:
    """Hash every frame the way Meta's vPDQ reference does.

    Every decoded frame is converted at full resolution to RGB24 with area
    interpolation and hashed; its timestamp is ``frame_number / average frame rate``.

    Args:
        stream_or_path: a path or a readable, seekable binary stream.

    Returns:
        One frame hash per decoded frame, in decode output order; no thumbnails.
    """
    try:
        container = _open(stream_or_path)
    except (av.FFmpegError, OSError, ValueError) as exc:
        return _failed(f"cannot open video: {exc}")
    with container:
        if not container.streams.video:
            return _failed("no video stream")
        stream = container.streams.video[0]
        _prepare_stream(stream)
        ctx = stream.codec_context
        rate = _rate(stream)
        errors = _Errors()
        result = VideoResult(
            duration=_duration(container, stream),
            width=ctx.width,
            height=ctx.height,
            frame_rate=rate,
        )

        def hash_all(frames: list) -> None:
            for frame in frames:
                number = result.decoded_frames
                result.decoded_frames += 1
                if number == 0:
                    result.rotation = int(frame.rotation or 0)
                time = number / rate if rate else float(frame.time or 0.0)
                pixels = frame.to_ndarray(format="rgb24", interpolation="AREA")
                pdq, quality = frame_pdq(pixels)
                result.frames.append(FrameHash(round(time, 3), pdq, quality))

        for packet in _demux(container, stream, errors):
            hash_all(
                _decode(
                    ctx,
                    packet,
                    errors,
                    None if packet.pts is None else float(packet.pts * stream.time_base),
                )
            )
        hash_all(_decode(ctx, None, errors, None))
        result.errors = errors.as_list()
        result.partial = bool(result.errors)
        return result
