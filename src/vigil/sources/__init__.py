"""Evidence sources: open the evidence, yield Items with provenance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import EvidenceError
from vigil.model import Item, ScanError


@dataclass(frozen=True)
class SourceOptions:
    """What the examiner asked a source to do beyond listing live files."""

    vss: bool = False
    carve: bool = False


def open_evidence(path: Path, options: SourceOptions | None = None) -> Iterator[Item | ScanError]:
    """Yield the items of the evidence at ``path``: a folder or a forensic image."""
    options = options or SourceOptions()
    path = Path(path)
    if path.is_dir():
        from vigil.sources.folder import iter_folder

        return iter_folder(path)
    if path.is_file():
        from vigil.sources.image import iter_image

        return iter_image(path, vss=options.vss, carve=options.carve)
    raise EvidenceError(f"evidence not found or not readable: {path}")
