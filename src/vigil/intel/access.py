"""What a lab user may learn of other cases: details for assigned cases, counts for an admin.

A user must be allowed to open the case asked about (assigned, or an admin). Links to
cases the user is assigned to are shown in full; an admin also gets, for the cases they
are not assigned to, only how many such cases there are and how many of this case's
contents they share; anyone else learns nothing at all of those cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.intel.shared import Content, Shared
from vigil.web.accounts import User, assigned_cases, get_user, may_open


@dataclass(frozen=True)
class Viewer:
    """Who asks, and which cases they may see in detail."""

    user: User
    assigned: frozenset[str]

    def sees(self, case: str) -> bool:
        """Whether this viewer may see details of ``case``."""
        return case in self.assigned


def viewer_for(lab: Engine, name: str, case: str) -> Viewer:
    """The viewer for lab user ``name`` asking about ``case``.

    Raises:
        UsageError: No such user, a disabled one, or one who may not open ``case``.
    """
    user = get_user(lab, name)
    if user.disabled:
        raise UsageError(f"user {name!r} is disabled")
    if not may_open(lab, user, case):
        raise UsageError(f"user {name!r} is not assigned to case {case!r}")
    return Viewer(user, frozenset(assigned_cases(lab, user)))


def _content_json(c: Content) -> dict[str, Any]:
    return {"sha256": c.sha256, "sha1": c.sha1, "md5": c.md5, "media": c.media, "pdq": c.pdq}


def intel_view(
    case: str, shared: list[Shared], viewer: Viewer, max_distance: int
) -> dict[str, Any]:
    """The ``vigil intel CASE --json`` document for one viewer.

    Args:
        case: The case asked about.
        shared: ``shared_with_others`` of the case.
        viewer: Who asks.
        max_distance: The PDQ distance used (stated in the output).

    Returns:
        ``{"case", "user", "max_pdq_distance", "shared": [...], "cases": [...],
        "other_cases"}``: ``shared`` lists only contents linked to visible cases;
        ``cases`` counts, per visible case, this case's contents linked to it exactly
        and perceptually; ``other_cases`` is ``{"cases", "contents"}`` for an admin,
        None for others.
    """
    rows = []
    visible_cases: dict[str, dict[str, set[str]]] = {}
    hidden_cases: set[str] = set()
    hidden_contents = 0
    for s in shared:
        links = [k for k in s.links if viewer.sees(k.case)]
        hidden = {k.case for k in s.links if not viewer.sees(k.case)}
        if hidden:
            hidden_cases |= hidden
            hidden_contents += 1
        if not links:
            continue
        for k in links:
            tally = visible_cases.setdefault(k.case, {"exact": set(), "perceptual": set()})
            tally[k.basis].add(s.content.sha256)
        rows.append(
            {
                **_content_json(s.content),
                "exhibits": list(s.exhibits),
                "links": [
                    {
                        "case": k.case,
                        "exhibits": list(k.exhibits),
                        "basis": k.basis,
                        "distance": k.distance,
                        "other": _content_json(k.other),
                    }
                    for k in links
                ],
            }
        )
    others = (
        {"cases": len(hidden_cases), "contents": hidden_contents}
        if viewer.user.is_admin
        else None
    )
    return {
        "case": case,
        "user": viewer.user.name,
        "max_pdq_distance": max_distance,
        "shared": rows,
        "cases": [
            {"case": c, "exact": len(t["exact"]), "perceptual": len(t["perceptual"])}
            for c, t in sorted(visible_cases.items())
        ],
        "other_cases": others,
    }


def lab_viewer(lab: Engine, name: str) -> Viewer:
    """The viewer for lab user ``name`` where no one case is asked about (referrals).

    Raises:
        UsageError: No such user, or a disabled one.
    """
    user = get_user(lab, name)
    if user.disabled:
        raise UsageError(f"user {name!r} is disabled")
    return Viewer(user, frozenset(assigned_cases(lab, user)))
