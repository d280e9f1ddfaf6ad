"""Seeded generator of benign test videos (moving gradients, shapes, noise), made with PyAV.

Nothing here depicts anything: frames are a panned smooth-noise texture under a moving
colour gradient with a few sliding shapes. ``landscape_still`` draws a procedural
landscape (sky, sun, ridge line) to embed as a "known still". The same seed always gives
the same pixels; encoders may still differ across FFmpeg builds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

# extension -> (container format, codec, pixel format)
FORMATS: dict[str, tuple[str, str, str]] = {
    ".mp4": ("mp4", "libx264", "yuv420p"),
    ".mov": ("mov", "libx264", "yuv420p"),
    ".3gp": ("3gp", "libx264", "yuv420p"),
    ".m4v": ("ipod", "libx264", "yuv420p"),
    ".avi": ("avi", "mpeg4", "yuv420p"),
    ".mkv": ("matroska", "libx264", "yuv420p"),
    ".webm": ("webm", "libvpx", "yuv420p"),
    ".wmv": ("asf", "wmv2", "yuv420p"),
    ".asf": ("asf", "msmpeg4", "yuv420p"),
    ".flv": ("flv", "flv", "yuv420p"),
    ".ts": ("mpegts", "mpeg2video", "yuv420p"),
    ".gif": ("gif", "gif", "rgb8"),
}


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Smooth random field in [0, 1], from a coarse random grid upsampled bicubically."""
    coarse = rng.random((cells, max(2, cells * width // height))).astype(np.float32)
    image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    field = np.asarray(image, dtype=np.float32)
    return (field - field.min()) / max(float(np.ptp(field)), 1e-6)


def moving_frames(
    width: int, height: int, seconds: float, fps: int, seed: int
) -> Iterator[np.ndarray]:
    """Yield RGB frames of a seeded moving pattern.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        seconds: clip length.
        fps: frames per second.
        seed: the pattern's seed; different seeds give unrelated pictures.

    Returns:
        An iterator of H x W x 3 uint8 arrays.
    """
    rng = np.random.default_rng(seed)
    pan = max(width, height) // 2
    texture = _smooth_noise(rng, height + pan, width + pan, cells=24)
    colours = rng.random((3, 3)).astype(np.float32)
    ramp_x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    ramp_y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    boxes = [
        (rng.random(2), rng.uniform(-0.3, 0.3, 2), rng.uniform(0.1, 0.25), rng.random(3))
        for _ in range(3)
    ]
    grain = rng.normal(0, 4, (height, width, 1)).astype(np.float32)
    total = max(1, round(seconds * fps))
    for index in range(total):
        t = index / fps
        dx = int((0.5 + 0.5 * np.sin(0.35 * t + seed)) * pan)
        dy = int((0.5 + 0.5 * np.cos(0.27 * t + seed)) * pan)
        base = texture[dy : dy + height, dx : dx + width]
        sweep = (ramp_x * np.cos(0.5 * t) + ramp_y * np.sin(0.5 * t)) % 1.0
        frame = base[:, :, None] * colours[0] * 170 + sweep[:, :, None] * colours[1] * 85
        for (x0, y0), (vx, vy), size, colour in boxes:
            side = int(size * min(width, height))
            x = int(((x0 + vx * t) % 1.0) * (width - side))
            y = int(((y0 + vy * t) % 1.0) * (height - side))
            frame[y : y + side, x : x + side] = colour * 255
        yield np.clip(frame + grain, 0, 255).astype(np.uint8)


def landscape_still(width: int, height: int, seed: int) -> np.ndarray:
    """Draw a procedural landscape: sky gradient, sun disk, ridge line, ground.

    Args:
        width: picture width.
        height: picture height.
        seed: seed of the ridge line, sun position and colours.

    Returns:
        An H x W x 3 uint8 array.
    """
    rng = np.random.default_rng(seed)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    sky_top, sky_low = rng.uniform(0.2, 0.6, 3), rng.uniform(0.6, 1.0, 3)
    image = (sky_top * (1 - ys[..., None]) + sky_low * ys[..., None]) * np.ones((1, width, 1))
    sun_x, sun_y, radius = rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.35), rng.uniform(0.06, 0.1)
    aspect = width / height
    sun = ((xs - sun_x) * aspect) ** 2 + (ys - sun_y) ** 2 < radius**2
    image[sun] = (1.0, 0.9, 0.5)
    ridge = np.cumsum(rng.normal(0, 0.02, width)) + rng.uniform(0.45, 0.6)
    mountain = ys > ridge[None, :]
    shade = 0.6 + 0.4 * ys[..., None] * np.ones((1, width, 1))
    image[mountain] = rng.uniform(0.1, 0.4, 3) * shade[mountain]
    ground = ys > 0.8 + 0.03 * np.sin(xs * 9)
    image[ground] = rng.uniform(0.2, 0.5, 3)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


@dataclass(frozen=True)
class Still:
    """A picture shown over the moving pattern from ``start`` to ``end`` seconds."""

    pixels: np.ndarray
    start: float
    end: float


def write_clip(
    path: Path,
    *,
    width: int = 320,
    height: int = 240,
    seconds: float = 3.0,
    fps: int = 30,
    seed: int = 0,
    bit_rate: int | None = None,
    gop: int | None = None,
    still: Still | None = None,
    rotation: int | None = None,
    frames: Iterator[np.ndarray] | None = None,
    fragmented: bool = False,
) -> Path:
    """Encode a generated clip; the container and codec follow the file extension.

    Args:
        path: output file; its extension picks an entry of FORMATS.
        width: frame width.
        height: frame height.
        seconds: length.
        fps: frame rate.
        seed: pattern seed.
        bit_rate: target bit rate in bit/s, or the encoder's default.
        gop: keyframe interval in frames, or the encoder's default.
        still: a picture to show instead of the pattern for a while.
        rotation: display rotation (counterclockwise degrees) stored in the container.
        frames: frames to encode instead of the generated pattern.
        fragmented: MP4/MOV as fragments (``moof``/``mdat`` after an empty ``moov``), as
            DASH players and social-media apps cache video.

    Returns:
        ``path``.
    """
    container_format, codec, pix_fmt = FORMATS[path.suffix.lower()]
    source = frames if frames is not None else moving_frames(width, height, seconds, fps, seed)
    options = {"movflags": "faststart"} if container_format in {"mp4", "mov", "ipod"} else {}
    if fragmented and options:
        options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    with av.open(str(path), mode="w", format=container_format, options=options) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if bit_rate:
            stream.bit_rate = bit_rate
        if gop:
            stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {"preset": "ultrafast" if width * height > 1e6 else "veryfast"}
        if rotation:
            stream.set_display_rotation(rotation)
        for index, pixels in enumerate(source):
            if still is not None and still.start <= index / fps < still.end:
                pixels = still.pixels
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def reencode(src: Path, dst: Path, *, width: int, height: int, bit_rate: int) -> Path:
    """Decode ``src`` and encode it again, scaled and at another bit rate.

    Args:
        src: the clip to copy.
        dst: output file (extension picks the format).
        width: new width.
        height: new height.
        bit_rate: new bit rate in bit/s.

    Returns:
        ``dst``.
    """
    with av.open(str(src)) as inp:
        stream = inp.streams.video[0]
        fps = int(round(float(stream.average_rate or 30)))
        pictures = [
            f.to_ndarray(width=width, height=height, format="rgb24", interpolation="AREA")
            for f in inp.decode(stream)
        ]
    return write_clip(dst, width=width, height=height, fps=fps, bit_rate=bit_rate,
                      frames=iter(pictures))
