"""The lab bank's region index: find known pictures in crops, turns, letterboxed and
inset copies by their keypoints, then verify each candidate geometrically and by PDQ.

Build: ``RegionIndex.add(entry_id, region_signature(pixels))`` for each known picture,
then ``save(folder)``; ``RegionIndex.load(folder)`` maps the arrays back (read-only
memory maps, so scan workers share the pages). Query: ``index.query(pixels)``.

How a query runs (sizes for a bank of 100,000 pictures, 256 keypoints each):

1. Candidates by descriptor: each of ``TABLES`` tables keys every bank descriptor by two
   of its 32 bytes, sorted; a query descriptor looks up the bank descriptors sharing
   that key in each table (a binary search), and those within ``DESCRIPTOR_DISTANCE``
   bits are its neighbours. A true correspondence differs in ~10-40 bits of 256, so it
   shares at least one of the keys with high probability; a random one rarely.
2. Votes: the bank pictures owning neighbours of at least ``MIN_VOTES`` different query
   keypoints, the ``CANDIDATES`` with most votes.
3. Geometry: RANSAC fits a similarity transform (shift, scale, turn) from the query's
   keypoints to the candidate's; at least ``MIN_INLIERS`` must agree.
4. PDQ: the query turned back onto the candidate's frame by that transform; its centre
   window must be within ``CENTRE_DISTANCE`` PDQ bits of the stored centre.

A match needs all four, so a picture that only shares some texture with a known one
(a few keypoints agree) is not matched.
"""

from __future__ import annotations

import math
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
from vigil.matching.region_kernel import near_descriptors

TABLES = 8
KEY_BITS = 20
# A fixed choice of bit positions: part of the index format (changing it needs a rebuild).
_POSITIONS = np.random.default_rng(17).permutation(256)[: TABLES * KEY_BITS].reshape(
    TABLES, KEY_BITS
)
# A key shared by more bank descriptors than this says little (flat or striped areas).
MAX_BUCKET = 64
DESCRIPTOR_DISTANCE = 56
MIN_VOTES = 8
CANDIDATES = 8
MIN_INLIERS = 12
RANSAC_PIXELS = 5.0
CENTRE_DISTANCE = 40
SCALES = (0.2, 5.0)

_ARRAYS = ("ids", "sizes", "centres", "starts", "points", "descriptors", "owners")


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


class RegionIndex:
    """Region signatures of known pictures and their descriptor tables."""

    def __init__(self) -> None:
        self._pending: list[tuple[int, RegionSignature]] = []
        self._arrays: dict[str, np.ndarray] = _empty()
        # Per table: bucket offsets by key (T x 2^KEY_BITS+1), rows sorted by key (T x N).
        self._tables: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._arrays["ids"]) + len(self._pending)

    @property
    def descriptor_count(self) -> int:
        """How many keypoint descriptors the index holds (pending ones included)."""
        pending = sum(len(s.descriptors) for _, s in self._pending)
        return len(self._arrays["descriptors"]) + pending

    def add(self, entry_id: int, signature: RegionSignature) -> None:
        """Add one known picture (its signature from ``region_signature``)."""
        self._pending.append((entry_id, signature))

    def save(self, folder: Path) -> None:
        """Write the index to ``folder``, replacing any index there as a whole.

        Written beside it first and then renamed into place, so that a process that
        has the old index mapped keeps reading the old files.
        """
        self._settle()
        assert self._tables is not None
        fresh, old = folder.with_name(folder.name + ".new"), folder.with_name(folder.name + ".old")
        for leftover in (fresh, old):
            if leftover.exists():
                shutil.rmtree(leftover)
        fresh.mkdir(parents=True)
        for name in _ARRAYS:
            np.save(fresh / f"{name}.npy", self._arrays[name])
        np.save(fresh / "offsets.npy", self._tables[0])
        np.save(fresh / "orders.npy", self._tables[1])
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
        if old.exists():
            shutil.rmtree(old)

    @classmethod
    def load(cls, folder: Path) -> RegionIndex:
        """Map an index written by ``save`` (read-only; ``add`` then copies it)."""
        index = cls()
        def mapped(name: str) -> np.ndarray:
            # A plain ndarray over the mapped file: memmap's own indexing is slow.
            return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r"))

        index._arrays = {name: mapped(name) for name in _ARRAYS}
        index._tables = (mapped("offsets"), mapped("orders"))
        return index

    def _settle(self) -> None:
        """Fold the pending signatures into the arrays and rebuild the tables."""
        if not self._pending and self._tables is not None:
            return
        a = self._arrays
        new = self._pending
        counts = [len(s.descriptors) for _, s in new]
        ids = np.concatenate([a["ids"], np.array([e for e, _ in new], np.int64)])
        sizes = np.concatenate([a["sizes"], np.array([(s.width, s.height) for _, s in new],
                                                     np.int32).reshape(-1, 2)])  # fmt: skip
        centres = np.concatenate(
            [a["centres"], np.array([np.packbits(s.centre) for _, s in new], np.uint8)
             .reshape(-1, 32)]
        )  # fmt: skip
        first = int(a["starts"][-1])
        starts = np.concatenate([a["starts"], first + np.cumsum(counts, dtype=np.int64)])
        points = np.concatenate([a["points"], *[s.points for _, s in new]]).astype(np.float32)
        descriptors = np.concatenate([a["descriptors"], *[s.descriptors for _, s in new]])
        owners = np.repeat(np.arange(len(ids), dtype=np.int32), np.diff(starts))
        self._arrays = {
            "ids": ids,
            "sizes": sizes,
            "centres": centres,
            "starts": starts,
            "points": points,
            "descriptors": descriptors.astype(np.uint8).reshape(-1, DESCRIPTOR_BYTES),
            "owners": owners,
        }
        self._pending = []
        stacked = self._arrays["descriptors"]
        offsets = np.zeros((TABLES, (1 << KEY_BITS) + 1), np.int64)
        orders = np.empty((TABLES, len(stacked)), np.int32)
        for t in range(TABLES):  # one table at a time: a 100,000-picture bank stays in RAM
            keys = _keys(stacked, range(t, t + 1))[:, 0]
            orders[t] = np.argsort(keys, kind="stable")
            np.cumsum(np.bincount(keys, minlength=1 << KEY_BITS), out=offsets[t, 1:])
        self._tables = (offsets, orders)

    def query(self, pixels: np.ndarray) -> list[RegionMatch]:
        """The known pictures found in one decoded picture, best first.

        Args:
            pixels: H x W x 3 uint8 RGB or H x W luma (``Decoded.pixels``).
        """
        self._settle()
        if not len(self._arrays["ids"]):
            return []
        grey = scaled_grey(pixels)
        points, descriptors = keypoints(grey, QUERY_FEATURES)
        if len(descriptors) < MIN_INLIERS:
            return []
        query_rows, bank_rows, _ = self._neighbours(descriptors)
        owners = self._arrays["owners"][bank_rows]
        # Votes: query keypoints with a neighbour in the bank picture (one each).
        votes = np.bincount(owners)
        voted = np.flatnonzero(votes >= MIN_VOTES)
        chosen = voted[np.argsort(-votes[voted], kind="stable")[:CANDIDATES]]
        found = []
        for owner in chosen.tolist():
            mine = owners == owner
            match = self._verify(owner, grey, points[query_rows[mine]],
                                 self._arrays["points"][bank_rows[mine]])  # fmt: skip
            if match is not None:
                found.append(match)
        return sorted(found, key=lambda m: (-m.inliers, m.entry_id))

    def _neighbours(self, descriptors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query row, bank row, distance) of every bank descriptor within
        ``DESCRIPTOR_DISTANCE`` of a query descriptor that shares a table key with it;
        per (query row, bank picture) only the closest."""
        keys = _keys(descriptors)
        offsets, orders = self._tables
        tables = np.arange(TABLES)
        starts = offsets[tables, keys]
        counts = offsets[tables, keys + 1] - starts
        counts[counts > MAX_BUCKET] = 0
        room = int(counts.sum())
        out_query = np.empty(room, np.int64)
        out_bank = np.empty(room, np.int64)
        out_distance = np.empty(room, np.int32)
        bank_words = np.asarray(self._arrays["descriptors"]).view(np.uint64)
        query_words = np.ascontiguousarray(descriptors).view(np.uint64)
        found = near_descriptors(
            query_words, starts, counts, orders, bank_words, DESCRIPTOR_DISTANCE,
            out_query, out_bank, out_distance,
        )  # fmt: skip
        query_rows, bank_rows, distances = out_query[:found], out_bank[:found], out_distance[:found]
        # The closest bank keypoint per (query keypoint, bank picture): one correspondence.
        owners = self._arrays["owners"][bank_rows].astype(np.int64)
        order = np.lexsort((distances, owners, query_rows))
        query_rows, bank_rows, distances = query_rows[order], bank_rows[order], distances[order]
        group = owners[order] * len(descriptors) + query_rows
        first = np.ones(len(group), bool)
        first[1:] = group[1:] != group[:-1]
        return query_rows[first], bank_rows[first], distances[first]

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
        width, height = (int(v) for v in self._arrays["sizes"][owner])
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
        stored = np.unpackbits(np.asarray(self._arrays["centres"][owner])).astype(bool)
        distance = int(np.count_nonzero(bits.reshape(-1) != stored))
        if distance > CENTRE_DISTANCE:
            return None
        # The transform maps the copy onto the known picture; with image y running down,
        # its positive angle undoes a counter-clockwise turn of the copy.
        degrees = math.degrees(math.atan2(transform[1, 0], transform[0, 0]))
        return RegionMatch(
            entry_id=int(self._arrays["ids"][owner]),
            inliers=int(inliers.sum()),
            centre_distance=distance,
            scale=round(scale, 3),
            degrees=round(degrees, 1),
        )


def _keys(descriptors: np.ndarray, tables: range = range(TABLES)) -> np.ndarray:
    """The table keys of each descriptor: N x len(tables) int64, each ``KEY_BITS`` bits
    taken from fixed pseudo-random positions (disjoint between tables)."""
    out = np.empty((len(descriptors), len(tables)), np.int64)
    weights = np.int64(1) << np.arange(KEY_BITS, dtype=np.int64)
    positions = _POSITIONS[list(tables)]
    for start in range(0, len(descriptors), 1 << 18):  # bounded memory for big banks
        bits = np.unpackbits(np.asarray(descriptors[start : start + (1 << 18)]), axis=1)
        out[start : start + len(bits)] = bits[:, positions].astype(np.int64) @ weights
    return out


def _empty() -> dict[str, np.ndarray]:
    return {
        "ids": np.zeros(0, np.int64),
        "sizes": np.zeros((0, 2), np.int32),
        "centres": np.zeros((0, 32), np.uint8),
        "starts": np.zeros(1, np.int64),
        "points": np.zeros((0, 2), np.float32),
        "descriptors": np.zeros((0, DESCRIPTOR_BYTES), np.uint8),
        "owners": np.zeros(0, np.int32),
    }
