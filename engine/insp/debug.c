/* debug.c: breakpoints, pauses and steps. While a breakpoint, a step or a pause request is
 * pending, a line hook (through the dispatcher, so it follows the running coroutine) looks at
 * every line. A pause holds the loop thread inside that hook, as V8 holds Node's: nothing else
 * runs, HTTP waits, and the session's messages are run from there until a resume or a step.
 * Debugger.pause also reaches a scenario that jams the loop: the socket thread arms a one-shot
 * hook, which fires at the scenario's next instruction. */
#include <lauxlib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../heap/heap.h"
#include "../http/http.h"
#include "../json/json.h"
#include "../rt/hook.h"
#include "../rt/rt.h"
#include "insp.h"

#define BP_MAX 1024
#define PAUSE_POLL_MS 200

struct bp {
    int id, script, line; /* line: 1-based, moved to the first line holding code */
    int condition;        /* registry ref of the compiled condition, LUA_NOREF for none,
                           * LUA_REFNIL when it does not compile (then it always stops) */
};

struct code_lines { /* the lines holding code of one script, read on first use */
    int script, nlines;
    unsigned char *has; /* NULL when the file does not compile */
};

enum { STEP_NONE, STEP_INTO, STEP_OVER, STEP_OUT };

static struct {
    struct rt *rt;
    int enabled, active;
    struct bp bps[BP_MAX];
    int nbp, next_id;
    struct code_lines *lines;
    int nlines;
    int line_hook, hook_kind; /* dispatcher handle (-1 when none), 1 every line, 2 on demand */
    atomic_int interrupt;     /* the one-shot's handle, read by the socket thread */
    atomic_int pause_asked, listening;
    int step, step_depth;
    lua_State *step_co;
    lua_State *co; /* the paused thread */
    int paused, resume, evaluating;
    int on_exceptions; /* Debugger.setPauseOnExceptions: uncaught or all */
    unsigned generation; /* of the pause: an environment from an older one reads globals only */
    int cond_thread, cond_env; /* registry refs: where conditions run, and their environment */
    unsigned cond_env_gen;
} dbg = {.line_hook = -1, .interrupt = -1, .active = 1, .cond_thread = LUA_NOREF, .cond_env = LUA_NOREF};

/* Scripts and their lines */

static void note_max(void *ud, int line) {
    int *max = ud;
    if (line > *max) *max = line;
}

static void mark(void *ud, int line) {
    struct code_lines *cl = ud;
    if (line > 0 && line <= cl->nlines) cl->has[line - 1] = 1;
}

static int dump_to(lua_State *L, const void *p, size_t n, void *ud) {
    (void)L;
    struct jbuf *b = ud;
    jbuf_put(b, p, n);
    return b->oom;
}

/* Reads the lines of every prototype of the script's compiled chunk. */
static void load_lines(struct code_lines *cl) {
    lua_State *L = dbg.rt->L;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 2) || luaL_loadfilex(L, dbg.rt->scenarios[cl->script - 1].path, "t") != LUA_OK) {
        lua_settop(L, top);
        return;
    }
    struct jbuf b;
    jbuf_init(&b);
    struct heap_chunk c;
    memset(&c, 0, sizeof c);
    if (lua_dump(L, dump_to, &b, 0) == 0 && !b.oom && heap_chunk_read(&c, b.p, b.len) == 0) {
        int max = 0;
        for (size_t i = 0; i < c.np; i++) heap_chunk_lines(&c, i, note_max, &max);
        cl->nlines = max;
        cl->has = calloc((size_t)max + 1, 1);
        if (cl->has != NULL)
            for (size_t i = 0; i < c.np; i++) heap_chunk_lines(&c, i, mark, cl);
    }
    heap_chunk_free(&c);
    jbuf_free(&b);
    lua_settop(L, top);
}

static const struct code_lines *code_lines(int script) {
    for (int i = 0; i < dbg.nlines; i++)
        if (dbg.lines[i].script == script) return dbg.lines[i].has ? &dbg.lines[i] : NULL;
    struct code_lines *grown = realloc(dbg.lines, (size_t)(dbg.nlines + 1) * sizeof *grown);
    if (grown == NULL) return NULL;
    dbg.lines = grown;
    struct code_lines *cl = &dbg.lines[dbg.nlines++];
    *cl = (struct code_lines){script, 0, NULL};
    load_lines(cl);
    return cl->has ? cl : NULL;
}

/* The first line at or after line (1-based) that holds code, or 0. */
static int resolve_line(int script, int line) {
    const struct code_lines *cl = code_lines(script);
    if (cl == NULL) return line; /* cannot tell: kept as asked */
    for (int l = line < 1 ? 1 : line; l <= cl->nlines; l++)
        if (cl->has[l - 1]) return l;
    return 0;
}

/* The hooks */

static void pause_here(lua_State *L, const char *reason, int hit, int data);

static void on_line(lua_State *L, lua_Debug *ar, void *ud);
static void on_call(lua_State *L, lua_Debug *ar, void *ud);

/* A step watches every line. Breakpoints alone watch the lines of the functions that hold one:
 * calls and returns tell which function runs, and only its thread gets line events (a line
 * hook everywhere makes a tight loop some 8 times slower). */
static void update_hook(void) {
    int want = !dbg.enabled ? 0 : dbg.step != STEP_NONE ? 1 : dbg.active && dbg.nbp > 0 ? 2 : 0;
    if (want == dbg.hook_kind) return;
    if (dbg.line_hook >= 0) hook_remove(dbg.line_hook);
    dbg.line_hook = want == 1   ? hook_add(LUA_MASKLINE, 0, on_line, NULL)
                    : want == 2 ? hook_add_on_demand(LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE, on_call, NULL)
                                : -1;
    dbg.hook_kind = dbg.line_hook >= 0 ? want : 0;
}

/* rt_script_id for the hot path: a chunk's source string keeps its address while the chunk
 * lives, and scenario chunks live as long as the engine, so an address seen once is known */
static int source_script(const char *source) {
    static struct {
        const char *source;
        int script;
    } seen[64];
    size_t k = ((uintptr_t)source >> 4) & 63;
    if (seen[k].source == source &&
        (seen[k].script == 0 || strcmp(dbg.rt->scenarios[seen[k].script - 1].path, source + 1) == 0))
        return seen[k].script;
    seen[k].source = source;
    return seen[k].script = rt_script_id(source);
}

/* Whether a Lua function (ar filled by "S") holds a breakpoint. */
static int function_holds_breakpoint(const lua_Debug *ar) {
    int script = source_script(ar->source);
    if (script == 0) return 0;
    int main = strcmp(ar->what, "main") == 0;
    for (int i = 0; i < dbg.nbp; i++)
        if (dbg.bps[i].script == script &&
            (main || (dbg.bps[i].line >= ar->linedefined && dbg.bps[i].line <= ar->lastlinedefined)))
            return 1;
    return 0;
}

/* Whether the function at level of L's stack holds a breakpoint. */
static int holds_breakpoint(lua_State *L, int level) {
    lua_Debug ar;
    if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "S", &ar) || strcmp(ar.what, "C") == 0) return 0;
    return function_holds_breakpoint(&ar);
}

static void on_call(lua_State *L, lua_Debug *ar, void *ud) {
    if (ar->event == LUA_HOOKLINE) {
        on_line(L, ar, ud);
        return;
    }
    /* a call: the callee is level 0; a return: the caller, level 1, runs next. A C function
     * has no lines: the thread keeps what its Lua caller needs until that C function returns */
    lua_Debug f;
    if (!lua_getstack(L, ar->event == LUA_HOOKRET ? 1 : 0, &f) || !lua_getinfo(L, "S", &f) || strcmp(f.what, "C") == 0)
        return;
    hook_thread_lines(L, function_holds_breakpoint(&f));
}

static int stack_depth(lua_State *L) {
    lua_Debug ar;
    int n = 0;
    while (lua_getstack(L, n, &ar)) n++;
    return n;
}

/* A breakpoint's condition, compiled once when the breakpoint is set, run in the scope of the
 * frame that reached the line (an environment rebuilt after each pause: its lookups are by
 * level), on a thread of its own with hooks off. An error stops too, so a mistyped condition
 * shows itself. */
static int condition_holds(int ref) {
    lua_State *L = dbg.rt->L;
    if (ref == LUA_REFNIL) return 1;
    int top = lua_gettop(L), holds = 1;
    if (!lua_checkstack(L, 4)) return 1;
    if (dbg.cond_thread == LUA_NOREF) {
        lua_State *T = lua_newthread(L);
        lua_sethook(T, NULL, 0, 0);
        dbg.cond_thread = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, dbg.cond_thread);
    lua_State *T = lua_tothread(L, -1);
    if (T != NULL && lua_checkstack(T, 4)) {
        if (dbg.cond_env == LUA_NOREF || dbg.cond_env_gen != dbg.generation) {
            luaL_unref(L, LUA_REGISTRYINDEX, dbg.cond_env);
            dbg.cond_env = dbg_push_env(L, 0) == 0 ? luaL_ref(L, LUA_REGISTRYINDEX) : LUA_NOREF;
            dbg.cond_env_gen = dbg.generation;
        }
        lua_rawgeti(T, LUA_REGISTRYINDEX, ref);
        lua_rawgeti(T, LUA_REGISTRYINDEX, dbg.cond_env);
        if (!lua_istable(T, -1) || lua_setupvalue(T, -2, 1) == NULL) lua_pop(T, 1);
        if (lua_pcall(T, 0, 1, 0) == LUA_OK) holds = lua_toboolean(T, -1);
        lua_settop(T, 0);
    }
    lua_settop(L, top);
    return holds;
}

static int compile_condition(const char *cond) {
    lua_State *L = dbg.rt->L;
    if (cond == NULL || *cond == '\0') return LUA_NOREF;
    if (!lua_checkstack(L, 3)) return LUA_REFNIL;
    lua_pushliteral(L, "return ");
    lua_pushstring(L, cond);
    lua_concat(L, 2);
    size_t n;
    const char *src = lua_tolstring(L, -1, &n);
    int ok = luaL_loadbuffer(L, src, n, "=condition") == LUA_OK;
    lua_remove(L, -2);
    if (!ok) {
        lua_pop(L, 1);
        return LUA_REFNIL;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

static void on_line(lua_State *L, lua_Debug *ar, void *ud) {
    (void)ud;
    if (ar->event != LUA_HOOKLINE || dbg.paused || dbg.evaluating || !atomic_load(&dbg.listening)) return;
    if (atomic_exchange(&dbg.pause_asked, 0)) {
        pause_here(L, "other", 0, 0);
        return;
    }
    if (dbg.step != STEP_NONE) {
        int stop = dbg.step == STEP_INTO;
        if (!stop && L == dbg.step_co) {
            int d = stack_depth(L);
            stop = dbg.step == STEP_OVER ? d <= dbg.step_depth : d < dbg.step_depth;
        }
        if (stop) {
            pause_here(L, "other", 0, 0);
            return;
        }
    }
    if (!dbg.active) return;
    int hit = -1;
    for (int i = 0; i < dbg.nbp && hit < 0; i++)
        if (dbg.bps[i].line == ar->currentline) hit = i;
    if (hit < 0 || !lua_getinfo(L, "S", ar)) return;
    int script = rt_script_id(ar->source);
    for (int i = hit; i < dbg.nbp; i++) {
        struct bp *b = &dbg.bps[i];
        if (b->line != ar->currentline || b->script != script) continue;
        dbg.co = L; /* the condition reads this frame */
        dbg.paused = 1;
        int stop = b->condition == LUA_NOREF || condition_holds(b->condition);
        dbg.paused = 0;
        if (stop) {
            pause_here(L, "other", b->id, 0);
            return;
        }
    }
}

static void on_interrupt(lua_State *L, lua_Debug *ar, void *ud) {
    (void)ar, (void)ud;
    if (dbg.paused || !atomic_exchange(&dbg.pause_asked, 0)) return;
    /* the Console's own code does not stop: Pause ends it, so a loop typed there can be left */
    if (dbg.evaluating) luaL_error(L, "stopped by the debugger's Pause");
    pause_here(L, "other", 0, 0);
}

/* A scenario's uncaught error: its coroutine keeps the frames it had when it raised it. */
void dbg_on_error(lua_State *co) {
    if (!atomic_load(&dbg.listening) || !dbg.on_exceptions || dbg.paused || dbg.evaluating) return;
    pause_here(co, "exception", 0, lua_gettop(co));
}

void dbg_interrupt(void) {
    if (!atomic_load(&dbg.listening)) return;
    atomic_store(&dbg.pause_asked, 1);
    int h = atomic_load(&dbg.interrupt);
    if (h >= 0) hook_arm(h);
}

/* Pauses */

static void frame_json(lua_State *co, int level, lua_Debug *ar, int script, struct jbuf *b) {
    const char *fname = ar->name ? ar->name : strcmp(ar->what, "main") == 0 ? "(main chunk)" : "(anonymous)";
    jbuf_printf(b, "{\"callFrameId\":\"%d\",\"functionName\":", level);
    json_string(b, fname, strlen(fname));
    jbuf_printf(b, ",\"functionLocation\":{\"scriptId\":\"%d\",\"lineNumber\":%d,\"columnNumber\":0}", script,
                ar->linedefined > 0 ? ar->linedefined - 1 : 0);
    jbuf_printf(b, ",\"location\":{\"scriptId\":\"%d\",\"lineNumber\":%d,\"columnNumber\":0},\"url\":", script,
                ar->currentline > 0 ? ar->currentline - 1 : 0);
    char url[PATH_MAX + 8];
    snprintf(url, sizeof url, "file://%s", dbg.rt->scenarios[script - 1].path);
    json_string(b, url, strlen(url));
    jbuf_printf(b,
                ",\"scopeChain\":[{\"type\":\"local\",\"object\":{\"type\":\"object\",\"className\":\"Object\","
                "\"description\":\"Locals\",\"objectId\":\"scope:%d:local\"}},"
                "{\"type\":\"closure\",\"name\":\"upvalues\",\"object\":{\"type\":\"object\",\"className\":\"Object\","
                "\"description\":\"Upvalues\",\"objectId\":\"scope:%d:closure\"}},{\"type\":\"global\",\"object\":",
                level, level);
    lua_pushglobaltable(co);
    remote_object(co, -1, b);
    lua_pop(co, 1);
    jbuf_puts(b, "}],\"this\":{\"type\":\"undefined\"}}");
}

static void send_paused(lua_State *co, const char *reason, int hit, int data) {
    struct jbuf b;
    jbuf_init(&b);
    jbuf_puts(&b, "{\"callFrames\":[");
    lua_Debug ar;
    int first = 1;
    for (int level = 0; lua_getstack(co, level, &ar); level++) {
        if (!lua_getinfo(co, "Snl", &ar) || strcmp(ar.what, "C") == 0) continue;
        int script = rt_script_id(ar.source);
        if (script == 0) continue; /* not announced: the front end would drop it */
        if (!first) jbuf_puts(&b, ",");
        first = 0;
        frame_json(co, level, &ar, script, &b);
    }
    jbuf_printf(&b, "],\"reason\":\"%s\"", reason);
    if (data) { /* the error, as V8 gives the exception */
        jbuf_puts(&b, ",\"data\":");
        remote_object(co, data, &b);
    }
    if (hit > 0) jbuf_printf(&b, ",\"hitBreakpoints\":[\"%d\"]", hit);
    jbuf_puts(&b, "}");
    if (!b.oom) cdp_event_raw("Debugger.paused", b.p);
    jbuf_free(&b);
}

static void pause_here(lua_State *L, const char *reason, int hit, int data) {
    dbg.co = L;
    dbg.paused = 1;
    dbg.resume = 0;
    dbg.generation++;
    dbg.step = STEP_NONE;
    dbg.step_co = NULL;
    send_paused(L, reason, hit, data);
    while (!dbg.resume && cdp_attached() && !http_stop_requested()) insp_pump(PAUSE_POLL_MS);
    dbg.paused = 0;
    dbg.co = NULL;
    if (cdp_attached()) cdp_event_raw("Debugger.resumed", "{}");
    update_hook();
    /* breakpoints set or removed during the pause, in the function that goes on */
    if (dbg.hook_kind == 2) hook_thread_lines(L, holds_breakpoint(L, 0));
}

/* Scopes and environments of the paused frames */

static int frame_at(int level, lua_Debug *ar) {
    return dbg.paused && dbg.co != NULL && level >= 0 && lua_getstack(dbg.co, level, ar);
}

int dbg_scope_properties(const char *object_id, struct jbuf *b) {
    int level;
    char kind[16];
    lua_Debug ar;
    if (sscanf(object_id, "scope:%d:%15s", &level, kind) != 2 || !frame_at(level, &ar)) return -1;
    lua_State *co = dbg.co;
    if (!lua_checkstack(co, 4)) return -1;
    int first = 1;
    jbuf_puts(b, "[");
    if (strcmp(kind, "local") == 0) {
        const char *name;
        for (int i = 1; (name = lua_getlocal(co, &ar, i)) != NULL; i++) {
            if (name[0] != '(') remote_property(co, name, strlen(name), -1, b, &first); /* not a temporary */
            lua_pop(co, 1);
        }
        for (int i = -1; (name = lua_getlocal(co, &ar, i)) != NULL; i--) { /* varargs */
            char vname[32];
            snprintf(vname, sizeof vname, "...[%d]", -i);
            remote_property(co, vname, strlen(vname), -1, b, &first);
            lua_pop(co, 1);
        }
    } else if (strcmp(kind, "closure") == 0) {
        lua_getinfo(co, "f", &ar);
        const char *name;
        for (int i = 1; (name = lua_getupvalue(co, -1, i)) != NULL; i++) {
            if (strcmp(name, "_ENV") != 0) remote_property(co, *name ? name : "?", strlen(*name ? name : "?"), -1, b, &first);
            lua_pop(co, 1);
        }
        lua_pop(co, 1);
    } else {
        return -1;
    }
    jbuf_puts(b, "]");
    return 0;
}

/* Upvalues of the environment's metamethods: the paused thread, the level, the generation. */
static int env_frame(lua_State *E, lua_Debug *ar) {
    if ((unsigned)lua_tointeger(E, lua_upvalueindex(3)) != dbg.generation) return 0;
    return frame_at((int)lua_tointeger(E, lua_upvalueindex(2)), ar);
}

/* Finds name among the frame's locals (the last active one) and upvalues: pushes its value
 * on co and returns 1 for a local (*slot its index), 2 for an upvalue (*slot its index, the
 * function below the value), 0 when absent. */
static int find_variable(lua_State *co, lua_Debug *ar, const char *name, int *slot) {
    int found = 0;
    const char *n;
    for (int i = 1; (n = lua_getlocal(co, ar, i)) != NULL; i++) {
        if (strcmp(n, name) == 0) found = i;
        lua_pop(co, 1);
    }
    if (found) {
        lua_getlocal(co, ar, found);
        *slot = found;
        return 1;
    }
    lua_getinfo(co, "f", ar);
    for (int i = 1; (n = lua_getupvalue(co, -1, i)) != NULL; i++) {
        if (strcmp(n, name) == 0) {
            *slot = i;
            return 2;
        }
        lua_pop(co, 1);
    }
    lua_pop(co, 1);
    return 0;
}

/* The paused thread when the environment's frame is still there and key 2 is a name. */
static lua_State *env_target(lua_State *E, lua_Debug *ar, const char **name) {
    *name = lua_tostring(E, 2);
    return *name != NULL && env_frame(E, ar) && lua_checkstack(dbg.co, 4) ? dbg.co : NULL;
}

static int env_index(lua_State *E) {
    lua_Debug ar;
    const char *name;
    lua_State *co = env_target(E, &ar, &name);
    int slot, where;
    if (co != NULL && ((where = find_variable(co, &ar, name, &slot)) != 0 ||
                       (where = -find_variable(co, &ar, "_ENV", &slot)) != 0)) {
        lua_xmove(co, E, 1);
        if (where == 2 || where == -2) lua_pop(co, 1); /* the function below an upvalue */
        if (where > 0) return 1;
        lua_pushvalue(E, 2); /* from the frame's globals */
        lua_gettable(E, -2);
        return 1;
    }
    lua_pushglobaltable(E);
    lua_pushvalue(E, 2);
    lua_gettable(E, -2);
    return 1;
}

static int env_newindex(lua_State *E) {
    lua_Debug ar;
    const char *name;
    lua_State *co = env_target(E, &ar, &name);
    int slot;
    if (co != NULL) {
        int top = lua_gettop(co);
        int where = find_variable(co, &ar, name, &slot);
        if (where != 0) {
            lua_pop(co, 1);
            lua_pushvalue(E, 3);
            lua_xmove(E, co, 1);
            if (where == 1) lua_setlocal(co, &ar, slot);
            else lua_setupvalue(co, -2, slot);
            lua_settop(co, top);
            return 0;
        }
        lua_settop(co, top);
    }
    lua_pushglobaltable(E);
    lua_pushvalue(E, 2);
    lua_pushvalue(E, 3);
    lua_settable(E, -3);
    return 0;
}

void dbg_push_name(lua_State *T, int frame, const char *name, size_t len) {
    lua_Debug ar;
    lua_State *co = dbg.co;
    int slot, where;
    lua_pushlstring(T, name, len);
    const char *n = lua_tostring(T, -1);
    if (frame >= 0 && frame_at(frame, &ar) && lua_checkstack(co, 4)) {
        if ((where = find_variable(co, &ar, n, &slot)) != 0 || (where = -find_variable(co, &ar, "_ENV", &slot)) != 0) {
            lua_xmove(co, T, 1);
            if (where == 2 || where == -2) lua_pop(co, 1);
            if (where > 0) {
                lua_remove(T, -2);
                return;
            }
            if (lua_istable(T, -1)) { /* the frame's globals, read raw */
                lua_insert(T, -2);
                lua_rawget(T, -2);
                lua_remove(T, -2);
                return;
            }
            lua_pop(T, 1);
        }
    }
    lua_pushglobaltable(T);
    lua_insert(T, -2);
    lua_rawget(T, -2);
    lua_remove(T, -2);
}

int dbg_push_env(lua_State *T, int frame) {
    lua_Debug ar;
    if (!frame_at(frame, &ar) || !lua_checkstack(T, 6)) return -1;
    lua_createtable(T, 0, 0);
    lua_createtable(T, 0, 2);
    for (int i = 0; i < 2; i++) {
        lua_pushnil(T); /* the thread is dbg.co, read when called */
        lua_pushinteger(T, frame);
        lua_pushinteger(T, (lua_Integer)dbg.generation);
        lua_pushcclosure(T, i ? env_newindex : env_index, 3);
        lua_setfield(T, -2, i ? "__newindex" : "__index");
    }
    lua_setmetatable(T, -2);
    return 0;
}

void dbg_evaluating(int on) { dbg.evaluating = on; }

/* Breakpoints */

static int add_breakpoint(long long id, int script, int line, const char *condition, const char *shape) {
    if (dbg.nbp == BP_MAX) {
        cdp_reply_error(id, -32000, "too many breakpoints");
        return -1;
    }
    int resolved = script ? resolve_line(script, line) : 0;
    struct bp *b = &dbg.bps[dbg.nbp];
    *b = (struct bp){++dbg.next_id, script, resolved, compile_condition(condition)};
    dbg.nbp++;
    update_hook();
    struct jbuf r;
    jbuf_init(&r);
    if (strcmp(shape, "byUrl") == 0) {
        jbuf_printf(&r, "{\"breakpointId\":\"%d\",\"locations\":[", b->id);
        if (resolved) jbuf_printf(&r, "{\"scriptId\":\"%d\",\"lineNumber\":%d,\"columnNumber\":0}", script, resolved - 1);
        jbuf_puts(&r, "]}");
    } else {
        jbuf_printf(&r, "{\"breakpointId\":\"%d\",\"actualLocation\":{\"scriptId\":\"%d\",\"lineNumber\":%d,\"columnNumber\":0}}",
                    b->id, script, (resolved ? resolved : line) - 1);
    }
    cdp_reply_buf(id, &r);
    return 0;
}

static void remove_breakpoint(long long id, const char *bid) {
    char *end;
    long n = bid ? strtol(bid, &end, 10) : 0;
    if (bid != NULL && *bid != '\0' && *end == '\0')
        for (int i = 0; i < dbg.nbp; i++)
            if (dbg.bps[i].id == n) {
                luaL_unref(dbg.rt->L, LUA_REGISTRYINDEX, dbg.bps[i].condition);
                dbg.bps[i] = dbg.bps[--dbg.nbp];
                break;
            }
    update_hook();
    cdp_reply_raw(id, "{}"); /* V8 answers an unknown id the same way */
}

static void clear_breakpoints(void) {
    lua_State *L = dbg.rt->L;
    for (int i = 0; i < dbg.nbp; i++) luaL_unref(L, LUA_REGISTRYINDEX, dbg.bps[i].condition);
    dbg.nbp = 0;
    luaL_unref(L, LUA_REGISTRYINDEX, dbg.cond_thread);
    luaL_unref(L, LUA_REGISTRYINDEX, dbg.cond_env);
    dbg.cond_thread = dbg.cond_env = LUA_NOREF;
}

/* Lines holding code from start to end (exclusive; default: start's line alone). */
static void possible_breakpoints(long long id, const struct cdp_msg *m) {
    long long line, end_line;
    const char *sid = cdp_param_str(m, "start.scriptId");
    char *e;
    long script = sid ? strtol(sid, &e, 10) : 0;
    if (cdp_param_int(m, "start.lineNumber", &line) != 0 || line < 0 || sid == NULL || *e != '\0' || script < 1 ||
        script > dbg.rt->n_scenarios) {
        cdp_reply_error(id, -32602, "start must be a location in a known script");
        return;
    }
    if (cdp_param_int(m, "end.lineNumber", &end_line) != 0 || end_line <= line) end_line = line + 1;
    const struct code_lines *cl = code_lines((int)script);
    struct jbuf r;
    jbuf_init(&r);
    jbuf_puts(&r, "{\"locations\":[");
    int first = 1;
    for (long long l = line; cl != NULL && l < end_line && l < cl->nlines; l++) {
        if (!cl->has[l]) continue;
        jbuf_printf(&r, "%s{\"scriptId\":\"%ld\",\"lineNumber\":%lld,\"columnNumber\":0}", first ? "" : ",", script, l);
        first = 0;
    }
    jbuf_puts(&r, "]}");
    cdp_reply_buf(id, &r);
}

/* Debugger.setVariableValue: an edit in the Scope pane. Scope 0 is the frame's locals, 1 its
 * upvalues, 2 the globals, in the order the paused event lists them. */
static void set_variable(long long id, const struct cdp_msg *m) {
    const char *cf = cdp_param_str(m, "callFrameId"), *name = cdp_param_str(m, "variableName");
    long long scope;
    char *e;
    long level = cf ? strtol(cf, &e, 10) : -1;
    lua_Debug ar;
    lua_State *co = dbg.co;
    if (cf == NULL || *cf == '\0' || *e != '\0' || name == NULL || cdp_param_int(m, "scopeNumber", &scope) != 0 ||
        !frame_at((int)level, &ar) || !lua_checkstack(co, 6)) {
        cdp_reply_error(id, -32000, "no such call frame or variable: the debugger is not paused there");
        return;
    }
    int top = lua_gettop(co), ok = 0;
    const char *oid = cdp_param_str(m, "newValue.objectId");
    if (oid != NULL ? !remote_lookup(co, oid) : cdp_param_push(m, "newValue.value", co) != 0) {
        if (oid != NULL || cdp_param_str(m, "newValue.unserializableValue") == NULL) {
            cdp_reply_error(id, -32602, "newValue must be a primitive value or a known objectId");
            return;
        }
        lua_pushnumber(co, strtod(cdp_param_str(m, "newValue.unserializableValue"), NULL)); /* NaN, Infinity */
    }
    int v = lua_gettop(co), slot = 0;
    const char *n;
    if (scope == 0) {
        for (int i = 1; (n = lua_getlocal(co, &ar, i)) != NULL; i++) {
            if (strcmp(n, name) == 0) slot = i;
            lua_pop(co, 1);
        }
        if (slot) lua_pushvalue(co, v), ok = lua_setlocal(co, &ar, slot) != NULL;
    } else if (scope == 1) {
        lua_getinfo(co, "f", &ar);
        for (int i = 1; (n = lua_getupvalue(co, -1, i)) != NULL && !slot; i++) {
            if (strcmp(n, name) == 0) slot = i;
            lua_pop(co, 1);
        }
        if (slot) lua_pushvalue(co, v), ok = lua_setupvalue(co, -2, slot) != NULL;
    } else if (scope == 2) {
        lua_pushglobaltable(co);
        lua_pushvalue(co, v);
        lua_setfield(co, -2, name);
        ok = 1;
    }
    lua_settop(co, top);
    if (ok) cdp_reply_raw(id, "{}");
    else cdp_reply_error(id, -32000, "no variable of that name in that scope");
}

/* Methods */

static void step(long long id, int kind) {
    if (!dbg.paused) {
        cdp_reply_error(id, -32000, "can only step while paused");
        return;
    }
    dbg.step = kind;
    dbg.step_co = dbg.co;
    dbg.step_depth = stack_depth(dbg.co);
    dbg.resume = 1;
    cdp_reply_raw(id, "{}");
}

int dbg_method(long long id, const char *name, const struct cdp_msg *m) {
    if (strcmp(name, "setBreakpointByUrl") == 0) {
        long long line;
        const char *url = cdp_param_str(m, "url");
        if (cdp_param_int(m, "lineNumber", &line) != 0 || line < 0 || line > 10000000) {
            cdp_reply_error(id, -32602, "lineNumber must be an integer from 0");
            return 0;
        }
        /* urlRegex and scriptHash cannot name a scenario here: the breakpoint stays pending */
        add_breakpoint(id, url ? cdp_script_id(url) : 0, (int)line + 1, cdp_param_str(m, "condition"), "byUrl");
    } else if (strcmp(name, "setBreakpoint") == 0) {
        long long line;
        const char *sid = cdp_param_str(m, "location.scriptId");
        char *e;
        long script = sid ? strtol(sid, &e, 10) : 0;
        if (cdp_param_int(m, "location.lineNumber", &line) != 0 || line < 0 || line > 10000000 || sid == NULL ||
            *e != '\0' || script < 1 || script > dbg.rt->n_scenarios) {
            cdp_reply_error(id, -32602, "location must name a known script and a line");
            return 0;
        }
        add_breakpoint(id, (int)script, (int)line + 1, cdp_param_str(m, "condition"), "location");
    } else if (strcmp(name, "removeBreakpoint") == 0) {
        remove_breakpoint(id, cdp_param_str(m, "breakpointId"));
    } else if (strcmp(name, "getPossibleBreakpoints") == 0) {
        possible_breakpoints(id, m);
    } else if (strcmp(name, "setBreakpointsActive") == 0) {
        dbg.active = cdp_param_true(m, "active");
        update_hook();
        cdp_reply_raw(id, "{}");
    } else if (strcmp(name, "pause") == 0) {
        /* the socket thread asked already (dbg_interrupt), when the message arrived: asking
         * again here would stop the next run too */
        cdp_reply_raw(id, "{}");
    } else if (strcmp(name, "resume") == 0) {
        dbg.resume = 1;
        cdp_reply_raw(id, "{}");
    } else if (strcmp(name, "stepInto") == 0) {
        step(id, STEP_INTO);
    } else if (strcmp(name, "stepOver") == 0) {
        step(id, STEP_OVER);
    } else if (strcmp(name, "stepOut") == 0) {
        step(id, STEP_OUT);
    } else if (strcmp(name, "evaluateOnCallFrame") == 0) {
        const char *cf = cdp_param_str(m, "callFrameId");
        char *e;
        long level = cf ? strtol(cf, &e, 10) : -1;
        lua_Debug ar;
        if (cf == NULL || *cf == '\0' || *e != '\0' || !frame_at((int)level, &ar)) {
            cdp_reply_error(id, -32000, "no such call frame: the debugger is not paused there");
            return 0;
        }
        cdp_evaluate(id, m, (int)level);
    } else if (strcmp(name, "setVariableValue") == 0) {
        set_variable(id, m);
    } else if (strcmp(name, "setPauseOnExceptions") == 0) {
        const char *state = cdp_param_str(m, "state");
        if (state == NULL || (strcmp(state, "none") != 0 && strcmp(state, "uncaught") != 0 && strcmp(state, "all") != 0 &&
                              strcmp(state, "caught") != 0)) {
            cdp_reply_error(id, -32602, "state must be none, uncaught, caught or all");
            return 0;
        }
        /* Lua shows an error to a hook only once nothing caught it: caught ones cannot stop */
        dbg.on_exceptions = strcmp(state, "uncaught") == 0 || strcmp(state, "all") == 0;
        cdp_reply_raw(id, "{}");
    } else if (strcmp(name, "disable") == 0) {
        dbg_detach();
        cdp_reply_raw(id, "{}");
    } else {
        return -1;
    }
    return 0;
}

/* The session */

void dbg_attach(struct rt *rt) { dbg.rt = rt; }

void dbg_enable(void) {
    if (atomic_load(&dbg.interrupt) < 0) atomic_store(&dbg.interrupt, hook_add_oneshot(on_interrupt, NULL));
    dbg.enabled = 1;
    dbg.active = 1;
    atomic_store(&dbg.listening, 1);
    update_hook();
}

void dbg_detach(void) {
    atomic_store(&dbg.listening, 0);
    atomic_store(&dbg.pause_asked, 0);
    clear_breakpoints();
    dbg.enabled = 0;
    dbg.on_exceptions = 0;
    dbg.step = STEP_NONE;
    dbg.step_co = NULL;
    dbg.resume = 1; /* a pause in progress lets go */
    update_hook();
    if (atomic_load(&dbg.interrupt) >= 0 && !dbg.paused) {
        hook_remove(atomic_load(&dbg.interrupt));
        atomic_store(&dbg.interrupt, -1);
    }
    for (int i = 0; i < dbg.nlines; i++) free(dbg.lines[i].has);
    free(dbg.lines);
    dbg.lines = NULL;
    dbg.nlines = 0;
}
