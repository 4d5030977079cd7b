/* mem: native memory behind lab.Buffer, and the process's memory figures. */
#ifndef PROFLAB_MEM_H
#define PROFLAB_MEM_H

#include <stddef.h>

enum { MEM_OK = 0, MEM_ERR_LIMIT = -1, MEM_ERR_NOMEM = -2 };

struct mem_buffer {
    unsigned char *data;
    size_t size;
    int live;
};

/* Ceiling of all live buffer bytes together (LAB_MAX_RETAINED_MB). */
void mem_set_retained_max(size_t bytes);
size_t mem_retained_max(void);

/* Maps size bytes and writes fill into every page, so the memory is resident.
 * Returns MEM_OK, MEM_ERR_LIMIT when the ceiling would be passed, MEM_ERR_NOMEM. */
int mem_buffer_alloc(struct mem_buffer *b, size_t size, unsigned char fill);
/* Unmaps: the pages go back to the operating system at once. */
void mem_buffer_free(struct mem_buffer *b);

/* Live buffers, readable from any thread. */
size_t mem_buffer_bytes(void);
size_t mem_buffer_count(void);

/* From /proc/self/statm; 0 when it cannot be read. */
size_t mem_rss_bytes(void);
size_t mem_virtual_bytes(void);

#endif
