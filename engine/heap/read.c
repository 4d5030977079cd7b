/* read.c: loads a .heapsnapshot (any V8-style producer) and checks the format's invariants.
 * A streaming reader over the mapped file: nodes and edges go straight into typed arrays. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap.h"

struct rd {
    const char *p, *end;
    char *err;
    size_t errlen;
    int failed;
};

static void fail(struct rd *r, const char *what) {
    if (!r->failed) snprintf(r->err, r->errlen, "%s (%zu bytes before the end)", what, (size_t)(r->end - r->p));
    r->failed = 1;
    r->p = r->end;
}

static void ws(struct rd *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}

static int expect(struct rd *r, char c) {
    ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 1;
    }
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static unsigned read_hex4(struct rd *r) {
    if (r->end - r->p < 4) {
        fail(r, "truncated \\u escape");
        return 0;
    }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)r->p[i]);
        if (h < 0) {
            fail(r, "bad \\u escape");
            return 0;
        }
        v = v * 16 + (unsigned)h;
    }
    r->p += 4;
    return v;
}

/* A JSON string, decoded to UTF-8 into out (which must hold as many bytes as the source). */
static size_t string_(struct rd *r, char *out) {
    size_t n = 0;
    if (!expect(r, '"')) {
        fail(r, "string expected");
        return 0;
    }
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p++;
        if (c != '\\') {
            if (out) out[n] = (char)c;
            n++;
            continue;
        }
        if (r->p >= r->end) break;
        char e = *r->p++;
        unsigned cp;
        switch (e) {
        case 'n': cp = '\n'; break;
        case 't': cp = '\t'; break;
        case 'r': cp = '\r'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'u':
            cp = read_hex4(r);
            if (cp >= 0xd800 && cp <= 0xdbff && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
                r->p += 2;
                unsigned lo = read_hex4(r);
                if (lo >= 0xdc00 && lo <= 0xdfff) cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            break;
        default: cp = (unsigned char)e; break;
        }
        char b[4];
        size_t k;
        if (cp < 0x80) b[0] = (char)cp, k = 1;
        else if (cp < 0x800) b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 63)), k = 2;
        else if (cp < 0x10000)
            b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 63)), b[2] = (char)(0x80 | (cp & 63)), k = 3;
        else
            b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 63)),
            b[2] = (char)(0x80 | ((cp >> 6) & 63)), b[3] = (char)(0x80 | (cp & 63)), k = 4;
        if (out) memcpy(out + n, b, k);
        n += k;
    }
    if (r->p >= r->end) fail(r, "unterminated string");
    else r->p++;
    return n;
}

static void skip_value(struct rd *r, int depth) {
    ws(r);
    if (r->p >= r->end || depth > 64) {
        fail(r, "value expected");
        return;
    }
    char c = *r->p;
    if (c == '"') {
        string_(r, NULL);
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        r->p++;
        if (expect(r, close)) return;
        do {
            if (c == '{') {
                string_(r, NULL);
                if (!expect(r, ':')) fail(r, "':' expected");
            }
            skip_value(r, depth + 1);
        } while (expect(r, ','));
        if (!expect(r, close)) fail(r, "',' or end of container expected");
    } else {
        while (r->p < r->end && !strchr(",]}", *r->p) && *r->p != ' ' && *r->p != '\n') r->p++;
    }
}

/* An array of strings into a NULL-terminated list of malloc'ed strings. */
static char **string_list(struct rd *r, size_t *count) {
    size_t n = 0, cap = 8;
    char **v = malloc(cap * sizeof *v);
    if (v == NULL || !expect(r, '[')) {
        free(v);
        fail(r, "array of strings expected");
        return NULL;
    }
    if (!expect(r, ']')) {
        do {
            ws(r);
            const char *save = r->p;
            size_t len = string_(r, NULL);
            char *s = malloc(len + 1);
            if (s == NULL) break;
            r->p = save;
            string_(r, s);
            s[len] = '\0';
            if (n + 2 > cap) {
                char **g = realloc(v, (cap *= 2) * sizeof *g);
                if (g == NULL) {
                    free(s);
                    break;
                }
                v = g;
            }
            v[n++] = s;
        } while (expect(r, ','));
        if (!expect(r, ']')) fail(r, "']' expected");
    }
    v[n] = NULL;
    if (count) *count = n;
    return v;
}

static void free_list(char **v) {
    if (v == NULL) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

static int index_of(char **v, const char *s) {
    for (int i = 0; v && v[i]; i++)
        if (strcmp(v[i], s) == 0) return i;
    return -1;
}

static int count_of(char **v) {
    int n = 0;
    while (v[n]) n++;
    return n;
}

/* An object's key and its ':'. 1 with key filled; 0 for a key of cap bytes or more, whose value
 * is then skipped (the caller goes on to the next key); -1 after a failure. */
static int object_key(struct rd *r, char *key, size_t cap) {
    ws(r);
    const char *save = r->p;
    size_t kl = string_(r, NULL);
    if (kl < cap) {
        r->p = save;
        string_(r, key);
        key[kl] = '\0';
    }
    if (!expect(r, ':')) {
        fail(r, "':' expected");
        return -1;
    }
    if (kl >= cap) {
        skip_value(r, 0);
        return 0;
    }
    return 1;
}

/* "meta": the fields we need; other keys skipped. */
static void meta(struct rd *r, struct hsnap *s) {
    if (!expect(r, '{')) return fail(r, "meta object expected");
    if (expect(r, '}')) return;
    do {
        char key[64];
        int k = object_key(r, key, sizeof key);
        if (k < 0) return;
        if (k == 0) continue;
        if (strcmp(key, "node_fields") == 0 || strcmp(key, "edge_fields") == 0) {
            char ***dst = key[0] == 'n' ? &s->node_fields : &s->edge_fields;
            free_list(*dst);
            *dst = string_list(r, NULL);
        } else if (strcmp(key, "node_types") == 0 || strcmp(key, "edge_types") == 0) {
            char ***dst = key[0] == 'n' ? &s->node_types : &s->edge_types;
            free_list(*dst);
            *dst = NULL;
            if (!expect(r, '[')) return fail(r, "types array expected");
            ws(r);
            if (r->p < r->end && *r->p == '[') *dst = string_list(r, NULL);
            while (expect(r, ',')) skip_value(r, 0);
            if (!expect(r, ']')) return fail(r, "']' expected");
        } else {
            skip_value(r, 0);
        }
    } while (expect(r, ','));
    if (!expect(r, '}')) fail(r, "'}' expected");
}

static uint64_t number(struct rd *r) {
    ws(r);
    uint64_t v = 0;
    const char *start = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') v = v * 10 + (uint64_t)(*r->p++ - '0');
    if (r->p == start) fail(r, "unsigned integer expected");
    return v;
}

static void snapshot_obj(struct rd *r, struct hsnap *s) {
    if (!expect(r, '{')) return fail(r, "snapshot object expected");
    if (expect(r, '}')) return;
    do {
        char key[64];
        int k = object_key(r, key, sizeof key);
        if (k < 0) return;
        if (k == 0) continue;
        if (strcmp(key, "meta") == 0) meta(r, s);
        else if (strcmp(key, "node_count") == 0) s->meta_nodes = number(r);
        else if (strcmp(key, "edge_count") == 0) s->meta_edges = number(r);
        else skip_value(r, 0);
    } while (expect(r, ','));
    if (!expect(r, '}')) fail(r, "'}' expected");
}

/* An array of unsigned integers; *v grows as needed. */
static uint64_t *uint_array(struct rd *r, size_t *count, size_t hint) {
    size_t n = 0, cap = hint ? hint : 1024;
    uint64_t *v = malloc(cap * sizeof *v);
    if (v == NULL) {
        fail(r, "out of memory");
        return NULL;
    }
    if (!expect(r, '[')) {
        free(v);
        fail(r, "array expected");
        return NULL;
    }
    if (!expect(r, ']')) {
        do {
            if (n == cap) {
                uint64_t *g = realloc(v, (cap *= 2) * sizeof *g);
                if (g == NULL) {
                    fail(r, "out of memory");
                    break;
                }
                v = g;
            }
            v[n++] = number(r);
        } while (expect(r, ','));
        if (!expect(r, ']')) fail(r, "']' expected");
    }
    *count = n;
    return v;
}

static void strings_(struct rd *r, struct hsnap *s) {
    /* first pass: count and size; second: decode into one arena */
    const char *start = r->p;
    size_t n = 0, bytes = 0;
    if (!expect(r, '[')) return fail(r, "strings array expected");
    if (!expect(r, ']')) {
        do {
            bytes += string_(r, NULL) + 1;
            n++;
        } while (!r->failed && expect(r, ','));
        if (!expect(r, ']')) return fail(r, "']' expected");
    }
    const char *after = r->p;
    s->arena = malloc(bytes + 1);
    s->strings = malloc((n + 1) * sizeof *s->strings);
    s->string_len = malloc((n + 1) * sizeof *s->string_len);
    if (s->arena == NULL || s->strings == NULL || s->string_len == NULL) return fail(r, "out of memory");
    r->p = start;
    expect(r, '[');
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) expect(r, ',');
        size_t len = string_(r, s->arena + o);
        s->arena[o + len] = '\0';
        s->strings[i] = s->arena + o;
        s->string_len[i] = len;
        o += len + 1;
    }
    s->n_strings = n;
    r->p = after;
}

void heap_snap_free(struct hsnap *s) {
    free_list(s->node_fields);
    free_list(s->edge_fields);
    free_list(s->node_types);
    free_list(s->edge_types);
    free(s->nodes);
    free(s->edges);
    free(s->arena);
    free(s->strings);
    free(s->string_len);
    free(s->first_edge);
    memset(s, 0, sizeof *s);
}

/* Checks the invariants and fills the field offsets and first_edge. */
static int check(struct hsnap *s, char *err, size_t errlen) {
    if (!s->node_fields || !s->edge_fields || !s->node_types || !s->edge_types) {
        snprintf(err, errlen, "snapshot.meta lacks node_fields, edge_fields, node_types or edge_types");
        return -1;
    }
    s->nf = (size_t)count_of(s->node_fields);
    s->ef = (size_t)count_of(s->edge_fields);
    s->f_type = index_of(s->node_fields, "type");
    s->f_name = index_of(s->node_fields, "name");
    s->f_id = index_of(s->node_fields, "id");
    s->f_size = index_of(s->node_fields, "self_size");
    s->f_edges = index_of(s->node_fields, "edge_count");
    s->e_type = index_of(s->edge_fields, "type");
    s->e_name = index_of(s->edge_fields, "name_or_index");
    s->e_to = index_of(s->edge_fields, "to_node");
    if (s->f_type < 0 || s->f_name < 0 || s->f_id < 0 || s->f_size < 0 || s->f_edges < 0 || s->e_type < 0 ||
        s->e_name < 0 || s->e_to < 0) {
        snprintf(err, errlen, "node_fields or edge_fields lack a required field");
        return -1;
    }
    s->n_node_types = count_of(s->node_types);
    s->n_edge_types = count_of(s->edge_types);
    s->t_string = index_of(s->node_types, "string");
    s->t_hidden = index_of(s->node_types, "hidden");
    s->t_synthetic = index_of(s->node_types, "synthetic");
    s->t_object = index_of(s->node_types, "object");
    s->t_native = index_of(s->node_types, "native");
    s->t_closure = index_of(s->node_types, "closure");
    s->et_weak = index_of(s->edge_types, "weak");
    s->et_element = index_of(s->edge_types, "element");
    s->et_hidden = index_of(s->edge_types, "hidden");
    if (s->n_node_vals % s->nf != 0 || s->n_edge_vals % s->ef != 0) {
        snprintf(err, errlen, "nodes or edges length is not a multiple of its field count");
        return -1;
    }
    s->nn = s->n_node_vals / s->nf;
    s->ne = s->n_edge_vals / s->ef;
    if (s->nn != s->meta_nodes || s->ne != s->meta_edges) {
        snprintf(err, errlen, "node_count %zu / edge_count %zu differ from the arrays (%zu / %zu)", s->meta_nodes,
                 s->meta_edges, s->nn, s->ne);
        return -1;
    }
    if (s->nn == 0) {
        snprintf(err, errlen, "no nodes");
        return -1;
    }
    s->first_edge = malloc((s->nn + 1) * sizeof *s->first_edge);
    if (s->first_edge == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t e = 0;
    for (size_t i = 0; i < s->nn; i++) {
        const uint64_t *n = &s->nodes[i * s->nf];
        s->first_edge[i] = e;
        e += n[s->f_edges];
        if (n[s->f_type] >= (uint64_t)s->n_node_types || n[s->f_name] >= s->n_strings) {
            snprintf(err, errlen, "node %zu has a bad type or name index", i);
            return -1;
        }
    }
    s->first_edge[s->nn] = e;
    if (e != s->ne) {
        snprintf(err, errlen, "the nodes' edge counts add up to %zu, the edges array holds %zu", e, s->ne);
        return -1;
    }
    for (size_t i = 0; i < s->ne; i++) {
        const uint64_t *x = &s->edges[i * s->ef];
        uint64_t t = x[s->e_type], to = x[s->e_to];
        if (t >= (uint64_t)s->n_edge_types || to % s->nf != 0 || to / s->nf >= s->nn) {
            snprintf(err, errlen, "edge %zu has a bad type or to_node", i);
            return -1;
        }
        if ((int)t != s->et_element && (int)t != s->et_hidden && x[s->e_name] >= s->n_strings) {
            snprintf(err, errlen, "edge %zu names string %llu of %zu", i, (unsigned long long)x[s->e_name],
                     s->n_strings);
            return -1;
        }
    }
    return 0;
}

int heap_snap_parse(struct hsnap *s, const char *text, size_t len, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    struct rd r = {text, text + len, err, errlen, 0};
    int seen_nodes = 0, seen_edges = 0, seen_strings = 0;
    if (!expect(&r, '{')) fail(&r, "'{' expected");
    else if (!expect(&r, '}')) {
        do {
            char key[32];
            ws(&r);
            const char *save = r.p;
            size_t kl = string_(&r, NULL);
            r.p = save;
            if (kl >= sizeof key) {
                string_(&r, NULL);
                if (!expect(&r, ':')) fail(&r, "':' expected");
                skip_value(&r, 0);
                continue;
            }
            string_(&r, key);
            key[kl] = '\0';
            if (!expect(&r, ':')) fail(&r, "':' expected");
            if (strcmp(key, "snapshot") == 0) snapshot_obj(&r, s);
            else if (strcmp(key, "nodes") == 0 && !seen_nodes++) {
                /* every value takes two bytes at least: a hint past that is a lie */
                size_t hint = s->meta_nodes < len / 14 ? s->meta_nodes * 7 + 1 : 0;
                s->nodes = uint_array(&r, &s->n_node_vals, hint);
            } else if (strcmp(key, "edges") == 0 && !seen_edges++) {
                size_t hint = s->meta_edges < len / 6 ? s->meta_edges * 3 + 1 : 0;
                s->edges = uint_array(&r, &s->n_edge_vals, hint);
            } else if (strcmp(key, "strings") == 0 && !seen_strings++) strings_(&r, s);
            else skip_value(&r, 0);
        } while (!r.failed && expect(&r, ','));
        if (!r.failed && !expect(&r, '}')) fail(&r, "'}' expected");
    }
    if (!r.failed && (!seen_nodes || !seen_edges || !seen_strings)) {
        snprintf(err, errlen, "nodes, edges or strings missing");
        r.failed = 1;
    }
    if (r.failed || check(s, err, errlen) != 0) {
        heap_snap_free(s);
        return -1;
    }
    return 0;
}

int heap_snap_load(struct hsnap *s, const char *path, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, st.st_size == 0 ? "empty file" : strerror(errno));
        close(fd);
        return -1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = heap_snap_parse(s, m, (size_t)st.st_size, err, errlen);
    munmap(m, (size_t)st.st_size);
    return rc;
}
