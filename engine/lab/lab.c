/* lab.c: require "lab" — clock, sleep, buffers, memory figures, logging, errors. */
#include "lab.h"
#ifdef PROFLAB_LAB_MODULE
#include "../metrics/metrics.h"
#endif

#include <lauxlib.h>
#include <malloc.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "../log/log.h"
#include "../mem/mem.h"
#include "../rt/alloc.h"

static const char driven_key = 'd', hosted_key = 'h', sleep_marker = 's', null_marker = 'n', status_key = 'p';

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int l_now(lua_State *L) {
    lua_pushnumber(L, now_ms());
    return 1;
}

static int is_hosted(lua_State *L) {
    int hosted = lua_rawgetp(L, LUA_REGISTRYINDEX, &hosted_key) != LUA_TNIL;
    lua_pop(L, 1);
    return hosted;
}

void lab_set_hosted(lua_State *L) {
    lua_pushboolean(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &hosted_key);
}

static void push_driven(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &driven_key) != LUA_TNIL) return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &driven_key);
}

void lab_mark_driven(lua_State *L, lua_State *co) {
    push_driven(L);
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static int is_driven(lua_State *L) {
    push_driven(L);
    lua_pushthread(L);
    int driven = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return driven;
}

long long lab_sleep_request(lua_State *co, int nres) {
    if (nres != 2 || lua_touserdata(co, -2) != &sleep_marker) return -1;
    return (long long)(lua_tonumber(co, -1) * 1000.0);
}

static int l_sleep(lua_State *L) {
    lua_Number ms = luaL_checknumber(L, 1);
    luaL_argcheck(L, ms >= 0 && ms <= 86400000.0 && !isnan(ms), 1, "milliseconds from 0 to 86400000");
    if (is_driven(L) && lua_isyieldable(L)) {
        lua_pushlightuserdata(L, (void *)&sleep_marker);
        lua_pushnumber(L, ms);
        return lua_yield(L, 2);
    }
    if (is_hosted(L))
        return luaL_error(L, "lab.sleep must be called from a scenario's run, not at load time or in a nested coroutine");
    /* standalone (busted): nothing else to run, so block */
    struct timespec ts = {(time_t)(ms / 1000), (long)(fmod(ms, 1000.0) * 1e6)};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return 0;
}

/* lab.run(fn, ...): drives fn in a coroutine the way the engine does, outside the engine. */
static int l_run(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (is_hosted(L)) return luaL_error(L, "lab.run is for standalone use; the engine drives scenarios itself");
    int nargs = lua_gettop(L) - 1;
    lua_State *co = lua_newthread(L);
    lab_mark_driven(L, co);
    lua_rotate(L, 1, 1); /* thread below fn and args */
    lua_xmove(L, co, nargs + 1);
    int nres;
    for (;;) {
        int st = lua_resume(co, L, nargs, &nres);
        nargs = 0;
        if (st == LUA_OK) break;
        if (st != LUA_YIELD) {
            lua_xmove(co, L, 1);
            return lua_error(L);
        }
        long long us = lab_sleep_request(co, nres);
        if (us < 0) return luaL_error(L, "lab.run: the function yielded something other than lab.sleep");
        lua_pop(co, nres);
        struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
    luaL_checkstack(L, nres, "too many results");
    lua_xmove(co, L, nres);
    return nres;
}

/* lab.Buffer */

static struct mem_buffer *check_buffer(lua_State *L, int idx) { return luaL_checkudata(L, idx, LAB_BUFFER); }

static int l_buffer(lua_State *L) {
    lua_Integer bytes = luaL_checkinteger(L, 1);
    lua_Integer fill = luaL_optinteger(L, 2, 0xab);
    luaL_argcheck(L, bytes >= 0 && (unsigned long long)bytes <= (1ULL << 40), 1, "bytes from 0 to 2^40");
    luaL_argcheck(L, fill >= 0 && fill <= 255, 2, "fill from 0 to 255");
    struct mem_buffer *b = lua_newuserdatauv(L, sizeof *b, 1);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, LAB_BUFFER);
    int r = mem_buffer_alloc(b, (size_t)bytes, (unsigned char)fill);
    if (r == MEM_ERR_LIMIT) {
        size_t max = mem_retained_max(), used = mem_buffer_bytes();
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, 409);
        lua_setfield(L, -2, "status");
        lua_pushliteral(L, "retained_limit");
        lua_setfield(L, -2, "error");
        lua_pushfstring(L,
                        "retaining %I more bytes would pass LAB_MAX_RETAINED_MB (%I MiB); %I MiB are retained now: "
                        "clear them first",
                        bytes, (lua_Integer)(max >> 20), (lua_Integer)(used >> 20));
        lua_setfield(L, -2, "message");
        return lua_error(L);
    }
    if (r != MEM_OK) return luaL_error(L, "cannot map %I bytes", bytes);
    return 1;
}

static int buf_gc(lua_State *L) {
    mem_buffer_free(check_buffer(L, 1));
    return 0;
}

static int buf_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)check_buffer(L, 1)->size);
    return 1;
}

static int buf_byte(lua_State *L) {
    struct mem_buffer *b = check_buffer(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    luaL_argcheck(L, b->live && i >= 1 && (size_t)i <= b->size, 2, "index out of range");
    lua_pushinteger(L, b->data[i - 1]);
    return 1;
}

static int buf_tostring(lua_State *L) {
    struct mem_buffer *b = check_buffer(L, 1);
    lua_pushfstring(L, "lab.Buffer(%I bytes%s)", (lua_Integer)b->size, b->live ? "" : ", freed");
    return 1;
}

static const luaL_Reg buffer_methods[] = {
    {"free", buf_gc}, {"byte", buf_byte}, {"size", buf_len}, {NULL, NULL}};

static void open_buffer(lua_State *L) {
    if (!luaL_newmetatable(L, LAB_BUFFER)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, buf_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, buf_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, buffer_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

static void set_int(lua_State *L, const char *k, size_t v) {
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static int l_memory(lua_State *L) {
    lab_push_status_base(L);
    lua_pushnil(L);
    lua_setfield(L, -2, "cpuProfileInProgress");
    return 1;
}

static lab_console_fn console;

void lab_set_console(lab_console_fn fn) { console = fn; }

void lab_console(lua_State *L, int level, const char *msg, int fields) {
    if (console != NULL) console(L, level, msg, fields);
}

/* lab.log([level,] msg [, fields]) */
static int l_log(lua_State *L) {
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    int lvl = LOG_INFO, i = 1;
    if (lua_gettop(L) >= 2 && lua_type(L, 2) == LUA_TSTRING) {
        lvl = luaL_checkoption(L, 1, NULL, levels);
        i = 2;
    }
    const char *msg = luaL_checkstring(L, i);
    int fields = lua_istable(L, i + 1) ? i + 1 : 0;
    log_begin((enum log_level)lvl, msg);
    if (fields) {
        lua_pushnil(L);
        while (lua_next(L, fields) != 0) {
            if (lua_type(L, -2) == LUA_TSTRING) {
                size_t len;
                const char *v = luaL_tolstring(L, -1, &len);
                log_kv_strn(lua_tostring(L, -3), v, len);
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
    }
    log_end();
    lab_console(L, lvl - LOG_DEBUG, msg, fields);
    return 0;
}

/* lab.fail(status, code, message): an error the HTTP layer answers with that status. */
static int l_fail(lua_State *L) {
    lua_Integer status = luaL_checkinteger(L, 1);
    const char *code = luaL_checkstring(L, 2);
    const char *message = luaL_checkstring(L, 3);
    luaL_argcheck(L, status >= 400 && status <= 599, 1, "an HTTP error status from 400 to 599");
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushstring(L, code);
    lua_setfield(L, -2, "error");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    return lua_error(L);
}

int lab_error_fields(lua_State *L, int idx, int *status, const char **code, const char **message) {
    if (!lua_istable(L, idx)) return 0;
    idx = lua_absindex(L, idx);
    int ok = lua_getfield(L, idx, "status") == LUA_TNUMBER && lua_isinteger(L, -1);
    ok = (lua_getfield(L, idx, "error") == LUA_TSTRING) && ok;
    ok = (lua_getfield(L, idx, "message") == LUA_TSTRING) && ok;
    if (ok) {
        lua_Integer s = lua_tointeger(L, -3);
        ok = s >= 400 && s <= 599;
        *status = (int)s;
        *code = lua_tostring(L, -2);
        *message = lua_tostring(L, -1);
    }
    /* the strings stay anchored in the table at idx */
    lua_pop(L, 3);
    return ok;
}

void *lab_null(void) { return (void *)&null_marker; }

void lab_push_status_base(lua_State *L) {
    struct rt_alloc *a = rt_alloc_of(L);
    lua_createtable(L, 0, 10);
    set_int(L, "retainedBufferCount", mem_buffer_count());
    set_int(L, "retainedBytes", mem_buffer_bytes());
    set_int(L, "retainedLimitBytes", mem_retained_max());
    set_int(L, "luaHeapBytes", a != NULL ? atomic_load(&a->used) : (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024u);
    set_int(L, "luaHeapLimitBytes", a != NULL ? a->limit : 0);
    set_int(L, "rssBytes", mem_rss_bytes());
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "cpuProfileInProgress");
}

void lab_set_status_provider_value(lua_State *L) { lua_rawsetp(L, LUA_REGISTRYINDEX, &status_key); }

/* lab.status(): what GET /api/lab/status answers (outside the engine: the memory figures) */
static int l_status(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &status_key) == LUA_TFUNCTION) {
        lua_call(L, 0, 1);
        return 1;
    }
    lua_pop(L, 1);
    lab_push_status_base(L);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "labEnabled");
    return 1;
}

/* lab.collect(): a full collection, then the freed heap pages go back to the kernel
 * (malloc_trim): without it glibc keeps them, and RSS stays where a leak took it.
 * Returns the bytes of RSS given back. */
static int l_collect(lua_State *L) {
    size_t before = mem_rss_bytes();
    /* through the global, so that whoever times collections (the metrics) sees this one */
    lua_getglobal(L, "collectgarbage");
    lua_pushliteral(L, "collect");
    lua_call(L, 1, 0);
    malloc_trim(0);
    size_t after = mem_rss_bytes();
    lua_pushinteger(L, (lua_Integer)(before > after ? before - after : 0));
    return 1;
}

static const luaL_Reg lab_funcs[] = {{"status", l_status}, {"collect", l_collect},{"now", l_now},     {"sleep", l_sleep}, {"run", l_run}, {"buffer", l_buffer},
                                     {"memory", l_memory}, {"log", l_log},     {"fail", l_fail}, {NULL, NULL}};

int luaopen_lab(lua_State *L) {
    if (rt_alloc_of(L) == NULL && rt_alloc_wrap(L) == NULL) return luaL_error(L, "lab: out of memory");
    open_buffer(L);
    luaL_newlib(L, lab_funcs);
    lua_pushliteral(L, PROFLAB_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushlightuserdata(L, (void *)&null_marker);
    lua_setfield(L, -2, "null");
    lua_newtable(L);
    lua_setfield(L, -2, "scenarios");
#ifdef PROFLAB_LAB_MODULE
    met_lua_open(L); /* lab.so for lua5.4 brings lab.metrics; the engine adds it in rt.c */
#endif
    return 1;
}
