/* heap_test.c: the walker and writer on a real Lua state, read back by engine/heap/read.c:
 * the format's invariants, the names a learner sees, ids across snapshots, sizes against the
 * allocator, and the reader refusing broken files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap/heap.h"
#include "mem/mem.h"
#include "rt/alloc.h"

struct membuf {
    char *p;
    size_t n, cap;
    int fail_after; /* the sink fails once this many bytes went through; -1 never */
};

static int to_mem(void *ud, const char *p, size_t n) {
    struct membuf *m = ud;
    if (m->fail_after >= 0 && m->n + n > (size_t)m->fail_after) return -1;
    if (m->n + n > m->cap) {
        size_t c = m->cap ? m->cap * 2 : 65536;
        while (c < m->n + n) c *= 2;
        char *q = realloc(m->p, c);
        if (q == NULL) return -1;
        m->p = q;
        m->cap = c;
    }
    memcpy(m->p + m->n, p, n);
    m->n += n;
    return 0;
}

static struct rt_alloc counter;

static lua_State *new_state(void) {
    memset(&counter, 0, sizeof counter);
    lua_State *L = lua_newstate(rt_alloc_fn, &counter);
    assert_non_null(L);
    luaL_openlibs(L);
    return L;
}

static void run(lua_State *L, const char *code) {
    if (luaL_dostring(L, code) != LUA_OK) fail_msg("%s", lua_tostring(L, -1));
}

/* Takes a snapshot of L into a temporary file and reads it back. */
static void snapshot(lua_State *L, struct hsnap *s, struct heap_stats *st) {
    struct membuf m = {NULL, 0, 0, -1};
    char err[256];
    struct heap_stats local;
    if (st == NULL) st = &local;
    if (heap_snapshot(L, to_mem, &m, st, err, sizeof err) != 0) fail_msg("snapshot: %s", err);
    assert_int_equal(st->bytes, m.n);
    char path[] = "/tmp/heap_test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, m.p, m.n), (ssize_t)m.n);
    close(fd);
    free(m.p);
    if (heap_snap_load(s, path, err, sizeof err) != 0) fail_msg("read back: %s", err);
    unlink(path);
    assert_int_equal(s->nn, st->nodes);
    assert_int_equal(s->ne, st->edges);
}

#define NF(s, i, f) ((s)->nodes[(size_t)(i) * (s)->nf + (size_t)(s)->f])
#define EF(s, e, f) ((s)->edges[(size_t)(e) * (s)->ef + (size_t)(s)->f])

static const char *node_name(const struct hsnap *s, size_t i) { return s->strings[NF(s, i, f_name)]; }
static const char *type_of(const struct hsnap *s, size_t i) { return s->node_types[NF(s, i, f_type)]; }

/* The first edge of type etype named name (a string edge) from a node named from (NULL: any).
 * Returns the target node, or -1. */
static long find_edge(const struct hsnap *s, const char *from, const char *etype, const char *name) {
    for (size_t i = 0; i < s->nn; i++) {
        if (from && strcmp(node_name(s, i), from) != 0) continue;
        for (size_t e = s->first_edge[i]; e < s->first_edge[i + 1]; e++) {
            const char *t = s->edge_types[EF(s, e, e_type)];
            if (strcmp(t, etype) != 0) continue;
            if (strcmp(t, "element") != 0 && strcmp(s->strings[EF(s, e, e_name)], name) != 0) continue;
            return (long)(EF(s, e, e_to) / s->nf);
        }
    }
    return -1;
}

static long find_node(const struct hsnap *s, const char *name) {
    for (size_t i = 0; i < s->nn; i++)
        if (strcmp(node_name(s, i), name) == 0) return (long)i;
    return -1;
}

static void test_names_and_edges(void **state) {
    (void)state;
    lua_State *L = new_state();
    run(L, "Point = setmetatable({}, {__name = 'Point'})\n"
           "points = { setmetatable({x = 1, y = 2}, getmetatable(Point)) }\n"
           "local counter = {}\n"
           "function bump() counter[#counter + 1] = true end\n"
           "cache = setmetatable({}, {__mode = 'v'})\n"
           "cache.entry = {}\n"
           "keep = cache.entry\n"
           "co = coroutine.create(function(arg) local myLocal = {arg}; coroutine.yield(myLocal) end)\n"
           "coroutine.resume(co, 'hello')\n"
           "keyed = { [{}] = 'value for a table key', [2.5] = {} }\n");
    /* a lab.Buffer as lab.c makes it: struct mem_buffer in a userdata named by its metatable */
    struct mem_buffer *b = lua_newuserdatauv(L, sizeof *b, 1);
    memset(b, 0, sizeof *b);
    b->size = (size_t)3 << 20;
    b->live = 1;
    luaL_newmetatable(L, "lab.Buffer");
    lua_setmetatable(L, -2);
    lua_newtable(L);
    lua_setiuservalue(L, -2, 1);
    lua_setglobal(L, "buf");

    struct hsnap s;
    snapshot(L, &s, NULL);
    assert_string_equal(type_of(&s, 0), "synthetic");
    assert_int_equal(NF(&s, 0, f_id), 1);
    assert_true(find_edge(&s, "", "property", "registry") > 0);
    long g = find_edge(&s, "", "property", "globals");
    assert_true(g > 0);
    assert_string_equal(node_name(&s, (size_t)g), "globals");
    assert_string_equal(type_of(&s, (size_t)g), "object");
    assert_true(find_edge(&s, "", "property", "main thread stack") > 0);
    assert_true(find_edge(&s, "", "internal", "string metatable") > 0);
    /* classes from __name; upvalues, locals and weak values by name */
    long pts = find_edge(&s, "globals", "property", "points");
    assert_true(pts > 0);
    assert_true(find_node(&s, "Point") > 0);
    long bump = find_edge(&s, "globals", "property", "bump");
    assert_true(bump > 0);
    assert_string_equal(type_of(&s, (size_t)bump), "closure");
    assert_non_null(strstr(node_name(&s, (size_t)bump), "function @ [string \""));
    assert_true(find_edge(&s, node_name(&s, (size_t)bump), "context", "counter") > 0);
    assert_true(find_edge(&s, "Table", "weak", "entry") > 0);
    long co = find_edge(&s, "globals", "property", "co");
    assert_true(co > 0);
    assert_string_equal(node_name(&s, (size_t)co), "coroutine");
    assert_true(find_edge(&s, "coroutine", "context", "myLocal") > 0);
    assert_true(find_edge(&s, "coroutine", "context", "arg") > 0);
    assert_true(find_edge(&s, NULL, "internal", "[2.5]") > 0);
    assert_true(find_edge(&s, NULL, "internal", "(key)") > 0);
    /* the buffer: its native bytes in its self size, its user value and metatable as internal edges */
    long bn = find_edge(&s, "globals", "property", "buf");
    assert_true(bn > 0);
    assert_string_equal(node_name(&s, (size_t)bn), "lab.Buffer");
    assert_int_equal(NF(&s, bn, f_size), 40 + 16 + sizeof(struct mem_buffer) + ((size_t)3 << 20));
    assert_true(find_edge(&s, "lab.Buffer", "internal", "uservalue") > 0);
    assert_true(find_edge(&s, "lab.Buffer", "internal", "metatable") > 0);
    /* strings are nodes named by their content */
    long hello = find_node(&s, "hello");
    assert_true(hello > 0);
    assert_string_equal(type_of(&s, (size_t)hello), "string");
    assert_int_equal(NF(&s, hello, f_size), 24 + 5 + 1);
    heap_snap_free(&s);
    lua_close(L);
}

static uint64_t id_of_global(const struct hsnap *s, const char *name) {
    long n = find_edge(s, "globals", "property", name);
    assert_true(n > 0);
    return NF(s, n, f_id);
}

static void test_ids(void **state) {
    (void)state;
    lua_State *L = new_state();
    run(L, "kept = {}; dropped = {}; s = 'a string that stays'");
    struct hsnap a, b, c;
    snapshot(L, &a, NULL);
    uint64_t kept = id_of_global(&a, "kept"), dropped = id_of_global(&a, "dropped"), str = id_of_global(&a, "s");
    snapshot(L, &b, NULL);
    assert_int_equal(id_of_global(&b, "kept"), kept);
    assert_int_equal(id_of_global(&b, "s"), str);
    /* a new object, maybe at the old one's address, gets a new id */
    run(L, "dropped = nil; collectgarbage(); collectgarbage(); for i = 1, 100 do dropped = {} end");
    snapshot(L, &c, NULL);
    assert_int_equal(id_of_global(&c, "kept"), kept);
    assert_int_not_equal(id_of_global(&c, "dropped"), dropped);
    for (size_t i = 0; i < c.nn; i++) assert_int_not_equal(NF(&c, i, f_id), dropped);
    heap_snap_free(&a);
    heap_snap_free(&b);
    heap_snap_free(&c);
    lua_close(L);
}

static void test_sizes_match_the_allocator(void **state) {
    (void)state;
    lua_State *L = new_state();
    run(L, "big = {}\n"
           "for i = 1, 20000 do big[i] = { id = i, name = 'user' .. i, tags = { 'a', 'b' } } end\n"
           "map = {}\n"
           "for i = 1, 5000 do map['k' .. i] = function() return i end end\n"
           "cos = {}\n"
           "for i = 1, 100 do cos[i] = coroutine.create(function(x) local y = {x}; coroutine.yield(y) end); coroutine.resume(cos[i], i) end\n");
    /* the first snapshot fills the id table, the second finds it full */
    for (int i = 0; i < 2; i++) {
        struct hsnap s;
        struct heap_stats st;
        snapshot(L, &s, &st);
        assert_true(st.lua_heap_bytes > (1 << 20));
        double ratio = (double)st.self_bytes / (double)st.lua_heap_bytes;
        print_message("snapshot %d: self sizes %zu, allocator %zu, ratio %.3f\n", i + 1, st.self_bytes,
                      st.lua_heap_bytes, ratio);
        assert_true(ratio > 0.9 && ratio < 1.1);
        heap_snap_free(&s);
    }
    lua_close(L);
}

struct lines {
    int v[64];
    int n;
};

static void collect_line(void *ud, int line) {
    struct lines *l = ud;
    if (l->n < 64) l->v[l->n++] = line;
}

static int to_buf(lua_State *L, const void *p, size_t n, void *ud) {
    (void)L;
    return to_mem(ud, p, n);
}

/* A dump read back: sizes by 5.4's layouts (the figures luac5.4 -l -l prints for this code),
 * the nested prototype's range, every string in dump order; a cut or altered dump is refused
 * or read without going out of bounds. */
static void test_chunk_reader(void **state) {
    (void)state;
    static const char code[] = "local up = 10\n"
                               "local function f(a, b)\n"
                               "  local s = 'hello'\n"
                               "  local l = 'a string constant longer than forty bytes, so not interned'\n"
                               "  for i = 1, 3 do a = a + i * up + 1.5 end\n"
                               "  return a + b, s, l, true, nil\n"
                               "end\n"
                               "return f\n";
    lua_State *L = new_state();
    assert_int_equal(luaL_loadbuffer(L, code, sizeof code - 1, "=k"), LUA_OK);
    struct membuf m = {NULL, 0, 0, -1};
    assert_int_equal(lua_dump(L, to_buf, &m, 0), 0);
    struct heap_chunk c;
    memset(&c, 0, sizeof c);
    assert_int_equal(heap_chunk_read(&c, m.p, m.n), 0);
    assert_int_equal(c.np, 2);
    /* main: 5 instructions, 1 upvalue, 1 nested, 5 line bytes, 2 locals */
    assert_int_equal(c.protos[0].bytes, 128 + 5 * 4 + 16 + 8 + 5 + 2 * 16);
    /* f: 22 instructions, 3 constants, 1 upvalue, 22 line bytes, 8 locals */
    assert_int_equal(c.protos[1].bytes, 128 + 22 * 4 + 3 * 16 + 16 + 22 + 8 * 16);
    assert_int_equal(c.protos[0].end, 2);
    assert_int_equal(c.protos[1].end, 2);
    /* lines per instruction, as luac5.4 -l lists them */
    struct lines l = {{0}, 0};
    heap_chunk_lines(&c, 0, collect_line, &l);
    static const int main_lines[] = {1, 1, 7, 8, 8};
    assert_int_equal(l.n, 5);
    assert_memory_equal(l.v, main_lines, sizeof main_lines);
    l.n = 0;
    heap_chunk_lines(&c, 1, collect_line, &l);
    static const int f_lines[] = {3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7};
    assert_int_equal(l.n, 22);
    assert_memory_equal(l.v, f_lines, sizeof f_lines);
    static const struct {
        int kind;
        uint32_t proto;
        const char *s;
    } want[] = {
        {HEAP_CHUNK_SOURCE, 0, "=k"},
        {HEAP_CHUNK_CONSTANT, 1, "hello"},
        {HEAP_CHUNK_CONSTANT, 1, "a string constant longer than forty bytes, so not interned"},
        {HEAP_CHUNK_LOCAL, 1, "a"},
        {HEAP_CHUNK_LOCAL, 1, "b"},
        {HEAP_CHUNK_LOCAL, 1, "s"},
        {HEAP_CHUNK_LOCAL, 1, "l"},
        {HEAP_CHUNK_LOCAL, 1, "(for state)"},
        {HEAP_CHUNK_LOCAL, 1, "(for state)"},
        {HEAP_CHUNK_LOCAL, 1, "(for state)"},
        {HEAP_CHUNK_LOCAL, 1, "i"},
        {HEAP_CHUNK_UPVALUE, 1, "up"},
        {HEAP_CHUNK_LOCAL, 0, "up"},
        {HEAP_CHUNK_LOCAL, 0, "f"},
        {HEAP_CHUNK_UPVALUE, 0, "_ENV"},
    };
    assert_int_equal(c.ns, sizeof want / sizeof *want);
    for (size_t i = 0; i < c.ns; i++) {
        assert_int_equal(c.strs[i].kind, want[i].kind);
        assert_int_equal(c.strs[i].proto, want[i].proto);
        assert_int_equal(c.strs[i].len, strlen(want[i].s));
        assert_memory_equal((const char *)c.buf + c.strs[i].off, want[i].s, c.strs[i].len);
    }
    /* a shape tells prototypes apart and stays the same when the dump is read again */
    uint64_t shape = c.protos[1].shape;
    assert_int_not_equal(c.protos[0].shape, shape);
    for (size_t n = 0; n < m.n; n++) /* every cut is refused */
        assert_int_equal(heap_chunk_read(&c, m.p, n), -1);
    for (size_t i = 0; i < m.n; i++) /* every single-byte change: read or refused, never out of bounds */
        for (int bit = 0; bit < 8; bit++) {
            char *q = malloc(m.n);
            assert_non_null(q);
            memcpy(q, m.p, m.n);
            q[i] ^= (char)(1 << bit);
            int r = heap_chunk_read(&c, q, m.n);
            assert_true(r == 0 || r == -1);
            free(q);
        }
    assert_int_equal(heap_chunk_read(&c, m.p, m.n), 0);
    assert_true(c.protos[1].shape == shape);
    heap_chunk_free(&c);
    free(m.p);
    lua_close(L);
}

static void mark_line(void *ud, int line) {
    lua_State *L = ud;
    lua_pushboolean(L, 1);
    lua_rawseti(L, -2, line);
}

/* Lines past 128 instructions and across a gap over 127 lines come from absolute entries: the
 * lines read from the dump are the ones debug.getinfo(f, "L") reports. */
static void test_chunk_lines_match_activelines(void **state) {
    (void)state;
    lua_State *L = new_state();
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "local x = 0\n");
    for (int i = 0; i < 300; i++) luaL_addstring(&b, "x = x + 1\n");
    for (int i = 0; i < 200; i++) luaL_addstring(&b, "\n");
    luaL_addstring(&b, "x = x * 2\nreturn x\n");
    luaL_pushresult(&b);
    size_t n;
    const char *code = lua_tolstring(L, -1, &n);
    assert_int_equal(luaL_loadbuffer(L, code, n, "=lines"), LUA_OK);
    struct membuf m = {NULL, 0, 0, -1};
    assert_int_equal(lua_dump(L, to_buf, &m, 0), 0);
    struct heap_chunk c;
    memset(&c, 0, sizeof c);
    assert_int_equal(heap_chunk_read(&c, m.p, m.n), 0);
    assert_true(c.nabs >= 3);
    lua_newtable(L);
    heap_chunk_lines(&c, 0, mark_line, L);
    int mine = lua_gettop(L);
    lua_pushvalue(L, -2);
    lua_Debug ar;
    lua_getinfo(L, ">L", &ar);
    int theirs = lua_gettop(L);
    for (int pass = 0; pass < 2; pass++) { /* each set holds the other */
        int a = pass ? theirs : mine, o = pass ? mine : theirs, count = 0;
        lua_pushnil(L);
        while (lua_next(L, a) != 0) {
            lua_pop(L, 1);
            assert_int_equal(lua_rawgeti(L, o, lua_tointeger(L, -1)), LUA_TBOOLEAN);
            lua_pop(L, 1);
            count++;
        }
        assert_int_equal(count, 303);
    }
    heap_chunk_free(&c);
    free(m.p);
    lua_close(L);
}

/* Heaps made of code: prototypes are sized from lua_dump's output, so a heap holding little
 * but functions must read as close to the allocator as one holding data. */
static const struct {
    const char *what, *code;
} code_heaps[] = {
    {"one-line functions, one chunk each",
     "keep = {}\n"
     "for i = 1, 6000 do\n"
     "  keep[i] = load('return function(a, b) local t = a * ' .. i .. ' + b; return t, a - b, a // 3 end', '=gen' .. i)()\n"
     "end\n"},
    {"40-line functions",
     "keep = {}\n"
     "for i = 1, 1500 do\n"
     "  local src = {'return function(x)', '  local s = 0'}\n"
     "  for j = 1, 40 do src[#src + 1] = '  if x > ' .. j .. ' then s = s + x * ' .. (i + j) .. ' end' end\n"
     "  src[#src + 1] = '  return s end'\n"
     "  keep[i] = load(table.concat(src, '\\n'), '=long' .. i)()\n"
     "end\n"},
    {"string constants",
     "keep = {}\n"
     "for i = 1, 3000 do\n"
     "  keep[i] = load(('return function() return {%q, %q, %q} end'):format('alpha' .. i, 'a much longer string constant, past forty bytes ' .. i, 'k' .. i), '=str' .. i)()\n"
     "end\n"},
    {"the same chunk loaded again and again",
     "keep = {}\n"
     "for i = 1, 6000 do keep[i] = load('return function(x) return x + 1, x * 2, x .. \"!\" end', '=same')() end\n"},
    {"living main chunks with nested functions",
     "keep = {}\n"
     "for i = 1, 400 do\n"
     "  local src = {}\n"
     "  for j = 1, 12 do src[#src + 1] = 'local function f' .. j .. '(a) return a + ' .. (i * j) .. ' end' end\n"
     "  src[#src + 1] = 'return f1'\n"
     "  local main = load(table.concat(src, '\\n'), '=file' .. i)\n"
     "  keep[#keep + 1] = main\n"
     "  keep[#keep + 1] = main()\n"
     "end\n"},
};

static void test_code_heaps_match_the_allocator(void **state) {
    (void)state;
    int off = 0;
    for (size_t i = 0; i < sizeof code_heaps / sizeof *code_heaps; i++) {
        lua_State *L = new_state();
        run(L, code_heaps[i].code);
        struct hsnap s;
        struct heap_stats st;
        snapshot(L, &s, &st);
        double ratio = (double)st.self_bytes / (double)st.lua_heap_bytes;
        print_message("%s: self sizes %zu, allocator %zu, ratio %.3f\n", code_heaps[i].what, st.self_bytes,
                      st.lua_heap_bytes, ratio);
        assert_true(st.lua_heap_bytes > (1 << 20));
        off += !(ratio > 0.9 && ratio < 1.1);
        heap_snap_free(&s);
        lua_close(L);
    }
    assert_int_equal(off, 0);
}

static void test_sink_failure(void **state) {
    (void)state;
    lua_State *L = new_state();
    struct membuf m = {NULL, 0, 0, 1000};
    struct heap_stats st;
    char err[128];
    assert_int_equal(heap_snapshot(L, to_mem, &m, &st, err, sizeof err), HEAP_ERR_SINK);
    free(m.p);
    /* the state is still usable: the collector runs again */
    assert_int_equal(lua_gc(L, LUA_GCISRUNNING), 1);
    lua_close(L);
}

/* The id table grows in the Lua heap: at the ceiling the snapshot fails cleanly, and works once
 * there is room. */
static void test_lua_heap_ceiling(void **state) {
    (void)state;
    lua_State *L = new_state();
    run(L, "t = {} for i = 1, 20000 do t[i] = {} end");
    lua_gc(L, LUA_GCCOLLECT);
    counter.limit = atomic_load(&counter.used) + 4096;
    struct membuf m = {NULL, 0, 0, -1};
    struct heap_stats st;
    char err[256];
    assert_int_equal(heap_snapshot(L, to_mem, &m, &st, err, sizeof err), HEAP_ERR_LUAMEM);
    assert_int_equal(lua_gc(L, LUA_GCISRUNNING), 1);
    counter.limit = 0;
    struct hsnap s;
    free(m.p);
    snapshot(L, &s, NULL);
    assert_true(s.nn > 20000);
    heap_snap_free(&s);
    lua_close(L);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

#define META                                                                                                       \
    "{\"snapshot\":{\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\"],"            \
    "\"node_types\":[[\"hidden\",\"object\",\"synthetic\"],\"string\",\"number\",\"number\",\"number\"],"          \
    "\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"                                                    \
    "\"edge_types\":[[\"property\",\"element\",\"weak\"],\"string_or_number\",\"node\"]},"

static void test_reader_refuses_broken_files(void **state) {
    (void)state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        {META "\"node_count\":2,\"edge_count\":1},\"nodes\":[2,0,1,0,1,1,1,3,8,0],\"edges\":[0,1,5],\"strings\":[\"\",\"a\"]}",
         "good"},
        {META "\"node_count\":3,\"edge_count\":1},\"nodes\":[2,0,1,0,1,1,1,3,8,0],\"edges\":[0,1,5],\"strings\":[\"\",\"a\"]}",
         "node_count"},
        {META "\"node_count\":2,\"edge_count\":1},\"nodes\":[2,0,1,0,2,1,1,3,8,0],\"edges\":[0,1,5],\"strings\":[\"\",\"a\"]}",
         "edge counts"},
        {META "\"node_count\":2,\"edge_count\":1},\"nodes\":[2,0,1,0,1,1,1,3,8,0],\"edges\":[0,1,7],\"strings\":[\"\",\"a\"]}",
         "to_node"},
        {META "\"node_count\":2,\"edge_count\":1},\"nodes\":[2,0,1,0,1,1,1,3,8,0],\"edges\":[0,9,5],\"strings\":[\"\",\"a\"]}",
         "edge name"},
        {META "\"node_count\":2,\"edge_count\":1},\"nodes\":[2,0,1,0,1,1,7,3,8,0],\"edges\":[0,1,5],\"strings\":[\"\",\"a\"]}",
         "node name"},
        {META "\"node_count\":2,\"edge_count\":1},\"nodes\":[2,0,1,0,1,1,1,3,8,0],\"edges\":[0,1,5],\"strings\":[\"\",\"a\"]",
         "truncated"},
    };
    char path[] = "/tmp/heap_test_rd.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct hsnap s;
        char err[256];
        write_file(path, cases[i].text);
        int r = heap_snap_load(&s, path, err, sizeof err);
        if (i == 0) {
            if (r != 0) fail_msg("good file refused: %s", err);
            assert_int_equal(s.nn, 2);
            assert_string_equal(s.strings[1], "a");
            heap_snap_free(&s);
        } else if (r == 0) {
            fail_msg("broken file (%s) accepted", cases[i].why);
        }
    }
    /* keys the reader does not know, longer than it keeps, are skipped with their values */
    static const char long_keys[] =
        "{\"snapshot\":{\"meta\":{\"a_key_longer_than_the_reader_keeps_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":[1,[2]],"
        "\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\"],"
        "\"node_types\":[[\"hidden\",\"object\",\"synthetic\"],\"string\",\"number\",\"number\",\"number\"],"
        "\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
        "\"edge_types\":[[\"property\",\"element\",\"weak\"],\"string_or_number\",\"node\"]},"
        "\"another_key_longer_than_the_reader_keeps_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\":{\"x\":1},"
        "\"node_count\":2,\"edge_count\":1},\"nodes\":[2,0,1,0,1,1,1,3,8,0],\"edges\":[0,1,5],\"strings\":[\"\",\"a\"]}";
    write_file(path, long_keys);
    struct hsnap s;
    char err[256];
    if (heap_snap_load(&s, path, err, sizeof err) != 0) fail_msg("long unknown keys refused: %s", err);
    assert_int_equal(s.nn, 2);
    heap_snap_free(&s);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_edges),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_sizes_match_the_allocator),
        cmocka_unit_test(test_chunk_reader),
        cmocka_unit_test(test_chunk_lines_match_activelines),
        cmocka_unit_test(test_code_heaps_match_the_allocator),
        cmocka_unit_test(test_sink_failure),
        cmocka_unit_test(test_lua_heap_ceiling),
        cmocka_unit_test(test_reader_refuses_broken_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
