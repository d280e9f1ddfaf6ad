"""The lab bank's region index: find known pictures in crops, turns, letterboxed and
inset copies by their keypoints, then verify each candidate geometrically and by PDQ.

Build: ``RegionIndex.add(entry_id, region_signature(pixels))`` for each known picture,
then ``save(folder)``; ``RegionIndex.load(folder)`` maps the arrays back (read-only
memory maps, so scan workers share the pages). Query: ``index.query(pixels)``. A few
more pictures for a saved index: ``add`` them and ``append(folder)`` (a delta segment
beside the main one, no rebuild; see "Segments").

How a query runs (sizes for a bank of 100,000 pictures, 256 keypoints each):

1. Candidates by descriptor: each of the layout's tables keys every bank descriptor by
   some of its 256 bits, sorted; a query descriptor looks up the bank descriptors sharing
   that key in each table (a binary search), and those within ``DESCRIPTOR_DISTANCE``
   bits are its neighbours. A true correspondence differs in ~10-40 bits of 256, so it
   shares at least one of the keys with high probability; a random one rarely. A key
   shared by more than ``MAX_BUCKET`` bank descriptors is skipped (flat or striped areas).
2. Votes: the bank pictures owning neighbours of at least ``MIN_VOTES`` different query
   keypoints, the ``CANDIDATES`` with most votes.
3. Geometry: RANSAC fits a similarity transform (shift, scale, turn) from the query's
   keypoints to the candidate's; at least ``MIN_INLIERS`` must agree.
4. PDQ: the query turned back onto the candidate's frame by that transform; its centre
   window must be within ``CENTRE_DISTANCE`` PDQ bits of the stored centre.

A match needs all four, so a picture that only shares some texture with a known one
(a few keypoints agree) is not matched.

Selectivity follows the bank's size (``Layout.for_size``): up to
``REFERENCE_DESCRIPTORS`` descriptors (about 18,000 pictures) the tables are
``TABLES`` keys of ``KEY_BITS`` bits; each doubling beyond adds one bit to every key
(a bucket holds about as many random descriptors as at the reference size, so the
bucket limit keeps its meaning) and ``EXTRA_TABLES`` tables (a longer key is shared by
fewer true correspondences). The layout is chosen when the index is built and saved
with it.

Segments: a saved index is its main segment (the folder's own files) and up to
``MAX_DELTAS`` delta segments (``delta-NNNNNN/``), listed in ``layout.json``. A query
searches them all as one bank (a bucket's size is summed over the segments, so the
answer is the one a single rebuilt index gives). ``append`` writes the pending pictures
as a new delta; when there would be more deltas than ``MAX_DELTAS`` they are merged into
one, and when the deltas outgrow the main segment, or the bank's size calls for another
layout, the whole index is rebuilt.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vigil.hashing.regions import (
    DESCRIPTOR_BYTES,
    QUERY_FEATURES,
    WARP_REDUCTION,
    RegionSignature,
    centre_bits,
    keypoints,
    reduce,
    reduced_size,
    scaled_grey,
)

TABLES = 8
KEY_BITS = 20
REFERENCE_DESCRIPTORS = 1 << 22
EXTRA_TABLES = 1
MAX_BUCKET = 64
DESCRIPTOR_DISTANCE = 56
MIN_VOTES = 8
CANDIDATES = 8
MIN_INLIERS = 12
RANSAC_PIXELS = 5.0
CENTRE_DISTANCE = 40
SCALES = (0.2, 5.0)
MAX_DELTAS = 4
# Bit positions are part of the index format (changing them needs a rebuild): the first
# TABLES tables take disjoint KEY_BITS positions of one fixed permutation.
_ORDER = np.random.default_rng(17).permutation(256)

_ARRAYS = ("ids", "sizes", "centres", "starts", "points", "descriptors", "owners")
_TABLE_ARRAYS = ("orders", "fences")
# Fences index each table's sorted keys by their top F bits, F about log2 of the
# segment's descriptors: in a big segment every key has its fence (a bucket is then
# fences[key] .. fences[key + 1], one read, and the sorted keys are not kept), in a small
# one (a delta) the few keys between two fences are searched.
FENCE_BITS = 24
_LAYOUT = "layout.json"
_NO_KEYS = np.zeros((1, 1), np.uint32)


@dataclass(frozen=True)
class RegionMatch:
    """A known picture found in a query picture.

    Attributes:
        entry_id: the bank entry (a hash-set library entry id).
        inliers: keypoints that agree with the transform.
        centre_distance: PDQ distance of the turned-back centre window to the stored one.
        scale: how much larger the known picture is than its copy in the query.
        degrees: the copy's turn against the known picture (counter-clockwise).
    """

    entry_id: int
    inliers: int
    centre_distance: int
    scale: float
    degrees: float

    @property
    def variant(self) -> str:
        """How the match was made, for the report: ``keypoints N, scale S, turn D``."""
        return f"keypoints {self.inliers}, scale {self.scale:.2f}, turn {self.degrees:+.1f}"


@dataclass(frozen=True)
class Layout:
    """How the descriptor tables key a bank: ``tables`` tables of ``key_bits``-bit keys."""

    key_bits: int = KEY_BITS
    tables: int = TABLES

    @classmethod
    def for_size(cls, descriptors: int) -> Layout:
        """The layout for a bank of ``descriptors`` descriptors (see the module's text)."""
        extra = max(0, math.ceil(math.log2(max(descriptors, 1) / REFERENCE_DESCRIPTORS)))
        return cls(KEY_BITS + extra, TABLES + EXTRA_TABLES * extra)

    def positions(self) -> np.ndarray:
        """tables x key_bits descriptor bit positions (0-255, most significant bit of
        byte 0 first) that make each table's key, bit b of the key from column b."""
        return _positions(self.key_bits, self.tables)

    def keys(self, descriptors: np.ndarray) -> np.ndarray:
        """The keys of N descriptors in each table: tables x N uint32."""
        positions = self.positions()
        out = np.empty((self.tables, len(descriptors)), np.uint32)
        from vigil.matching.region_kernel import descriptor_keys  # numba: only when used
        descriptor_keys(
            np.ascontiguousarray(descriptors, np.uint8), positions // 8, 7 - positions % 8, out
        )
        return out


@functools.cache
def _positions(key_bits: int, tables: int) -> np.ndarray:
    if key_bits < KEY_BITS or key_bits > 32:
        raise ValueError(f"keys of {key_bits} bits: {KEY_BITS} to 32 only")
    rows = []
    for t in range(tables):
        if t < TABLES:
            base = _ORDER[t * KEY_BITS : (t + 1) * KEY_BITS]
        else:
            base = np.random.default_rng(17 + t).permutation(256)[:KEY_BITS]
        rest = np.setdiff1d(np.arange(256), base)
        extra = np.random.default_rng(1017 + t).permutation(rest)[: key_bits - KEY_BITS]
        rows.append(np.concatenate([base, extra]))
    positions = np.array(rows, np.int64)
    positions.flags.writeable = False
    return positions


@dataclass
class _Segment:
    """One part of the index: its pictures' arrays (``_ARRAYS``, ``owners`` counted from
    the segment's first picture) and tables (``keys``: each table's keys sorted,
    ``orders``: the descriptor rows in that order)."""

    arrays: dict[str, np.ndarray]

    @property
    def pictures(self) -> int:
        return len(self.arrays["ids"])

    @property
    def descriptors(self) -> int:
        return len(self.arrays["descriptors"])

    @classmethod
    def build(cls, parts: list[dict[str, np.ndarray]], layout: Layout) -> _Segment:
        """One segment of the pictures of ``parts`` (each ``_ARRAYS`` without owners),
        in that order, with its tables."""
        starts = [np.zeros(1, np.int64)]
        for part in parts:
            starts.append(starts[-1][-1] + np.asarray(part["starts"][1:], np.int64))
        arrays = {
            name: np.concatenate([np.asarray(part[name]) for part in parts])
            for name in ("ids", "sizes", "centres", "points", "descriptors")
        }
        arrays["starts"] = np.concatenate(starts)
        arrays["owners"] = np.repeat(
            np.arange(len(arrays["ids"]), dtype=np.int32), np.diff(arrays["starts"])
        )
        keys = layout.keys(arrays["descriptors"])
        orders = np.empty(keys.shape, np.int32)
        for t in range(layout.tables):  # one table at a time: bounded extra memory
            order = np.argsort(keys[t], kind="stable")
            orders[t] = order
            keys[t] = keys[t][order]
        arrays["orders"] = orders
        arrays["fences"] = _fences(keys, layout.key_bits)
        if arrays["fences"].shape[1] < (1 << layout.key_bits) + 1:
            arrays["keys"] = keys
        return cls(arrays)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        for name in (*_ARRAYS, *_TABLE_ARRAYS, "keys"):
            if name in self.arrays:
                np.save(folder / f"{name}.npy", self.arrays[name])

    @classmethod
    def load(cls, folder: Path) -> _Segment:
        def mapped(name: str) -> np.ndarray:
            # A plain ndarray over the mapped file: memmap's own indexing is slow.
            return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r"))

        arrays = {name: mapped(name) for name in _ARRAYS}
        if (folder / "fences.npy").exists():
            arrays.update({name: mapped(name) for name in _TABLE_ARRAYS})
            if (folder / "keys.npy").exists():
                arrays["keys"] = mapped("keys")
        else:  # written before layouts: one offset per 20-bit key, which are its fences
            arrays["orders"], arrays["fences"] = mapped("orders"), mapped("offsets")
        return cls(arrays)

    def buckets(self, keys: np.ndarray, layout_bits: int) -> tuple[np.ndarray, np.ndarray]:
        """(start, length) of each query key's bucket in each table (Q x T each)."""
        starts = np.empty((keys.shape[1], keys.shape[0]), np.int64)
        counts = np.empty_like(starts)
        fences = self.arrays["fences"]
        shift = layout_bits - (fences.shape[1] - 1).bit_length() + 1
        sorted_keys = self.arrays.get("keys", _NO_KEYS)  # not read when shift is 0
        from vigil.matching.region_kernel import bucket_spans  # numba: only when used
        bucket_spans(sorted_keys, fences, shift, keys, starts, counts)
        return starts, counts


def _fences(keys: np.ndarray, key_bits: int) -> np.ndarray:
    """Fences of sorted keys (T x N): per table, where keys with each value of their top
    F bits begin (F: about log2 N, at most ``FENCE_BITS``), and N at the end."""
    bits = min(key_bits, FENCE_BITS, max(1, keys.shape[1].bit_length()))
    tops = np.arange((1 << bits) + 1, dtype=np.uint64) << np.uint64(key_bits - bits)
    kind = np.int32 if keys.shape[1] < 2**31 else np.int64  # half the pages to touch
    return np.stack([np.searchsorted(row, tops, "left").astype(kind) for row in keys])


def _signed_part(signed: list[tuple[int, RegionSignature]]) -> dict[str, np.ndarray]:
    """``_ARRAYS`` (without owners) of signatures not yet in a segment."""
    counts = [len(s.descriptors) for _, s in signed]
    return {
        "ids": np.array([e for e, _ in signed], np.int64),
        "sizes": np.array([(s.width, s.height) for _, s in signed], np.int32).reshape(-1, 2),
        "centres": np.array([np.packbits(s.centre) for _, s in signed], np.uint8)
        .reshape(-1, 32),
        "starts": np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]),
        "points": np.concatenate([np.zeros((0, 2)), *[s.points for _, s in signed]])
        .astype(np.float32),
        "descriptors": np.concatenate(
            [np.zeros((0, DESCRIPTOR_BYTES), np.uint8), *[s.descriptors for _, s in signed]]
        ).astype(np.uint8).reshape(-1, DESCRIPTOR_BYTES),
    }  # fmt: skip


class RegionIndex:
    """Region signatures of known pictures and their descriptor tables."""

    def __init__(self) -> None:
        self._pending: list[tuple[int, RegionSignature]] = []
        self._segments: list[_Segment] = []
        self._deltas: list[str] = []  # folder names of segments 1.. when loaded/appended
        self.layout = Layout()
        self._joined()

    def __len__(self) -> int:
        return sum(s.pictures for s in self._segments) + len(self._pending)

    @property
    def descriptor_count(self) -> int:
        """How many keypoint descriptors the index holds (pending ones included)."""
        pending = sum(len(s.descriptors) for _, s in self._pending)
        return sum(s.descriptors for s in self._segments) + pending

    @property
    def segment_count(self) -> int:
        """How many segments the index has (1 after ``save``, more after ``append``)."""
        return len(self._segments)

    def add(self, entry_id: int, signature: RegionSignature) -> None:
        """Add one known picture (its signature from ``region_signature``)."""
        self._pending.append((entry_id, signature))

    def save(self, folder: Path) -> None:
        """Write the index to ``folder`` as one segment, replacing any index there.

        Written beside it first and then renamed into place, so that a process that
        has the old index mapped keeps reading the old files.
        """
        self._settle()
        fresh, old = folder.with_name(folder.name + ".new"), folder.with_name(folder.name + ".old")
        for leftover in (fresh, old):
            if leftover.exists():
                shutil.rmtree(leftover)
        self._segments[0].save(fresh)
        self._deltas = []
        self._write_layout(fresh)
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        if old.exists():
            shutil.rmtree(old)

    def append(self, folder: Path) -> None:
        """Write the pictures added since ``load(folder)`` to ``folder`` as a delta
        segment (merging deltas, or rebuilding, as the module's text says).

        The delta is written before ``layout.json`` names it; a process that mapped the
        index before keeps its files (merged deltas are removed after the new layout).
        """
        if not self._pending:
            return
        count = self.descriptor_count
        main = self._segments[0].descriptors if self._segments else 0
        if (not self._segments or not (folder / _LAYOUT).exists()
                or Layout.for_size(count) != self.layout or count - main > main):  # fmt: skip
            self.save(folder)
            return
        parts = [_signed_part(self._pending)]
        dropped: list[str] = []
        if len(self._deltas) >= MAX_DELTAS:
            dropped = self._deltas
            parts = [s.arrays for s in self._segments[1:]] + parts
            self._segments = self._segments[:1]
        delta = _Segment.build(parts, self.layout)
        name = _next_delta(folder)
        partial = folder / f"{name}.part"
        if partial.exists():
            shutil.rmtree(partial)
        delta.save(partial)
        partial.rename(folder / name)
        self._pending = []
        self._segments.append(delta)
        self._deltas = [n for n in self._deltas if n not in dropped] + [name]
        self._write_layout(folder)
        for gone in dropped:
            shutil.rmtree(folder / gone, ignore_errors=True)
        self._joined()

    def _write_layout(self, folder: Path) -> None:
        text = json.dumps({"version": 2, "key_bits": self.layout.key_bits,
                           "tables": self.layout.tables, "deltas": self._deltas})  # fmt: skip
        part = folder / f"{_LAYOUT}.part"
        part.write_text(text, encoding="utf-8")
        os.replace(part, folder / _LAYOUT)

    @classmethod
    def load(cls, folder: Path) -> RegionIndex:
        """Map an index written by ``save`` and ``append`` (read-only; ``save`` after
        ``add`` copies it, ``append`` adds to it)."""
        index = cls()
        listed = folder / _LAYOUT
        if listed.exists():
            data = json.loads(listed.read_text(encoding="utf-8"))
            index.layout = Layout(int(data["key_bits"]), int(data["tables"]))
            index._deltas = [str(name) for name in data["deltas"]]
        index._segments = [_Segment.load(folder)]
        index._segments += [_Segment.load(folder / name) for name in index._deltas]
        index._joined()
        return index

    def _joined(self) -> None:
        """The per-picture arrays of every segment, joined (owners count across them)."""
        arrays = [s.arrays for s in self._segments]
        self._ids = np.concatenate([np.zeros(0, np.int64), *[a["ids"] for a in arrays]])
        self._sizes = np.concatenate([np.zeros((0, 2), np.int32), *[a["sizes"] for a in arrays]])
        self._centres = np.concatenate(
            [np.zeros((0, 32), np.uint8), *[a["centres"] for a in arrays]]
        )
        pictures = np.cumsum([0] + [s.pictures for s in self._segments], dtype=np.int64)
        rows = np.cumsum([0] + [s.descriptors for s in self._segments], dtype=np.int64)
        self._first_owners, self._first_rows = pictures[:-1], rows[:-1]

    def _settle(self) -> None:
        """Fold the pending signatures and every segment into one segment (a rebuild)."""
        if not self._pending and len(self._segments) == 1:
            return
        parts = [s.arrays for s in self._segments] + [_signed_part(self._pending)]
        self.layout = Layout.for_size(self.descriptor_count)
        self._segments = [_Segment.build(parts, self.layout)]
        self._pending = []
        self._joined()

    def query(self, pixels: np.ndarray) -> list[RegionMatch]:
        """The known pictures found in one decoded picture, best first.

        Args:
            pixels: H x W x 3 uint8 RGB or H x W luma (``Decoded.pixels``).
        """
        if not self._segments or self._pending:
            self._settle()
        if not len(self._ids):
            return []
        grey = scaled_grey(pixels)
        points, descriptors = keypoints(grey, QUERY_FEATURES)
        if len(descriptors) < MIN_INLIERS:
            return []
        query_rows, owners, bank_rows = self._neighbours(descriptors)
        # Votes: query keypoints with a neighbour in the bank picture (one each).
        votes = np.bincount(owners)
        voted = np.flatnonzero(votes >= MIN_VOTES)
        chosen = voted[np.argsort(-votes[voted], kind="stable")[:CANDIDATES]]
        found = []
        for owner in chosen.tolist():
            mine = owners == owner
            bank_points = self._points(bank_rows[mine])
            match = self._verify(owner, grey, points[query_rows[mine]], bank_points)
            if match is not None:
                found.append(match)
        return sorted(found, key=lambda m: (-m.inliers, m.entry_id))

    def _neighbours(self, descriptors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query row, bank picture, bank row) of every bank descriptor within
        ``DESCRIPTOR_DISTANCE`` of a query descriptor that shares a table key with it;
        per (query row, bank picture) only the closest. Bank pictures and rows are
        counted across the segments in order."""
        keys = self.layout.keys(descriptors)
        spans = [segment.buckets(keys, self.layout.key_bits) for segment in self._segments]
        crowded = sum(counts for _starts, counts in spans) > MAX_BUCKET
        query_words = np.ascontiguousarray(descriptors).view(np.uint64)
        from vigil.matching.region_kernel import near_descriptors  # numba: only when used

        parts = []
        for segment, (starts, counts), first_owner, first_row in zip(
            self._segments, spans, self._first_owners, self._first_rows, strict=True
        ):
            counts[crowded] = 0
            room = int(counts.sum())
            out_query = np.empty(room, np.int64)
            out_bank = np.empty(room, np.int64)
            out_distance = np.empty(room, np.int32)
            arrays = segment.arrays
            found = near_descriptors(
                query_words, starts, counts, arrays["orders"],
                arrays["descriptors"].view(np.uint64), DESCRIPTOR_DISTANCE,
                out_query, out_bank, out_distance,
            )  # fmt: skip
            rows = out_bank[:found]
            # The owner from the (small, cached) start of each picture, not a gather
            # from the per-descriptor owners (a page of a big file per pair).
            owners = np.searchsorted(arrays["starts"], rows, "right") - 1 + first_owner
            parts.append((out_query[:found], owners, rows + first_row, out_distance[:found]))
        joined = (np.concatenate(c) for c in zip(*parts, strict=True))
        query_rows, owners, bank_rows, distances = joined
        # The closest bank keypoint per (query keypoint, bank picture): one correspondence.
        order = np.lexsort((distances, owners, query_rows))
        query_rows, owners, bank_rows = query_rows[order], owners[order], bank_rows[order]
        group = owners * len(descriptors) + query_rows
        first = np.ones(len(group), bool)
        first[1:] = group[1:] != group[:-1]
        return query_rows[first], owners[first], bank_rows[first]

    def _points(self, rows: np.ndarray) -> np.ndarray:
        """Keypoint positions of bank rows of one picture (so of one segment)."""
        i = int(np.searchsorted(self._first_rows, rows[0], "right")) - 1
        return self._segments[i].arrays["points"][rows - self._first_rows[i]]

    def _verify(
        self, owner: int, grey: np.ndarray, query_points: np.ndarray, bank_points: np.ndarray
    ) -> RegionMatch | None:
        if len(query_points) < MIN_INLIERS:
            return None
        transform, inliers = cv2.estimateAffinePartial2D(
            query_points, bank_points, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS,
            maxIters=2000, confidence=0.995,
        )  # fmt: skip
        if transform is None or int(inliers.sum()) < MIN_INLIERS:
            return None
        scale = math.hypot(transform[0, 0], transform[1, 0])
        if not SCALES[0] <= scale <= SCALES[1]:
            return None
        width, height = (int(v) for v in self._sizes[owner])
        # Turned back at a quarter of the frame (PDQ sees 64x64 of it anyway): both frames
        # reduced the same way, pixel x there at R*x + (R-1)/2 here.
        small = transform.copy()
        half = np.full(2, (WARP_REDUCTION - 1) / 2)
        small[:, 2] = (transform[:, :2] @ half + transform[:, 2] - half) / WARP_REDUCTION
        turned = cv2.warpAffine(
            reduce(grey), small, reduced_size(width, height),
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        bits, _quality = centre_bits(turned)
        stored = np.unpackbits(np.asarray(self._centres[owner])).astype(bool)
        distance = int(np.count_nonzero(bits.reshape(-1) != stored))
        if distance > CENTRE_DISTANCE:
            return None
        # The transform maps the copy onto the known picture; with image y running down,
        # its positive angle undoes a counter-clockwise turn of the copy.
        degrees = math.degrees(math.atan2(transform[1, 0], transform[0, 0]))
        return RegionMatch(
            entry_id=int(self._ids[owner]),
            inliers=int(inliers.sum()),
            centre_distance=distance,
            scale=round(scale, 3),
            degrees=round(degrees, 1),
        )



def _next_delta(folder: Path) -> str:
    """A delta segment name not used in ``folder`` yet."""
    numbers = [int(p.name.split("-")[1].split(".")[0]) for p in folder.glob("delta-*")]
    return f"delta-{max(numbers, default=0) + 1:06d}"
