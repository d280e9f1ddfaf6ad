"""Compiled (numba) loop of the region index: the bank descriptors near each query one.

Kept apart from ``region_index`` so that the index reads as plain numpy. Descriptors are
N x 4 uint64 words (the 32 ORB bytes); distances are bit counts of their XOR.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vigil.matching.pdq_kernel import _ctpop


@njit(cache=True, nogil=True)
def near_descriptors(
    query_words: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    orders: np.ndarray,
    bank_words: np.ndarray,
    max_distance: int,
    out_query: np.ndarray,
    out_bank: np.ndarray,
    out_distance: np.ndarray,
) -> int:
    """Bank descriptors within ``max_distance`` bits of each query descriptor, among the
    ones it shares a table key with.

    Args:
        query_words: Q x 4 uint64 query descriptors.
        starts: Q x T int64, where query ``q``'s bucket of table ``t`` begins in
            ``orders[t]``; ``counts`` (Q x T) its length (0 for a skipped bucket).
        orders: T x N int32 bank descriptor rows, sorted by each table's key.
        bank_words: N x 4 uint64 bank descriptors.
        max_distance: the largest distance kept.
        out_query: receives the query row of each pair found (room for every candidate).
        out_bank: receives the bank row.
        out_distance: receives the distance.

    Returns:
        How many pairs were written (a pair met through several tables appears once
        per table).
    """
    found = 0
    for q in range(query_words.shape[0]):
        w0, w1, w2, w3 = query_words[q, 0], query_words[q, 1], query_words[q, 2], query_words[q, 3]
        for t in range(starts.shape[1]):
            begin = starts[q, t]
            for position in range(begin, begin + counts[q, t]):
                row = orders[t, position]
                distance = (
                    _ctpop(w0 ^ bank_words[row, 0])
                    + _ctpop(w1 ^ bank_words[row, 1])
                    + _ctpop(w2 ^ bank_words[row, 2])
                    + _ctpop(w3 ^ bank_words[row, 3])
                )
                if distance <= max_distance:
                    out_query[found] = q
                    out_bank[found] = row
                    out_distance[found] = distance
                    found += 1
    return found
