"""Pictures inlined in web pages and style sheets as ``data:`` URIs (HTML, SVG, CSS).

``data:image/png;base64,...`` puts a whole picture file inside the text. Each base64
``data:`` URI of a picture or video type (or of any type whose bytes turn out to be a
picture, a video or a container) is a member ``page.html!data-uri@<offset of
"data:">``, the decoded bytes. The search is one regular-expression pass, linear in the
file. A URI whose base64 is damaged gets a record.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, embedded, register
from vigil.sources.expand.whole import in_memory
from vigil.sources.sniff import HEAD_SIZE, OTHER, sniff

STAGE = "expand.datauri"
MIMES = ("text/html", "image/svg+xml", "text/css")
_DATA_URI = re.compile(
    rb"data:([a-zA-Z0-9.+-]{1,64}/[a-zA-Z0-9.+-]{1,64})?((?:;[^;,\"'()\s]{1,100}){0,8});base64,"
    rb"((?:[A-Za-z0-9+/=]|\s|%0[aAdD]|&#1[03];){4,})"
)
_NOISE = re.compile(rb"\s+|%0[aAdD]|&#1[03];")


@in_memory(STAGE)
def expand_data_uris(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield every picture inlined as a base64 ``data:`` URI."""
    for match in _DATA_URI.finditer(data):
        declared = (match.group(1) or b"").lower()
        try:
            piece = base64.b64decode(_NOISE.sub(b"", match.group(3)), validate=True)
        except (binascii.Error, ValueError) as exc:
            yield ScanError(f"{item.path}!data-uri@{match.start()}", STAGE,
                            f"damaged base64: {exc}")
            continue
        if declared.startswith((b"image/", b"video/")) or sniff(piece[:HEAD_SIZE]) != OTHER:
            yield embedded(piece, match.start(), "data-uri")


register(MIMES, expand_data_uris)
