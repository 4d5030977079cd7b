/* heap: snapshots of the Lua heap in V8's .heapsnapshot format, and their analysis
 * (proflab analyze FILE.heapsnapshot, proflab diff A B). */
#ifndef PROFLAB_HEAP_H
#define PROFLAB_HEAP_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

/* Where the document goes, in order, in pieces of at most a few tens of KiB.
 * Returns 0, or -1 to stop the snapshot. */
typedef int (*heap_sink_fn)(void *ud, const char *p, size_t n);

struct heap_stats {
    size_t nodes, edges;
    size_t bytes;          /* written to the sink */
    size_t self_bytes;     /* sum of the nodes' self sizes */
    size_t lua_heap_bytes; /* the allocator's count when the walk began, 0 if unknown */
    size_t native_bytes;   /* lab.Buffer bytes included in self sizes */
    size_t extra_peak;     /* the walker's own peak memory (C side and Lua side) */
    double duration_ms;
};

enum {
    HEAP_OK = 0,
    HEAP_ERR = -1,        /* any other error */
    HEAP_ERR_SINK = -2,   /* the sink refused a piece */
    HEAP_ERR_LUAMEM = -3, /* the Lua heap reached its ceiling (the id table grows) */
    HEAP_ERR_NOMEM = -4,  /* the walker's own memory */
};

/* Walks everything reachable from L's roots and streams the snapshot to sink. Blocks until
 * done; runs a full collection first. HEAP_OK, or an error above with err. */
int heap_snapshot(lua_State *L, heap_sink_fn sink, void *ud, struct heap_stats *st, char *err, size_t errlen);

/* How a chunk's source ("@/path/file.lua") maps to the scriptId the inspector announces for
 * it (0: none). Closures of known scripts get a location in the snapshot, which DevTools'
 * Memory panel turns into a link to the line. */
typedef int (*heap_script_fn)(const char *source);
void heap_set_script_ids(heap_script_fn fn);

/* Pushes the lab.heap table: lab.heap.snapshot() writes heap-<time>-<hex>.heapsnapshot to
 * the artifact folder and answers {filePath, bytes, nodes, edges, durationMs}. */
int heap_open_lua(lua_State *L);

/* proflab analyze FILE.heapsnapshot [--top N]; proflab diff A B [--top N]. Exit codes. */
int heap_analyze_main(int argc, char **argv);
int heap_diff_main(int argc, char **argv);

/* Internal to engine/heap: the graph the walker builds and the writer streams. */
enum { N_HIDDEN, N_ARRAY, N_STRING, N_OBJECT, N_CODE, N_CLOSURE, N_REGEXP, N_NUMBER, N_NATIVE, N_SYNTHETIC };
enum { E_CONTEXT, E_ELEMENT, E_PROPERTY, E_INTERNAL, E_HIDDEN, E_SHORTCUT, E_WEAK };

struct node {
    uint32_t size, name, id, edges;
    uint8_t type, pending;
};

struct edge {
    uint32_t name, to; /* name: a string index, or the index of an element edge */
    uint8_t type;
};

struct heap_loc { /* where a closure's function is defined */
    uint32_t node;
    int32_t script, line; /* line 0-based */
};

struct hmap { /* uint64 -> uint32, open addressing, key 0 unused */
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n;
};
int hmap_init(struct hmap *m, size_t cap);
void hmap_free(struct hmap *m);
int hmap_get(const struct hmap *m, uint64_t k, uint32_t *v);
int hmap_put(struct hmap *m, uint64_t k, uint32_t v);

struct stab { /* interned strings, in order of first use */
    char *buf;
    size_t cap;
    size_t *off; /* string i is buf[off[i], off[i+1]) */
    size_t n, ocap;
    uint32_t *slots;
    size_t scap, interned;
};
uint32_t stab_intern(struct stab *t, const char *s, size_t n);
uint32_t stab_add(struct stab *t, const char *s, size_t n);
void stab_free(struct stab *t);

/* A Lua 5.4 binary chunk (lua_dump, strip 0) read back (chunk.c): its prototypes in dump
 * order, each with its bytes in memory (strings excluded) and a hash of its dump (nested
 * ones included, source excluded); prototype i's nested ones are [i + 1, protos[i].end).
 * Its strings: offsets into buf, in order, with the prototype that holds them. */
enum { HEAP_CHUNK_SOURCE, HEAP_CHUNK_CONSTANT, HEAP_CHUNK_LOCAL, HEAP_CHUNK_UPVALUE };
struct heap_chunk_proto {
    uint64_t bytes, shape;
    uint32_t end;
    int32_t linedefined;
    uint32_t lineinfo, nlineinfo; /* offset in buf of its line deltas, one per instruction */
    uint32_t abs, nabs;           /* its entries in the chunk's abslines */
};
struct heap_chunk_absline {
    int32_t pc, line;
};
struct heap_chunk_str {
    uint32_t off, len, proto;
    uint8_t kind;
};
struct heap_chunk {
    const unsigned char *buf;
    size_t len;
    struct heap_chunk_proto *protos;
    size_t np, pcap;
    struct heap_chunk_str *strs;
    size_t ns, scap;
    struct heap_chunk_absline *abslines;
    size_t nabs, abscap;
};
/* 0, or -1 for a chunk this build cannot read (another version or layout, or cut short). */
int heap_chunk_read(struct heap_chunk *c, const void *buf, size_t len);
void heap_chunk_free(struct heap_chunk *c);
/* Calls fn with the line of every instruction of prototype i, in order (lines repeat). */
void heap_chunk_lines(const struct heap_chunk *c, size_t i, void (*fn)(void *ud, int line), void *ud);

/* Streams the document; *bytes is what the sink received. 0, or -1 when the sink failed. */
int heap_write(const struct stab *names, const struct node *nodes, size_t nn, const struct edge *edges, size_t ne,
               const struct heap_loc *locs, size_t nloc, heap_sink_fn sink, void *ud, size_t *bytes);
/* Writes s as a JSON string: invalid UTF-8 bytes become \u00XX. */
size_t heap_json_string(char *out, const char *s, size_t n);


/* A snapshot file read back (read.c), with the offsets of the fields it declares. */
struct hsnap {
    char **node_fields, **edge_fields, **node_types, **edge_types;
    size_t meta_nodes, meta_edges;
    uint64_t *nodes, *edges; /* flat, as in the file */
    size_t n_node_vals, n_edge_vals;
    char *arena;
    char **strings;
    size_t *string_len, n_strings;
    size_t nf, ef, nn, ne;
    int f_type, f_name, f_id, f_size, f_edges, e_type, e_name, e_to;
    int n_node_types, n_edge_types;
    int t_string, t_hidden, t_synthetic, t_object, t_native, t_closure, et_weak, et_element, et_hidden;
    size_t *first_edge; /* node i's edges are [first_edge[i], first_edge[i+1]) */
};
/* Loads path and checks the format's invariants (counts, offsets, string indexes). */
int heap_snap_load(struct hsnap *s, const char *path, char *err, size_t errlen);
int heap_snap_parse(struct hsnap *s, const char *text, size_t len, char *err, size_t errlen);
void heap_snap_free(struct hsnap *s);

#endif
