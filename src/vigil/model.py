"""The plain value types that cross stage boundaries.

Sources yield ``Item``s, hashing turns an item's bytes into ``Hashes``, matching turns
hashes into ``Match``es, and any stage may produce a ``ScanError`` instead of raising.
None of these hold evidence bytes or backend handles except ``Item.open``, a callable
that opens the bytes on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Literal

Media = Literal["image", "video", "other"]
Basis = Literal["exact", "perceptual"]

# Separators in a provenance path: "/" inside a file system, "!" into a container
# member, "@" for data found at a byte offset (embedded or carved), ":" for an NTFS
# alternate data stream.
MEMBER_SEP = "!"
OFFSET_SEP = "@"
STREAM_SEP = ":"


@dataclass(frozen=True)
class Locator:
    """Where a forensic image's item lies, in terms any process can open again.

    The coordinator of a scan lists an image once; a worker opens each item of its unit
    from its locator (``sources/image_read.py``), never walking the file system again.

    ``base`` is the file system's position among the image's file systems as the volume
    scanner returns them (the same order in every process). ``how`` says how to read:

    - ``entry``: a dfvfs file entry; ``spec`` holds its path-spec attributes (location,
      MFT entry or inode ...) and ``stream`` its data stream (``""`` the default one).
    - ``inode``: a Sleuth Kit metadata address ``key`` (deleted files, files only TSK lists).
    - ``tsk-path``: a Sleuth Kit path ``key`` (a FAT file whose chain libfsfat misreads).
    - ``runs``: the byte ``runs`` of the file system's volume, in order (carved pictures,
      FAT chains read cluster by cluster).
    - ``layer-runs``: byte ``runs`` of the image layer number ``base`` (space outside
      any partition).
    - ``recovered-inode``: metadata address ``key`` in partition ``base`` of an E01 read
      without its chunk table.
    """

    how: str
    base: int
    key: str | int | None = None
    spec: tuple[tuple[str, str | int], ...] = ()
    stream: str = ""
    runs: tuple[tuple[int, int], ...] = ()


def locator_text(locator: Locator) -> str:
    """``locator`` as compact JSON (how the case store keeps it)."""
    import json

    return json.dumps([locator.how, locator.base, locator.key, locator.spec, locator.stream,
                       locator.runs], separators=(",", ":"))


def locator_from_text(text: str) -> Locator:
    """The ``Locator`` that ``locator_text`` wrote."""
    import json

    how, base, key, spec, stream, runs = json.loads(text)
    return Locator(how, base, key, tuple((k, v) for k, v in spec), stream,
                   tuple((o, n) for o, n in runs))


@dataclass(frozen=True)
class Item:
    """One thing found in the evidence.

    ``path`` is the provenance path inside the exhibit, unique within it, e.g.
    ``p1/NTFS/Users/a/x.zip!inner/y.jpg``; it is the key used for resume and reports.
    """

    path: str
    open: Callable[[], BinaryIO] = field(compare=False, repr=False)
    size: int | None = None
    created: datetime | None = None
    modified: datetime | None = None
    accessed: datetime | None = None
    changed: datetime | None = None
    allocated: bool = True
    deleted: bool = False
    carved: bool = False
    embedded: bool = False
    in_archive: bool = False
    encrypted: bool = False
    inode: str | None = None
    offset: int | None = None
    parent: str | None = None
    depth: int = 0
    # Phone extractions: the app the extraction's report attributes the file to, and the
    # path of the item paired with it (a Live Photo's still and its video).
    app: str | None = None
    linked: str | None = None
    locator: Locator | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FrameHash:
    """PDQ of one sampled video frame."""

    timestamp: float
    pdq: str
    quality: int


@dataclass(frozen=True)
class ExifFacts:
    """The EXIF values used for series and victim identification; None where absent.

    ``date_taken`` is the camera's own text (``2023:06:01 12:34:56``, local time of the
    camera, no zone); positions are decimal degrees (south and west negative).
    """

    make: str | None = None
    model: str | None = None
    serial: str | None = None
    date_taken: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    lens_make: str | None = None
    lens_model: str | None = None
    lens_serial: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in self.__dict__.values())


@dataclass(frozen=True)
class Hashes:
    """Everything vigil computes from one content's bytes."""

    size: int
    md5: str
    sha1: str
    sha256: str
    mime: str = "application/octet-stream"
    media: Media = "other"
    pdq: str | None = None
    pdq_quality: int | None = None
    partial: bool = False
    frames: tuple[FrameHash, ...] = ()
    # Query variants of the picture's PDQ (rotations, mirrors, EXIF-oriented, trimmed).
    pdq_variants: dict[str, str] = field(default_factory=dict, compare=False)
    # Blurred greyscale JPEG keyframes of a video, for the review app: (seconds, bytes).
    thumbnails: tuple[tuple[float, bytes], ...] = field(default=(), compare=False)
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    # Camera facts read from the picture's EXIF while it was decoded (None: none found).
    exif: ExifFacts | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Match:
    """One hit of a content against one hash-set entry."""

    hashset: str
    entry_id: int
    grade: str | None
    basis: Basis
    algorithm: str
    known_good: bool = False
    distance: int | None = None
    variant: str | None = None
    timestamp: float | None = None


@dataclass(frozen=True)
class ScanError:
    """A failure on one item or one record: where, at which stage, and why."""

    location: str
    stage: str
    reason: str
