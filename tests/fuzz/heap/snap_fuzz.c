/* snap_fuzz.c: the .heapsnapshot reader (engine/heap/read.c) on arbitrary bytes: it must refuse
 * or accept without a crash, a leak or an out-of-bounds read, and what it accepts must satisfy
 * the invariants the reports rely on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "heap/heap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct hsnap s;
    char err[256];
    if (heap_snap_parse(&s, (const char *)data, size, err, sizeof err) != 0) return 0;
    for (size_t i = 0; i < s.nn; i++) {
        const uint64_t *n = &s.nodes[i * s.nf];
        if (n[s.f_name] >= s.n_strings || n[s.f_type] >= (uint64_t)s.n_node_types) abort();
        if (s.first_edge[i] > s.first_edge[i + 1]) abort();
    }
    for (size_t e = 0; e < s.ne; e++)
        if (s.edges[e * s.ef + s.e_to] / s.nf >= s.nn) abort();
    heap_snap_free(&s);
    return 0;
}
