/* sampler.c: the sampling side of the profiler, on the loop thread.
 *
 * A POSIX timer on CLOCK_MONOTONIC sends SIGPROF to the loop thread every interval (wall
 * clock, idle included, as V8 samples). The handler allocates nothing: it classifies the tick
 * (Lua running, h2o's poll wait as loop_polling() marks it, other engine work), appends it to
 * a preallocated ring and, when Lua runs, arms the one-shot hook. The hook reads the Lua stack at the next instruction, or
 * at the return of the C function Lua was in, and resolves the pending Lua ticks with it.
 *
 * A Lua tick is resolved by the hook only on the coroutine it was taken in, and only while no
 * non-Lua tick came after it: a later idle or program tick proves Lua stopped without running
 * another instruction (it yielded or raised from C), so the arm is stale and the tick counts as
 * (program) instead of being pinned on whatever Lua runs next. The loop drains the ring every 50 ms, so idle ticks cannot fill it. */
#define _GNU_SOURCE
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../loop/loop.h"
#include "../rt/hook.h"
#include "prof.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

enum { TICK_LUA, TICK_IDLE, TICK_PROGRAM };

#define RING_CAP 65536u
#define OVERRUN_MAX 1000
#define DRAIN_US 50000u
#define URL_MAX 4200

struct tick {
    uint64_t t_us;
    int kind;
    const lua_State *L; /* for a Lua tick: the coroutine running then */
};

static struct tick ring[RING_CAP];
static _Atomic size_t ring_head, ring_tail;
static _Atomic int active;
static _Atomic uint64_t lost;
static int handler_installed, hook_handle = -1;
static timer_t timer;
static unsigned interval_us;
static uint64_t started_us;
static struct prof_profile *prof;
static struct loop_timer drain_timer;
static uint32_t f_idle, f_program, f_gc, f_truncated;

/* C functions of the loaded libraries by address, named "string.rep": made at each start,
 * kept sorted (each insertion checks for a duplicate first). */
struct cname {
    lua_CFunction fn;
    char name[48];
};
static struct cname *cnames;
static size_t n_cnames;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Signal handler side */

static void push(uint64_t t, int kind, const lua_State *L) {
    size_t h = atomic_load(&ring_head);
    if (h - atomic_load(&ring_tail) >= RING_CAP) {
        atomic_fetch_add(&lost, 1);
        return;
    }
    ring[h % RING_CAP] = (struct tick){t, kind, L};
    atomic_store(&ring_head, h + 1);
}

static void on_signal(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    int saved = errno;
    if (atomic_load(&active)) {
        uint64_t t = now_us();
        const lua_State *L = hook_running();
        int kind = L != NULL ? TICK_LUA : loop_polling() ? TICK_IDLE : TICK_PROGRAM;
        /* ticks the kernel merged while the thread was off the CPU: it counts them in the
         * siginfo (no timer_getoverrun system call). Where the thread was then is where it is
         * now, as far as wall time goes. */
        int over = si != NULL && si->si_code == SI_TIMER && si->si_overrun > 0 ? si->si_overrun : 0;
        if (over > OVERRUN_MAX) over = OVERRUN_MAX;
        for (int i = over; i > 0; i--) push(t - (uint64_t)i * interval_us, kind, L);
        push(t, kind, L);
        if (kind == TICK_LUA) hook_arm(hook_handle);
    }
    errno = saved;
}

/* Stack reading, in the hook or in a C function called from Lua */

static int cname_cmp(const void *a, const void *b) {
    lua_CFunction x = ((const struct cname *)a)->fn, y = ((const struct cname *)b)->fn;
    return (uintptr_t)x < (uintptr_t)y ? -1 : (uintptr_t)x > (uintptr_t)y;
}

static const char *cname_of(lua_CFunction fn) {
    if (fn == NULL || n_cnames == 0) return NULL;
    struct cname key = {.fn = fn};
    const struct cname *c = bsearch(&key, cnames, n_cnames, sizeof *cnames, cname_cmp);
    return c != NULL ? c->name : NULL;
}

static void add_cnames(lua_State *L, int t, const char *lib, size_t *cap) {
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        lua_CFunction fn = lua_tocfunction(L, -1);
        if (fn != NULL && lua_type(L, -2) == LUA_TSTRING && cname_of(fn) == NULL) {
            if (n_cnames == *cap) {
                size_t c = *cap ? *cap * 2 : 256;
                struct cname *q = realloc(cnames, c * sizeof *q);
                if (q == NULL) {
                    lua_pop(L, 2);
                    return;
                }
                cnames = q;
                *cap = c;
            }
            struct cname *e = &cnames[n_cnames++];
            e->fn = fn;
            snprintf(e->name, sizeof e->name, "%s%s%s", lib, lib[0] ? "." : "", lua_tostring(L, -2));
            qsort(cnames, n_cnames, sizeof *cnames, cname_cmp);
        }
        lua_pop(L, 1);
    }
}

/* Names every C function reachable as package.loaded[lib][name] (and _G[name]). */
static int collect_cnames(lua_State *L) {
    size_t cap = 0;
    n_cnames = 0;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    int loaded = lua_gettop(L);
    lua_pushglobaltable(L);
    add_cnames(L, lua_gettop(L), "", &cap);
    lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, loaded) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1) && strcmp(lua_tostring(L, -2), "_G") != 0) {
            char lib[24];
            snprintf(lib, sizeof lib, "%s", lua_tostring(L, -2));
            add_cnames(L, lua_gettop(L), lib, &cap);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

static const char *basename_of(const char *path) {
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

/* file:// URL of a chunk name "@/abs/path.lua"; "" for chunks that are not files. */
static void url_of(const char *source, char *out, size_t outlen) {
    out[0] = '\0';
    if (source == NULL || source[0] != '@') return;
    size_t o = (size_t)snprintf(out, outlen, "file://");
    for (const unsigned char *c = (const unsigned char *)source + 1; *c && o + 4 < outlen; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("/-._~", *c))
            out[o++] = (char)*c;
        else o += (size_t)snprintf(out + o, outlen - o, "%%%02X", *c);
    }
    out[o] = '\0';
}

static uint32_t func_of(lua_State *L, lua_Debug *d) {
    char name[320], url[URL_MAX];
    if (d->what[0] == 'C') {
        const char *qualified = cname_of(lua_tocfunction(L, -1));
        snprintf(name, sizeof name, "%s", qualified ? qualified : d->name ? d->name : "(C function)");
        return prof_func(prof, name, "", -1);
    }
    url_of(d->source, url, sizeof url);
    if (d->what[0] == 'm') snprintf(name, sizeof name, "(main chunk)");
    else if (d->name != NULL) snprintf(name, sizeof name, "%s", d->name);
    else snprintf(name, sizeof name, "(anonymous @ %s:%d)", basename_of(d->short_src), d->linedefined);
    return prof_func(prof, name, url, d->linedefined > 0 ? d->linedefined - 1 : 0);
}

/* The stack of L, outermost first, into out (PROF_DEPTH_MAX + 1 slots). Returns the length,
 * or 0 when out of memory. */
static size_t read_stack(lua_State *L, uint32_t *out, int *leaf_line) {
    uint32_t tmp[PROF_DEPTH_MAX];
    lua_Debug d, up;
    size_t n = 0;
    int cut = 0;
    *leaf_line = 0;
    for (int level = 0; lua_getstack(L, level, &d); level++) {
        if (n == PROF_DEPTH_MAX) {
            cut = 1;
            break;
        }
        if (!lua_getinfo(L, "Slnf", &d)) break;
        uint32_t f = func_of(L, &d);
        lua_pop(L, 1);
        if (f == PROF_NONE) return 0;
        if (level == 0) *leaf_line = d.currentline;
        /* a return hook in a nameless C function that a C function called (string.rep closing
         * its buffer): the time went to the caller, which is what the sample names */
        if (level == 0 && d.what[0] == 'C' && d.name == NULL && lua_getstack(L, 1, &up) && lua_getinfo(L, "S", &up) &&
            up.what[0] == 'C')
            continue;
        tmp[n++] = f;
        /* a finalizer: the collector called it */
        if (d.namewhat != NULL && strcmp(d.namewhat, "metamethod") == 0 && d.name != NULL && strcmp(d.name, "__gc") == 0) {
            if (n == PROF_DEPTH_MAX) {
                cut = 1;
                break;
            }
            tmp[n++] = f_gc;
        }
    }
    size_t o = 0;
    if (cut) {
        out[o++] = f_truncated;
        prof->truncated++;
    }
    while (n > 0) out[o++] = tmp[--n];
    return o;
}

static void drain(lua_State *L) {
    size_t head = atomic_load(&ring_head), tail = atomic_load(&ring_tail), last_other = tail;
    int any_other = 0;
    for (size_t i = tail; i < head; i++)
        if (ring[i % RING_CAP].kind != TICK_LUA) any_other = 1, last_other = i;
    uint32_t stack[PROF_DEPTH_MAX + 1];
    size_t n = 0;
    int line = 0, have = 0;
    for (size_t i = tail; i < head; i++) {
        struct tick k = ring[i % RING_CAP];
        if (k.kind == TICK_IDLE) {
            prof_sample_stack(prof, k.t_us, &f_idle, 1, 0);
        } else if (k.kind == TICK_PROGRAM || L == NULL || k.L != L || (any_other && i < last_other)) {
            prof_sample_stack(prof, k.t_us, &f_program, 1, 0);
        } else {
            if (!have) n = read_stack(L, stack, &line), have = 1;
            if (n > 0) prof_sample_stack(prof, k.t_us, stack, n, line);
        }
    }
    atomic_store(&ring_tail, head);
}

/* The hook's cost, on the monotonic clock: it runs a few microseconds, rarely preempted, and
 * unlike CLOCK_THREAD_CPUTIME_ID (a system call) this clock is read in the vDSO. */
static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_hook(lua_State *L, lua_Debug *ar, void *ud) {
    (void)ar, (void)ud;
    if (prof == NULL) return;
    uint64_t t0 = mono_ns();
    drain(L);
    prof->cost_ns += mono_ns() - t0;
}

static void on_drain(struct loop_timer *t) {
    if (prof == NULL || !atomic_load(&active)) return;
    drain(NULL); /* the loop runs no Lua now: a Lua tick still pending is stale */
    loop_timer_start(t, DRAIN_US, on_drain);
}

/* Start and stop */

int prof_running(void) { return prof != NULL; }

int prof_start(lua_State *L, unsigned interval, char *err, size_t errlen) {
    if (prof != NULL) {
        snprintf(err, errlen, "a CPU profile is already in progress");
        return 1;
    }
    if (interval < PROF_INTERVAL_MIN_US || interval > PROF_INTERVAL_MAX_US) {
        snprintf(err, errlen, "interval_us must be from %d to %d", PROF_INTERVAL_MIN_US, PROF_INTERVAL_MAX_US);
        return -1;
    }
    if (!handler_installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGPROF, &sa, NULL) != 0) {
            snprintf(err, errlen, "sigaction: %s", strerror(errno));
            return -1;
        }
        handler_installed = 1;
    }
    if (L != NULL) { /* again at every start: modules required since are named too */
        lua_pushcfunction(L, collect_cnames);
        if (lua_pcall(L, 0, 0, 0) != LUA_OK) lua_pop(L, 1); /* names stay short: not fatal */
    }
    struct prof_profile *p = malloc(sizeof *p);
    if (p == NULL || prof_profile_init(p, interval) != 0) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    prof = p;
    f_idle = prof_func(p, PROF_IDLE, "", -1);
    f_program = prof_func(p, PROF_PROGRAM, "", -1);
    f_gc = prof_func(p, PROF_GC, "", -1);
    f_truncated = prof_func(p, PROF_TRUNCATED, "", -1);
    hook_handle = p->oom ? -1 : hook_add_oneshot(on_hook, NULL);
    if (hook_handle < 0) {
        snprintf(err, errlen, p->oom ? "out of memory" : "no free hook slot");
        goto fail;
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_notify_thread_id = gettid();
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
        snprintf(err, errlen, "timer_create: %s", strerror(errno));
        goto fail;
    }
    interval_us = interval;
    atomic_store(&ring_head, 0);
    atomic_store(&ring_tail, 0);
    atomic_store(&lost, 0);
    started_us = now_us();
    atomic_store(&active, 1);
    long ns = (long)interval * 1000;
    struct itimerspec its = {{ns / 1000000000, ns % 1000000000}, {ns / 1000000000, ns % 1000000000}};
    if (timer_settime(timer, 0, &its, NULL) != 0) {
        snprintf(err, errlen, "timer_settime: %s", strerror(errno));
        atomic_store(&active, 0);
        timer_delete(timer);
        goto fail;
    }
    if (loop_timer_start(&drain_timer, DRAIN_US, on_drain) != 0) {
        snprintf(err, errlen, "out of memory");
        atomic_store(&active, 0);
        timer_delete(timer);
        goto fail;
    }
    return 0;
fail:
    if (hook_handle >= 0) hook_remove(hook_handle);
    hook_handle = -1;
    prof_profile_free(p);
    free(p);
    prof = NULL;
    return -1;
}

struct prof_profile *prof_stop(lua_State *L) {
    if (prof == NULL) return NULL;
    atomic_store(&active, 0);
    timer_delete(timer); /* a signal already queued finds the sampler inactive */
    loop_timer_stop(&drain_timer);
    hook_remove(hook_handle);
    hook_handle = -1;
    drain(L);
    struct prof_profile *p = prof;
    p->dropped = atomic_load(&lost);
    prof_finish(p, started_us, now_us());
    prof = NULL;
    return p;
}
