/* snap.c: walks the Lua heap through the public API and streams it as a V8 .heapsnapshot.
 *
 * The walk is breadth-first from a synthetic root whose edges lead to the registry, the
 * globals, the main thread and the running coroutine. Only the public API is used, so an
 * object can be inspected only while it sits on the Lua stack: the frontier lives in two
 * Lua tables used in turn (one level each, slots reused), everything else in C arrays.
 * Node indexes are given in discovery order and objects are processed in that order, so
 * every node's edges are appended contiguously, as the format wants. */
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../mem/mem.h"
#include "../rt/alloc.h"
#include "heap.h"

/* Lua 5.4.4 object sizes on x86_64 (lobject.h, lstate.h): what the allocator is asked for. */
#define SZ_TABLE 56
#define SZ_TVALUE 16
#define SZ_NODE 24
#define SZ_TSTRING 24 /* offsetof(TString, contents); contents hold len + 1 bytes */
#define SZ_UDATA0 32  /* offsetof(Udata0, bindata): a userdata without user values */
#define SZ_UDATA 40   /* offsetof(Udata, uv); each user value adds 16 */
#define SZ_LCLOSURE 32
#define SZ_CCLOSURE 32
#define SZ_UPVAL 40
#define SZ_PROTO 128
#define SZ_LX 208          /* lua_State with LUA_EXTRASPACE */
#define SZ_CALLINFO 64
#define SZ_GLOBAL_STATE 1440
#define BASIC_STACK 40
#define EXTRA_STACK 5
#define SHORT_STR_MAX 40
#define NAME_MAX_BYTES 256

#define NONE UINT32_MAX

static const char ids_key = 0;

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Pointer map: key 0 is the empty slot. */
int hmap_init(struct hmap *m, size_t cap) {
    size_t c = 64;
    while (c < cap * 2) c <<= 1;
    m->keys = calloc(c, sizeof *m->keys);
    m->vals = malloc(c * sizeof *m->vals);
    m->cap = c;
    m->n = 0;
    if (m->keys == NULL || m->vals == NULL) {
        hmap_free(m);
        return -1;
    }
    return 0;
}

void hmap_free(struct hmap *m) {
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

int hmap_get(const struct hmap *m, uint64_t k, uint32_t *v) {
    if (m->cap == 0) return 0;
    size_t mask = m->cap - 1;
    for (size_t i = mix64(k) & mask;; i = (i + 1) & mask) {
        if (m->keys[i] == k) {
            if (v) *v = m->vals[i];
            return 1;
        }
        if (m->keys[i] == 0) return 0;
    }
}

int hmap_put(struct hmap *m, uint64_t k, uint32_t v) {
    if ((m->n + 1) * 2 > m->cap) {
        struct hmap g;
        if (hmap_init(&g, m->cap) != 0) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != 0) hmap_put(&g, m->keys[i], m->vals[i]);
        hmap_free(m);
        *m = g;
    }
    size_t mask = m->cap - 1;
    for (size_t i = mix64(k) & mask;; i = (i + 1) & mask) {
        if (m->keys[i] == k) {
            m->vals[i] = v;
            return 0;
        }
        if (m->keys[i] == 0) {
            m->keys[i] = k;
            m->vals[i] = v;
            m->n++;
            return 0;
        }
    }
}

/* Interned names: the snapshot's "strings" array. */
static uint64_t str_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

void stab_free(struct stab *t) {
    free(t->buf);
    free(t->off);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static int stab_grow_slots(struct stab *t) {
    size_t c = t->scap ? t->scap * 2 : 1024;
    uint32_t *s = calloc(c, sizeof *s);
    if (s == NULL) return -1;
    for (size_t i = 0; i < t->scap; i++) {
        uint32_t x = t->slots[i];
        if (x == 0) continue;
        size_t j = str_hash(t->buf + t->off[x - 1], t->off[x] - t->off[x - 1]) & (c - 1);
        while (s[j] != 0) j = (j + 1) & (c - 1);
        s[j] = x;
    }
    free(t->slots);
    t->slots = s;
    t->scap = c;
    return 0;
}

/* Appends s without looking for it: string nodes, whose contents rarely repeat. */
uint32_t stab_add(struct stab *t, const char *s, size_t n) {
    if (t->n + 2 > t->ocap) {
        size_t c = t->ocap ? t->ocap * 2 : 1024;
        size_t *o = realloc(t->off, c * sizeof *o);
        if (o == NULL) return NONE;
        t->off = o;
        t->ocap = c;
        if (t->n == 0) t->off[0] = 0;
    }
    size_t at = t->off[t->n];
    if (at + n > t->cap) {
        size_t c = t->cap ? t->cap : 4096;
        while (c < at + n) c *= 2;
        char *b = realloc(t->buf, c);
        if (b == NULL) return NONE;
        t->buf = b;
        t->cap = c;
    }
    memcpy(t->buf + at, s, n);
    t->off[t->n + 1] = at + n;
    return (uint32_t)t->n++;
}

/* The index of s in the table, added if new; NONE when out of memory. */
uint32_t stab_intern(struct stab *t, const char *s, size_t n) {
    if ((t->interned + 1) * 2 > t->scap && stab_grow_slots(t) != 0) return NONE;
    uint64_t h = str_hash(s, n);
    size_t mask = t->scap - 1, j = h & mask;
    for (; t->slots[j] != 0; j = (j + 1) & mask) {
        uint32_t x = t->slots[j] - 1;
        size_t len = t->off[x + 1] - t->off[x];
        if (len == n && memcmp(t->buf + t->off[x], s, n) == 0) return x;
    }
    uint32_t x = stab_add(t, s, n);
    if (x != NONE) {
        t->slots[j] = x + 1;
        t->interned++;
    }
    return x;
}

/* Ids that outlive one snapshot. Collectable objects other than strings get theirs from a
 * weak-keyed table (the entry dies with the object, so an address reused by a new object
 * gets a new id). Strings never leave a weak table, so they are kept here, by address and a
 * digest of their content, and pruned to the strings of the last snapshot. */
struct sval {
    uint32_t id, sum, index; /* index: the node in the snapshot that set it */
};

struct smap { /* string address -> sval, open addressing, key 0 unused */
    uint64_t *keys;
    struct sval *vals;
    size_t cap, n;
};

static void smap_free(struct smap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static int smap_init(struct smap *m, size_t n) {
    size_t c = 1024;
    while (c * 7 < n * 10) c <<= 1;
    m->keys = calloc(c, sizeof *m->keys);
    m->vals = malloc(c * sizeof *m->vals);
    m->cap = c;
    m->n = 0;
    if (m->keys == NULL || m->vals == NULL) {
        smap_free(m);
        return -1;
    }
    return 0;
}

/* The slot of k, added if absent (*added set); NULL when out of memory. */
static struct sval *smap_slot(struct smap *m, uint64_t k, int *added) {
    if ((m->n + 1) * 10 > m->cap * 7) { /* up to 70% full: 29 bytes per string */
        struct smap g;
        if (smap_init(&g, m->cap) != 0) return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->keys[i] == 0) continue;
            int a;
            *smap_slot(&g, m->keys[i], &a) = m->vals[i];
        }
        smap_free(m);
        *m = g;
    }
    size_t mask = m->cap - 1;
    for (size_t i = mix64(k) & mask;; i = (i + 1) & mask) {
        if (m->keys[i] == k) {
            *added = 0;
            return &m->vals[i];
        }
        if (m->keys[i] == 0) {
            m->keys[i] = k;
            m->n++;
            *added = 1;
            return &m->vals[i];
        }
    }
}

struct ids {
    uint32_t next;
    struct smap strs; /* the strings of the last snapshot */
};

static int ids_gc(lua_State *L) {
    struct ids *ids = lua_touserdata(L, 1);
    smap_free(&ids->strs);
    return 0;
}

/* Pushes the id table; *out is the ids record. */
static void push_ids(lua_State *L, struct ids **out) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &ids_key) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        struct ids *ids = lua_newuserdatauv(L, sizeof *ids, 1);
        memset(ids, 0, sizeof *ids);
        ids->next = 101;
        lua_createtable(L, 0, 2);
        lua_pushcfunction(L, ids_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushliteral(L, "proflab.HeapIds");
        lua_setfield(L, -2, "__name");
        lua_setmetatable(L, -2);
        lua_newtable(L);
        lua_createtable(L, 0, 2);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_pushliteral(L, "proflab.HeapIdTable");
        lua_setfield(L, -2, "__name");
        lua_setmetatable(L, -2);
        lua_setiuservalue(L, -2, 1);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &ids_key);
    }
    *out = lua_touserdata(L, -1);
    lua_getiuservalue(L, -1, 1);
    lua_remove(L, -2);
}

/* The walk */

struct walk {
    lua_State *L;
    struct node *nodes;
    size_t nn, ncap;
    struct edge *edges;
    size_t ne, ecap;
    struct hmap upvals; /* upvalue cells already counted */
    struct hmap protos; /* prototypes, chunk names and long constants already counted */
    struct hmap shapes; /* prototypes met in dumps: see claim_shape */
    struct hmap pedges; /* (closure, string) edges from prototypes */
    char *dbuf;         /* the dump being read */
    size_t dlen, dcap;
    struct heap_chunk chunk;
    struct heap_loc *locs; /* closures of known scripts */
    size_t nloc, loccap;
    struct stab names;
    struct ids *ids;
    int idtab;             /* stack index of the id table */
    int qchunks, qpool;    /* stack indexes: the queue's chunks in order, spare chunks */
    int qhead, qtail;      /* stack indexes: the chunks being read and filled */
    lua_Integer hc, tc, npool; /* first and last chunk in qchunks, chunks in qpool */
    int hpos, tpos;        /* next slot to read in the head chunk, last filled in the tail */
    size_t queued;
    uint32_t cur;          /* the node whose edges are being added */
    int fresh;             /* the last visit discovered a new node */
    size_t short_strings, native;
    const void *registry, *globals, *loaded, *idtab_ptr, *ids_ptr;
    lua_State *main;
    uint32_t idtab_node, state_node;
    size_t id_entries;
    uint32_t n_key, n_metatable, n_uservalue, n_vararg; /* names used at every step */
    int c_oom; /* a C allocation failed */
    struct rt_alloc *alloc; /* NULL when the state's allocator is not the engine's */
    size_t temp;            /* Lua bytes of the walker's own garbage (queue, line tables) */
};

static size_t lua_used(const struct walk *w) { return w->alloc ? atomic_load(&w->alloc->used) : 0; }

static void oom(struct walk *w) {
    w->c_oom = 1;
    luaL_error(w->L, "out of memory while walking the heap");
}

static uint32_t name_of(struct walk *w, const char *s, size_t n) {
    if (n > NAME_MAX_BYTES) n = NAME_MAX_BYTES;
    uint32_t i = stab_intern(&w->names, s, n);
    if (i == NONE) oom(w);
    return i;
}

static uint32_t namef(struct walk *w, const char *fmt, ...) {
    char b[NAME_MAX_BYTES + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    return name_of(w, b, (size_t)n > NAME_MAX_BYTES ? NAME_MAX_BYTES : (size_t)n);
}

static uint32_t new_node(struct walk *w, int type, uint32_t name, uint32_t id, uint64_t size) {
    if (w->nn == w->ncap) {
        size_t c = w->ncap ? w->ncap + w->ncap / 2 : 4096;
        struct node *p = realloc(w->nodes, c * sizeof *p);
        if (p == NULL) oom(w);
        w->nodes = p;
        w->ncap = c;
    }
    struct node *n = &w->nodes[w->nn];
    n->type = (uint8_t)type;
    n->pending = 0;
    n->name = name;
    n->id = id;
    n->size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    n->edges = 0;
    return (uint32_t)w->nn++;
}

/* Readers keep self sizes in 32 bits (DevTools: a Uint32Array): larger ones saturate. */
static void set_size(struct walk *w, uint32_t n, uint64_t v) { w->nodes[n].size = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; }

static void add_edge(struct walk *w, int type, uint32_t name, uint32_t to) {
    if (to == NONE) return;
    if (w->ne == w->ecap) {
        size_t c = w->ecap ? w->ecap + w->ecap / 2 : 8192;
        struct edge *p = realloc(w->edges, c * sizeof *p);
        if (p == NULL) oom(w);
        w->edges = p;
        w->ecap = c;
    }
    w->edges[w->ne].type = (uint8_t)type;
    w->edges[w->ne].name = name;
    w->edges[w->ne].to = to;
    w->ne++;
    w->nodes[w->cur].edges++;
}

/* The id table maps an object to id | node index << 32. The index is this snapshot's when the
 * node there carries the same id: a visited set that costs no memory of its own. */
static uint32_t lookup_object(struct walk *w, int idx, uint32_t *id) {
    lua_State *L = w->L;
    lua_pushvalue(L, idx);
    int t = lua_rawget(L, w->idtab);
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (t != LUA_TNUMBER) {
        *id = w->ids->next;
        w->ids->next += 2;
        return NONE;
    }
    *id = (uint32_t)(v & 0xffffffff);
    uint64_t ni = (uint64_t)v >> 32;
    return ni < w->nn && w->nodes[ni].id == *id ? (uint32_t)ni : NONE;
}

static void store_object(struct walk *w, int idx, uint32_t id, uint32_t ni) {
    lua_State *L = w->L;
    lua_pushvalue(L, idx);
    lua_pushinteger(L, (lua_Integer)((uint64_t)id | (uint64_t)ni << 32));
    lua_rawset(L, w->idtab);
}

/* The queue: chunk tables of a fixed size, reused, so it never rehashes (the collector is
 * stopped: garbage would stay until the end). */
#define QCHUNK 4096

static void push_chunk(struct walk *w) {
    lua_State *L = w->L;
    size_t u0 = lua_used(w);
    if (w->npool > 0) {
        lua_rawgeti(L, w->qpool, w->npool);
        lua_pushnil(L);
        lua_rawseti(L, w->qpool, w->npool--);
    } else {
        lua_createtable(L, QCHUNK, 0);
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, w->qchunks, ++w->tc);
    lua_replace(L, w->qtail);
    w->tpos = 0;
    w->temp += lua_used(w) - u0;
}

static void enqueue(struct walk *w, int idx) {
    if (w->tpos == QCHUNK) push_chunk(w);
    lua_pushvalue(w->L, idx);
    lua_rawseti(w->L, w->qtail, ++w->tpos);
    w->queued++;
}

/* Pushes the next queued object. */
static void dequeue(struct walk *w) {
    lua_State *L = w->L;
    if (w->hpos > QCHUNK) { /* the head chunk is spent: it goes to the pool */
        size_t u0 = lua_used(w);
        lua_pushvalue(L, w->qhead);
        lua_rawseti(L, w->qpool, ++w->npool);
        lua_pushnil(L);
        lua_rawseti(L, w->qchunks, w->hc++);
        lua_rawgeti(L, w->qchunks, w->hc);
        lua_replace(L, w->qhead);
        w->hpos = 1;
        w->temp += lua_used(w) - u0;
    }
    lua_rawgeti(L, w->qhead, w->hpos++);
    w->queued--;
}

/* A string's node: one map from its address gives its id across snapshots (kept while the
 * content digest matches) and, while the node there carries that id, its node in this one. */
static uint32_t visit_string(struct walk *w, int idx) {
    lua_State *L = w->L;
    const void *p = lua_topointer(L, idx);
    int added;
    struct sval *v = smap_slot(&w->ids->strs, (uintptr_t)p, &added);
    if (v == NULL) oom(w);
    if (!added && v->index < w->nn && w->nodes[v->index].id == v->id) return v->index;
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    uint32_t sum = (uint32_t)(str_hash(s, len < 64 ? len : 64) ^ (len * 0x9e3779b97f4a7c15ULL)) | 1;
    if (added || v->sum != sum) {
        v->id = w->ids->next;
        w->ids->next += 2;
        v->sum = sum;
    }
    w->fresh = 1;
    if (len <= SHORT_STR_MAX) w->short_strings++;
    uint32_t id = v->id; /* new_node may not move v, but name_of may fail: read it first */
    v->index = (uint32_t)w->nn;
    uint32_t nm = stab_add(&w->names, s, len > NAME_MAX_BYTES ? NAME_MAX_BYTES : len);
    if (nm == NONE) oom(w);
    return new_node(w, N_STRING, nm, id, SZ_TSTRING + len + 1);
}

/* After a snapshot: the strings it did not see are forgotten, once they are the majority (a
 * forgotten entry only costs room: its node check fails and its address gets a new id). */
static int prune_strings(struct walk *w) {
    struct smap *old = &w->ids->strs, g;
    size_t live = 0;
    for (size_t i = 0; i < old->cap; i++) {
        const struct sval *v = &old->vals[i];
        live += old->keys[i] != 0 && v->index < w->nn && w->nodes[v->index].id == v->id;
    }
    if (live * 2 >= old->n) return 0;
    if (smap_init(&g, live) != 0) return -1;
    for (size_t i = 0; i < old->cap; i++) {
        const struct sval *v = &old->vals[i];
        int a;
        if (old->keys[i] != 0 && v->index < w->nn && w->nodes[v->index].id == v->id)
            *smap_slot(&g, old->keys[i], &a) = *v;
    }
    smap_free(old);
    *old = g;
    return 0;
}

/* The node of the value at idx (absolute), discovered now if new; NONE for values that are
 * not objects (nil, booleans, numbers, light userdata). */
static uint32_t visit(struct walk *w, int idx) {
    lua_State *L = w->L;
    int t = lua_type(L, idx);
    w->fresh = 0;
    if (t != LUA_TSTRING && t != LUA_TTABLE && t != LUA_TFUNCTION && t != LUA_TUSERDATA && t != LUA_TTHREAD)
        return NONE;
    uint32_t ni, id;
    if (t == LUA_TSTRING) return visit_string(w, idx);
    ni = lookup_object(w, idx, &id);
    if (ni != NONE) return ni;
    w->fresh = 1;
    if (t == LUA_TFUNCTION && lua_iscfunction(L, idx) && lua_getupvalue(L, idx, 1) == NULL) {
        ni = new_node(w, N_CLOSURE, name_of(w, "(C function)", 12), id, 0);
    } else {
        if (t == LUA_TFUNCTION && lua_iscfunction(L, idx)) lua_pop(L, 1); /* the upvalue */
        ni = new_node(w, N_OBJECT, 0, id, 0);
        w->nodes[ni].pending = 1;
        enqueue(w, idx);
    }
    store_object(w, idx, id, ni);
    return ni;
}

/* Array and hash capacities as ltable.c's rehash would choose them for these keys. */
static uint64_t table_size(const unsigned *nums, unsigned nint, unsigned nother) {
    unsigned a = 0, na = 0, optimal = 0;
    for (unsigned i = 0, two = 1; i < 32 && nint > two / 2; i++, two *= 2) {
        a += nums[i];
        if (a > two / 2) {
            optimal = two;
            na = a;
        }
    }
    uint64_t nhash = (uint64_t)nint - na + nother, hsize = 0;
    if (nhash > 0)
        for (hsize = 1; hsize < nhash; hsize *= 2) {
        }
    return SZ_TABLE + (uint64_t)optimal * SZ_TVALUE + hsize * SZ_NODE;
}

static int ceil_log2(lua_Integer k) {
    int l = 0;
    while (((lua_Integer)1 << l) < k) l++;
    return l;
}

static void metatable_edge(struct walk *w, int idx) {
    if (!lua_getmetatable(w->L, idx)) return;
    add_edge(w, E_INTERNAL, w->n_metatable, visit(w, lua_gettop(w->L)));
    lua_pop(w->L, 1);
}

/* __name of the metatable of the value at idx, or NULL. */
static const char *class_name(lua_State *L, int idx, int *weak_k, int *weak_v) {
    const char *name = NULL;
    if (weak_k) *weak_k = *weak_v = 0;
    if (!lua_getmetatable(L, idx)) return NULL;
    lua_pushliteral(L, "__name");
    if (lua_rawget(L, -2) == LUA_TSTRING) name = lua_tostring(L, -1); /* kept alive by the metatable */
    lua_pop(L, 1);
    if (weak_k) {
        lua_pushliteral(L, "__mode");
        if (lua_rawget(L, -2) == LUA_TSTRING) {
            const char *m = lua_tostring(L, -1);
            *weak_k = strchr(m, 'k') != NULL;
            *weak_v = strchr(m, 'v') != NULL;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return name;
}

static void walk_table(struct walk *w, int t) {
    lua_State *L = w->L;
    const void *p = lua_topointer(L, t);
    int wk, wv;
    const char *cls = class_name(L, t, &wk, &wv);
    if (p == w->registry) cls = "registry";
    else if (p == w->globals) cls = "globals";
    else if (p == w->loaded) cls = "package.loaded";
    else if (cls == NULL) cls = "Table";
    uint32_t nm = name_of(w, cls, strlen(cls));
    w->nodes[w->cur].name = nm;
    w->nodes[w->cur].type = N_OBJECT;
    if (p == w->idtab_ptr) { /* the ids themselves: sized at the end, entries not listed */
        w->idtab_node = w->cur;
        metatable_edge(w, t);
        return;
    }
    unsigned nums[33] = {0}, nint = 0, nother = 0;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        int k = lua_gettop(L) - 1, v = k + 1;
        int kt = lua_type(L, k);
        uint32_t to = visit(w, v);
        if (kt == LUA_TNUMBER && lua_isinteger(L, k) && lua_tointeger(L, k) >= 1 &&
            lua_tointeger(L, k) <= (lua_Integer)UINT32_MAX) {
            lua_Integer i = lua_tointeger(L, k);
            if (i <= (lua_Integer)1 << 31) {
                nums[ceil_log2(i)]++;
                nint++;
            } else {
                nother++;
            }
            if (wv) add_edge(w, E_WEAK, namef(w, "[%lld]", (long long)i), to);
            else add_edge(w, E_ELEMENT, (uint32_t)i, to);
        } else if (kt == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, k, &len);
            nother++;
            if (to != NONE) add_edge(w, wv ? E_WEAK : E_PROPERTY, name_of(w, s, len), to);
            /* a key string gets one edge, from the first table found holding it */
            uint32_t kn = visit(w, k);
            if (w->fresh) add_edge(w, E_INTERNAL, w->n_key, kn);
        } else {
            nother++;
            uint32_t kn = visit(w, k);
            if (kn != NONE) add_edge(w, wk ? E_WEAK : E_INTERNAL, w->n_key, kn);
            if (to != NONE) {
                uint32_t en;
                if (kt == LUA_TNUMBER) en = lua_isinteger(L, k) ? namef(w, "[%lld]", (long long)lua_tointeger(L, k))
                                                                 : namef(w, "[%.14g]", lua_tonumber(L, k));
                else if (kt == LUA_TBOOLEAN) en = namef(w, "[%s]", lua_toboolean(L, k) ? "true" : "false");
                else if (kn == NONE) en = namef(w, "[%s key]", lua_typename(L, kt));
                else en = namef(w, "[%s key @%u]", lua_typename(L, kt), w->nodes[kn].id);
                add_edge(w, wv ? E_WEAK : E_INTERNAL, en, to);
            }
        }
        lua_pop(L, 1);
    }
    metatable_edge(w, t);
    set_size(w, w->cur, table_size(nums, nint, nother));
}

static void walk_userdata(struct walk *w, int u) {
    lua_State *L = w->L;
    const char *cls = class_name(L, u, NULL, NULL);
    size_t len = lua_rawlen(L, u);
    w->nodes[w->cur].name = name_of(w, cls ? cls : "userdata", strlen(cls ? cls : "userdata"));
    int nuv = 0;
    for (;;) {
        if (lua_getiuservalue(L, u, nuv + 1) == LUA_TNONE) {
            lua_pop(L, 1);
            break;
        }
        nuv++;
        add_edge(w, E_INTERNAL, nuv == 1 ? w->n_uservalue : namef(w, "uservalue[%d]", nuv), visit(w, lua_gettop(L)));
        lua_pop(L, 1);
    }
    uint64_t size = (nuv ? SZ_UDATA + (uint64_t)SZ_TVALUE * nuv : SZ_UDATA0) + len;
    if (cls != NULL && strcmp(cls, "lab.Buffer") == 0 && len == sizeof(struct mem_buffer)) {
        const struct mem_buffer *b = lua_touserdata(L, u);
        if (b->live) {
            size += b->size;
            w->native += b->size;
        }
    }
    set_size(w, w->cur, size);
    metatable_edge(w, u);
}

/* The address of a Lua closure's prototype: the only way to tell closures of one prototype
 * from closures of equal ones (the same chunk loaded twice). LClosure (lobject.h) holds its
 * type tag at byte 8, its upvalue count at byte 10 and the Proto pointer at byte 24; the
 * pointer is read only when the first two match, and it is used as a key, never followed. */
static uint64_t proto_address(lua_State *L, int f, int nups) {
    const unsigned char *cl = lua_topointer(L, f);
    uint64_t p;
    if (cl == NULL || cl[8] != 0x06 || cl[10] != (unsigned char)nups) return 0;
    memcpy(&p, cl + 24, sizeof p);
    return p;
}

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud) {
    struct walk *w = ud;
    (void)L;
    if (w->dlen + n > w->dcap) {
        size_t c = w->dcap ? w->dcap * 2 : 4096;
        while (c < w->dlen + n) c *= 2;
        char *q = realloc(w->dbuf, c);
        if (q == NULL) return 1;
        w->dbuf = q;
        w->dcap = c;
    }
    memcpy(w->dbuf + w->dlen, p, n);
    w->dlen += n;
    return 0;
}

/* Whether a prototype found in a dump is counted now. A prototype is met either as the one
 * of a closure (first) or nested in another's dump; the same shape met both ways is taken
 * to be one prototype, so a balance per shape pairs the two kinds of meetings. */
static int claim_shape(struct walk *w, uint64_t key, int own) {
    uint32_t v = 0x80000000u;
    hmap_get(&w->shapes, key, &v);
    int take = own ? v >= 0x80000000u : v <= 0x80000000u;
    if (hmap_put(&w->shapes, key, own ? v + 1 : v - 1) != 0) oom(w);
    return take;
}

static const char *const chunk_edge_names[] = {"source", "constant", "local name", "upvalue name"};

/* The bytes of the prototype of the Lua closure at f and of those nested in it that are not
 * counted yet, read from its dump. Short strings they hold become edges to their nodes; long
 * ones are not interned, cannot be reached, and are counted here. */
static uint64_t count_protos(struct walk *w, int f, const lua_Debug *ar) {
    lua_State *L = w->L;
    struct heap_chunk *c = &w->chunk;
    w->dlen = 0;
    lua_pushvalue(L, f);
    int r = lua_dump(L, dump_writer, w, 0);
    lua_pop(L, 1);
    if (r != 0) oom(w);
    if (heap_chunk_read(c, w->dbuf, w->dlen) != 0) return SZ_PROTO + w->dlen; /* not 5.4's format: a guess */
    uint64_t size = 0, src = mix64((uintptr_t)ar->source);
    for (uint32_t i = 0; i < c->np;) {
        struct heap_chunk_proto *p = &c->protos[i];
        if (!claim_shape(w, (src ^ p->shape) | 1, i == 0)) { /* counted with its subtree */
            for (uint32_t j = i; j < p->end; j++) c->protos[j].bytes = 0;
            i = p->end;
            continue;
        }
        size += p->bytes;
        i++;
    }
    for (size_t i = 0; i < c->ns; i++) {
        const struct heap_chunk_str *cs = &c->strs[i];
        if (c->protos[cs->proto].bytes == 0) continue;
        const char *s = (const char *)c->buf + cs->off;
        if (cs->len > SHORT_STR_MAX) {
            /* the chunk name is one string per load; a long constant is one per chunk name */
            uint64_t k = cs->kind == HEAP_CHUNK_SOURCE ? (uintptr_t)ar->source : (src ^ str_hash(s, cs->len) ^ cs->len) | 1;
            if (!hmap_get(&w->protos, k, NULL)) {
                if (hmap_put(&w->protos, k, 1) != 0) oom(w);
                size += SZ_TSTRING + cs->len + 1;
            }
            continue;
        }
        lua_pushlstring(L, s, cs->len); /* interned: the very string the prototype holds */
        uint32_t to = visit(w, lua_gettop(L));
        uint64_t ek = (((uint64_t)w->cur << 32) | to) + 1;
        if (!hmap_get(&w->pedges, ek, NULL)) {
            if (hmap_put(&w->pedges, ek, 1) != 0) oom(w);
            add_edge(w, E_INTERNAL, name_of(w, chunk_edge_names[cs->kind], strlen(chunk_edge_names[cs->kind])), to);
        }
        lua_pop(L, 1);
    }
    return size;
}

static heap_script_fn script_ids;

void heap_set_script_ids(heap_script_fn fn) { script_ids = fn; }

static void add_location(struct walk *w, const lua_Debug *ar) {
    int script = script_ids ? script_ids(ar->source) : 0;
    if (script <= 0) return;
    if (w->nloc == w->loccap) {
        size_t c = w->loccap ? w->loccap * 2 : 64;
        struct heap_loc *p = realloc(w->locs, c * sizeof *p);
        if (p == NULL) oom(w);
        w->locs = p;
        w->loccap = c;
    }
    w->locs[w->nloc++] = (struct heap_loc){w->cur, script, ar->linedefined > 0 ? ar->linedefined - 1 : 0};
}

static void walk_function(struct walk *w, int f) {
    lua_State *L = w->L;
    w->nodes[w->cur].type = N_CLOSURE; /* nodes may move as children are found: no pointer kept */
    if (lua_iscfunction(L, f)) {
        int n = 0;
        for (;;) {
            if (lua_getupvalue(L, f, n + 1) == NULL) break;
            n++;
            add_edge(w, E_INTERNAL, namef(w, "upvalue[%d]", n), visit(w, lua_gettop(L)));
            lua_pop(L, 1);
        }
        w->nodes[w->cur].name = name_of(w, "(C closure)", 11);
        set_size(w, w->cur, SZ_CCLOSURE + (uint64_t)SZ_TVALUE * n);
        return;
    }
    lua_Debug ar;
    lua_pushvalue(L, f);
    lua_getinfo(L, ">Su", &ar);
    uint64_t size = SZ_LCLOSURE;
    const char *file = ar.short_src, *slash = strrchr(file, '/');
    if (ar.source[0] == '@' && slash != NULL) file = slash + 1; /* the file's name reads best in a list */
    if (strcmp(ar.what, "main") == 0) w->nodes[w->cur].name = namef(w, "main chunk @ %s", file);
    else w->nodes[w->cur].name = namef(w, "function @ %s:%d", file, ar.linedefined);
    add_location(w, &ar);
    /* the prototype is not reachable through the API: its bytes go to its first closure */
    uint64_t pk = proto_address(L, f, ar.nups);
    if (pk == 0) /* not 5.4.4's layout: closures with the same source lines share one count */
        pk = mix64((uintptr_t)ar.source) ^ ((uint64_t)(unsigned)ar.linedefined << 32) ^
             (uint64_t)(unsigned)ar.lastlinedefined;
    if (pk == 0) pk = 1;
    if (!hmap_get(&w->protos, pk, NULL)) {
        if (hmap_put(&w->protos, pk, 1) != 0) oom(w);
        size += count_protos(w, f, &ar);
    }
    for (int i = 1;; i++) {
        const char *un = lua_getupvalue(L, f, i);
        if (un == NULL) break;
        size += 8;
        void *uid = lua_upvalueid(L, f, i);
        if (uid != NULL && !hmap_get(&w->upvals, (uintptr_t)uid, NULL)) {
            if (hmap_put(&w->upvals, (uintptr_t)uid, 1) != 0) oom(w);
            size += SZ_UPVAL;
        }
        uint32_t to = visit(w, lua_gettop(L));
        add_edge(w, E_CONTEXT, *un ? name_of(w, un, strlen(un)) : namef(w, "upvalue[%d]", i), to);
        lua_pop(L, 1);
    }
    set_size(w, w->cur, size);
}

/* Moves the value on top of co's stack to L's. */
static void take(struct walk *w, lua_State *co) {
    if (co != w->L) lua_xmove(co, w->L, 1);
}

static void walk_thread(struct walk *w, int th) {
    lua_State *L = w->L, *co = lua_tothread(L, th);
    int is_main = co == w->main;
    w->nodes[w->cur].name = is_main ? name_of(w, "main thread", 11) : name_of(w, "coroutine", 9);
    uint64_t slots = 0;
    int levels = 0, st = lua_status(co);
    if ((st == LUA_OK || st == LUA_YIELD) && (co == L || lua_checkstack(co, 2))) {
        lua_Debug ar;
        int level = 0;
        if (co == L) /* skip the C frames of whoever asked for the snapshot */
            while (lua_getstack(co, level, &ar) && lua_getinfo(co, "S", &ar) && strcmp(ar.what, "C") == 0) level++;
        for (; lua_getstack(co, level, &ar); level++, levels++) {
            lua_getinfo(co, "f", &ar);
            take(w, co);
            add_edge(w, E_INTERNAL, namef(w, "(frame %d)", levels), visit(w, lua_gettop(L)));
            lua_pop(L, 1);
            for (int n = 1;; n++) {
                const char *ln = lua_getlocal(co, &ar, n);
                if (ln == NULL) break;
                take(w, co);
                slots++;
                add_edge(w, E_CONTEXT, name_of(w, ln, strlen(ln)), visit(w, lua_gettop(L)));
                lua_pop(L, 1);
            }
            for (int n = -1;; n--) {
                if (lua_getlocal(co, &ar, n) == NULL) break;
                take(w, co);
                slots++;
                add_edge(w, E_CONTEXT, w->n_vararg, visit(w, lua_gettop(L)));
                lua_pop(L, 1);
            }
        }
        if (levels == 0 && co != L) {
            int top = lua_gettop(co);
            for (int i = 1; i <= top; i++) {
                lua_pushvalue(co, i);
                take(w, co);
                slots++;
                add_edge(w, E_CONTEXT, namef(w, "(stack slot %d)", i), visit(w, lua_gettop(L)));
                lua_pop(L, 1);
            }
        }
    }
    uint64_t stack = BASIC_STACK;
    while (stack < slots + 10 * (uint64_t)levels) stack *= 2;
    set_size(w, w->cur, SZ_LX + (stack + EXTRA_STACK) * SZ_TVALUE + (uint64_t)levels * SZ_CALLINFO);
}

static void walk_root(struct walk *w) {
    lua_State *L = w->L;
    int top = lua_gettop(L);
    lua_pushvalue(L, LUA_REGISTRYINDEX);
    add_edge(w, E_PROPERTY, name_of(w, "registry", 8), visit(w, top + 1));
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    add_edge(w, E_PROPERTY, name_of(w, "globals", 7), visit(w, top + 2));
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    add_edge(w, E_PROPERTY, name_of(w, "main thread stack", 17), visit(w, top + 3));
    lua_settop(L, top);
    if (L != w->main) {
        lua_pushthread(L);
        add_edge(w, E_PROPERTY, name_of(w, "running coroutine", 17), visit(w, top + 1));
        lua_settop(L, top);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    add_edge(w, E_PROPERTY, name_of(w, "loaded modules", 14), visit(w, top + 1));
    lua_settop(L, top);
    /* metatables of the types that have no per-value metatable */
    static const char *const kinds[] = {"nil", "boolean", "number", "string", "function", "thread", "light userdata"};
    for (int i = 0; i < 7; i++) {
        switch (i) {
        case 0: lua_pushnil(L); break;
        case 1: lua_pushboolean(L, 0); break;
        case 2: lua_pushinteger(L, 0); break;
        case 3: lua_pushliteral(L, ""); break;
        case 4: lua_pushcfunction(L, ids_gc); break;
        case 5: lua_pushthread(L); break;
        default: lua_pushlightuserdata(L, (void *)&ids_key); break;
        }
        if (lua_getmetatable(L, -1)) add_edge(w, E_INTERNAL, namef(w, "%s metatable", kinds[i]), visit(w, top + 2));
        lua_settop(L, top);
    }
    w->state_node = new_node(w, N_HIDDEN, name_of(w, "(Lua state)", 11), 3, 0);
    add_edge(w, E_INTERNAL, name_of(w, "(Lua state)", 11), w->state_node);
}

static int walk_protected(lua_State *L) {
    struct walk *w = lua_touserdata(L, 1);
    lua_settop(L, 1);
    push_ids(L, &w->ids);
    w->idtab = lua_gettop(L);
    w->idtab_ptr = lua_topointer(L, w->idtab);
    size_t u0 = lua_used(w);
    lua_newtable(L);
    w->qchunks = lua_gettop(L);
    lua_newtable(L);
    w->qpool = lua_gettop(L);
    lua_pushnil(L);
    w->qhead = lua_gettop(L);
    lua_pushnil(L);
    w->qtail = lua_gettop(L);
    w->hc = 1;
    w->temp += lua_used(w) - u0;
    push_chunk(w);
    lua_pushvalue(L, w->qtail);
    lua_replace(L, w->qhead);
    w->hpos = 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    w->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    w->registry = lua_topointer(L, LUA_REGISTRYINDEX);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    w->globals = lua_topointer(L, -1);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    w->loaded = lua_topointer(L, -1);
    lua_pop(L, 2);
    w->n_key = name_of(w, "(key)", 5);
    w->n_metatable = name_of(w, "metatable", 9);
    w->n_uservalue = name_of(w, "uservalue", 9);
    w->n_vararg = name_of(w, "(vararg)", 8);
    name_of(w, "", 0); /* index 0 after the root's name */

    w->idtab_node = NONE;
    w->cur = new_node(w, N_SYNTHETIC, name_of(w, "", 0), 1, 0);
    walk_root(w);
    size_t scan = 1;
    while (w->queued > 0) {
        while (!w->nodes[scan].pending) scan++;
        w->cur = (uint32_t)scan++;
        w->nodes[w->cur].pending = 0;
        dequeue(w);
        int top = lua_gettop(L);
        switch (lua_type(L, top)) {
        case LUA_TTABLE: walk_table(w, top); break;
        case LUA_TUSERDATA: walk_userdata(w, top); break;
        case LUA_TFUNCTION: walk_function(w, top); break;
        case LUA_TTHREAD: walk_thread(w, top); break;
        default: break;
        }
        lua_settop(L, top - 1);
    }
    return 0;
}

/* Sizes that are known only at the end: the id table, the state and its string table. */
static void finish_sizes(struct walk *w) {
    if (w->idtab_node != NONE) {
        size_t entries = 0;
        for (size_t i = 0; i < w->nn; i++) entries += w->nodes[i].type != N_STRING;
        uint64_t h = 1;
        while (h < entries) h *= 2;
        set_size(w, w->idtab_node, SZ_TABLE + h * SZ_NODE);
    }
    /* the string table doubles when full and halves only below a quarter: close to full, the
     * temporaries that built these strings have most likely doubled it already */
    uint64_t strt = 128;
    while (strt < w->short_strings) strt *= 2;
    if (strt > 128 && w->short_strings * 4 >= strt * 3) strt *= 2;
    /* global_State, the string table, the fixed strings (metamethod names, reserved words,
     * the memory error message) that the API cannot reach */
    set_size(w, w->state_node, SZ_GLOBAL_STATE + strt * 8 + 48 * 40);
}

void walk_free(struct walk *w) {
    free(w->nodes);
    free(w->edges);
    hmap_free(&w->upvals);
    hmap_free(&w->protos);
    hmap_free(&w->shapes);
    hmap_free(&w->pedges);
    free(w->dbuf);
    heap_chunk_free(&w->chunk);
    free(w->locs);
    stab_free(&w->names);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int heap_snapshot(lua_State *L, heap_sink_fn sink, void *ud, struct heap_stats *st, char *err, size_t errlen) {
    double t0 = now_ms();
    memset(st, 0, sizeof *st);
    lua_gc(L, LUA_GCCOLLECT);
    lua_gc(L, LUA_GCCOLLECT); /* objects finalized by the first one */
    struct rt_alloc *a = rt_alloc_of(L);
    size_t before = a ? atomic_load(&a->used) : 0;
    int was_running = lua_gc(L, LUA_GCISRUNNING);
    /* while the walk runs nothing may be freed: an address must name one object throughout */
    lua_gc(L, LUA_GCSTOP);
    struct walk w;
    memset(&w, 0, sizeof w);
    w.L = L;
    w.alloc = a;
    int rc = HEAP_ERR_NOMEM;
    if (hmap_init(&w.upvals, 256) != 0 || hmap_init(&w.protos, 256) != 0 || hmap_init(&w.shapes, 256) != 0 ||
        hmap_init(&w.pedges, 256) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 40)) {
        snprintf(err, errlen, "Lua stack overflow");
        goto done;
    }
    lua_pushcfunction(L, walk_protected);
    lua_pushlightuserdata(L, &w);
    int st_walk = lua_pcall(L, 1, 0, 0);
    if (st_walk != LUA_OK) {
        snprintf(err, errlen, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "error while walking the heap");
        lua_settop(L, top);
        rc = st_walk == LUA_ERRMEM ? HEAP_ERR_LUAMEM : w.c_oom ? HEAP_ERR_NOMEM : HEAP_ERR;
        goto done;
    }
    lua_settop(L, top);
    size_t after = a ? atomic_load(&a->used) : 0;
    size_t strs_cap = w.ids->strs.cap;
    if (prune_strings(&w) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    finish_sizes(&w);
    /* the heap as the walk leaves it: the id table grown, the walker's garbage left out */
    st->lua_heap_bytes = a ? after - w.temp : 0;
    st->native_bytes = w.native;
    st->nodes = w.nn;
    st->edges = w.ne;
    for (size_t i = 0; i < w.nn; i++) st->self_bytes += w.nodes[i].size;
    size_t strs = (strs_cap != w.ids->strs.cap ? strs_cap : 0) + w.ids->strs.cap; /* before and after pruning */
    st->extra_peak = w.ncap * sizeof *w.nodes + w.ecap * sizeof *w.edges + w.upvals.cap * 12 + w.protos.cap * 12 +
                     (w.shapes.cap + w.pedges.cap) * 12 + w.dcap + w.chunk.pcap * sizeof *w.chunk.protos +
                     w.chunk.scap * sizeof *w.chunk.strs + w.loccap * sizeof *w.locs +
                     strs * (sizeof(uint64_t) + sizeof(struct sval)) + w.names.cap + w.names.ocap * sizeof(size_t) +
                     w.names.scap * 4 + (after > before ? after - before : 0);
    rc = heap_write(&w.names, w.nodes, w.nn, w.edges, w.ne, w.locs, w.nloc, sink, ud, &st->bytes) == 0 ? HEAP_OK : HEAP_ERR_SINK;
    if (rc != HEAP_OK) snprintf(err, errlen, "cannot write the snapshot");
done:
    walk_free(&w);
    if (was_running) lua_gc(L, LUA_GCRESTART);
    st->duration_ms = now_ms() - t0;
    return rc;
}
