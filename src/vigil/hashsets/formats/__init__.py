"""Registry of hash-set format readers and ``--format auto`` detection.

Every reader module defines ``NAME``, ``HAS_CATEGORIES``, ``sniff(head, path)`` and
``read(path)``; it may define ``header(path)`` and ``KNOWN_GOOD``. Registration order
is detection order: specific formats (binary magic, fixed headers) come before the
generic line formats, and ``plain`` is always last.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from vigil.errors import HashSetFormatError
from vigil.hashsets.formats import (
    encase,
    hashdeep,
    md5sum,
    nsrl_v2,
    nsrl_v3,
    pdq,
    plain,
    vics,
    vpdq,
    xways,
)

SNIFF_BYTES = 64 * 1024

FORMATS: dict[str, ModuleType] = {}


def register(module: ModuleType) -> None:
    """Add a reader module to the registry (detection tries it after those before it).

    Args:
        module: A module with ``NAME``, ``sniff`` and ``read``.

    Raises:
        ValueError: If a reader of the same name is already registered.
    """
    name = module.NAME
    if name in FORMATS:
        raise ValueError(f"hash-set format {name!r} is registered twice")
    FORMATS[name] = module


for _module in (encase, nsrl_v3, vics, nsrl_v2, hashdeep, xways, vpdq, md5sum, pdq, plain):
    register(_module)


def get(name: str) -> ModuleType:
    """Return the reader module registered under ``name``.

    Args:
        name: A format name such as ``vics``.

    Returns:
        The reader module.

    Raises:
        HashSetFormatError: If no reader has that name.
    """
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise HashSetFormatError(f"unknown hash-set format {name!r} (known: {known})") from None


# A family name the user may give for several readers; detection picks the member.
FAMILIES: dict[str, tuple[str, ...]] = {"nsrl": ("nsrl_v3", "nsrl_v2")}


def detect(path: Path, among: tuple[str, ...] | None = None) -> str:
    """Name the format of a hash-set file by asking each reader in registration order.

    Args:
        path: The hash-set file.
        among: Only these readers (a family such as NSRL v3/v2); default every reader.

    Returns:
        The name of the first reader whose ``sniff`` accepts the file.

    Raises:
        HashSetFormatError: If the file cannot be read or no reader accepts it.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise HashSetFormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    for name, module in FORMATS.items():
        if (among is None or name in among) and module.sniff(head, path):
            return name
    if among is not None:
        raise HashSetFormatError(f"{path}: not any of {', '.join(among)}")
    known = ", ".join(FORMATS)
    raise HashSetFormatError(f"{path}: format not recognised; name it with --format ({known})")
