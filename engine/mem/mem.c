/* mem.c: buffers are their own anonymous mappings, not malloc blocks, so that
 * freeing one returns its pages to the kernel instead of to an allocator arena. */
#include "mem.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static _Atomic size_t buf_bytes, buf_count, buf_max = (size_t)1 << 30;

void mem_set_retained_max(size_t bytes) { atomic_store(&buf_max, bytes); }
size_t mem_retained_max(void) { return atomic_load(&buf_max); }
size_t mem_buffer_bytes(void) { return atomic_load(&buf_bytes); }
size_t mem_buffer_count(void) { return atomic_load(&buf_count); }

int mem_buffer_alloc(struct mem_buffer *b, size_t size, unsigned char fill) {
    b->data = NULL;
    b->size = 0;
    b->live = 0;
    size_t max = atomic_load(&buf_max);
    size_t prev = atomic_fetch_add(&buf_bytes, size);
    if (prev + size < prev || prev + size > max) {
        atomic_fetch_sub(&buf_bytes, size);
        return MEM_ERR_LIMIT;
    }
    if (size > 0) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            atomic_fetch_sub(&buf_bytes, size);
            return MEM_ERR_NOMEM;
        }
        memset(p, fill, size);
        b->data = p;
    }
    b->size = size;
    b->live = 1;
    atomic_fetch_add(&buf_count, 1);
    return MEM_OK;
}

void mem_buffer_free(struct mem_buffer *b) {
    if (!b->live) return;
    if (b->data != NULL) munmap(b->data, b->size);
    atomic_fetch_sub(&buf_bytes, b->size);
    atomic_fetch_sub(&buf_count, 1);
    b->data = NULL;
    b->size = 0;
    b->live = 0;
}

static size_t statm_field(int index) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long v[2] = {0, 0};
    if (f == NULL) return 0;
    if (fscanf(f, "%lu %lu", &v[0], &v[1]) != 2) v[0] = v[1] = 0;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return (size_t)v[index] * (size_t)(page > 0 ? page : 4096);
}

size_t mem_rss_bytes(void) { return statm_field(1); }
size_t mem_virtual_bytes(void) { return statm_field(0); }
