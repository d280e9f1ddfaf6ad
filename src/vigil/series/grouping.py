"""Form series from pictures: pure functions, one per kind of shared fact.

Every kind gives series of at least two pictures; a picture may be in several series
(one per kind at most, except folders: a content found in two folders is in both).

* ``near-duplicate``: PDQ within ``max_distance`` of another member (single linkage,
  exact range search over the case's own hashes with ``matching.pdq_index``).
* ``camera``: same make, model and body serial (a body serial is required: make and
  model alone are millions of cameras).
* ``lens``: same lens make, model and serial (a lens moves between bodies).
* ``burst``: same make, model and body serial (any of them may be absent, alike), and
  taken within ``burst_gap`` seconds of the previous member by the camera's clock.
* ``place``: GPS positions within ``place_radius`` metres of another member (single
  linkage on the sphere).
* ``folder``: found in the same folder (or container, or document) of one exhibit.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from vigil.matching.pdq_index import PdqIndex, hex_to_codes
from vigil.series.pictures import Picture

EARTH_RADIUS_M = 6_371_008.8
KINDS = ("near-duplicate", "camera", "lens", "burst", "place", "folder")


@dataclass(frozen=True)
class SeriesSettings:
    """What counts as shared: PDQ distance, burst gap (seconds), place radius (metres)."""

    max_distance: int = 31
    burst_gap: float = 10.0
    place_radius: float = 100.0


@dataclass(frozen=True)
class Series:
    """A group of unknown pictures and the facts they share.

    ``id`` is stable for the same facts (kind plus what defines the group), so the
    review app and the report name the same series the same way.
    """

    id: str
    kind: str
    facts: dict[str, Any]
    members: tuple[int, ...]


def _series(kind: str, key: Any, facts: dict[str, Any], members: Iterable[int]) -> Series:
    text = json.dumps([kind, key], sort_keys=True, ensure_ascii=True)
    digest = hashlib.sha256(text.encode("ascii")).hexdigest()[:16]
    return Series(f"{kind}-{digest}", kind, facts, tuple(sorted(set(members))))


class _Union:
    """Union-find over 0..n-1 (path halving)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def root(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        found: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.parent)):
            found[self.root(i)].append(i)
        return [g for g in found.values() if len(g) > 1]


def near_duplicates(pictures: Sequence[Picture], max_distance: int) -> list[Series]:
    """Single-linkage clusters of pictures whose PDQ hashes are within ``max_distance``."""
    hashed = [p for p in pictures if p.pdq]
    if len(hashed) < 2:
        return []
    codes = hex_to_codes([p.pdq for p in hashed])  # type: ignore[misc]
    index = PdqIndex.from_arrays(np.arange(len(hashed), dtype=np.int64), codes)
    queries, rows, distances = index.search_codes(codes, max_distance)
    union = _Union(len(hashed))
    ids = index.ids
    pairs = [
        (q, row, d)
        for q, row, d in zip(queries.tolist(), ids[rows].tolist(), distances.tolist(), strict=True)
        if q < row
    ]
    for q, row, _d in pairs:
        union.join(q, row)
    widest: dict[int, int] = defaultdict(int)
    for q, _row, d in pairs:
        root = union.root(q)
        widest[root] = max(widest[root], d)
    out = []
    for group in union.groups():
        first = min(hashed[i].sha256 for i in group)
        out.append(
            _series(
                "near-duplicate",
                first,
                {"max_distance": max_distance, "widest_link": widest[union.root(group[0])]},
                (hashed[i].content_id for i in group),
            )
        )
    return out


def _by_key(
    pictures: Sequence[Picture],
    kind: str,
    key: Callable[[Picture], tuple[str | None, ...] | None],
    names: tuple[str, ...],
) -> list[Series]:
    groups: dict[tuple[str | None, ...], list[int]] = defaultdict(list)
    for p in pictures:
        k = key(p)
        if k is not None:
            groups[k].append(p.content_id)
    return [
        _series(kind, list(k), dict(zip(names, k, strict=True)), ids)
        for k, ids in groups.items()
        if len(ids) > 1
    ]


def cameras(pictures: Sequence[Picture]) -> list[Series]:
    """Pictures with the same make, model and body serial (serial required)."""
    return _by_key(
        pictures,
        "camera",
        lambda p: (p.camera.make, p.camera.model, p.camera.body_serial)
        if p.camera.body_serial
        else None,
        ("make", "model", "body_serial"),
    )


def lenses(pictures: Sequence[Picture]) -> list[Series]:
    """Pictures with the same lens make, model and serial (serial required)."""
    return _by_key(
        pictures,
        "lens",
        lambda p: (p.camera.lens_make, p.camera.lens_model, p.camera.lens_serial)
        if p.camera.lens_serial
        else None,
        ("lens_make", "lens_model", "lens_serial"),
    )


def _seconds(taken: str) -> float | None:
    try:
        return datetime.fromisoformat(taken).timestamp()
    except ValueError:
        return None


def bursts(pictures: Sequence[Picture], gap: float) -> list[Series]:
    """Runs of pictures from one camera taken at most ``gap`` seconds apart."""
    timelines: dict[tuple[str | None, ...], list[tuple[float, str, int]]] = defaultdict(list)
    for p in pictures:
        c = p.camera
        when = _seconds(c.taken) if c.taken else None
        if when is not None:
            timelines[(c.make, c.model, c.body_serial)].append((when, c.taken, p.content_id))
    out = []
    for camera, shots in timelines.items():
        shots.sort()
        run = [shots[0]]
        for shot in [*shots[1:], None]:
            if shot is not None and shot[0] - run[-1][0] <= gap:
                run.append(shot)
                continue
            if len({cid for _t, _s, cid in run}) > 1:
                widest = max((b[0] - a[0] for a, b in zip(run, run[1:], strict=False)), default=0)
                facts = dict(zip(("make", "model", "body_serial"), camera, strict=True))
                facts.update(first=run[0][1], last=run[-1][1], widest_gap=widest, gap=gap)
                out.append(_series("burst", [list(camera), run[0][1]], facts,
                                   (cid for _t, _s, cid in run)))
            if shot is not None:
                run = [shot]
    return out


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    la, lo = math.radians(lat), math.radians(lon)
    return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (latitude, longitude) positions."""
    ua, ub = _unit(*a), _unit(*b)
    chord = math.dist(ua, ub)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, chord / 2))


def places(pictures: Sequence[Picture], radius: float) -> list[Series]:
    """Single-linkage groups of pictures taken within ``radius`` metres of each other.

    Positions are points on the unit sphere, bucketed in a 3-D grid whose cell is the
    chord of ``radius``: a neighbour can only be in one of the 27 cells around.
    """
    located = [p for p in pictures if p.camera.latitude is not None
               and p.camera.longitude is not None]
    if len(located) < 2:
        return []
    chord = 2 * math.sin(min(math.pi / 2, radius / (2 * EARTH_RADIUS_M)))
    points = [_unit(p.camera.latitude, p.camera.longitude) for p in located]  # type: ignore[arg-type]
    cells: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for i, pt in enumerate(points):
        cells[tuple(math.floor(v / chord) for v in pt)].append(i)  # type: ignore[index]
    union = _Union(len(located))
    for (x, y, z), members in cells.items():
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dz in (-1, 0, 1):
                    for j in cells.get((x + dx, y + dy, z + dz), ()):
                        for i in members:
                            if i < j and math.dist(points[i], points[j]) <= chord:
                                union.join(i, j)
    out = []
    for group in union.groups():
        lat = round(sum(located[i].camera.latitude for i in group) / len(group), 6)  # type: ignore[misc]
        lon = round(sum(located[i].camera.longitude for i in group) / len(group), 6)  # type: ignore[misc]
        spread = max(
            distance_m((lat, lon), (located[i].camera.latitude, located[i].camera.longitude))  # type: ignore[arg-type]
            for i in group
        )
        first = min(located[i].sha256 for i in group)
        facts = {"latitude": lat, "longitude": lon, "spread_m": round(spread, 1),
                 "radius_m": radius}
        out.append(_series("place", first, facts, (located[i].content_id for i in group)))
    return out


def folder_of(path: str) -> str:
    """The folder, container or document an item was found in (its path up to the last
    ``/``, ``!`` or ``@``; empty at the root)."""
    cut = max(path.rfind("/"), path.rfind("!"), path.rfind("@"))
    return path[:cut] if cut > 0 else ""


def folders(pictures: Sequence[Picture]) -> list[Series]:
    """Pictures found in the same folder of the same exhibit."""
    groups: dict[tuple[str, str], set[int]] = defaultdict(set)
    for p in pictures:
        for exhibit, path in p.places:
            groups[(exhibit, folder_of(path))].add(p.content_id)
    return [
        _series("folder", list(key), {"exhibit": key[0], "folder": key[1]}, ids)
        for key, ids in groups.items()
        if len(ids) > 1
    ]


def form_series(pictures: Sequence[Picture], settings: SeriesSettings) -> list[Series]:
    """Every series of the pictures: by kind (``KINDS`` order), largest first, then by
    members (content ids)."""
    found = [
        *near_duplicates(pictures, settings.max_distance),
        *cameras(pictures),
        *lenses(pictures),
        *bursts(pictures, settings.burst_gap),
        *places(pictures, settings.place_radius),
        *folders(pictures),
    ]
    return sorted(found, key=lambda s: (KINDS.index(s.kind), -len(s.members), s.members, s.id))
