"""``vigil hashset export lab``: the lab bank as a VICS 2.0 hash set, to send upstream.

One Media record per content whose newest review grade still stands, keyed by MD5, with
SHA-1, size, type, PDQ (``AlternativeHashes``), the grade as a VICS Category in the
flavour asked for (the same mapping as the case export, ``vigil.report.vics``), and who
graded it when (``Comments``, ``DateUpdated``). vigil's own VICS reader re-imports it.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.hashsets.library import HashSetLibrary
from vigil.intel.bank import is_bank, newest_grades
from vigil.report.vics import FLAVOURS, category, media_document, media_record


def export_bank(lab: Engine, library: HashSetLibrary, name: str, fmt: str) -> tuple[str, int]:
    """The VICS text of lab bank set ``name`` and how many Media records it holds.

    Args:
        lab: The lab store (reviewer and time of each grade).
        library: The hash-set library holding the set.
        name: The set (``lab``, ``lab-projectvic``).
        fmt: ``vics`` (Default flavour, Project VIC categories) or ``vics-uk``.

    Raises:
        UsageError: Unknown format, no such set, or a set that is not a lab bank.
    """
    if fmt not in FLAVOURS:
        raise UsageError(f"--format must be one of {', '.join(FLAVOURS)}, not {fmt!r}")
    info = library.get(name)
    if not is_bank(info.format):
        raise UsageError(
            f"hash set {name!r} was imported from {info.source_path}; only the lab bank "
            "(grades given in the review app) is exported"
        )
    flavour = FLAVOURS[fmt]
    media = []
    for g in newest_grades(lab, info.scheme):
        value = category({"scheme": g.scheme, "code": g.grade}, flavour)
        if value is None:
            continue
        comments = f"graded {g.grade} ({g.scheme}) by {g.reviewer} at {g.at}"
        record = media_record(
            len(media) + 1, g.md5, g.sha1, value, g.size, g.mime, g.pdq, False, comments
        )
        record["DateUpdated"] = g.at
        media.append(record)
    return media_document(media, flavour), len(media)
