"""Windows metafiles (EMF, WMF): the bitmaps their records draw, and EMF+ pictures.

The metafiles are written record by record after MS-EMF and MS-WMF by the document
corpus (nothing on Debian or PyPI writes one); Pillow's own metafile reader checks that
each is a metafile with the size written in its header.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from documents_corpus.build_documents import dib, emf_drawing, gradient, png_of, wmf_clip
from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff


def _expand(name: str, data: bytes) -> list[Item | ScanError]:
    return list(expand_tree(Item(path=name, open=lambda: io.BytesIO(data), size=len(data))))


def test_emf_bitmap_record_and_emf_plus_picture() -> None:
    bitmap, inner = gradient(40, 30, 1), gradient(24, 18, 2)
    png = png_of(inner)
    data, record_at, png_at = emf_drawing(bitmap, png)
    assert sniff(data[:64]).mime == "image/emf"
    assert Image.open(io.BytesIO(data)).format == "WMF"  # Pillow reads it as a metafile
    assert data[png_at : png_at + len(png)] == png
    results = _expand("drawing.emf", data)
    assert [r for r in results if isinstance(r, ScanError)] == []
    found = {r.path: r.open().read() for r in results if isinstance(r, Item)}
    assert sorted(found) == [f"drawing.emf!EMR_STRETCHDIBITS@{record_at}",
                             f"drawing.emf@{png_at}"]
    assert hashlib.md5(found[f"drawing.emf@{png_at}"]).hexdigest() == hashlib.md5(
        png).hexdigest()
    # The BMP of the DIB is the file Pillow writes for the same pixels, byte for byte.
    bmp = found[f"drawing.emf!EMR_STRETCHDIBITS@{record_at}"]
    assert bmp == png_of(bitmap, "BMP") and bmp.endswith(b"".join(dib(bitmap)))


def test_wmf_bitmap_record() -> None:
    bitmap = gradient(33, 21, 3)
    data, record_at = wmf_clip(bitmap)
    assert sniff(data[:64]).mime == "image/wmf"
    assert Image.open(io.BytesIO(data)).size == (33, 21)  # Pillow reads the placeable header
    results = _expand("clip.wmf", data)
    assert [r for r in results if isinstance(r, ScanError)] == []
    (item,) = [r for r in results if isinstance(r, Item)]
    assert item.path == f"clip.wmf!META_STRETCHDIB@{record_at}"
    assert item.open().read() == png_of(bitmap, "BMP")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(item.open().read()))), bitmap)


def test_truncated_metafile_keeps_what_came_before() -> None:
    data, record_at, png_at = emf_drawing(gradient(40, 30, 1), png_of(gradient(24, 18, 2)))
    cut = data[: png_at + 10]
    results = _expand("cut.emf", cut)
    errors = [r for r in results if isinstance(r, ScanError)]
    assert [e.location for e in errors] == [f"cut.emf@{record_at + 80 + 40 + 40 * 30 * 3}"]
    assert [r.path for r in results if isinstance(r, Item)] == [
        f"cut.emf!EMR_STRETCHDIBITS@{record_at}"]
