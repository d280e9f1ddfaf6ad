"""Pictures inside text: data: URIs in HTML/SVG/CSS, \\pict groups in RTF."""

from __future__ import annotations

import base64
import hashlib
import io

from documents_corpus.build_documents import encoded
from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff


def _expand(data: bytes, name: str) -> tuple[dict[str, str], list[ScanError]]:
    results = list(expand_tree(Item(path=name, open=lambda: io.BytesIO(data), size=len(data))))
    items = {r.path: hashlib.md5(r.open().read()).hexdigest()
             for r in results if isinstance(r, Item)}
    return items, [r for r in results if isinstance(r, ScanError)]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _b64(data: bytes, wrap: bool = False) -> bytes:
    return base64.encodebytes(data) if wrap else base64.b64encode(data)


def test_data_uris_in_html() -> None:
    png, jpeg, gif = encoded(130, "PNG"), encoded(131), encoded(132, "GIF")
    page = (b"<!DOCTYPE html>\n<html><head><style>body{background:url('data:image/gif;base64,"
            + _b64(gif) + b"')}</style></head><body>\n<img src=\"data:image/png;base64,"
            + _b64(png) + b"\">\n<img src=\"data:application/octet-stream;name=x;base64,"
            + _b64(jpeg, wrap=True) + b"\">\n<a href=\"data:text/plain;base64,aGVsbG8=\">x</a>"
            + b"<img src=\"data:image/png;base64,iVBORw0KG=goo\"></body></html>")
    assert sniff(page).mime == "text/html"
    items, errors = _expand(page, "page.html")
    assert items == {
        f"page.html!data-uri@{page.index(b'data:image/gif')}": md5(gif),
        f"page.html!data-uri@{page.index(b'data:image/png')}": md5(png),
        f"page.html!data-uri@{page.index(b'data:application')}": md5(jpeg),
    }
    bad = page.rindex(b"data:image/png")
    assert [(e.location, e.stage) for e in errors] == [
        (f"page.html!data-uri@{bad}", "expand.datauri")
    ]


def test_data_uris_in_svg_and_css() -> None:
    png = encoded(133, "PNG")
    svg = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><image href="'
           b"data:image/png;base64," + _b64(png) + b'"/></svg>')
    css = b"/* sprites */\n.icon { background: url(data:image/png;base64," + _b64(png) + b") }"
    assert sniff(svg).mime == "image/svg+xml" and sniff(css).mime == "text/css"
    assert _expand(svg, "a.svg") == ({f"a.svg!data-uri@{svg.index(b'data:')}": md5(png)}, [])
    assert _expand(css, "a.css") == ({f"a.css!data-uri@{css.index(b'data:')}": md5(png)}, [])


def test_rtf_pictures() -> None:
    png, jpeg = encoded(134, "PNG"), encoded(135)

    def hexed(data: bytes) -> bytes:
        text = data.hex().encode()
        return b"\r\n".join(text[i : i + 128] for i in range(0, len(text), 128))

    rtf = (b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Calibri;}}\\pard Holiday\\par\n"
           b"{\\*\\shppict{\\pict{\\*\\picprop\\shplid1025{\\sp{\\sn wzName}{\\sv x}}}"
           b"\\picscalex100\\picw2540\\pich1693\\picwgoal1440\\pichgoal960\\pngblip\r\n"
           + hexed(png) + b"}}\\par\n{\\pict\\jpegblip\\picw96\\pich64 " + hexed(jpeg)
           + b"}\\par\n{\\pict\\pngblip 89504e47zz}\\par }")
    assert sniff(rtf).mime == "application/rtf"
    items, errors = _expand(rtf, "doc.rtf")
    first, second = rtf.index(b"\\pict"), rtf.index(b"\\pict\\jpegblip")
    last = rtf.rindex(b"\\pict")
    assert items == {f"doc.rtf!pict@{first}": md5(png), f"doc.rtf!pict@{second}": md5(jpeg)}
    assert [(e.location, e.reason) for e in errors] == [
        (f"doc.rtf!pict@{last}",
         "picture data does not end its group (damaged or cut)")
    ]


def test_plain_text_is_not_markup() -> None:
    for text in (b"hello <b>world</b>", b"a: b\nc {d}", b"{not rtf}"):
        assert sniff(text).mime == "application/octet-stream", text
