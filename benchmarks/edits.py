"""Seventeen deterministic edits of a picture, the way copies of a known picture turn up.

Each edit takes an RGB Pillow image and returns the bytes of the edited file (JPEG
unless said otherwise), so the same picture always gives the same files. Used by
``benchmarks/recall.py`` and by the tests that need many real copies of one picture.

Crops remove the given share of each side's length, a quarter of it from the left/top
and three quarters from the right/bottom (an off-centre crop, as a person cropping a
picture by hand does). Rotations by a few degrees keep the picture's size and fill the
corners with black, as most editors do.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _crop(share: float) -> Callable[[Image.Image], bytes]:
    def edit(image: Image.Image) -> bytes:
        w, h = image.size
        cut_w, cut_h = round(w * share), round(h * share)
        left, top = cut_w // 4, cut_h // 4
        return _jpeg(image.crop((left, top, w - (cut_w - left), h - (cut_h - top))))

    return edit


def _rotate(degrees: float) -> Callable[[Image.Image], bytes]:
    def edit(image: Image.Image) -> bytes:
        turned = image.rotate(degrees, Image.Resampling.BICUBIC, expand=False, fillcolor=0)
        return _jpeg(turned)

    return edit


def _watermark(image: Image.Image) -> bytes:
    """A site's label: semi-transparent, with text, in the lower right corner (27% x 7%)."""
    w, h = image.size
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    box = (int(w * 0.70), int(h * 0.89), int(w * 0.97), int(h * 0.96))
    draw.rectangle(box, fill=(255, 255, 255, 90))
    draw.text((box[0] + 6, box[1] + 4), "sample.example  2024", fill=(20, 20, 20, 200))
    return _jpeg(Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB"))


def _screenshot(image: Image.Image) -> bytes:
    """The picture shown full-width on a phone screen: a status bar and dark bars."""
    w, h = image.size
    screen_w = 720
    shown_h = round(h * screen_w / w)
    screen_h = max(1280, shown_h + 200)
    screen = Image.new("RGB", (screen_w, screen_h), (18, 18, 18))
    draw = ImageDraw.Draw(screen)
    draw.text((16, 10), "09:41", fill=(235, 235, 235))
    draw.rectangle((screen_w - 50, 12, screen_w - 20, 22), outline=(235, 235, 235))
    top = (screen_h - shown_h) // 2
    screen.paste(image.resize((screen_w, shown_h), Image.Resampling.BILINEAR), (0, top))
    return _png(screen)


def _letterbox(image: Image.Image) -> bytes:
    """Black bars to 16:9 (a wider picture is pillarboxed to 4:3 instead)."""
    w, h = image.size
    canvas = (round(h * 16 / 9), h) if w / h < 16 / 9 - 0.01 else (w, round(w * 3 / 4))
    out = Image.new("RGB", canvas, (0, 0, 0))
    out.paste(image, ((canvas[0] - w) // 2, (canvas[1] - h) // 2))
    return _jpeg(out)


EDITS: dict[str, Callable[[Image.Image], bytes]] = {
    "recompress": lambda im: _jpeg(im, 40),
    "resize": lambda im: _jpeg(
        im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), 85
    ),
    "blur": lambda im: _jpeg(im.filter(ImageFilter.GaussianBlur(2.5))),
    "brightness": lambda im: _jpeg(ImageEnhance.Brightness(im).enhance(1.3)),
    "contrast": lambda im: _jpeg(ImageEnhance.Contrast(im).enhance(1.5)),
    "grey": lambda im: _jpeg(im.convert("L")),
    "watermark": _watermark,
    "screenshot": _screenshot,
    "mirror": lambda im: _jpeg(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    "rot90": lambda im: _jpeg(im.transpose(Image.Transpose.ROTATE_90)),
    "rot180": lambda im: _jpeg(im.transpose(Image.Transpose.ROTATE_180)),
    "crop5": _crop(0.05),
    "crop10": _crop(0.10),
    "crop20": _crop(0.20),
    "letterbox": _letterbox,
    "rotate3": _rotate(3),
    "rotate5": _rotate(5),
}


def inset(image: Image.Image) -> bytes:
    """Picture-in-picture: the picture at 45% of its width inside a 1280x720 page (a
    gradient, boxes and a caption), as a screen recording or a collage shows it."""
    page = Image.linear_gradient("L").resize((1280, 720)).convert("RGB")
    page = Image.merge("RGB", [page.getchannel(0).point(lambda v, k=k: 40 + v * k // 3)
                               for k in (1, 2, 3)])  # fmt: skip
    draw = ImageDraw.Draw(page)
    for n in range(6):
        box = (40 + 90 * n, 60 + 40 * n, 110 + 90 * n, 300 + 25 * n)
        draw.rectangle(box, fill=(200, 90 + 20 * n, 60))
    draw.text((40, 660), "gallery page 3 of 12", fill=(250, 250, 250))
    size = (image.width * 45 // 100, image.height * 45 // 100)
    small = image.resize(size, Image.Resampling.BILINEAR)
    page.paste(small, (600, 250))
    return _jpeg(page, 88)


# Copies a lab bank must find besides the 17 (``benchmarks/recall.py --lab``).
LAB_EDITS: dict[str, Callable[[Image.Image], bytes]] = {"inset": inset}


def edited(image: Image.Image) -> dict[str, bytes]:
    """All 17 edits of one picture: edit name to the edited file's bytes."""
    rgb = image.convert("RGB")
    return {name: edit(rgb) for name, edit in EDITS.items()}
