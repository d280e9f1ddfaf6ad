"""Read a CyberTipline-style referral (XML) into plain data.

The element names follow the public NCMEC CyberTipline reporting API's report schema:
``report`` > ``incidentSummary`` (``incidentType``, ``incidentDateTime``),
``personOrUserReported`` (``personOrUserReportedPerson`` with ``email`` and ``phone``,
``espIdentifier``, ``espService``, ``screenName``, ``displayName``, ``ipCaptureEvent``
with ``ipAddress``, ``eventName``, ``dateTime``), and per uploaded file ``fileDetails``
(``fileId``, ``originalFileName``, ``originalFileHash hashType="MD5"``, ``ipCaptureEvent``
whose ``dateTime`` is the upload time). A referral as a force receives it carries the
report's ``reportId`` (at the top, or in each ``fileDetails``) and its files' details
in the one document.

A document that is not well-formed XML, has a DTD (none is needed, and entity tricks
live there), lacks a report id, or holds a hash that is not hex of the right length is
refused with a ``ReferralError`` that says where; it is never half-read.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import UsageError
from vigil.hashsets.entry import HEX_LENGTHS

MAX_BYTES = 64 << 20
_HASH_TYPES = {
    "md5": "md5",
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha256": "sha256",
    "sha-256": "sha256",
}


class ReferralError(UsageError):
    """A referral document vigil cannot read (malformed or incomplete)."""


@dataclass(frozen=True)
class Identifier:
    """One identifier of the reported person: kind, normalised value, time if given."""

    kind: str  # email, phone, screen_name, esp_id, ip
    value: str
    at: str | None = None
    event: str | None = None


@dataclass(frozen=True)
class ReferralFile:
    """One reported file: its id and name, hashes (lower-case hex) and upload time."""

    file_id: str | None
    name: str | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    uploaded_at: str | None
    upload_ip: str | None = None


@dataclass(frozen=True)
class Referral:
    """A referral as read from its document."""

    report_id: str
    incident_type: str | None
    incident_at: str | None
    identifiers: tuple[Identifier, ...]
    files: tuple[ReferralFile, ...]
    esp_service: str | None = None


def _text(node: ET.Element | None, tag: str) -> str | None:
    if node is None:
        return None
    found = node.find(tag)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _local(tag: str) -> str:
    # A namespace, if the sender used one, is not part of the element's name here.
    return tag.rsplit("}", 1)[-1]


def _strip_namespaces(root: ET.Element) -> None:
    for node in root.iter():
        node.tag = _local(node.tag)


def _ip(value: str, where: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError as exc:
        raise ReferralError(f"{where}: {value!r} is not an IP address") from exc


def _ip_events(node: ET.Element, where: str) -> list[Identifier]:
    events = []
    for n, ev in enumerate(node.findall("ipCaptureEvent"), start=1):
        address = _text(ev, "ipAddress")
        if address is None:
            raise ReferralError(f"{where}/ipCaptureEvent[{n}]: no ipAddress")
        events.append(
            Identifier(
                "ip",
                _ip(address, f"{where}/ipCaptureEvent[{n}]"),
                _text(ev, "dateTime"),
                _text(ev, "eventName"),
            )
        )
    return events


def _person(node: ET.Element) -> list[Identifier]:
    where = "personOrUserReported"
    found: list[Identifier] = []
    person = node.find("personOrUserReportedPerson")
    if person is not None:
        for email in person.findall("email"):
            if email.text and email.text.strip():
                found.append(Identifier("email", email.text.strip().casefold()))
        for phone in person.findall("phone"):
            digits = "".join(ch for ch in (phone.text or "") if ch.isdigit())
            if digits:
                found.append(Identifier("phone", digits))
    for tag, kind in (("screenName", "screen_name"), ("espIdentifier", "esp_id")):
        value = _text(node, tag)
        if value is not None:
            found.append(Identifier(kind, value.casefold() if kind == "screen_name" else value))
    found.extend(_ip_events(node, where))
    return found


def _hash(value: str | None, algorithm: str, where: str) -> str:
    text = (value or "").strip().lower()
    if len(text) != HEX_LENGTHS[algorithm] or any(c not in "0123456789abcdef" for c in text):
        raise ReferralError(f"{where}: {value!r} is not a {algorithm.upper()} hash")
    return text


def _file(node: ET.Element, n: int) -> ReferralFile:
    where = f"fileDetails[{n}]"
    hashes: dict[str, str] = {}
    for h in node.findall("originalFileHash"):
        kind = _HASH_TYPES.get((h.get("hashType") or "").strip().lower())
        if kind is not None:
            hashes[kind] = _hash(h.text, kind, f"{where}/originalFileHash[{kind}]")
    if not hashes:
        raise ReferralError(f"{where}: no MD5, SHA-1 or SHA-256 in originalFileHash")
    events = _ip_events(node, where)
    upload = next((e for e in events if (e.event or "").lower() == "upload"), None)
    upload = upload or (events[0] if events else None)
    return ReferralFile(
        _text(node, "fileId"),
        _text(node, "originalFileName"),
        hashes.get("md5"),
        hashes.get("sha1"),
        hashes.get("sha256"),
        upload.at if upload else None,
        upload.value if upload else None,
    )


class _NoDtd(ET.TreeBuilder):
    """A tree builder that refuses any document type declaration."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        """Refuse the DTD (the parser calls this when it meets ``<!DOCTYPE``)."""
        raise ReferralError("the document has a DTD (<!DOCTYPE>); a referral needs none")


def read_referral(path: Path) -> Referral:
    """Read one referral document.

    Args:
        path: The XML file.

    Returns:
        The referral.

    Raises:
        ReferralError: Unreadable, not XML, not a ``report``, no report id, or a bad
            hash or IP address (the message says where).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ReferralError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_BYTES:
        raise ReferralError(f"{path}: larger than {MAX_BYTES >> 20} MiB")
    parser = ET.XMLParser(target=_NoDtd())
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        raise ReferralError(f"{path}: not well-formed XML: {exc}") from exc
    except ReferralError as exc:
        raise ReferralError(f"{path}: {exc}") from exc
    _strip_namespaces(root)
    if root.tag != "report":
        raise ReferralError(f"{path}: the root element is <{root.tag}>, not <report>")
    try:
        return _referral(root)
    except ReferralError as exc:
        raise ReferralError(f"{path}: {exc}") from exc


def _referral(root: ET.Element) -> Referral:
    files = [_file(node, n) for n, node in enumerate(root.findall("fileDetails"), start=1)]
    report_id = _text(root, "reportId")
    if report_id is None:
        ids = {_text(node, "reportId") for node in root.findall("fileDetails")} - {None}
        if len(ids) > 1:
            raise ReferralError(f"fileDetails name several reports: {sorted(ids)}")  # type: ignore[type-var]
        report_id = ids.pop() if ids else None
    if report_id is None:
        raise ReferralError("no reportId (at the top or in fileDetails)")
    summary = root.find("incidentSummary")
    identifiers: list[Identifier] = []
    esp_service = None
    for person in root.findall("personOrUserReported"):
        identifiers.extend(_person(person))
        esp_service = esp_service or _text(person, "espService")
    for f in files:
        if f.upload_ip:
            identifiers.append(Identifier("ip", f.upload_ip, f.uploaded_at, "Upload"))
    return Referral(
        report_id,
        _text(summary, "incidentType"),
        _text(summary, "incidentDateTime"),
        tuple(dict.fromkeys(identifiers)),
        tuple(files),
        esp_service,
    )
