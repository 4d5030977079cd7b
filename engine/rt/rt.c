/* rt.c: the Lua state, scenario calls as coroutines, status and catalog. */
#include "rt.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../artifacts/artifacts.h"
#include "../conf/conf.h"
#include "../heap/heap.h"
#include "../lab/lab.h"
#include "../log/log.h"
#include "../mem/mem.h"
#include "../metrics/metrics.h"
#include "../prof/prof.h"
#include "../watchdog/watchdog.h"
#include "hook.h"

int rt_load_scenarios(struct rt *rt, char *err, size_t errlen);
void rt_scenario_free(struct rt *rt, struct rt_scenario *s);

struct rt_call {
    struct rt *rt;
    struct rt_scenario *s;
    lua_State *co;
    int co_ref;
    rt_done_fn done;
    void *ud;
    struct loop_timer timer;
    uint64_t started_us;
    char args[256]; /* the parameters, for the log */
};

static int status_push(lua_State *L);

/* print as Lua's writes it (tostring of each value, tabs, a newline, on stdout), and to the
 * inspector's Console when a session listens */
static int engine_print(lua_State *L) {
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    /* as Lua's own print, a closed or full stdout is not the scenario's error */
    if (fwrite(text, 1, len, stdout) == len && fputc('\n', stdout) != EOF) fflush(stdout);
    lab_console(L, 4, text, 0);
    return 0;
}

static int open_libs(lua_State *L) {
    luaL_openlibs(L);
    lua_pushcfunction(L, engine_print);
    lua_setglobal(L, "print");
    lab_set_hosted(L);
    luaL_requiref(L, "lab", luaopen_lab, 0);
    /* engine capabilities add their Lua side to the lab table (lab.profiler, lab.heap, ...) here */
    prof_open_lua(L);
    lua_setfield(L, -2, "profiler");
    met_lua_open(L); /* lab.metrics, and the GC cycle and time counters */
    art_open_lua(L);
    lua_setfield(L, -2, "artifacts");
    heap_open_lua(L);
    lua_setfield(L, -2, "heap");
    lua_pop(L, 1);
    hook_open_coroutines(L);
    struct rt *rt = lua_touserdata(L, 1);
    lua_pushlightuserdata(L, rt);
    lua_pushcclosure(L, status_push, 1);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, (void *)status_push);
    lab_set_status_provider_value(L);
    return 0;
}

static struct rt *opened; /* the one runtime, for rt_script_id */

int rt_script_id(const char *source) {
    if (opened == NULL || source == NULL || source[0] != '@') return 0;
    for (int i = 0; i < opened->n_scenarios; i++)
        if (strcmp(opened->scenarios[i].path, source + 1) == 0) return i + 1;
    return 0;
}

int rt_open(struct rt *rt, const struct conf *conf, char *err, size_t errlen) {
    memset(rt, 0, sizeof *rt);
    opened = rt;
    rt->conf = conf;
    atomic_init(&rt->alloc.used, 0);
    atomic_init(&rt->alloc.refused, 0);
    rt->L = lua_newstate(rt_alloc_fn, &rt->alloc);
    if (rt->L == NULL) {
        snprintf(err, errlen, "cannot create the Lua state");
        return -1;
    }
    lua_pushcfunction(rt->L, open_libs);
    lua_pushlightuserdata(rt->L, rt);
    if (lua_pcall(rt->L, 1, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "cannot open the Lua libraries: %s", lua_tostring(rt->L, -1));
        return -1;
    }
    /* the ceiling applies to scenarios, not to the engine's own start */
    rt->alloc.limit = conf->lua_max_bytes;
    return rt_load_scenarios(rt, err, errlen);
}

void rt_close(struct rt *rt) {
    if (opened == rt) opened = NULL;
    if (rt->L == NULL) return;
    for (int i = 0; i < rt->n_scenarios; i++) rt_scenario_free(rt, &rt->scenarios[i]);
    free(rt->scenarios);
    rt->scenarios = NULL;
    rt->n_scenarios = 0;
    rt->alloc.limit = 0;
    lua_close(rt->L);
    rt->L = NULL;
}

/* Scenario calls */

static void push_params(lua_State *L, const struct rt_scenario *s, const struct param_value *vals) {
    lua_createtable(L, 0, s->n_params);
    for (int i = 0; i < s->n_params; i++) {
        const struct param_value *v = &vals[i];
        if (!v->present) continue;
        switch (v->type) {
        case PARAM_INTEGER: lua_pushinteger(L, (lua_Integer)v->i); break;
        case PARAM_NUMBER: lua_pushnumber(L, v->n); break;
        case PARAM_BOOLEAN: lua_pushboolean(L, v->b); break;
        case PARAM_STRING: lua_pushlstring(L, v->s, v->len); break;
        }
        lua_setfield(L, -2, s->params[i].name);
    }
}

static void describe_args(struct rt_call *c, const struct param_value *vals) {
    size_t o = 0;
    c->args[0] = '\0';
    for (int i = 0; i < c->s->n_params && o < sizeof c->args; i++) {
        const struct param_value *v = &vals[i];
        if (!v->present) continue;
        const char *sep = o ? " " : "";
        size_t room = sizeof c->args - o;
        switch (v->type) {
        case PARAM_INTEGER: o += (size_t)snprintf(c->args + o, room, "%s%s=%lld", sep, c->s->params[i].name, v->i); break;
        case PARAM_NUMBER: o += (size_t)snprintf(c->args + o, room, "%s%s=%g", sep, c->s->params[i].name, v->n); break;
        case PARAM_BOOLEAN: o += (size_t)snprintf(c->args + o, room, "%s%s=%s", sep, c->s->params[i].name, v->b ? "true" : "false"); break;
        case PARAM_STRING:
            o += (size_t)snprintf(c->args + o, room, "%s%s=%.*s", sep, c->s->params[i].name, (int)(v->len > 40 ? 40 : v->len), v->s);
            break;
        }
    }
}

static void finish(struct rt_call *c, int status, struct jbuf *body) {
    double ms = (double)(loop_now_us() - c->started_us) / 1000.0;
    log_begin(status < 400 ? LOG_INFO : LOG_WARN, "lab action");
    log_kv_str("scenario", c->s->name);
    if (c->args[0]) log_kv_str("params", c->args);
    log_kv_int("status", status);
    log_kv_num("duration_ms", ms, 3);
    log_end();
    if (body->oom || body->p == NULL) {
        jbuf_free(body);
        status = 507;
        json_error(body, "out_of_memory", "out of memory writing the answer");
    }
    if (c->done != NULL) c->done(c->ud, status, body->p ? body->p : "", body->len);
    jbuf_free(body);
    if (c->co_ref != LUA_NOREF) luaL_unref(c->rt->L, LUA_REGISTRYINDEX, c->co_ref);
    c->rt->calls_in_flight--;
    free(c);
}

/* After the coroutine stopped: its answer as JSON, read under lua_pcall on the main thread,
 * where an allocation failure at the ceiling lands (errors on a suspended thread are rethrown
 * in the main thread). */
struct answer {
    struct rt_call *c;
    int st, nres;
    int status;
    struct jbuf *body;
};

static int answer_protected(lua_State *L) {
    struct answer *a = lua_touserdata(L, 1);
    lua_State *co = a->c->co;
    struct jbuf *body = a->body;
    if (a->st == LUA_OK) {
        a->status = 200;
        if (a->nres == 0 || lua_isnil(co, -a->nres)) {
            jbuf_puts(body, "{}");
        } else if (!lua_istable(co, -a->nres)) {
            a->status = 500;
            json_error(body, "scenario_error", "run must return a table (or nothing)");
        } else {
            lua_pushvalue(co, -a->nres);
            lua_xmove(co, L, 1);
            if (rt_tojson(L, -1, body) != 0) {
                lua_pushfstring(L, "run returned a table that is not JSON: %s", lua_tostring(L, -1));
                jbuf_free(body);
                a->status = 500;
                json_error(body, "scenario_error", lua_tostring(L, -1));
            }
        }
        return 0;
    }
    int status;
    const char *code, *message;
    if (lab_error_fields(co, -1, &status, &code, &message)) {
        a->status = status;
        json_error(body, code, message);
        return 0;
    }
    if (a->st == LUA_ERRMEM) {
        a->status = 507;
        lua_pushfstring(L, "the Lua heap reached LAB_LUA_MAX_MB (%I MiB); the scenario was stopped",
                        (lua_Integer)(a->c->rt->alloc.limit >> 20));
        json_error(body, "lua_memory_limit", lua_tostring(L, -1));
        return 0;
    }
    const char *msg = lua_tostring(co, -1);
    if (msg == NULL) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(co, -1));
    luaL_traceback(L, co, NULL, 0);
    a->status = 500;
    jbuf_puts(body, "{\"error\":\"scenario_error\",\"message\":");
    json_string(body, msg, strlen(msg));
    jbuf_puts(body, ",\"traceback\":");
    size_t tlen;
    const char *tb = lua_tolstring(L, -1, &tlen);
    json_string(body, tb, tlen);
    jbuf_puts(body, "}");
    log_begin(LOG_ERROR, "scenario error");
    log_kv_str("scenario", a->c->s->name);
    log_kv_str("error", msg);
    log_end();
    return 0;
}

static void answer(struct rt_call *c, int st, int nres) {
    struct jbuf body;
    jbuf_init(&body);
    struct answer a = {c, st, nres, 500, &body};
    lua_State *L = c->rt->L;
    int top = lua_gettop(L);
    lua_pushcfunction(L, answer_protected);
    lua_pushlightuserdata(L, &a);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        jbuf_free(&body);
        a.status = 507;
        json_error(&body, "lua_memory_limit", "the Lua heap is at LAB_LUA_MAX_MB: cannot write the answer");
    }
    lua_settop(L, top);
    finish(c, a.status, &body);
}

static int resume(struct rt_call *c, int nargs);

static rt_error_fn error_hook;

void rt_set_error_hook(rt_error_fn fn) { error_hook = fn; }

static void on_wake(struct loop_timer *t) {
    struct rt_call *c = (struct rt_call *)((char *)t - offsetof(struct rt_call, timer));
    resume(c, 0);
}

/* Returns 1 while the call sleeps, 0 once it answered. */
static int resume(struct rt_call *c, int nargs) {
    lua_State *co = c->co;
    int nres;
    lua_State *prev = hook_enter(co);
    int st = lua_resume(co, c->rt->L, nargs, &nres);
    hook_leave(prev);
    if (st == LUA_YIELD) {
        long long us = lab_sleep_request(co, nres);
        lua_pop(co, nres);
        struct jbuf body;
        jbuf_init(&body);
        if (us >= 0) {
            if (loop_timer_start(&c->timer, (uint64_t)us, on_wake) == 0) return 1;
            json_error(&body, "out_of_memory", "cannot schedule lab.sleep");
        } else {
            json_error(&body, "scenario_error", "run yielded something other than lab.sleep; use lab.sleep to wait");
        }
        finish(c, 500, &body);
        return 0;
    }
    if (st != LUA_OK && st != LUA_ERRMEM && error_hook != NULL && lua_checkstack(co, 4)) error_hook(co);
    answer(c, st, nres);
    return 0;
}

struct start {
    struct rt_call *c;
    const struct param_value *vals;
    const struct rt_req *req;
};

static int start_protected(lua_State *L) {
    struct start *a = lua_touserdata(L, 1);
    struct rt_call *c = a->c;
    c->co = lua_newthread(L);
    c->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lab_mark_driven(L, c->co);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->s->ref);
    lua_getfield(L, -1, "run");
    lua_remove(L, -2);
    push_params(L, c->s, a->vals);
    lua_createtable(L, 0, 3);
    lua_pushlstring(L, a->req->method, a->req->method_len);
    lua_setfield(L, -2, "method");
    lua_pushlstring(L, a->req->path, a->req->path_len);
    lua_setfield(L, -2, "path");
    lua_pushlstring(L, a->req->body != NULL ? a->req->body : "", a->req->body_len);
    lua_setfield(L, -2, "body");
    if (a->req->scheme != NULL) lua_pushlstring(L, a->req->scheme, a->req->scheme_len), lua_setfield(L, -2, "scheme");
    if (a->req->host != NULL) lua_pushlstring(L, a->req->host, a->req->host_len), lua_setfield(L, -2, "host");
    art_lua_bind_req(L, c->co);
    if (!lua_checkstack(c->co, 3)) luaL_error(L, "out of memory");
    lua_xmove(L, c->co, 3);
    return 0;
}

struct rt_call *rt_call_start(struct rt *rt, struct rt_scenario *s, const struct param_value *vals,
                              const struct rt_req *req, rt_done_fn done, void *ud) {
    struct rt_call *c = calloc(1, sizeof *c);
    if (c == NULL) {
        struct jbuf body;
        jbuf_init(&body);
        json_error(&body, "out_of_memory", "cannot start the scenario");
        done(ud, 507, body.p ? body.p : "", body.len);
        jbuf_free(&body);
        return NULL;
    }
    c->rt = rt;
    c->s = s;
    c->done = done;
    c->ud = ud;
    c->co_ref = LUA_NOREF;
    c->started_us = loop_now_us();
    describe_args(c, vals);
    rt->calls_in_flight++;
    struct start a = {c, vals, req};
    int top = lua_gettop(rt->L);
    lua_pushcfunction(rt->L, start_protected);
    lua_pushlightuserdata(rt->L, &a);
    int r = lua_pcall(rt->L, 1, 0, 0);
    lua_settop(rt->L, top);
    if (r != LUA_OK) {
        struct jbuf body;
        jbuf_init(&body);
        json_error(&body, "lua_memory_limit", "the Lua heap is at LAB_LUA_MAX_MB: cannot start the scenario");
        finish(c, 507, &body);
        return NULL;
    }
    return resume(c, 2) ? c : NULL;
}

void rt_call_detach(struct rt_call *c) {
    c->done = NULL;
    c->ud = NULL;
}

/* GET /api/lab/status and lab.status(): the lab module's memory figures, the guard's view,
 * and what each scenario's status() contributes. Upvalue 1: the rt. */
static int status_push(lua_State *L) {
    struct rt *rt = lua_touserdata(L, lua_upvalueindex(1));
    const struct conf *cf = rt->conf;
    lab_push_status_base(L);
    int t = lua_gettop(L);
    lua_pushboolean(L, prof_running());
    lua_setfield(L, t, "cpuProfileInProgress");
    lua_pushboolean(L, cf->lab_enable && cf->lab_token != NULL);
    lua_setfield(L, t, "labEnabled");
    if (cf->app_env != NULL) lua_pushstring(L, cf->app_env);
    else lua_pushlightuserdata(L, lab_null());
    lua_setfield(L, t, "appEnv");
    if (cf->node_env != NULL) lua_pushstring(L, cf->node_env);
    else lua_pushlightuserdata(L, lab_null());
    lua_setfield(L, t, "nodeEnv");
    lua_newtable(L);
    for (int i = 0; i < rt->n_scenarios; i++) {
        struct rt_scenario *s = &rt->scenarios[i];
        if (!s->has_status || s->load_error != NULL) continue;
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref);
        lua_getfield(L, -1, "status");
        lua_remove(L, -2);
        if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
            lua_createtable(L, 0, 1);
            lua_insert(L, -2);
            lua_setfield(L, -2, "error");
        }
        lua_setfield(L, -2, s->name);
    }
    lua_setfield(L, t, "scenarios");
    wd_push_last_block(L); /* the watchdog's last event-loop block, nil when none */
    lua_setfield(L, t, "lastBlock");
    return 1;
}

static int status_json_protected(lua_State *L) {
    struct jbuf *b = lua_touserdata(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, (void *)status_push);
    lua_call(L, 0, 1);
    if (rt_tojson(L, -1, b) != 0) return lua_error(L);
    return 0;
}

int rt_status_json(struct rt *rt, struct jbuf *out) {
    int top = lua_gettop(rt->L);
    lua_pushcfunction(rt->L, status_json_protected);
    lua_pushlightuserdata(rt->L, out);
    lua_State *prev = hook_enter(rt->L);
    int r = lua_pcall(rt->L, 1, 0, 0);
    hook_leave(prev);
    lua_settop(rt->L, top);
    return r == LUA_OK && !out->oom ? 0 : -1;
}

/* GET /api/lab */

static void put_num(struct jbuf *b, const char *key, enum param_type t, double v) {
    jbuf_printf(b, ",\"%s\":", key);
    if (t == PARAM_NUMBER) json_number(b, v);
    else json_integer(b, (long long)v);
}

static void put_param(struct jbuf *b, const struct param_spec *p) {
    char desc[300];
    jbuf_puts(b, "{\"name\":");
    json_string(b, p->name, strlen(p->name));
    jbuf_printf(b, ",\"type\":\"%s\"", params_type_name(p->type));
    if (p->has_min) put_num(b, p->type == PARAM_STRING ? "minLength" : "min", p->type, p->min);
    if (p->has_max) put_num(b, p->type == PARAM_STRING ? "maxLength" : "max", p->type, p->max);
    if (p->def.present) {
        jbuf_puts(b, ",\"default\":");
        switch (p->type) {
        case PARAM_INTEGER: json_integer(b, p->def.i); break;
        case PARAM_NUMBER: json_number(b, p->def.n); break;
        case PARAM_BOOLEAN: jbuf_puts(b, p->def.b ? "true" : "false"); break;
        case PARAM_STRING: json_string(b, p->def.s, p->def.len); break;
        }
    }
    if (p->n_enums > 0) {
        jbuf_puts(b, ",\"enum\":[");
        for (int i = 0; i < p->n_enums; i++) {
            if (i) jbuf_puts(b, ",");
            json_string(b, p->enums[i], strlen(p->enums[i]));
        }
        jbuf_puts(b, "]");
    }
    jbuf_printf(b, ",\"required\":%s", p->required ? "true" : "false");
    params_describe(p, desc, sizeof desc);
    jbuf_puts(b, ",\"accepts\":");
    json_string(b, desc, strlen(desc));
    if (p->doc != NULL) {
        jbuf_puts(b, ",\"doc\":");
        json_string(b, p->doc, strlen(p->doc));
    }
    jbuf_puts(b, "}");
}

int rt_catalog_json(struct rt *rt, struct jbuf *b) {
    jbuf_puts(b, "{\"scenarios\":[");
    for (int i = 0; i < rt->n_scenarios; i++) {
        struct rt_scenario *s = &rt->scenarios[i];
        if (i) jbuf_puts(b, ",");
        jbuf_puts(b, "{\"name\":");
        json_string(b, s->name, strlen(s->name));
        jbuf_printf(b, ",\"path\":\"/api/lab/%s\",\"file\":", s->name);
        json_string(b, s->path, strlen(s->path));
        if (s->load_error != NULL) {
            jbuf_puts(b, ",\"loaded\":false,\"error\":");
            json_string(b, s->load_error, strlen(s->load_error));
            jbuf_puts(b, "}");
            continue;
        }
        jbuf_printf(b, ",\"loaded\":true,\"method\":\"%s\",\"summary\":", s->method);
        json_string(b, s->summary, strlen(s->summary));
        jbuf_puts(b, ",\"params\":[");
        for (int j = 0; j < s->n_params; j++) {
            if (j) jbuf_puts(b, ",");
            put_param(b, &s->params[j]);
        }
        jbuf_puts(b, "]");
        if (s->undo_scenario[0]) {
            struct rt_scenario *u = rt_find(rt, s->undo_scenario, strlen(s->undo_scenario));
            jbuf_printf(b, ",\"undo\":{\"scenario\":\"%s\",\"method\":\"%s\",\"path\":\"/api/lab/%s\"}", s->undo_scenario,
                        u != NULL ? u->method : "POST", s->undo_scenario);
        } else if (s->undo_param[0]) {
            jbuf_printf(b, ",\"undo\":{\"param\":\"%s\",\"method\":\"%s\",\"path\":\"/api/lab/%s?%s=true\"}", s->undo_param,
                        s->method, s->name, s->undo_param);
        }
        jbuf_printf(b, ",\"contributesStatus\":%s}", s->has_status ? "true" : "false");
    }
    jbuf_puts(b, "],\"reserved\":[\"status\",\"tokens\",\"artifacts\"]}");
    return b->oom ? -1 : 0;
}
