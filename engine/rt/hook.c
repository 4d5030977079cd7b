/* hook.c: one dispatcher for every hook user. One-shot users are armed asynchronously
 * (the sampler's signal handler, the watchdog thread): lua_sethook may be called from a
 * signal handler, and the dispatcher then runs them at the next instruction. */
#include "hook.h"

#include <lauxlib.h>
#include <stdatomic.h>
#include <string.h>

struct hook_user {
    int used, oneshot, on_demand, mask, count;
    hook_fn fn;
    void *ud;
};

/* A thread's line events on demand, kept in its LUA_EXTRASPACE (which a new thread copies from
 * the main one): valid while gen is the dispatcher's, so removing a user turns them all off. */
struct thread_lines {
    int on;
    unsigned gen;
};
_Static_assert(sizeof(struct thread_lines) <= LUA_EXTRASPACE, "LUA_EXTRASPACE holds a thread's line demand");
static _Atomic unsigned lines_gen = 1;

static struct hook_user users[HOOK_USERS_MAX];
static _Atomic unsigned armed;             /* bit per one-shot user */
static lua_State *_Atomic running;         /* the thread executing Lua now, or NULL */
static int steady_mask, steady_count;

static void dispatch(lua_State *L, lua_Debug *ar);
/* Armed users run at the next instruction, or at the return of the C function running when
 * they were armed (string.rep, table.sort, ...), whichever comes first. */
#define ARMED_MASK (LUA_MASKCOUNT | LUA_MASKRET)

static int thread_mask(lua_State *L) {
    struct thread_lines t;
    memcpy(&t, lua_getextraspace(L), sizeof t);
    return steady_mask | (t.on && t.gen == atomic_load(&lines_gen) ? LUA_MASKLINE : 0);
}

static void apply(lua_State *L) {
    if (L == NULL) return;
    int mask = thread_mask(L);
    if (atomic_load(&armed) != 0) lua_sethook(L, dispatch, mask | ARMED_MASK, 1);
    else if (mask != 0) lua_sethook(L, dispatch, mask, steady_count);
    else lua_sethook(L, NULL, 0, 0);
}

void hook_thread_lines(lua_State *L, int on) {
    struct thread_lines t = {on, atomic_load(&lines_gen)}, was;
    memcpy(&was, lua_getextraspace(L), sizeof was);
    if ((was.on && was.gen == t.gen) == (on != 0)) return; /* lua_sethook walks the whole call stack */
    memcpy(lua_getextraspace(L), &t, sizeof t);
    apply(L);
}

static void recompute(void) {
    steady_mask = 0;
    steady_count = 0;
    for (int i = 0; i < HOOK_USERS_MAX; i++) {
        if (!users[i].used || users[i].oneshot) continue;
        steady_mask |= users[i].mask & ~(users[i].on_demand ? LUA_MASKLINE : 0);
        if ((users[i].mask & LUA_MASKCOUNT) && (steady_count == 0 || users[i].count < steady_count))
            steady_count = users[i].count;
    }
    apply(atomic_load(&running));
}

static void dispatch(lua_State *L, lua_Debug *ar) {
    unsigned fire = atomic_exchange(&armed, 0u);
    if (fire != 0) {
        for (int i = 0; i < HOOK_USERS_MAX; i++)
            if ((fire & (1u << i)) && users[i].used) users[i].fn(L, ar, users[i].ud);
        if (atomic_load(&armed) == 0) apply(L); /* back to the steady hook */
        if (ar->event == LUA_HOOKCOUNT && !(steady_mask & LUA_MASKCOUNT)) return;
        if (ar->event == LUA_HOOKRET && !(steady_mask & LUA_MASKRET)) return;
    }
    int bit = ar->event == LUA_HOOKTAILCALL ? LUA_MASKCALL : 1 << ar->event;
    if (!(thread_mask(L) & bit)) { /* asked by a user since removed: this thread stops asking */
        apply(L);
        return;
    }
    for (int i = 0; i < HOOK_USERS_MAX; i++) {
        struct hook_user *u = &users[i];
        if (!u->used || u->oneshot) continue;
        if (u->mask & bit) u->fn(L, ar, u->ud);
    }
}

static int add(int oneshot, int on_demand, int mask, int count, hook_fn fn, void *ud) {
    for (int i = 0; i < HOOK_USERS_MAX; i++) {
        if (users[i].used) continue;
        users[i] = (struct hook_user){1, oneshot, on_demand, mask, count > 0 ? count : 1, fn, ud};
        recompute();
        return i;
    }
    return -1;
}

int hook_add(int mask, int count, hook_fn fn, void *ud) { return add(0, 0, mask, count, fn, ud); }
int hook_add_on_demand(int mask, hook_fn fn, void *ud) { return add(0, 1, mask, 0, fn, ud); }
int hook_add_oneshot(hook_fn fn, void *ud) { return add(1, 0, 0, 0, fn, ud); }

void hook_remove(int handle) {
    if (handle < 0 || handle >= HOOK_USERS_MAX) return;
    atomic_fetch_and(&armed, ~(1u << handle));
    if (users[handle].on_demand) atomic_fetch_add(&lines_gen, 1);
    users[handle].used = 0;
    recompute();
}

void hook_arm(int handle) {
    atomic_fetch_or(&armed, 1u << handle);
    lua_State *L = atomic_load(&running);
    if (L != NULL) lua_sethook(L, dispatch, thread_mask(L) | ARMED_MASK, 1);
}

lua_State *hook_enter(lua_State *co) {
    lua_State *prev = atomic_exchange(&running, co);
    apply(co);
    return prev;
}

void hook_leave(lua_State *prev) {
    atomic_store(&running, prev);
    apply(prev); /* an arm that landed while co ran, after co stopped, fires here */
}

lua_State *hook_running(void) { return atomic_load(&running); }

/* coroutine.resume / coroutine.wrap with the running thread followed */

static int resume_tracked(lua_State *L, lua_State *co, int narg) {
    if (!lua_checkstack(co, narg)) {
        lua_pushliteral(L, "too many arguments to resume");
        return -1;
    }
    int st = lua_status(co);
    if (st == LUA_OK && lua_gettop(co) == 0) {
        lua_pushliteral(L, "cannot resume dead coroutine");
        return -1;
    }
    if (st != LUA_OK && st != LUA_YIELD) {
        lua_pushliteral(L, "cannot resume dead coroutine");
        return -1;
    }
    lua_xmove(L, co, narg);
    int nres;
    lua_State *prev = hook_enter(co);
    st = lua_resume(co, L, narg, &nres);
    hook_leave(prev);
    if (st == LUA_OK || st == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            return -1;
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1); /* the error object */
    return -1;
}

static int co_resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co != NULL, 1, "coroutine");
    if (co == L) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "cannot resume non-suspended coroutine");
        return 2;
    }
    int r = resume_tracked(L, co, lua_gettop(L) - 1);
    if (r < 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1;
}

static int co_wrapped(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int r = resume_tracked(L, co, lua_gettop(L));
    if (r >= 0) return r;
    int st = lua_status(co);
    if (st != LUA_OK && st != LUA_YIELD) { /* an error inside: close its pending variables */
        lua_resetthread(co);
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
    }
    return lua_error(L);
}

static int co_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, co_wrapped, 1);
    return 1;
}

void hook_open_coroutines(lua_State *L) {
    if (lua_getglobal(L, "coroutine") == LUA_TTABLE) {
        lua_pushcfunction(L, co_resume);
        lua_setfield(L, -2, "resume");
        lua_pushcfunction(L, co_wrap);
        lua_setfield(L, -2, "wrap");
    }
    lua_pop(L, 1);
}
