"""Re-open one recorded item's bytes from the evidence by its provenance path.

The review app and exports use this to read a picture again long after the scan:
the evidence is opened read-only, the top-level item is found (directly for a
folder, by walking the source for an image), then each ``!member`` / ``@offset``
segment is resolved through the same expanders the scan used.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from vigil.errors import EvidenceError
from vigil.model import MEMBER_SEP, OFFSET_SEP, Item, ScanError
from vigil.sources import SourceOptions, open_evidence
from vigil.sources.expand import Limits, expander_for
from vigil.sources.folder import item_for_file
from vigil.sources.sniff import HEAD_SIZE, sniff


def open_item(evidence: Path, item_path: str) -> BinaryIO:
    """A read-only stream of the item ``item_path`` of the evidence at ``evidence``.

    Raises:
        EvidenceError: when the evidence or the item cannot be found or read.
    """
    return find_item(evidence, item_path).open()


def find_item(evidence: Path, item_path: str) -> Item:
    """The ``Item`` recorded as ``item_path`` in ``evidence`` (see ``open_item``)."""
    evidence = Path(evidence)
    item = _top_level(evidence, item_path)
    limits = Limits(max_depth=10**6)
    while item.path != item_path:
        item = _child_on_the_way(item, item_path, limits)
    return item


def _top_level(evidence: Path, item_path: str) -> Item:
    if evidence.is_dir():
        # A file name may itself contain "!" or "@": try the longest existing file.
        cuts = [len(item_path)] + sorted(
            (i for i, ch in enumerate(item_path) if ch in (MEMBER_SEP, OFFSET_SEP)), reverse=True
        )
        for cut in cuts:
            candidate = evidence / item_path[:cut]
            if candidate.is_file() and evidence.resolve() in candidate.resolve().parents:
                return item_for_file(evidence, item_path[:cut])
        raise EvidenceError(f"no file for {item_path!r} in {evidence}")
    items = open_evidence(evidence, SourceOptions(carve=OFFSET_SEP in item_path))
    found = _on_the_way(items, item_path)
    if found is None:
        raise EvidenceError(f"no item {item_path!r} in {evidence}")
    return found


def _on_the_way(items: Iterable[Item | ScanError], item_path: str) -> Item | None:
    for it in items:
        if isinstance(it, Item) and (
            it.path == item_path
            or item_path.startswith(it.path + MEMBER_SEP)
            or item_path.startswith(it.path + OFFSET_SEP)
        ):
            return it
    return None


def _child_on_the_way(item: Item, item_path: str, limits: Limits) -> Item:
    try:
        with item.open() as stream:
            head = stream.read(HEAD_SIZE)
    except OSError as exc:
        raise EvidenceError(f"cannot read {item.path!r}: {exc}") from exc
    expander = expander_for(sniff(head).mime)
    if expander is None:
        raise EvidenceError(f"{item.path!r} is not a container, cannot reach {item_path!r}")
    found = _on_the_way(expander(item, limits), item_path)
    if found is None:
        raise EvidenceError(f"no member on the way to {item_path!r} in {item.path!r}")
    return found
