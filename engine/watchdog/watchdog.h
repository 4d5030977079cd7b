/* watchdog: a thread that notices the event loop has not come back for more than a threshold
 * while it is still blocked, names the Lua line that blocks it (through the hook dispatcher),
 * logs the block and its full duration, and keeps the block figures for metrics and status. */
#ifndef PROFLAB_WATCHDOG_H
#define PROFLAB_WATCHDOG_H

#include <lua.h>
#include <stddef.h>

#define WD_STACK_MAX 16
#define WD_FRAME_MAX 160

/* On the loop thread, after met_engine_start (the metric families are registered here) and
 * with the loop initialised. 0, or -1 with err. */
int wd_start(unsigned threshold_ms, char *err, size_t errlen);
void wd_stop(void);

/* The last block as a Lua table (durationMs, inProgress, at, function, stack, thresholdMs),
 * or lab.null-like nil when none happened: pushes nil then. */
void wd_push_last_block(lua_State *L);

/* "scenarios/event-loop-jam.lua" for ".../scenarios/event-loop-jam.lua": the path from the
 * scenarios folder's parent (its last two components). */
const char *wd_short_path(const char *path);

#endif
