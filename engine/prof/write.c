/* write.c: a profile as Chrome DevTools .cpuprofile JSON and as folded stacks. The text is
 * built in a small buffer handed to the sink piece by piece, so a long profile is never
 * held twice in memory. */
#include <stdlib.h>
#include <string.h>

#include "../json/json.h"
#include "prof.h"

#define FLUSH_AT 65536

struct out {
    struct jbuf b;
    prof_sink_fn sink;
    void *ud;
    int err;
};

static void flush(struct out *o, int force) {
    if (o->err == 0 && o->b.oom) o->err = -1;
    if (o->err != 0 || (!force && o->b.len < FLUSH_AT) || o->b.len == 0) return;
    o->err = o->sink(o->ud, o->b.p, o->b.len);
    o->b.len = 0;
}

static int done(struct out *o) {
    flush(o, 1);
    jbuf_free(&o->b);
    return o->err;
}

struct tick {
    uint32_t node;
    int32_t line;
};

static int by_node_line(const void *a, const void *b) {
    const struct tick *x = a, *y = b;
    if (x->node != y->node) return x->node < y->node ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static void put_frame(struct jbuf *b, const struct prof_func *f) {
    jbuf_puts(b, "{\"functionName\":");
    json_string(b, f->name, strlen(f->name));
    jbuf_printf(b, ",\"scriptId\":\"%d\",\"url\":", f->script);
    json_string(b, f->url, strlen(f->url));
    jbuf_printf(b, ",\"lineNumber\":%d,\"columnNumber\":%d}", f->line, f->line >= 0 ? 0 : -1);
}

int prof_write_cpuprofile(const struct prof_profile *p, prof_sink_fn sink, void *ud) {
    struct out o = {.sink = sink, .ud = ud};
    jbuf_init(&o.b);
    size_t n = p->n_nodes, ns = p->n_samples, nt = 0;
    uint32_t *hits = calloc(n, sizeof *hits), *first = calloc(n + 1, sizeof *first), *kids = malloc(n * sizeof *kids);
    size_t *tick_at = calloc(n + 1, sizeof *tick_at);
    struct tick *ticks = malloc((ns ? ns : 1) * sizeof *ticks);
    if (hits == NULL || first == NULL || kids == NULL || tick_at == NULL || ticks == NULL) {
        o.err = -1;
        goto out;
    }
    for (size_t i = 0; i < ns; i++) {
        hits[p->samples[i].node]++;
        if (p->samples[i].line > 0) ticks[nt++] = (struct tick){p->samples[i].node, p->samples[i].line};
    }
    qsort(ticks, nt, sizeof *ticks, by_node_line);
    for (size_t i = 0, k = 0; i < n; i++) { /* tick_at[i]..tick_at[i+1]: node i's ticks */
        tick_at[i] = k;
        while (k < nt && ticks[k].node == i) k++;
        tick_at[i + 1] = k;
    }
    /* children: a parent's id is always below its children's (counting sort by parent) */
    for (size_t i = 1; i < n; i++) first[p->nodes[i].parent + 1]++;
    for (size_t i = 0; i < n; i++) first[i + 1] += first[i];
    {
        size_t *pos = malloc(n * sizeof *pos);
        if (pos == NULL) {
            o.err = -1;
            goto out;
        }
        for (size_t i = 0; i < n; i++) pos[i] = first[i];
        for (size_t i = 1; i < n; i++) kids[pos[p->nodes[i].parent]++] = (uint32_t)i;
        free(pos);
    }

    jbuf_puts(&o.b, "{\"nodes\":[");
    for (size_t i = 0; i < n && o.err == 0; i++) {
        jbuf_printf(&o.b, "%s{\"id\":%zu,\"callFrame\":", i ? "," : "", i + 1);
        put_frame(&o.b, &p->funcs[p->nodes[i].func]);
        jbuf_printf(&o.b, ",\"hitCount\":%u", hits[i]);
        if (first[i + 1] > first[i]) {
            jbuf_puts(&o.b, ",\"children\":[");
            for (uint32_t k = first[i]; k < first[i + 1]; k++) jbuf_printf(&o.b, "%s%u", k > first[i] ? "," : "", kids[k] + 1);
            jbuf_puts(&o.b, "]");
        }
        if (tick_at[i + 1] > tick_at[i]) {
            jbuf_puts(&o.b, ",\"positionTicks\":[");
            for (size_t k = tick_at[i]; k < tick_at[i + 1];) {
                size_t e = k;
                while (e < tick_at[i + 1] && ticks[e].line == ticks[k].line) e++;
                jbuf_printf(&o.b, "%s{\"line\":%d,\"ticks\":%zu}", k > tick_at[i] ? "," : "", ticks[k].line, e - k);
                k = e;
            }
            jbuf_puts(&o.b, "]");
        }
        jbuf_puts(&o.b, "}");
        flush(&o, 0);
    }
    jbuf_printf(&o.b, "],\"startTime\":%llu,\"endTime\":%llu,\"samples\":[", (unsigned long long)p->start_us,
                (unsigned long long)p->end_us);
    for (size_t i = 0; i < ns && o.err == 0; i++) {
        jbuf_printf(&o.b, "%s%u", i ? "," : "", p->samples[i].node + 1);
        flush(&o, 0);
    }
    jbuf_puts(&o.b, "],\"timeDeltas\":[");
    uint64_t prev = p->start_us;
    for (size_t i = 0; i < ns && o.err == 0; i++) {
        uint64_t t = p->samples[i].t_us;
        jbuf_printf(&o.b, "%s%llu", i ? "," : "", (unsigned long long)(t > prev ? t - prev : 0));
        if (t > prev) prev = t;
        flush(&o, 0);
    }
    jbuf_puts(&o.b, "]}");
out:
    free(hits);
    free(first);
    free(kids);
    free(tick_at);
    free(ticks);
    return done(&o);
}

/* One frame of a folded line: the name, and where it is defined for Lua functions.
 * ';' separates frames and the last space the count, so ';' is replaced. */
static void put_folded_frame(struct jbuf *b, const struct prof_func *f) {
    size_t start = b->len;
    jbuf_puts(b, f->name);
    if (f->url[0] != '\0') {
        const char *base = strrchr(f->url, '/');
        jbuf_printf(b, " (%s:%d)", base ? base + 1 : f->url, f->line + 1);
    }
    for (size_t i = start; !b->oom && i < b->len; i++)
        if (b->p[i] == ';' || b->p[i] == '\n') b->p[i] = ':';
}

static void put_path(struct jbuf *b, const struct prof_profile *p, uint32_t node) {
    if (p->nodes[node].parent != 0 && p->nodes[node].parent != PROF_NONE) {
        put_path(b, p, p->nodes[node].parent);
        jbuf_puts(b, ";");
    }
    put_folded_frame(b, &p->funcs[p->nodes[node].func]);
}

int prof_write_folded(const struct prof_profile *p, prof_sink_fn sink, void *ud) {
    struct out o = {.sink = sink, .ud = ud};
    jbuf_init(&o.b);
    uint32_t *hits = calloc(p->n_nodes ? p->n_nodes : 1, sizeof *hits);
    if (hits == NULL) {
        o.err = -1;
        return done(&o);
    }
    for (size_t i = 0; i < p->n_samples; i++) hits[p->samples[i].node]++;
    for (uint32_t i = 0; i < p->n_nodes && o.err == 0; i++) {
        if (hits[i] == 0) continue;
        if (i == 0) jbuf_puts(&o.b, PROF_ROOT);
        else put_path(&o.b, p, i);
        jbuf_printf(&o.b, " %u\n", hits[i]);
        flush(&o, 0);
    }
    free(hits);
    return done(&o);
}
