"""Region signatures of review-graded pictures, for the lab bank.

A grade puts the content's hashes into the lab bank (``intel.bank``); for a picture the
review app can re-open (``web.evidence.read_item``, the bytes it renders tiles from),
its region signature goes beside them (``LabRegions.add_pending``), keyed by the bank
entry just written, so that later scans also find crops, small turns and inset copies
of it (``matching.lab_regions``). A picture that cannot be re-opened or decoded keeps
its exact and PDQ entry; the reason is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.engine import Engine

from vigil.errors import VigilError
from vigil.hashing.decode import decode
from vigil.hashsets.library import HashSetLibrary
from vigil.matching.lab_regions import LabRegions
from vigil.web.casedata import source
from vigil.web.evidence import read_item

log = logging.getLogger("vigil.web")


def add_region_signatures(
    library: HashSetLibrary,
    set_name: str,
    case_reader: Engine,
    pictures: Iterable[tuple[int, int, str]],
) -> int:
    """Keep the region signature of each graded picture for the bank set ``set_name``.

    Args:
        library: The hash-set library holding the bank set.
        set_name: The bank set (``bank_name(scheme)``).
        case_reader: The case store's engine (where each content's item is).
        pictures: ``(case id, content id, sha256)`` of pictures just given a grade.

    Returns:
        How many signatures were kept.
    """
    wanted = list(pictures)
    if not wanted:
        return 0
    entry_ids = library.entry_ids(set_name, [sha for _, _, sha in wanted])
    regions = LabRegions(library, set_name)
    kept = 0
    for case_id, content_id, sha256 in wanted:
        if sha256 not in entry_ids:
            continue
        try:
            with case_reader.connect() as conn:
                src = source(conn, case_id, content_id)
            if src is None:
                continue
            decoded = decode(read_item(src))
            if decoded.pixels is None:
                log.warning("no region signature for content %d: %s", content_id, decoded.error)
                continue
            regions.add_pending(entry_ids[sha256], decoded.pixels)
            kept += 1
        except (VigilError, OSError) as exc:
            log.warning("no region signature for content %d: %s", content_id, exc)
    return kept
