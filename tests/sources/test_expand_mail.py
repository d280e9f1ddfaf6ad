"""Mail: .eml attachments and inline pictures, MHTML resources, mbox messages."""

from __future__ import annotations

import hashlib
import io

from documents_corpus.build_documents import eml_with_pictures, encoded, mbox_of, mhtml_page
from vigil.model import Item, ScanError
from vigil.sources.expand.recurse import expand_tree
from vigil.sources.sniff import sniff


def _expand(data: bytes, name: str) -> tuple[dict[str, str], list[ScanError]]:
    results = list(expand_tree(Item(path=name, open=lambda: io.BytesIO(data), size=len(data))))
    items = {r.path: hashlib.md5(r.open().read()).hexdigest()
             for r in results if isinstance(r, Item)}
    return items, [r for r in results if isinstance(r, ScanError)]


def _md5s(expected: dict[str, bytes], prefix: str) -> dict[str, str]:
    return {prefix + path: hashlib.md5(data).hexdigest() for path, data in expected.items()}


def test_eml_attachments_inline_pictures_archives_and_forwards() -> None:
    data, expected = eml_with_pictures()
    assert sniff(data[:4096]).mime == "message/rfc822"
    items, errors = _expand(data, "mail.eml")
    assert errors == []
    forward = "mail.eml!attachment[4]:message-rfc822"
    assert forward in items
    del items[forward]
    assert items == _md5s(expected, "mail.eml!")


def test_mhtml_resources() -> None:
    data, expected = mhtml_page()
    assert sniff(data[:4096]).mime == "message/rfc822"
    items, errors = _expand(data, "page.mht")
    assert errors == []
    assert items == _md5s(expected, "page.mht!")


def test_mbox_messages_are_numbered() -> None:
    eml, in_eml = eml_with_pictures()
    mht, in_mht = mhtml_page()
    box = mbox_of([eml, mht, eml])
    assert sniff(box[:4096]).mime == "application/mbox"
    items, errors = _expand(box, "Inbox")
    assert errors == []
    want = {**_md5s(in_eml, "Inbox!message[1]/"), **_md5s(in_mht, "Inbox!message[2]/"),
            **_md5s(in_eml, "Inbox!message[3]/")}
    forwards = {p for p in items if p.endswith("]:message-rfc822")}
    assert forwards == {"Inbox!message[1]/attachment[4]:message-rfc822",
                        "Inbox!message[3]/attachment[4]:message-rfc822"}
    assert {p: m for p, m in items.items() if p not in forwards} == want


def test_damaged_base64_is_a_record_and_what_decoded_is_kept() -> None:
    photo = encoded(110)
    import base64

    body = base64.encodebytes(photo).decode()
    mail = ("From: a@example.org\nTo: b@example.org\nSubject: x\nDate: Tue, 01 Dec 2026 09:00:00"
            " +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n"
            "Content-Type: text/plain\n\nhi\n--XX\nContent-Type: image/jpeg\n"
            "Content-Disposition: attachment; filename=cut.jpg\n"
            "Content-Transfer-Encoding: base64\n\n" + body[:-3] + "\n--XX--\n").encode()
    items, errors = _expand(mail, "cut.eml")
    assert list(items) == ["cut.eml!attachment[1]:cut.jpg"]
    assert [(e.location, e.reason) for e in errors] == [
        ("cut.eml!attachment[1]:cut.jpg", "damaged: InvalidBase64PaddingDefect")
    ]


def test_text_that_is_not_mail() -> None:
    for text in (b"name: vigil\nversion: 1\n\nbody", b"From here on\nit is a story\n",
                 b"Subject: only one field\n\nbody"):
        assert sniff(text).mime == "application/octet-stream", text
