/* mem_test.c: lab.Buffer memory: the ceiling, the counters, the fill, and real RSS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "mem/mem.h"

#define MiB ((size_t)1 << 20)

/* Every test starts with no live buffer and the default-sized ceiling. */
static int setup(void **state) {
    (void)state;
    if (mem_buffer_count() != 0 || mem_buffer_bytes() != 0) return -1;
    mem_set_retained_max((size_t)1 << 30);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    return mem_buffer_count() == 0 && mem_buffer_bytes() == 0 ? 0 : -1;
}

static void test_limit(void **state) {
    (void)state;
    struct mem_buffer a, b, c;
    mem_set_retained_max(MiB);
    assert_true(mem_retained_max() == MiB);

    /* over the ceiling from nothing: refused, nothing counted, the buffer left empty */
    memset(&b, 0x5a, sizeof b);
    assert_int_equal(mem_buffer_alloc(&b, MiB + 1, 1), MEM_ERR_LIMIT);
    assert_null(b.data);
    assert_int_equal(b.size, 0);
    assert_int_equal(b.live, 0);
    assert_int_equal(mem_buffer_count(), 0);
    assert_int_equal(mem_buffer_bytes(), 0);
    mem_buffer_free(&b); /* freeing a refused buffer does nothing */
    assert_int_equal(mem_buffer_count(), 0);

    /* exactly at the ceiling is allowed, one byte more is not */
    assert_int_equal(mem_buffer_alloc(&a, MiB - 4096, 1), MEM_OK);
    assert_int_equal(mem_buffer_alloc(&b, 4097, 1), MEM_ERR_LIMIT);
    assert_true(mem_buffer_bytes() == MiB - 4096);
    assert_int_equal(mem_buffer_count(), 1);
    assert_int_equal(mem_buffer_alloc(&b, 4096, 1), MEM_OK);
    assert_true(mem_buffer_bytes() == MiB);
    assert_int_equal(mem_buffer_count(), 2);
    /* full: even a one-byte buffer is refused, a zero-byte one is not */
    assert_int_equal(mem_buffer_alloc(&c, 1, 1), MEM_ERR_LIMIT);
    assert_int_equal(mem_buffer_count(), 2);
    assert_true(mem_buffer_bytes() == MiB);
    assert_int_equal(mem_buffer_alloc(&c, 0, 1), MEM_OK);
    assert_int_equal(mem_buffer_count(), 3);
    mem_buffer_free(&c);

    /* freeing makes room again */
    mem_buffer_free(&a);
    assert_int_equal(mem_buffer_alloc(&c, MiB - 4096, 2), MEM_OK);
    mem_buffer_free(&b);
    mem_buffer_free(&c);

    /* lowering the ceiling under what is live keeps the buffers and refuses new ones */
    assert_int_equal(mem_buffer_alloc(&a, 64 * 1024, 3), MEM_OK);
    mem_set_retained_max(4096);
    assert_int_equal(mem_buffer_alloc(&b, 1, 1), MEM_ERR_LIMIT);
    assert_true(mem_buffer_bytes() == 64 * 1024);
    assert_int_equal(a.data[64 * 1024 - 1], 3);
    mem_buffer_free(&a);
    assert_int_equal(mem_buffer_alloc(&b, 4096, 1), MEM_OK);
    mem_buffer_free(&b);
}

/* Sizes that would wrap the byte counter, and a mapping the kernel refuses. */
static void test_overflow_and_nomem(void **state) {
    (void)state;
    struct mem_buffer a, b;
    mem_set_retained_max(SIZE_MAX);
    assert_int_equal(mem_buffer_alloc(&a, 4096, 0), MEM_OK);
    assert_int_equal(mem_buffer_alloc(&b, SIZE_MAX, 0), MEM_ERR_LIMIT);
    assert_int_equal(mem_buffer_alloc(&b, SIZE_MAX - 4095, 0), MEM_ERR_LIMIT);
    assert_true(mem_buffer_bytes() == 4096);
    assert_int_equal(mem_buffer_count(), 1);
    /* 2^60 bytes fits the counter but not the address space */
    assert_int_equal(mem_buffer_alloc(&b, (size_t)1 << 60, 0), MEM_ERR_NOMEM);
    assert_null(b.data);
    assert_int_equal(b.live, 0);
    assert_true(mem_buffer_bytes() == 4096);
    assert_int_equal(mem_buffer_count(), 1);
    mem_buffer_free(&a);
}

static void test_counters(void **state) {
    (void)state;
    struct mem_buffer b[3];
    size_t sizes[3] = {4096, 10000, MiB};
    size_t total = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mem_buffer_alloc(&b[i], sizes[i], (unsigned char)i), MEM_OK);
        total += sizes[i];
        assert_int_equal(mem_buffer_count(), i + 1);
        assert_true(mem_buffer_bytes() == total);
        assert_int_equal(b[i].live, 1);
        assert_true(b[i].size == sizes[i]);
        assert_non_null(b[i].data);
    }
    /* free out of order; a second free of the same buffer changes nothing */
    mem_buffer_free(&b[1]);
    assert_int_equal(mem_buffer_count(), 2);
    assert_true(mem_buffer_bytes() == 4096 + MiB);
    assert_null(b[1].data);
    assert_int_equal(b[1].size, 0);
    assert_int_equal(b[1].live, 0);
    mem_buffer_free(&b[1]);
    mem_buffer_free(&b[1]);
    assert_int_equal(mem_buffer_count(), 2);
    assert_true(mem_buffer_bytes() == 4096 + MiB);
    mem_buffer_free(&b[2]);
    mem_buffer_free(&b[0]);
    mem_buffer_free(&b[0]);
    assert_int_equal(mem_buffer_count(), 0);
    assert_int_equal(mem_buffer_bytes(), 0);
}

static void test_zero_size(void **state) {
    (void)state;
    struct mem_buffer b;
    assert_int_equal(mem_buffer_alloc(&b, 0, 0xff), MEM_OK);
    assert_int_equal(b.live, 1);
    assert_int_equal(b.size, 0);
    assert_null(b.data);
    assert_int_equal(mem_buffer_count(), 1);
    assert_int_equal(mem_buffer_bytes(), 0);
    mem_buffer_free(&b);
    assert_int_equal(b.live, 0);
    assert_int_equal(mem_buffer_count(), 0);
    mem_buffer_free(&b);
    assert_int_equal(mem_buffer_count(), 0);
}

static void test_fill(void **state) {
    (void)state;
    const size_t sizes[] = {1, 4095, 4096, 4097, 3 * MiB + 7};
    const unsigned char fills[] = {0x00, 0xab, 0xff, 0x01, 0x7e};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct mem_buffer b;
        assert_int_equal(mem_buffer_alloc(&b, sizes[k], fills[k]), MEM_OK);
        assert_int_equal(b.data[0], fills[k]);
        assert_int_equal(b.data[sizes[k] - 1], fills[k]);
        for (size_t i = 0; i < sizes[k]; i += 4096) assert_int_equal(b.data[i], fills[k]);
        b.data[sizes[k] - 1] ^= 0xff; /* writable to the last byte */
        mem_buffer_free(&b);
    }
}

/* The pages are resident after the alloc and given back to the kernel by the free. */
static void test_rss(void **state) {
    (void)state;
    const size_t size = 32 * MiB;
    const size_t enough = size / 10 * 9;
    size_t rss0 = mem_rss_bytes(), virt0 = mem_virtual_bytes();
    assert_true(rss0 > 0);
    assert_true(virt0 >= rss0);

    struct mem_buffer b;
    assert_int_equal(mem_buffer_alloc(&b, size, 0x5c), MEM_OK);
    size_t rss1 = mem_rss_bytes(), virt1 = mem_virtual_bytes();
    print_message("rss %zu KiB -> %zu KiB after a %zu KiB buffer\n", rss0 >> 10, rss1 >> 10, size >> 10);
    if (rss1 < rss0 + enough) fail_msg("RSS grew by %zu KiB, want at least %zu", (rss1 - rss0) >> 10, enough >> 10);
    assert_true(virt1 >= virt0 + size);

    mem_buffer_free(&b);
    size_t rss2 = mem_rss_bytes();
    print_message("rss %zu KiB after the free\n", rss2 >> 10);
    if (rss2 + enough > rss1) fail_msg("RSS fell by %zu KiB, want at least %zu", (rss1 - rss2) >> 10, enough >> 10);
}

/* The counters are atomic: threads allocating and freeing leave them at zero. */
static void *churn(void *arg) {
    (void)arg;
    for (int i = 0; i < 500; i++) {
        struct mem_buffer b;
        if (mem_buffer_alloc(&b, 4096 * (size_t)(1 + i % 4), (unsigned char)i) != MEM_OK) return (void *)1;
        mem_buffer_free(&b);
    }
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_null(r);
    }
    assert_int_equal(mem_buffer_count(), 0);
    assert_int_equal(mem_buffer_bytes(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_and_nomem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
