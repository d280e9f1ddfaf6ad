"""Pictures in RTF documents (WordPad, Word, Outlook's RTF bodies): ``\\pict`` groups.

A ``\\pict`` group holds one picture as hex digits (or as raw bytes after ``\\binN``),
after its control words (``\\pngblip``, ``\\jpegblip``, ``\\emfblip``, ``\\wmetafile``,
``\\picw``, ...) and optional ``{\\*...}`` sub-groups. PNG and JPEG blips are the
picture files byte for byte. Each picture is a member ``doc.rtf!pict@<offset of
\\pict>``. The search is linear: one pass over the file, no nested regex repetition.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, embedded, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.rtf"
MIME = "application/rtf"
_CONTROL = re.compile(rb"\\([a-z]{1,32})(-?\d{1,10})? ?|[\r\n]+")
_HEX = re.compile(rb"[0-9a-fA-F\s]*")
_BRACES = re.compile(rb"\\.|[{}]", re.S)


@in_memory(STAGE)
def expand_rtf(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the picture of every ``\\pict`` group."""
    start = data.find(b"\\pict")
    while start != -1:
        piece, end = _picture(data, start + 5)
        if isinstance(piece, str):
            yield ScanError(f"{item.path}!pict@{start}", STAGE, piece)
        elif piece:
            yield embedded(piece, start, "pict")
        start = data.find(b"\\pict", max(end, start + 5))


def _picture(data: bytes, pos: int) -> tuple[bytes | str, int]:
    """The picture bytes of the group whose control words start at ``pos``, and its end."""
    while pos < len(data):
        if data.startswith(b"{\\*", pos):
            pos = _group_end(data, pos)
            continue
        control = _CONTROL.match(data, pos)
        if control is None:
            break
        if control.group(1) == b"bin" and control.group(2):
            size = int(control.group(2))
            return data[control.end() : control.end() + size], control.end() + size
        pos = control.end()
    digits = _HEX.match(data, pos)
    assert digits is not None  # the pattern matches the empty string
    hexed = re.sub(rb"\s+", b"", digits.group())
    end = digits.end()
    if data[end : end + 1] != b"}":
        return "picture data does not end its group (damaged or cut)", end
    if len(hexed) % 2:
        return "odd number of hex digits (damaged)", end
    try:
        return binascii.unhexlify(hexed), end
    except binascii.Error as exc:
        return f"damaged hex data: {exc}", end


def _group_end(data: bytes, pos: int) -> int:
    """The position after the group opening at ``pos`` (braces counted, escapes skipped)."""
    depth = 0
    for token in _BRACES.finditer(data, pos):
        if token.group() == b"{":
            depth += 1
        elif token.group() == b"}":
            depth -= 1
            if depth == 0:
                return token.end()
    return len(data)


register((MIME,), expand_rtf)
