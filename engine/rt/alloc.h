/* alloc: the counting Lua allocator with a ceiling (LAB_LUA_MAX_MB). */
#ifndef PROFLAB_ALLOC_H
#define PROFLAB_ALLOC_H

#include <lua.h>
#include <stdatomic.h>
#include <stddef.h>

struct rt_alloc {
    _Atomic size_t used;    /* bytes Lua holds now; read by other threads */
    _Atomic size_t refused; /* growths refused at the ceiling */
    size_t limit;           /* 0: none */
    lua_Alloc inner;        /* NULL: realloc/free */
    void *inner_ud;
};

void *rt_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);

/* For a state the engine did not create (lua5.4 running busted): count from now on
 * through the state's own allocator. Returns the wrapper kept in the registry. */
struct rt_alloc *rt_alloc_wrap(lua_State *L);
/* The wrapper of L, or NULL when L's allocator is not one. */
struct rt_alloc *rt_alloc_of(lua_State *L);

#endif
