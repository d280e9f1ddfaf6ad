"""Re-open one item's bytes from the exhibit's evidence, on demand, read-only."""

from __future__ import annotations

from pathlib import Path

from vigil.errors import EvidenceError
from vigil.sources.reopen import open_item
from vigil.web.casedata import Source

# Pictures larger than this are not rendered in the review app (bomb guard).
MAX_BYTES = 256 * 1024 * 1024


def read_item(src: Source) -> bytes:
    """Read the bytes of one item of an exhibit.

    Args:
        src: Where the item is (``casedata.source``): the exhibit's evidence, the item's
            provenance path, and for a forensic image its top-level item's recorded
            locator (then opened directly, without walking the image), for an
            encrypted iOS backup the scan's password file.

    Returns:
        The item's bytes.

    Raises:
        EvidenceError: If the item cannot be re-opened or is too large to render.
    """
    item_path = src.item_path
    try:
        with open_item(
            Path(src.evidence_path), item_path, src.top, password_file=src.password_file
        ) as stream:
            data = stream.read(MAX_BYTES + 1)
    except EvidenceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any backend failure is reported, not raised raw
        raise EvidenceError(f"cannot re-open {item_path}: {exc}") from exc
    if len(data) > MAX_BYTES:
        raise EvidenceError(f"{item_path} is larger than {MAX_BYTES} bytes; not rendered")
    return data
