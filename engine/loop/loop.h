/* loop: the one event loop thread: h2o's evloop plus a timer heap of arbitrary delays. */
#ifndef PROFLAB_LOOP_H
#define PROFLAB_LOOP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct st_h2o_evloop_t h2o_evloop_t;

struct loop_timer {
    uint64_t due_us;
    size_t slot; /* index in the heap + 1; 0 when not scheduled */
    void (*cb)(struct loop_timer *t);
};

int loop_init(void);
void loop_dispose(void);
h2o_evloop_t *loop_evloop(void);

/* Starts a thread that watches the loop from outside (watchdog, admin listener, inspector): it
 * never takes SIGTERM or SIGINT, so they interrupt the loop thread's wait and a stop is prompt.
 * 0, or the pthread_create error. */
int loop_helper_start(pthread_t *thread, void *(*fn)(void *), void *arg);

/* Monotonic time. */
uint64_t loop_now_us(void);

/* Schedules t->cb after delay_us; a scheduled timer is moved. Returns 0 or -1 (no memory). */
int loop_timer_start(struct loop_timer *t, uint64_t delay_us, void (*cb)(struct loop_timer *t));
void loop_timer_stop(struct loop_timer *t);
size_t loop_timer_count(void);

/* poll.c: idle and busy marks, readable from any thread and from a signal handler.
 * loop_init marks the calling thread as the loop thread. */
void loop_mark_thread(void);
/* 1 while the loop thread waits for I/O (inside h2o's epoll_wait), else 0. */
int loop_polling(void);
/* Time the loop thread spent waiting for I/O since loop_init, the wait in progress included. */
uint64_t loop_idle_us(void);
uint64_t loop_started_us(void);
/* The heartbeat: loop_run_once calls loop_mark_pass at the end of every pass. When the loop
 * last came back: the later of the last pass's end and the last wait's end. */
void loop_mark_pass(void);
uint64_t loop_busy_since_us(void);

/* One pass: wait for I/O no longer than the next timer (and max_wait_ms), run the due timers,
 * flush the log. Returns 0, or -1 on an error other than EINTR. */
int loop_run_once(int32_t max_wait_ms);

#endif
