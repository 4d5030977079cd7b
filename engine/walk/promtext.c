/* promtext.c: samples, labels with escapes, +Inf/-Inf/NaN, optional timestamps; HELP, TYPE
 * and other comments are skipped. */
#include "promtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
/* label names are metric names without ':' */
static int label_start(char c) { return c != ':' && name_start(c); }
static int label_char(char c) { return c != ':' && name_char(c); }

static int parse_value(const char *s, size_t len, double *out) {
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (strcmp(tmp, "+Inf") == 0 || strcmp(tmp, "Inf") == 0) *out = INFINITY;
    else if (strcmp(tmp, "-Inf") == 0) *out = -INFINITY;
    else if (strcmp(tmp, "NaN") == 0) *out = NAN;
    else {
        /* decimal only: strtod would also take hex, "inf" and "nan" spellings */
        for (size_t i = 0; i < len; i++)
            if (!strchr("0123456789.eE+-", tmp[i])) return -1;
        char *end;
        *out = strtod(tmp, &end);
        if (end != tmp + len) return -1;
    }
    return 0;
}

/* One sample line: [s, e). scratch holds at least e - s bytes. */
static int parse_line(const char *s, const char *e, char *scratch, prom_sample_fn fn, void *ud, const char **why) {
    struct prom_label labels[PROM_LABELS_MAX];
    int n = 0;
    const char *p = s;
    if (!name_start(*p)) return *why = "a metric name", -1;
    while (p < e && name_char(*p)) p++;
    const char *name = s;
    size_t name_len = (size_t)(p - s);
    char *w = scratch;
    if (p < e && *p == '{') {
        p++;
        for (;;) {
            while (p < e && *p == ' ') p++;
            if (p < e && *p == '}') {
                p++;
                break;
            }
            if (n == PROM_LABELS_MAX) return *why = "at most 16 labels", -1;
            if (p >= e || !label_start(*p)) return *why = "a label name", -1;
            labels[n].name = p;
            while (p < e && label_char(*p)) p++;
            labels[n].name_len = (size_t)(p - labels[n].name);
            if (p + 1 >= e || p[0] != '=' || p[1] != '"') return *why = "=\" after a label name", -1;
            p += 2;
            labels[n].value = w;
            while (p < e && *p != '"') {
                if (*p == '\\') {
                    if (p + 1 >= e) return *why = "an escape", -1;
                    char c = p[1];
                    *w++ = c == 'n' ? '\n' : c == '\\' ? '\\' : c == '"' ? '"' : (char)-1;
                    if (w[-1] == (char)-1) return *why = "\\n, \\\\ or \\\" as escapes", -1;
                    p += 2;
                } else {
                    *w++ = *p++;
                }
            }
            if (p >= e) return *why = "a closing quote", -1;
            labels[n].value_len = (size_t)(w - labels[n].value);
            n++;
            p++;
            while (p < e && *p == ' ') p++;
            if (p < e && *p == ',') p++;
            else if (p < e && *p == '}') continue;
            else return *why = ", or } after a label", -1;
        }
    }
    if (p >= e || (*p != ' ' && *p != '\t')) return *why = "a space before the value", -1;
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    const char *v = p;
    while (p < e && *p != ' ' && *p != '\t') p++;
    double value;
    if (parse_value(v, (size_t)(p - v), &value) != 0) return *why = "a number as the value", -1;
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    if (p < e) { /* a timestamp: an integer */
        const char *t = p;
        if (*p == '-') p++;
        while (p < e && *p >= '0' && *p <= '9') p++;
        if (p != e || p == t) return *why = "nothing but a timestamp after the value", -1;
    }
    int r = fn(ud, name, name_len, labels, n, value);
    return r != 0 ? r : 0;
}

int prom_parse(const char *text, size_t len, prom_sample_fn fn, void *ud, char *err, size_t errlen) {
    char *scratch = malloc(len + 1);
    if (scratch == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p = text, *end = text + len;
    int lineno = 0, r = 0;
    while (p < end && r == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        lineno++;
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r')) t--;
        if (s < t && *s != '#') {
            const char *why = NULL;
            r = parse_line(s, t, scratch, fn, ud, &why);
            if (r == -1) snprintf(err, errlen, "line %d: expected %s", lineno, why ? why : "a sample");
        }
        p = nl ? nl + 1 : end;
    }
    free(scratch);
    return r;
}
