"""Evidence sources: open the evidence, yield Items with provenance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vigil.errors import EvidenceError
from vigil.model import Item, ScanError

if TYPE_CHECKING:
    from vigil.sources.verify import MediaCheck


@dataclass(frozen=True)
class SourceOptions:
    """What the examiner asked a source to do beyond listing live files.

    ``media`` is the result of ``verify.check_media`` on an EWF image, when the scan
    ran the integrity pass: items over chunks that failed their checksum get records.
    ``password_file`` holds the password of an encrypted iOS backup.
    """

    vss: bool = False
    carve: bool = False
    media: MediaCheck | None = None
    password_file: str | None = None


def evidence_kind(path: Path) -> str:
    """``folder``, ``image`` (dfvfs finds a file system in it) or ``file`` (a loose file),
    or a phone extraction / cloud return (``sources/extraction.py``: ``ufdr``,
    ``ios_backup``, ``android_fs``, ``takeout``, ``icloud``), recognised from its content.

    Raises:
        EvidenceError: when there is nothing readable at ``path``.
    """
    path = Path(path)
    if path.is_dir() or path.is_file():
        from vigil.sources.extraction import extraction_kind

        extraction = extraction_kind(path)
        if extraction is not None:
            return extraction
    if path.is_dir():
        return "folder"
    if path.is_file():
        from vigil.sources.image import holds_file_system
        from vigil.sources.verify import is_ewf

        # An E01 is an image even when nothing in it can be read: its records say why.
        return "image" if is_ewf(path) or holds_file_system(path) else "file"
    raise EvidenceError(f"evidence not found or not readable: {path}")


def open_evidence(
    path: Path, options: SourceOptions | None = None, kind: str | None = None
) -> Iterator[Item | ScanError]:
    """Yield the items of the evidence at ``path``: a folder, a forensic image or one file."""
    options = options or SourceOptions()
    path = Path(path)
    kind = kind or evidence_kind(path)
    if kind == "folder":
        from vigil.sources.folder import iter_folder

        return iter_folder(path)
    if kind == "file":
        from vigil.sources.folder import item_for_file

        return iter([item_for_file(path.parent, path.name)])
    from vigil.sources.extraction import KINDS, iter_extraction

    if kind in KINDS:
        return iter_extraction(kind, path, options.password_file)
    from vigil.sources.image import iter_image

    return iter_image(path, vss=options.vss, carve=options.carve, media=options.media)
