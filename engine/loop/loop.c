/* loop.c: h2o 2.2.5's timeouts have one fixed duration per list, so lab.sleep's
 * arbitrary delays live in a binary heap here that bounds each evloop wait. */
#define H2O_USE_LIBUV 0
#include "loop.h"

#include <errno.h>
#include <h2o.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "../log/log.h"

static h2o_evloop_t *evloop;
static struct loop_timer **heap;
static size_t heap_len, heap_cap;

int loop_init(void) {
    evloop = h2o_evloop_create();
    loop_mark_thread();
    return evloop != NULL ? 0 : -1;
}

void loop_dispose(void) {
    free(heap);
    heap = NULL;
    heap_len = heap_cap = 0;
    /* h2o 2.2.5 has no h2o_evloop_destroy: the loop lives until exit */
}

h2o_evloop_t *loop_evloop(void) { return evloop; }

uint64_t loop_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void place(size_t i, struct loop_timer *t) {
    heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(size_t i) {
    struct loop_timer *t = heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent]->due_us <= t->due_us) break;
        place(i, heap[parent]);
        i = parent;
    }
    place(i, t);
}

static void sift_down(size_t i) {
    struct loop_timer *t = heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_len) break;
        if (c + 1 < heap_len && heap[c + 1]->due_us < heap[c]->due_us) c++;
        if (heap[c]->due_us >= t->due_us) break;
        place(i, heap[c]);
        i = c;
    }
    place(i, t);
}

void loop_timer_stop(struct loop_timer *t) {
    if (t->slot == 0) return;
    size_t i = t->slot - 1;
    t->slot = 0;
    heap_len--;
    if (i == heap_len) return;
    place(i, heap[heap_len]);
    sift_down(i);
    sift_up(heap[i]->slot - 1);
}

int loop_timer_start(struct loop_timer *t, uint64_t delay_us, void (*cb)(struct loop_timer *t)) {
    loop_timer_stop(t);
    if (heap_len == heap_cap) {
        size_t cap = heap_cap ? heap_cap * 2 : 64;
        struct loop_timer **h = realloc(heap, cap * sizeof *h);
        if (h == NULL) return -1;
        heap = h;
        heap_cap = cap;
    }
    t->due_us = loop_now_us() + delay_us;
    t->cb = cb;
    place(heap_len++, t);
    sift_up(heap_len - 1);
    return 0;
}

size_t loop_timer_count(void) { return heap_len; }

int loop_run_once(int32_t max_wait_ms) {
    int32_t wait = max_wait_ms;
    if (heap_len > 0) {
        uint64_t now = loop_now_us(), due = heap[0]->due_us;
        uint64_t ms = due > now ? (due - now + 999) / 1000 : 0;
        if (ms < (uint64_t)wait) wait = (int32_t)ms;
    }
    log_set_buffered(1);
    int ret = h2o_evloop_run(evloop, wait);
    if (ret != 0 && errno != EINTR) ret = -1;
    else ret = 0;
    uint64_t now = loop_now_us();
    while (heap_len > 0 && heap[0]->due_us <= now) {
        struct loop_timer *t = heap[0];
        loop_timer_stop(t);
        t->cb(t);
    }
    log_flush();
    loop_mark_pass();
    return ret;
}

int loop_helper_start(pthread_t *thread, void *(*fn)(void *), void *arg) {
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    int e = pthread_sigmask(SIG_BLOCK, &stop, &old); /* the new thread inherits the mask */
    if (e != 0) return e;
    e = pthread_create(thread, NULL, fn, arg);
    int r = pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e != 0 ? e : r;
}
