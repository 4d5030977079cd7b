/* lua.c: lab.metrics, scenario metrics declared from Lua and stored in the C registry, so the
 * admin thread can read them without touching the Lua state. */
#include <lauxlib.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

#define MET_METRIC "lab.Metric"
#define LABEL_VALUE_MAX 256

struct lmetric {
    struct met_family *f;
};

/* Where the declaration was made: "path:line" of the calling Lua function. */
static void caller(lua_State *L, char *out, size_t outlen) {
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
        const char *src = ar.source[0] == '@' || ar.source[0] == '=' ? ar.source + 1 : ar.short_src;
        snprintf(out, outlen, "%s:%d", src, ar.currentline);
    } else {
        snprintf(out, outlen, "a C caller");
    }
}

static int declare(lua_State *L, enum met_type type) {
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *labels[MET_LABELS_MAX];
    double buckets[MET_BUCKETS_MAX];
    int n_labels = 0, n_buckets = 0;
    lua_getfield(L, 1, "name");
    const char *name = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "lab.metrics: name must be a string");
    lua_getfield(L, 1, "help");
    const char *help = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (help == NULL) return luaL_error(L, "lab.metrics: %s needs help, a string saying what it measures", name);
    if (lua_getfield(L, 1, "labels") != LUA_TNIL) {
        if (!lua_istable(L, -1)) return luaL_error(L, "lab.metrics: %s: labels must be a list of names", name);
        lua_Integer n = luaL_len(L, -1);
        if (n > MET_LABELS_MAX) return luaL_error(L, "lab.metrics: %s: at most %d labels", name, MET_LABELS_MAX);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1 - (int)(i - 1), i) != LUA_TSTRING)
                return luaL_error(L, "lab.metrics: %s: label %d is not a string", name, (int)i);
            labels[n_labels++] = lua_tostring(L, -1); /* anchored in the labels table */
        }
        lua_pop(L, (int)n);
    }
    if (lua_getfield(L, 1, "buckets") != LUA_TNIL) {
        if (type != MET_HISTOGRAM) return luaL_error(L, "lab.metrics: %s: only a histogram has buckets", name);
        if (!lua_istable(L, -1)) return luaL_error(L, "lab.metrics: %s: buckets must be a list of numbers", name);
        lua_Integer n = luaL_len(L, -1);
        if (n < 1 || n > MET_BUCKETS_MAX) return luaL_error(L, "lab.metrics: %s: from 1 to %d buckets", name, MET_BUCKETS_MAX);
        for (lua_Integer i = 1; i <= n; i++) {
            int isnum;
            lua_rawgeti(L, -1, i);
            buckets[n_buckets++] = lua_tonumberx(L, -1, &isnum);
            lua_pop(L, 1);
            if (!isnum) return luaL_error(L, "lab.metrics: %s: bucket %d is not a number", name, (int)i);
        }
    }
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
        if (strcmp(k, "name") && strcmp(k, "help") && strcmp(k, "labels") && strcmp(k, "buckets"))
            return luaL_error(L, "lab.metrics: %s: unknown field '%s' (name, help, labels%s)", name, k,
                              type == MET_HISTOGRAM ? ", buckets" : "");
    }
    static const char *const reserved[] = {"process_", "proflab_", "http_request"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strncmp(name, reserved[i], strlen(reserved[i])) == 0)
            return luaL_error(L, "lab.metrics: %s: names starting with %s are the engine's own", name, reserved[i]);
    char owner[512], err[320];
    caller(L, owner, sizeof owner);
    struct met_family *f = met_family_new(name, help, type, labels, n_labels, buckets, n_buckets, owner, err, sizeof err);
    if (f == NULL) return luaL_error(L, "lab.metrics: %s", err);
    struct lmetric *m = lua_newuserdatauv(L, sizeof *m, 0);
    m->f = f;
    luaL_setmetatable(L, MET_METRIC);
    return 1;
}

static int l_counter(lua_State *L) { return declare(L, MET_COUNTER); }
static int l_gauge(lua_State *L) { return declare(L, MET_GAUGE); }
static int l_histogram(lua_State *L) { return declare(L, MET_HISTOGRAM); }

/* The series named by the labels table at idx (absent: none), every declared label given. */
static struct met_series *series_at(lua_State *L, struct lmetric *m, int idx) {
    const char *const *names;
    int n = met_family_labels(m->f, &names);
    const char *values[MET_LABELS_MAX];
    luaL_checkstack(L, 2 * n + 4, NULL);
    int given = !lua_isnoneornil(L, idx);
    if (given) luaL_checktype(L, idx, LUA_TTABLE);
    for (int i = 0; i < n; i++) {
        if (!given || lua_getfield(L, idx, names[i]) == LUA_TNIL)
            luaL_error(L, "metric needs a value for label %s", names[i]);
        size_t len;
        values[i] = luaL_tolstring(L, -1, &len); /* anchored on the stack until the call returns */
        if (len > LABEL_VALUE_MAX || strlen(values[i]) != len)
            luaL_error(L, "label %s: a value of at most %d bytes without NUL", names[i], LABEL_VALUE_MAX);
    }
    if (given) { /* a label that was not declared is a mistake worth saying */
        lua_pushnil(L);
        while (lua_next(L, idx) != 0) {
            lua_pop(L, 1);
            int known = 0;
            for (int i = 0; i < n && !known; i++) known = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), names[i]) == 0;
            if (!known) luaL_error(L, "label '%s' is not declared by this metric", luaL_tolstring(L, -1, NULL));
        }
    }
    struct met_series *s = met_series_get(m->f, values);
    if (s == NULL) luaL_error(L, "metric: no more series (at most %d label combinations, or out of memory)", MET_SERIES_MAX);
    return s;
}

/* (n, labels) or (labels[, n]) */
static struct met_series *args(lua_State *L, struct lmetric *m, double *v, double def) {
    int li = 3, ni = 2;
    if (lua_istable(L, 2)) {
        li = 2;
        ni = 3;
    }
    *v = lua_isnoneornil(L, ni) ? def : luaL_checknumber(L, ni);
    if (!isfinite(*v)) luaL_argerror(L, ni, "a finite number");
    return series_at(L, m, li);
}

static struct lmetric *check(lua_State *L) { return luaL_checkudata(L, 1, MET_METRIC); }

static int m_inc(lua_State *L) {
    struct lmetric *m = check(L);
    double v;
    if (met_family_type(m->f) == MET_HISTOGRAM) return luaL_error(L, "a histogram has observe, not inc");
    struct met_series *s = args(L, m, &v, 1);
    if (met_family_type(m->f) == MET_COUNTER && v < 0) return luaL_error(L, "a counter only goes up: inc(%f)", v);
    met_add(s, v);
    return 0;
}

static int m_dec(lua_State *L) {
    struct lmetric *m = check(L);
    double v;
    if (met_family_type(m->f) != MET_GAUGE) return luaL_error(L, "only a gauge has dec");
    struct met_series *s = args(L, m, &v, 1);
    met_add(s, -v);
    return 0;
}

static int m_set(lua_State *L) {
    struct lmetric *m = check(L);
    double v;
    if (met_family_type(m->f) != MET_GAUGE) return luaL_error(L, "only a gauge has set");
    if (lua_isnoneornil(L, 2)) return luaL_argerror(L, 2, "a value to set");
    struct met_series *s = args(L, m, &v, 0);
    met_set(s, v);
    return 0;
}

static int m_observe(lua_State *L) {
    struct lmetric *m = check(L);
    double v;
    if (met_family_type(m->f) != MET_HISTOGRAM) return luaL_error(L, "only a histogram has observe");
    if (lua_isnoneornil(L, 2)) return luaL_argerror(L, 2, "a value to observe");
    struct met_series *s = args(L, m, &v, 0);
    met_observe(s, v);
    return 0;
}

/* get([labels]): the value; for a histogram, count and sum */
static int m_get(lua_State *L) {
    struct lmetric *m = check(L);
    struct met_series *s = series_at(L, m, 2);
    if (met_family_type(m->f) != MET_HISTOGRAM) {
        lua_pushnumber(L, met_value(s));
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)met_hist_count(s));
    lua_pushnumber(L, met_hist_sum(s));
    return 2;
}

void met_lua_push(lua_State *L) {
    static const luaL_Reg methods[] = {{"inc", m_inc}, {"dec", m_dec}, {"set", m_set}, {"observe", m_observe}, {"get", m_get}, {NULL, NULL}};
    static const luaL_Reg fns[] = {{"counter", l_counter}, {"gauge", l_gauge}, {"histogram", l_histogram}, {NULL, NULL}};
    if (luaL_newmetatable(L, MET_METRIC)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlib(L, fns);
}

/* GC figures. A sentinel table with a finalizer is garbage from birth: each collection
 * cycle finalizes it, counts one cycle and makes the next one. Lua 5.4 does not time its own
 * incremental steps; what is timed here is every explicit collectgarbage("collect"/"step")
 * call, the collections a scenario asks for. */
static _Atomic uint64_t gc_cycles, gc_ns;
static const char sentinel_key = 'g';

static void sentinel_new(lua_State *L) {
    lua_newtable(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &sentinel_key);
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

static int sentinel_gc(lua_State *L) {
    atomic_fetch_add(&gc_cycles, 1);
    sentinel_new(L);
    return 0;
}

static int timed_collectgarbage(lua_State *L) {
    const char *opt = luaL_optstring(L, 1, "collect");
    int timed = strcmp(opt, "collect") == 0 || strcmp(opt, "step") == 0;
    struct timespec t0, t1;
    if (timed) clock_gettime(CLOCK_MONOTONIC, &t0);
    int top = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, top, LUA_MULTRET);
    if (timed) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int64_t ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
        if (ns > 0) atomic_fetch_add(&gc_ns, (uint64_t)ns);
    }
    return lua_gettop(L);
}

void met_lua_open(lua_State *L) {
    met_lua_push(L);
    lua_setfield(L, -2, "metrics");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, sentinel_gc);
    lua_setfield(L, -2, "__gc");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &sentinel_key);
    sentinel_new(L);
    if (lua_getglobal(L, "collectgarbage") == LUA_TFUNCTION) {
        lua_pushcclosure(L, timed_collectgarbage, 1);
        lua_setglobal(L, "collectgarbage");
    } else {
        lua_pop(L, 1);
    }
}

uint64_t met_gc_cycles(void) { return atomic_load(&gc_cycles); }
double met_gc_seconds(void) { return (double)atomic_load(&gc_ns) / 1e9; }
