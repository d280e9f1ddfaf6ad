"""Compiled (numba) loops of the PDQ index: build-time sorting and the exact range search.

Kept apart from ``pdq_index`` so that the layout and file format read as plain numpy;
everything here works on flat arrays only. Hashes are N x 4 uint64 words; chunk ``i``
is bits ``[start_i, start_i + length_i)`` of the 256-bit string made of those words
(word ``w`` holds bits ``64 w .. 64 w + 63``, least significant first).

numba mixes signed and unsigned integers into floats, so every bit operation below is
kept in uint64 on purpose.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_ONE = np.uint64(1)
# How many probes / candidates ahead the search asks the CPU to fetch memory.
_AHEAD = 48


@intrinsic
def _ctpop(typingctx, value):  # type: ignore[no-untyped-def]
    """The CPU's population count (LLVM ``ctpop``) of a uint64."""
    signature = types.uint64(types.uint64)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return signature, codegen


@intrinsic
def _prefetch(typingctx, array, row, column):  # type: ignore[no-untyped-def]
    """Hint the CPU to fetch ``array[row, column]`` into cache (LLVM ``prefetch``)."""
    signature = types.void(array, row, column)

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, view, [args[1], args[2]], wraparound=False
        )
        byte = ir.IntType(8).as_pointer()
        word = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte, word, word, word]),
            "llvm.prefetch.p0",
        )
        # read, keep in all cache levels, data cache
        constants = [ir.Constant(word, value) for value in (0, 3, 1)]
        builder.call(function, [builder.bitcast(pointer, byte), *constants])
        return context.get_dummy_value()

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


@njit(inline="always")
def _buffers(capacity):  # type: ignore[no-untyped-def]
    """Empty (query, row, distance) result buffers with room for ``capacity`` pairs."""
    size = max(capacity, 1)
    return (
        np.empty(size, dtype=np.int64),
        np.empty(size, dtype=np.int64),
        np.empty(size, dtype=np.int64),
    )


@njit(inline="always")
def _grown(array):  # type: ignore[no-untyped-def]
    """A copy of ``array`` with twice the room."""
    bigger = np.empty(2 * array.shape[0], dtype=array.dtype)
    bigger[: array.shape[0]] = array
    return bigger


@njit(inline="always")
def _append(found, query, row, distance, out_query, out_row, out_distance):  # type: ignore[no-untyped-def]
    """Store pair number ``found``, doubling the buffers first when they are full."""
    if found == out_row.shape[0]:
        out_query, out_row, out_distance = _grown(out_query), _grown(out_row), _grown(out_distance)
    out_query[found] = query
    out_row[found] = row
    out_distance[found] = distance
    return out_query, out_row, out_distance


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
def table_entries(keys, order, prefix_bits, rest_bits, pos_bits, entries):  # type: ignore[no-untyped-def]
    """Fill ``entries`` with the table of one chunk; return its bucket offsets.

    ``keys[order[row]]`` is the chunk value of bank row ``row`` (``keys`` in input
    order, ``order`` the bank's row order). Entries are grouped by the key's first
    ``prefix_bits`` bits (a stable counting sort) and hold ``row | rest << pos_bits``,
    ``rest`` being the key's other ``rest_bits`` bits.
    """
    count = order.shape[0]
    shift = np.uint64(rest_bits)
    rest_mask = (_ONE << shift) - _ONE
    offsets = np.zeros((1 << prefix_bits) + 1, dtype=np.int64)
    for row in range(count):
        offsets[(np.uint64(keys[order[row]]) >> shift) + _ONE] += 1
    for bucket in range(1 << prefix_bits):
        offsets[bucket + 1] += offsets[bucket]
    fill = offsets[:-1].copy()
    for row in range(count):
        key = np.uint64(keys[order[row]])
        bucket = key >> shift
        entries[fill[bucket]] = np.uint64(row) | ((key & rest_mask) << np.uint64(pos_bits))
        fill[bucket] += 1
    return offsets


@njit(nogil=True, cache=True)
def search(  # type: ignore[no-untyped-def]
    words,
    tables,
    offsets,
    starts,
    lengths,
    prefix_bits,
    pos_bits,
    radii,
    masks,
    mask_ends,
    queries,
    max_distance,
    capacity,
):
    """Every (query, bank row) pair within ``max_distance``, each pair exactly once.

    Chunk ``j`` is probed with radius ``radii[j]`` (-1: not probed); the radii satisfy
    ``sum(radii + 1) > max_distance``, so by the pigeonhole principle a pair within
    ``max_distance`` is within ``radii[j]`` on at least one chunk ``j``. Bucket ``b`` of
    table ``j`` holds the rows whose chunk ``j`` starts with the ``prefix_bits`` bits
    ``b``; its entries are ``pos | rest << pos_bits`` (``rest``: the chunk's remaining
    bits), or for table 0 the rows themselves (the bank is stored in table-0 order).
    A prefix differing in ``f`` bits leaves ``radii[j] - f`` for the rest of the chunk.
    A pair is reported from the first chunk that finds it, so never twice.

    Each query runs in three passes (bucket bounds, candidate rows, verification) with
    no dependency between the reads of one pass, so the CPU overlaps their cache misses
    instead of waiting for each in turn.

    Returns:
        (query number, row, distance) arrays of the pairs, by query. The buffers start
        with room for ``capacity`` pairs and double when full, so a query answered by
        thousands of near-copies is searched once.
    """
    found = 0
    out_query, out_row, out_distance = _buffers(capacity)
    chunks = starts.shape[0]
    pos_mask = (_ONE << np.uint64(pos_bits)) - _ONE
    shift = np.uint64(pos_bits)
    limit = np.uint64(max_distance)
    probes = 0
    for chunk in range(chunks):
        if radii[chunk] >= 0:
            probes += mask_ends[radii[chunk]]
    probe_chunk = np.empty(probes, dtype=np.int64)
    probe_bucket = np.empty(probes, dtype=np.uint64)
    probe_first = np.empty(probes, dtype=np.int64)
    probe_last = np.empty(probes, dtype=np.int64)
    probe_spare = np.empty(probes, dtype=np.uint64)
    probe_rest = np.empty(probes, dtype=np.uint64)
    probe_mask = np.empty(probes, dtype=np.uint64)
    candidate_row = np.empty(1024, dtype=np.int64)
    candidate_chunk = np.empty(1024, dtype=np.int64)
    for query in range(queries.shape[0]):
        q0 = queries[query, 0]
        q1 = queries[query, 1]
        q2 = queries[query, 2]
        q3 = queries[query, 3]
        # Pass 1: every probed bucket, then its bounds.
        probe = 0
        for chunk in range(chunks):
            radius = radii[chunk]
            if radius < 0:
                continue
            length = lengths[chunk]
            rest_bits = np.uint64(length - prefix_bits)
            rest_mask = (_ONE << rest_bits) - _ONE
            value = _bits(q0, q1, q2, q3, starts[chunk], length)
            prefix = value >> rest_bits
            for m in range(mask_ends[radius]):
                probe_chunk[probe] = chunk
                probe_bucket[probe] = prefix ^ masks[m]
                probe_spare[probe] = np.uint64(radius) - _ctpop(masks[m])
                probe_rest[probe] = value & rest_mask
                probe_mask[probe] = rest_mask
                probe += 1
        total = 0
        for probe in range(probes):
            if probe + _AHEAD < probes:
                _prefetch(offsets, probe_chunk[probe + _AHEAD], probe_bucket[probe + _AHEAD])
            chunk = probe_chunk[probe]
            bucket = probe_bucket[probe]
            probe_first[probe] = np.int64(offsets[chunk, bucket])
            probe_last[probe] = np.int64(offsets[chunk, bucket + _ONE])
            total += probe_last[probe] - probe_first[probe]
        # Pass 2: rows whose chunk is within the radius (branch-free append).
        if total > candidate_row.shape[0]:
            candidate_row = np.empty(total, dtype=np.int64)
            candidate_chunk = np.empty(total, dtype=np.int64)
        count = 0
        for probe in range(probes):
            if probe + _AHEAD < probes:
                ahead = probe_chunk[probe + _AHEAD]
                # A bucket of ~10 entries often spans two cache lines: fetch both ends
                # (a prefetch never faults, so an empty bucket's ends are harmless).
                first, last = probe_first[probe + _AHEAD], probe_last[probe + _AHEAD] - 1
                if ahead == 0:
                    _prefetch(words, first, 0)
                    _prefetch(words, last, 0)
                else:
                    _prefetch(tables, ahead - 1, first)
                    _prefetch(tables, ahead - 1, last)
            chunk = probe_chunk[probe]
            rest = probe_rest[probe]
            spare = probe_spare[probe]
            if chunk == 0:
                # Chunk 0 starts at bit 0: its remaining bits are word 0's lowest.
                rest_mask = probe_mask[probe]
                for row in range(probe_first[probe], probe_last[probe]):
                    candidate_row[count] = row
                    candidate_chunk[count] = 0
                    count += _ctpop((words[row, 0] & rest_mask) ^ rest) <= spare
            else:
                for slot in range(probe_first[probe], probe_last[probe]):
                    entry = np.uint64(tables[chunk - 1, slot])
                    candidate_row[count] = np.int64(entry & pos_mask)
                    candidate_chunk[count] = chunk
                    count += _ctpop((entry >> shift) ^ rest) <= spare
        # Pass 3: full distance, and report each pair from the first chunk finding it.
        for candidate in range(count):
            if candidate + _AHEAD < count:
                _prefetch(words, candidate_row[candidate + _AHEAD], 0)
            row = candidate_row[candidate]
            x0 = words[row, 0] ^ q0
            x1 = words[row, 1] ^ q1
            x2 = words[row, 2] ^ q2
            x3 = words[row, 3] ^ q3
            distance = _ctpop(x0) + _ctpop(x1) + _ctpop(x2) + _ctpop(x3)
            if distance > limit:
                continue
            seen = False
            for earlier in range(candidate_chunk[candidate]):
                if radii[earlier] >= 0:
                    near = _bits(x0, x1, x2, x3, starts[earlier], lengths[earlier])
                    if _ctpop(near) <= np.uint64(radii[earlier]):
                        seen = True
                        break
            if not seen:
                out_query, out_row, out_distance = _append(
                    found, query, row, distance, out_query, out_row, out_distance
                )
                found += 1
    return out_query[:found], out_row[:found], out_distance[:found]


@njit(nogil=True, cache=True)
def scan_all(words, queries, max_distance, capacity):  # type: ignore[no-untyped-def]
    """Brute-force counterpart of ``search`` (same outputs), for very large distances."""
    found = 0
    out_query, out_row, out_distance = _buffers(capacity)
    limit = np.uint64(max_distance)
    for query in range(queries.shape[0]):
        for row in range(words.shape[0]):
            distance = (
                _ctpop(words[row, 0] ^ queries[query, 0])
                + _ctpop(words[row, 1] ^ queries[query, 1])
                + _ctpop(words[row, 2] ^ queries[query, 2])
                + _ctpop(words[row, 3] ^ queries[query, 3])
            )
            if distance <= limit:
                out_query, out_row, out_distance = _append(
                    found, query, row, distance, out_query, out_row, out_distance
                )
                found += 1
    return out_query[:found], out_row[:found], out_distance[:found]
