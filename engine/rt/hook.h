/* hook: the one owner of lua_sethook. The CPU profiler, the loop watchdog and the debugger
 * register here; Lua keeps a hook per coroutine, so the dispatcher follows the running one. */
#ifndef PROFLAB_HOOK_H
#define PROFLAB_HOOK_H

#include <lua.h>

#define HOOK_USERS_MAX 8

typedef void (*hook_fn)(lua_State *L, lua_Debug *ar, void *ud);

/* A steady user: called on every event of mask (LUA_MASKCALL, ...; count with LUA_MASKCOUNT).
 * Returns a handle, or -1 when all slots are taken. */
int hook_add(int mask, int count, hook_fn fn, void *ud);
/* A user whose line events are wanted on some threads only: its other events are steady; a
 * thread gets line events after hook_thread_lines(L, 1) until hook_thread_lines(L, 0), or until
 * an on-demand user is removed. */
int hook_add_on_demand(int mask, hook_fn fn, void *ud);
void hook_thread_lines(lua_State *L, int on);
/* A one-shot user: called once at the next instruction after hook_arm(handle), or at the
 * return of the C function that was running, whichever comes first. */
int hook_add_oneshot(hook_fn fn, void *ud);
void hook_remove(int handle);
/* Safe in a signal handler and from another thread: arms a one-shot user on the running thread. */
void hook_arm(int handle);

/* The engine calls these around every lua_resume/lua_pcall it makes, so the running
 * thread is known and carries the hook. */
lua_State *hook_enter(lua_State *co);
void hook_leave(lua_State *prev);
lua_State *hook_running(void);

/* Replaces coroutine.resume and coroutine.wrap so coroutines resumed from Lua are followed too. */
void hook_open_coroutines(lua_State *L);

#endif
