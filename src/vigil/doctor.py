"""``vigil doctor``: which backends and tools this installation has, loudly.

A missing backend never switches a feature off silently: this check names it, says
what it is needed for, and fails.
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class Check:
    """One backend or tool: what it is for and whether it is here."""

    name: str
    needed_for: str
    found: bool
    version: str | None
    required: bool = True


# (import name, distribution, needed for)
MODULES = (
    ("dfvfs", "dfvfs", "forensic images (E01, VHD, VMDK, QCOW, partitions, file systems)"),
    ("pytsk3", "pytsk3", "deleted entries and carving"),
    ("pyewf", "libewf-python", "EnCase E01 images and vigil verify"),
    ("libarchive", "libarchive-c", "archives: zip, 7z, RAR, tar, cpio, cab, compressed streams"),
    ("PIL", "pillow", "decoding pictures"),
    ("pillow_heif", "pillow-heif", "HEIC/HEIF pictures"),
    ("pdqhash", "pdqhash", "PDQ reference mode"),
    ("av", "av", "videos"),
    ("numpy", "numpy", "PDQ fast mode and the PDQ index"),
    ("sqlalchemy", "sqlalchemy", "the case store"),
    ("psycopg", "psycopg", "a PostgreSQL case store"),
    ("distributed", "distributed", "scans on a Dask cluster"),
    ("weasyprint", "weasyprint", "PDF reports"),
    ("onnxruntime", "onnxruntime", "vigil classify (an agency's ONNX model)"),
)
# (command, Debian package, needed for, required)
TOOLS = (
    ("bsdtar", "libarchive-tools", "the archive tests' and benchmarks' peer", False),
    ("ewfverify", "ewf-tools", "the E01 benchmark peer", False),
    ("hashdeep", "hashdeep", "the hashing benchmark peer", False),
    ("chromium", "chromium", "the review app's browser tests", False),
)


def run_checks() -> list[Check]:
    """Check every backend module and external tool."""
    found = []
    for module, dist, purpose in MODULES:
        try:
            importlib.import_module(module)
            ok = True
        except Exception:  # noqa: BLE001 - any import failure means "not usable"
            ok = False
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = None
        found.append(Check(dist, purpose, ok, version))
    for command, package, purpose, required in TOOLS:
        path = shutil.which(command)
        found.append(Check(f"{command} ({package})", purpose, path is not None, path, required))
    return found
