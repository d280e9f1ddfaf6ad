"""A referral's priority: the sum of the weights of the reasons that apply, each stated.

Reasons, heaviest first: known material of the most severe grade of its scheme (UK A,
Project VIC 1), files other cases of the lab already hold, identifiers (e-mail, screen
name, ESP id, phone, IP address) seen in earlier referrals, other known graded
material, and new material (files no hash set and no case knows). The weights are
data (``WEIGHTS``) and printed with every reason, so the order can be explained.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.intel.referral.findings import FileFinding
from vigil.report.grading import grade_rank

WEIGHTS = {
    "known-severe": 50,
    "held-by-cases": 30,
    "repeat-identifier": 25,
    "known-graded": 20,
    "new-material": 15,
}


@dataclass(frozen=True)
class Reason:
    """Why a referral ranks where it does; ``cases`` only for ``held-by-cases``."""

    code: str
    weight: int
    text: str
    cases: tuple[str, ...] = ()


def _notable(f: FileFinding) -> list:
    return [h for h in f.hits if not h.known_good and h.grade is not None]


def reasons_for(
    findings: list[FileFinding], repeats: dict[tuple[str, str], list[str]]
) -> list[Reason]:
    """Every reason that applies to a referral, heaviest first.

    Args:
        findings: ``match_files`` of the referral.
        repeats: ``seen_before`` of its identifiers.

    Returns:
        The reasons (their weights sum to the priority).
    """
    severe = [f for f in findings if any(grade_rank(h.scheme, h.grade) == 0 for h in _notable(f))]
    graded = [f for f in findings if _notable(f) and f not in severe]
    new = [f for f in findings if not f.hits and not f.cases]
    cases = sorted({c for f in findings for c in f.cases})
    found: list[Reason] = []
    if severe:
        labels = sorted(
            {
                f"{h.scheme} {h.grade} in {h.hashset}"
                for f in severe
                for h in _notable(f)
                if grade_rank(h.scheme, h.grade) == 0
            }
        )
        text = f"{len(severe)} file(s) known as the most severe grade: {', '.join(labels)}"
        found.append(Reason("known-severe", WEIGHTS["known-severe"], text))
    if cases:
        held = sum(1 for f in findings if f.cases)
        text = f"{held} file(s) already held in {len(cases)} case(s) of the lab"
        found.append(Reason("held-by-cases", WEIGHTS["held-by-cases"], text, tuple(cases)))
    if repeats:
        seen = "; ".join(
            f"{kind} {value} in {', '.join(ids)}" for (kind, value), ids in sorted(repeats.items())
        )
        text = f"identifier(s) seen in earlier referrals: {seen}"
        found.append(Reason("repeat-identifier", WEIGHTS["repeat-identifier"], text))
    if graded:
        text = f"{len(graded)} file(s) known as graded material"
        found.append(Reason("known-graded", WEIGHTS["known-graded"], text))
    if new:
        text = f"{len(new)} file(s) new: in no hash set and no case"
        found.append(Reason("new-material", WEIGHTS["new-material"], text))
    return found
