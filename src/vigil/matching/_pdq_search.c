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
} Index;

static inline uint64_t table_entry(const Index *ix, Py_ssize_t table, Py_ssize_t slot) {
    Py_ssize_t at = table * ix->count + slot;
    return ix->wide_tables ? ((const uint64_t *)ix->tables)[at]
                           : ((const uint32_t *)ix->tables)[at];
}

static inline const void *table_address(const Index *ix, Py_ssize_t table, Py_ssize_t slot) {
    Py_ssize_t at = table * ix->count + slot;
    return ix->wide_tables ? (const void *)((const uint64_t *)ix->tables + at)
                           : (const void *)((const uint32_t *)ix->tables + at);
}

static inline int64_t bucket_start(const Index *ix, Py_ssize_t chunk, uint64_t bucket) {
    Py_ssize_t at = chunk * (ix->buckets + 1) + (Py_ssize_t)bucket;
    return ix->wide_offsets ? ((const int64_t *)ix->offsets)[at]
                            : (int64_t)((const uint32_t *)ix->offsets)[at];
}

static inline const void *bucket_address(const Index *ix, Py_ssize_t chunk, uint64_t bucket) {
    Py_ssize_t at = chunk * (ix->buckets + 1) + (Py_ssize_t)bucket;
    return ix->wide_offsets ? (const void *)((const int64_t *)ix->offsets + at)
                            : (const void *)((const uint32_t *)ix->offsets + at);
}

typedef struct {
    int64_t chunk;
    uint64_t bucket;
    uint64_t rest;
    uint64_t rest_mask;
    uint64_t spare;
    int64_t first;
    int64_t last;
} Probe;

/* Candidate: a bank row and the chunk that proposed it (packed: row << 8 | chunk). */
#define CANDIDATE(row, chunk) (((uint64_t)(row) << 8) | (uint64_t)(chunk))

/* 1: done; 0: out of memory; -1: bucket bounds outside the tables (damaged index). */
static int search_index(const Index *ix, const uint64_t *queries, Py_ssize_t query_count,
                        uint64_t limit, Pairs *pairs) {
    Py_ssize_t room = 0;
    for (Py_ssize_t chunk = 0; chunk < ix->chunks; chunk++)
        if (ix->radii[chunk] >= 0) room += ix->mask_ends[ix->radii[chunk]];
    Probe *probes = malloc((room > 0 ? room : 1) * sizeof(Probe));
    Py_ssize_t candidate_room = 4096;
    uint64_t *candidates = malloc(candidate_room * sizeof(uint64_t));
    int ok = probes && candidates;
    int bad = 0;
    uint64_t pos_mask = (UINT64_C(1) << ix->pos_bits) - 1;
    for (Py_ssize_t query = 0; ok && query < query_count; query++) {
        const uint64_t *q = queries + 4 * query;
        /* Pass 1: every probed bucket, then its bounds. */
        Py_ssize_t used = 0;
        for (Py_ssize_t chunk = 0; chunk < ix->chunks; chunk++) {
            int64_t radius = ix->radii[chunk];
            if (radius < 0) continue;
            int64_t rest_bits = ix->lengths[chunk] - ix->prefix_bits;
            uint64_t rest_mask = (UINT64_C(1) << rest_bits) - 1;
            uint64_t value = bits_of(q, ix->starts[chunk], ix->lengths[chunk]);
            uint64_t prefix = value >> rest_bits;
            for (int64_t m = 0; m < ix->mask_ends[radius]; m++) {
                Probe *p = &probes[used++];
                p->chunk = chunk;
                p->bucket = prefix ^ ix->masks[m];
                p->rest = value & rest_mask;
                p->rest_mask = rest_mask;
                p->spare = (uint64_t)radius - (uint64_t)__builtin_popcountll(ix->masks[m]);
            }
        }
        Py_ssize_t total = 0;
        for (Py_ssize_t i = 0; i < used; i++) {
            if (i + AHEAD < used)
                __builtin_prefetch(bucket_address(ix, probes[i + AHEAD].chunk,
                                                  probes[i + AHEAD].bucket), 0, 3);
            Probe *p = &probes[i];
            p->first = bucket_start(ix, p->chunk, p->bucket);
            p->last = bucket_start(ix, p->chunk, p->bucket + 1);
            total += p->last - p->first;
            /* A damaged file must not send the reads outside the tables. */
            bad |= p->first < 0 || p->last < p->first || p->last > ix->count;
        }
        if (bad) {
            ok = -1;
            break;
        }
        /* Pass 2: rows whose chunk is within the radius (branch-free append). */
        if (total > candidate_room) {
            free(candidates);
            candidate_room = 2 * total;
            candidates = malloc(candidate_room * sizeof(uint64_t));
            if (!candidates) {
                ok = 0;
                break;
            }
        }
        Py_ssize_t count = 0;
        for (Py_ssize_t i = 0; i < used; i++) {
            if (i + AHEAD < used) {
                /* A bucket often spans two cache lines: fetch both ends (a prefetch
                 * never faults, so an empty bucket's ends are harmless). */
                const Probe *a = &probes[i + AHEAD];
                if (a->chunk == 0) {
                    __builtin_prefetch(ix->words + 4 * a->first, 0, 3);
                    __builtin_prefetch(ix->words + 4 * (a->last - 1), 0, 3);
                } else {
                    __builtin_prefetch(table_address(ix, a->chunk - 1, a->first), 0, 3);
                    __builtin_prefetch(table_address(ix, a->chunk - 1, a->last - 1), 0, 3);
                }
            }
            const Probe *p = &probes[i];
            if (p->chunk == 0) {
                /* Chunk 0 starts at bit 0: its remaining bits are word 0's lowest. */
                for (int64_t row = p->first; row < p->last; row++) {
                    candidates[count] = CANDIDATE(row, 0);
                    count += (uint64_t)__builtin_popcountll((ix->words[4 * row] & p->rest_mask) ^
                                                            p->rest) <= p->spare;
                }
            } else if (ix->wide_tables) {
                const uint64_t *slots = (const uint64_t *)ix->tables + (p->chunk - 1) * ix->count;
                for (int64_t slot = p->first; slot < p->last; slot++) {
                    uint64_t entry = slots[slot];
                    candidates[count] = CANDIDATE(entry & pos_mask, p->chunk);
                    count += (uint64_t)__builtin_popcountll((entry >> ix->pos_bits) ^ p->rest) <=
                             p->spare;
                }
            } else {
                const uint32_t *slots = (const uint32_t *)ix->tables + (p->chunk - 1) * ix->count;
                for (int64_t slot = p->first; slot < p->last; slot++) {
                    uint64_t entry = slots[slot];
                    candidates[count] = CANDIDATE(entry & pos_mask, p->chunk);
                    count += (uint64_t)__builtin_popcountll((entry >> ix->pos_bits) ^ p->rest) <=
                             p->spare;
                }
            }
        }
        /* Pass 3: full distance, and report each pair from the first chunk finding it. */
        for (Py_ssize_t c = 0; c < count; c++) {
            if (c + AHEAD < count) __builtin_prefetch(ix->words + 4 * (candidates[c + AHEAD] >> 8), 0, 3);
            int64_t row = (int64_t)(candidates[c] >> 8);
            int64_t found_by = (int64_t)(candidates[c] & 0xff);
            const uint64_t *w = ix->words + 4 * row;
            uint64_t x[4] = {w[0] ^ q[0], w[1] ^ q[1], w[2] ^ q[2], w[3] ^ q[3]};
            uint64_t distance = (uint64_t)(__builtin_popcountll(x[0]) + __builtin_popcountll(x[1]) +
                                           __builtin_popcountll(x[2]) + __builtin_popcountll(x[3]));
            if (distance > limit) continue;
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
    free(candidates);
    return ok;
}

static PyObject *py_search(PyObject *self, PyObject *args) {
    PyObject *words, *tables, *offsets, *starts, *lengths, *radii, *masks, *mask_ends, *queries;
    int wide_tables, wide_offsets;
    long long prefix_bits, pos_bits, max_distance;
    Py_ssize_t capacity;
    if (!PyArg_ParseTuple(args, "OOpOpOOLLOOOOLn", &words, &tables, &wide_tables, &offsets,
                          &wide_offsets, &starts, &lengths, &prefix_bits, &pos_bits, &radii,
                          &masks, &mask_ends, &queries, &max_distance, &capacity))
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
    int valid = n_lengths == n_starts && n_radii == n_starts && ix.chunks <= 255 &&
                prefix_bits >= 1 && prefix_bits <= 32 && pos_bits >= 1 && pos_bits <= 63 &&
                n_tables == (ix.chunks - 1) * ix.count * (wide_tables ? 8 : 4);
    for (Py_ssize_t c = 0; valid && c < ix.chunks; c++) {
        int64_t radius = ix.radii[c];
        valid = ix.lengths[c] >= prefix_bits && ix.lengths[c] <= 64 && ix.starts[c] >= 0 &&
                ix.starts[c] + ix.lengths[c] <= 256 && radius < n_ends / 8 &&
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
     " pos_bits, radii, masks, mask_ends, queries, max_distance, capacity) -> (query, row,"
     " distance) as bytes of int64: every pair within max_distance, each once."},
    {"scan_all", py_scan_all, METH_VARARGS,
     "scan_all(words, queries, max_distance, capacity): the brute-force counterpart."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdq_search",
                                    "Compiled exact search of the PDQ index.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__pdq_search(void) { return PyModule_Create(&module); }
