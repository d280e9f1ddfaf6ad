"""Every picture in a PDF: stored JPEG / JPEG 2000 byte-exact, every other bitmap as pixels."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pikepdf
from PIL import Image

from documents_corpus.build_documents import pdf_with_images
from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff


def _expand(data: bytes, name: str = "doc.pdf") -> tuple[dict[str, bytes], list[ScanError]]:
    item = Item(path=name, open=lambda: io.BytesIO(data), size=len(data))
    results = list(expand_tree(item))
    children = {r.path: r.open().read() for r in results if isinstance(r, Item)}
    assert all(r.embedded for r in results if isinstance(r, Item))
    return children, [r for r in results if isinstance(r, ScanError)]


def _check(children: dict[str, bytes], expected: dict, name: str = "doc.pdf") -> None:
    assert sorted(children) == sorted(f"{name}!{path}" for path in expected)
    for path, want in expected.items():
        got = children[f"{name}!{path}"]
        if want.data is not None:
            assert hashlib.md5(got).hexdigest() == hashlib.md5(want.data).hexdigest(), path
            assert sniff(got).media == "image", path
        else:
            assert got.startswith(b"\x89PNG"), path
            pixels = np.asarray(Image.open(io.BytesIO(got)).convert("RGB"))
            assert np.array_equal(pixels, want.pixels), path


def test_every_image_of_every_page() -> None:
    data, expected = pdf_with_images()
    children, errors = _expand(data)
    assert errors == []
    _check(children, expected)
    # In page order: page 1's resources by name, then page 2, its inline image, its
    # annotation, then the image no page draws. The JPEG of page 1 drawn again by
    # page 2's form is given once, at its first use.
    assert list(children) == [f"doc.pdf!{p}" for p in (
        "page[1]/Im1", "page[1]/Im2", "page[1]/Im3", "page[1]/Im4.png", "page[1]/Im5.png",
        "page[2]/Fm1/Im6.png", "page[2]/Im7", "page[2]/inline[1].png", "page[2]/annot[1]/Im1",
        "page[3]/Im8.png", next(p for p in expected if p.startswith("obj[")),
    )]


def test_empty_user_password_is_opened() -> None:
    data, expected = pdf_with_images(pikepdf.Encryption(owner="secret", user="", R=6))
    assert b"/Encrypt" in data
    children, errors = _expand(data)
    assert errors == []
    _check(children, expected)


def test_user_password_is_a_record() -> None:
    data, _ = pdf_with_images(pikepdf.Encryption(owner="secret", user="letmein", R=6))
    children, errors = _expand(data, "locked.pdf")
    assert children == {}
    assert errors == [ScanError("locked.pdf", "expand.pdf",
                                "encrypted with a user password: images not read")]


def test_damaged_image_is_a_record_and_the_rest_is_kept() -> None:
    pdf = pikepdf.new()
    good = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 30)).save(good, "PNG")
    bad = pikepdf.Stream(pdf, b"\x00" * 10)  # 10 bytes for 32 x 32 RGB pixels
    bad.Type, bad.Subtype, bad.Width, bad.Height = (pikepdf.Name.XObject, pikepdf.Name.Image,
                                                    32, 32)
    bad.BitsPerComponent, bad.ColorSpace = 8, pikepdf.Name.DeviceRGB
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 10, 10],
                              Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(
                                  Bad=pdf.make_indirect(bad))))
    pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    children, errors = _expand(out.getvalue())
    assert children == {}
    assert [(e.location, e.stage) for e in errors] == [("doc.pdf!page[1]/Bad", "expand.pdf")]
    assert errors[0].reason.startswith("image not extracted: ")


def test_not_a_pdf_is_a_record() -> None:
    children, errors = _expand(b"%PDF-1.7\n" + b"\x00garbage" * 50, "x.pdf")
    assert children == {}
    assert len(errors) == 1 and errors[0].location == "x.pdf"


def test_rendered_bitmaps_agree_with_pdfium() -> None:
    # An independent decoder (PDFium, Chrome's PDF engine) gives the same pixels for every
    # bitmap vigil renders with pikepdf.
    import pypdfium2 as pdfium

    data, expected = pdf_with_images()
    children, _ = _expand(data)
    document = pdfium.PdfDocument(data)
    decoded = []
    for page in document:
        for image in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=4):
            if not {f.lstrip("/") for f in image.get_filters()} & {"DCTDecode", "JPXDecode"}:
                decoded.append(np.asarray(image.get_bitmap(render=False).to_pil().convert("RGB")))
    ours = [np.asarray(Image.open(io.BytesIO(children[f"doc.pdf!{p}"])).convert("RGB"))
            for p in expected if p.endswith(".png")]
    assert len(decoded) == len(ours) == 5
    for theirs in decoded:
        assert any(t.shape == theirs.shape and np.array_equal(t, theirs) for t in ours)
