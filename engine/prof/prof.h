/* prof: the CPU profiler. A timer signal samples the loop thread; Lua stacks are read in a
 * one-shot hook, interned into a call tree, and written as a Chrome DevTools .cpuprofile or
 * as folded stacks. `proflab analyze` reads a .cpuprofile back into a terminal report. */
#ifndef PROFLAB_PROF_H
#define PROFLAB_PROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROF_INTERVAL_MIN_US 100
#define PROF_INTERVAL_MAX_US 100000
#define PROF_INTERVAL_DEFAULT_US 1000
#define PROF_DEPTH_MAX 256
#define PROF_NONE UINT32_MAX

struct lua_State;

/* The call tree (tree.c): functions and nodes interned once, samples pointing at nodes. */

struct prof_func {
    char *name;
    char *url;    /* file:// URL, or "" for C functions and the special frames */
    int line;     /* 0-based line where the function is defined, -1 when unknown */
    int script;   /* scriptId: one per url, 0 for no url */
};

struct prof_node {
    uint32_t parent; /* PROF_NONE for the root */
    uint32_t func;
};

struct prof_sample {
    uint64_t t_us;
    uint32_t node;
    int32_t line; /* 1-based line the leaf was executing, 0 when unknown */
};

struct prof_profile {
    struct prof_func *funcs;
    struct prof_node *nodes;
    struct prof_sample *samples;
    size_t n_funcs, n_nodes, n_samples;
    size_t cap_funcs, cap_nodes, cap_samples;
    uint32_t *func_index, *node_index; /* open addressing, PROF_NONE when empty */
    size_t func_index_cap, node_index_cap;
    int n_scripts;
    uint64_t start_us, end_us;
    unsigned interval_us;
    uint64_t truncated, dropped; /* stacks cut at PROF_DEPTH_MAX; ticks lost (ring full) */
    uint64_t cost_ns;            /* time spent reading stacks in the hook */
    int oom;                     /* an allocation failed: the profile is incomplete */
};

/* The frames every profile may hold, named as V8 names them. */
#define PROF_ROOT "(root)"
#define PROF_IDLE "(idle)"
#define PROF_PROGRAM "(program)"
#define PROF_GC "(garbage collector)"
#define PROF_TRUNCATED "(truncated)"

/* 0, or -1 when out of memory. The root node (id 0) exists from the start. */
int prof_profile_init(struct prof_profile *p, unsigned interval_us);
void prof_profile_free(struct prof_profile *p);
/* The id of a function, interned by (name, url, line). PROF_NONE when out of memory. */
uint32_t prof_func(struct prof_profile *p, const char *name, const char *url, int line);
/* The id of parent's child for func, made on first use. PROF_NONE when out of memory. */
uint32_t prof_child(struct prof_profile *p, uint32_t parent, uint32_t func);
/* One sample of the stack funcs[0] (outermost) .. funcs[n-1] (leaf). 0, or -1 (oom). */
int prof_sample_stack(struct prof_profile *p, uint64_t t_us, const uint32_t *funcs, size_t n, int leaf_line);
/* Orders samples by time (they arrive almost in order) and fixes start and end. */
void prof_finish(struct prof_profile *p, uint64_t start_us, uint64_t end_us);

/* Writers (write.c): the sink receives the text in pieces; a non-zero return stops. */
typedef int (*prof_sink_fn)(void *ud, const char *s, size_t n);
/* Chrome DevTools .cpuprofile JSON. 0, -1 (out of memory) or the sink's error. */
int prof_write_cpuprofile(const struct prof_profile *p, prof_sink_fn sink, void *ud);
/* "frame;frame;frame count" lines, for flame-graph tools. */
int prof_write_folded(const struct prof_profile *p, prof_sink_fn sink, void *ud);

/* The sampler (sampler.c), on the loop thread. */
int prof_start(struct lua_State *L, unsigned interval_us, char *err, size_t errlen);
int prof_running(void);
/* Stops and hands over the profile (the caller frees it with prof_profile_free + free);
 * L is the thread calling, whose stack resolves a last pending sample. NULL when none runs. */
struct prof_profile *prof_stop(struct lua_State *L);

/* Lua: pushes the lab.profiler table (lprof.c). */
int prof_open_lua(struct lua_State *L);

/* `proflab analyze FILE.cpuprofile [--top N]` (analyze.c). Exit code. */
int prof_analyze_main(int argc, char **argv);
/* The report of a parsed file, written to out. 0, or -1 with a message in err. */
int prof_analyze_file(const char *path, int top, FILE *out, char *err, size_t errlen);
/* The same for a .cpuprofile already in memory; name is only for messages. */
int prof_analyze_text(const char *text, size_t len, const char *name, int top, FILE *out, char *err, size_t errlen);

#endif
