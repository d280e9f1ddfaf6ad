"""Evidence names as bytes: one lossless text form to store and show, and its inverse.

A name found in evidence is a Python ``str`` that may hold what no store or screen
takes as is: surrogate escapes of bytes that are not UTF-8 (``os.listdir`` of
``b'name_\\xff.png'`` gives ``'name_\\udcff.png'``), control characters (ESC, CR, NUL)
and bidirectional or invisible format characters (U+202E turns ``gpj.exe`` around).

``escape_name`` turns such a name into its *display form*: printable text with visible
escapes, which is what the case store's ``path`` column holds, what search matches and
what reports show. It is injective, so ``unescape_name`` gives back exactly the
original ``str`` (resume compares those):

* ``\\\\``        a backslash
* ``\\xNN``      NN < 0x80: that ASCII control character (``\\x1b`` is ESC);
                 NN >= 0x80: the raw byte NN, which was not UTF-8
* ``\\uXXXX``    any other code point that is not printable: a control (U+0080-U+009F),
                 format (bidi, zero-width), space other than U+0020, separator,
                 private-use, unassigned or lone surrogate; ``\\UXXXXXXXX`` above U+FFFF

``visible`` applies the same escapes to free text (error reasons, descriptions) but
leaves backslashes alone: it is for showing, not for keys. ``name_bytes`` gives the raw
bytes of a name (what the file system held, for exports).
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\\(?:\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _needs_escape(ch: str) -> bool:
    # Not printable: controls, format (bidi, zero-width, BOM), surrogates, private use,
    # unassigned, and every space but U+0020 (a no-break space looks like a space).
    return not ch.isprintable()


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        # A surrogate escape: the raw byte that was not UTF-8.
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _plain(text: str) -> bool:
    return text.isprintable() and "\\" not in text


def escape_name(name: str) -> str:
    """The display form of an evidence name or provenance path (see the module doc)."""
    if _plain(name):
        return name
    return "".join(
        "\\\\" if ch == "\\" else _escape_char(ch) if _needs_escape(ch) else ch for ch in name
    )


def visible(text: str) -> str:
    """``text`` with control, format and undecodable characters escaped visibly.

    Unlike ``escape_name`` a backslash stays as it is: the result is for people to
    read (reasons, descriptions, hash-set names), not a key to turn back into a name.
    """
    if text.isprintable():
        return text
    return "".join(_escape_char(ch) if _needs_escape(ch) else ch for ch in text)


def _unescape_one(match: re.Match[str]) -> str:
    token = match.group(0)
    if token == "\\\\":
        return "\\"
    code = int(token[2:], 16)
    if token[1] == "x" and code >= 0x80:
        return chr(0xDC00 + code)
    return chr(code)


def unescape_name(display: str) -> str:
    """The original name of a display form: ``unescape_name(escape_name(s)) == s``."""
    if "\\" not in display:
        return display
    return _ESCAPE.sub(_unescape_one, display)


def name_bytes(name: str) -> bytes:
    """The raw bytes of a name: UTF-8, with surrogate escapes back to their bytes.

    A lone surrogate that is not an escaped byte (from a broken UTF-16 name) is kept
    as its three-byte UTF-8-style sequence, so nothing is dropped.
    """
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return b"".join(
            ch.encode("utf-8", "surrogateescape")
            if not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF
            else ch.encode("utf-8", "surrogatepass")
            for ch in name
        )


def name_text(name: str) -> str:
    """``name`` as valid Unicode text: undecodable bytes become U+FFFD (for JSON)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name_bytes(name).decode("utf-8", "replace")


def is_text(name: str) -> bool:
    """Whether ``name`` is valid Unicode (holds no surrogate)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
