/* watchdog.c: the loop's heartbeat is loop_busy_since_us (the end of its last pass or of its
 * last wait for I/O). A thread looks at it every few milliseconds; past the threshold, with
 * the loop not waiting for I/O, the loop is blocked. The thread arms a one-shot hook: the next
 * Lua instruction the loop thread runs reads its own stack there. Log lines are written with
 * one write(2) each, from whichever thread knows: the engine's log buffer is the loop
 * thread's and is flushed only when the loop comes back. */
#include "watchdog.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../loop/loop.h"
#include "../metrics/metrics.h"
#include "../rt/hook.h"

static struct {
    uint64_t threshold_us;
    pthread_t thread;
    _Atomic int started;
    int hook;
    _Atomic int stop;
    _Atomic uint64_t block_start; /* the busy-since mark of the block in progress, 0 when none */
    _Atomic unsigned gen;         /* blocks seen; a capture belongs to one */
    _Atomic unsigned want;        /* the block whose stack the hook should capture, 0 when none */
    _Atomic unsigned captured;    /* the block whose stack was captured */
    struct met_series *blocked, *total, *durations;
} wd;

/* The last block, written by the hook (loop thread) and the watchdog thread, read by status. */
static struct {
    pthread_mutex_t lock;
    int any, in_progress, n_frames;
    double duration_ms;
    char at[WD_FRAME_MAX], function[WD_FRAME_MAX];
    char stack[WD_STACK_MAX][WD_FRAME_MAX];
} last = {.lock = PTHREAD_MUTEX_INITIALIZER};

const char *wd_short_path(const char *path) {
    const char *end = path + strlen(path), *p = end;
    int slashes = 0;
    while (p > path) {
        p--;
        if (*p == '/' && ++slashes == 2) return p + 1;
    }
    return path;
}

static void stamp(char *out, size_t outlen) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, outlen - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* A logfmt line in one write: msg and the at/function fields are quoted as log.c quotes them
 * (the values come from file names, so quotes and backslashes are escaped). */
static void put_quoted(char *out, size_t outlen, size_t *o, const char *v) {
    if (*o < outlen) out[(*o)++] = '"';
    for (; *v && *o + 3 < outlen; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\') out[(*o)++] = '\\';
        out[(*o)++] = c < ' ' ? '?' : (char)c;
    }
    if (*o < outlen) out[(*o)++] = '"';
}

static void log_line(const char *level, const char *msg, const char *at, const char *function, double ms) {
    char line[1024], ts[40];
    size_t o = 0;
    stamp(ts, sizeof ts);
    o += (size_t)snprintf(line, sizeof line, "ts=%s level=%s msg=", ts, level);
    put_quoted(line, sizeof line - 80, &o, msg);
    if (at != NULL && at[0]) {
        o += (size_t)snprintf(line + o, sizeof line - o, " at=");
        put_quoted(line, sizeof line - 60, &o, at);
    }
    if (function != NULL && function[0]) {
        o += (size_t)snprintf(line + o, sizeof line - o, " function=");
        put_quoted(line, sizeof line - 30, &o, function);
    }
    o += (size_t)snprintf(line + o, sizeof line - o, " blocked_ms=%.1f\n", ms);
    if (o > sizeof line) o = sizeof line;
    ssize_t w = write(STDERR_FILENO, line, o);
    (void)w; /* nowhere to report a failing stderr */
}

/* A function the engine called (a scenario's run, status, ...) has no name in the debug info:
 * find it among the fields of the loaded scenario tables (lab.scenarios), as luaL_traceback
 * finds global functions in package.loaded. Only existing strings are pushed: no allocation. */
static int scenario_field(lua_State *L, lua_Debug *ar, char *fn, size_t fnlen) {
    if (!lua_checkstack(L, 8)) return 0;
    int top = lua_gettop(L), found = 0;
    lua_getinfo(L, "f", ar);
    if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE) == LUA_TTABLE && lua_getfield(L, -1, "lab") == LUA_TTABLE &&
        lua_getfield(L, -1, "scenarios") == LUA_TTABLE) {
        lua_pushnil(L);
        while (!found && lua_next(L, -2) != 0) {
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_pushnil(L);
                while (!found && lua_next(L, -2) != 0) {
                    if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, top + 1)) {
                        snprintf(fn, fnlen, "%.60s", lua_tostring(L, -2));
                        found = 1;
                    }
                    lua_pop(L, 1);
                }
            }
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
    return found;
}

static void describe(lua_State *L, lua_Debug *ar, char *frame, size_t len, char *fn, size_t fnlen) {
    const char *src = ar->source[0] == '@' ? wd_short_path(ar->source + 1) : ar->short_src;
    if (ar->name != NULL) snprintf(fn, fnlen, "%s", ar->name);
    else if (strcmp(ar->what, "main") == 0) snprintf(fn, fnlen, "main chunk");
    else if (strcmp(ar->what, "C") == 0) snprintf(fn, fnlen, "?");
    else if (!scenario_field(L, ar, fn, fnlen)) snprintf(fn, fnlen, "function <%.100s:%d>", src, ar->linedefined);
    /* frames are cut to WD_FRAME_MAX: a path and a name of 70 bytes each fit */
    if (strcmp(ar->what, "C") == 0) snprintf(frame, len, "[C] in %.140s", fn);
    else snprintf(frame, len, "%.70s:%d in %.70s", src, ar->currentline, fn);
}

/* The one-shot hook, on the loop thread inside Lua. */
static void on_hook(lua_State *L, lua_Debug *unused, void *ud) {
    unsigned want = atomic_load(&wd.want);
    uint64_t start = atomic_load(&wd.block_start);
    if (want == 0 || start == 0) return;
    char frames[WD_STACK_MAX][WD_FRAME_MAX], at[WD_FRAME_MAX] = "", function[WD_FRAME_MAX] = "";
    int n = 0;
    lua_Debug ar;
    for (int level = 0; n < WD_STACK_MAX && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sln", &ar)) break;
        char fn[WD_FRAME_MAX];
        describe(L, &ar, frames[n], WD_FRAME_MAX, fn, sizeof fn);
        if (at[0] == '\0' && ar.currentline > 0) {
            const char *src = ar.source[0] == '@' ? wd_short_path(ar.source + 1) : ar.short_src;
            snprintf(at, sizeof at, "%.*s:%d", (int)(sizeof at - 16), src, ar.currentline);
            snprintf(function, sizeof function, "%s", fn);
        }
        n++;
    }
    pthread_mutex_lock(&last.lock);
    last.n_frames = n;
    memcpy(last.stack, frames, sizeof frames);
    snprintf(last.at, sizeof last.at, "%s", at);
    snprintf(last.function, sizeof last.function, "%s", function);
    pthread_mutex_unlock(&last.lock);
    atomic_store(&wd.captured, want);
    atomic_store(&wd.want, 0u);
    char msg[400];
    double ms = (double)(loop_now_us() - start) / 1000.0;
    if (at[0]) snprintf(msg, sizeof msg, "event loop blocked %llu ms+ at %s in %s", (unsigned long long)(wd.threshold_us / 1000), at, function);
    else snprintf(msg, sizeof msg, "event loop blocked %llu ms+ in C code called from Lua", (unsigned long long)(wd.threshold_us / 1000));
    log_line("warn", msg, at, function, ms);
}

static void block_begin(uint64_t since, uint64_t now) {
    unsigned g = atomic_fetch_add(&wd.gen, 1u) + 1u;
    if (g == 0) g = atomic_fetch_add(&wd.gen, 1u) + 1u;
    pthread_mutex_lock(&last.lock);
    last.any = 1;
    last.in_progress = 1;
    last.duration_ms = (double)(now - since) / 1000.0;
    last.n_frames = 0;
    last.at[0] = last.function[0] = '\0';
    pthread_mutex_unlock(&last.lock);
    atomic_store(&wd.block_start, since);
    met_add(wd.total, 1);
    atomic_store(&wd.want, g);
    if (hook_running() != NULL) hook_arm(wd.hook);
}

static void block_end(uint64_t start, uint64_t end) {
    atomic_store(&wd.want, 0u);
    unsigned g = atomic_load(&wd.gen);
    double ms = (double)(end - start) / 1000.0;
    met_observe(wd.durations, ms / 1000.0);
    char at[WD_FRAME_MAX], function[WD_FRAME_MAX], msg[400];
    pthread_mutex_lock(&last.lock);
    last.in_progress = 0;
    last.duration_ms = ms;
    snprintf(at, sizeof at, "%s", last.at);
    snprintf(function, sizeof function, "%s", last.function);
    pthread_mutex_unlock(&last.lock);
    atomic_store(&wd.block_start, 0);
    if (atomic_load(&wd.captured) == g && at[0]) snprintf(msg, sizeof msg, "event loop unblocked after %.0f ms at %s in %s", ms, at, function);
    else snprintf(msg, sizeof msg, "event loop unblocked after %.0f ms (no Lua line: the loop was in C code)", ms);
    log_line("warn", msg, at, function, ms);
}

/* The block state machine, run by the watchdog thread every tick and by every scrape (so a
 * scrape right after the loop came back never shows a finished block as ongoing). */
static pthread_mutex_t step_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cur_start, tick_us;
static int reported_c;

/* Returns how long the thread may sleep: while the loop is free, until the earliest moment
 * a block could pass the threshold (about 10 wake-ups a second at idle instead of 50). */
static uint64_t step(void) {
    uint64_t sleep_us = tick_us;
    pthread_mutex_lock(&step_lock);
    uint64_t since = loop_busy_since_us(), now = loop_now_us();
    int polling = loop_polling();
    if (cur_start == 0) {
        if (!polling && now > since && now - since > wd.threshold_us) {
            cur_start = since;
            reported_c = 0;
            block_begin(since, now);
        } else {
            uint64_t due = since + wd.threshold_us + 1000;
            sleep_us = due > now ? due - now : tick_us;
            if (sleep_us < tick_us) sleep_us = tick_us;
            if (sleep_us > wd.threshold_us) sleep_us = wd.threshold_us;
            if (sleep_us > 100000) sleep_us = 100000; /* wd_stop waits at most this */
        }
    } else if (since != cur_start || polling) {
        block_end(cur_start, since > cur_start ? since : now);
        cur_start = 0;
    } else if (!reported_c && atomic_load(&wd.captured) != atomic_load(&wd.gen) &&
               now - cur_start > wd.threshold_us + 3 * tick_us) {
        /* no Lua instruction ran within a few ticks of the arm: say so while it lasts */
        reported_c = 1;
        char msg[200];
        snprintf(msg, sizeof msg, "event loop blocked %llu ms+ in C code (no Lua instruction ran since)",
                 (unsigned long long)(wd.threshold_us / 1000));
        log_line("warn", msg, NULL, NULL, (double)(now - cur_start) / 1000.0);
        if (hook_running() != NULL) hook_arm(wd.hook);
    }
    pthread_mutex_unlock(&step_lock);
    return sleep_us;
}

static void *watch(void *unused) {
    uint64_t sleep_us = tick_us;
    while (!atomic_load(&wd.stop)) {
        struct timespec ts = {(time_t)(sleep_us / 1000000), (long)(sleep_us % 1000000 * 1000)};
        nanosleep(&ts, NULL);
        sleep_us = step();
    }
    return NULL;
}

static void collect(void *ud) {
    if (wd.started) (void)step();
    uint64_t start = atomic_load(&wd.block_start), now = loop_now_us();
    met_set(wd.blocked, start != 0 && now > start ? (double)(now - start) / 1e6 : 0.0);
}

int wd_start(unsigned threshold_ms, char *err, size_t errlen) {
    static const double buckets[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    struct met_family *g = met_family_new("proflab_eventloop_blocked_seconds",
                                          "How long the event loop has been blocked so far (0 when it is not).",
                                          MET_GAUGE, NULL, 0, NULL, 0, NULL, err, errlen);
    struct met_family *c = g == NULL ? NULL
                           : met_family_new("proflab_eventloop_blocks_total",
                                            "Times the event loop stayed away longer than LAB_BLOCKED_THRESHOLD_MS.",
                                            MET_COUNTER, NULL, 0, NULL, 0, NULL, err, errlen);
    struct met_family *h = c == NULL ? NULL
                           : met_family_new("proflab_eventloop_block_duration_seconds", "Duration of finished event-loop blocks.",
                                            MET_HISTOGRAM, NULL, 0, buckets, (int)(sizeof buckets / sizeof buckets[0]), NULL,
                                            err, errlen);
    if (h == NULL) return -1;
    wd.blocked = met_series0(g);
    wd.total = met_series0(c);
    wd.durations = met_series0(h);
    wd.threshold_us = (uint64_t)threshold_ms * 1000u;
    tick_us = wd.threshold_us / 5;
    if (tick_us > 20000) tick_us = 20000;
    if (tick_us < 1000) tick_us = 1000;
    if (met_collector_add(collect, NULL) != 0) {
        snprintf(err, errlen, "too many metric collectors");
        return -1;
    }
    wd.hook = hook_add_oneshot(on_hook, NULL);
    if (wd.hook < 0) {
        snprintf(err, errlen, "the hook dispatcher has no free slot for the watchdog");
        return -1;
    }
    atomic_store(&wd.stop, 0);
    int e = loop_helper_start(&wd.thread, watch, NULL);
    if (e != 0) {
        hook_remove(wd.hook);
        snprintf(err, errlen, "cannot start the watchdog thread: %s", strerror(e));
        return -1;
    }
    wd.started = 1;
    return 0;
}

void wd_stop(void) {
    if (!wd.started) return;
    atomic_store(&wd.stop, 1);
    pthread_join(wd.thread, NULL);
    hook_remove(wd.hook);
    wd.started = 0;
}

void wd_push_last_block(lua_State *L) {
    pthread_mutex_lock(&last.lock);
    if (!last.any) {
        pthread_mutex_unlock(&last.lock);
        lua_pushnil(L);
        return;
    }
    char stack[WD_STACK_MAX][WD_FRAME_MAX], at[WD_FRAME_MAX], function[WD_FRAME_MAX];
    int n = last.n_frames, in_progress = last.in_progress;
    double ms = last.duration_ms;
    memcpy(stack, last.stack, sizeof stack);
    memcpy(at, last.at, sizeof at);
    memcpy(function, last.function, sizeof function);
    pthread_mutex_unlock(&last.lock);
    lua_createtable(L, 0, 6);
    lua_pushnumber(L, ms);
    lua_setfield(L, -2, "durationMs");
    lua_pushboolean(L, in_progress);
    lua_setfield(L, -2, "inProgress");
    lua_pushinteger(L, (lua_Integer)(wd.threshold_us / 1000));
    lua_setfield(L, -2, "thresholdMs");
    if (at[0]) {
        lua_pushstring(L, at);
        lua_setfield(L, -2, "at");
        lua_pushstring(L, function);
        lua_setfield(L, -2, "function");
    }
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, stack[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "stack");
}
