/* analyze.c: proflab analyze FILE.heapsnapshot and proflab diff A B, the terminal reports.
 * Dominators by Cooper, Harvey and Kennedy's iterative algorithm over the file's graph,
 * weak edges left out (as DevTools and memlab do); retainer paths are shortest paths from
 * the root found breadth-first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

#define NONE UINT32_MAX
#define F(s, i, f) ((s)->nodes[(size_t)(i) * (s)->nf + (size_t)(f)])
#define EF(s, e, f) ((s)->edges[(size_t)(e) * (s)->ef + (size_t)(f)])

struct graph {
    struct hsnap s;
    uint32_t *parent;   /* on the shortest path from the root */
    size_t *via;        /* the edge from parent */
    uint32_t *bfs;      /* reached nodes in breadth-first order */
    size_t n_bfs;
    uint32_t *idom;
    uint64_t *retained;
};

static int strong(const struct hsnap *s, size_t e) { return (int)EF(s, e, s->e_type) != s->et_weak; }

static uint32_t to_node(const struct hsnap *s, size_t e) { return (uint32_t)(EF(s, e, s->e_to) / s->nf); }

static int shortest_paths(struct graph *g) {
    struct hsnap *s = &g->s;
    g->parent = malloc(s->nn * sizeof *g->parent);
    g->via = malloc(s->nn * sizeof *g->via);
    g->bfs = malloc(s->nn * sizeof *g->bfs);
    if (!g->parent || !g->via || !g->bfs) return -1;
    memset(g->parent, 0xff, s->nn * sizeof *g->parent);
    g->parent[0] = 0;
    g->bfs[0] = 0;
    size_t head = 0, tail = 1;
    while (head < tail) {
        uint32_t n = g->bfs[head++];
        for (size_t e = s->first_edge[n]; e < s->first_edge[n + 1]; e++) {
            if (!strong(s, e)) continue;
            uint32_t t = to_node(s, e);
            if (g->parent[t] != NONE) continue;
            g->parent[t] = n;
            g->via[t] = e;
            g->bfs[tail++] = t;
        }
    }
    g->n_bfs = tail;
    return 0;
}

static uint32_t intersect(const uint32_t *idom, const uint32_t *po, uint32_t a, uint32_t b) {
    while (a != b) {
        while (po[a] < po[b]) a = idom[a];
        while (po[b] < po[a]) b = idom[b];
    }
    return a;
}

static int dominators(struct graph *g) {
    struct hsnap *s = &g->s;
    size_t nn = s->nn;
    uint32_t *po = malloc(nn * sizeof *po), *order = malloc(nn * sizeof *order);
    uint32_t *stack = malloc(nn * sizeof *stack);
    size_t *next = malloc(nn * sizeof *next), *pfirst = calloc(nn + 1, sizeof *pfirst);
    g->idom = malloc(nn * sizeof *g->idom);
    g->retained = malloc(nn * sizeof *g->retained);
    uint32_t *preds = NULL;
    int rc = -1;
    if (!po || !order || !stack || !next || !pfirst || !g->idom || !g->retained) goto out;
    memset(po, 0xff, nn * sizeof *po);
    /* depth-first postorder from the root */
    size_t sp = 0, npo = 0;
    stack[sp++] = 0;
    next[0] = s->first_edge[0];
    po[0] = NONE - 1; /* on the stack */
    while (sp > 0) {
        uint32_t n = stack[sp - 1];
        if (next[n] < s->first_edge[n + 1]) {
            size_t e = next[n]++;
            if (!strong(s, e)) continue;
            uint32_t t = to_node(s, e);
            if (po[t] != NONE) continue;
            po[t] = NONE - 1;
            next[t] = s->first_edge[t];
            stack[sp++] = t;
        } else {
            sp--;
            po[n] = (uint32_t)npo;
            order[npo++] = n;
        }
    }
    /* predecessors among reached nodes */
    for (uint32_t n = 0; n < nn; n++) {
        if (po[n] == NONE) continue;
        for (size_t e = s->first_edge[n]; e < s->first_edge[n + 1]; e++)
            if (strong(s, e)) pfirst[to_node(s, e) + 1]++;
    }
    for (size_t i = 0; i < nn; i++) pfirst[i + 1] += pfirst[i];
    preds = malloc((pfirst[nn] + 1) * sizeof *preds);
    if (preds == NULL) goto out;
    memcpy(next, pfirst, nn * sizeof *next);
    for (uint32_t n = 0; n < nn; n++) {
        if (po[n] == NONE) continue;
        for (size_t e = s->first_edge[n]; e < s->first_edge[n + 1]; e++)
            if (strong(s, e)) preds[next[to_node(s, e)]++] = n;
    }
    for (size_t i = 0; i < nn; i++) g->idom[i] = NONE;
    g->idom[0] = 0;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t k = npo; k-- > 0;) {
            uint32_t b = order[k];
            if (b == 0) continue;
            uint32_t nd = NONE;
            for (size_t p = pfirst[b]; p < pfirst[b + 1]; p++) {
                uint32_t q = preds[p];
                if (g->idom[q] == NONE) continue;
                nd = nd == NONE ? q : intersect(g->idom, po, q, nd);
            }
            if (nd != g->idom[b]) {
                g->idom[b] = nd;
                changed = 1;
            }
        }
    }
    for (size_t i = 0; i < nn; i++) g->retained[i] = F(s, i, s->f_size);
    for (size_t k = 0; k < npo; k++) {
        uint32_t n = order[k];
        if (n != 0 && g->idom[n] != NONE) g->retained[g->idom[n]] += g->retained[n];
    }
    rc = 0;
out:
    free(po);
    free(order);
    free(stack);
    free(next);
    free(pfirst);
    free(preds);
    return rc;
}

static void graph_free(struct graph *g) {
    heap_snap_free(&g->s);
    free(g->parent);
    free(g->via);
    free(g->bfs);
    free(g->idom);
    free(g->retained);
    memset(g, 0, sizeof *g);
}

static int graph_load(struct graph *g, const char *path) {
    char err[256];
    memset(g, 0, sizeof *g);
    if (heap_snap_load(&g->s, path, err, sizeof err) != 0) {
        fprintf(stderr, "proflab: %s: %s\n", path, err);
        return -1;
    }
    if (shortest_paths(g) != 0 || dominators(g) != 0) {
        fprintf(stderr, "proflab: %s: out of memory\n", path);
        graph_free(g);
        return -1;
    }
    return 0;
}

/* What DevTools' Summary groups a node under. */
static const char *class_of(const struct hsnap *s, uint32_t n) {
    int t = (int)F(s, n, s->f_type);
    if (t == s->t_string || (t < s->n_node_types && strstr(s->node_types[t], "string"))) return "(string)";
    if (t == s->t_hidden) return s->strings[F(s, n, s->f_name)][0] == '(' ? s->strings[F(s, n, s->f_name)] : "(system)";
    if (t == s->t_object || t == s->t_native || t == s->t_closure || t == s->t_synthetic) {
        const char *nm = s->strings[F(s, n, s->f_name)];
        return *nm ? nm : (t == s->t_synthetic ? "(root)" : "(anonymous)");
    }
    return s->node_types[t];
}

static const char *human(uint64_t b, char *buf, size_t len) {
    if (b >= 1024 * 1024) snprintf(buf, len, "%.1f MiB", (double)b / (1024.0 * 1024.0));
    else if (b >= 1024) snprintf(buf, len, "%.1f KiB", (double)b / 1024.0);
    else snprintf(buf, len, "%llu B", (unsigned long long)b);
    return buf;
}

static void edge_label(const struct hsnap *s, size_t e, char *buf, size_t len) {
    int t = (int)EF(s, e, s->e_type);
    uint64_t nm = EF(s, e, s->e_name);
    if (t == s->et_element || t == s->et_hidden) snprintf(buf, len, "[%llu]", (unsigned long long)nm);
    else snprintf(buf, len, "%.60s", nm < s->n_strings ? s->strings[nm] : "?");
}

/* The edge name that reaches n on its shortest path ("retainedBuffers"), or "". */
static void reached_as(const struct graph *g, uint32_t n, char *buf, size_t len) {
    buf[0] = '\0';
    if (n != 0 && g->parent[n] != NONE) edge_label(&g->s, g->via[n], buf, len);
}

static void print_path(const struct graph *g, uint32_t n) {
    const struct hsnap *s = &g->s;
    if (g->parent[n] == NONE) {
        printf("     (not reachable from the root)\n");
        return;
    }
    uint32_t chain[64];
    int k = 0, cut = 0;
    for (uint32_t x = n; x != 0; x = g->parent[x]) {
        if (k == 64) {
            cut = 1;
            break;
        }
        chain[k++] = x;
    }
    printf("     (root)%s", cut ? " ..." : "");
    while (k-- > 0) {
        char lab[80];
        edge_label(s, g->via[chain[k]], lab, sizeof lab);
        printf(" --%s--> %.60s", lab, class_of(s, chain[k]));
    }
    printf(" @%llu\n", (unsigned long long)F(s, n, s->f_id));
}

struct agg {
    const char *key;
    uint64_t bytes, count, extra;
    uint32_t node; /* a representative: the holder, for diff groups */
};

struct aggs {
    struct agg *v;
    size_t n, cap;
    struct hmap idx;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h | 1;
}

static struct agg *agg_get(struct aggs *a, const char *key, uint64_t hk) {
    uint32_t i;
    for (uint64_t k = hk;; k += 2) {
        if (!hmap_get(&a->idx, k, &i)) break;
        if (strcmp(a->v[i].key, key) == 0) return &a->v[i];
        hk = k + 2;
    }
    if (a->n == a->cap) {
        size_t c = a->cap ? a->cap * 2 : 256;
        struct agg *p = realloc(a->v, c * sizeof *p);
        if (p == NULL) return NULL;
        a->v = p;
        a->cap = c;
    }
    if (hmap_put(&a->idx, hk, (uint32_t)a->n) != 0) return NULL;
    struct agg *x = &a->v[a->n++];
    memset(x, 0, sizeof *x);
    x->key = key;
    x->node = NONE;
    return x;
}

/* The group of the objects held by node h. */
static struct agg *holder_agg(struct aggs *a, uint32_t h) {
    uint32_t i;
    if (hmap_get(&a->idx, (uint64_t)h + 1, &i)) return &a->v[i];
    if (a->n == a->cap) {
        size_t c = a->cap ? a->cap * 2 : 256;
        struct agg *p = realloc(a->v, c * sizeof *p);
        if (p == NULL) return NULL;
        a->v = p;
        a->cap = c;
    }
    if (hmap_put(&a->idx, (uint64_t)h + 1, (uint32_t)a->n) != 0) return NULL;
    struct agg *x = &a->v[a->n++];
    memset(x, 0, sizeof *x);
    x->key = "";
    x->node = h;
    return x;
}

static int by_bytes(const void *a, const void *b) {
    const struct agg *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : strcmp(x->key, y->key);
}

static const struct graph *sort_graph;
static int by_retained(const void *a, const void *b) {
    uint64_t x = sort_graph->retained[*(const uint32_t *)a], y = sort_graph->retained[*(const uint32_t *)b];
    return x < y ? 1 : x > y ? -1 : 0;
}
static int by_self(const void *a, const void *b) {
    const struct hsnap *s = &sort_graph->s;
    uint64_t x = F(s, *(const uint32_t *)a, s->f_size), y = F(s, *(const uint32_t *)b, s->f_size);
    return x < y ? 1 : x > y ? -1 : 0;
}

static int parse_top(int argc, char **argv, int nfiles, const char **files, int *top) {
    int k = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 10000) return -1;
            *top = (int)v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return -1;
        } else if (k < nfiles) {
            files[k++] = argv[i];
        } else {
            return -1;
        }
    }
    return k == nfiles ? 0 : -1;
}

int heap_analyze_main(int argc, char **argv) {
    const char *file;
    int top = 10;
    if (parse_top(argc, argv, 1, &file, &top) != 0) {
        fprintf(stderr, "usage: proflab analyze FILE.heapsnapshot [--top N]\n");
        return 2;
    }
    struct graph g;
    if (graph_load(&g, file) != 0) return 1;
    const struct hsnap *s = &g.s;
    uint64_t total = 0;
    struct aggs a = {0};
    uint32_t *all = malloc(s->nn * sizeof *all);
    if (all == NULL || hmap_init(&a.idx, 256) != 0) {
        fprintf(stderr, "proflab: out of memory\n");
        free(all);
        graph_free(&g);
        return 1;
    }
    size_t n_all = 0;
    for (uint32_t i = 0; i < s->nn; i++) {
        uint64_t sz = F(s, i, s->f_size);
        total += sz;
        const char *c = class_of(s, i);
        struct agg *x = agg_get(&a, c, hash_str(c));
        if (x == NULL) break;
        x->bytes += sz;
        x->count++;
        /* a class's retained size: its objects not held inside another of the same class */
        uint32_t d = g.idom[i];
        for (int hops = 0; d != NONE && d != 0 && strcmp(class_of(s, d), c) != 0 && hops < 256; hops++) d = g.idom[d];
        if (d == NONE || d == 0) x->extra += g.retained[i];
        if (i != 0) all[n_all++] = i;
    }
    char b1[32], b2[32];
    printf("%s\n  %zu nodes, %zu edges, %s in self sizes (%zu objects not reachable from the root)\n\n", file, s->nn,
           s->ne, human(total, b1, sizeof b1), s->nn - g.n_bfs);
    qsort(a.v, a.n, sizeof *a.v, by_bytes);
    printf("Summary by class (largest self size first)\n  %-50s %10s %12s %12s\n", "class", "count", "self size",
           "retained");
    for (size_t i = 0; i < a.n && i < (size_t)top * 2; i++)
        printf("  %-50.50s %10llu %12s %12s\n", a.v[i].key, (unsigned long long)a.v[i].count,
               human(a.v[i].bytes, b1, sizeof b1), human(a.v[i].extra, b2, sizeof b2));
    if (a.n > (size_t)top * 2) printf("  ... %zu more classes\n", a.n - (size_t)top * 2);
    sort_graph = &g;
    qsort(all, n_all, sizeof *all, by_retained);
    printf("\nLargest objects by retained size, with the shortest retainer path from the root\n");
    for (size_t i = 0; i < n_all && i < (size_t)top; i++) {
        uint32_t n = all[i];
        char as[80];
        reached_as(&g, n, as, sizeof as);
        printf("  %2zu. %s%s%s%s @%llu: retained %s, self %s\n", i + 1, class_of(s, n), *as ? " \"" : "", as,
               *as ? "\"" : "", (unsigned long long)F(s, n, s->f_id), human(g.retained[n], b1, sizeof b1),
               human(F(s, n, s->f_size), b2, sizeof b2));
        print_path(&g, n);
    }
    qsort(all, n_all, sizeof *all, by_self);
    printf("\nLargest objects by self size\n");
    for (size_t i = 0; i < n_all && i < (size_t)top; i++) {
        uint32_t n = all[i], d = g.idom[n];
        printf("  %2zu. %s @%llu: self %s, retained %s, dominated by %s @%llu\n", i + 1, class_of(s, n),
               (unsigned long long)F(s, n, s->f_id), human(F(s, n, s->f_size), b1, sizeof b1),
               human(g.retained[n], b2, sizeof b2), d == NONE ? "nothing" : class_of(s, d),
               d == NONE ? 0ULL : (unsigned long long)F(s, d, s->f_id));
        print_path(&g, n);
    }
    free(all);
    free(a.v);
    hmap_free(&a.idx);
    graph_free(&g);
    return 0;
}

int heap_diff_main(int argc, char **argv) {
    const char *files[2];
    int top = 10;
    if (parse_top(argc, argv, 2, files, &top) != 0) {
        fprintf(stderr, "usage: proflab diff BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]\n");
        return 2;
    }
    struct graph ga, gb;
    if (graph_load(&ga, files[0]) != 0) return 1;
    if (graph_load(&gb, files[1]) != 0) {
        graph_free(&ga);
        return 1;
    }
    const struct hsnap *sa = &ga.s, *sb = &gb.s;
    struct hmap old = {0};
    struct aggs classes = {0}, holders = {0};
    uint32_t *holder = malloc(sb->nn * sizeof *holder);
    uint32_t *in_a = malloc(sb->nn * sizeof *in_a);
    int rc = 1;
    if (!holder || !in_a || hmap_init(&old, sa->nn) != 0 || hmap_init(&classes.idx, 256) != 0 ||
        hmap_init(&holders.idx, 256) != 0) {
        fprintf(stderr, "proflab: out of memory\n");
        goto out;
    }
    for (uint32_t i = 0; i < sa->nn; i++)
        if (hmap_put(&old, F(sa, i, sa->f_id) + 1, i) != 0) goto oom;
    uint64_t added = 0, n_added = 0, removed = 0, n_removed = 0, kept = 0;
    for (uint32_t i = 0; i < sb->nn; i++) {
        if (!hmap_get(&old, F(sb, i, sb->f_id) + 1, &in_a[i])) in_a[i] = NONE;
        else kept++;
    }
    /* what the old object nearest on each new object's path holds */
    for (size_t k = 0; k < gb.n_bfs; k++) {
        uint32_t n = gb.bfs[k], p = gb.parent[n];
        holder[n] = n == 0 ? NONE : in_a[p] != NONE ? p : holder[p];
    }
    for (uint32_t i = 0; i < sb->nn; i++) {
        uint64_t sz = F(sb, i, sb->f_size), grown = 0;
        if (in_a[i] == NONE) {
            added += sz;
            n_added++;
            const char *c = class_of(sb, i);
            struct agg *x = agg_get(&classes, c, hash_str(c));
            if (x == NULL) goto oom;
            x->bytes += sz;
            x->count++;
        } else {
            uint64_t before = F(sa, in_a[i], sa->f_size);
            if (sz > before) grown = sz - before;
        }
        uint32_t h = in_a[i] == NONE ? (gb.parent[i] == NONE ? NONE : holder[i]) : i;
        if ((in_a[i] == NONE || grown > 0) && h != NONE) {
            struct agg *x = holder_agg(&holders, h);
            if (x == NULL) goto oom;
            x->bytes += in_a[i] == NONE ? sz : grown;
            x->count += in_a[i] == NONE;
            x->extra += grown;
        }
    }
    {
        struct hmap newids;
        if (hmap_init(&newids, sb->nn) != 0) goto oom;
        for (uint32_t i = 0; i < sb->nn; i++)
            if (hmap_put(&newids, F(sb, i, sb->f_id) + 1, i) != 0) {
                hmap_free(&newids);
                goto oom;
            }
        for (uint32_t i = 0; i < sa->nn; i++)
            if (!hmap_get(&newids, F(sa, i, sa->f_id) + 1, NULL)) {
                removed += F(sa, i, sa->f_size);
                n_removed++;
            }
        hmap_free(&newids);
    }
    char b1[32], b2[32];
    printf("Compared %s (%zu nodes)\n    with %s (%zu nodes)\n", files[0], sa->nn, files[1], sb->nn);
    printf("  %llu objects in both, %llu new (%s), %llu gone (%s)\n\n", (unsigned long long)kept,
           (unsigned long long)n_added, human(added, b1, sizeof b1), (unsigned long long)n_removed,
           human(removed, b2, sizeof b2));
    qsort(classes.v, classes.n, sizeof *classes.v, by_bytes);
    printf("New objects by class (largest first)\n  %-50s %10s %12s\n", "class", "count", "bytes");
    for (size_t i = 0; i < classes.n && i < (size_t)top; i++)
        printf("  %-50.50s %10llu %12s\n", classes.v[i].key, (unsigned long long)classes.v[i].count,
               human(classes.v[i].bytes, b1, sizeof b1));
    qsort(holders.v, holders.n, sizeof *holders.v, by_bytes);
    printf("\nWhere the new memory is held: the nearest object that existed before, largest gain first\n");
    for (size_t i = 0; i < holders.n && i < (size_t)top; i++) {
        const struct agg *x = &holders.v[i];
        char as[80];
        reached_as(&gb, x->node, as, sizeof as);
        printf("  %2zu. %s%s%s%s @%llu gained %s: %llu new objects", i + 1, class_of(sb, x->node), *as ? " \"" : "",
               as, *as ? "\"" : "", (unsigned long long)F(sb, x->node, sb->f_id), human(x->bytes, b1, sizeof b1),
               (unsigned long long)x->count);
        if (x->extra) printf(", and its own size grew by %s", human(x->extra, b2, sizeof b2));
        printf("\n");
        print_path(&gb, x->node);
    }
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "proflab: out of memory\n");
out:
    free(holder);
    free(in_a);
    hmap_free(&old);
    free(classes.v);
    hmap_free(&classes.idx);
    free(holders.v);
    hmap_free(&holders.idx);
    graph_free(&ga);
    graph_free(&gb);
    return rc;
}
