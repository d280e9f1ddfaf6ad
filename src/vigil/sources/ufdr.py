"""Cellebrite UFDR (a zip with ``report.xml``): each file under its path on the device.

``report.xml`` (namespace ``http://pa.cellebrite.com/report/2.0``) lists every file
of the extraction as ``<file fs=... path=... size=... id=... deleted=...>`` with its
times in ``<accessInfo><timestamp name="CreationTime|ModifyTime|AccessTime">`` and,
in ``<metadata section="File">``, the item ``Local Path``: where the archive holds the
bytes (``files\\Image\\IMG_0001.JPG``). Decoded records (``<decodedData>``: chats,
attachments) name the app in their ``Source`` field and point at files through
``<jumptargets><targetid>``; that gives a file its app. The project's ``<metadata>``
sections say what made the extraction: ``Extraction Data`` (``DeviceInfoUnitVersion``,
the UFED version; ``DeviceInfoSelectedManufacturer``/``DeviceInfoSelectedDeviceName``),
``Additional Fields`` (``UFED_PA_Version``, the Physical Analyzer that wrote the report)
and ``Device Info`` (``DeviceInfoDetectedManufacturer``/``DeviceInfoDetectedModel``).

Items are named by the device path; a file the report names whose bytes the archive
lacks is a ScanError; a member of the archive that no report entry names is still an
item, named by its path in the archive. The report is read as a stream (``iterparse``),
never held whole.
"""

from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.extraction import unique
from vigil.sources.members import Stored, member_item, members

REPORT = "report.xml"
_TIMES = {"CreationTime": "created", "ModifyTime": "modified", "AccessTime": "accessed"}
_SECTIONS = ("Extraction Data", "Additional Fields", "Device Info")


@dataclass(frozen=True)
class ReportFile:
    """One ``<file>`` of report.xml."""

    path: str
    local: str | None
    size: int | None
    deleted: bool
    file_id: str | None
    fs: str | None
    times: dict[str, datetime]
    app: str | None = None


@dataclass(frozen=True)
class Report:
    """What report.xml says: the tool's version, the extraction and its files."""

    version: str | None
    extraction: str | None
    files: list[ReportFile]
    # Items of the project's Extraction Data, Additional Fields and Device Info sections
    # (the first value of each name), and the extraction's ``deviceName``.
    details: dict[str, str] = field(default_factory=dict)


def is_ufdr(names: list[str]) -> bool:
    """True when an archive with these member names is a UFDR."""
    return REPORT in names


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def parse_report(stream: object) -> tuple[Report, list[ScanError]]:
    """Read report.xml from ``stream``; damage ends the reading with a ScanError."""
    files: list[ReportFile] = []
    errors: list[ScanError] = []
    version = extraction = None
    # Decoded models being read: (own app, file ids they point at, incl. unresolved children).
    models: list[list] = []
    apps: dict[str, str] = {}
    details: dict[str, str] = {}
    section: str | None = None
    stack: list[str] = []
    try:
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            tag = _local(elem.tag)
            if event == "start":
                stack.append(tag)
                if tag == "project":
                    version = elem.get("reportVersion")
                elif tag == "extractionInfo" and extraction is None:
                    extraction = elem.get("name") or elem.get("type")
                    if elem.get("deviceName"):
                        details.setdefault("deviceName", elem.get("deviceName", ""))
                elif tag == "metadata" and "file" not in stack:
                    section = elem.get("section")
                elif tag == "model":
                    models.append([None, []])
                continue
            stack.pop()
            if tag == "metadata":
                section = None
            elif tag == "item" and section in _SECTIONS and elem.get("name"):
                text = "".join(elem.itertext()).strip()
                if text:
                    details.setdefault(elem.get("name", ""), text)
            if tag == "file" and elem.get("path") is not None:
                files.append(_report_file(elem))
                elem.clear()
            elif tag == "field" and models and elem.get("name") == "Source":
                text = "".join(elem.itertext()).strip()
                if text and models[-1][0] is None:
                    models[-1][0] = text
            elif tag == "targetid" and models and elem.text:
                models[-1][1].append(elem.text.strip())
            elif tag == "model" and models:
                app, targets = models.pop()
                if app is not None:
                    for target in targets:
                        apps.setdefault(target, app)
                elif models:
                    models[-1][1].extend(targets)
                elem.clear()
    except ET.ParseError as exc:
        errors.append(
            ScanError(REPORT, "source", f"report.xml damaged, read up to there: {exc}")
        )
    files = [replace(f, app=apps.get(f.file_id or "")) for f in files]
    return Report(version, extraction, files, details), errors


def _report_file(elem: ET.Element) -> ReportFile:
    times: dict[str, datetime] = {}
    local = None
    for child in elem.iter():
        tag = _local(child.tag)
        if tag == "timestamp" and child.get("name") in _TIMES:
            value = _time(child.text)
            if value is not None:
                times[_TIMES[child.get("name", "")]] = value
        elif tag == "item" and child.get("name") == "Local Path" and child.text:
            local = child.text.strip().replace("\\", "/")
    size = elem.get("size")
    return ReportFile(
        path=elem.get("path", ""),
        local=local,
        size=int(size) if size and size.isdigit() else None,
        deleted=(elem.get("deleted") or "Intact").lower() not in ("intact", "unknown", ""),
        file_id=elem.get("id"),
        fs=elem.get("fs"),
        times=times,
    )


_LAST: dict[tuple[str, int, int], tuple[Report | None, list[ScanError]]] = {}
_LAST_LOCK = threading.Lock()


def read_report(path: Path) -> tuple[Report | None, list[ScanError]]:
    """The report of the UFDR at ``path`` (None if it cannot be opened) and its errors.

    The last one read is kept: the scan lists the UFDR and then asks for its tool.
    """
    st = os.stat(path)
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _LAST_LOCK:
        if key not in _LAST:
            _LAST.clear()
            _LAST[key] = _read_report(path)
        return _LAST[key]


def _read_report(path: Path) -> tuple[Report | None, list[ScanError]]:
    entries = {m.name: m for m in members(path) if isinstance(m, Stored)}
    stored = entries.get(REPORT)
    if stored is None:
        return None, [ScanError(REPORT, "source", "the UFDR has no report.xml")]
    try:
        with stored.open() as stream:
            return parse_report(stream)
    except OSError as exc:
        return None, [ScanError(REPORT, "source", f"report.xml unreadable: {exc}")]


def ufdr_info(path: Path) -> dict[str, str | None]:
    """What the report of the UFDR at ``path`` says made the extraction (see the docstring)."""
    report, _errors = read_report(path)
    details = report.details if report else {}
    unit = details.get("DeviceInfoUnitVersion")
    analyzer = details.get("UFED_PA_Version")
    if unit:
        tool = "Cellebrite UFED"
        if analyzer:
            tool += f" (report by Physical Analyzer {analyzer})"
    elif analyzer:
        tool = "Cellebrite Physical Analyzer"
    else:
        tool = "Cellebrite (UFDR)"
    device = " ".join(
        details[k]
        for k in ("DeviceInfoDetectedManufacturer", "DeviceInfoDetectedModel")
        if details.get(k)
    ) or " ".join(
        details[k]
        for k in ("DeviceInfoSelectedManufacturer", "DeviceInfoSelectedDeviceName")
        if details.get(k)
    )
    return {
        "extraction_type": report.extraction if report else None,
        "extraction_tool": tool,
        "extraction_version": unit or analyzer or (report.version if report else None),
        "device": device or details.get("deviceName"),
    }


def iter_ufdr(path: Path) -> Iterator[Item | ScanError]:
    """Yield the files of the UFDR at ``path``: report files, then unreported members."""
    listing = members(path)
    yield from (m for m in listing if isinstance(m, ScanError))
    stored = {m.name: m for m in listing if isinstance(m, Stored) and m.kind == "file"}
    report, errors = read_report(path)
    yield from errors
    used: set[str] = set()
    seen: dict[str, int] = {}
    for rf in report.files if report else []:
        where = unique(rf.path, seen)
        member = stored.get(rf.local or "")
        if member is None:
            if rf.deleted and rf.local is None:
                # A deleted name whose content the extraction did not recover.
                yield Item(
                    where, _absent, size=None, deleted=True, allocated=False, app=rf.app, **rf.times
                )
                continue
            yield ScanError(
                where,
                "source",
                f"named in report.xml (Local Path {rf.local!r}) but not in the archive",
            )
            continue
        used.add(member.name)
        times = {"modified": None, **rf.times}
        yield member_item(
            member, where, deleted=rf.deleted, allocated=not rf.deleted, app=rf.app, **times
        )
    for name, member in stored.items():
        if name not in used:
            yield member_item(member, unique(name, seen))


def _absent() -> object:
    raise OSError("deleted file: the extraction holds no content for it")
