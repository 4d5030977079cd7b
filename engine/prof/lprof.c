/* lprof.c: lab.profiler, the Lua side of the CPU profiler.
 *   local session = lab.profiler.start{ interval_us = 1000 }
 *   local profile = session:stop()
 *   profile:save()           -- the .cpuprofile's absolute path; profile:save("folded") too
 *   profile.samples, profile.durationUs, profile.intervalUs, profile.truncated, profile.dropped,
 *   profile.costUs (time the hook spent reading stacks) */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "../artifacts/artifacts.h"
#include "../json/json.h"
#include "prof.h"

#define SESSION "prof.Session"
#define PROFILE "prof.Profile"

struct session {
    int live;
};

struct lprofile {
    struct prof_profile *p;
};

static void free_profile(struct prof_profile *p) {
    if (p == NULL) return;
    prof_profile_free(p);
    free(p);
}

static int l_start(lua_State *L) {
    lua_Integer interval = PROF_INTERVAL_DEFAULT_US;
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        int t = lua_getfield(L, 1, "interval_us");
        if (t != LUA_TNIL) {
            int ok;
            interval = lua_tointegerx(L, -1, &ok);
            luaL_argcheck(L, ok && interval >= PROF_INTERVAL_MIN_US && interval <= PROF_INTERVAL_MAX_US, 1,
                          "interval_us must be an integer from 100 to 100000");
        }
        lua_pop(L, 1);
    }
    if (prof_running()) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, 409);
        lua_setfield(L, -2, "status");
        lua_pushliteral(L, "profile_in_progress");
        lua_setfield(L, -2, "error");
        lua_pushliteral(L, "a CPU profile is already being taken; one profile runs at a time: wait for it to finish");
        lua_setfield(L, -2, "message");
        return lua_error(L);
    }
    struct session *s = lua_newuserdatauv(L, sizeof *s, 0);
    s->live = 0;
    luaL_setmetatable(L, SESSION);
    char err[200];
    if (prof_start(L, (unsigned)interval, err, sizeof err) != 0) return luaL_error(L, "cannot start the CPU profiler: %s", err);
    s->live = 1;
    return 1;
}

static int l_running(lua_State *L) {
    lua_pushboolean(L, prof_running());
    return 1;
}

static int session_stop(lua_State *L) {
    struct session *s = luaL_checkudata(L, 1, SESSION);
    if (!s->live) return luaL_error(L, "this profile was already stopped");
    struct lprofile *lp = lua_newuserdatauv(L, sizeof *lp, 0);
    lp->p = NULL;
    luaL_setmetatable(L, PROFILE);
    s->live = 0;
    lp->p = prof_stop(L);
    if (lp->p == NULL) return luaL_error(L, "no CPU profile was running");
    return 1;
}

static int session_gc(lua_State *L) {
    struct session *s = luaL_checkudata(L, 1, SESSION);
    if (s->live) { /* dropped without stop: end the sampling, discard the profile */
        s->live = 0;
        free_profile(prof_stop(NULL));
    }
    return 0;
}

static struct prof_profile *check_profile(lua_State *L) {
    struct lprofile *lp = luaL_checkudata(L, 1, PROFILE);
    if (lp->p == NULL) luaL_error(L, "this profile was freed");
    return lp->p;
}

static int art_sink(void *ud, const char *s, size_t n) {
    art_write(ud, s, n);
    return 0;
}

static int jbuf_sink(void *ud, const char *s, size_t n) {
    jbuf_put(ud, s, n);
    return ((struct jbuf *)ud)->oom ? -1 : 0;
}

static int is_folded(lua_State *L, int idx) {
    static const char *const formats[] = {"cpuprofile", "folded", NULL};
    return luaL_checkoption(L, idx, "cpuprofile", formats) == 1;
}

/* profile:save([format]): a new artifact; its absolute path. */
static int profile_save(lua_State *L) {
    struct prof_profile *p = check_profile(L);
    int folded = is_folded(L, 2);
    struct art_writer w;
    if (art_create(&w, "cpu", folded ? ".folded" : ".cpuprofile") != 0)
        return luaL_error(L, "cannot create the profile file in %s: %s", art_dir(), strerror(errno));
    int r = folded ? prof_write_folded(p, art_sink, &w) : prof_write_cpuprofile(p, art_sink, &w);
    if (r != 0) {
        art_abort(&w);
        return luaL_error(L, "out of memory writing the profile");
    }
    if (art_commit(&w) != 0) return art_lua_fail(L, errno, "cannot write the profile");
    lua_pushstring(L, w.path);
    return 1;
}

/* profile:text([format]): the profile as a string. */
static int profile_text(lua_State *L) {
    struct prof_profile *p = check_profile(L);
    int folded = is_folded(L, 2);
    struct jbuf b;
    jbuf_init(&b);
    int r = folded ? prof_write_folded(p, jbuf_sink, &b) : prof_write_cpuprofile(p, jbuf_sink, &b);
    if (r != 0) {
        jbuf_free(&b);
        return luaL_error(L, "out of memory writing the profile");
    }
    lua_pushlstring(L, b.p ? b.p : "", b.len);
    jbuf_free(&b);
    return 1;
}

static int profile_gc(lua_State *L) {
    struct lprofile *lp = luaL_checkudata(L, 1, PROFILE);
    free_profile(lp->p);
    lp->p = NULL;
    return 0;
}

static int profile_index(lua_State *L) {
    struct prof_profile *p = check_profile(L);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "samples") == 0) lua_pushinteger(L, (lua_Integer)p->n_samples);
    else if (strcmp(k, "durationUs") == 0) lua_pushinteger(L, (lua_Integer)(p->end_us - p->start_us));
    else if (strcmp(k, "intervalUs") == 0) lua_pushinteger(L, (lua_Integer)p->interval_us);
    else if (strcmp(k, "truncated") == 0) lua_pushinteger(L, (lua_Integer)p->truncated);
    else if (strcmp(k, "dropped") == 0) lua_pushinteger(L, (lua_Integer)p->dropped);
    else if (strcmp(k, "costUs") == 0) lua_pushinteger(L, (lua_Integer)(p->cost_ns / 1000));
    else if (strcmp(k, "save") == 0) lua_pushcfunction(L, profile_save);
    else if (strcmp(k, "text") == 0) lua_pushcfunction(L, profile_text);
    else lua_pushnil(L);
    return 1;
}

int prof_open_lua(lua_State *L) {
    if (luaL_newmetatable(L, SESSION)) {
        lua_pushcfunction(L, session_gc);
        lua_setfield(L, -2, "__gc");
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, session_stop);
        lua_setfield(L, -2, "stop");
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, PROFILE)) {
        lua_pushcfunction(L, profile_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, profile_index);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, l_start);
    lua_setfield(L, -2, "start");
    lua_pushcfunction(L, l_running);
    lua_setfield(L, -2, "running");
    return 1;
}
