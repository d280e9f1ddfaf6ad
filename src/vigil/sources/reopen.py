"""Re-open one recorded item's bytes from the evidence by its provenance path.

The review app and exports use this to read a picture again long after the scan:
the evidence is opened read-only, the top-level item is found (directly for a
folder, by walking the source for an image), then each ``!member`` / ``@offset``
segment is resolved through the same expanders the scan used.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from vigil.errors import EvidenceError
from vigil.model import MEMBER_SEP, OFFSET_SEP, Item, Locator, ScanError
from vigil.sources import SourceOptions, open_evidence
from vigil.sources.expand import Limits, child_item, expander_for
from vigil.sources.expand.budget import Budget, BudgetExceeded
from vigil.sources.expand.firefox_cache import kind_of
from vigil.sources.extraction import extraction_kind, items_for_unit
from vigil.sources.folder import item_for_file
from vigil.sources.image_read import open_image
from vigil.sources.sniff import HEAD_SIZE
from vigil.sources.spool import BACKEND_LOCK


@dataclass(frozen=True)
class RecordedTop:
    """A forensic image's top-level item as the case store recorded it: its exact path,
    size and locator, and whether the scan read VSS stores (locators count file
    systems so)."""

    path: str
    size: int | None
    locator: Locator
    vss: bool = False


def open_item(
    evidence: Path,
    item_path: str,
    top: RecordedTop | None = None,
    *,
    password_file: str | None = None,
) -> BinaryIO:
    """A read-only stream of the item ``item_path`` of the evidence at ``evidence``.

    With ``top``, the recorded top-level item of a forensic image that holds it, that
    item is opened directly from its locator; without it the image is walked until the
    item is found. ``password_file``: the password of an encrypted iOS backup (the
    scan's setting).

    Raises:
        EvidenceError: when the evidence or the item cannot be found or read.
    """
    return find_item(evidence, item_path, top, password_file=password_file).open()


def find_item(
    evidence: Path,
    item_path: str,
    top: RecordedTop | None = None,
    *,
    password_file: str | None = None,
) -> Item:
    """The ``Item`` recorded as ``item_path`` in ``evidence`` (see ``open_item``)."""
    evidence = Path(evidence)
    if top is not None:
        item = _located(evidence, top)
    else:
        item = _top_level(evidence, item_path, password_file)
    limits = Limits(max_depth=10**6, max_item_seconds=0)
    while item.path != item_path:
        item = _child_on_the_way(item, item_path, limits)
    return item


def _located(evidence: Path, top: RecordedTop) -> Item:
    try:
        with BACKEND_LOCK:
            reader, _notes = open_image(evidence, top.vss)
    except Exception as exc:  # noqa: BLE001 - any backend failure is an evidence error
        raise EvidenceError(f"cannot open image {evidence}: {exc}") from exc
    return Item(path=top.path, open=reader.opener(top.locator, top.size), size=top.size,
                locator=top.locator)


def _top_level(evidence: Path, item_path: str, password_file: str | None) -> Item:
    # A file name may itself contain "!" or "@": try the longest existing name first.
    cuts = [len(item_path)] + sorted(
        (i for i, ch in enumerate(item_path) if ch in (MEMBER_SEP, OFFSET_SEP)), reverse=True
    )
    extraction = extraction_kind(evidence)
    if extraction is not None:
        for cut in cuts:
            found = items_for_unit(extraction, evidence, (item_path[:cut],), password_file)
            if found:
                return found[0]
        raise EvidenceError(f"no item for {item_path!r} in {evidence}")
    if evidence.is_dir():
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
    """Walk ``item`` to the member on the way to ``item_path``; its bytes, in a temp file."""
    try:
        stream = item.open()
    except OSError as exc:
        raise EvidenceError(f"cannot read {item.path!r}: {exc}") from exc
    with stream:
        head = stream.read(HEAD_SIZE)
        expander = expander_for(kind_of(head, stream).mime, head=head)
        stream.seek(0)
        if expander is None:
            raise EvidenceError(f"{item.path!r} is not a container, cannot reach {item_path!r}")
        names: dict[str, int] = {}
        try:
            for found in expander(item, stream, Budget(item.path, limits, size=item.size)):
                if isinstance(found, ScanError):
                    continue
                child, _repeated = child_item(item, found, names)
                if child.path == item_path or item_path.startswith(
                    (child.path + MEMBER_SEP, child.path + OFFSET_SEP)
                ):
                    copy = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
                    shutil.copyfileobj(found.stream, copy, 1 << 20)
                    copy.seek(0)
                    return replace(child, open=lambda copy=copy: _Reread(copy))
        except (BudgetExceeded, OSError) as exc:
            raise EvidenceError(f"cannot read {item.path!r}: {exc}") from exc
    raise EvidenceError(f"no member on the way to {item_path!r} in {item.path!r}")


class _Reread(io.RawIOBase):
    """The temp file holding a member's bytes, from its start; closing it deletes it."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__()
        self._file = file
        file.seek(0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._file.readinto(buffer)  # type: ignore[attr-defined]

    def close(self) -> None:
        self._file.close()
        super().close()
