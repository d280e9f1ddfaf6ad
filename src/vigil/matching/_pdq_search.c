/* The exact range search of the PDQ index, compiled ahead of time (issue 13).
 *
 * The same three passes and answers as the numba search it replaced (the multi-index
 * and its pigeonhole argument are described in pdq_index.py). Written in C so that a scan's
 * workers search without loading a numba-compiled function (about 47 MiB and half a
 * CPU-second per worker process), and with the CPU's popcount (setup.py: -mpopcnt).
 * Arrays are passed through the buffer protocol (no numpy headers at build time); the
 * answers come back as three bytes objects of int64.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How many probes / candidates ahead the search asks the CPU to fetch memory. */
#define AHEAD 48
/* The fetches are non-temporal: an index line is read once per query, and keeping it
 * out of the shared cache leaves that cache to the decoding a scan does beside the
 * search (one A/B of four scan pairs, 10M bank: the bank's extra CPU ~18% lower than
 * with fetches kept in every cache level; the search alone is as fast either way). */
#define FETCH(address) __builtin_prefetch((address), 0, 0)

typedef struct {
    int64_t *query;
    int64_t *row;
    int64_t *distance;
    Py_ssize_t found;
    Py_ssize_t room;
} Pairs;

static int pairs_init(Pairs *pairs, Py_ssize_t capacity) {
    pairs->found = 0;
    pairs->room = capacity > 1 ? capacity : 1;
    pairs->query = malloc(pairs->room * sizeof(int64_t));
    pairs->row = malloc(pairs->room * sizeof(int64_t));
    pairs->distance = malloc(pairs->room * sizeof(int64_t));
    return pairs->query && pairs->row && pairs->distance;
}

static void pairs_free(Pairs *pairs) {
    free(pairs->query);
    free(pairs->row);
    free(pairs->distance);
}

static int grow(int64_t **array, Py_ssize_t room) {
    int64_t *bigger = realloc(*array, room * sizeof(int64_t));
    if (!bigger) return 0;
    *array = bigger;
    return 1;
}

/* Store one pair, doubling the buffers when full; 0 when out of memory. */
static int pairs_add(Pairs *pairs, int64_t query, int64_t row, int64_t distance) {
    if (pairs->found == pairs->room) {
        Py_ssize_t room = 2 * pairs->room;
        if (!grow(&pairs->query, room) || !grow(&pairs->row, room) ||
            !grow(&pairs->distance, room))
            return 0;
        pairs->room = room;
    }
    pairs->query[pairs->found] = query;
    pairs->row[pairs->found] = row;
    pairs->distance[pairs->found] = distance;
    pairs->found++;
    return 1;
}

static PyObject *pairs_result(Pairs *pairs) {
    Py_ssize_t size = pairs->found * (Py_ssize_t)sizeof(int64_t);
    return Py_BuildValue("(y#y#y#)", (const char *)pairs->query, size,
                         (const char *)pairs->row, size, (const char *)pairs->distance, size);
}

/* Bits [start, start + length) of the 256-bit value w[0..3] (length <= 64). */
static inline uint64_t bits_of(const uint64_t *w, int64_t start, int64_t length) {
    int64_t word = start >> 6;
    unsigned shift = (unsigned)(start & 63);
    uint64_t value = w[word] >> shift;
    if (shift + length > 64 && word < 3) value |= w[word + 1] << (64 - shift);
    return length >= 64 ? value : value & ((UINT64_C(1) << length) - 1);
}

static inline uint64_t distance_of(const uint64_t *a, const uint64_t *b) {
    return (uint64_t)(__builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
                      __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]));
}

/* The buffers of one call, released together. */
typedef struct {
    Py_buffer views[10];
    int taken;
} Views;

static void views_release(Views *views) {
    for (int i = 0; i < views->taken; i++) PyBuffer_Release(&views->views[i]);
}

static const void *view_of(Views *views, PyObject *object, Py_ssize_t *length) {
    Py_buffer *view = &views->views[views->taken];
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    views->taken++;
    *length = view->len;
    return view->buf;
}

typedef struct {
    const uint64_t *words;
    const void *tables;
    int wide_tables;
    const void *offsets;
    int wide_offsets;
    Py_ssize_t count;
    Py_ssize_t buckets;
    const int64_t *starts;
    const int64_t *lengths;
    const int64_t *radii;
    Py_ssize_t chunks;
    const uint64_t *masks;
    const int64_t *mask_ends;
    Py_ssize_t mask_count;
    int64_t prefix_bits;
    int64_t pos_bits;
    /* log2 of the presence bits above each bucket start (0: none; see pdq_index.py). */
    int64_t presence_log;
    int64_t start_bits;
} Index;

static inline const void *table_address(const Index *ix, Py_ssize_t table, Py_ssize_t slot) {
    Py_ssize_t at = table * ix->count + slot;
    return ix->wide_tables ? (const void *)((const uint64_t *)ix->tables + at)
                           : (const void *)((const uint32_t *)ix->tables + at);
}

/* Offsets entry of a bucket: its first row, with the bucket's presence bits above. */
static inline uint64_t bucket_word(const Index *ix, Py_ssize_t chunk, uint64_t bucket) {
    Py_ssize_t at = chunk * (ix->buckets + 1) + (Py_ssize_t)bucket;
    return ix->wide_offsets ? (uint64_t)((const int64_t *)ix->offsets)[at]
                            : (uint64_t)((const uint32_t *)ix->offsets)[at];
}

static inline const void *bucket_address(const Index *ix, Py_ssize_t chunk, uint64_t bucket) {
    Py_ssize_t at = chunk * (ix->buckets + 1) + (Py_ssize_t)bucket;
    return ix->wide_offsets ? (const void *)((const int64_t *)ix->offsets + at)
                            : (const void *)((const uint32_t *)ix->offsets + at);
}

/* One bucket probed for one chunk of a query, and what its rows may hold. */
typedef struct {
    uint32_t bucket;
    uint16_t chunk;
    uint16_t spare; /* bits of the chunk's radius that the prefix mask leaves to the rest */
    int64_t first;
    int64_t last;
} Probe;

/* What one chunk of one query accepts of a row's remaining bits ("rest", the chunk's
 * bits after the bucket prefix), for each number of spare bits a probe leaves. */
typedef struct {
    uint64_t rest;
    uint64_t rest_mask;
    /* Bit r: rest value r is within s bits of the query's (rest_bits <= 6 only). */
    uint64_t allow[65];
    /* Bit c: some rest value whose presence bit is c is within s bits (see presence). */
    uint64_t present[65];
    int fine;
    int coarse_shift;
} Accept;

static void accept_init(Accept *a, uint64_t rest, int64_t rest_bits, int64_t radius,
                        int64_t presence_log) {
    a->rest = rest;
    a->rest_mask = (UINT64_C(1) << rest_bits) - 1;
    a->fine = rest_bits <= 6;
    a->coarse_shift = (int)(rest_bits > presence_log ? rest_bits - presence_log : 0);
    int64_t top = radius < 64 ? radius : 64;
    for (int64_t s = 0; s <= top; s++) a->allow[s] = a->present[s] = 0;
    if (!a->fine) return; /* presence bits need fine rests too (checked at the call) */
    for (uint64_t r = 0; r <= a->rest_mask; r++) {
        int64_t d = __builtin_popcountll(r ^ rest);
        for (int64_t s = d; s <= top; s++) {
            a->allow[s] |= UINT64_C(1) << r;
            a->present[s] |= UINT64_C(1) << (r >> a->coarse_shift);
        }
    }
}

/* Candidate rows of one probe; returns the new candidate count (branch-free append). */
static inline Py_ssize_t probe_rows(const Index *ix, const Probe *p, const Accept *a,
                                    uint64_t *candidates, Py_ssize_t count) {
    if (a->fine) {
        uint64_t allow = a->allow[p->spare];
        if (p->chunk == 0) {
            /* Chunk 0 starts at bit 0: its remaining bits are word 0's lowest. */
            for (int64_t row = p->first; row < p->last; row++) {
                candidates[count] = (uint64_t)row;
                count += (allow >> (ix->words[4 * row] & a->rest_mask)) & 1;
            }
        } else if (ix->wide_tables) {
            const uint64_t *slots = (const uint64_t *)ix->tables + (p->chunk - 1) * ix->count;
            uint64_t pos_mask = (UINT64_C(1) << ix->pos_bits) - 1;
            for (int64_t slot = p->first; slot < p->last; slot++) {
                uint64_t entry = slots[slot];
                candidates[count] = entry & pos_mask;
                count += (allow >> (entry >> ix->pos_bits)) & 1;
            }
        } else {
            const uint32_t *slots = (const uint32_t *)ix->tables + (p->chunk - 1) * ix->count;
            /* 64-bit arithmetic: pos_bits is 32 when a chunk has no bits after its prefix. */
            uint64_t shift = (uint64_t)ix->pos_bits, pos_mask = (UINT64_C(1) << shift) - 1;
            for (int64_t slot = p->first; slot < p->last; slot++) {
                uint64_t entry = slots[slot];
                candidates[count] = entry & pos_mask;
                count += (allow >> (entry >> shift)) & 1;
            }
        }
        return count;
    }
    uint64_t rest = a->rest, spare = p->spare;
    if (p->chunk == 0) {
        for (int64_t row = p->first; row < p->last; row++) {
            candidates[count] = (uint64_t)row;
            count += (uint64_t)__builtin_popcountll((ix->words[4 * row] & a->rest_mask) ^ rest) <=
                     spare;
        }
    } else {
        uint64_t pos_mask = (UINT64_C(1) << ix->pos_bits) - 1;
        for (int64_t slot = p->first; slot < p->last; slot++) {
            uint64_t entry = ix->wide_tables
                                 ? ((const uint64_t *)ix->tables)[(p->chunk - 1) * ix->count + slot]
                                 : ((const uint32_t *)ix->tables)[(p->chunk - 1) * ix->count + slot];
            candidates[count] = entry & pos_mask;
            count += (uint64_t)__builtin_popcountll((entry >> ix->pos_bits) ^ rest) <= spare;
        }
    }
    return count;
}

/* 1: done; 0: out of memory; -1: bucket bounds outside the tables (damaged index).
 * Per query: (1) every probed bucket, its bounds and presence bits (a bucket holding no
 * row the probe could accept is dropped); (2) the rows of the kept buckets whose chunk is
 * within the radius; (3) their full distance, each pair reported by the first chunk
 * that finds it. Each pass asks the CPU to fetch what the pass AHEAD steps on reads. */
static int search_index(const Index *ix, const uint64_t *queries, Py_ssize_t query_count,
                        uint64_t limit, Pairs *pairs) {
    Py_ssize_t room = 0;
    for (Py_ssize_t chunk = 0; chunk < ix->chunks; chunk++)
        if (ix->radii[chunk] >= 0) room += ix->mask_ends[ix->radii[chunk]];
    Probe *probes = malloc((room > 0 ? room : 1) * sizeof(Probe));
    Accept *accepts = malloc((ix->chunks > 0 ? ix->chunks : 1) * sizeof(Accept));
    Py_ssize_t *chunk_end = malloc((ix->chunks + 1) * sizeof(Py_ssize_t));
    Py_ssize_t candidate_room = 4096;
    uint64_t *candidates = malloc(candidate_room * sizeof(uint64_t));
    int ok = probes && accepts && chunk_end && candidates;
    int bad = 0;
    uint64_t start_mask = ix->presence_log ? (UINT64_C(1) << ix->start_bits) - 1 : ~UINT64_C(0);
    for (Py_ssize_t query = 0; ok && query < query_count; query++) {
        const uint64_t *q = queries + 4 * query;
        Py_ssize_t used = 0;
        for (Py_ssize_t chunk = 0; chunk < ix->chunks; chunk++) {
            int64_t radius = ix->radii[chunk];
            if (radius < 0) continue;
            int64_t rest_bits = ix->lengths[chunk] - ix->prefix_bits;
            uint64_t value = bits_of(q, ix->starts[chunk], ix->lengths[chunk]);
            uint64_t prefix = value >> rest_bits;
            uint64_t rest = value & ((UINT64_C(1) << rest_bits) - 1);
            accept_init(&accepts[chunk], rest, rest_bits, radius, ix->presence_log);
            for (int64_t m = 0; m < ix->mask_ends[radius]; m++) {
                Probe *p = &probes[used++];
                p->chunk = (uint16_t)chunk;
                p->bucket = (uint32_t)(prefix ^ ix->masks[m]);
                uint64_t spare = (uint64_t)radius - (uint64_t)__builtin_popcountll(ix->masks[m]);
                p->spare = (uint16_t)(spare < 64 ? spare : 64);
            }
        }
        /* Pass 1: bounds and presence; kept probes are moved to the front. */
        Py_ssize_t kept = 0, total = 0;
        for (Py_ssize_t i = 0; i < used; i++) {
            if (i + AHEAD < used)
                FETCH(bucket_address(ix, probes[i + AHEAD].chunk, probes[i + AHEAD].bucket));
            Probe p = probes[i];
            uint64_t word = bucket_word(ix, p.chunk, p.bucket);
            p.first = (int64_t)(word & start_mask);
            p.last = (int64_t)(bucket_word(ix, p.chunk, (uint64_t)p.bucket + 1) & start_mask);
            /* A damaged file must not send the reads outside the tables. */
            bad |= p.first < 0 || p.last < p.first || p.last > ix->count;
            int keep = p.last > p.first;
            if (ix->presence_log)
                keep &= ((word >> ix->start_bits) & accepts[p.chunk].present[p.spare]) != 0;
            probes[kept] = p;
            kept += keep;
            total += keep ? p.last - p.first : 0;
        }
        if (bad) {
            ok = -1;
            break;
        }
        if (total > candidate_room) {
            free(candidates);
            candidate_room = 2 * total;
            candidates = malloc(candidate_room * sizeof(uint64_t));
            if (!candidates) {
                ok = 0;
                break;
            }
        }
        /* Pass 2: rows whose chunk is within the radius. */
        Py_ssize_t count = 0;
        int64_t current = 0;
        for (Py_ssize_t i = 0; i < kept; i++) {
            if (i + AHEAD < kept) {
                /* A bucket often spans two cache lines: fetch both ends (a prefetch
                 * never faults). */
                const Probe *a = &probes[i + AHEAD];
                if (a->chunk == 0) {
                    FETCH(ix->words + 4 * a->first);
                    FETCH(ix->words + 4 * (a->last - 1));
                } else {
                    FETCH(table_address(ix, a->chunk - 1, a->first));
                    FETCH(table_address(ix, a->chunk - 1, a->last - 1));
                }
            }
            const Probe *p = &probes[i];
            while (current < p->chunk) chunk_end[current++] = count;
            count = probe_rows(ix, p, &accepts[p->chunk], candidates, count);
        }
        while (current <= ix->chunks) chunk_end[current++] = count;
        /* Pass 3: full distance; a pair is reported by the first chunk finding it. */
        int64_t found_by = 0;
        for (Py_ssize_t c = 0; c < count; c++) {
            if (c + AHEAD < count) FETCH(ix->words + 4 * candidates[c + AHEAD]);
            int64_t row = (int64_t)candidates[c];
            const uint64_t *w = ix->words + 4 * row;
            uint64_t x[4] = {w[0] ^ q[0], w[1] ^ q[1], w[2] ^ q[2], w[3] ^ q[3]};
            uint64_t distance = (uint64_t)(__builtin_popcountll(x[0]) + __builtin_popcountll(x[1]) +
                                           __builtin_popcountll(x[2]) + __builtin_popcountll(x[3]));
            if (distance > limit) continue;
            while (chunk_end[found_by] <= c) found_by++;
            int seen = 0;
            for (int64_t earlier = 0; earlier < found_by && !seen; earlier++) {
                if (ix->radii[earlier] < 0) continue;
                uint64_t near = bits_of(x, ix->starts[earlier], ix->lengths[earlier]);
                seen = (uint64_t)__builtin_popcountll(near) <= (uint64_t)ix->radii[earlier];
            }
            if (!seen && !pairs_add(pairs, query, row, (int64_t)distance)) {
                ok = 0;
                break;
            }
        }
    }
    free(probes);
    free(accepts);
    free(chunk_end);
    free(candidates);
    return ok;
}

static PyObject *py_search(PyObject *self, PyObject *args) {
    PyObject *words, *tables, *offsets, *starts, *lengths, *radii, *masks, *mask_ends, *queries;
    int wide_tables, wide_offsets;
    long long prefix_bits, pos_bits, presence_log, max_distance;
    Py_ssize_t capacity;
    if (!PyArg_ParseTuple(args, "OOpOpOOLLLOOOOLn", &words, &tables, &wide_tables, &offsets,
                          &wide_offsets, &starts, &lengths, &prefix_bits, &pos_bits,
                          &presence_log, &radii, &masks, &mask_ends, &queries, &max_distance,
                          &capacity))
        return NULL;
    Views views = {.taken = 0};
    Index ix;
    Py_ssize_t n_words, n_tables, n_offsets, n_starts, n_lengths, n_radii, n_masks, n_ends, n_q;
    ix.words = view_of(&views, words, &n_words);
    ix.tables = ix.words ? view_of(&views, tables, &n_tables) : NULL;
    ix.offsets = ix.tables ? view_of(&views, offsets, &n_offsets) : NULL;
    ix.starts = ix.offsets ? view_of(&views, starts, &n_starts) : NULL;
    ix.lengths = ix.starts ? view_of(&views, lengths, &n_lengths) : NULL;
    ix.radii = ix.lengths ? view_of(&views, radii, &n_radii) : NULL;
    ix.masks = ix.radii ? view_of(&views, masks, &n_masks) : NULL;
    ix.mask_ends = ix.masks ? view_of(&views, mask_ends, &n_ends) : NULL;
    const uint64_t *q = ix.mask_ends ? view_of(&views, queries, &n_q) : NULL;
    if (!q) {
        views_release(&views);
        return NULL;
    }
    ix.count = n_words / 32;
    ix.chunks = n_starts / 8;
    ix.wide_tables = wide_tables;
    ix.wide_offsets = wide_offsets;
    ix.buckets = ix.chunks ? n_offsets / (wide_offsets ? 8 : 4) / ix.chunks - 1 : 0;
    ix.mask_count = n_masks / 8;
    ix.prefix_bits = prefix_bits;
    ix.pos_bits = pos_bits;
    ix.presence_log = presence_log;
    ix.start_bits = 0;
    while (ix.start_bits < 63 && ((Py_ssize_t)1 << ix.start_bits) <= ix.count) ix.start_bits++;
    /* Presence bits sit above bucket starts of 32-bit offsets, for rests of <= 6 bits. */
    int presence_ok = presence_log == 0 ||
                      (presence_log >= 1 && presence_log <= 6 && !wide_offsets &&
                       ix.start_bits + (1 << presence_log) <= 32);
    int valid = presence_ok && n_lengths == n_starts && n_radii == n_starts && ix.chunks <= 255 &&
                prefix_bits >= 1 && prefix_bits <= 32 && pos_bits >= 1 && pos_bits <= 63 &&
                n_tables == (ix.chunks - 1) * ix.count * (wide_tables ? 8 : 4);
    for (Py_ssize_t c = 0; valid && c < ix.chunks; c++) {
        int64_t radius = ix.radii[c];
        valid = ix.lengths[c] >= prefix_bits && ix.lengths[c] <= 64 && ix.starts[c] >= 0 &&
                ix.starts[c] + ix.lengths[c] <= 256 && radius < n_ends / 8 &&
                (presence_log == 0 || ix.lengths[c] - prefix_bits <= 6) &&
                (radius < 0 || ix.mask_ends[radius] <= ix.mask_count);
    }
    for (Py_ssize_t m = 0; valid && m < ix.mask_count; m++)
        valid = ix.masks[m] < (UINT64_C(1) << prefix_bits);
    valid = valid && ix.buckets == ((Py_ssize_t)1 << prefix_bits);
    if (!valid) {
        views_release(&views);
        PyErr_SetString(PyExc_ValueError, "index arrays do not match their layout");
        return NULL;
    }
    Pairs pairs;
    int ok = pairs_init(&pairs, capacity);
    Py_BEGIN_ALLOW_THREADS
    if (ok) ok = search_index(&ix, q, n_q / 32, (uint64_t)max_distance, &pairs);
    Py_END_ALLOW_THREADS
    views_release(&views);
    PyObject *result;
    if (ok == -1)
        result = PyErr_Format(PyExc_ValueError, "index bucket bounds outside its tables");
    else
        result = ok ? pairs_result(&pairs) : PyErr_NoMemory();
    pairs_free(&pairs);
    return result;
}

static PyObject *py_scan_all(PyObject *self, PyObject *args) {
    PyObject *words, *queries;
    long long max_distance;
    Py_ssize_t capacity;
    if (!PyArg_ParseTuple(args, "OOLn", &words, &queries, &max_distance, &capacity)) return NULL;
    Views views = {.taken = 0};
    Py_ssize_t n_words, n_q;
    const uint64_t *w = view_of(&views, words, &n_words);
    const uint64_t *q = w ? view_of(&views, queries, &n_q) : NULL;
    if (!q) {
        views_release(&views);
        return NULL;
    }
    Pairs pairs;
    int ok = pairs_init(&pairs, capacity);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t query = 0; ok && query < n_q / 32; query++)
        for (Py_ssize_t row = 0; ok && row < n_words / 32; row++) {
            uint64_t distance = distance_of(w + 4 * row, q + 4 * query);
            if (distance <= (uint64_t)max_distance)
                ok = pairs_add(&pairs, query, row, (int64_t)distance);
        }
    Py_END_ALLOW_THREADS
    views_release(&views);
    PyObject *result = ok ? pairs_result(&pairs) : PyErr_NoMemory();
    pairs_free(&pairs);
    return result;
}

static PyMethodDef methods[] = {
    {"search", py_search, METH_VARARGS,
     "search(words, tables, wide_tables, offsets, wide_offsets, starts, lengths, prefix_bits,"
     " pos_bits, presence_log, radii, masks, mask_ends, queries, max_distance, capacity) ->"
     " (query, row,"
     " distance) as bytes of int64: every pair within max_distance, each once."},
    {"scan_all", py_scan_all, METH_VARARGS,
     "scan_all(words, queries, max_distance, capacity): the brute-force counterpart."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdq_search",
                                    "Compiled exact search of the PDQ index.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__pdq_search(void) { return PyModule_Create(&module); }
