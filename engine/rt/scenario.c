/* scenario.c: loading scenario files and checking their declarations. A file that fails
 * to load is kept with its error, so its route can say why instead of vanishing. */
#include <dirent.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../conf/conf.h"
#include "../log/log.h"
#include "../lab/lab.h"
#include "hook.h"
#include "rt.h"

static const char *const reserved[] = {"status", "tokens", "artifacts", NULL};

int rt_reserved_name(const char *name) {
    for (int i = 0; reserved[i]; i++)
        if (strcmp(name, reserved[i]) == 0) return 1;
    return 0;
}

static int valid_name(const char *s, size_t len, size_t max) {
    if (len == 0 || len >= max) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0;
    }
    return 1;
}

struct rt_scenario *rt_find(struct rt *rt, const char *name, size_t len) {
    for (int i = 0; i < rt->n_scenarios; i++)
        if (strlen(rt->scenarios[i].name) == len && memcmp(rt->scenarios[i].name, name, len) == 0)
            return &rt->scenarios[i];
    return NULL;
}

static void free_params(struct rt_scenario *s) {
    for (int i = 0; i < s->n_params; i++) {
        struct param_spec *p = &s->params[i];
        for (int j = 0; j < p->n_enums; j++) free((char *)p->enums[j]);
        if (p->type == PARAM_STRING && p->def.present) free((char *)p->def.s);
        free((char *)p->doc);
    }
    s->n_params = 0;
}

void rt_scenario_free(struct rt *rt, struct rt_scenario *s) {
    free_params(s);
    free(s->path);
    free(s->summary);
    free(s->load_error);
    if (rt->L != NULL) luaL_unref(rt->L, LUA_REGISTRYINDEX, s->ref);
    memset(s, 0, sizeof *s);
    s->ref = LUA_NOREF;
}

/* Declaration checks run under lua_pcall: errors are raised with luaL_error. */

static double opt_number(lua_State *L, int spec, const char *field, int *has, int integer, const char *pname) {
    double v = 0;
    *has = 0;
    int t = lua_getfield(L, spec, field);
    if (t != LUA_TNIL) {
        if (t != LUA_TNUMBER || (integer && !lua_isinteger(L, -1)))
            luaL_error(L, "parameter '%s': %s must be %s", pname, field, integer ? "an integer" : "a number");
        v = lua_tonumber(L, -1);
        *has = 1;
    }
    lua_pop(L, 1);
    return v;
}

static char *dup_checked(lua_State *L, const char *s, size_t len) {
    char *d = malloc(len + 1);
    if (d == NULL) luaL_error(L, "out of memory");
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

static void read_param(lua_State *L, struct param_spec *p, const char *name, int spec) {
    static const char *const types[] = {"integer", "number", "string", "boolean", NULL};
    memset(p, 0, sizeof *p);
    strcpy(p->name, name);
    if (!lua_istable(L, spec)) luaL_error(L, "parameter '%s' must be declared with a table", name);
    lua_getfield(L, spec, "type");
    const char *type = lua_tostring(L, -1);
    int ti = -1;
    for (int i = 0; type && types[i]; i++)
        if (strcmp(type, types[i]) == 0) ti = i;
    if (ti < 0) luaL_error(L, "parameter '%s': type must be integer, number, string or boolean", name);
    lua_pop(L, 1);
    p->type = (enum param_type)ti;
    int integer = p->type == PARAM_INTEGER || p->type == PARAM_STRING;
    p->min = opt_number(L, spec, "min", &p->has_min, integer, name);
    p->max = opt_number(L, spec, "max", &p->has_max, integer, name);
    if (p->has_min && p->has_max && p->min > p->max) luaL_error(L, "parameter '%s': min is above max", name);
    /* bounds are kept as doubles: beyond 2^53 they would be rounded */
    if ((p->has_min && fabs(p->min) > 9007199254740992.0) || (p->has_max && fabs(p->max) > 9007199254740992.0))
        luaL_error(L, "parameter '%s': min and max must be within 2^53", name);
    if (p->type == PARAM_BOOLEAN && (p->has_min || p->has_max)) luaL_error(L, "parameter '%s': a boolean has no range", name);
    lua_getfield(L, spec, "required");
    p->required = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, spec, "doc") == LUA_TSTRING) {
        size_t len;
        const char *d = lua_tolstring(L, -1, &len);
        p->doc = dup_checked(L, d, len);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, spec, "enum") != LUA_TNIL) {
        if (p->type != PARAM_STRING || !lua_istable(L, -1)) luaL_error(L, "parameter '%s': enum is a list of strings for a string", name);
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        if (n < 1 || n > PARAM_ENUM_MAX) luaL_error(L, "parameter '%s': enum holds 1 to %d strings", name, PARAM_ENUM_MAX);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, i) != LUA_TSTRING) luaL_error(L, "parameter '%s': enum holds strings only", name);
            size_t len;
            const char *e = lua_tolstring(L, -1, &len);
            p->enums[p->n_enums++] = dup_checked(L, e, len);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    if (lua_getfield(L, spec, "default") != LUA_TNIL) {
        /* the default must be a value the parameter accepts: check it through the parser */
        struct param_error perr;
        size_t len;
        const char *text;
        if (p->type == PARAM_BOOLEAN) {
            if (!lua_isboolean(L, -1)) luaL_error(L, "parameter '%s': default must be a boolean", name);
            text = lua_toboolean(L, -1) ? "true" : "false";
            len = strlen(text);
        } else if (p->type == PARAM_STRING) {
            if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "parameter '%s': default must be a string", name);
            text = lua_tolstring(L, -1, &len);
        } else {
            if (lua_type(L, -1) != LUA_TNUMBER || (p->type == PARAM_INTEGER && !lua_isinteger(L, -1)))
                luaL_error(L, "parameter '%s': default must be %s", name, p->type == PARAM_INTEGER ? "an integer" : "a number");
            text = lua_tolstring(L, -1, &len);
        }
        struct param_value v;
        if (params_parse_value(p, text, len, &v, &perr) != 0) luaL_error(L, "parameter '%s': bad default: %s", name, perr.message);
        if (p->type == PARAM_STRING) v.s = dup_checked(L, text, len);
        p->def = v;
    }
    lua_pop(L, 1);
}

static int param_cmp(const void *a, const void *b) {
    return strcmp(((const struct param_spec *)a)->name, ((const struct param_spec *)b)->name);
}

/* Runs the chunk and checks the table it returns. Upvalue 1: the scenario (light userdata). */
static int load_protected(lua_State *L) {
    struct rt_scenario *s = lua_touserdata(L, 1);
    if (luaL_loadfilex(L, s->path, "t") != LUA_OK) return lua_error(L);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1)) luaL_error(L, "the file must return a table {summary, method, params, run}");
    int t = lua_gettop(L);

    if (lua_getfield(L, t, "run") != LUA_TFUNCTION) luaL_error(L, "run must be a function");
    lua_pop(L, 1);
    if (lua_getfield(L, t, "summary") != LUA_TSTRING) luaL_error(L, "summary must be a string");
    size_t len;
    const char *summary = lua_tolstring(L, -1, &len);
    s->summary = dup_checked(L, summary, len);
    lua_pop(L, 1);
    int mt = lua_getfield(L, t, "method");
    const char *method = mt == LUA_TNIL ? "POST" : lua_tostring(L, -1);
    if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0))
        luaL_error(L, "method must be \"GET\" or \"POST\"");
    strcpy(s->method, method);
    lua_pop(L, 1);
    int st = lua_getfield(L, t, "status");
    if (st != LUA_TNIL && st != LUA_TFUNCTION) luaL_error(L, "status must be a function");
    s->has_status = st == LUA_TFUNCTION;
    lua_pop(L, 1);

    int pt = lua_getfield(L, t, "params");
    if (pt != LUA_TNIL) {
        if (pt != LUA_TTABLE) luaL_error(L, "params must be a table of name = {type=...}");
        int ptab = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, ptab) != 0) {
            size_t nlen;
            const char *pname = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &nlen) : NULL;
            if (pname == NULL || !valid_name(pname, nlen, PARAM_NAME_MAX) || memchr(pname, '-', nlen))
                luaL_error(L, "parameter names are 1 to %d characters of a-z, 0-9 and _", PARAM_NAME_MAX - 1);
            if (s->n_params == PARAM_MAX) luaL_error(L, "at most %d parameters", PARAM_MAX);
            read_param(L, &s->params[s->n_params], pname, lua_gettop(L));
            s->n_params++;
            lua_pop(L, 1);
        }
        qsort(s->params, (size_t)s->n_params, sizeof s->params[0], param_cmp);
    }
    lua_pop(L, 1);

    int ut = lua_getfield(L, t, "undo");
    if (ut == LUA_TTABLE) {
        int has_s = lua_getfield(L, -1, "scenario") == LUA_TSTRING;
        int has_p = lua_getfield(L, -2, "param") == LUA_TSTRING;
        if (has_s == has_p) luaL_error(L, "undo is {scenario = NAME} or {param = NAME}");
        const char *u = lua_tolstring(L, has_s ? -2 : -1, &len);
        if (has_s && !valid_name(u, len, RT_NAME_MAX)) luaL_error(L, "undo.scenario is not a scenario name");
        if (has_s) strcpy(s->undo_scenario, u);
        if (has_p) {
            int found = 0;
            for (int i = 0; i < s->n_params; i++)
                found |= strcmp(s->params[i].name, u) == 0 && s->params[i].type == PARAM_BOOLEAN;
            if (!found) luaL_error(L, "undo.param must name one of its boolean parameters");
            strcpy(s->undo_param, u);
        }
        lua_pop(L, 2);
    } else if (ut != LUA_TNIL) {
        luaL_error(L, "undo is {scenario = NAME} or {param = NAME}");
    }
    lua_pop(L, 1);
    /* lab.scenarios[name]: a companion scenario reaches the one it undoes through it */
    luaL_requiref(L, "lab", luaopen_lab, 0);
    lua_getfield(L, -1, "scenarios");
    lua_pushvalue(L, t);
    lua_setfield(L, -2, s->name);
    lua_settop(L, t);
    return 1;
}

static void load_one(struct rt *rt, struct rt_scenario *s) {
    lua_State *L = rt->L;
    if (rt_reserved_name(s->name)) {
        char msg[160];
        snprintf(msg, sizeof msg, "'%s' is a reserved name under /api/lab: rename the file", s->name);
        s->load_error = strdup(msg);
        return;
    }
    lua_pushcfunction(L, load_protected);
    lua_pushlightuserdata(L, s);
    lua_State *prev = hook_enter(L);
    int r = lua_pcall(L, 1, 1, 0);
    hook_leave(prev);
    if (r != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        s->load_error = strdup(m != NULL ? m : "error object is not a string");
        lua_pop(L, 1);
        free_params(s);
        return;
    }
    s->ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int load_dir(struct rt *rt, const char *dir, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot open scenarios folder %s: %m", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".lua") != 0 || e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (nn == NULL) break;
            names = nn;
        }
        if ((names[n] = strdup(e->d_name)) != NULL) n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], real[PATH_MAX];
        size_t len = strlen(names[i]) - 4;
        names[i][len] = '\0';
        if (!valid_name(names[i], len, RT_NAME_MAX)) {
            log_msg(LOG_WARN, "skipping %s/%s.lua: a scenario name is a-z, 0-9, - and _", dir, names[i]);
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s.lua", dir, names[i]);
        if (realpath(path, real) == NULL) snprintf(real, sizeof real, "%s", path);
        struct rt_scenario *s = rt_find(rt, names[i], len);
        if (s != NULL) {
            log_begin(LOG_INFO, "scenario overridden");
            log_kv_str("scenario", names[i]);
            log_kv_str("by", real);
            log_end();
            rt_scenario_free(rt, s);
        } else {
            struct rt_scenario *ns = realloc(rt->scenarios, (size_t)(rt->n_scenarios + 1) * sizeof *ns);
            if (ns == NULL) {
                free(names[i]);
                continue;
            }
            rt->scenarios = ns;
            s = &rt->scenarios[rt->n_scenarios++];
            memset(s, 0, sizeof *s);
        }
        s->ref = LUA_NOREF;
        strcpy(s->name, names[i]);
        s->path = strdup(real);
        load_one(rt, s);
        free(names[i]);
    }
    free(names);
    return 0;
}

int rt_load_scenarios(struct rt *rt, char *err, size_t errlen) {
    for (int i = 0; i < rt->conf->n_scenario_dirs; i++)
        if (load_dir(rt, rt->conf->scenario_dirs[i], err, errlen) != 0) return -1;
    for (int i = 0; i < rt->n_scenarios; i++) {
        struct rt_scenario *s = &rt->scenarios[i];
        if (s->load_error == NULL && s->undo_scenario[0] != '\0' &&
            rt_find(rt, s->undo_scenario, strlen(s->undo_scenario)) == NULL) {
            char msg[200];
            snprintf(msg, sizeof msg, "undo names scenario '%s', which is not loaded", s->undo_scenario);
            s->load_error = strdup(msg);
        }
        log_begin(s->load_error ? LOG_ERROR : LOG_INFO, s->load_error ? "scenario failed to load" : "scenario loaded");
        log_kv_str("scenario", s->name);
        log_kv_str("file", s->path);
        if (s->load_error) log_kv_str("error", s->load_error);
        log_end();
    }
    return 0;
}
