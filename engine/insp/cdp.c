/* cdp.c: the Chrome DevTools Protocol methods, run on the loop thread. Scripts are the
 * scenario files (scriptId "1".. in load order, file:// URLs, the ones the CPU profiles use);
 * the Console evaluates Lua; Profiler drives the CPU profiler; HeapProfiler streams a heap
 * snapshot as chunks. A method proflab does not have is answered -32601, so the front end
 * turns the matching control off instead of waiting. */
#include <lauxlib.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../heap/heap.h"
#include "../json/json.h"
#include "../lab/lab.h"
#include "../loop/loop.h"
#include "../mem/mem.h"
#include "../prof/prof.h"
#include "../rt/hook.h"
#include "../rt/rt.h"
#include "insp.h"

#define SOURCE_MAX (16u << 20)

static struct {
    struct rt *rt;
    int attached;
    int runtime_enabled, debugger_enabled;
    unsigned interval_us;
    int profiling; /* the session started the profiler */
} cdp = {.interval_us = PROF_INTERVAL_DEFAULT_US};

/* Replies and events */

static void send_buf(struct jbuf *b) {
    if (!b->oom) insp_send(b->p, b->len);
    jbuf_free(b);
}

void cdp_reply_raw(long long id, const char *result) {
    struct jbuf b;
    jbuf_init(&b);
    jbuf_printf(&b, "{\"id\":%lld,\"result\":%s}", id, result);
    send_buf(&b);
}

void cdp_reply_error(long long id, int code, const char *message) {
    struct jbuf b;
    jbuf_init(&b);
    jbuf_printf(&b, "{\"id\":%lld,\"error\":{\"code\":%d,\"message\":", id, code);
    json_string(&b, message, strlen(message));
    jbuf_puts(&b, "}}");
    send_buf(&b);
}

/* {"id": id, "result": <b's text>}: b holds the result object. */
void cdp_reply_buf(long long id, struct jbuf *result) {
    if (result->oom) {
        jbuf_free(result);
        cdp_reply_error(id, -32000, "out of memory");
        return;
    }
    struct jbuf b;
    jbuf_init(&b);
    jbuf_printf(&b, "{\"id\":%lld,\"result\":", id);
    jbuf_put(&b, result->p, result->len);
    jbuf_puts(&b, "}");
    jbuf_free(result);
    send_buf(&b);
}

void cdp_event_raw(const char *method, const char *params) {
    struct jbuf b;
    jbuf_init(&b);
    jbuf_printf(&b, "{\"method\":\"%s\",\"params\":%s}", method, params);
    send_buf(&b);
}

/* Scripts */

static char *read_source(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= SOURCE_MAX) break;
            cap = cap ? cap * 2 : 8192;
            char *q = realloc(buf, cap + 1);
            if (q == NULL) break;
            buf = q;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f) || !feof(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    if (buf == NULL && (buf = malloc(1)) == NULL) return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void announce_scripts(void) {
    for (int i = 0; i < cdp.rt->n_scenarios; i++) {
        const struct rt_scenario *s = &cdp.rt->scenarios[i];
        size_t len;
        char *src = read_source(s->path, &len);
        if (src == NULL) continue;
        int lines = 0, last_col = 0;
        for (size_t k = 0; k < len; k++) {
            if (src[k] == '\n') lines++, last_col = 0;
            else last_col++;
        }
        unsigned char md[32];
        size_t mdlen = 0;
        char hash[65] = "";
        if (EVP_Q_digest(NULL, "SHA256", NULL, src, len, md, &mdlen) == 1)
            for (size_t k = 0; k < mdlen && k < 32; k++) snprintf(hash + 2 * k, 3, "%02x", md[k]);
        free(src);
        struct jbuf b;
        jbuf_init(&b);
        jbuf_printf(&b, "{\"scriptId\":\"%d\",\"url\":", i + 1);
        char url[PATH_MAX + 8];
        snprintf(url, sizeof url, "file://%s", s->path);
        json_string(&b, url, strlen(url));
        jbuf_printf(&b,
                    ",\"startLine\":0,\"startColumn\":0,\"endLine\":%d,\"endColumn\":%d,\"executionContextId\":1,"
                    "\"hash\":\"%s\",\"isLiveEdit\":false,\"sourceMapURL\":\"\",\"hasSourceURL\":false,"
                    "\"isModule\":false,\"length\":%zu,\"scriptLanguage\":\"JavaScript\"}",
                    lines, last_col, hash, len);
        if (!b.oom) cdp_event_raw("Debugger.scriptParsed", b.p);
        jbuf_free(&b);
    }
}

/* The scenario of a scriptId, or NULL. */
static const struct rt_scenario *script_of(const char *id) {
    char *end;
    long n = id ? strtol(id, &end, 10) : 0;
    if (id == NULL || *id == '\0' || *end != '\0' || n < 1 || n > cdp.rt->n_scenarios) return NULL;
    return &cdp.rt->scenarios[n - 1];
}

/* The scriptId of a file:// URL, 0 when it is not a scenario's. */
int cdp_script_id(const char *url) {
    char source[PATH_MAX + 2];
    if (strncmp(url, "file://", 7) != 0 || (size_t)snprintf(source, sizeof source, "@%s", url + 7) >= sizeof source)
        return 0;
    return rt_script_id(source);
}

static void get_script_source(long long id, const struct cdp_msg *m) {
    const struct rt_scenario *s = script_of(cdp_param_str(m, "scriptId"));
    size_t len;
    char *src = s ? read_source(s->path, &len) : NULL;
    if (src == NULL) {
        cdp_reply_error(id, -32000, s ? "cannot read the script's file" : "no script with this scriptId");
        return;
    }
    struct jbuf r;
    jbuf_init(&r);
    jbuf_puts(&r, "{\"scriptSource\":");
    json_string(&r, src, len);
    jbuf_puts(&r, "}");
    free(src);
    cdp_reply_buf(id, &r);
}

/* Runtime */

static void exception_details(struct jbuf *r, lua_State *L, int idx) {
    size_t n;
    const char *msg = lua_tolstring(L, idx, &n);
    if (msg == NULL) msg = "error (not a string)", n = strlen(msg);
    jbuf_puts(r, ",\"exceptionDetails\":{\"exceptionId\":1,\"text\":\"Uncaught\",\"lineNumber\":0,\"columnNumber\":0,"
                 "\"exception\":{\"type\":\"object\",\"subtype\":\"error\",\"className\":\"Error\",\"description\":");
    json_string(r, msg, n);
    jbuf_puts(r, "}}");
}

/* Compiles text as an expression, else as statements. 0 with the chunk pushed, or the status
 * with the message pushed. */
static int compile(lua_State *L, const char *text, size_t n) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "return ");
    luaL_addlstring(&b, text, n);
    luaL_pushresult(&b);
    size_t rn;
    const char *ret = lua_tolstring(L, -1, &rn);
    int st = luaL_loadbuffer(L, ret, rn, "=console");
    lua_remove(L, -2);
    if (st == LUA_OK) return 0;
    lua_pop(L, 1);
    return luaL_loadbuffer(L, text, n, "=console");
}

static int traceback(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

/* What hovering a variable and the Console's eager preview ask for (throwOnSideEffect): a name
 * path is read raw, no code runs; anything else is refused, since Lua code cannot be proven
 * free of side effects. */
static void evaluate_name_path(long long id, const char *expr, int frame) {
    size_t first = cdp_name_path(expr);
    lua_State *L = cdp.rt->L;
    int top = lua_gettop(L);
    if (first == 0 || !lua_checkstack(L, 4)) {
        cdp_reply_error(id, -32000, "proflab previews names and fields only (a.b.c): other Lua runs when asked");
        return;
    }
    dbg_push_name(L, frame, expr, first);
    for (const char *p = expr + first; *p == '.'; ) {
        const char *f = ++p;
        while (*p && *p != '.') p++;
        if (lua_istable(L, -1)) {
            lua_pushlstring(L, f, (size_t)(p - f));
            lua_rawget(L, -2);
        } else {
            lua_pushnil(L);
        }
        lua_remove(L, -2);
    }
    struct jbuf r;
    jbuf_init(&r);
    jbuf_puts(&r, "{\"result\":");
    remote_object(L, -1, &r);
    jbuf_puts(&r, "}");
    lua_settop(L, top);
    cdp_reply_buf(id, &r);
}

/* Runs expr on a fresh thread (hooks off: a breakpoint does not stop the Console) and answers
 * with its first value. frame >= 0: in that paused frame's scope (locals, upvalues, globals). */
void cdp_evaluate(long long id, const struct cdp_msg *m, int frame) {
    const char *expr = cdp_param_str(m, "expression");
    if (expr == NULL) {
        cdp_reply_error(id, -32602, "expression must be a string");
        return;
    }
    if (cdp_param_true(m, "throwOnSideEffect")) {
        evaluate_name_path(id, expr, frame);
        return;
    }
    lua_State *L = cdp.rt->L;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 4)) {
        cdp_reply_error(id, -32000, "Lua stack overflow");
        return;
    }
    lua_State *T = lua_newthread(L); /* anchored on L's stack until the end */
    if (!lua_checkstack(T, 8)) {
        lua_settop(L, top);
        cdp_reply_error(id, -32000, "Lua stack overflow");
        return;
    }
    lua_pushcfunction(T, traceback);
    int st = compile(T, expr, strlen(expr));
    if (st == LUA_OK && frame >= 0 && dbg_push_env(T, frame) == 0 && lua_setupvalue(T, -2, 1) == NULL)
        lua_pop(T, 1);
    if (st == LUA_OK) {
        dbg_evaluating(1);
        lua_State *prev = hook_enter(T);
        st = lua_pcall(T, 0, 1, 1);
        hook_leave(prev);
        dbg_evaluating(0);
    }
    struct jbuf r;
    jbuf_init(&r);
    jbuf_puts(&r, "{\"result\":");
    if (st == LUA_OK) {
        remote_object(T, -1, &r);
    } else {
        jbuf_puts(&r, "{\"type\":\"string\",\"value\":");
        size_t n;
        const char *text = lua_tolstring(T, -1, &n);
        json_string(&r, text ? text : "", text ? n : 0);
        jbuf_puts(&r, "}");
        exception_details(&r, T, -1);
    }
    jbuf_puts(&r, "}");
    lua_settop(L, top);
    cdp_reply_buf(id, &r);
}

static void get_properties(long long id, const struct cdp_msg *m) {
    const char *oid = cdp_param_str(m, "objectId");
    lua_State *L = cdp.rt->L;
    if (cdp_param_true(m, "accessorPropertiesOnly")) { /* Lua has no accessors */
        cdp_reply_raw(id, "{\"result\":[]}");
        return;
    }
    if (oid != NULL && strncmp(oid, "scope:", 6) == 0) {
        struct jbuf r;
        jbuf_init(&r);
        jbuf_puts(&r, "{\"result\":");
        if (dbg_scope_properties(oid, &r) != 0) {
            jbuf_free(&r);
            cdp_reply_error(id, -32000, "no such scope: the debugger is not paused there any more");
            return;
        }
        jbuf_puts(&r, "}");
        cdp_reply_buf(id, &r);
        return;
    }
    if (oid == NULL || !lua_checkstack(L, 16) || !remote_lookup(L, oid)) {
        cdp_reply_error(id, -32000, "no object with this objectId (released, or from another session)");
        return;
    }
    struct jbuf r;
    jbuf_init(&r);
    jbuf_puts(&r, "{\"result\":");
    remote_properties(L, &r);
    jbuf_puts(&r, "}");
    cdp_reply_buf(id, &r);
}

/* Profiler */

static int jbuf_sink(void *ud, const char *s, size_t n) {
    struct jbuf *b = ud;
    jbuf_put(b, s, n);
    return b->oom ? -1 : 0;
}

static void profiler_start(long long id) {
    char err[256];
    if (prof_running()) {
        cdp_reply_error(id, -32000, "a CPU profile is being recorded already (the cpu-profile scenario)");
        return;
    }
    if (prof_start(cdp.rt->L, cdp.interval_us, err, sizeof err) != 0) {
        cdp_reply_error(id, -32000, err);
        return;
    }
    cdp.profiling = 1;
    cdp_reply_raw(id, "{}");
}

static void profiler_stop(long long id) {
    if (!cdp.profiling) {
        cdp_reply_error(id, -32000, "no CPU profile was started by this session");
        return;
    }
    cdp.profiling = 0;
    struct prof_profile *p = prof_stop(cdp.rt->L);
    if (p == NULL) {
        cdp_reply_error(id, -32000, "the CPU profiler was stopped elsewhere");
        return;
    }
    /* the scriptIds the session knows, so a frame's link opens the scenario */
    int other = cdp.rt->n_scenarios;
    for (size_t i = 0; i < p->n_funcs; i++)
        if (p->funcs[i].url[0] != '\0') {
            int sid = cdp_script_id(p->funcs[i].url);
            p->funcs[i].script = sid ? sid : ++other;
        }
    struct jbuf r;
    jbuf_init(&r);
    jbuf_puts(&r, "{\"profile\":");
    int rc = prof_write_cpuprofile(p, jbuf_sink, &r);
    jbuf_puts(&r, "}");
    prof_profile_free(p);
    free(p);
    if (rc != 0) {
        jbuf_free(&r);
        cdp_reply_error(id, -32000, "out of memory writing the profile");
        return;
    }
    cdp_reply_buf(id, &r);
}

static void set_sampling_interval(long long id, const struct cdp_msg *m) {
    long long us;
    if (cdp_param_int(m, "interval", &us) != 0 || us < 1) {
        cdp_reply_error(id, -32602, "interval must be a positive integer (microseconds)");
        return;
    }
    if (us < PROF_INTERVAL_MIN_US) us = PROF_INTERVAL_MIN_US; /* the UI asks for 100 us */
    if (us > PROF_INTERVAL_MAX_US) us = PROF_INTERVAL_MAX_US;
    cdp.interval_us = (unsigned)us;
    cdp_reply_raw(id, "{}");
}

/* HeapProfiler */

struct chunk_sink {
    struct heap_stats *st;
    int progress, started;
};

/* The walk is over when the writer first calls: progress is reported finished, then the
 * document follows in chunks, as DevTools wants them ordered. */
static int chunk_sink(void *ud, const char *p, size_t n) {
    struct chunk_sink *cs = ud;
    if (!cs->started) {
        cs->started = 1;
        if (cs->progress) {
            char params[128];
            snprintf(params, sizeof params, "{\"done\":%zu,\"total\":%zu,\"finished\":true}", cs->st->nodes,
                     cs->st->nodes);
            cdp_event_raw("HeapProfiler.reportHeapSnapshotProgress", params);
        }
    }
    struct jbuf b;
    jbuf_init(&b);
    jbuf_puts(&b, "{\"method\":\"HeapProfiler.addHeapSnapshotChunk\",\"params\":{\"chunk\":");
    json_string(&b, p, n);
    jbuf_puts(&b, "}}");
    int r = b.oom ? -1 : insp_send(b.p, b.len);
    jbuf_free(&b);
    return r;
}

static void take_heap_snapshot(long long id, const struct cdp_msg *m) {
    struct heap_stats st;
    struct chunk_sink cs = {&st, cdp_param_true(m, "reportProgress"), 0};
    char err[256];
    int rc = heap_snapshot(cdp.rt->L, chunk_sink, &cs, &st, err, sizeof err);
    if (rc != HEAP_OK) cdp_reply_error(id, -32000, err);
    else cdp_reply_raw(id, "{}");
}

/* Dispatch */

static void done(long long id) { cdp_reply_raw(id, "{}"); }

static double wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* lab.log and print in the Console, with a link to the line that logged */
static void console_log(lua_State *L, int level, const char *msg, int fields) {
    static const char *const types[] = {"debug", "info", "warning", "error", "log"};
    if (!cdp.attached || !cdp.runtime_enabled || !lua_checkstack(L, 4)) return;
    struct jbuf b;
    jbuf_init(&b);
    jbuf_printf(&b, "{\"type\":\"%s\",\"args\":[{\"type\":\"string\",\"value\":", types[level >= 0 && level <= 4 ? level : 4]);
    json_string(&b, msg, strlen(msg));
    jbuf_puts(&b, "}");
    if (fields) {
        jbuf_puts(&b, ",");
        remote_object(L, fields, &b);
    }
    jbuf_printf(&b, "],\"executionContextId\":1,\"timestamp\":%.3f,\"stackTrace\":{\"callFrames\":[",
                wall_ms());
    lua_Debug ar;
    int first = 1;
    for (int level_ = 1; lua_getstack(L, level_, &ar) && level_ < 32; level_++) {
        if (!lua_getinfo(L, "Snl", &ar)) continue;
        int sid = rt_script_id(ar.source);
        if (sid == 0) continue;
        char url[PATH_MAX + 8];
        snprintf(url, sizeof url, "file://%s", ar.source + 1);
        const char *fname = ar.name ? ar.name : "";
        jbuf_printf(&b, "%s{\"functionName\":", first ? "" : ",");
        json_string(&b, fname, strlen(fname));
        jbuf_printf(&b, ",\"scriptId\":\"%d\",\"url\":", sid);
        json_string(&b, url, strlen(url));
        jbuf_printf(&b, ",\"lineNumber\":%d,\"columnNumber\":0}", ar.currentline > 0 ? ar.currentline - 1 : 0);
        first = 0;
    }
    jbuf_puts(&b, "]}}");
    if (!b.oom) cdp_event_raw("Runtime.consoleAPICalled", b.p);
    jbuf_free(&b);
}

void cdp_attach(struct rt *rt) {
    cdp.rt = rt;
    cdp.attached = 1;
    cdp.runtime_enabled = cdp.debugger_enabled = 0;
    dbg_attach(rt);
    lab_set_console(console_log);
    rt_set_error_hook(dbg_on_error);
}

int cdp_attached(void) { return cdp.attached; }

void cdp_detach(void) {
    if (!cdp.attached) return;
    cdp.attached = 0;
    lab_set_console(NULL);
    rt_set_error_hook(NULL);
    dbg_detach();
    if (cdp.profiling) {
        struct prof_profile *p = prof_stop(cdp.rt->L);
        if (p != NULL) {
            prof_profile_free(p);
            free(p);
        }
        cdp.profiling = 0;
    }
    remote_release_all(cdp.rt->L);
}

void cdp_message(const char *text, size_t len) {
    if (!cdp.attached) return;
    struct cdp_msg msg, *m = &msg;
    if (cdp_msg_parse(text, len, m) != 0) {
        /* without an id there is no one to answer: dropped, as Node drops it */
        if (m->has_id) cdp_reply_error(m->id, -32600, "a message needs an integer id, a method and object params");
        cdp_msg_free(m);
        return;
    }
    long long id = m->id;
    const char *method = m->method;
    if (strcmp(method, "Runtime.enable") == 0) {
        cdp.runtime_enabled = 1;
        done(id);
        cdp_event_raw("Runtime.executionContextCreated",
                  "{\"context\":{\"id\":1,\"origin\":\"\",\"name\":\"proflab Lua state\",\"uniqueId\":\"proflab-1\","
                  "\"auxData\":{\"isDefault\":true}}}");
    } else if (strcmp(method, "Runtime.disable") == 0) {
        cdp.runtime_enabled = 0;
        done(id);
    } else if (strcmp(method, "Runtime.runIfWaitingForDebugger") == 0 ||
               strcmp(method, "Profiler.enable") == 0 || strcmp(method, "Profiler.disable") == 0 ||
               strcmp(method, "HeapProfiler.enable") == 0 || strcmp(method, "HeapProfiler.disable") == 0) {
        done(id);
    } else if (strcmp(method, "Runtime.evaluate") == 0) {
        cdp_evaluate(id, m, -1);
    } else if (strcmp(method, "Runtime.getProperties") == 0) {
        get_properties(id, m);
    } else if (strcmp(method, "Runtime.getHeapUsage") == 0) {
        /* the Memory panel's VM list: the Lua heap, and with lab.Buffer memory the total */
        char r[160];
        size_t lua = atomic_load(&cdp.rt->alloc.used);
        snprintf(r, sizeof r, "{\"usedSize\":%zu,\"totalSize\":%zu}", lua, lua + mem_buffer_bytes());
        cdp_reply_raw(id, r);
    } else if (strcmp(method, "Runtime.getIsolateId") == 0) {
        char r[64];
        snprintf(r, sizeof r, "{\"id\":\"proflab-%d\"}", (int)getpid());
        cdp_reply_raw(id, r);
    } else if (strcmp(method, "Runtime.releaseObjectGroup") == 0) {
        remote_release_all(cdp.rt->L);
        done(id);
    } else if (strcmp(method, "Debugger.enable") == 0) {
        /* announced on every enable: the UI sends it again around profiles and snapshots */
        cdp.debugger_enabled = 1;
        dbg_enable();
        cdp_reply_raw(id, "{\"debuggerId\":\"proflab-debugger-1\"}");
        announce_scripts();
    } else if (strcmp(method, "Debugger.getScriptSource") == 0) {
        get_script_source(id, m);
    } else if (strncmp(method, "Debugger.", 9) == 0 && dbg_method(id, method + 9, m) == 0) {
        /* answered */
    } else if (strcmp(method, "Profiler.setSamplingInterval") == 0) {
        set_sampling_interval(id, m);
    } else if (strcmp(method, "Profiler.start") == 0) {
        profiler_start(id);
    } else if (strcmp(method, "Profiler.stop") == 0) {
        profiler_stop(id);
    } else if (strcmp(method, "HeapProfiler.collectGarbage") == 0) {
        lua_gc(cdp.rt->L, LUA_GCCOLLECT);
        done(id);
    } else if (strcmp(method, "HeapProfiler.takeHeapSnapshot") == 0) {
        take_heap_snapshot(id, m);
    } else {
        char why[300];
        snprintf(why, sizeof why, "'%.200s' wasn't found", method);
        cdp_reply_error(id, -32601, why);
    }
    cdp_msg_free(m);
}
