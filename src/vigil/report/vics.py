"""VICS 2.0 case export (``Cases`` > ``Media`` > ``MediaFiles``), Default and UK flavours.

Every graded content (hash-set grade or review grade) becomes one Media record keyed by
MD5, with one MediaFiles entry per copy. PDQ goes in ``AlternativeHashes``; PhotoDNA
values that came in with a hash-set entry are passed through untouched. vigil's own
VICS reader re-imports the file (``vigil hashset import`` detects it).

Category values: the Default flavour carries Project VIC categories (a ``uk`` grade
A/B/C becomes 1, Child Abuse Material; N becomes 0, Non-Pertinent). The UK flavour
carries the UK grade as 1=A, 2=B, 3=C, 0=N, the convention vigil's demo set uses;
re-import it with ``--scheme uk --category-map 1=A,2=B,3=C,0=N``.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path, PurePosixPath
from typing import Any

CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{flavour}/$metadata#Cases"
# A hash-set document: ``value`` holds Media records directly.
MEDIA_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{flavour}/$metadata#Media"
)
FLAVOURS = {"vics": "Default", "vics-uk": "UK"}
UK_CATEGORIES = {"A": 1, "B": 2, "C": 3, "N": 0}
UK_REIMPORT_MAP = "1=A,2=B,3=C,0=N"
_UK_TO_PROJECTVIC = {"A": 1, "B": 1, "C": 1, "N": 0}
# A fixed namespace so a case name always gives the same CaseID.
_CASE_NAMESPACE = uuid.UUID("6f1c2d1e-5b7a-4f0e-9c3d-2a8b4e6f7a10")


def photodna_for(library_file: Path, entry_ids: Iterable[int]) -> dict[int, str]:
    """PhotoDNA values kept by the hash-set library for the given entries.

    Args:
        library_file: The library's ``library.sqlite``; a missing file gives {}.
        entry_ids: Entry ids as recorded in the case's matches.

    Returns:
        Entry id to PhotoDNA text, for entries that carry one.
    """
    ids = sorted(set(entry_ids))
    if not ids or not library_file.is_file():
        return {}
    found: dict[int, str] = {}
    uri = f"file:{library_file}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT id, photodna FROM entry WHERE photodna IS NOT NULL AND id IN ({marks})",
                chunk,
            )
            found.update({int(i): str(p) for i, p in rows})
    missing = [i for i in ids if i not in found]
    if missing:
        # A VICS set imported as a block keeps its PhotoDNA values beside its hash arrays.
        from vigil.hashsets.library import HashSetLibrary

        found.update(HashSetLibrary(library_file.parent).block_photodna(missing))
    return found


def category(grade: dict[str, Any], flavour: str) -> int | None:
    """The VICS Category of an effective grade in a flavour (None: not expressible)."""
    scheme, code = grade["scheme"], grade["code"]
    if scheme == "uk":
        table = UK_CATEGORIES if flavour == "UK" else _UK_TO_PROJECTVIC
        return table.get(code)
    if scheme == "projectvic" and code.isdigit():
        return int(code)
    return None


def media_record(
    media_id: int,
    md5: str,
    sha1: str,
    category_value: int | None,
    size: int | None,
    mime: str | None,
    pdq: str | None,
    precategorized: bool,
    comments: str | None = None,
) -> dict[str, Any]:
    """The Media fields vigil writes for one content, in case and hash-set exports."""
    record: dict[str, Any] = {
        "MediaID": media_id,
        "MD5": md5.upper(),
        "SHA1": sha1.upper(),
        "Category": category_value,
        "MediaSize": size,
        "MimeType": mime,
        "IsPrecategorized": precategorized,
    }
    if pdq:
        record["AlternativeHashes"] = [{"HashName": "PDQ", "HashValue": pdq}]
    if comments:
        record["Comments"] = comments
    return record


def media_document(media: list[dict[str, Any]], flavour: str) -> str:
    """A VICS 2.0 hash-set document (``#Media``) as JSON text.

    Args:
        media: Media records (``media_record``).
        flavour: ``Default`` or ``UK``.
    """
    doc = {"@odata.context": MEDIA_CONTEXT.format(flavour=flavour), "value": media}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _media_file(it: dict[str, Any]) -> dict[str, Any]:
    path = PurePosixPath(it["path"])
    flags = it["flags"]
    return {
        "FileName": path.name,
        "FilePath": it["path"],
        "Created": it["created"],
        "Written": it["modified"],
        "Accessed": it["accessed"],
        "Deleted": flags["deleted"],
        "Unallocated": flags["carved"] or not flags["allocated"],
        "PhysicalLocation": it["offset"],
        "SourceID": it["exhibit"],
    }


def build_vics(
    report: dict[str, Any], flavour: str, photodna: dict[int, str] | None = None
) -> dict[str, Any]:
    """The VICS case document for the report's graded contents.

    Args:
        report: The report model.
        flavour: ``Default`` or ``UK``.
        photodna: Hash-set entry id to PhotoDNA value, passed through as found.

    Returns:
        The JSON-ready document.
    """
    photodna = photodna or {}
    copies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for it in report["items"]:
        if it["grade"] is not None and category(it["grade"], flavour) is not None:
            copies[it["md5"]].append(it)
    media = []
    for media_id, md5 in enumerate(sorted(copies), start=1):
        its = copies[md5]
        first = its[0]
        comments = None
        if first["grade"]["source"] == "review":
            review = first["review"]
            comments = f"graded {review['grade']} by {review['user']} at {review['at']}"
        record = media_record(
            media_id,
            md5,
            first["sha1"],
            category(first["grade"], flavour),
            first["size"],
            first["mime"],
            first["pdq"],
            first["grade"]["source"] == "hashset",
            comments,
        )
        record["MediaFiles"] = [_media_file(it) for it in its]
        match = first["match"]
        if match and match["entry_id"] in photodna:
            record["PhotoDNA"] = photodna[match["entry_id"]]
        media.append(record)
    case = report["case"]
    return {
        "@odata.context": CONTEXT.format(flavour=flavour),
        "value": [
            {
                "CaseID": str(uuid.uuid5(_CASE_NAMESPACE, case["name"])),
                "CaseNumber": case.get("reference") or case["name"],
                "ContactName": case.get("examiner"),
                "ContactOrganization": case.get("organisation"),
                "TotalMediaFiles": sum(len(m["MediaFiles"]) for m in media),
                "SourceApplicationName": "vigil",
                "SourceApplicationVersion": report["generator"]["version"],
                "Media": media,
            }
        ],
    }


def render_vics(report: dict[str, Any], flavour: str, photodna: dict[int, str] | None) -> str:
    """The VICS case export as JSON text (sorted keys are not used: VICS readers expect
    ``@odata.context`` first)."""
    return json.dumps(build_vics(report, flavour, photodna), indent=1, ensure_ascii=False) + "\n"
