"""Type detection by content signature, never by file name.

``sniff(head)`` looks at the first bytes of an item and returns its MIME type and
media class. A random file named ``.jpg`` is ``other``; a JPEG named ``.dat`` is an
``image``. Signatures are checked in order; the first that fits wins.
"""

from __future__ import annotations

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


def sniff(head: bytes) -> Kind:
    """Return the kind of the content whose first bytes are ``head``."""
    h = head
    if _is_jpeg(h):
        return Kind("image/jpeg", "image")
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind("image/png", "image")
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return Kind("image/gif", "image")
    if (
        h[:2] == b"BM"
        and len(h) >= 26
        and h[14:18]
        in (
            b"\x0c\x00\x00\x00",
            b"\x28\x00\x00\x00",
            b"\x38\x00\x00\x00",
            b"\x40\x00\x00\x00",
            b"\x6c\x00\x00\x00",
            b"\x7c\x00\x00\x00",
        )
    ):
        return Kind("image/bmp", "image")
    if h[:4] in (b"II*\x00", b"MM\x00*"):
        return Kind("image/tiff", "image")
    if h[:4] == b"RIFF" and h[8:12] == b"WEBP":
        return Kind("image/webp", "image")
    if _is_isobmff(h, _AVIF_BRANDS):
        return Kind("image/avif", "image")
    if _is_isobmff(h, _HEIF_BRANDS):
        return Kind("image/heic", "image")
    if h[:4] == b"RIFF" and h[8:12] == b"AVI ":
        return Kind("video/x-msvideo", "video")
    if h[4:8] == b"ftyp":
        return Kind("video/mp4", "video")
    if h[:4] == b"\x1a\x45\xdf\xa3":
        return Kind("video/x-matroska", "video")
    if h[:16] == bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"):
        return Kind("video/x-ms-asf", "video")
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
    if h[:4] == b"CMMM":
        return Kind("application/x-thumbcache", "other")
    return OTHER
