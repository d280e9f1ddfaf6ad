"""Compiled (numba) loops of the PDQ index's build: chunk values and counting sorts.

Kept apart from ``pdq_index`` so that the layout and file format read as plain numpy;
everything here works on flat arrays only. The search itself is C (``_pdq_search.c``),
so that a scan's workers never load a numba-compiled search. Hashes are N x 4 uint64
words; chunk ``i`` is bits ``[start_i, start_i + length_i)`` of the 256-bit string made
of those words (word ``w`` holds bits ``64 w .. 64 w + 63``, least significant first).

numba mixes signed and unsigned integers into floats, so every bit operation below is
kept in uint64 on purpose.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

_ONE = np.uint64(1)


@intrinsic
def _ctpop(typingctx, value):  # type: ignore[no-untyped-def]
    """The CPU's population count (LLVM ``ctpop``) of a uint64."""
    signature = types.uint64(types.uint64)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return signature, codegen


@njit(inline="always")
def _bits(w0, w1, w2, w3, start, length):  # type: ignore[no-untyped-def]
    """Bits ``[start, start + length)`` of the 256-bit value (w0 w1 w2 w3), as uint64."""
    word = start >> 6
    shift = np.uint64(start & 63)
    if word == 0:
        low, high = w0, w1
    elif word == 1:
        low, high = w1, w2
    elif word == 2:
        low, high = w2, w3
    else:
        low, high = w3, np.uint64(0)
    value = low >> shift
    if (start & 63) + length > 64:
        value |= high << (np.uint64(64) - shift)
    return value & ((_ONE << np.uint64(length)) - _ONE)


@njit(nogil=True, cache=True)
def chunk_values(words, start, length):  # type: ignore[no-untyped-def]
    """Chunk ``[start, start + length)`` of every row of ``words`` (N x 4 uint64), as uint32."""
    out = np.empty(words.shape[0], dtype=np.uint32)
    for row in range(words.shape[0]):
        out[row] = np.uint32(
            _bits(words[row, 0], words[row, 1], words[row, 2], words[row, 3], start, length)
        )
    return out


@njit(nogil=True, cache=True)
def counting_order(keys, buckets):  # type: ignore[no-untyped-def]
    """Stable order of ``keys`` (all < ``buckets``) and the bucket offsets (counting sort).

    Returns:
        (order, offsets): ``keys[order]`` is sorted; bucket ``b`` is
        ``order[offsets[b]:offsets[b + 1]]``.
    """
    offsets = np.zeros(buckets + 1, dtype=np.int64)
    for key in keys:
        offsets[key + 1] += 1
    for bucket in range(buckets):
        offsets[bucket + 1] += offsets[bucket]
    fill = offsets[:-1].copy()
    order = np.empty(keys.shape[0], dtype=np.uint32)
    for row in range(keys.shape[0]):
        key = keys[row]
        order[fill[key]] = row
        fill[key] += 1
    return order, offsets


@njit(nogil=True, cache=True)
def table_entries(keys, rows, prefix_bits, rest_bits, pos_bits, entries):  # type: ignore[no-untyped-def]
    """Fill ``entries`` with the table of one chunk; return its bucket offsets.

    ``keys[i]`` is the chunk value of input hash ``i`` and ``rows[i]`` its row in the
    bank's order. Entries are grouped by the key's first ``prefix_bits`` bits (a
    counting sort; within a bucket, in input order) and hold ``row | rest << pos_bits``,
    ``rest`` being the key's other ``rest_bits`` bits. Both loops read ``keys`` and
    ``rows`` in order: only the bucket counters and the entries are written at random.
    """
    count = keys.shape[0]
    shift = np.uint64(rest_bits)
    rest_mask = (_ONE << shift) - _ONE
    offsets = np.zeros((1 << prefix_bits) + 1, dtype=np.int64)
    for i in range(count):
        offsets[(np.uint64(keys[i]) >> shift) + _ONE] += 1
    for bucket in range(1 << prefix_bits):
        offsets[bucket + 1] += offsets[bucket]
    fill = offsets[:-1].copy()
    for i in range(count):
        key = np.uint64(keys[i])
        bucket = key >> shift
        entries[fill[bucket]] = np.uint64(rows[i]) | ((key & rest_mask) << np.uint64(pos_bits))
        fill[bucket] += 1
    return offsets


@njit(nogil=True, cache=True)
def presence_of_keys(keys, rest_bits, shift, buckets):  # type: ignore[no-untyped-def]
    """Presence set of every bucket of one chunk: bit ``rest >> shift`` is on when some
    key of the bucket (its first bits) has that rest (its last ``rest_bits`` bits).

    Any order of ``keys`` gives the same sets, so the input order is read as it is.
    """
    rest = np.uint64(rest_bits)
    mask = (_ONE << rest) - _ONE
    # At most 16 presence bits: 2 bytes a bucket keep the array in cache.
    out = np.zeros(buckets + 1, dtype=np.uint16)
    for key in keys:
        value = np.uint64(key)
        out[value >> rest] |= np.uint16(_ONE << ((value & mask) >> np.uint64(shift)))
    return out
