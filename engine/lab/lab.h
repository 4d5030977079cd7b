/* lab: the Lua binding, require "lab". A thin layer over the engine's capabilities. */
#ifndef PROFLAB_LAB_H
#define PROFLAB_LAB_H

#include <lua.h>

#define LAB_BUFFER "lab.Buffer"

int luaopen_lab(lua_State *L);

/* The engine marks the coroutines it drives; lab.sleep yields only from one of them. */
void lab_mark_driven(lua_State *L, lua_State *co);
/* Tells the module it runs inside the engine (no blocking fallbacks). */
void lab_set_hosted(lua_State *L);
/* After lua_resume returned LUA_YIELD with nres values: the delay lab.sleep asked for in
 * microseconds, or -1 when the coroutine yielded something else. */
long long lab_sleep_request(lua_State *co, int nres);
/* An error object of lab.fail (a table with status, error and message) at idx: 1 and the
 * fields, or 0. The strings stay valid while the object is on the stack. */
int lab_error_fields(lua_State *L, int idx, int *status, const char **code, const char **message);

/* Called by lab.log and the engine's print on the calling thread (its frames give the caller's
 * line): level 0 debug .. 3 error, 4 for print; the message, and the index of lab.log's fields
 * table or 0. The inspector's Console. */
typedef void (*lab_console_fn)(lua_State *L, int level, const char *msg, int fields);
void lab_set_console(lab_console_fn fn);
void lab_console(lua_State *L, int level, const char *msg, int fields);

/* lab.null: the light userdata written as JSON null. */
void *lab_null(void);
/* The status fields the lab module knows by itself (memory figures). */
void lab_push_status_base(lua_State *L);
/* Pops a function that pushes the engine's full status; lab.status() calls it. */
void lab_set_status_provider_value(lua_State *L);

#endif
