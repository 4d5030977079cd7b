/* write.c: the .heapsnapshot document, streamed to a sink through a 64 KiB buffer. */
#include <stdio.h>
#include <string.h>

#include "../json/json.h"
#include "heap.h"

#define OUT_BUF 65536

struct out {
    heap_sink_fn sink;
    void *ud;
    size_t n, total;
    int failed;
    char buf[OUT_BUF];
};

static void flush(struct out *o) {
    if (o->n > 0 && !o->failed && o->sink(o->ud, o->buf, o->n) != 0) o->failed = 1;
    o->total += o->n;
    o->n = 0;
}

static char *room(struct out *o, size_t n) {
    if (o->n + n > OUT_BUF) flush(o);
    return o->buf + o->n;
}

static void puts_(struct out *o, const char *s) {
    size_t n = strlen(s);
    memcpy(room(o, n), s, n);
    o->n += n;
}

static void putu(struct out *o, uint64_t v, char sep) {
    char *p = room(o, 24), tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = 0;
    while (i) p[n++] = tmp[--i];
    p[n++] = sep;
    o->n += n;
}

size_t heap_json_string(char *out, const char *str, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
            i++;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
            i++;
        } else {
            size_t l = c >= 0x80 ? json_utf8_len(s + i, n - i) : 0;
            if (l > 0) {
                memcpy(out + o, s + i, l);
                o += l;
                i += l;
            } else { /* a control character, or a byte that is not UTF-8: as Latin-1 */
                memcpy(out + o, "\\u00", 4);
                out[o + 4] = hex[c >> 4];
                out[o + 5] = hex[c & 15];
                o += 6;
                i++;
            }
        }
    }
    out[o++] = '"';
    return o;
}

static const char meta[] =
    "{\"snapshot\":{\"meta\":{"
    "\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\",\"trace_node_id\",\"detachedness\"],"
    "\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\",\"closure\",\"regexp\",\"number\","
    "\"native\",\"synthetic\",\"concatenated string\",\"sliced string\",\"symbol\",\"bigint\",\"object shape\"],"
    "\"string\",\"number\",\"number\",\"number\",\"number\",\"number\"],"
    "\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
    "\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\",\"shortcut\",\"weak\"],"
    "\"string_or_number\",\"node\"],"
    "\"trace_function_info_fields\":[\"function_id\",\"name\",\"script_name\",\"script_id\",\"line\",\"column\"],"
    "\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\",\"size\",\"children\"],"
    "\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],"
    "\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]},";

#define NODE_FIELDS 7

int heap_write(const struct stab *names, const struct node *nodes, size_t nn, const struct edge *edges, size_t ne,
               const struct heap_loc *locs, size_t nloc, heap_sink_fn sink, void *ud, size_t *bytes) {
    static struct out o; /* one snapshot at a time: the loop thread's */
    o.sink = sink;
    o.ud = ud;
    o.n = o.total = 0;
    o.failed = 0;
    puts_(&o, meta);
    char head[128];
    snprintf(head, sizeof head, "\"node_count\":%zu,\"edge_count\":%zu,\"trace_function_count\":0},\n\"nodes\":[", nn, ne);
    puts_(&o, head);
    for (size_t i = 0; i < nn && !o.failed; i++) {
        const struct node *n = &nodes[i];
        if (i) puts_(&o, ",\n");
        putu(&o, n->type, ',');
        putu(&o, n->name, ',');
        putu(&o, n->id, ',');
        putu(&o, n->size, ',');
        putu(&o, n->edges, ',');
        puts_(&o, "0,0");
    }
    puts_(&o, "],\n\"edges\":[");
    for (size_t i = 0; i < ne && !o.failed; i++) {
        const struct edge *e = &edges[i];
        if (i) puts_(&o, ",\n");
        putu(&o, e->type, ',');
        putu(&o, e->name, ',');
        putu(&o, (uint64_t)e->to * NODE_FIELDS, ' ');
        o.n--;
    }
    puts_(&o, "],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[");
    for (size_t i = 0; i < nloc && !o.failed; i++) {
        if (i) puts_(&o, ",\n");
        putu(&o, (uint64_t)locs[i].node * NODE_FIELDS, ',');
        putu(&o, (uint64_t)locs[i].script, ',');
        putu(&o, (uint64_t)locs[i].line, ',');
        puts_(&o, "0");
    }
    puts_(&o, "],\n\"strings\":[");
    for (size_t i = 0; i < names->n && !o.failed; i++) {
        size_t len = names->off[i + 1] - names->off[i];
        char *p = room(&o, len * 6 + 4);
        size_t k = 0;
        if (i) p[k++] = ',';
        k += heap_json_string(p + k, names->buf + names->off[i], len);
        p[k++] = '\n';
        o.n += k;
    }
    puts_(&o, "]}\n");
    flush(&o);
    *bytes = o.total;
    return o.failed ? -1 : 0;
}
