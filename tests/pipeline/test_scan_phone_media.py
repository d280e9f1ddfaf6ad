"""Phone media in an extraction: HEIC stills, Live Photos (still + MOV, linked) and
fragmented MP4 / DASH segments (social-media video caches) are hashed and matched."""

from __future__ import annotations

import hashlib
import io
import json
import sys

import pillow_heif
import pytest

from tests_support import REPO, InProcessVigil
from vigil.demo import draw_landscape, write_vpdq_file
from vigil.hashing.pdq import pdq_for_file
from vigil.synthetic_video import write_clip

sys.path.insert(0, str(REPO / "tests" / "sources"))

import build_phones as b

DCIM = "/private/var/mobile/Media/DCIM/100APPLE/"
CACHE = "/private/var/mobile/Containers/Data/Application/A1/Library/Caches/video/"


def _boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """Top-level ISO-BMFF boxes ``(type, start, end)``."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        out.append((data[pos + 4 : pos + 8], pos, pos + size))
        pos += size
    return out


def dash_segment(fragmented: bytes) -> bytes:
    """A DASH media segment: ``styp`` then the second ``moof``/``mdat`` of a fragmented MP4."""
    boxes = _boxes(fragmented)
    moofs = [i for i, (kind, _s, _e) in enumerate(boxes) if kind == b"moof"]
    start, end = boxes[moofs[1]][1], boxes[moofs[1] + 1][2]
    styp = (24).to_bytes(4, "big") + b"stypmsdh" + bytes(4) + b"msdhmsix"
    return styp + fragmented[start:end]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, bytes]]:
    base = tmp_path_factory.mktemp("phone-media")
    picture = draw_landscape(70, (480, 360))
    heic = io.BytesIO()
    pillow_heif.from_pillow(picture).save(heic, quality=80)
    reference = base / "reference.jpg"  # the same picture as a national set holds it
    picture.save(reference, "JPEG", quality=90)
    live = write_clip(base / "live.mov", seconds=2, fps=10, seed=3)
    fragmented = write_clip(base / "frag.mp4", seconds=3, fps=10, seed=4, gop=10, fragmented=True)
    plain = write_clip(base / "plain.mp4", seconds=3, fps=10, seed=4, gop=10)
    files = {
        DCIM + "IMG_0010.HEIC": heic.getvalue(),
        DCIM + "IMG_0010.MOV": live.read_bytes(),
        CACHE + "clip.mp4": fragmented.read_bytes(),
        CACHE + "clip-seg2.m4s": dash_segment(fragmented.read_bytes()),
    }
    ufdr = base / "PHONE-2.ufdr"
    b.build_ufdr_of(ufdr, files)
    sets = base / "sets"
    sets.mkdir()
    media = []
    for n, (path, category) in enumerate(
        ((reference, 1), (live, 2), (base / "seg.m4s", 3))
    ):
        data = files[CACHE + "clip-seg2.m4s"] if path.name == "seg.m4s" else path.read_bytes()
        entry = {
            "MediaID": n + 1,
            "Category": category,
            "MD5": hashlib.md5(data).hexdigest().upper(),
            "SHA1": hashlib.sha1(data).hexdigest().upper(),
            "MediaSize": len(data),
            "IsPrecategorized": "true",
        }
        if path == reference:
            entry["AlternativeHashes"] = [
                {"HashName": "PDQ", "HashValue": pdq_for_file(reference, "reference").hash}
            ]
        media.append(entry)
    vics = sets / "known.json"
    context = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Media"
    vics.write_text(json.dumps({"@odata.context": context, "value": media}))
    # The cached clip's frames as the set holds them: hashed from the unfragmented encode.
    vpdq = write_vpdq_file(plain, sets / "clip.vpdq")
    (base / "home").mkdir()
    vigil = InProcessVigil(base / "home")
    uk = ("--scheme", "uk")
    vigil("hashset", "import", str(vics), "--name", "known", *uk, "--category-map", "1=A,2=B,3=C")
    vigil("hashset", "import", str(vpdq), "--name", "videos", "--format", "vpdq", *uk,
          "--grade", "B")
    vigil("scan", str(ufdr), "--case", "M", "--exhibit", "PHONE-2", "--workers", "1", "-q")
    vigil("report", "M", "--format", "json", "--out", str(base / "rep"))
    report = json.loads((base / "rep" / "report.json").read_text())
    return {i["path"]: i for i in report["items"]}, files


def _match(item: dict) -> tuple:
    m = item["match"] or {}
    return (m.get("basis"), m.get("algorithm"), m.get("grade"))


def test_every_phone_media_file_is_hashed(scanned: tuple[dict, dict[str, bytes]]) -> None:
    items, files = scanned
    assert {p: items[p]["sha256"] for p in files} == {
        p: hashlib.sha256(data).hexdigest() for p, data in files.items()
    }
    assert {p: (items[p]["mime"], items[p]["media"]) for p in files} == {
        DCIM + "IMG_0010.HEIC": ("image/heic", "image"),
        DCIM + "IMG_0010.MOV": ("video/mp4", "video"),
        CACHE + "clip.mp4": ("video/mp4", "video"),
        CACHE + "clip-seg2.m4s": ("application/octet-stream", "other"),
    }
    assert all(items[p]["errors"] == [] for p in files)


def test_heic_still_matches_the_same_picture_as_jpeg_perceptually(scanned) -> None:
    items, _files = scanned
    heic = items[DCIM + "IMG_0010.HEIC"]
    assert heic["pdq"] is not None and heic["pdq_quality"] >= 50
    assert _match(heic) == ("perceptual", "pdq", "A")


def test_live_photo_still_and_video_are_both_items_linked_to_each_other(scanned) -> None:
    items, _files = scanned
    still, video = items[DCIM + "IMG_0010.HEIC"], items[DCIM + "IMG_0010.MOV"]
    assert (still["linked"], video["linked"]) == (DCIM + "IMG_0010.MOV", DCIM + "IMG_0010.HEIC")
    assert _match(video) == ("exact", "sha1", "B")


def test_fragmented_mp4_and_dash_segment_match(scanned) -> None:
    items, _files = scanned
    # The fragmented file decodes: its frames match the set's hashes of the same clip.
    assert _match(items[CACHE + "clip.mp4"]) == ("perceptual", "vpdq", "B")
    # A lone media segment cannot be decoded without its init segment: matched by hash.
    assert _match(items[CACHE + "clip-seg2.m4s"]) == ("exact", "sha1", "C")
    assert items[CACHE + "clip.mp4"]["linked"] is None
