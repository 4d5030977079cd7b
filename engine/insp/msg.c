/* msg.c: an inbound CDP message read with jansson: {"id": integer, "method": string,
 * "params": object}, with typed access to the parameters. */
#include <jansson.h>
#include <lua.h>
#include <string.h>

#include "insp.h"

int cdp_msg_parse(const char *text, size_t len, struct cdp_msg *m) {
    memset(m, 0, sizeof *m);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) return -1;
    m->root = root;
    json_t *id = json_object_get(root, "id");
    if (json_is_integer(id)) {
        m->has_id = 1;
        m->id = json_integer_value(id);
    }
    m->method = json_string_value(json_object_get(root, "method"));
    json_t *params = json_object_get(root, "params");
    m->params = params;
    if (!json_is_object(root) || !m->has_id || m->method == NULL || (params != NULL && !json_is_object(params)))
        return -1;
    return 0;
}

void cdp_msg_free(struct cdp_msg *m) {
    json_decref(m->root);
    memset(m, 0, sizeof *m);
}

/* "a.b": params.a.b */
static json_t *param(const struct cdp_msg *m, const char *path) {
    json_t *v = m->params;
    char key[64];
    while (v != NULL) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key) return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        if (dot == NULL) return v;
        path = dot + 1;
    }
    return NULL;
}

const char *cdp_param_str(const struct cdp_msg *m, const char *name) { return json_string_value(param(m, name)); }

int cdp_param_true(const struct cdp_msg *m, const char *name) { return json_is_true(param(m, name)); }

int cdp_param_int(const struct cdp_msg *m, const char *name, long long *out) {
    json_t *v = param(m, name);
    if (!json_is_integer(v)) return -1;
    *out = json_integer_value(v);
    return 0;
}

int cdp_param_push(const struct cdp_msg *m, const char *name, lua_State *L) {
    json_t *v = param(m, name);
    if (json_is_string(v)) lua_pushlstring(L, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v)) lua_pushinteger(L, (lua_Integer)json_integer_value(v));
    else if (json_is_real(v)) lua_pushnumber(L, json_real_value(v));
    else if (json_is_boolean(v)) lua_pushboolean(L, json_is_true(v));
    else if (json_is_null(v)) lua_pushnil(L);
    else return -1;
    return 0;
}

static int name_char(char c, int first) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

size_t cdp_name_path(const char *e) {
    size_t first = 0;
    for (const char *p = e;;) {
        if (!name_char(*p, 1)) return 0;
        const char *name = p;
        while (name_char(*p, 0)) p++;
        if (first == 0) first = (size_t)(p - name);
        if (*p == '\0') return first;
        if (*p++ != '.') return 0;
    }
}
