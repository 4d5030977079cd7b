/* poll.c: idle and busy marks for the loop thread. h2o's evloop waits in epoll_wait inside
 * h2o_evloop_run, then runs the callbacks of what it returned: only the wait itself is idle.
 * The engine defines epoll_wait (the executable's definition is the one libh2o-evloop.so
 * binds to) and forwards to the next one, marking the wait when the loop thread makes it.
 * The marks are atomics: the watchdog, the metrics and the profiler read them from other
 * threads or a signal handler. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/epoll.h>

#include "loop.h"

typedef int (*epoll_wait_fn)(int, struct epoll_event *, int, int);

static __thread int is_loop_thread;
static _Atomic int polling;
static _Atomic uint64_t idle_us, poll_since_us, poll_exit_us, pass_end_us, started_us;
static _Atomic(epoll_wait_fn) next_epoll_wait;
/* A sequence count around each update of the marks (odd while one is under way), so that a
 * reader on another thread sees the idle total and the wait in progress of the same moment:
 * without it the idle counter could step back by a whole wait, which Prometheus reads as a reset. */
static _Atomic unsigned seq;

void loop_mark_thread(void) {
    is_loop_thread = 1;
    uint64_t now = loop_now_us();
    atomic_store(&started_us, now);
    atomic_store(&pass_end_us, now);
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    epoll_wait_fn fn = atomic_load(&next_epoll_wait);
    if (fn == NULL) {
        fn = (epoll_wait_fn)dlsym(RTLD_NEXT, "epoll_wait");
        if (fn == NULL) {
            errno = ENOSYS;
            return -1;
        }
        atomic_store(&next_epoll_wait, fn);
    }
    if (!is_loop_thread) return fn(epfd, events, maxevents, timeout);
    uint64_t t0 = loop_now_us();
    atomic_fetch_add(&seq, 1u);
    atomic_store(&poll_since_us, t0);
    atomic_store(&polling, 1);
    atomic_fetch_add(&seq, 1u);
    int r = fn(epfd, events, maxevents, timeout);
    int saved = errno;
    uint64_t t1 = loop_now_us();
    atomic_fetch_add(&seq, 1u);
    atomic_store(&polling, 0);
    atomic_fetch_add(&idle_us, t1 - t0);
    atomic_store(&poll_exit_us, t1);
    atomic_fetch_add(&seq, 1u);
    errno = saved;
    return r;
}

int loop_polling(void) { return atomic_load(&polling); }

uint64_t loop_idle_us(void) {
    uint64_t idle = 0, since = 0;
    int in_poll = 0;
    /* bounded: a reader that interrupted the writer on its own thread cannot wait for it */
    for (int tries = 0; tries < 1000; tries++) {
        unsigned s = atomic_load(&seq);
        if (s & 1u) continue;
        idle = atomic_load(&idle_us);
        in_poll = atomic_load(&polling);
        since = atomic_load(&poll_since_us);
        if (atomic_load(&seq) == s) break;
    }
    if (in_poll) {
        uint64_t now = loop_now_us();
        if (now > since) idle += now - since;
    }
    return idle;
}

uint64_t loop_started_us(void) { return atomic_load(&started_us); }

void loop_mark_pass(void) { atomic_store(&pass_end_us, loop_now_us()); }

uint64_t loop_busy_since_us(void) {
    uint64_t a = atomic_load(&pass_end_us), b = atomic_load(&poll_exit_us);
    return a > b ? a : b;
}
