"""The audited reveal of a video: evenly spaced frames at reduced resolution, one sheet.

A revealed video is never sent whole: the server decodes ``FRAMES`` frames spread over
its length, each shrunk to at most ``FRAME_SIDE`` pixels, and answers one colour JPEG
contact sheet (``COLUMNS`` frames a row), after the reveal is logged.
"""

from __future__ import annotations

import io

import av
from PIL import Image

from vigil.errors import EvidenceError

FRAMES = 8
COLUMNS = 4
FRAME_SIDE = 320
GAP = 4


def _frames(data: bytes, count: int) -> list[Image.Image]:
    with av.open(io.BytesIO(data)) as container:
        stream = next(iter(container.streams.video), None)
        if stream is None:
            raise EvidenceError("no video stream")
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        if not duration:
            raise EvidenceError("the video's duration is unknown")
        out: list[Image.Image] = []
        for n in range(count):
            at = duration * (n + 0.5) / count
            container.seek(int(at / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                # Seeking lands on the keyframe before ``at``: decode on up to it.
                if frame.time is None or frame.time >= at - 1e-3:
                    img = frame.to_image()
                    img.thumbnail((FRAME_SIDE, FRAME_SIDE))
                    out.append(img)
                    break
        return out


def contact_sheet(data: bytes, count: int = FRAMES) -> tuple[bytes, int]:
    """Decode ``count`` evenly spaced frames and lay them out on one colour JPEG.

    Args:
        data: The video's bytes.
        count: How many frames.

    Returns:
        ``(JPEG bytes, frames on the sheet)``.

    Raises:
        EvidenceError: If the video cannot be decoded.
    """
    try:
        frames = _frames(data, count)
    except EvidenceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt video becomes an error reply
        raise EvidenceError(f"cannot decode video: {exc}") from exc
    if not frames:
        raise EvidenceError("no frame of the video could be decoded")
    w = max(f.width for f in frames)
    h = max(f.height for f in frames)
    cols = min(COLUMNS, len(frames))
    rows = -(-len(frames) // cols)
    sheet = Image.new("RGB", (cols * w + (cols - 1) * GAP, rows * h + (rows - 1) * GAP))
    for i, f in enumerate(frames):
        sheet.paste(f, ((i % cols) * (w + GAP), (i // cols) * (h + GAP)))
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=85)
    return out.getvalue(), len(frames)
