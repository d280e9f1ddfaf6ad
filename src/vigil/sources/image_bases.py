"""The file systems of a forensic image, as dfvfs base path specs, found the same way
in every process that opens the image.

``file_system_bases`` runs the dfvfs volume scanner (every partition and volume, VSS
stores on request). When that fails on the whole image (a partition past the end, a
truncated image) or finds no file system although the image has a partition table (a
GPT whose primary header is damaged), the table is read directly and each partition is
scanned on its own, cut to the bytes the image holds. The order of the bases is what
``Locator.base`` counts in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dfvfs.analyzer import analyzer
from dfvfs.helpers import source_scanner, volume_scanner
from dfvfs.lib import definitions
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.path import factory as path_spec_factory
from dfvfs.resolver import resolver

from vigil.model import ScanError
from vigil.sources import partitions


def file_system_bases(path: Path, vss: bool) -> tuple[list[Any], list[ScanError]]:
    """Base path specs of the image's volumes and file systems, and what could not be opened.

    Call with ``spool.BACKEND_LOCK`` held.

    Args:
        path: The image (first segment of a split image).
        vss: Also list each VSS store.

    Returns:
        The bases in scanner order (``OS`` bases are volumes without a file system) and
        records of partitions or volumes that could not be read.
    """
    return _scan(Path(path), vss)


def _scan_options(vss: bool) -> Any:
    options = volume_scanner.VolumeScannerOptions()
    options.partitions = ["all"]
    options.volumes = ["all"]
    options.snapshots = ["all"] if vss else ["none"]
    options.credentials = []
    return options


def _scan(path: Path, vss: bool) -> tuple[list[Any], list[ScanError]]:
    """Base path specs of every file system, and records of what could not be opened.

    When the volume scanner fails on the whole image (a partition past the end, a
    truncated image) or finds no file system although the image has a partition table
    (a GPT whose primary header is damaged), the table is read directly and each
    partition is scanned on its own for a file system (no nested volumes), cut to the
    bytes the image holds.
    """
    options = _scan_options(vss)
    try:
        scanner = volume_scanner.VolumeScanner()
        bases = list(scanner.GetBasePathSpecs(str(path), options=options))
    except Exception as exc:  # noqa: BLE001 - libyal raises OSError/RuntimeError too
        note = ScanError(path.name, "open", f"volume scan failed ({exc}); reading the"
                         " partition table directly")
        return _scan_by_table(path, [note])
    if any(b.type_indicator != definitions.TYPE_INDICATOR_OS for b in bases):
        return bases, []
    fallback, notes = _scan_by_table(path, [], need_table=True)
    return (fallback, notes) if fallback else (bases, [])


def _scan_by_table(
    path: Path, notes: list[ScanError], need_table: bool = False
) -> tuple[list[Any], list[ScanError]]:
    source = path_spec_factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_OS,
                                                   location=str(path))
    media = source
    kinds = analyzer.Analyzer.GetStorageMediaImageTypeIndicators(source)
    if len(kinds) == 1:
        media = path_spec_factory.Factory.NewPathSpec(kinds[0], parent=source)
    file_object = resolver.Resolver.OpenFileObject(media)
    size = int(file_object.get_size())
    readable = _readable_size(file_object, size)
    if readable < size:
        notes.append(ScanError(path.name, "open", f"media readable up to byte {readable} of"
                               f" {size} (image truncated or damaged)"))

    def read(offset: int, length: int) -> bytes:
        if offset >= readable:
            return b""
        file_object.seek(offset)
        return file_object.read(min(length, readable - offset))

    if readable == 0:
        return [], notes
    table, table_notes = partitions.read_table(read, size)
    notes += [ScanError(path.name, "open", note) for note in table_notes]
    if not table:
        if need_table:
            return [], []
        table = [partitions.Partition("", 0, readable)]
    bases: list[Any] = []
    for part in table:
        where = part.name or path.name
        end = min(part.offset + part.size, readable)
        if part.offset >= readable:
            notes.append(ScanError(where, "open", f"partition starts at byte {part.offset},"
                                   f" past the readable end ({readable}): nothing to read"))
            continue
        if end < part.offset + part.size:
            notes.append(ScanError(where, "open", f"partition runs {part.offset + part.size - end}"
                                   " bytes past the readable end: read up to the end"))
        # dfvfs refuses range_offset=0 (a falsy check), so the offset is set afterwards.
        spec = path_spec_factory.Factory.NewPathSpec(
            definitions.TYPE_INDICATOR_DATA_RANGE, range_offset=1,
            range_size=end - part.offset, parent=media)
        spec.range_offset = part.offset
        spec.vigil_volume = part.name  # read by volume_prefix
        reason = "no file system found in the partition"
        try:
            base = source_scanner.SourceScanner().ScanForFileSystem(spec)
        except dfvfs_errors.Error as exc:
            base, reason = None, f"no file system readable: {exc}"
        if base is None:
            notes.append(ScanError(where, "open", reason))
        else:
            bases.append(base)
    return bases, notes


def _readable_size(file_object: Any, size: int, block: int = 32 * 1024) -> int:
    """Bytes readable from the start (a truncated E01 opens but fails past its last chunk)."""

    def ok(index: int) -> bool:
        try:
            file_object.seek(index * block)
            return bool(file_object.read(1))
        except Exception:  # noqa: BLE001 - a read failure is the answer
            return False

    blocks = -(-size // block)
    if blocks == 0 or ok(blocks - 1):
        return size
    low, high = 0, blocks - 1  # block ``high`` fails; find the first failing block
    if not ok(0):
        return 0
    while high - low > 1:
        mid = (low + high) // 2
        if ok(mid):
            low = mid
        else:
            high = mid
    return high * block

