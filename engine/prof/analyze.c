/* analyze.c: `proflab analyze FILE.cpuprofile [--top N]`, a terminal report of the functions
 * with the most self and total time. Reads any .cpuprofile (proflab's, node --cpu-prof's,
 * DevTools'): samples when present, else the nodes' hitCount. jansson parses; it must not
 * meet engine/json's header, whose json_string and json_integer have the same names. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "prof.h"

struct anode {
    long long id;
    const char *name, *url;
    long long line;
    size_t parent;   /* index, SIZE_MAX for a root */
    size_t func;     /* index into the function table */
    json_t *ticks;   /* positionTicks, or NULL */
    double self;     /* samples */
};

struct afunc {
    const char *name, *url;
    long long line;
    double self, total;
    size_t last;     /* the last sample counted in total: recursion counts once */
    long long hot_line;
    double hot_ticks;
};

struct report {
    struct anode *nodes;
    size_t n;
    struct afunc *funcs;
    size_t nf;
    double samples;
    double duration_ms;
};

static int by_id(const void *a, const void *b) {
    long long x = ((const struct anode *)a)->id, y = ((const struct anode *)b)->id;
    return (x > y) - (x < y);
}

static size_t find(const struct report *r, long long id) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->nodes[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->n && r->nodes[lo].id == id ? lo : SIZE_MAX;
}

static const struct report *sort_ctx;
static int by_key(const void *a, const void *b) {
    const struct anode *x = &sort_ctx->nodes[*(const size_t *)a], *y = &sort_ctx->nodes[*(const size_t *)b];
    int c = strcmp(x->name, y->name);
    if (c == 0) c = strcmp(x->url, y->url);
    if (c == 0) c = (x->line > y->line) - (x->line < y->line);
    return c;
}

/* Every node must lead up to a root: one parent each, so a walk up either ends at a root or
 * comes back on itself. Each node is walked once (0 unseen, 1 on the current walk, 2 done). */
static int has_cycle(const struct report *r) {
    unsigned char *state = calloc(r->n, 1);
    size_t *walk = malloc(r->n * sizeof *walk);
    int cycle = state == NULL || walk == NULL;
    for (size_t i = 0; i < r->n && !cycle; i++) {
        size_t len = 0, k = i;
        while (k != SIZE_MAX && state[k] == 0) state[k] = 1, walk[len++] = k, k = r->nodes[k].parent;
        if (k != SIZE_MAX && state[k] == 1) cycle = 1;
        while (len > 0) state[walk[--len]] = 2;
    }
    free(state);
    free(walk);
    return cycle;
}

static int fail(char *err, size_t errlen, const char *what) {
    snprintf(err, errlen, "not a .cpuprofile: %s", what);
    return -1;
}

static int load(struct report *r, json_t *root, char *err, size_t errlen) {
    json_t *nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) == 0) return fail(err, errlen, "no \"nodes\" array");
    r->n = json_array_size(nodes);
    r->nodes = calloc(r->n, sizeof *r->nodes);
    if (r->nodes == NULL) return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < r->n; i++) {
        json_t *n = json_array_get(nodes, i), *cf = json_object_get(n, "callFrame");
        json_t *id = json_object_get(n, "id"), *fn = json_object_get(cf, "functionName");
        json_t *url = json_object_get(cf, "url"), *line = json_object_get(cf, "lineNumber");
        if (!json_is_integer(id) || !json_is_string(fn) || !json_is_string(url) || !json_is_integer(line))
            return fail(err, errlen, "a node lacks id, callFrame.functionName, url or lineNumber");
        struct anode *a = &r->nodes[i];
        a->id = json_integer_value(id);
        a->name = json_string_value(fn)[0] ? json_string_value(fn) : "(anonymous)";
        a->url = json_string_value(url);
        a->line = json_integer_value(line);
        a->parent = SIZE_MAX;
        json_t *ticks = json_object_get(n, "positionTicks");
        a->ticks = json_is_array(ticks) ? ticks : NULL;
        json_t *hc = json_object_get(n, "hitCount");
        a->self = json_is_integer(hc) ? (double)json_integer_value(hc) : 0;
    }
    /* children refer to ids: sort by id, keeping each node's JSON for its children */
    json_t **json_of = malloc(r->n * sizeof *json_of);
    if (json_of == NULL) return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < r->n; i++) r->nodes[i].parent = i; /* remember the JSON index */
    qsort(r->nodes, r->n, sizeof *r->nodes, by_id);
    for (size_t i = 0; i < r->n; i++) {
        json_of[i] = json_array_get(nodes, r->nodes[i].parent);
        r->nodes[i].parent = SIZE_MAX;
        if (i > 0 && r->nodes[i].id == r->nodes[i - 1].id) {
            free(json_of);
            return fail(err, errlen, "two nodes share an id");
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        json_t *kids = json_object_get(json_of[i], "children"), *k;
        size_t j;
        json_array_foreach(kids, j, k) {
            size_t c = json_is_integer(k) ? find(r, json_integer_value(k)) : SIZE_MAX;
            if (c == SIZE_MAX || r->nodes[c].parent != SIZE_MAX || c == i) {
                free(json_of);
                return fail(err, errlen, "a child id is unknown or has two parents");
            }
            r->nodes[c].parent = i;
        }
    }
    free(json_of);
    if (has_cycle(r)) return fail(err, errlen, "the children form a cycle");

    json_t *samples = json_object_get(root, "samples"), *deltas = json_object_get(root, "timeDeltas");
    json_t *start = json_object_get(root, "startTime"), *end = json_object_get(root, "endTime");
    if (json_is_integer(start) && json_is_integer(end))
        r->duration_ms = (double)(json_integer_value(end) - json_integer_value(start)) / 1000.0;
    size_t ns = json_is_array(samples) ? json_array_size(samples) : 0;
    if (ns > 0) {
        for (size_t i = 0; i < r->n; i++) r->nodes[i].self = 0;
        for (size_t i = 0; i < ns; i++) {
            json_t *s = json_array_get(samples, i);
            size_t k = json_is_integer(s) ? find(r, json_integer_value(s)) : SIZE_MAX;
            if (k == SIZE_MAX) return fail(err, errlen, "a sample names no node");
            r->nodes[k].self++;
        }
        if (json_is_array(deltas) && json_array_size(deltas) != ns) return fail(err, errlen, "samples and timeDeltas differ in length");
    }
    for (size_t i = 0; i < r->n; i++) r->samples += r->nodes[i].self;

    /* functions: nodes grouped by (name, url, line) */
    size_t *order = malloc(r->n * sizeof *order);
    r->funcs = calloc(r->n, sizeof *r->funcs);
    if (order == NULL || r->funcs == NULL) {
        free(order);
        return fail(err, errlen, "out of memory");
    }
    for (size_t i = 0; i < r->n; i++) order[i] = i;
    sort_ctx = r;
    qsort(order, r->n, sizeof *order, by_key);
    for (size_t i = 0; i < r->n; i++) {
        struct anode *a = &r->nodes[order[i]];
        if (i == 0 || by_key(&order[i - 1], &order[i]) != 0)
            r->funcs[r->nf++] = (struct afunc){a->name, a->url, a->line, 0, 0, SIZE_MAX, 0, 0};
        a->func = r->nf - 1;
    }
    free(order);
    return 0;
}

struct lt {
    size_t func;
    long long line;
    double ticks;
};

static int by_func_line(const void *a, const void *b) {
    const struct lt *x = a, *y = b;
    if (x->func != y->func) return (x->func > y->func) - (x->func < y->func);
    return (x->line > y->line) - (x->line < y->line);
}

/* self and total per function, and each function's hottest line from positionTicks */
static void tally(struct report *r) {
    for (size_t i = 0; i < r->n; i++) {
        struct anode *a = &r->nodes[i];
        struct afunc *f = &r->funcs[a->func];
        f->self += a->self;
        if (a->self > 0) /* every hit of a node counts once per function on its path */
            for (size_t k = i; k != SIZE_MAX; k = r->nodes[k].parent) {
                struct afunc *g = &r->funcs[r->nodes[k].func];
                if (g->last == i) continue;
                g->last = i;
                g->total += a->self;
            }
    }
    /* positionTicks: (function, line, ticks) over every node, summed per line of a function */
    size_t nt = 0, k = 0;
    for (size_t i = 0; i < r->n; i++) nt += r->nodes[i].ticks ? json_array_size(r->nodes[i].ticks) : 0;
    struct lt *lts = malloc((nt ? nt : 1) * sizeof *lts);
    if (lts == NULL) return;
    for (size_t i = 0; i < r->n; i++) {
        size_t j;
        json_t *t;
        if (r->nodes[i].ticks == NULL) continue;
        json_array_foreach(r->nodes[i].ticks, j, t) lts[k++] = (struct lt){r->nodes[i].func, json_integer_value(json_object_get(t, "line")),
                                                                          (double)json_integer_value(json_object_get(t, "ticks"))};
    }
    qsort(lts, nt, sizeof *lts, by_func_line);
    for (size_t i = 0; i < nt;) {
        size_t e = i;
        double sum = 0;
        while (e < nt && lts[e].func == lts[i].func && lts[e].line == lts[i].line) sum += lts[e++].ticks;
        struct afunc *f = &r->funcs[lts[i].func];
        if (sum > f->hot_ticks) f->hot_ticks = sum, f->hot_line = lts[i].line;
        i = e;
    }
    free(lts);
}

static const char *location(const struct afunc *f, char *out, size_t outlen) {
    if (f->url[0] == '\0') return f->name[0] == '(' ? "" : "[native]";
    const char *u = strncmp(f->url, "file://", 7) == 0 ? f->url + 7 : f->url;
    size_t o = 0;
    for (; *u && o + 1 < outlen; u++) { /* percent-decoding, for display */
        unsigned v;
        if (u[0] == '%' && u[1] && u[2] && sscanf(u + 1, "%2x", &v) == 1) out[o++] = (char)v, u += 2;
        else out[o++] = *u;
    }
    snprintf(out + o, outlen - o, ":%lld", f->line + 1);
    return out;
}

static int by_self(const void *a, const void *b) {
    const struct afunc *x = *(struct afunc *const *)a, *y = *(struct afunc *const *)b;
    return (y->self > x->self) - (y->self < x->self);
}
static int by_total(const void *a, const void *b) {
    const struct afunc *x = *(struct afunc *const *)a, *y = *(struct afunc *const *)b;
    if (y->total != x->total) return (y->total > x->total) - (y->total < x->total);
    return (y->self > x->self) - (y->self < x->self);
}

static void table(FILE *out, struct report *r, struct afunc **fs, int top, int total_first) {
    double ms_per = r->samples > 0 && r->duration_ms > 0 ? r->duration_ms / r->samples : 0;
    fprintf(out, "  %7s %10s %7s %10s  %-40s %s\n", "self", "self ms", "total", "total ms", "function", "location");
    for (size_t i = 0, shown = 0; shown < (size_t)top && i < r->nf; i++) {
        struct afunc *f = fs[i];
        if ((total_first ? f->total : f->self) <= 0) break;
        if (strcmp(f->name, PROF_ROOT) == 0) continue; /* the whole profile, by definition */
        shown++;
        char loc[4200], hot[64] = "";
        if (f->hot_ticks > 0 && f->self > 0)
            snprintf(hot, sizeof hot, "  (line %lld: %.1f%% of self)", f->hot_line, 100.0 * f->hot_ticks / f->self);
        fprintf(out, "  %6.1f%% %10.1f %6.1f%% %10.1f  %-40s %s%s\n", 100.0 * f->self / r->samples, f->self * ms_per,
                100.0 * f->total / r->samples, f->total * ms_per, f->name, location(f, loc, sizeof loc), hot);
    }
}

static int analyze_root(json_t *root, const char *path, int top, FILE *out, char *err, size_t errlen);

int prof_analyze_file(const char *path, int top, FILE *out, char *err, size_t errlen) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (root == NULL) {
        snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
        return -1;
    }
    return analyze_root(root, path, top, out, err, errlen);
}

int prof_analyze_text(const char *text, size_t len, const char *name, int top, FILE *out, char *err, size_t errlen) {
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (root == NULL) {
        snprintf(err, errlen, "%s: %s (line %d)", name, je.text, je.line);
        return -1;
    }
    return analyze_root(root, name, top, out, err, errlen);
}

/* Takes root. */
static int analyze_root(json_t *root, const char *path, int top, FILE *out, char *err, size_t errlen) {
    struct report r = {0};
    int rc = load(&r, root, err, errlen);
    if (rc == 0 && r.samples <= 0) rc = fail(err, errlen, "no samples");
    if (rc == 0) {
        tally(&r);
        struct afunc **fs = malloc(r.nf * sizeof *fs);
        if (fs == NULL) {
            rc = fail(err, errlen, "out of memory");
        } else {
            for (size_t i = 0; i < r.nf; i++) fs[i] = &r.funcs[i];
            double idle = 0, program = 0, gc = 0;
            for (size_t i = 0; i < r.nf; i++) {
                if (strcmp(r.funcs[i].name, PROF_IDLE) == 0) idle += r.funcs[i].self;
                if (strcmp(r.funcs[i].name, PROF_PROGRAM) == 0) program += r.funcs[i].self;
                if (strcmp(r.funcs[i].name, PROF_GC) == 0) gc += r.funcs[i].total;
            }
            fprintf(out, "%s\n  %.0f samples over %.3f s (%.3f ms apart on average), %zu nodes, %zu functions\n", path,
                    r.samples, r.duration_ms / 1000.0, r.samples > 0 ? r.duration_ms / r.samples : 0.0, r.n, r.nf);
            fprintf(out, "  idle %.1f%%, program %.1f%%, garbage collector %.1f%%\n\n", 100.0 * idle / r.samples,
                    100.0 * program / r.samples, 100.0 * gc / r.samples);
            fprintf(out, "Top %d by self time\n", top);
            qsort(fs, r.nf, sizeof *fs, by_self);
            table(out, &r, fs, top, 0);
            fprintf(out, "\nTop %d by total time\n", top);
            qsort(fs, r.nf, sizeof *fs, by_total);
            table(out, &r, fs, top, 1);
            free(fs);
        }
    }
    free(r.nodes);
    free(r.funcs);
    json_decref(root);
    return rc;
}

static const char usage[] = "usage: proflab analyze FILE.cpuprofile [--top N]\n"
                            "  a report of the functions with the most self and total time (N: 1..1000, default 15)\n";

int prof_analyze_main(int argc, char **argv) {
    const char *file = NULL;
    int top = 15;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--top") == 0) {
            char *end;
            errno = 0;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || errno != 0 || *end != '\0' || end == argv[i + 1] || v < 1 || v > 1000) {
                fprintf(stderr, "proflab analyze: --top takes an integer from 1 to 1000\n%s", usage);
                return 2;
            }
            top = (int)v;
            i++;
        } else if (file == NULL && argv[i][0] != '-') {
            file = argv[i];
        } else {
            fprintf(stderr, "proflab analyze: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (file == NULL) {
        fprintf(stderr, "proflab analyze: no file given\n%s", usage);
        return 2;
    }
    char err[512];
    if (prof_analyze_file(file, top, stdout, err, sizeof err) != 0) {
        fprintf(stderr, "proflab analyze: %s\n", err);
        return 1;
    }
    return 0;
}
