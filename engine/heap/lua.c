/* lua.c: lab.heap, the Lua side of heap snapshots. */
#include <errno.h>
#include <lauxlib.h>
#include <string.h>

#include "../artifacts/artifacts.h"
#include "heap.h"

static int to_artifact(void *ud, const char *p, size_t n) {
    struct art_writer *w = ud;
    art_write(w, p, n);
    return w->failed ? -1 : 0;
}

/* lab.heap.snapshot(): blocks the loop while it walks and writes, as V8's writeHeapSnapshot. */
static int l_snapshot(lua_State *L) {
    struct art_writer w;
    if (art_create(&w, "heap", ".heapsnapshot") != 0)
        return luaL_error(L, "cannot create the snapshot file in %s: %s", art_dir(), strerror(errno));
    struct heap_stats st;
    char err[256];
    int rc = heap_snapshot(L, to_artifact, &w, &st, err, sizeof err);
    if (rc != HEAP_OK) {
        int e = w.failed;
        art_abort(&w);
        if (e) return art_lua_fail(L, e, "cannot write the snapshot");
        if (rc == HEAP_ERR_LUAMEM || rc == HEAP_ERR_NOMEM) { /* answered 507, as lab.fail would */
            lua_createtable(L, 0, 3);
            lua_pushinteger(L, 507);
            lua_setfield(L, -2, "status");
            lua_pushstring(L, rc == HEAP_ERR_LUAMEM ? "lua_memory_limit" : "out_of_memory");
            lua_setfield(L, -2, "error");
            lua_pushfstring(L, "not enough memory for the heap snapshot: %s", err);
            lua_setfield(L, -2, "message");
            return lua_error(L);
        }
        return luaL_error(L, "heap snapshot failed: %s", err);
    }
    if (art_commit(&w) != 0) return art_lua_fail(L, errno, "cannot write the snapshot");
    lua_createtable(L, 0, 8);
    lua_pushstring(L, w.path);
    lua_setfield(L, -2, "filePath");
    lua_pushinteger(L, (lua_Integer)st.bytes);
    lua_setfield(L, -2, "bytes");
    lua_pushinteger(L, (lua_Integer)st.nodes);
    lua_setfield(L, -2, "nodes");
    lua_pushinteger(L, (lua_Integer)st.edges);
    lua_setfield(L, -2, "edges");
    lua_pushnumber(L, (lua_Number)((long long)(st.duration_ms * 1000.0)) / 1000.0);
    lua_setfield(L, -2, "durationMs");
    lua_pushinteger(L, (lua_Integer)st.self_bytes);
    lua_setfield(L, -2, "selfBytes");
    lua_pushinteger(L, (lua_Integer)st.lua_heap_bytes);
    lua_setfield(L, -2, "luaHeapBytes");
    lua_pushinteger(L, (lua_Integer)st.native_bytes);
    lua_setfield(L, -2, "nativeBytes");
    lua_pushinteger(L, (lua_Integer)st.extra_peak);
    lua_setfield(L, -2, "extraPeakBytes");
    return 1;
}

int heap_open_lua(lua_State *L) {
    static const luaL_Reg fns[] = {{"snapshot", l_snapshot}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
