/* link.c: signed download links, and lab.artifacts for scenarios. */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../tok/tok.h"
#include "artifacts.h"

static const struct tok_key *link_key;
static const char reqs_key = 'r'; /* registry: weak-keyed {coroutine = req table} */
static const char *link_public;

void art_link_setup(const struct tok_key *key, const char *public_url) {
    link_key = key;
    link_public = public_url;
}

int art_link_base(const char *scheme, size_t slen, const char *host, size_t hlen, char *out, size_t outlen) {
    if (link_public != NULL) return (size_t)snprintf(out, outlen, "%s", link_public) < outlen ? 0 : -1;
    if (scheme == NULL || host == NULL) return -1;
    if (!((slen == 4 && memcmp(scheme, "http", 4) == 0) || (slen == 5 && memcmp(scheme, "https", 5) == 0))) return -1;
    if (hlen == 0 || hlen > 255) return -1;
    for (size_t i = 0; i < hlen; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']'))
            return -1;
    }
    return (size_t)snprintf(out, outlen, "%.*s://%.*s", (int)slen, scheme, (int)hlen, host) < outlen ? 0 : -1;
}

int art_link(const char *name, const char *scheme, size_t slen, const char *host, size_t hlen, char *out, size_t outlen) {
    if (link_key == NULL || !art_name_valid(name, strlen(name))) return -1;
    char tok[TOK_MAX_LEN];
    const char *scope = "artifacts:read";
    if (tok_mint(link_key, &scope, 1, name, (int64_t)time(NULL), ART_LINK_TTL_S, tok, sizeof tok) != 0) return -1;
    if (art_link_base(scheme, slen, host, hlen, out, outlen) != 0) return -1;
    size_t n = strlen(out);
    return (size_t)snprintf(out + n, outlen - n, "/api/lab/artifacts/%s?token=%s", name, tok) < outlen - n ? 0 : -1;
}

void art_lua_bind_req(lua_State *L, lua_State *co) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &reqs_key) != LUA_TTABLE || !lua_checkstack(co, 1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* lab.artifacts.link(name or path [, req]): req defaults to the request of the scenario call
 * that runs (the table run() received). */
static int l_link(lua_State *L) {
    size_t nl;
    const char *name = luaL_checklstring(L, 1, &nl);
    const char *slash = strrchr(name, '/');
    if (slash != NULL) { /* a path: it must be in the artifact folder */
        size_t dl = strlen(art_dir());
        if ((size_t)(slash - name) != dl || strncmp(name, art_dir(), dl) != 0)
            return luaL_error(L, "lab.artifacts.link: %s is not in the artifact folder", name);
        nl -= (size_t)(slash + 1 - name);
        name = slash + 1;
    }
    const char *scheme = NULL, *host = NULL;
    size_t sl = 0, hl = 0;
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_rawgetp(L, LUA_REGISTRYINDEX, &reqs_key);
        lua_pushthread(L);
        lua_rawget(L, -2);
        lua_replace(L, 2);
        lua_settop(L, 2);
    }
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "scheme");
        lua_getfield(L, 2, "host");
        scheme = lua_tolstring(L, -2, &sl);
        host = lua_tolstring(L, -1, &hl);
    } else if (!lua_isnil(L, 2)) {
        return luaL_typeerror(L, 2, "table (the req of run) or nil");
    }
    if (!art_name_valid(name, nl) || strlen(name) != nl) return luaL_error(L, "lab.artifacts.link: not an artifact name");
    if (art_find(name, nl) == NULL) return luaL_error(L, "lab.artifacts.link: no artifact named %s", name);
    if (link_key == NULL) return luaL_error(L, "lab.artifacts.link: links need LAB_TOKEN");
    char url[ART_LINK_MAX];
    if (art_link(name, scheme, sl, host, hl, url, sizeof url) != 0)
        return luaL_error(L, "lab.artifacts.link: no base URL (set LAB_PUBLIC_URL, or call it from a scenario call)");
    lua_pushstring(L, url);
    return 1;
}

static int l_list(lua_State *L) {
    int n = art_count();
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        const struct art_info *a = art_at(i);
        char hex[65];
        art_digest_hex(a, hex);
        lua_createtable(L, 0, 5);
        lua_pushstring(L, a->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, a->kind);
        lua_setfield(L, -2, "kind");
        lua_pushinteger(L, (lua_Integer)a->size);
        lua_setfield(L, -2, "size");
        lua_pushstring(L, hex);
        lua_setfield(L, -2, "sha256");
        lua_pushinteger(L, (lua_Integer)a->created_ms);
        lua_setfield(L, -2, "createdMs");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

int art_open_lua(struct lua_State *L) {
    static const luaL_Reg fns[] = {{"link", l_link}, {"list", l_list}, {NULL, NULL}};
    lua_newtable(L); /* weak keys: a finished call's coroutine is collected with its entry */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &reqs_key);
    luaL_newlib(L, fns);
    return 1;
}

int art_lua_fail(lua_State *L, int err, const char *what) {
    int storage = err == ENOSPC || err == EDQUOT || err == EFBIG || err == EIO || err == EROFS;
    lua_createtable(L, 0, 3); /* the error object of lab.fail: answered with its status */
    lua_pushinteger(L, storage ? 507 : 500);
    lua_setfield(L, -2, "status");
    lua_pushstring(L, storage ? "insufficient_storage" : "artifact_error");
    lua_setfield(L, -2, "error");
    if (err == ENOSPC && art_budget() != 0)
        lua_pushfstring(L, "%s: %s (the disk, or LAB_ARTIFACTS_MAX_MB = %d MiB); nothing was kept", what, strerror(err),
                        (int)(art_budget() >> 20));
    else
        lua_pushfstring(L, "%s: %s; nothing was kept", what, strerror(err));
    lua_setfield(L, -2, "message");
    return lua_error(L);
}
