"""Re-open one item's bytes from the exhibit's evidence, on demand, read-only."""

from __future__ import annotations

from pathlib import Path

from vigil.errors import EvidenceError
from vigil.sources.reopen import RecordedTop, open_item

# Pictures larger than this are not rendered in the review app (bomb guard).
MAX_BYTES = 256 * 1024 * 1024


def read_item(evidence_path: str, item_path: str, top: RecordedTop | None = None) -> bytes:
    """Read the bytes of one item of an exhibit.

    Args:
        evidence_path: ``exhibits.evidence_path``.
        item_path: ``items.path``, the provenance path inside the exhibit.
        top: Its top-level item in a forensic image as recorded, if any: that item is
            then opened directly from its locator, without walking the image.

    Returns:
        The item's bytes.

    Raises:
        EvidenceError: If the item cannot be re-opened or is too large to render.
    """
    try:
        with open_item(Path(evidence_path), item_path, top) as stream:
            data = stream.read(MAX_BYTES + 1)
    except EvidenceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any backend failure is reported, not raised raw
        raise EvidenceError(f"cannot re-open {item_path}: {exc}") from exc
    if len(data) > MAX_BYTES:
        raise EvidenceError(f"{item_path} is larger than {MAX_BYTES} bytes; not rendered")
    return data
