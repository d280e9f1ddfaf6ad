"""The lab bank: every review grade becomes an entry of the lab's own hash set.

Each grade given in the review app is recorded in the lab store (``bank_grades``: the
content's hashes, the grade, its scheme, the reviewer and the time, and the case) and
put into the hash-set library as an entry of the set ``lab`` (``lab-<scheme>`` for a
scheme other than ``uk``), format ``lab-review``. The set is an ordinary library set:
every later scan of any case matches against it (exactly and by PDQ), the report counts
its matches under basis ``lab-review``, and ``vigil hashset export lab`` writes it out.
The newest grade of a content wins; a grade taken back (undo to ungraded) removes it.
A content's PDQ enters the bank only when its quality is at least 50 (a flat picture's
hash would match everything); its exact hashes always do. A graded picture's region
signature is kept too (``intel.bank_regions``): later scans find crops and small turns
of it, reported with basis ``lab-review`` and algorithm ``orb-regions``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from vigil.errors import VigilError
from vigil.hashsets.entry import HashEntry
from vigil.hashsets.library import HashSetInfo, HashSetLibrary
from vigil.intel.bank_regions import add_region_signatures
from vigil.store.clock import now_text
from vigil.store.schema import contents
from vigil.web.lab import writing
from vigil.web.labschema import bank_grades
from vigil.web.neardup import usable

BANK_FORMAT = "lab-review"
BANK_NOTE = "grades given in vigil's review app (the lab bank): newest grade per content"
_CHUNK = 500
log = logging.getLogger("vigil.web")


def bank_name(scheme: str) -> str:
    """The library set holding review grades of ``scheme``: ``lab`` for ``uk``."""
    return "lab" if scheme == "uk" else f"lab-{scheme}"


def is_bank(fmt: str | None) -> bool:
    """Whether a hash set of format ``fmt`` is a lab bank."""
    return fmt == BANK_FORMAT


@dataclass(frozen=True)
class BankGrade:
    """One review grade as the bank records it."""

    sha256: str
    sha1: str
    md5: str
    size: int
    mime: str
    pdq: str | None
    scheme: str
    grade: str | None
    reviewer: str
    at: str
    case: str


def _content_rows(case_reader: Engine, content_ids: Sequence[int]) -> list[dict]:
    ids = sorted(set(content_ids))
    rows: list[dict] = []
    with case_reader.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found = conn.execute(select(contents).where(contents.c.id.in_(chunk)))
            rows.extend(dict(r._mapping) for r in found)
    return rows


def record_review(
    lab: Engine,
    library: HashSetLibrary,
    case_reader: Engine,
    case: str,
    graded: dict[int, str | None],
    scheme: str,
    reviewer: str,
    later: Executor | None = None,
) -> HashSetInfo:
    """Put review grades given in ``case`` into the lab bank.

    Args:
        lab: The lab store.
        library: The hash-set library holding the bank set.
        case_reader: The case store's engine (to read the contents' hashes).
        case: The case name.
        graded: Content id -> the grade now given (None: taken back).
        scheme: The grading scheme.
        reviewer: Who graded.
        later: Where the graded pictures' region signatures are computed (decode and
            keypoints, ~50 ms a picture), off the caller's path; None: here and now.

    Returns:
        The bank set's record after the change.
    """
    at = now_text()
    rows = _content_rows(case_reader, list(graded))
    records = [
        BankGrade(
            r["sha256"],
            r["sha1"],
            r["md5"],
            int(r["size"]),
            r["mime"],
            # A PDQ of low quality (a flat picture) would match everything: kept out.
            r["pdq"] if usable(r["pdq"], r["pdq_quality"]) else None,
            scheme,
            graded[r["id"]],
            reviewer,
            at,
            case,
        )
        for r in rows
    ]
    ids: list[int] = []
    with writing(lab) as conn:
        for g in records:
            done = conn.execute(insert(bank_grades).values(**_row(g)))
            ids.append(int(done.inserted_primary_key[0]))
    entries = [
        (
            HashEntry(
                md5=g.md5,
                sha1=g.sha1,
                sha256=g.sha256,
                size=g.size,
                category=g.grade,
                pdq=g.pdq,
                record=record_id,
            ),
            g.grade,
        )
        for g, record_id in zip(records, ids, strict=True)
    ]
    info = library.put_entries(bank_name(scheme), BANK_FORMAT, scheme, entries, BANK_NOTE)
    pictures = [(int(r["case_id"]), int(r["id"]), g.sha256)
                for r, g in zip(rows, records, strict=True)
                if g.grade is not None and r["media"] == "image"]  # fmt: skip
    if later is None:
        add_region_signatures(library, info.name, case_reader, pictures)
    elif pictures:
        later.submit(_signed_or_logged, library, info.name, case_reader, pictures)
    return info


def _signed_or_logged(
    library: HashSetLibrary, set_name: str, case_reader: Engine, pictures: list
) -> None:
    # In the background: nothing would see an exception, so every failure is logged.
    try:
        add_region_signatures(library, set_name, case_reader, pictures)
    except Exception:
        log.exception("region signatures of %d graded pictures not kept", len(pictures))


def _lower_priority() -> None:
    # Linux schedules threads as tasks: nice only this thread, so that grading requests
    # (the person waiting) go first; elsewhere the call would nice the whole process.
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _row(g: BankGrade) -> dict:
    row = asdict(g)
    row["case_name"] = row.pop("case")
    return row


def newest_grades(lab: Engine, scheme: str) -> list[BankGrade]:
    """The newest review grade of every content in ``scheme`` that still has one, by MD5."""
    newest: dict[str, BankGrade] = {}
    with lab.connect() as conn:
        rows = conn.execute(
            select(bank_grades).where(bank_grades.c.scheme == scheme).order_by(bank_grades.c.id)
        )
        for r in rows:
            fields = dict(r._mapping)
            fields.pop("id")
            fields["case"] = fields.pop("case_name")
            newest[r.sha256] = BankGrade(**fields)
    return sorted((g for g in newest.values() if g.grade is not None), key=lambda g: g.md5)


class BankFeeder:
    """What the review app calls after each grading: the grade into the lab bank.

    The case store's grade is already committed when this runs; a bank that cannot be
    written is logged (and the grade stays in the case), never turned into a failed
    request. The grade's exact and PDQ entries are written in the request; the graded
    pictures' region signatures by one background thread at a lower priority (``close``
    waits for the ones still queued: the app calls it when it stops).
    """

    def __init__(self, lab: Engine, home: Path, scheme: str) -> None:
        self.lab = lab
        self.home = home
        self.scheme = scheme
        self.signer = ThreadPoolExecutor(
            1, thread_name_prefix="vigil-regions", initializer=_lower_priority
        )

    def close(self) -> None:
        """Wait for the queued region signatures, then stop the background thread."""
        self.signer.shutdown(wait=True)

    def feed(
        self, case_reader: Engine, case: str, graded: dict[int, str | None], reviewer: str
    ) -> None:
        """Record ``graded`` (content id -> grade, None = taken back) in the bank."""
        try:
            library = HashSetLibrary(self.home)
            record_review(self.lab, library, case_reader, case, graded, self.scheme, reviewer,
                          self.signer)  # fmt: skip
        except (VigilError, SQLAlchemyError, OSError) as exc:
            log.error("review grades of %s not put in the lab bank: %s", case, exc)
