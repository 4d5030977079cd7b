/* tojson.c: Lua values as JSON, for scenario answers, status and the catalog. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "../lab/lab.h"
#include "rt.h"

#define TOJSON_DEPTH 32

struct key {
    const char *s;
    size_t len;
    lua_Integer index;
};

static int key_cmp(const void *a, const void *b) {
    const struct key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int encode(lua_State *L, int idx, struct jbuf *out, int depth);

/* A table whose keys are exactly 1..n, n > 0. */
static lua_Integer sequence_length(lua_State *L, int idx) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n ? n : 0;
}

static int encode_table(lua_State *L, int idx, struct jbuf *out, int depth) {
    if (depth > TOJSON_DEPTH) {
        lua_pushliteral(L, "tables nested too deep (or a cycle) for JSON");
        return -1;
    }
    luaL_checkstack(L, 8, "tojson");
    lua_Integer n = sequence_length(L, idx);
    if (n > 0) {
        jbuf_put(out, "[", 1);
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1) jbuf_put(out, ",", 1);
            lua_rawgeti(L, idx, i);
            int r = encode(L, lua_gettop(L), out, depth + 1);
            if (r != 0) return r;
            lua_pop(L, 1);
        }
        jbuf_put(out, "]", 1);
        return 0;
    }
    /* keys[2i-1] is key i as text, keys[2i] the key itself: the table anchors the texts while they are sorted */
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_Integer nkeys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        int kt = lua_type(L, -1);
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
            lua_pushfstring(L, "a %s key cannot be a JSON object key", luaL_typename(L, -1));
            return -1;
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, 2 * nkeys + 2);
        lua_pushvalue(L, -1);
        lua_tolstring(L, -1, NULL); /* numbers become their text */
        lua_rawseti(L, keys, 2 * nkeys + 1);
        nkeys++;
    }
    struct key *k = nkeys > 0 ? malloc((size_t)nkeys * sizeof *k) : NULL;
    if (nkeys > 0 && k == NULL) {
        lua_pushliteral(L, "out of memory");
        return -1;
    }
    for (lua_Integer i = 0; i < nkeys; i++) {
        lua_rawgeti(L, keys, 2 * i + 1);
        k[i].s = lua_tolstring(L, -1, &k[i].len);
        k[i].index = i;
        lua_pop(L, 1);
    }
    qsort(k, (size_t)nkeys, sizeof *k, key_cmp);
    jbuf_put(out, "{", 1);
    for (lua_Integer i = 0; i < nkeys; i++) {
        if (i > 0) jbuf_put(out, ",", 1);
        json_string(out, k[i].s, k[i].len);
        jbuf_put(out, ":", 1);
        lua_rawgeti(L, keys, 2 * k[i].index + 2);
        lua_rawget(L, idx);
        int r = encode(L, lua_gettop(L), out, depth + 1);
        if (r != 0) {
            free(k);
            return r;
        }
        lua_pop(L, 1);
    }
    free(k);
    jbuf_put(out, "}", 1);
    lua_pop(L, 1);
    return 0;
}

static int encode(lua_State *L, int idx, struct jbuf *out, int depth) {
    switch (lua_type(L, idx)) {
    case LUA_TNIL: jbuf_put(out, "null", 4); return 0;
    case LUA_TBOOLEAN: jbuf_puts(out, lua_toboolean(L, idx) ? "true" : "false"); return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) json_integer(out, (long long)lua_tointeger(L, idx));
        else json_number(out, (double)lua_tonumber(L, idx));
        return 0;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_string(out, s, len);
        return 0;
    }
    case LUA_TTABLE: return encode_table(L, idx, out, depth);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == lab_null()) {
            jbuf_put(out, "null", 4);
            return 0;
        }
        break;
    case LUA_TUSERDATA:
        if (luaL_callmeta(L, idx, "__tostring")) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            json_string(out, s != NULL ? s : "", s != NULL ? len : 0);
            lua_pop(L, 1);
            return 0;
        }
        /* fall through */
    default: break;
    }
    lua_pushfstring(L, "a %s cannot be written as JSON", luaL_typename(L, idx));
    return -1;
}

int rt_tojson(lua_State *L, int idx, struct jbuf *out) {
    idx = lua_absindex(L, idx);
    int top = lua_gettop(L);
    int r = encode(L, idx, out, 0);
    if (r != 0) {
        lua_replace(L, top + 1); /* keep only the message */
        lua_settop(L, top + 1);
        return -1;
    }
    lua_settop(L, top);
    if (out->oom) {
        lua_pushliteral(L, "out of memory writing JSON");
        return -1;
    }
    return 0;
}
