"""The court report's "also seen in" section: which other cases hold this case's contents.

Case references only (names and how many contents are linked), never the other cases'
contents or exhibits, and only the cases the report's user may see; an admin also gets
the number of other cases they are not assigned to. The index is read as it stands
when the report is generated (``run.generated_at``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.hashing.pdq import MATCH_DISTANCE
from vigil.intel.access import intel_view, viewer_for
from vigil.intel.shared import shared_with_others


def also_seen_in(
    lab: Engine, case: str, user: str, max_distance: int = MATCH_DISTANCE
) -> dict[str, Any]:
    """The ``also_seen_in`` block of the report model.

    Args:
        lab: The lab store.
        case: The case reported on.
        user: The lab user the report is made for.
        max_distance: Largest PDQ distance linking two pictures.

    Returns:
        ``{"user", "max_pdq_distance", "cases": [{"case", "exact",
        "perceptual"}], "other_cases", "unavailable"}``; ``unavailable`` says why nothing
        was checked (unknown user, not assigned), else None.
    """
    block: dict[str, Any] = {
        "user": user,
        "max_pdq_distance": max_distance,
        "cases": [],
        "other_cases": None,
        "unavailable": None,
    }
    try:
        viewer = viewer_for(lab, user, case)
    except UsageError as exc:
        block["unavailable"] = str(exc)
        return block
    view = intel_view(case, shared_with_others(lab, case, max_distance), viewer, max_distance)
    block["cases"] = view["cases"]
    block["other_cases"] = view["other_cases"]
    return block
