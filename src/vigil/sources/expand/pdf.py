"""Pictures in PDF files, read with pikepdf (qpdf): every image XObject and inline image.

An image whose last filter is ``/DCTDecode`` (JPEG) or ``/JPXDecode`` (JPEG 2000) holds
a picture file: it is yielded as those bytes, byte-exact (outer filters such as
``[/FlateDecode /DCTDecode]`` or ASCIIHex are undone first), so its hashes match the
original picture. Every other image (Flate, LZW, RunLength, CCITT fax, raw pixels) is a
bitmap without a file format of its own: it is rendered to pixels (colour space,
palette and decode array applied) and yielded as a PNG made by vigil, so that it gets a
PDQ and a review like any picture. pikepdf renders most; JBIG2 images, and any image
pikepdf cannot render, are decoded by PDFium (pypdfium2) instead.

Provenance: ``doc.pdf!page[3]/Im1`` (the resource name on page 3), ``page[3]/Fm1/Im2``
(inside a form XObject), ``page[3]/inline[1]`` (the first inline image of the page),
``page[3]/annot[1]/Im1`` (in the appearance of the page's first annotation: a stamp,
a signature),
``obj[12 0]`` (an image no page uses, by object number), with ``.png`` added when the
child is vigil's rendering of the pixels. An image used on several pages is yielded
once, at its first use. PDFs encrypted with an empty user password are opened; others
get a record. qpdf reconstructs damaged cross-reference tables and its parser is linear
in the file (no backtracking on long digit runs).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator

import pikepdf
import pypdfium2 as pdfium
from pikepdf.models.image import PdfImage, PdfInlineImage
from PIL import Image as PILImage

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.pdf"
_PICTURE_FILTERS = {"/DCTDecode": "jpeg", "/DCT": "jpeg", "/JPXDecode": "jp2"}
_MAX_FORM_DEPTH = 12
_PDFIUM_LOCK = threading.Lock()
_UNSUPPORTED = (
    pikepdf.UnsupportedImageTypeError,
    pikepdf.NotExtractableError,
    pikepdf.DependencyError,
    NotImplementedError,
)
_STREAM_NAME = re.compile(r"^(?:stream )?<_io\.BytesIO object at 0x[0-9a-f]+>:? ?")
# "N G obj", N taken only at the start of a digit run, bounded: linear in the file.
_OBJECT_NUMBER = re.compile(rb"(?<![0-9])([0-9]{1,10})\s{1,8}[0-9]{1,5}\s{1,8}obj\b")

Image = pikepdf.Stream | PdfInlineImage


@in_memory(STAGE)
def expand_pdf(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield every image of a PDF: stored JPEG/JPEG 2000 bytes, or a PNG of the pixels."""
    try:
        pdf, rebuilt = _open(data)
    except pikepdf.PasswordError:
        yield ScanError(item.path, STAGE, "encrypted with a user password: images not read")
        return
    except Exception as exc:  # noqa: BLE001 - qpdf raises several types for bad input
        yield ScanError(item.path, STAGE, f"not a readable PDF: {_describe(exc)}")
        return
    with pdf:
        seen: set[tuple[int, int]] = set()
        try:
            pages = list(pdf.pages)
        except Exception as exc:  # noqa: BLE001
            yield ScanError(item.path, STAGE, f"page tree unreadable: {_describe(exc)}")
            pages = []
        for number, page in enumerate(pages, 1):
            where = f"page[{number}]"
            try:
                found = list(_page_images(page.obj, where, seen, 0))
                found += _annotation_images(page.obj, where, seen)
            except Exception as exc:  # noqa: BLE001
                yield ScanError(f"{item.path}!{where}", STAGE, f"unreadable: {_describe(exc)}")
                continue
            for name, image in found:
                yield _member(pdf, item, name, image)
        for name, image in _unused_images(pdf, seen):
            yield _member(pdf, item, name, image)
        warnings = pdf.get_warnings()
    if rebuilt:
        yield ScanError(
            item.path, STAGE, "damaged: no usable trailer or page tree; objects found by a scan"
        )
    elif warnings:
        first = _clean(warnings[0])
        yield ScanError(
            item.path, STAGE, f"damaged, repaired by qpdf ({len(warnings)} warnings): {first}"
        )


def _open(data: bytes) -> tuple[pikepdf.Pdf, bool]:
    """Open a PDF (an empty user password is tried by qpdf), damaged ones too.

    qpdf rebuilds a lost cross-reference table by scanning the objects, but only when
    it finds a trailer and a page. A file where it finds neither (cut before its
    trailer, a fragment, an empty page tree) gets a trailer of ours after its end, with
    one empty page numbered after its highest object, so its images are found by object
    number.
    """
    try:
        return pikepdf.open(io.BytesIO(data)), False
    except pikepdf.PdfError as exc:
        if "recovering damaged file" not in str(exc):
            raise
    numbers = (int(m.group(1)) for m in _OBJECT_NUMBER.finditer(data))
    top = max(numbers, default=0) + 1
    ours = (
        f"\n{top} 0 obj\n<< /Type /Catalog /Pages {top + 1} 0 R >>\nendobj\n"
        f"{top + 1} 0 obj\n<< /Type /Pages /Kids [{top + 2} 0 R] /Count 1 >>\nendobj\n"
        f"{top + 2} 0 obj\n<< /Type /Page /Parent {top + 1} 0 R /MediaBox [0 0 1 1] >>\n"
        f"endobj\ntrailer\n<< /Root {top} 0 R /Size {top + 3} >>\n%%EOF\n"
    )
    return pikepdf.open(io.BytesIO(data + ours.encode())), True


def _page_images(
    owner: pikepdf.Object, where: str, seen: set[tuple[int, int]], depth: int
) -> Iterator[tuple[str, Image]]:
    """``(name, image)`` of the images a page (or form XObject) draws, forms walked."""
    resources = owner.get("/Resources")
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if isinstance(xobjects, pikepdf.Dictionary):
        for key in sorted(xobjects.keys()):
            xobject = xobjects[key]
            if not isinstance(xobject, pikepdf.Stream) or xobject.objgen in seen:
                continue
            if xobject.objgen != (0, 0):
                seen.add(xobject.objgen)
            name = f"{where}/{key[1:]}"
            subtype = xobject.get("/Subtype")
            if subtype == "/Image":
                _mark_masks(xobject, seen)
                yield name, xobject
            elif subtype == "/Form" and depth < _MAX_FORM_DEPTH:
                yield from _page_images(xobject, name, seen, depth + 1)
    inline = 0
    for instruction in pikepdf.parse_content_stream(owner, "BI ID EI"):
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            inline += 1
            yield f"{where}/inline[{inline}]", instruction.iimage


def _annotation_images(
    page: pikepdf.Object, where: str, seen: set[tuple[int, int]]
) -> list[tuple[str, Image]]:
    """Images in the appearance streams of a page's annotations (stamps, signatures)."""
    found: list[tuple[str, Image]] = []
    annotations = page.get("/Annots")
    if not isinstance(annotations, pikepdf.Array):
        return found
    for index, annotation in enumerate(annotations, 1):
        appearance = annotation.get("/AP") if isinstance(annotation, pikepdf.Dictionary) else None
        if not isinstance(appearance, pikepdf.Dictionary):
            continue
        for state in ("/N", "/R", "/D"):
            form = appearance.get(state)
            forms = [form] if isinstance(form, pikepdf.Stream) else (
                [form[k] for k in sorted(form.keys())] if isinstance(form, pikepdf.Dictionary)
                else [])
            for stream in forms:
                if isinstance(stream, pikepdf.Stream) and stream.objgen not in seen:
                    seen.add(stream.objgen)
                    found += _page_images(stream, f"{where}/annot[{index}]", seen, 1)
    return found


def _mark_masks(image: pikepdf.Stream, seen: set[tuple[int, int]]) -> None:
    # A soft mask or stencil mask is part of its image, not a picture of its own.
    for key in ("/SMask", "/Mask"):
        mask = image.get(key)
        if isinstance(mask, pikepdf.Stream):
            seen.add(mask.objgen)


def _unused_images(pdf: pikepdf.Pdf, seen: set[tuple[int, int]]) -> Iterator[tuple[str, Image]]:
    """Images no page draws (annotations, orphans, a damaged page tree), by object number."""
    images = []
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
            images.append(obj)
            _mark_masks(obj, seen)
    for obj in images:
        if obj.objgen not in seen:
            seen.add(obj.objgen)
            number, generation = obj.objgen
            yield f"obj[{number} {generation}]", obj


def _member(pdf: pikepdf.Pdf, item: Item, name: str, image: Image) -> Member | ScanError:
    try:
        picture, kind = _picture_bytes(pdf, image)
    except Exception as exc:  # noqa: BLE001 - any undecodable image is a record
        return ScanError(f"{item.path}!{name}", STAGE, f"image not extracted: {_describe(exc)}")
    if kind == "png":
        name += ".png"
    return Member(name=name, stream=io.BytesIO(picture), size=len(picture), embedded=True,
                  in_archive=False)


def _picture_bytes(pdf: pikepdf.Pdf, image: Image) -> tuple[bytes, str]:
    """The stored picture file (JPEG, JPEG 2000) of an image, else a PNG of its pixels."""
    filters = _filters(image)
    if filters and filters[-1] in _PICTURE_FILTERS:
        if len(filters) == 1:
            return image.read_raw_bytes(), _PICTURE_FILTERS[filters[-1]]
        # Undo the outer (lossless) filters only; the picture file is what remains.
        outer = _without_last_filter(pdf, image)
        return outer, _PICTURE_FILTERS[filters[-1]]
    if "/JBIG2Decode" in filters and isinstance(image, pikepdf.Stream):
        pil = _pdfium_pixels(image)
    elif isinstance(image, PdfInlineImage):
        pil = PdfInlineImage.as_pil_image(image)
    else:
        try:
            pil = PdfImage(image).as_pil_image()
        except _UNSUPPORTED as exc:  # a colour space or filter pikepdf lacks, not damage
            try:
                pil = _pdfium_pixels(image)
            except Exception as second:  # noqa: BLE001
                raise ValueError(f"{_describe(exc)}; PDFium: {_describe(second)}") from exc
    out = io.BytesIO()
    pil.save(out, "PNG")
    return out.getvalue(), "png"


def _pdfium_pixels(image: pikepdf.Stream) -> PILImage.Image:
    """The pixels of one image as PDFium decodes them (JBIG2, and what pikepdf cannot).

    The image is copied alone onto the page of a new one-page PDF, so PDFium's object
    is certainly this one. PDFium is not thread-safe: one call at a time.
    """
    single = pikepdf.new()
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 1, 1],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=single.copy_foreign(image))),
        Contents=single.make_stream(b"q 1 0 0 1 0 0 cm /Im0 Do Q"),
    )
    single.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    single.save(out)
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(out.getvalue())
        try:
            found = next(iter(document[0].get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE])))
            return found.get_bitmap(render=False).to_pil().copy()
        finally:
            document.close()


def _filters(image: Image) -> list[str]:
    if isinstance(image, PdfInlineImage):
        return [str(f) for f in image.filters]
    value = image.get("/Filter")
    if value is None:
        return []
    return [str(value)] if isinstance(value, pikepdf.Name) else [str(f) for f in value]


def _without_last_filter(pdf: pikepdf.Pdf, image: Image) -> bytes:
    """The stream's bytes with every filter but the last undone."""
    if not isinstance(image, pikepdf.Stream):
        raise ValueError("inline image with a filter chain before DCT/JPX: not supported")
    stream = image
    copy = pikepdf.Stream(pdf, stream.read_raw_bytes())
    value = stream.get("/Filter")
    params = stream.get("/DecodeParms")
    copy.Filter = pikepdf.Array(list(value)[:-1])
    if isinstance(params, pikepdf.Array):
        copy.DecodeParms = pikepdf.Array(list(params)[:-1])
    return copy.read_bytes(decode_level=pikepdf.StreamDecodeLevel.generalized)


def _describe(exc: BaseException) -> str:
    text = _clean(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _clean(text: str) -> str:
    """qpdf's message, first line, without the in-memory stream's address."""
    lines = text.strip().splitlines()
    return _STREAM_NAME.sub("", lines[0]) if lines else ""


register(("application/pdf",), expand_pdf)
