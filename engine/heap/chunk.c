/* chunk.c: a Lua 5.4 binary chunk (lua_dump's output) read back into the sizes of its
 * prototypes. The API shows no prototype, but its dump holds every array the prototype
 * keeps: code, constants, upvalue descriptions, nested prototypes and the debug info, each
 * with its exact length. Sizes follow 5.4's layouts on LP64 (lobject.h). */
#include <stdlib.h>
#include <string.h>

#include "heap.h"

#define SZ_PROTO 128
#define SZ_INSTRUCTION 4
#define SZ_TVALUE 16
#define SZ_UPVALDESC 16
#define SZ_ABSLINEINFO 8
#define SZ_LOCVAR 16

/* constant tags (5.4's variant tags) */
#define K_NIL 0x00
#define K_FALSE 0x01
#define K_TRUE 0x11
#define K_INT 0x03
#define K_FLT 0x13
#define K_SHRSTR 0x04
#define K_LNGSTR 0x14

/* signature, version 5.4, format 0, LUAC_DATA, sizes of Instruction, lua_Integer, lua_Number */
static const unsigned char chunk_header[] = {0x1b, 'L', 'u', 'a', 0x54, 0, 0x19, 0x93, '\r', '\n', 0x1a, '\n', 4, 8, 8};

struct reader {
    struct heap_chunk *c;
    const unsigned char *p, *end;
    int depth;
};

static int read_size(struct reader *r, size_t *out) {
    size_t x = 0;
    for (;;) {
        if (r->p == r->end || x > (SIZE_MAX >> 7)) return -1;
        unsigned char b = *r->p++;
        x = (x << 7) | (b & 0x7f);
        if (b & 0x80) break;
    }
    *out = x;
    return 0;
}

/* a count of entries that take at least min_bytes each in what is left */
static int read_count(struct reader *r, size_t min_bytes, size_t *n) {
    if (read_size(r, n) != 0) return -1;
    return *n > (size_t)(r->end - r->p) / min_bytes ? -1 : 0;
}

static int skip(struct reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) return -1;
    r->p += n;
    return 0;
}

/* Room for one more element in *arr, which holds n of *cap. */
static int grow(void *arr, size_t *cap, size_t n, size_t size) {
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 64;
    void *q = realloc(*(void **)arr, c * size);
    if (q == NULL) return -1;
    *(void **)arr = q;
    *cap = c;
    return 0;
}

static int add_string(struct reader *r, uint32_t proto, int kind) {
    size_t n;
    if (read_size(r, &n) != 0) return -1;
    if (n == 0) return 0; /* no string: a nested prototype's source, or a stripped name */
    n--;
    if ((size_t)(r->end - r->p) < n || n > UINT32_MAX) return -1;
    struct heap_chunk *c = r->c;
    if (grow(&c->strs, &c->scap, c->ns, sizeof *c->strs) != 0) return -1;
    c->strs[c->ns++] = (struct heap_chunk_str){(uint32_t)(r->p - c->buf), (uint32_t)n, proto, (uint8_t)kind};
    r->p += n;
    return 0;
}

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static int read_proto(struct reader *r) {
    struct heap_chunk *c = r->c;
    if (++r->depth > 200) return -1; /* the parser's own limit is LUAI_MAXCCALLS */
    if (grow(&c->protos, &c->pcap, c->np, sizeof *c->protos) != 0) return -1;
    uint32_t me = (uint32_t)c->np++;
    if (add_string(r, me, HEAP_CHUNK_SOURCE) != 0) return -1;
    const unsigned char *start = r->p;
    size_t line, lastline, n;
    if (read_size(r, &line) != 0 || read_size(r, &lastline) != 0 || skip(r, 3) != 0 || line > INT32_MAX) return -1;
    c->protos[me].linedefined = (int32_t)line;
    uint64_t bytes = SZ_PROTO;
    if (read_count(r, SZ_INSTRUCTION, &n) != 0 || skip(r, n * SZ_INSTRUCTION) != 0) return -1; /* code */
    bytes += n * SZ_INSTRUCTION;
    if (read_count(r, 1, &n) != 0) return -1; /* constants */
    bytes += n * SZ_TVALUE;
    for (size_t i = 0; i < n; i++) {
        if (r->p == r->end) return -1;
        int tag = *r->p++;
        if (tag == K_INT || tag == K_FLT) {
            if (skip(r, 8) != 0) return -1;
        } else if (tag == K_SHRSTR || tag == K_LNGSTR) {
            if (add_string(r, me, HEAP_CHUNK_CONSTANT) != 0) return -1;
        } else if (tag != K_NIL && tag != K_FALSE && tag != K_TRUE) {
            return -1;
        }
    }
    if (read_count(r, 3, &n) != 0 || skip(r, n * 3) != 0) return -1; /* upvalues */
    bytes += n * SZ_UPVALDESC;
    if (read_count(r, 1, &n) != 0) return -1; /* nested prototypes */
    bytes += n * sizeof(void *);
    for (size_t i = 0; i < n; i++)
        if (read_proto(r) != 0) return -1;
    if (read_count(r, 1, &n) != 0) return -1; /* lineinfo */
    c->protos[me].lineinfo = (uint32_t)(r->p - c->buf);
    c->protos[me].nlineinfo = (uint32_t)n;
    if (skip(r, n) != 0) return -1;
    bytes += n;
    if (read_count(r, 2, &n) != 0) return -1; /* abslineinfo */
    bytes += n * SZ_ABSLINEINFO;
    c->protos[me].abs = (uint32_t)c->nabs;
    c->protos[me].nabs = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        size_t pc;
        if (read_size(r, &pc) != 0 || read_size(r, &line) != 0 || pc > INT32_MAX || line > INT32_MAX) return -1;
        if (grow(&c->abslines, &c->abscap, c->nabs, sizeof *c->abslines) != 0) return -1;
        c->abslines[c->nabs++] = (struct heap_chunk_absline){(int32_t)pc, (int32_t)line};
    }
    if (read_count(r, 3, &n) != 0) return -1; /* local variables */
    bytes += n * SZ_LOCVAR;
    for (size_t i = 0; i < n; i++)
        if (add_string(r, me, HEAP_CHUNK_LOCAL) != 0 || read_size(r, &line) != 0 || read_size(r, &line) != 0)
            return -1;
    if (read_count(r, 1, &n) != 0) return -1; /* upvalue names */
    for (size_t i = 0; i < n; i++)
        if (add_string(r, me, HEAP_CHUNK_UPVALUE) != 0) return -1;
    c->protos[me].bytes = bytes;
    c->protos[me].shape = hash_bytes(start, (size_t)(r->p - start));
    c->protos[me].end = (uint32_t)c->np;
    r->depth--;
    return 0;
}

int heap_chunk_read(struct heap_chunk *c, const void *buf, size_t len) {
    c->buf = buf;
    c->len = len;
    c->np = c->ns = c->nabs = 0;
    struct reader r = {c, buf, (const unsigned char *)buf + len, 0};
    if (len < sizeof chunk_header + 16 + 1 || len > UINT32_MAX || memcmp(buf, chunk_header, sizeof chunk_header) != 0) return -1;
    r.p += sizeof chunk_header + 16 + 1; /* LUAC_INT, LUAC_NUM, the main function's upvalue count */
    if (read_proto(&r) != 0 || r.p != r.end) return -1;
    return 0;
}

/* As luaG_getfuncline (ldebug.c) finds them: deltas from linedefined, reset by the absolute
 * entries (one per 128 instructions at most, or where a delta does not fit a byte). */
void heap_chunk_lines(const struct heap_chunk *c, size_t i, void (*fn)(void *ud, int line), void *ud) {
    const struct heap_chunk_proto *p = &c->protos[i];
    const signed char *delta = (const signed char *)c->buf + p->lineinfo;
    const struct heap_chunk_absline *abs = c->abslines + p->abs, *abs_end = abs + p->nabs;
    long line = p->linedefined;
    for (uint32_t pc = 0; pc < p->nlineinfo; pc++) {
        if (abs < abs_end && abs->pc == (int32_t)pc) line = (abs++)->line;
        else line += delta[pc];
        fn(ud, (int)line);
    }
}

void heap_chunk_free(struct heap_chunk *c) {
    free(c->protos);
    free(c->strs);
    free(c->abslines);
    memset(c, 0, sizeof *c);
}
