/* tree.c: stack interning. Functions and call-tree nodes are made once and found again by
 * hash, so a sample costs one lookup per frame and no allocation once the tree is warm. */
#include <stdlib.h>
#include <string.h>

#include "prof.h"

static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211u;
    return h;
}

static uint64_t func_hash(const char *name, const char *url, int line) {
    uint64_t h = 14695981039346656037u;
    h = mix(h, name, strlen(name) + 1);
    h = mix(h, url, strlen(url) + 1);
    return mix(h, &line, sizeof line);
}

static uint64_t node_hash(uint32_t parent, uint32_t func) {
    uint64_t k = ((uint64_t)parent << 32 | func) * 0x9e3779b97f4a7c15u;
    return k ^ (k >> 29);
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * size);
    if (q == NULL) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static uint32_t *new_index(size_t cap) {
    uint32_t *t = malloc(cap * sizeof *t);
    if (t != NULL) memset(t, 0xff, cap * sizeof *t);
    return t;
}

/* Rebuilds an index at twice its size once it is half full. */
static int func_rehash(struct prof_profile *p) {
    size_t cap = p->func_index_cap * 2;
    uint32_t *t = new_index(cap);
    if (t == NULL) return -1;
    for (uint32_t id = 0; id < p->n_funcs; id++) {
        const struct prof_func *f = &p->funcs[id];
        size_t i = func_hash(f->name, f->url, f->line) & (cap - 1);
        while (t[i] != PROF_NONE) i = (i + 1) & (cap - 1);
        t[i] = id;
    }
    free(p->func_index);
    p->func_index = t;
    p->func_index_cap = cap;
    return 0;
}

static int node_rehash(struct prof_profile *p) {
    size_t cap = p->node_index_cap * 2;
    uint32_t *t = new_index(cap);
    if (t == NULL) return -1;
    for (uint32_t id = 1; id < p->n_nodes; id++) {
        size_t i = node_hash(p->nodes[id].parent, p->nodes[id].func) & (cap - 1);
        while (t[i] != PROF_NONE) i = (i + 1) & (cap - 1);
        t[i] = id;
    }
    free(p->node_index);
    p->node_index = t;
    p->node_index_cap = cap;
    return 0;
}

int prof_profile_init(struct prof_profile *p, unsigned interval_us) {
    memset(p, 0, sizeof *p);
    p->interval_us = interval_us;
    p->func_index_cap = p->node_index_cap = 256;
    p->func_index = new_index(p->func_index_cap);
    p->node_index = new_index(p->node_index_cap);
    if (p->func_index == NULL || p->node_index == NULL) goto fail;
    uint32_t root = prof_func(p, PROF_ROOT, "", -1);
    if (root == PROF_NONE || grow((void **)&p->nodes, &p->cap_nodes, 1, sizeof *p->nodes) != 0) goto fail;
    p->nodes[0] = (struct prof_node){PROF_NONE, root};
    p->n_nodes = 1;
    return 0;
fail:
    prof_profile_free(p);
    return -1;
}

void prof_profile_free(struct prof_profile *p) {
    for (size_t i = 0; i < p->n_funcs; i++) {
        free(p->funcs[i].name);
        free(p->funcs[i].url);
    }
    free(p->funcs);
    free(p->nodes);
    free(p->samples);
    free(p->func_index);
    free(p->node_index);
    memset(p, 0, sizeof *p);
}

uint32_t prof_func(struct prof_profile *p, const char *name, const char *url, int line) {
    size_t mask = p->func_index_cap - 1, i = func_hash(name, url, line) & mask;
    for (; p->func_index[i] != PROF_NONE; i = (i + 1) & mask) {
        const struct prof_func *f = &p->funcs[p->func_index[i]];
        if (f->line == line && strcmp(f->name, name) == 0 && strcmp(f->url, url) == 0) return p->func_index[i];
    }
    if (grow((void **)&p->funcs, &p->cap_funcs, p->n_funcs + 1, sizeof *p->funcs) != 0) goto oom;
    struct prof_func *f = &p->funcs[p->n_funcs];
    f->name = strdup(name);
    f->url = strdup(url);
    if (f->name == NULL || f->url == NULL) {
        free(f->name);
        free(f->url);
        goto oom;
    }
    f->line = line;
    f->script = 0;
    if (url[0] != '\0') { /* scriptId: shared by every function of one file */
        for (size_t k = 0; k < p->n_funcs && f->script == 0; k++)
            if (strcmp(p->funcs[k].url, url) == 0) f->script = p->funcs[k].script;
        if (f->script == 0) f->script = ++p->n_scripts;
    }
    uint32_t id = (uint32_t)p->n_funcs++;
    p->func_index[i] = id;
    if (p->n_funcs * 2 > p->func_index_cap && func_rehash(p) != 0) goto oom;
    return id;
oom:
    p->oom = 1;
    return PROF_NONE;
}

uint32_t prof_child(struct prof_profile *p, uint32_t parent, uint32_t func) {
    size_t mask = p->node_index_cap - 1, i = node_hash(parent, func) & mask;
    for (; p->node_index[i] != PROF_NONE; i = (i + 1) & mask) {
        const struct prof_node *n = &p->nodes[p->node_index[i]];
        if (n->parent == parent && n->func == func) return p->node_index[i];
    }
    if (grow((void **)&p->nodes, &p->cap_nodes, p->n_nodes + 1, sizeof *p->nodes) != 0) goto oom;
    uint32_t id = (uint32_t)p->n_nodes++;
    p->nodes[id] = (struct prof_node){parent, func};
    p->node_index[i] = id;
    if (p->n_nodes * 2 > p->node_index_cap && node_rehash(p) != 0) goto oom;
    return id;
oom:
    p->oom = 1;
    return PROF_NONE;
}

int prof_sample_stack(struct prof_profile *p, uint64_t t_us, const uint32_t *funcs, size_t n, int leaf_line) {
    uint32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        node = prof_child(p, node, funcs[i]);
        if (node == PROF_NONE) return -1;
    }
    if (grow((void **)&p->samples, &p->cap_samples, p->n_samples + 1, sizeof *p->samples) != 0) {
        p->oom = 1;
        return -1;
    }
    p->samples[p->n_samples++] = (struct prof_sample){t_us, node, leaf_line > 0 ? leaf_line : 0};
    return 0;
}

void prof_finish(struct prof_profile *p, uint64_t start_us, uint64_t end_us) {
    /* insertion sort: stable, and linear on samples that are at most a few places out of order */
    for (size_t i = 1; i < p->n_samples; i++) {
        struct prof_sample s = p->samples[i];
        size_t j = i;
        for (; j > 0 && p->samples[j - 1].t_us > s.t_us; j--) p->samples[j] = p->samples[j - 1];
        p->samples[j] = s;
    }
    p->start_us = start_us;
    p->end_us = end_us;
    if (p->n_samples > 0 && p->samples[0].t_us < p->start_us) p->start_us = p->samples[0].t_us;
    if (p->n_samples > 0 && p->samples[p->n_samples - 1].t_us > p->end_us) p->end_us = p->samples[p->n_samples - 1].t_us;
}
