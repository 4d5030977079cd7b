/* alloc.c: when ptr is NULL, osize is a type code, not a size; shrinks are never refused,
 * and a refused growth makes Lua raise "not enough memory" where it stands. */
#include "alloc.h"

#include <stdlib.h>

void *rt_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
    struct rt_alloc *a = ud;
    size_t old = ptr != NULL ? osize : 0;
    if (nsize == 0) {
        if (ptr != NULL) {
            if (a->inner != NULL) a->inner(a->inner_ud, ptr, osize, 0);
            else free(ptr);
            atomic_fetch_sub(&a->used, old);
        }
        return NULL;
    }
    if (nsize > old && a->limit != 0 && atomic_load(&a->used) - old + nsize > a->limit) {
        atomic_fetch_add(&a->refused, 1);
        return NULL;
    }
    void *p = a->inner != NULL ? a->inner(a->inner_ud, ptr, osize, nsize) : realloc(ptr, nsize);
    if (p == NULL) return NULL;
    if (nsize > old) atomic_fetch_add(&a->used, nsize - old);
    else atomic_fetch_sub(&a->used, old - nsize);
    return p;
}

struct rt_alloc *rt_alloc_of(lua_State *L) {
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    return f == rt_alloc_fn ? ud : NULL;
}

struct rt_alloc *rt_alloc_wrap(lua_State *L) {
    struct rt_alloc *a = rt_alloc_of(L);
    if (a != NULL) return a;
    /* Not a userdata: the state frees its objects through this very struct until lua_close
     * returns. One small block per wrapped state, for the life of the process. */
    a = malloc(sizeof *a);
    if (a == NULL) return NULL;
    a->inner = lua_getallocf(L, &a->inner_ud);
    a->limit = 0;
    atomic_init(&a->refused, 0);
    atomic_init(&a->used, (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024u + (size_t)lua_gc(L, LUA_GCCOUNTB, 0));
    lua_setallocf(L, rt_alloc_fn, a);
    return a;
}
