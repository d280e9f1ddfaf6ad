"""E-mail: ``.eml`` messages, MHTML web archives (``.mht``) and ``mbox`` mailboxes.

Parsed with Python's ``email`` package. Every MIME part that is not the message's text
or HTML body is a member, decoded from its transfer encoding (base64,
quoted-printable): ``mail.eml!attachment[2]:photo.jpg`` for a part sent as an
attachment, ``inline[1]:image001.png`` for a picture shown in the body (a
``multipart/related`` part, an MHTML resource, named by its file name, else its
``Content-Location``, else its ``Content-ID``). The numbers count attachments and
inline parts separately, in the order of the message, so two parts of one name are
two members. An attached message (``message/rfc822``) is a member of its own and is
walked like any mail; attachments that are archives are walked by the pipeline.

An mbox is split at its ``From`` lines as it is read, one message in memory at a time:
``box.mbox!message[3]/attachment[1]:x.jpg``. A part whose encoding is damaged gets a
record (what decoded is still yielded).
"""

from __future__ import annotations

import email
import email.policy
import io
import re
from collections.abc import Iterator
from email.message import Message
from typing import BinaryIO

from vigil.model import Item, ScanError
from vigil.sources.expand import Budget, Member, register
from vigil.sources.expand.whole import in_memory

STAGE = "expand.mail"
MAIL = "message/rfc822"
MBOX = "application/mbox"
_BODY_TYPES = ("text/plain", "text/html")
_FROM_LINE = re.compile(rb"From \S+ .*\d\d:\d\d")


@in_memory(STAGE)
def expand_mail(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the attachments and inline parts of one message (``.eml``, ``.mht``)."""
    yield from _message_parts(item, data, "")


def expand_mbox(item: Item, stream: BinaryIO, budget: Budget) -> Iterator[Member | ScanError]:
    """Yield the parts of every message of an mbox (``message[N]/attachment[M]:name``).

    Args:
        item: The mailbox item.
        stream: Its bytes, read line by line.
        budget: The top-level item's budget (``admit`` is called by the walk).

    Returns:
        An iterator of ``Member``s and ``ScanError``s.
    """
    number = 0
    lines: list[bytes] = []
    previous_blank = True
    for line in _lines(stream):
        if previous_blank and _FROM_LINE.match(line):
            if number:
                yield from _message_parts(item, b"".join(lines), f"message[{number}]/")
            number += 1
            lines = []
        elif number:
            # mboxrd / mboxo quoting of body lines that start "From ".
            lines.append(line[1:] if re.match(rb">+From ", line) else line)
        previous_blank = line in (b"\n", b"\r\n")
    if number:
        yield from _message_parts(item, b"".join(lines), f"message[{number}]/")
    else:
        yield ScanError(item.path, STAGE, "no message found (no 'From ' line)")


def _lines(stream: BinaryIO, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The lines of ``stream``, ends kept, from plain ``read`` calls (any file object)."""
    rest = b""
    while block := stream.read(chunk):
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest


def _message_parts(item: Item, data: bytes, prefix: str) -> Iterator[Member | ScanError]:
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; anything else is damage
        yield ScanError(item.path + (f"!{prefix[:-1]}" if prefix else ""), STAGE,
                        f"not a readable message: {type(exc).__name__}: {exc}")
        return
    counters = {"attachment": 0, "inline": 0}
    for part in _leaves(message):
        disposition = (part.get_content_disposition() or "").lower()
        ctype = part.get_content_type()
        if disposition != "attachment" and ctype in _BODY_TYPES and not part.get_filename():
            continue  # the message's own text (or an MHTML archive's page)
        name = _name(part)
        kind = "attachment" if disposition == "attachment" else "inline"
        counters[kind] += 1
        label = f"{prefix}{kind}[{counters[kind]}]:{name or ctype.replace('/', '-')}"
        try:
            if ctype == MAIL or isinstance(part.get_payload(), list):
                inner = part.get_payload()
                body = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
            else:
                body = part.get_payload(decode=True) or b""
        except Exception as exc:  # noqa: BLE001
            yield ScanError(f"{item.path}!{label}", STAGE, f"part unreadable: {exc}")
            continue
        defects = [type(d).__name__ for d in part.defects]
        if defects:
            yield ScanError(f"{item.path}!{label}", STAGE, f"damaged: {', '.join(defects)}")
        yield Member(name=label, stream=io.BytesIO(body), size=len(body), embedded=True,
                     in_archive=False)


def _leaves(message: Message) -> Iterator[Message]:
    """The parts of a message in order, multiparts opened, attached messages kept whole."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            yield from _leaves(part)
    else:
        yield message


def _name(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a malformed RFC 2231 parameter
        name = None
    if not name and part.get("Content-Location"):
        name = str(part.get("Content-Location")).rstrip("/").rsplit("/", 1)[-1]
    if not name and part.get("Content-ID"):
        name = str(part.get("Content-ID")).strip("<> ")
    return str(email.header.make_header(email.header.decode_header(name))) if name else ""


register((MAIL,), expand_mail)
register((MBOX,), expand_mbox)
