/* decode.c: json.decode and metrics.parse for walkthroughs. */
#include <jansson.h>
#include <lauxlib.h>
#include <string.h>

#include "promtext.h"
#include "walk.h"

static void push_json(lua_State *L, json_t *v, int depth) {
    luaL_checkstack(L, 4, "json nesting");
    if (depth > 200) luaL_error(L, "JSON nested too deep");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach(v, k, x) {
            push_json(L, x, depth + 1);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, x) {
            push_json(L, x, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    case JSON_NULL: lua_pushnil(L); break;
    }
}

/* json.decode(text) -> value | nil, message */
static int l_json_decode(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    json_error_t err;
    json_t *v = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (v == NULL) {
        luaL_pushfail(L);
        lua_pushfstring(L, "invalid JSON at line %d column %d: %s", err.line, err.column, err.text);
        return 2;
    }
    push_json(L, v, 0);
    json_decref(v);
    return 1;
}

/* metrics.parse(text) -> { {name=, labels={...}, value=}, ... } | nil, message */
static int on_sample(void *ud, const char *name, size_t name_len, const struct prom_label *labels, int n, double value) {
    lua_State *L = ud;
    if (!lua_checkstack(L, 6)) return 1;
    lua_createtable(L, 0, 3);
    lua_pushlstring(L, name, name_len);
    lua_setfield(L, -2, "name");
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, labels[i].value, labels[i].value_len);
        lua_pushlstring(L, labels[i].name, labels[i].name_len);
        lua_insert(L, -2);
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "labels");
    lua_pushnumber(L, value);
    lua_setfield(L, -2, "value");
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int l_metrics_parse(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char err[200];
    lua_newtable(L);
    int r = prom_parse(s, len, on_sample, L, err, sizeof err);
    if (r != 0) {
        luaL_pushfail(L);
        lua_pushstring(L, r == -1 ? err : "out of memory");
        return 2;
    }
    return 1;
}

int walk_open_decoders(lua_State *L) {
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "decode");
    lua_setglobal(L, "json");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_metrics_parse);
    lua_setfield(L, -2, "parse");
    lua_setglobal(L, "metrics");
    return 0;
}
