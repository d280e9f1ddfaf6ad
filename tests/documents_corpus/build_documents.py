"""Generated documents with known pictures inside, made by real producers.

Every picture is a benign generated landscape (``vigil.demo.draw_landscape``). The PDFs
are written by pikepdf (qpdf), the pictures by Pillow, mails by Python's ``email``
package, compound files (``.msg``, ``Thumbs.db``) by ``write_cfb`` below, which follows
[MS-CFB]. Each builder returns the file's bytes and what an independent reading says
is inside: for a stored picture its bytes, for a bitmap its pixels.

Run as a script to write the corpus to a folder: ``python build_documents.py OUT``.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image

from vigil.demo import draw_landscape


@dataclass(frozen=True)
class Expected:
    """One picture a builder put in a file: stored bytes, or pixels (H x W x 3 RGB)."""

    data: bytes | None = None
    pixels: np.ndarray | None = None


def landscape(seed: int, size: tuple[int, int] = (96, 64), mode: str = "RGB") -> Image.Image:
    return draw_landscape(seed, size).convert(mode)


def encoded(seed: int, fmt: str = "JPEG", size: tuple[int, int] = (96, 64), **kw: object) -> bytes:
    out = io.BytesIO()
    landscape(seed, size).save(out, fmt, **kw)
    return out.getvalue()


def _image_stream(pdf: pikepdf.Pdf, data: bytes, size: tuple[int, int], **keys: object
                  ) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, data)
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width, stream.Height = size
    stream.BitsPerComponent = keys.pop("BitsPerComponent", 8)
    stream.ColorSpace = keys.pop("ColorSpace", pikepdf.Name.DeviceRGB)
    for key, value in keys.items():
        stream[f"/{key}"] = value
    return pdf.make_indirect(stream)


def _page(pdf: pikepdf.Pdf, xobjects: dict[str, pikepdf.Object], extra: bytes = b"") -> None:
    draws = b"".join(b"q 50 0 0 50 0 0 cm /%s Do Q\n" % n.encode() for n in xobjects)
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 200, 200],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(
            {f"/{n}": x for n, x in xobjects.items()})),
        Contents=pdf.make_stream(draws + extra),
    )
    pdf.pages.append(pikepdf.Page(page))


def _ccitt_g4(seed: int, size: tuple[int, int]) -> tuple[bytes, Image.Image]:
    """CCITT group 4 data of a bilevel picture, as libtiff writes it in a TIFF strip."""
    bilevel = landscape(seed, size, "1")
    tiff = io.BytesIO()
    bilevel.save(tiff, "TIFF", compression="group4")
    with Image.open(io.BytesIO(tiff.getvalue())) as parsed:
        (offset,), (count,) = parsed.tag_v2[273], parsed.tag_v2[279]
    return tiff.getvalue()[offset : offset + count], bilevel


def _jbig2_mmr(g4: bytes, size: tuple[int, int]) -> bytes:
    """An embedded JBIG2 stream (T.88): page information, one immediate lossless generic
    region coded with MMR (the G4 data), end of page."""

    def segment(number: int, kind: int, data: bytes) -> bytes:
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    width, height = size
    page = segment(0, 48, struct.pack(">IIIIBH", width, height, 0, 0, 0, 0))
    region = segment(1, 39, struct.pack(">IIIIB", width, height, 0, 0, 0) + b"\x01" + g4)
    return page + region + segment(2, 49, b"")


def pdf_with_images(encrypt: pikepdf.Encryption | None = None) -> tuple[bytes, dict[str, Expected]]:
    """A two-page PDF with every kind of image storage; returns bytes and the child paths."""
    pdf = pikepdf.new()
    jpeg, chained, hexed = encoded(1), encoded(2), encoded(3)
    jp2 = encoded(4, "JPEG2000")
    flate_img = landscape(5)
    palette_img = landscape(6).quantize(16)
    ccitt, bilevel = _ccitt_g4(7, (64, 40))
    orphan = encoded(8)
    im1 = _image_stream(pdf, jpeg, (96, 64), Filter=pikepdf.Name.DCTDecode)
    im2 = _image_stream(pdf, zlib.compress(chained), (96, 64),
                        Filter=pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.DCTDecode]))
    im3 = _image_stream(pdf, jp2, (96, 64), Filter=pikepdf.Name.JPXDecode)
    smask = _image_stream(pdf, zlib.compress(bytes(96 * 64)), (96, 64),
                          ColorSpace=pikepdf.Name.DeviceGray, Filter=pikepdf.Name.FlateDecode)
    im4 = _image_stream(pdf, zlib.compress(flate_img.tobytes()), (96, 64),
                        Filter=pikepdf.Name.FlateDecode, SMask=smask)
    rgb_palette = bytes(palette_img.getpalette()[: 16 * 3])
    im5 = _image_stream(pdf, zlib.compress(palette_img.tobytes()), (96, 64),
                        Filter=pikepdf.Name.FlateDecode, ColorSpace=pikepdf.Array(
                            [pikepdf.Name.Indexed, pikepdf.Name.DeviceRGB, 15, rgb_palette]))
    _page(pdf, {"Im1": im1, "Im2": im2, "Im3": im3, "Im4": im4, "Im5": im5})

    im6 = _image_stream(pdf, ccitt, (64, 40), ColorSpace=pikepdf.Name.DeviceGray,
                        BitsPerComponent=1, Filter=pikepdf.Name.CCITTFaxDecode,
                        DecodeParms=pikepdf.Dictionary(K=-1, Columns=64, Rows=40, BlackIs1=True))
    im7 = _image_stream(pdf, hexed.hex().encode() + b">", (96, 64),
                        Filter=pikepdf.Array([pikepdf.Name.ASCIIHexDecode, pikepdf.Name.DCTDecode]))
    form = pdf.make_stream(b"q 10 0 0 10 0 0 cm /Im1 Do Q q 10 0 0 10 0 0 cm /Im6 Do Q")
    form.Type, form.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
    form.BBox = [0, 0, 100, 100]
    form.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im1=im1, Im6=im6))
    inline_img = landscape(9, (8, 6))
    inline = (b"q 20 0 0 20 100 100 cm BI /W 8 /H 6 /BPC 8 /CS /RGB ID "
              + inline_img.tobytes() + b" EI Q\n")
    _page(pdf, {"Fm1": pdf.make_indirect(form), "Im7": im7}, inline)
    stamp_jpeg = encoded(10)
    appearance = pdf.make_stream(b"q 10 0 0 10 0 0 cm /Im1 Do Q")
    appearance.Type, appearance.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
    appearance.BBox = [0, 0, 10, 10]
    appearance.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(
        Im1=_image_stream(pdf, stamp_jpeg, (96, 64), Filter=pikepdf.Name.DCTDecode)))
    pdf.pages[1].obj.Annots = pdf.make_indirect(pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Stamp, Rect=[0, 0, 10, 10],
        AP=pikepdf.Dictionary(N=appearance))]))
    # Page 3: a JBIG2 image (an MMR-coded generic region: the G4 data libtiff wrote).
    # In JBIG2 a fax "black" run is a 1 bit, drawn black: the negative of the TIFF.
    jbig2_data, jbig2_source = _ccitt_g4(11, (64, 40))
    im8 = _image_stream(pdf, _jbig2_mmr(jbig2_data, (64, 40)), (64, 40),
                        ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=1,
                        Filter=pikepdf.Name.JBIG2Decode)
    _page(pdf, {"Im8": im8})
    # Drawn by nothing: kept in the file only through a private catalog key.
    pdf.Root.VigilUnused = _image_stream(pdf, orphan, (96, 64), Filter=pikepdf.Name.DCTDecode)
    out = io.BytesIO()
    pdf.save(out, encryption=encrypt, compress_streams=False)
    with pikepdf.open(io.BytesIO(out.getvalue()), password="secret" if encrypt else "") as saved:
        orphan_number = saved.Root.VigilUnused.objgen
    expected = {
        "page[1]/Im1": Expected(jpeg),
        "page[1]/Im2": Expected(chained),
        "page[1]/Im3": Expected(jp2),
        "page[1]/Im4.png": Expected(pixels=np.asarray(flate_img)),
        "page[1]/Im5.png": Expected(pixels=np.asarray(palette_img.convert("RGB"))),
        "page[2]/Fm1/Im6.png": Expected(pixels=np.asarray(bilevel.convert("RGB"))),
        "page[2]/Im7": Expected(hexed),
        "page[2]/inline[1].png": Expected(pixels=np.asarray(inline_img)),
        "page[2]/annot[1]/Im1": Expected(stamp_jpeg),
        "page[3]/Im8.png": Expected(pixels=255 - np.asarray(jbig2_source.convert("RGB"))),
        f"obj[{orphan_number[0]} {orphan_number[1]}]": Expected(orphan),
    }
    return out.getvalue(), expected



# --- OLE2 compound files ([MS-CFB] version 3: 512-byte sectors, 64-byte mini sectors) ---

_END, _FREE, _FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
_NONE = 0xFFFFFFFF


def write_cfb(streams: dict[str, bytes]) -> bytes:
    """A compound file holding ``streams`` ("storage/sub/stream" -> bytes).

    Streams under 4096 bytes go to the mini stream, as Windows writes them. Siblings are
    chained through their right-sibling pointers (a valid, if unbalanced, tree).
    """
    nodes: dict[str, dict] = {"": {"name": "Root Entry", "kind": 5, "children": []}}
    for path in streams:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            key = "/".join(parts[:depth])
            if key not in nodes:
                kind = 2 if depth == len(parts) else 1
                nodes[key] = {"name": parts[depth - 1], "kind": kind, "children": []}
                nodes["/".join(parts[: depth - 1])]["children"].append(key)
    order = list(nodes)
    index = {key: i for i, key in enumerate(order)}

    sectors: list[bytes] = []
    fat: list[int] = []

    def chain(data: bytes) -> int:
        if not data:
            return _END
        first = len(sectors)
        padded = data + b"\0" * (-len(data) % 512)
        count = len(padded) // 512
        sectors.extend(padded[i : i + 512] for i in range(0, len(padded), 512))
        fat.extend([first + k + 1 for k in range(count - 1)] + [_END])
        return first

    mini = bytearray()
    minifat: list[int] = []
    start: dict[str, int] = {}
    for key in order:
        data = streams.get(key)
        if data is None or nodes[key]["kind"] != 2:
            continue
        if len(data) >= 4096:
            start[key] = chain(data)
        elif data:
            first = len(mini) // 64
            count = -(-len(data) // 64)
            mini += data + b"\0" * (-len(data) % 64)
            minifat.extend([first + k + 1 for k in range(count - 1)] + [_END])
            start[key] = first
        else:
            start[key] = _END
    mini_start = chain(bytes(mini))
    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat) if minifat else b""
    minifat_bytes += b"\xff" * (-len(minifat_bytes) % 512)
    minifat_start = chain(minifat_bytes) if minifat else _END

    directory = b""
    for key in order:
        node = nodes[key]
        raw = node["name"].encode("utf-16-le") + b"\0\0"
        parent = "/".join(key.split("/")[:-1]) if key else None
        siblings = nodes[parent]["children"] if parent is not None else [key]
        position = siblings.index(key)
        right = index[siblings[position + 1]] if position + 1 < len(siblings) else _NONE
        child = index[node["children"][0]] if node["children"] else _NONE
        if node["kind"] == 5:
            first, size = mini_start, len(mini)
        elif node["kind"] == 2:
            first, size = start[key], len(streams[key])
        else:
            first, size = 0, 0
        directory += (
            raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), node["kind"], 1)
            + struct.pack("<III", _NONE, right, child) + b"\0" * 36
            + struct.pack("<IQ", first, size)
        )
    directory += b"\0" * (-len(directory) % 512)
    dir_start = chain(directory)

    n_fat = 1
    while (len(sectors) + n_fat) > n_fat * 128:
        n_fat += 1
    assert n_fat <= 109
    fat_start = len(sectors)
    fat.extend([_FATSECT] * n_fat)
    fat.extend([_FREE] * (n_fat * 128 - len(fat)))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    sectors.extend(fat_bytes[i : i + 512] for i in range(0, len(fat_bytes), 512))
    difat = [fat_start + k for k in range(n_fat)] + [_FREE] * (109 - n_fat)
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
        + struct.pack("<IIII", 0, n_fat, dir_start, 0) + struct.pack("<I", 4096)
        + struct.pack("<IIII", minifat_start, len(minifat_bytes) // 512 if minifat else 0, _END, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(header) == 512
    return header + b"".join(sectors)


def _msg_property(tag: str, text: str) -> tuple[str, bytes]:
    return f"__substg1.0_{tag}001F", text.encode("utf-16-le")


def outlook_msg(attachments: list[tuple[str, bytes]], inner: list[tuple[str, bytes]] = ()
                ) -> bytes:
    """An Outlook .msg with ``attachments`` (name, bytes) and optionally an attached message
    holding ``inner`` attachments (as the last attachment)."""
    streams: dict[str, bytes] = {
        "__properties_version1.0": b"\0" * 32,
        "__substg1.0_0037001F": "Pictures from the trip".encode("utf-16-le"),
        "__substg1.0_1000001F": "See attached.".encode("utf-16-le"),
    }

    def attach(prefix: str, number: int, name: str, data: bytes) -> None:
        storage = f"{prefix}__attach_version1.0_#{number:08X}"
        streams[f"{storage}/__properties_version1.0"] = b"\0" * 8
        key, value = _msg_property("3707", name)
        streams[f"{storage}/{key}"] = value
        key, value = _msg_property("3704", name[:8])
        streams[f"{storage}/{key}"] = value
        streams[f"{storage}/__substg1.0_37010102"] = data

    for number, (name, data) in enumerate(attachments):
        attach("", number, name, data)
    if inner:
        storage = f"__attach_version1.0_#{len(attachments):08X}"
        streams[f"{storage}/__properties_version1.0"] = b"\0" * 8
        key, value = _msg_property("3001", "Fwd: more")
        streams[f"{storage}/{key}"] = value
        message = f"{storage}/__substg1.0_3701000D/"
        streams[f"{message}__properties_version1.0"] = b"\0" * 24
        for number, (name, data) in enumerate(inner):
            attach(message, number, name, data)
    return write_cfb(streams)


# --- Mail, written by Python's email package ---


def eml_with_pictures() -> tuple[bytes, dict[str, bytes]]:
    """A mail with two attachments of one name, an inline picture, a zip and a forward."""
    import zipfile
    from email.message import EmailMessage

    forwarded = EmailMessage()
    forwarded["From"], forwarded["To"] = "carol@example.org", "alice@example.org"
    forwarded["Subject"], forwarded["Date"] = "Garden", "Mon, 30 Nov 2026 10:00:00 +0000"
    forwarded.set_content("The garden in spring.")
    garden = encoded(90, "GIF")
    forwarded.add_attachment(garden, maintype="image", subtype="gif", filename="garden.gif")

    photos = io.BytesIO()
    zipped = encoded(91)
    with zipfile.ZipFile(photos, "w") as z:
        z.writestr("holiday/beach.jpg", zipped)

    mail = EmailMessage()
    mail["From"], mail["To"] = "alice@example.org", "bob@example.org"
    mail["Subject"], mail["Date"] = "Photos", "Tue, 01 Dec 2026 09:00:00 +0000"
    mail.set_content("Photos attached.")
    logo = encoded(92, "PNG")
    mail.add_alternative('<p>Photos</p><img src="cid:logo@example.org">', subtype="html")
    mail.get_payload()[1].add_related(logo, maintype="image", subtype="png",
                                      cid="<logo@example.org>", disposition="inline",
                                      filename="logo.png")
    first, second = encoded(93), encoded(94)
    for data in (first, second):
        mail.add_attachment(data, maintype="image", subtype="jpeg", filename="photo.jpg")
    mail.add_attachment(photos.getvalue(), maintype="application", subtype="zip",
                        filename="photos.zip")
    mail.add_attachment(forwarded)
    expected = {
        "inline[1]:logo.png": logo,
        "attachment[1]:photo.jpg": first,
        "attachment[2]:photo.jpg": second,
        "attachment[3]:photos.zip": photos.getvalue(),
        "attachment[3]:photos.zip!holiday/beach.jpg": zipped,
        "attachment[4]:message-rfc822!attachment[1]:garden.gif": garden,
    }
    return mail.as_bytes(), expected


def mhtml_page() -> tuple[bytes, dict[str, bytes]]:
    """An MHTML web archive: the page and its pictures, named by Content-Location."""
    from email.mime.image import MIMEImage
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    page = MIMEMultipart("related", type="text/html")
    page["From"] = "<Saved by a browser>"
    page["Subject"], page["Date"] = "Holiday page", "Tue, 01 Dec 2026 09:00:00 +0000"
    page["MIME-Version"] = "1.0"
    html = MIMEText('<html><img src="https://example.org/img/hill.jpg"></html>', "html")
    html["Content-Location"] = "https://example.org/holiday.html"
    page.attach(html)
    expected = {}
    for n, name in enumerate(("hill.jpg", "lake.png"), 1):
        data = encoded(100 + n, "PNG" if name.endswith("png") else "JPEG")
        part = MIMEImage(data, "png" if name.endswith("png") else "jpeg")
        part["Content-Location"] = f"https://example.org/img/{name}"
        page.attach(part)
        expected[f"inline[{n}]:{name}"] = data
    return page.as_bytes(), expected


def mbox_of(messages: list[bytes]) -> bytes:
    """An mbox written by Python's ``mailbox`` module."""
    import mailbox
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "box"
        box = mailbox.mbox(path)
        for message in messages:
            box.add(message)
        box.flush()
        box.close()
        return path.read_bytes()


# --- SQLite, written by the sqlite3 module ---


def chat_database() -> tuple[bytes, dict[str, bytes]]:
    """A chat app's database: thumbnails in BLOB cells, a deleted one, a non-picture BLOB."""
    import sqlite3
    import tempfile

    thumbs = {81: encoded(120, size=(48, 32)), 82: encoded(121, "PNG", size=(40, 30))}
    avatar = encoded(122, "GIF", size=(32, 32))
    deleted = encoded(123, "PNG", size=(24, 24))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.db"
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA secure_delete = OFF")
        conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT, thumb BLOB)")
        conn.execute('CREATE TABLE "contact list" (name TEXT, avatar BLOB, key BLOB)')
        for rowid, thumb in thumbs.items():
            conn.execute("INSERT INTO messages VALUES (?, ?, ?)", (rowid, "look", thumb))
        conn.execute("INSERT INTO messages VALUES (90, 'gone', ?)", (deleted,))
        conn.execute('INSERT INTO "contact list" VALUES (?, ?, ?)',
                     ("Alice", avatar, bytes(range(64))))
        conn.commit()
        conn.execute("DELETE FROM messages WHERE id = 90")
        conn.commit()
        conn.close()
        data = path.read_bytes()
    expected = {f"BLOB(messages.thumb,rowid={r})": t for r, t in thumbs.items()}
    expected["BLOB(contact list.avatar,rowid=1)"] = avatar
    expected[f"@{data.index(deleted)}"] = deleted
    return data, expected


# --- Chrome Simple Cache entries, written to the layout of simple_entry_format.h ---


def simple_cache_entry(url: str, body: bytes, key_sha256: bool = True) -> bytes:
    """One ``<hash>_0`` entry file: header, key, body, end record, headers, end record."""
    import hashlib

    key = f"1/0/_dk_https://example.org https://example.org {url}".encode()
    headers = b"HTTP/1.1 200 OK\0Content-Type: image/jpeg\0\0"
    end_magic = struct.pack("<Q", 0xF4FA6F45970D41D8)
    out = struct.pack("<QIIII", 0xFCFB6D1BA7725C30, 5, len(key), zlib.crc32(key), 0) + key
    out += body + end_magic + struct.pack("<IIII", 1, zlib.crc32(body), 0, 0)
    out += headers
    if key_sha256:
        out += hashlib.sha256(key).digest()
    flags = 1 | (2 if key_sha256 else 0)
    out += end_magic + struct.pack("<IIII", flags, zlib.crc32(headers), len(headers), 0)
    return out


# --- Audio with cover art: the sound by PyAV (ffmpeg), the tags to their specifications ---


def _sound(container: str, codec: str) -> bytes:
    import av

    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=44100, layout="mono")
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1152), np.int16 if codec == "flac" else np.float32),
                format="s16" if codec == "flac" else "fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1152
            for packet in stream.encode(frame):
                muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
    return out.getvalue()


def mp3_with_covers(version: int = 3) -> tuple[bytes, list[bytes]]:
    """An MP3 with an ID3v2.3 (or 2.4) tag holding two APIC pictures (front, back)."""
    front, back = encoded(150), encoded(151, "PNG")

    def size(n: int, syncsafe: bool) -> bytes:
        if not syncsafe:
            return struct.pack(">I", n)
        return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])

    frames = b""
    title = b"\x00Holiday"
    frames += b"TIT2" + size(len(title), version == 4) + b"\0\0" + title
    for mime, kind, description, data in ((b"image/jpeg", 3, "Front", front),
                                          (b"image/png", 4, "Back", back)):
        body = (b"\x01" + mime + b"\0" + bytes([kind]) + "\ufeff".encode("utf-16-le")
                + description.encode("utf-16-le") + b"\0\0" + data)
        frames += b"APIC" + size(len(body), version == 4) + b"\0\0" + body
    tag = b"ID3" + bytes([version, 0, 0]) + size(len(frames) + 64, True) + frames + bytes(64)
    return tag + _sound("mp3", "libmp3lame"), [front, back]


def flac_with_cover() -> tuple[bytes, list[bytes]]:
    """A FLAC file with a PICTURE block after its STREAMINFO."""
    cover = encoded(152)
    sound = bytearray(_sound("flac", "flac"))
    assert sound[:4] == b"fLaC" and sound[4] & 0x7F == 0
    last = sound[4] & 0x80
    sound[4] &= 0x7F
    mime, description = b"image/jpeg", b"Cover"
    body = (struct.pack(">I", 3) + struct.pack(">I", len(mime)) + mime
            + struct.pack(">I", len(description)) + description
            + struct.pack(">IIII", 96, 64, 24, 0) + struct.pack(">I", len(cover)) + cover)
    block = bytes([6 | last]) + len(body).to_bytes(3, "big") + body
    end_of_streaminfo = 4 + 4 + 34
    return bytes(sound[:end_of_streaminfo]) + block + bytes(sound[end_of_streaminfo:]), [cover]


def m4a_with_cover() -> tuple[bytes, list[bytes]]:
    """An M4A (PyAV's mp4 muxer, moov at the end) with an iTunes ``covr`` item appended."""
    cover = encoded(153, "PNG")
    sound = _sound("ipod", "aac")

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    covr = box(b"covr", box(b"data", struct.pack(">II", 14, 0) + cover))
    udta = box(b"udta", box(b"meta", b"\0\0\0\0" + box(b"hdlr", bytes(8) + b"mdirappl"
                                                          + bytes(9)) + box(b"ilst", covr)))
    pos = 0
    while pos < len(sound):
        size, kind = struct.unpack_from(">I4s", sound, pos)
        if kind == b"moov":
            assert pos + size == len(sound), "moov is the last box"
            moov = struct.pack(">I", size + len(udta)) + sound[pos + 4 :] + udta
            return sound[:pos] + moov, [cover]
        pos += size
    raise AssertionError("no moov box")


# --- Property lists, written by plistlib ---


def safari_webarchive() -> tuple[bytes, dict[str, bytes]]:
    """A Safari ``.webarchive`` (binary plist): the page, two pictures, a subframe's."""
    import plistlib

    hill, lake, ad = encoded(160), encoded(161, "PNG"), encoded(162, "GIF")
    page = b"<html><img src=hill.jpg><img src=lake.png><iframe src=ad.html></html>"

    def resource(url: str, data: bytes, mime: str) -> dict:
        return {"WebResourceURL": url, "WebResourceData": data, "WebResourceMIMEType": mime}

    archive = {
        "WebMainResource": resource("https://example.org/", page, "text/html"),
        "WebSubresources": [resource("https://example.org/hill.jpg", hill, "image/jpeg"),
                            resource("https://example.org/lake.png", lake, "image/png")],
        "WebSubframeArchives": [{
            "WebMainResource": resource("https://ads.example.org/ad.html", b"<img src=a.gif>",
                                        "text/html"),
            "WebSubresources": [resource("https://ads.example.org/a.gif", ad, "image/gif")],
        }],
    }
    expected = {"https://example.org/": page, "https://example.org/hill.jpg": hill,
                "https://example.org/lake.png": lake,
                "https://ads.example.org/ad.html": b"<img src=a.gif>",
                "https://ads.example.org/a.gif": ad}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY), expected


def app_plist() -> tuple[bytes, dict[str, bytes]]:
    """An app's XML property list with pictures among other data values."""
    import plistlib

    avatar, banner = encoded(163, "PNG"), encoded(164)
    data = {"user": "alice", "token": b"\x01\x02\x03\x04" * 8,
            "avatars": [{"image": avatar, "size": 64}], "banner": banner}
    return plistlib.dumps(data), {"avatars/0/image": avatar, "banner": banner}


# --- WARC (ISO 28500, WARC/1.1), written record by record to the standard ---


def warc_crawl(gzipped: bool = False) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A crawl: warcinfo, a request, responses (plain and chunked), a resource, a refetch."""
    import gzip

    hill, lake, icon = encoded(170), encoded(171, "PNG"), encoded(172, "GIF")

    def record(kind: str, uri: str | None, content_type: str, block: bytes) -> bytes:
        head = ["WARC/1.1", f"WARC-Type: {kind}", "WARC-Date: 2026-12-01T09:00:00Z",
                f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{len(block):012d}>"]
        if uri:
            head.append(f"WARC-Target-URI: {uri}")
        head += [f"Content-Type: {content_type}", f"Content-Length: {len(block)}"]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + block + b"\r\n\r\n"
        return gzip.compress(raw, mtime=0) if gzipped else raw

    def response(body: bytes, mime: str, chunked: bool = False) -> bytes:
        if chunked:
            half = len(body) // 2
            sent = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:]))
            sent += b"0\r\n\r\n"
            framing = b"Transfer-Encoding: chunked"
        else:
            sent, framing = body, b"Content-Length: %d" % len(body)
        return (b"HTTP/1.1 200 OK\r\nContent-Type: " + mime.encode() + b"\r\n" + framing
                + b"\r\n\r\n" + sent)

    http = "application/http; msgtype=response"
    out = record("warcinfo", None, "application/warc-fields", b"software: vigil tests\r\n")
    out += record("request", "https://example.org/hill.jpg", "application/http; msgtype=request",
                  b"GET /hill.jpg HTTP/1.1\r\nHost: example.org\r\n\r\n")
    out += record("response", "https://example.org/hill.jpg", http, response(hill, "image/jpeg"))
    out += record("response", "https://example.org/lake.png", http,
                  response(lake, "image/png", chunked=True))
    out += record("resource", "file:///icons/icon.gif", "image/gif", icon)
    out += record("response", "https://example.org/hill.jpg", http, response(hill, "image/jpeg"))
    expected = [("https://example.org/hill.jpg", hill), ("https://example.org/lake.png", lake),
                ("file:///icons/icon.gif", icon), ("https://example.org/hill.jpg[#2]", hill)]
    return out, expected


def chrome_block_file() -> tuple[bytes, dict[str, bytes]]:
    """A ``data_2`` block file (1 KiB blocks) with two cached pictures in its blocks."""
    block = 1024
    first, second = encoded(180), encoded(181, "PNG")
    blocks = bytearray(block * 12)
    blocks[block * 1 : block * 1 + len(first)] = first
    blocks[block * 6 : block * 6 + len(second)] = second
    header = struct.pack("<IIhhiii", 0xC104CAC3, 0x30000, 2, 0, block, 12, 2048)
    header = header.ljust(8192, b"\0")
    data = header + bytes(blocks)
    return data, {f"@{8192 + block}": first, f"@{8192 + 6 * block}": second}


def raw_camera_tiff() -> tuple[bytes, dict[str, bytes]]:
    """A TIFF as raw-camera files lay out: IFD0 a small image (written by Pillow), IFD1 a
    JPEG thumbnail (tags 513/514), and under IFD1 a SubIFD whose one strip is a JPEG
    preview (compression 6)."""
    with Image.open(io.BytesIO(encoded(200, "TIFF", size=(40, 30)))) as check:
        assert check.format == "TIFF"
    tiff = bytearray(encoded(200, "TIFF", size=(40, 30)))
    assert tiff[:4] == b"II*\0"
    thumb, preview = encoded(201, size=(160, 120)), encoded(202, size=(320, 240))

    def ifd(entries: list[tuple[int, int, int]], following: int = 0) -> bytes:
        out = struct.pack("<H", len(entries))
        for tag, kind, value in sorted(entries):
            out += struct.pack("<HHII", tag, kind, 1, value)
        return out + struct.pack("<I", following)

    tiff += b"\0" * (len(tiff) % 2)
    thumb_at = len(tiff)
    tiff += thumb + b"\0" * (len(thumb) % 2)
    preview_at = len(tiff)
    tiff += preview + b"\0" * (len(preview) % 2)
    sub_at = len(tiff)
    tiff += ifd([(259, 3, 6), (273, 4, preview_at), (279, 4, len(preview))])
    ifd1_at = len(tiff)
    tiff += ifd([(513, 4, thumb_at), (514, 4, len(thumb)), (330, 13, sub_at)])
    # Point IFD0's "next directory" at IFD1.
    first = struct.unpack_from("<I", tiff, 4)[0]
    count = struct.unpack_from("<H", tiff, first)[0]
    struct.pack_into("<I", tiff, first + 2 + 12 * count, ifd1_at)
    return bytes(tiff), {f"!IFD1@{thumb_at}": thumb, f"!IFD1/SubIFD[1]@{preview_at}": preview}


def onenote_section() -> tuple[bytes, dict[str, bytes]]:
    """A ``.one`` section ([MS-ONESTORE]): header GUIDs, then two FileDataStoreObjects."""
    photo, sketch = encoded(210), encoded(211, "PNG")
    header = bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3") + bytes(16)
    header += bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3")  # legacy file version GUID
    header += bytes.fromhex("3fdd9a10a7e17e40b5faeb3d2e44e0df")  # file format GUID
    data = bytearray(header.ljust(1024, b"\0"))
    expected = {}
    for picture in (photo, sketch):
        data += bytes.fromhex("e716e3bd65261145a4c48d4d0b7a9eac")
        data += struct.pack("<QIQ", len(picture), 0, 0)
        expected[f"!FileDataStore@{len(data)}"] = picture
        data += picture + bytes(-len(picture) % 8)
        data += bytes.fromhex("22a7fb71790f0b4abb13899256426b24")
    return bytes(data), expected



def _ifd(entries: list[tuple[int, int, int, int]], following: int) -> bytes:
    out = struct.pack("<H", len(entries))
    for entry in entries:
        out += struct.pack("<HHII", *entry)
    return out + struct.pack("<I", following)


def camera_jpeg() -> tuple[bytes, dict[str, bytes]]:
    """A camera-style JPEG (Pillow writes it, with an EXIF block built here): IFD0 ->
    Exif IFD -> a maker note (vendor ``ACME``) holding a preview JPEG; IFD1 -> the
    thumbnail (tags 513/514); then a further JPEG appended after the end of the image."""
    thumb, preview, appended = encoded(150, size=(64, 48)), encoded(151, size=(120, 90)), \
        encoded(152, size=(80, 60))
    exif_ifd = 8 + 18
    maker = b"ACME\x00\x00" + preview
    ifd1 = exif_ifd + 18 + len(maker)
    thumb_at = ifd1 + 2 + 3 * 12 + 4
    exif = b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + b"".join((
        _ifd([(0x8769, 4, 1, exif_ifd)], ifd1),
        _ifd([(0x927C, 7, len(maker), exif_ifd + 18)], 0),
        maker,
        _ifd([(0x0103, 3, 1, 6), (0x0201, 4, 1, thumb_at), (0x0202, 4, 1, len(thumb))], 0),
        thumb,
    ))
    photo = encoded(153, size=(320, 240), exif=exif)
    data = photo + appended
    return data, {
        f"!exif-preview@{photo.index(preview)}": preview,
        f"!exif-thumbnail@{photo.index(thumb)}": thumb,
        f"!after-end@{len(photo)}": appended,
    }


def raw_with_maker_note() -> tuple[bytes, dict[str, bytes]]:
    """A TIFF as a camera writes one with a maker-note preview: Pillow's TIFF, whose
    IFD0 is rewritten at the end with an Exif IFD pointer (tag 34665) added; the Exif IFD
    holds a MakerNote (tag 37500, vendor ``NIKON`` header) with a JPEG preview inside."""
    tiff = bytearray(encoded(211, "TIFF", size=(40, 30)))
    preview = encoded(212, size=(160, 120))
    maker = b"NIKON\x00\x02\x10\x00\x00" + preview
    tiff += b"\0" * (len(tiff) % 2)
    maker_at = len(tiff)
    tiff += maker + b"\0" * (len(maker) % 2)
    exif_at = len(tiff)
    tiff += _ifd([(37500, 7, len(maker), maker_at)], 0)
    first = struct.unpack_from("<I", tiff, 4)[0]
    count = struct.unpack_from("<H", tiff, first)[0]
    entries = [struct.unpack_from("<HHII", tiff, first + 2 + 12 * n) for n in range(count)]
    ifd0_at = len(tiff)
    tiff += _ifd(sorted([*entries, (34665, 4, 1, exif_at)]), 0)
    struct.pack_into("<I", tiff, 4, ifd0_at)
    return bytes(tiff), {f"!IFD0/Exif/MakerNote@{maker_at + 10}": preview}


def firefox_cache2_entry(body: bytes, key: str, version: int = 3) -> bytes:
    """A Firefox cache2 entry file: ``body``, its metadata (self hash, one 2-byte hash per
    256 KiB chunk, the eight-field header (seven before version 2), the key and a NUL, the
    response elements), then the body's size, big-endian."""
    chunks = (len(body) + 256 * 1024 - 1) // (256 * 1024)
    fields = [version, 1, 1764547200, 1764547200, 900, 1767225600, len(key.encode())]
    if version > 1:
        fields.append(0)  # flags
    elements = b"request-method\x00GET\x00response-head\x00HTTP/1.1 200 OK\r\n\x00"
    meta = (struct.pack(">I", 0x1234ABCD) + b"\x00\x07" * chunks
            + struct.pack(f">{len(fields)}I", *fields) + key.encode() + b"\x00" + elements)
    return body + meta + struct.pack(">I", len(body))


def binary_with_pictures() -> tuple[bytes, dict[str, bytes]]:
    """An unknown binary (a PE header, then noise) with a JPEG and a PNG inside."""
    import random

    rng = random.Random(1)
    jpeg, png = encoded(160), encoded(161, "PNG")
    head = b"MZ\x90\x00" + rng.randbytes(10_000)
    middle = rng.randbytes(3000)
    data = head + jpeg + middle + png + rng.randbytes(500)
    return data, {f"@{len(head)}": jpeg, f"@{len(head) + len(jpeg) + len(middle)}": png}


def gradient(width: int, height: int, seed: int) -> np.ndarray:
    """RGB pixels of a generated gradient."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x * y + seed) % 256], -1).astype(
        np.uint8)


def dib(pixels: np.ndarray) -> tuple[bytes, bytes]:
    """A 24-bit BITMAPINFOHEADER and its rows (bottom-up, BGR, each padded to 4 bytes)."""
    height, width, _ = pixels.shape
    stride = (width * 3 + 3) // 4 * 4
    rows = b"".join(row[:, ::-1].tobytes().ljust(stride, b"\x00") for row in pixels[::-1])
    # 3,780 pixels a metre (96 dpi): what Pillow's BMP writer puts, so that the BMP of the
    # DIB is byte for byte the file Pillow writes for the same pixels (bmp_of).
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(rows), 3780, 3780,
                         0, 0)
    return header, rows


def png_of(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    """``pixels`` as a PNG (or ``fmt``) file written by Pillow."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, fmt)
    return out.getvalue()


def emf_drawing(bitmap: np.ndarray, png: bytes) -> tuple[bytes, int, int]:
    """An EMF drawing ``bitmap`` (EMR_STRETCHDIBITS) and holding ``png`` as an EMF+ image
    object (in an EMR_COMMENT); with the offsets of that record and of the PNG."""
    height, width, _ = bitmap.shape
    bmi, bits = dib(bitmap)
    stretch = struct.pack("<II4i6i4I2I2i", 81, 80 + len(bmi) + len(bits),
                          0, 0, width - 1, height - 1, 0, 0, 0, 0, width, height,
                          80, len(bmi), 80 + len(bmi), len(bits), 0, 0x00CC0020,
                          width, height) + bmi + bits
    image = struct.pack("<II", 0xDBC01002, 1) + struct.pack("<iiiII", 16, 16, 0, 0, 1) + png
    plus = struct.pack("<HHII", 0x4008, 5 << 8, 12 + len(image), len(image)) + image
    comment_data = struct.pack("<I", 0x2B464D45) + plus
    comment_data += b"\x00" * (-len(comment_data) % 4)
    comment = struct.pack("<III", 70, 12 + len(comment_data), len(comment_data)) + comment_data
    eof = struct.pack("<5I", 14, 20, 0, 16, 20)
    body = stretch + comment + eof
    total = 88 + len(body)
    header = struct.pack("<II4i4iIIIIHHIII2i2i", 1, 88, 0, 0, width - 1, height - 1,
                         0, 0, 2540, 1905, 0x464D4520, 0x10000, total, 4, 1, 0, 0, 0, 0,
                         1024, 768, 320, 240)
    png_at = 88 + len(stretch) + 12 + 4 + 12 + 28
    return header + body, 88, png_at


def wmf_clip(bitmap: np.ndarray) -> tuple[bytes, int]:
    """A placeable WMF drawing ``bitmap`` with META_STRETCHDIB, and that record's offset."""
    height, width, _ = bitmap.shape
    bmi, bits = dib(bitmap)
    stored = bmi + bits
    record = struct.pack("<IHIH8h", (28 + len(stored)) // 2, 0x0F43, 0x00CC0020, 0,
                         height, width, 0, 0, height, width, 0, 0) + stored
    eof = struct.pack("<IH", 3, 0)
    words = (18 + len(record) + len(eof)) // 2
    standard = struct.pack("<HHHIHIH", 1, 9, 0x0300, words, 0, len(record) // 2, 0)
    key = struct.pack("<IH4hHI", 0x9AC6CDD7, 0, 0, 0, width, height, 72, 0)
    checksum = 0
    for (word,) in struct.iter_unpack("<H", key):
        checksum ^= word
    return key + struct.pack("<H", checksum) + standard + record + eof, 22 + 18


def corpus() -> dict[str, tuple[bytes, dict[str, bytes | None]]]:
    """Every file of the corpus: its bytes and its expected descendants.

    Keys of the inner dict are the descendants' paths below the file (``!`` or ``@``
    included); the value is the stored bytes, or None for a bitmap vigil renders (its
    pixels are checked by the expander's own test).
    """
    def stored(expected: dict[str, bytes], sep: str = "!") -> dict[str, bytes | None]:
        return {(key if key.startswith("@") else sep + key): data for key, data in expected.items()}

    pdf, in_pdf = pdf_with_images()
    eml, in_eml = eml_with_pictures()
    mht, in_mht = mhtml_page()
    box = {f"!message[1]/{k}": v for k, v in in_eml.items()}
    box.update({f"!message[2]/{k}": v for k, v in in_mht.items()})
    box["!message[1]/attachment[4]:message-rfc822"] = None
    msg_pictures = [("image.jpg", encoded(30 + i)) for i in range(11)]
    chat, in_chat = chat_database()
    mp3, mp3_covers = mp3_with_covers()
    flac, flac_covers = flac_with_cover()
    m4a, m4a_covers = m4a_with_cover()
    webarchive, in_webarchive = safari_webarchive()
    crawl, in_crawl = warc_crawl()
    blocks, in_blocks = chrome_block_file()
    raw, in_raw = raw_camera_tiff()
    notes, in_notes = onenote_section()
    cached = encoded(140)
    url = "https://example.org/img/a.jpg"
    camera, in_camera = camera_jpeg()
    binary, in_binary = binary_with_pictures()
    firefox_body, firefox_url = encoded(141), "https://example.org/img/b.jpg"
    emf_png = png_of(gradient(24, 18, 2))
    emf, emf_record, emf_png_at = emf_drawing(gradient(40, 30, 1), emf_png)
    wmf, wmf_record = wmf_clip(gradient(33, 21, 3))
    return {
        "images.pdf": (pdf, {"!" + k: v.data for k, v in in_pdf.items()}),
        "mail.eml": (eml, {**stored(in_eml), "!attachment[4]:message-rfc822": None}),
        "page.mht": (mht, stored(in_mht)),
        "Inbox": (mbox_of([eml, mht]), box),
        "mail.msg": (outlook_msg(msg_pictures), {
            f"!attachment[{n}]:{name}": data for n, (name, data) in enumerate(msg_pictures, 1)}),
        "chat.db": (chat, stored(in_chat)),
        "song.mp3": (mp3, {f"!ID3/APIC[{n}]@{mp3.index(c)}": c
                           for n, c in enumerate(mp3_covers, 1)}),
        "song.flac": (flac, {f"!PICTURE[1]@{flac.index(flac_covers[0])}": flac_covers[0]}),
        "song.m4a": (m4a, {f"!covr[1]@{m4a.index(m4a_covers[0])}": m4a_covers[0]}),
        "page.webarchive": (webarchive, stored(in_webarchive)),
        "crawl.warc": (crawl, {"!" + uri: body for uri, body in in_crawl}),
        "Cache/data_2": (blocks, in_blocks),
        "DSC_0001.NEF": (raw, in_raw),
        "notes.one": (notes, in_notes),
        "Cache_Data/1f2e3d4c5b6a7988_0": (simple_cache_entry(url, cached), {"!" + url: cached}),
        "DCIM/IMG_0001.JPG": (camera, in_camera),
        "System32/helper.dll": (binary, in_binary),
        "cache2/entries/9C1F0E2D3B4A59687766554433221100FFEEDDCC": (
            firefox_cache2_entry(firefox_body, ":" + firefox_url),
            {"!" + firefox_url: firefox_body}),
        "drawing.emf": (emf, {f"!EMR_STRETCHDIBITS@{emf_record}": png_of(
            gradient(40, 30, 1), "BMP"), f"@{emf_png_at}": emf_png}),
        "clip.wmf": (wmf, {f"!META_STRETCHDIB@{wmf_record}": png_of(gradient(33, 21, 3),
                                                                     "BMP")}),
    }


def main(folder: str) -> None:
    """Write the corpus to ``folder``."""
    out = Path(folder)
    for name, (data, _expected) in corpus().items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main(sys.argv[1])
