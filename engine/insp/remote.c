/* remote.c: Lua values as the protocol's RemoteObjects. Tables, functions, userdata and
 * coroutines get an objectId: a slot in a table of the registry, kept until the session asks to
 * release them, or ends. The table keeps what it names alive: heap snapshots show it as
 * proflab.InspectorObjects, so a leak seen through DevTools is not blamed on the scenario. */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json/json.h"
#include "insp.h"

static const char objects_key = 'o';

static void push_objects(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &objects_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 0);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "proflab.InspectorObjects");
        lua_setfield(L, -2, "__name");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &objects_key);
    }
}

void remote_release_all(lua_State *L) {
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &objects_key);
}

/* The id of the value at idx in the objects table: one per object, the same while it is kept. */
static lua_Integer object_id(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    push_objects(L);
    lua_pushvalue(L, idx); /* objects[value] = id, objects[id] = value */
    lua_Integer id;
    if (lua_rawget(L, -2) == LUA_TNUMBER) {
        id = lua_tointeger(L, -1);
        lua_pop(L, 2);
        return id;
    }
    lua_pop(L, 1);
    id = (lua_Integer)lua_rawlen(L, -1) + 1;
    lua_pushvalue(L, idx);
    lua_rawseti(L, -2, id);
    lua_pushvalue(L, idx);
    lua_pushinteger(L, id);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return id;
}

int remote_lookup(lua_State *L, const char *object_id_text) {
    char *end;
    long long id = strtoll(object_id_text, &end, 10);
    if (*object_id_text == '\0' || *end != '\0' || id <= 0) return 0;
    push_objects(L);
    int t = lua_rawgeti(L, -1, id);
    lua_remove(L, -2);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

/* __name of the value's metatable, or NULL. Leaves the stack as it was. */
static const char *class_name(lua_State *L, int idx, char *buf, size_t cap) {
    const char *name = NULL;
    if (lua_getmetatable(L, idx)) {
        if (lua_getfield(L, -1, "__name") == LUA_TSTRING) {
            snprintf(buf, cap, "%s", lua_tostring(L, -1));
            name = buf;
        }
        lua_pop(L, 2);
    }
    return name;
}

/* A function as DevTools wants it: JavaScript-shaped, "function name(a, b) { ... }". */
static void function_description(lua_State *L, int idx, struct jbuf *b, const char *name) {
    lua_Debug ar;
    lua_pushvalue(L, idx);
    lua_getinfo(L, ">Su", &ar);
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof text, "function %s(", name ? name : "");
    if (strcmp(ar.what, "C") == 0) {
        snprintf(text + n, sizeof text - n, ") { [native code] }");
    } else {
        lua_pushvalue(L, idx);
        for (int i = 1; i <= ar.nparams && n < sizeof text - 64; i++) {
            const char *p = lua_getlocal(L, NULL, i);
            n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", i > 1 ? ", " : "", p ? p : "?");
        }
        lua_pop(L, 1);
        if (ar.isvararg && n < sizeof text - 64) n += (size_t)snprintf(text + n, sizeof text - n, "%s...", ar.nparams ? ", " : "");
        snprintf(text + n, sizeof text - n, ") { [%s:%d] }", ar.short_src, ar.linedefined);
    }
    json_string(b, text, strlen(text));
}

void remote_object(lua_State *L, int idx, struct jbuf *b) {
    idx = lua_absindex(L, idx);
    char cls[128];
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE:
        jbuf_puts(b, "{\"type\":\"undefined\"}");
        return;
    case LUA_TBOOLEAN:
        jbuf_puts(b, lua_toboolean(L, idx) ? "{\"type\":\"boolean\",\"value\":true}" : "{\"type\":\"boolean\",\"value\":false}");
        return;
    case LUA_TNUMBER: {
        char d[64];
        if (lua_isinteger(L, idx)) {
            snprintf(d, sizeof d, "%lld", (long long)lua_tointeger(L, idx));
        } else {
            double v = lua_tonumber(L, idx);
            if (isnan(v) || isinf(v)) {
                const char *u = isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
                jbuf_printf(b, "{\"type\":\"number\",\"unserializableValue\":\"%s\",\"description\":\"%s\"}", u, u);
                return;
            }
            snprintf(d, sizeof d, "%.17g", v);
        }
        jbuf_printf(b, "{\"type\":\"number\",\"value\":%s,\"description\":\"%s\"}", d, d);
        return;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        jbuf_puts(b, "{\"type\":\"string\",\"value\":");
        json_string(b, s, n);
        jbuf_puts(b, "}");
        return;
    }
    case LUA_TFUNCTION:
        jbuf_printf(b, "{\"type\":\"function\",\"className\":\"Function\",\"objectId\":\"%lld\",\"description\":",
                    (long long)object_id(L, idx));
        function_description(L, idx, b, NULL);
        jbuf_puts(b, "}");
        return;
    case LUA_TTABLE: {
        const char *c = class_name(L, idx, cls, sizeof cls);
        lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
        char d[200];
        if (c != NULL) snprintf(d, sizeof d, "%s", c);
        else if (len > 0) snprintf(d, sizeof d, "table(%lld)", (long long)len);
        else snprintf(d, sizeof d, "table");
        jbuf_printf(b, "{\"type\":\"object\",\"className\":");
        json_string(b, c ? c : "table", strlen(c ? c : "table"));
        jbuf_printf(b, ",\"objectId\":\"%lld\",\"description\":", (long long)object_id(L, idx));
        json_string(b, d, strlen(d));
        jbuf_puts(b, "}");
        return;
    }
    default: { /* userdata, coroutines */
        const char *c = lua_type(L, idx) == LUA_TTHREAD ? "coroutine" : class_name(L, idx, cls, sizeof cls);
        if (c == NULL) c = lua_typename(L, lua_type(L, idx));
        jbuf_puts(b, "{\"type\":\"object\",\"className\":");
        json_string(b, c, strlen(c));
        jbuf_printf(b, ",\"objectId\":\"%lld\",\"description\":", (long long)object_id(L, idx));
        json_string(b, c, strlen(c));
        jbuf_puts(b, "}");
        return;
    }
    }
}

/* A property name: strings as they are, other keys as Lua would write them in brackets. */
static void key_name(lua_State *L, int idx, struct jbuf *b) {
    size_t n;
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, idx, &n);
        json_string(b, s, n);
        return;
    }
    const char *s = luaL_tolstring(L, idx, &n); /* numbers, booleans, "table: 0x..." */
    json_string(b, s, n);
    lua_pop(L, 1);
}

static void property_value(lua_State *L, int vidx, struct jbuf *b) {
    jbuf_puts(b, ",\"value\":");
    remote_object(L, vidx, b);
    jbuf_puts(b, ",\"writable\":true,\"configurable\":true,\"enumerable\":true,\"isOwn\":true}");
}

static void property(lua_State *L, int kidx, int vidx, struct jbuf *b, int *first) {
    vidx = lua_absindex(L, vidx);
    jbuf_puts(b, *first ? "{\"name\":" : ",{\"name\":");
    *first = 0;
    key_name(L, kidx, b);
    property_value(L, vidx, b);
}

void remote_property(lua_State *L, const char *name, size_t len, int vidx, struct jbuf *b, int *first) {
    vidx = lua_absindex(L, vidx);
    jbuf_puts(b, *first ? "{\"name\":" : ",{\"name\":");
    *first = 0;
    json_string(b, name, len);
    property_value(L, vidx, b);
}

/* The properties of the value on top (popped): a table's entries, a function's upvalues, a
 * userdata's or coroutine's metatable and user value. Writes the result's "result" array. */
void remote_properties(lua_State *L, struct jbuf *b) {
    int v = lua_gettop(L), first = 1;
    jbuf_puts(b, "[");
    luaL_checkstack(L, 8, "inspector properties");
    if (lua_type(L, v) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, v) != 0) {
            property(L, -2, -1, b, &first);
            lua_pop(L, 1);
        }
    } else if (lua_type(L, v) == LUA_TFUNCTION) {
        for (int i = 1;; i++) {
            const char *name = lua_getupvalue(L, v, i);
            if (name == NULL) break;
            lua_pushstring(L, *name ? name : "?");
            property(L, -1, -2, b, &first);
            lua_pop(L, 2);
        }
    } else if (lua_type(L, v) == LUA_TUSERDATA) {
        if (lua_getiuservalue(L, v, 1) != LUA_TNONE) {
            lua_pushliteral(L, "[[uservalue]]");
            property(L, -1, -2, b, &first);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    if (lua_type(L, v) != LUA_TFUNCTION && lua_getmetatable(L, v)) {
        lua_pushliteral(L, "[[metatable]]");
        property(L, -1, -2, b, &first);
        lua_pop(L, 2);
    }
    jbuf_puts(b, "]");
    lua_settop(L, v - 1);
}
