"""Property lists (binary and XML): Safari ``.webarchive`` files and app data.

Read with Python's ``plistlib``. A web archive yields each resource's bytes, named by
its URL: ``page.webarchive!https://example.org/a.jpg`` (the main resource, the
subresources, then those of subframes). Any other property list yields every data
value that is a picture, a video or a container, named by its key path:
``Settings.plist!avatars/0/image``. A list plistlib cannot read gets a record.
"""

from __future__ import annotations

import io
import plistlib
from collections.abc import Iterator
from typing import Any

from vigil.model import Item, ScanError
from vigil.sources.expand import Member, register
from vigil.sources.expand.whole import in_memory
from vigil.sources.sniff import HEAD_SIZE, OTHER, sniff

STAGE = "expand.plist"
MIMES = ("application/x-bplist", "application/x-plist")
_MAX_DEPTH = 64


@in_memory(STAGE)
def expand_plist(item: Item, data: bytes) -> Iterator[Member | ScanError]:
    """Yield the resources of a web archive, or the picture data values of any plist."""
    try:
        root = plistlib.loads(data)
    except Exception as exc:  # noqa: BLE001 - plistlib raises several types for bad input
        yield ScanError(item.path, STAGE, f"not a readable property list: {exc}")
        return
    if isinstance(root, dict) and "WebMainResource" in root:
        for url, body in _web_resources(root, 0):
            yield _member(url, body)
        return
    for path, value in _data_values(root, "", 0):
        if sniff(value[:HEAD_SIZE]) != OTHER:
            yield _member(path, value)


def _member(name: str, body: bytes) -> Member:
    return Member(name=name, stream=io.BytesIO(body), size=len(body), embedded=True,
                  in_archive=False)


def _web_resources(archive: dict[str, Any], depth: int) -> Iterator[tuple[str, bytes]]:
    resources = [archive.get("WebMainResource")] + list(archive.get("WebSubresources") or [])
    for number, resource in enumerate(resources):
        if isinstance(resource, dict) and isinstance(resource.get("WebResourceData"), bytes):
            url = str(resource.get("WebResourceURL") or f"resource[{number}]")
            yield url, resource["WebResourceData"]
    if depth < _MAX_DEPTH:
        for frame in archive.get("WebSubframeArchives") or []:
            if isinstance(frame, dict):
                yield from _web_resources(frame, depth + 1)


def _data_values(value: Any, path: str, depth: int) -> Iterator[tuple[str, bytes]]:
    if isinstance(value, bytes):
        yield path or "data", value
    elif depth >= _MAX_DEPTH:
        return
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _data_values(inner, f"{path}/{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _data_values(inner, f"{path}/{index}" if path else str(index), depth + 1)


register(MIMES, expand_plist)
