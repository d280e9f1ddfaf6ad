"""Near-duplicate groups of pictures by PDQ distance, for bulk grading.

Brute force over one case's unknown pictures: n is in the thousands at most, and the
pairs are compared as Python integers (one XOR and a popcount each).
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_DISTANCE = 31
MIN_QUALITY = 50


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes of equal length.

    Args:
        a: Hex hash.
        b: Hex hash.

    Returns:
        The Hamming distance.
    """
    return (int(a, 16) ^ int(b, 16)).bit_count()


def usable(pdq: str | None, quality: int | None) -> bool:
    """Whether a PDQ value is good enough to group by (flat pictures match everything).

    Args:
        pdq: Hex PDQ or None.
        quality: PDQ quality or None.

    Returns:
        True when the hash can be trusted for grouping.
    """
    return bool(pdq) and quality is not None and quality >= MIN_QUALITY


def near_groups(
    hashes: Mapping[int, str], max_distance: int = MAX_DISTANCE
) -> dict[int, list[int]]:
    """Group contents whose PDQ hashes are within ``max_distance`` (transitively).

    Args:
        hashes: Content id to hex PDQ (only usable hashes).
        max_distance: Largest Hamming distance that counts as near.

    Returns:
        Content id to the sorted ids of its group, for contents with at least one
        near neighbour; contents with none are absent.
    """
    ids = sorted(hashes)
    values = [int(hashes[i], 16) for i in ids]
    parent = list(range(len(ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(ids)):
        vi = values[i]
        for j in range(i + 1, len(ids)):
            if (vi ^ values[j]).bit_count() <= max_distance:
                ri, rj = root(i), root(j)
                if ri != rj:
                    parent[rj] = ri
    members: dict[int, list[int]] = {}
    for i, cid in enumerate(ids):
        members.setdefault(root(i), []).append(cid)
    return {cid: group for group in members.values() if len(group) > 1 for cid in group}


def neighbours(
    target: str, hashes: Mapping[int, str], max_distance: int = MAX_DISTANCE
) -> list[tuple[int, int]]:
    """Contents whose PDQ is within ``max_distance`` of ``target``.

    Args:
        target: Hex PDQ to compare against.
        hashes: Content id to hex PDQ.
        max_distance: Largest distance to report.

    Returns:
        ``(content_id, distance)`` pairs, nearest first.
    """
    t = int(target, 16)
    found = [(cid, (t ^ int(h, 16)).bit_count()) for cid, h in hashes.items()]
    return sorted(((c, d) for c, d in found if d <= max_distance), key=lambda x: (x[1], x[0]))
