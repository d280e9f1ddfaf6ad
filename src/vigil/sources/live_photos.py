"""Live Photos: a still (HEIC/JPEG) and its short video (MOV) stored side by side.

A phone stores a Live Photo as two files of one folder with the same name and different
extensions (``IMG_0010.HEIC`` and ``IMG_0010.MOV``); both are scanned as items of their
own and each names the other as ``linked``. A name with more than one still or more than
one video is not paired (nothing says which belongs to which).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import replace

from vigil.model import Item, ScanError

STILLS = (".heic", ".heif", ".jpg", ".jpeg")
VIDEOS = (".mov",)


def pairs(paths: Iterable[str]) -> dict[str, str]:
    """``{path: its partner}`` for every Live Photo still and video among ``paths``."""
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for path in paths:
        stem, ext = posixpath.splitext(path)
        ext = ext.lower()
        if ext in STILLS or ext in VIDEOS:
            stills, videos = groups.setdefault(stem.lower(), ([], []))
            (stills if ext in STILLS else videos).append(path)
    linked: dict[str, str] = {}
    for stills, videos in groups.values():
        if len(stills) == 1 and len(videos) == 1:
            linked[stills[0]] = videos[0]
            linked[videos[0]] = stills[0]
    return linked


def link(entries: list[Item | ScanError]) -> list[Item | ScanError]:
    """``entries`` with each Live Photo still and video naming its partner."""
    linked = pairs(e.path for e in entries if isinstance(e, Item))
    if not linked:
        return entries
    return [
        replace(e, linked=linked[e.path]) if isinstance(e, Item) and e.path in linked else e
        for e in entries
    ]
