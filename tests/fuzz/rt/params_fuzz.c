/* params_fuzz.c: libFuzzer target for params_parse. The input is a query string, parsed
 * against a fixed spec set like the scenarios'. Beyond "no crash, no sanitizer report":
 * an error has a known code and a printable message; a success holds only values the
 * spec accepts; and the values, written back as a canonical query, parse to themselves. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/params.h"

enum { P_MS, P_MB, P_FACTOR, P_RATIO, P_FLAG, P_MODE, P_NAME, P_TEXT, N_SPECS };

static const struct param_spec specs[N_SPECS] = {
    [P_MS] = {.name = "ms", .type = PARAM_INTEGER, .has_min = 1, .has_max = 1, .min = 1, .max = 60000,
              .def = {.present = 1, .type = PARAM_INTEGER, .i = 2000, .n = 2000}},
    [P_MB] = {.name = "mb", .type = PARAM_INTEGER, .has_min = 1, .has_max = 1, .min = 1, .max = 1024,
              .def = {.present = 1, .type = PARAM_INTEGER, .i = 64, .n = 64}},
    [P_FACTOR] = {.name = "factor", .type = PARAM_NUMBER},
    [P_RATIO] = {.name = "ratio", .type = PARAM_NUMBER, .has_min = 1, .has_max = 1, .min = 0, .max = 1},
    [P_FLAG] = {.name = "flag", .type = PARAM_BOOLEAN, .def = {.present = 1, .type = PARAM_BOOLEAN, .b = 0}},
    [P_MODE] = {.name = "mode", .type = PARAM_STRING, .enums = {"fast", "slow", "a b&c=d"}, .n_enums = 3,
                .def = {.present = 1, .type = PARAM_STRING, .s = "fast", .len = 4}},
    [P_NAME] = {.name = "name", .type = PARAM_STRING, .has_max = 1, .max = 64},
    [P_TEXT] = {.name = "text", .type = PARAM_STRING},
};

static const char *const codes[] = {"unknown_parameter", "repeated_parameter", "bad_parameter", "missing_parameter"};

static void check_value(int k, const struct param_value *v, const char *arena, size_t qlen) {
    const struct param_spec *p = &specs[k];
    if (!v->present) {
        if (p->def.present || p->required) abort(); /* a default must be filled, a required one present */
        return;
    }
    if (v->type != p->type) abort();
    switch (p->type) {
    case PARAM_INTEGER:
        if ((p->has_min && (double)v->i < p->min) || (p->has_max && (double)v->i > p->max)) abort();
        break;
    case PARAM_NUMBER:
        if (!isfinite(v->n) || (p->has_min && v->n < p->min) || (p->has_max && v->n > p->max)) abort();
        break;
    case PARAM_BOOLEAN:
        if (v->b != 0 && v->b != 1) abort();
        break;
    case PARAM_STRING:
        if (v->s == NULL && v->len != 0) abort();
        if (v->len == 0 && !(p->has_min && p->min == 0)) abort(); /* empty values are refused */
        if (v->len > PARAM_STRING_MAX || (p->has_max && (double)v->len > p->max)) abort();
        if (memchr(v->s, '\0', v->len) != NULL) abort();
        /* into the arena, or the spec's own default */
        if (v->s != p->def.s && !(v->s >= arena && v->s + v->len <= arena + qlen)) abort();
        if (p->n_enums > 0) {
            int found = 0;
            for (int e = 0; e < p->n_enums; e++)
                found |= strlen(p->enums[e]) == v->len && memcmp(p->enums[e], v->s, v->len) == 0;
            if (!found) abort();
        }
        break;
    }
}

/* Writes the values back as a query with every byte but [A-Za-z0-9] percent-encoded. */
static size_t encode(const struct param_value *vals, char *out, size_t cap) {
    size_t o = 0;
#define PUT(...) o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, __VA_ARGS__)
    for (int k = 0; k < N_SPECS; k++) {
        const struct param_value *v = &vals[k];
        if (!v->present) continue;
        PUT("%s%s=", o ? "&" : "", specs[k].name);
        switch (v->type) {
        case PARAM_INTEGER: PUT("%lld", v->i); break;
        case PARAM_BOOLEAN: PUT("%s", v->b ? "true" : "false"); break;
        case PARAM_NUMBER:
        case PARAM_STRING: {
            char num[40];
            const char *s = v->s;
            size_t len = v->len;
            if (v->type == PARAM_NUMBER) { /* "1e+20": the '+' must be encoded too */
                len = (size_t)snprintf(num, sizeof num, "%.17g", v->n);
                s = num;
            }
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) PUT("%c", c);
                else PUT("%%%02X", c);
            }
            break;
        }
        }
    }
#undef PUT
    return o;
}

static int same(const struct param_value *a, const struct param_value *b) {
    if (a->present != b->present) return 0;
    if (!a->present) return 1;
    switch (a->type) {
    case PARAM_INTEGER: return a->i == b->i;
    case PARAM_NUMBER: return a->n == b->n;
    case PARAM_BOOLEAN: return a->b == b->b;
    case PARAM_STRING: return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* exact-size copies: ASan reports any byte read or written past the query or the arena */
    char *q = malloc(size ? size : 1), *arena = malloc(size ? size : 1);
    if (q == NULL || arena == NULL) abort();
    if (size) memcpy(q, data, size);
    struct param_value out[N_SPECS];
    struct param_error err;
    memset(out, 0xa5, sizeof out);
    err.code = NULL;
    int rc = params_parse(specs, N_SPECS, q, size, out, arena, &err);
    if (rc != 0) {
        if (rc != -1 || err.code == NULL) abort();
        int known = 0;
        for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) known |= strcmp(err.code, codes[c]) == 0;
        if (!known) abort();
        size_t len = strnlen(err.message, sizeof err.message);
        if (len == 0 || len == sizeof err.message) abort();
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)err.message[i] < 0x20 || (unsigned char)err.message[i] > 0x7e) abort();
    } else {
        for (int k = 0; k < N_SPECS; k++) check_value(k, &out[k], arena, size);
        /* canonical form round trip */
        size_t cap = 64 + 3 * size + N_SPECS * 64;
        char *canon = malloc(cap);
        if (canon == NULL) abort();
        size_t clen = encode(out, canon, cap);
        if (clen >= cap) abort();
        char *arena2 = malloc(clen ? clen : 1);
        struct param_value again[N_SPECS];
        if (arena2 == NULL) abort();
        if (params_parse(specs, N_SPECS, canon, clen, again, arena2, &err) != 0) {
            fprintf(stderr, "canonical query refused: %.*s: %s\n", (int)clen, canon, err.message);
            abort();
        }
        for (int k = 0; k < N_SPECS; k++)
            if (!same(&out[k], &again[k])) {
                fprintf(stderr, "%s differs after a round trip through %.*s\n", specs[k].name, (int)clen, canon);
                abort();
            }
        free(arena2);
        free(canon);
    }
    free(q);
    free(arena);
    return 0;
}
