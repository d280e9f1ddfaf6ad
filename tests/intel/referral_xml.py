"""Build benign CyberTipline-style referral documents for the tests.

The layout follows the public reporting API's element names (see
``vigil.intel.referral.parse``); every value is invented: example.test addresses,
documentation IP ranges (RFC 5737), and the hashes of generated landscapes.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FileSpec:
    """One reported file: its bytes (only hashed) and upload details."""

    name: str
    data: bytes
    uploaded_at: str = "2026-11-20T09:15:00Z"
    upload_ip: str = "198.51.100.7"
    hashes: tuple[str, ...] = ("MD5",)


@dataclass
class ReferralSpec:
    """A referral to write."""

    report_id: str
    files: list[FileSpec]
    emails: list[str] = field(default_factory=list)
    screen_name: str | None = None
    esp_id: str | None = None
    logins: list[tuple[str, str]] = field(default_factory=list)  # (ip, time)
    incident_at: str = "2026-11-20T09:00:00Z"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def _ip_event(parent: ET.Element, ip: str, event: str, at: str) -> None:
    ev = _sub(parent, "ipCaptureEvent")
    _sub(ev, "ipAddress", ip)
    _sub(ev, "eventName", event)
    _sub(ev, "dateTime", at)


def build(spec: ReferralSpec) -> bytes:
    """The referral document's bytes."""
    root = ET.Element("report")
    _sub(root, "reportId", spec.report_id)
    summary = _sub(root, "incidentSummary")
    _sub(summary, "incidentType", "Child Pornography (possession, manufacture, and distribution)")
    _sub(summary, "incidentDateTime", spec.incident_at)
    reporter = _sub(root, "reporter")
    _sub(_sub(reporter, "reportingPerson"), "email", "reports@esp.example.test")
    person = _sub(root, "personOrUserReported")
    if spec.emails:
        who = _sub(person, "personOrUserReportedPerson")
        for email in spec.emails:
            _sub(who, "email", email, verified="true")
    if spec.esp_id:
        _sub(person, "espIdentifier", spec.esp_id)
    _sub(person, "espService", "Example Photos")
    if spec.screen_name:
        _sub(person, "screenName", spec.screen_name)
    for ip, at in spec.logins:
        _ip_event(person, ip, "Login", at)
    for n, f in enumerate(spec.files, start=1):
        details = _sub(root, "fileDetails")
        _sub(details, "fileId", f"file-{n}")
        _sub(details, "originalFileName", f.name)
        _sub(details, "fileViewedByEsp", "true")
        _ip_event(details, f.upload_ip, "Upload", f.uploaded_at)
        for kind in f.hashes:
            algorithm = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256"}[kind]
            digest = hashlib.new(algorithm, f.data).hexdigest()
            _sub(details, "originalFileHash", digest, hashType=kind)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write(path: Path, spec: ReferralSpec) -> Path:
    """Write the referral to ``path``."""
    path.write_bytes(build(spec))
    return path
