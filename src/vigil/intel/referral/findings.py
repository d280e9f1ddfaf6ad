"""Match a referral's files against the hash-set library and every case, and its
identifiers against earlier referrals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select, tuple_
from sqlalchemy.engine import Engine

from vigil.hashsets.library import HashSetLibrary
from vigil.intel.referral.parse import Identifier, Referral, ReferralFile
from vigil.intel.shared import cases_by_hash
from vigil.matching.exact import ExactMatcher
from vigil.web.labschema import referral_identifiers, referrals

_ALGORITHMS = ("md5", "sha1", "sha256")


@dataclass(frozen=True)
class SetHit:
    """A hash-set entry one file matched."""

    hashset: str
    scheme: str
    grade: str | None
    known_good: bool
    algorithm: str


@dataclass
class FileFinding:
    """One referral file and what the lab knows of it."""

    file: ReferralFile
    hits: list[SetHit] = field(default_factory=list)
    cases: set[str] = field(default_factory=set)


def match_files(
    referral: Referral, library: HashSetLibrary, lab: Engine
) -> list[FileFinding]:
    """Each file's exact hash-set matches and the cases holding it (content index).

    Args:
        referral: The referral.
        library: The hash-set library (the lab bank included).
        lab: The lab store.

    Returns:
        One finding per file, in the document's order.
    """
    matcher = ExactMatcher(library)
    try:
        findings = []
        for f in referral.files:
            hits = [
                SetHit(
                    m.hashset,
                    next(i.scheme for i in matcher.sets.values() if i.name == m.hashset),
                    m.grade,
                    m.known_good,
                    m.algorithm,
                )
                for m in matcher.match(f.md5, f.sha1, f.sha256)
            ]
            findings.append(FileFinding(f, hits))
    finally:
        matcher.close()
    for algorithm in _ALGORITHMS:
        values = sorted({v for f in referral.files if (v := getattr(f, algorithm))})
        held = cases_by_hash(lab, algorithm, values)
        for finding in findings:
            value = getattr(finding.file, algorithm)
            if value in held:
                finding.cases |= held[value]
    return findings


def seen_before(
    lab: Engine, identifiers: tuple[Identifier, ...], report_id: str
) -> dict[tuple[str, str], list[str]]:
    """(kind, value) -> the earlier referrals' report ids that carry the same identifier."""
    keys = sorted({(i.kind, i.value) for i in identifiers})
    ident = referral_identifiers.c
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    with lab.connect() as conn:
        for start in range(0, len(keys), 200):
            chunk = keys[start : start + 200]
            rows = conn.execute(
                select(ident.kind, ident.value, referrals.c.report_id)
                .join(referrals, referrals.c.id == ident.referral_id)
                .where(
                    tuple_(ident.kind, ident.value).in_(chunk),
                    referrals.c.report_id != report_id,
                )
            )
            for r in rows:
                found[(r.kind, r.value)].add(r.report_id)
    return {k: sorted(v) for k, v in found.items()}
