/* loop: the one event loop thread: h2o's evloop plus a timer heap of arbitrary delays. */
#ifndef PROFLAB_LOOP_H
#define PROFLAB_LOOP_H

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

/* Monotonic time. */
uint64_t loop_now_us(void);

/* Schedules t->cb after delay_us; a scheduled timer is moved. Returns 0 or -1 (no memory). */
int loop_timer_start(struct loop_timer *t, uint64_t delay_us, void (*cb)(struct loop_timer *t));
void loop_timer_stop(struct loop_timer *t);
size_t loop_timer_count(void);

/* One pass: wait for I/O no longer than the next timer (and max_wait_ms), run the due timers,
 * flush the log. Returns 0, or -1 on an error other than EINTR. */
int loop_run_once(int32_t max_wait_ms);

#endif
