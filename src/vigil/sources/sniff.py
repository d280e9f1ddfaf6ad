"""Type detection by content signature, never by file name.

``sniff(head)`` looks at the first bytes of an item and returns its MIME type and
media class. A random file named ``.jpg`` is ``other``; a JPEG named ``.dat`` is an
``image``. Signatures are checked in order; the first that fits wins.

A picture is what a decoder can decode: every still format Pillow opens is recognised
(JPEG 2000, TGA, DDS, SGI, Netpbm, PSD, ICO/CUR, PCX/DCX, FLI/FLC, BLP, ICNS, FITS,
XPM/XBM, QOI, Sun raster, BigTIFF, BMP with any header size ...). TGA has no signature
and is checked last, by the consistency of its header. An MP4 (or ASF) whose head shows
sound tracks only is ``audio/mp4`` (``audio/x-ms-wma``), not a video.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from vigil.model import Media

HEAD_SIZE = 4096


@dataclass(frozen=True)
class Kind:
    """What a signature says an item is."""

    mime: str
    media: Media


OTHER = Kind("application/octet-stream", "other")


def _is_jpeg(h: bytes) -> bool:
    # SOI followed by a marker segment (APPn, DQT, SOF, DHT, COM ...): FF D8 FF xx.
    # Random bytes starting FF D8 without the third FF are not JPEG.
    return len(h) >= 4 and h[0:3] == b"\xff\xd8\xff" and h[3] >= 0xC0


def jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """``(marker, offset, length)`` of a JPEG's marker segments, up to and including the
    first scan header (SOS), as far as they can be walked (``length`` counts itself)."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        yield marker, pos, length
        if marker == 0xDA or length < 2:
            return
        pos += 2 + length


def _is_isobmff(h: bytes, brands: tuple[bytes, ...]) -> bool:
    if len(h) < 12 or h[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(h[0:4], "big")
    major = h[8:12]
    compatible = h[16 : min(box_size, len(h))] if box_size >= 16 else b""
    found = {major} | {compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4)}
    return any(b in found for b in brands)


_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_AVIF_BRANDS = (b"avif", b"avis")
_LHA_METHODS = (b"h0", b"h1", b"h4", b"h5", b"h6", b"h7", b"hd", b"zs", b"z5", b"z4")
_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_VIDEO = bytes.fromhex("c0ef19bc4d5bcf11a8fd00805f5c442b")
_ASF_AUDIO = bytes.fromhex("409e69f84d5bcf11a8fd00805f5c442b")
_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B ")

# Picture formats Pillow decodes, by a fixed signature at offset 0.
_PICTURE_MAGIC = (
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "image/jp2"),
    (b"\xff\x4f\xff\x51", "image/x-jp2-codestream"),
    (b"8BPS\x00\x01", "image/vnd.adobe.photoshop"),
    (b"DDS \x7c\x00\x00\x00", "image/vnd-ms.dds"),
    (b"qoif", "image/qoi"),
    (b"icns", "image/icns"),
    (b"BLP1", "image/x-blp"),
    (b"BLP2", "image/x-blp"),
    (b"/* XPM */", "image/x-xpixmap"),
    (b"\x59\xa6\x6a\x95", "image/x-sun-raster"),
    (b"\xb1\x68\xde\x3a", "image/x-dcx"),
    (b"DanM", "image/x-msp"),
    (b"LinS", "image/x-msp"),
    (b"P7 332", "image/x-xv-thumbnail"),
)
_BMP_HEADER_SIZES = (12, 16, 40, 52, 56, 64, 108, 124)
_NETPBM = {b"1", b"2", b"3", b"4", b"5", b"6", b"f"}
_XBM = re.compile(rb"\s*#define[ \t]+\w*_width[ \t]+\d+")
# TGA has no signature: its header fields must be consistent (type -> allowed depths).
_TGA_DEPTHS = {1: (8,), 9: (8,), 3: (1, 8, 16), 11: (1, 8, 16), 2: (15, 16, 24, 32),
               10: (15, 16, 24, 32)}


def _picture(h: bytes) -> Kind | None:
    """The kind of a picture in one of the formats Pillow decodes (besides the common ones)."""
    for magic, mime in _PICTURE_MAGIC:
        if h.startswith(magic):
            return Kind(mime, "image")
    if h[:2] == b"BM" and len(h) >= 26 and int.from_bytes(h[14:18], "little") in _BMP_HEADER_SIZES:
        return Kind("image/bmp", "image")
    if h[:1] == b"P" and h[1:2] in _NETPBM and h[2:3] in (b" ", b"\t", b"\n", b"\r"):
        return Kind("image/x-portable-anymap", "image")
    if _is_ico(h):
        return Kind("image/vnd.microsoft.icon", "image")
    if len(h) >= 66 and h[0] == 0x0A and h[1] in (0, 2, 3, 4, 5) and h[2] == 1:
        # PCX: version, RLE encoding, bits per pixel, a non-empty window, 1-4 planes.
        x0, y0, x1, y1 = struct.unpack_from("<4H", h, 4)
        if h[3] in (1, 2, 4, 8) and x0 <= x1 and y0 <= y1 and 1 <= h[65] <= 4:
            return Kind("image/x-pcx", "image")
    if h[:3] in (b"\x01\xda\x00", b"\x01\xda\x01") and h[3:4] in (b"\x01", b"\x02"):
        return Kind("image/sgi", "image")
    if h.startswith(b"SIMPLE  =") and h[29:30] == b"T":
        return Kind("image/fits", "image")
    if len(h) >= 16 and h[4:6] in (b"\x11\xaf", b"\x12\xaf") and h[14:16] in (
        b"\x00\x00",
        b"\x03\x00",
    ):
        return Kind("image/x-flic", "image")
    if _XBM.match(h):
        return Kind("image/x-xbitmap", "image")
    return None


def _is_ico(h: bytes) -> bool:
    # ICO (type 1) and CUR (type 2): a directory of 1-255 entries, reserved byte zero,
    # the first picture after the directory.
    if len(h) < 22 or h[:2] != b"\x00\x00" or h[2:4] not in (b"\x01\x00", b"\x02\x00"):
        return False
    count = int.from_bytes(h[4:6], "little")
    offset = int.from_bytes(h[18:22], "little")
    return 0 < count < 256 and h[9] == 0 and offset >= 6 + 16 * count


def _is_tga(h: bytes) -> bool:
    if len(h) < 18 or h[1] not in (0, 1) or h[2] not in _TGA_DEPTHS:
        return False
    mapped = h[2] in (1, 9)
    if mapped != (h[1] == 1) or (not mapped and any(h[3:8])):
        return False
    width, height = struct.unpack_from("<HH", h, 12)
    return width > 0 and height > 0 and h[16] in _TGA_DEPTHS[h[2]] and h[17] & 0xD0 == 0


_MBOX_FROM = re.compile(rb"From \S+ [^\r\n]*\d\d:\d\d[^\r\n]*\r?\n")
_HEADER_LINE = re.compile(rb"([!-9;-~]+):[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*")
_MAIL_FIELDS = {b"from", b"date", b"subject", b"mime-version", b"received", b"message-id",
                b"return-path", b"delivered-to"}


def _is_mail(h: bytes) -> bool:
    """An RFC 5322 header block: fields up to a blank line, two of them mail's own."""
    pos, names = 0, set()
    while (line := _HEADER_LINE.match(h, pos)) is not None:
        names.add(line.group(1).lower())
        pos = line.end()
    ended = h[pos : pos + 2] in (b"\r\n", b"\n\r") or h[pos : pos + 1] == b"\n"
    cut = len(h) >= HEAD_SIZE and pos > len(h) - 1000  # headers longer than the head
    return (ended or cut) and len(names & _MAIL_FIELDS) >= 2


_XML_PLIST = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]{0,200}>\s*<!DOCTYPE plist", re.I)
_MARKUP = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]{0,200}>\s*)?(?:<!--.{0,2000}?-->\s*)*"
    rb"<(!doctype\s+html|html|head|body|svg|meta|title)\b",
    re.I | re.S,
)
_CSS = re.compile(rb"(?:\xef\xbb\xbf)?\s*(?:/\*.{0,2000}?\*/\s*)*(?:@charset |@import |"
                  rb"@font-face|:root\s*\{|[a-z.#*][\w .#:>,-]{0,100}\{\s*[a-z-]{1,40}\s*:)",
                  re.I | re.S)


def _markup(h: bytes) -> Kind | None:
    """HTML, SVG or CSS text (the kinds that inline pictures as ``data:`` URIs)."""
    tag = _MARKUP.match(h)
    if tag is not None:
        if tag.group(1).lower() == b"svg":
            return Kind("image/svg+xml", "other")
        return Kind("text/html", "other")
    return Kind("text/css", "other") if _CSS.match(h) else None


def _mp4(h: bytes) -> Kind:
    """Video, unless the head shows the file holds sound only (M4A, audio-only MP4)."""
    handlers = {h[i + 12 : i + 16] for i in _find_all(h, b"hdlr")}
    if b"vide" in handlers:
        return Kind("video/mp4", "video")
    if (handlers and _box_in_head(h, b"moov")) or h[8:12] in _AUDIO_BRANDS:
        return Kind("audio/mp4", "other")
    return Kind("video/mp4", "video")


def _asf(h: bytes) -> Kind:
    """Video (WMV), unless its header lists only audio streams (WMA)."""
    if _ASF_VIDEO not in h and _ASF_AUDIO in h:
        return Kind("audio/x-ms-wma", "other")
    return Kind("video/x-ms-asf", "video")


def _find_all(h: bytes, needle: bytes) -> list[int]:
    found = []
    i = h.find(needle)
    while i != -1:
        found.append(i)
        i = h.find(needle, i + 1)
    return found


def _box_in_head(h: bytes, kind: bytes) -> bool:
    """Whether the top-level ISO-BMFF box ``kind`` lies wholly inside ``h``."""
    pos = 0
    while pos + 8 <= len(h):
        size = int.from_bytes(h[pos : pos + 4], "big")
        if h[pos + 4 : pos + 8] == kind:
            return size >= 8 and pos + size <= len(h)
        if size < 8:
            return False
        pos += size
    return False



def sniff(head: bytes) -> Kind:
    """Return the kind of the content whose first bytes are ``head``."""
    h = head
    if _is_jpeg(h):
        return Kind("image/jpeg", "image")
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind("image/png", "image")
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return Kind("image/gif", "image")
    if h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        # Classic TIFF and BigTIFF (and the raw-camera formats built on them: DNG, NEF ...).
        return Kind("image/tiff", "image")
    if h[:4] == b"RIFF" and h[8:12] == b"WEBP":
        return Kind("image/webp", "image")
    if _is_isobmff(h, _AVIF_BRANDS):
        return Kind("image/avif", "image")
    if _is_isobmff(h, _HEIF_BRANDS):
        return Kind("image/heic", "image")
    if (picture := _picture(h)) is not None:
        return picture
    if h[:4] == b"RIFF" and h[8:12] == b"AVI ":
        return Kind("video/x-msvideo", "video")
    if h[4:8] == b"ftyp":
        return _mp4(h)
    if h[:4] == b"\x1a\x45\xdf\xa3":
        return Kind("video/x-matroska", "video")
    if h[:16] == _ASF_HEADER:
        return _asf(h)
    if h[:3] == b"FLV":
        return Kind("video/x-flv", "video")
    if h[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return Kind("video/mpeg", "video")
    if len(h) >= 189 and h[0] == 0x47 and h[188] == 0x47:
        return Kind("video/mp2t", "video")
    if h[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return Kind("application/zip", "other")
    if h[:6] == b"7z\xbc\xaf\x27\x1c":
        return Kind("application/x-7z-compressed", "other")
    if h[:7] == b"Rar!\x1a\x07\x00" or h[:8] == b"Rar!\x1a\x07\x01\x00":
        return Kind("application/vnd.rar", "other")
    if h[:2] == b"\x1f\x8b":
        return Kind("application/gzip", "other")
    if h[:3] == b"BZh":
        return Kind("application/x-bzip2", "other")
    if h[:6] == b"\xfd7zXZ\x00":
        return Kind("application/x-xz", "other")
    if h[:4] == b"\x28\xb5\x2f\xfd":
        return Kind("application/zstd", "other")
    if h[:4] == b"\x04\x22\x4d\x18":
        return Kind("application/x-lz4", "other")
    if h[:2] == b"\x1f\x9d":
        return Kind("application/x-compress", "other")
    if h[:4] == b"LZIP":
        return Kind("application/x-lzip", "other")
    if len(h) >= 262 and h[257:262] == b"ustar":
        return Kind("application/x-tar", "other")
    if h[:6] in (b"070707", b"070701", b"070702") or h[:2] in (b"\xc7\x71", b"\x71\xc7"):
        return Kind("application/x-cpio", "other")
    if h[:4] == b"MSCF":
        return Kind("application/vnd.ms-cab-compressed", "other")
    if h[:8] == b"!<arch>\n":
        return Kind("application/x-archive", "other")
    if len(h) >= 7 and h[2:4] == b"-l" and h[6:7] == b"-" and h[4:6] in _LHA_METHODS:
        return Kind("application/x-lzh-compressed", "other")
    if h[:5] == b"%PDF-":
        return Kind("application/pdf", "other")
    if h[:8] == bytes.fromhex("d0cf11e0a1b11ae1"):
        return Kind("application/x-ole-storage", "other")
    if h[:8] == b"\x30\x5c\x72\xa7\x1b\x6d\xfb\xfc":
        return Kind("application/x-chrome-simple-cache", "other")
    if h[:4] == b"!BDN" and h[8:10] in (b"SM", b"SO"):
        # Outlook Personal Folders (PST) and Offline Storage (OST): wMagicClient "SM"/"SO".
        return Kind("application/vnd.ms-outlook-pst", "other")
    if h[:4] == b"\x01\x00\x00\x00" and h[40:44] == b" EMF":
        # Enhanced metafile: drawing records; its bitmaps are members (expand/metafile.py).
        return Kind("image/emf", "other")
    if h[:4] == b"\xd7\xcd\xc6\x9a" or (
        h[:2] in (b"\x01\x00", b"\x02\x00") and h[2:4] == b"\x09\x00"
        and h[4:6] in (b"\x00\x01", b"\x00\x03")
    ):
        # Windows metafile, placeable or standard header.
        return Kind("image/wmf", "other")
    if h[4:12] == b"\xef\xcd\xab\x89\x20\x06\x00\x00":
        # ESE ("JET Blue") database: checksum, signature 0x89ABCDEF, format version 0x620.
        return Kind("application/x-ese-database", "other")
    if h[:16] == b"SQLite format 3\x00":
        return Kind("application/vnd.sqlite3", "other")
    if h[:4] == b"CMMM":
        return Kind("application/x-thumbcache", "other")
    if h[:3] == b"ID3" and len(h) >= 10 and h[3] in (2, 3, 4):
        return Kind("audio/mpeg", "other")
    if h[:4] == b"fLaC":
        return Kind("audio/flac", "other")
    if h[:16] == bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3"):
        return Kind("application/onenote", "other")
    if h[:4] == b"\xc3\xca\x04\xc1":
        return Kind("application/x-chrome-block-file", "other")
    if h[:7] == b"WARC/1.":
        return Kind("application/warc", "other")
    if h[:8] == b"bplist00":
        return Kind("application/x-bplist", "other")
    if _XML_PLIST.match(h):
        return Kind("application/x-plist", "other")
    if h[:5] == b"{\\rtf":
        return Kind("application/rtf", "other")
    if (text := _markup(h)) is not None:
        return text
    if _MBOX_FROM.match(h) and _is_mail(h[h.find(b"\n") + 1 :]):
        return Kind("application/mbox", "other")
    if _is_mail(h):
        return Kind("message/rfc822", "other")
    if _is_tga(h):
        return Kind("image/x-tga", "image")
    return OTHER
