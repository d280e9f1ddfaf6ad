"""PST/OST attachments on real Outlook files (``expand/pst.py``, issue 14).

The two OST files of the pst-extractor npm package (``tests/real/real_files.py``; fetched by
``make testdata``), made by Outlook for an outlook.com account. Every attachment of every
item, folder by folder, with its exact MD5, and the pictures of the PDF attachment below
it; checked against ``pffexport`` (Debian pff-tools, an independent libpff build of
2018) and ``pdfimages`` (poppler).
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from real_files import OST_FULL, OST_PDF, pst_extractor_file

from vigil.model import Item
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff

TOP = "Root - Mailbox/IPM_SUBTREE/"
PDF = "Clinometer Usage.pdf"
PHOTO = "primoz-roglic-of-slovenia-and-team-jumbo-visma-red-leader-news-photo-"

# The welcome mail's eleven PNGs, the same in both files.
WELCOME = """
826792a9b5d81c45c3ae7f3a9050cd8f  Inbox/message[2]/attachment[1]:colors.png
a80819c2ce01a450f0b8774a80314383  Inbox/message[2]/attachment[2]:colors-top.png
b3fa480079d37d3f29777b84b06f01f6  Inbox/message[2]/attachment[3]:devices.png
8bb45d5a85237318db06cc23d85b41a6  Inbox/message[2]/attachment[4]:feature-attachments.png
38451ad8ed6716b1a7a8ed59276a2b9d  Inbox/message[2]/attachment[5]:feature-calendars.png
65bf3a99d08c92b7e5ea4e31aff6fdde  Inbox/message[2]/attachment[6]:feature-integrations.png
b9022b51356e9c36c25ca7a5993934cf  Inbox/message[2]/attachment[7]:feature-office.png
525b35e74eff2637fdcf14791897decd  Inbox/message[2]/attachment[8]:landing-appstore.png
0ef5945d7590e33affdef5ae2f1bdc00  Inbox/message[2]/attachment[9]:landing-playstore.png
30b799902b52375e5d40f24ef9a7013f  Inbox/message[2]/attachment[10]:landing-winstore.png
7ae203ed25dd77f3effb51b5ff9b013d  Inbox/message[2]/attachment[11]:microsoft-logo.png
""".strip()
# md5 and path below ``<file>!Root - Mailbox/IPM_SUBTREE/``, in walk order.
EXPECTED = {
    OST_PDF: """
2387f89cb08cd1b2b9297c60d95928cc  Inbox/message[1]/attachment[1]:{PDF}
3240ecaf9063f38f86b29c34bda3b857  Inbox/message[1]/attachment[1]:{PDF}!page[1]/Im1
bc65ddc399017b11ae0067b6a513d8c5  Inbox/message[1]/attachment[1]:{PDF}!page[2]/Im2.png
{WELCOME}
""",
    OST_FULL: """
1cee0bb9778f6df26ff3a701c8117fe4  Deleted Items/message[1]/attachment[1]:invite.ics
{WELCOME}
fc4357358a1355a7005f719edfd64169  Inbox/message[4]/attachment[1]:text.txt
176b924aac03816d0a478534a33a55d7  Inbox/message[5]/attachment[1]:{PHOTO}1628610563.jpg
2387f89cb08cd1b2b9297c60d95928cc  Inbox/message[6]/attachment[1]:{PDF}
3240ecaf9063f38f86b29c34bda3b857  Inbox/message[6]/attachment[1]:{PDF}!page[1]/Im1
bc65ddc399017b11ae0067b6a513d8c5  Inbox/message[6]/attachment[1]:{PDF}!page[2]/Im2.png
2387f89cb08cd1b2b9297c60d95928cc  Inbox/message[7]/attachment[1]:{PDF}
3240ecaf9063f38f86b29c34bda3b857  Inbox/message[7]/attachment[1]:{PDF}!page[1]/Im1
bc65ddc399017b11ae0067b6a513d8c5  Inbox/message[7]/attachment[1]:{PDF}!page[2]/Im2.png
176b924aac03816d0a478534a33a55d7  Inbox/message[7]/attachment[2]:{PHOTO}1628610563.jpg
fc4357358a1355a7005f719edfd64169  Inbox/message[7]/attachment[3]:text.txt
d4679e0cadbb52761cddfcf1b1429ea0  Inbox/message[8]/attachment[1]:invite.ics
875bca273b78062e9024785fbdf04753  Inbox/message[9]/attachment[1]:view.url
d831f79f747bb0b5c3df44f1809124f8  Inbox/message[9]/attachment[2]:view.url
aa3d7747f4fa8a63625a4eb7cbfb7b2d  Inbox/message[9]/attachment[3]:invite.ics
b2fe60423f96739921a87636d798b51a  Inbox/message[10]/attachment[1]:invite.ics
176b924aac03816d0a478534a33a55d7  Sent Items/message[2]/attachment[1]:{PHOTO}162....jpg
2387f89cb08cd1b2b9297c60d95928cc  Sent Items/message[2]/attachment[2]:{PDF}
3240ecaf9063f38f86b29c34bda3b857  Sent Items/message[2]/attachment[2]:{PDF}!page[1]/Im1
bc65ddc399017b11ae0067b6a513d8c5  Sent Items/message[2]/attachment[2]:{PDF}!page[2]/Im2.png
fc4357358a1355a7005f719edfd64169  Sent Items/message[2]/attachment[3]:text.txt
1cee0bb9778f6df26ff3a701c8117fe4  Calendar/message[5]/attachment[1]:invite.ics
d4679e0cadbb52761cddfcf1b1429ea0  Calendar/message[6]/attachment[1]:invite.ics
875bca273b78062e9024785fbdf04753  Calendar/message[8]/attachment[1]:view.url
d831f79f747bb0b5c3df44f1809124f8  Calendar/message[8]/attachment[2]:view.url
aa3d7747f4fa8a63625a4eb7cbfb7b2d  Calendar/message[8]/attachment[3]:invite.ics
176b924aac03816d0a478534a33a55d7  Calendar/message[9]/attachment[1]:{PHOTO}162....jpg
2387f89cb08cd1b2b9297c60d95928cc  Calendar/message[9]/attachment[2]:{PDF}
3240ecaf9063f38f86b29c34bda3b857  Calendar/message[9]/attachment[2]:{PDF}!page[1]/Im1
bc65ddc399017b11ae0067b6a513d8c5  Calendar/message[9]/attachment[2]:{PDF}!page[2]/Im2.png
fc4357358a1355a7005f719edfd64169  Calendar/message[9]/attachment[3]:text.txt
""",
}
# Items pffexport 20180714 writes out without their attachments: meeting requests and
# responses (``Meeting0000N`` in its output; the same files are attached to the calendar
# items, which it does export, except Inbox/message[10]'s updated invitation).
MEETINGS = {"Deleted Items/message[1]", "Inbox/message[8]", "Inbox/message[9]",
            "Inbox/message[10]", "Sent Items/message[2]"}


def _expected(name: str) -> list[tuple[str, str]]:
    listing = EXPECTED[name].strip().replace("{WELCOME}", WELCOME)
    rows = [line.split("  ", 1) for line in listing.splitlines()]
    return [(f"{name}!{TOP}{path.format(PDF=PDF, PHOTO=PHOTO)}", md5) for md5, path in rows]


@pytest.fixture(scope="module")
def walked() -> dict[str, tuple[bytes, list[tuple[str, bytes]]]]:
    """Per OST: its bytes and every descendant's ``(path, bytes)`` in walk order."""
    found = {}
    for name in (OST_PDF, OST_FULL):
        data = pst_extractor_file(name)
        tree = expand_tree(Item(path=name, open=lambda data=data: io.BytesIO(data),
                                size=len(data)))
        found[name] = (data, [(item.path, item.open().read()) for item in tree])
    return found


def _md5s(found: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
    return [(path, hashlib.md5(body).hexdigest()) for path, body in found]


@pytest.mark.parametrize("name", [OST_PDF, OST_FULL])
def test_every_attachment_and_picture_of_a_real_ost_with_its_md5(walked, name) -> None:
    data, found = walked[name]
    assert hashlib.md5(data).hexdigest() == {
        OST_PDF: "559535c153bcd193c5e67be8c541de67",
        OST_FULL: "5f4c540860a0459f2538c9e39cb53e31"}[name]
    assert _md5s(found) == _expected(name)


def _decodes(body: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.load()
        return True
    except OSError:
        return False


def test_the_pictures_are_the_png_and_jpeg_attachments_and_the_pdfs_images(walked) -> None:
    _data, found = walked[OST_FULL]
    pictures = [path for path, body in found
                if sniff(body[:4096]).media == "image" and _decodes(body)]
    # The welcome mail's 11 PNGs, the photograph attached 4 times, 4 PDFs x 2 images.
    assert pictures == [path for path, _md5 in _expected(OST_FULL)
                        if path.endswith((".png", ".jpg", "/Im1"))]
    assert len(pictures) == 11 + 4 + 4 * 2


def _pffexport(tmp: Path, name: str, data: bytes) -> set[tuple[str, str]]:
    """``(item/attachment[K], md5)`` of every attachment file pffexport writes."""
    source = tmp / name
    source.write_bytes(data)
    subprocess.run(["pffexport", "-q", "-t", str(tmp / "out"), str(source)], check=True,
                   capture_output=True)
    exported = set()
    for path in (tmp / "out.export" / "Root - Mailbox" / "IPM_SUBTREE").rglob("*"):
        match = re.fullmatch(r"(.+)/[A-Za-z]+(\d{5})/Attachments/0*(\d+)_.*",
                             str(path.relative_to(tmp / "out.export" / TOP.rstrip("/"))))
        if match and path.is_file():
            folder, item, number = match.groups()
            place = f"{folder}/message[{int(item)}]/attachment[{number}]"
            exported.add((place, hashlib.md5(path.read_bytes()).hexdigest()))
    return exported


@pytest.mark.parametrize("name", [OST_PDF, OST_FULL])
def test_pffexport_exports_the_same_attachments_bar_its_meeting_items(
        walked, name, tmp_path) -> None:
    data, found = walked[name]
    ours = {(re.sub(r":[^/]*$", "", path.split("!")[1].removeprefix(TOP)), md5)
            for path, md5 in _md5s(found) if path.count("!") == 1}
    theirs = _pffexport(tmp_path, name, data)
    assert len(theirs) == {OST_PDF: 12, OST_FULL: 25}[name]
    assert theirs <= ours
    assert {place.rsplit("/", 1)[0] for place, _md5 in ours - theirs} == (
        MEETINGS if name == OST_FULL else set())


def test_the_pdf_attachments_pictures_match_pdfimages(walked, tmp_path) -> None:
    _data, found = walked[OST_PDF]
    pdf_path = f"{OST_PDF}!{TOP}Inbox/message[1]/attachment[1]:{PDF}"
    body = dict(found)
    (tmp_path / "c.pdf").write_bytes(body[pdf_path])
    listing = subprocess.run(["pdfimages", "-list", str(tmp_path / "c.pdf")],
                             capture_output=True, text=True, check=True).stdout
    assert len({row.split()[10] for row in listing.splitlines()[2:]}) == 2  # objects 55, 8
    subprocess.run(["pdfimages", "-j", "-f", "1", "-l", "1", str(tmp_path / "c.pdf"),
                    str(tmp_path / "j")], check=True)
    assert body[f"{pdf_path}!page[1]/Im1"] == (tmp_path / "j-000.jpg").read_bytes()
    subprocess.run(["pdfimages", "-png", "-f", "2", "-l", "2", str(tmp_path / "c.pdf"),
                    str(tmp_path / "p")], check=True)
    with Image.open(tmp_path / "p-000.png") as theirs, Image.open(io.BytesIO(
            body[f"{pdf_path}!page[2]/Im2.png"])) as ours:
        assert ours.size == theirs.size == (524, 650)
        assert ours.convert("L").tobytes() == theirs.convert("L").tobytes()
