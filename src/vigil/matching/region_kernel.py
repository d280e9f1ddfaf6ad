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


@njit(cache=True, nogil=True)
def descriptor_keys(
    descriptors: np.ndarray, byte_of: np.ndarray, shift_of: np.ndarray, out: np.ndarray
) -> None:
    """The table keys of each descriptor: key ``t`` gathers, as its bit ``b``, the
    descriptor's bit ``shift_of[t, b]`` (0 the lowest) of byte ``byte_of[t, b]``.

    Args:
        descriptors: N x 32 uint8 descriptors.
        byte_of: T x B int64 byte of each key bit.
        shift_of: T x B int64 bit within that byte.
        out: T x N uint32, receives the keys (table by table: each is sorted on its own).
    """
    for n in range(descriptors.shape[0]):
        for t in range(byte_of.shape[0]):
            key = np.uint32(0)
            for b in range(byte_of.shape[1]):
                bit = (np.uint32(descriptors[n, byte_of[t, b]]) >> np.uint32(shift_of[t, b])) & 1
                key |= bit << np.uint32(b)
            out[t, n] = key


@njit(cache=True, nogil=True)
def bucket_spans(
    sorted_keys: np.ndarray,
    fences: np.ndarray,
    shift: int,
    query_keys: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Where each query key's run of equal keys lies in each table.

    Args:
        sorted_keys: T x N uint32, each table's keys in ascending order (not read when
            ``shift`` is 0).
        fences: T x (2^F + 1) int32 or int64: where the keys whose top bits
            (``key >> shift``) are f begin; the run is searched between fences f and
            f + 1 only.
        shift: how many low bits of a key the fences leave out.
        query_keys: T x Q uint32 query keys.
        starts: Q x T int64, receives the first position of the run.
        counts: Q x T int64, receives its length (0: the key is not in the table).
    """
    for t in range(fences.shape[0]):
        for q in range(query_keys.shape[1]):
            key = query_keys[t, q]
            top = key >> shift
            lo, hi = np.int64(fences[t, top]), np.int64(fences[t, top + 1])
            if shift == 0:  # one fence per key: the bucket is between them
                starts[q, t] = lo
                counts[q, t] = hi - lo
                continue
            while lo < hi:  # first position whose key is >= key
                mid = (lo + hi) // 2
                if sorted_keys[t, mid] < key:
                    lo = mid + 1
                else:
                    hi = mid
            end, hi = lo, np.int64(fences[t, top + 1])
            while end < hi:  # first position whose key is > key
                mid = (end + hi) // 2
                if sorted_keys[t, mid] <= key:
                    end = mid + 1
                else:
                    hi = mid
            starts[q, t] = lo
            counts[q, t] = end - lo
