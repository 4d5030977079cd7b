/* json.c: JSON text output. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jbuf_init(struct jbuf *b) { memset(b, 0, sizeof *b); }

void jbuf_free(struct jbuf *b) {
    free(b->p);
    jbuf_init(b);
}

static int reserve(struct jbuf *b, size_t n) {
    if (b->oom) return -1;
    if (b->len + n + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void jbuf_put(struct jbuf *b, const char *s, size_t n) {
    if (reserve(b, n) != 0) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void jbuf_puts(struct jbuf *b, const char *s) { jbuf_put(b, s, strlen(s)); }

void jbuf_printf(struct jbuf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        jbuf_put(b, small, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

size_t json_utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

void json_string(struct jbuf *b, const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    jbuf_put(b, "\"", 1);
    size_t run = 0; /* bytes copied verbatim are gathered into runs */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = json_utf8_len(s + i, n - i);
        if (k != 0 && c >= 0x20 && c != '"' && c != '\\') {
            run += k;
            i += k;
            continue;
        }
        jbuf_put(b, (const char *)s + i - run, run);
        run = 0;
        if (k == 0) {
            jbuf_put(b, "\\ufffd", 6);
        } else if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            jbuf_put(b, e, 2);
        } else if (c == '\n') {
            jbuf_put(b, "\\n", 2);
        } else if (c == '\t') {
            jbuf_put(b, "\\t", 2);
        } else if (c == '\r') {
            jbuf_put(b, "\\r", 2);
        } else {
            jbuf_printf(b, "\\u%04x", c);
        }
        i++;
    }
    jbuf_put(b, (const char *)s + n - run, run);
    jbuf_put(b, "\"", 1);
}

void json_number(struct jbuf *b, double v) {
    if (!isfinite(v)) {
        jbuf_put(b, "null", 4);
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    jbuf_puts(b, tmp);
}

void json_integer(struct jbuf *b, long long v) { jbuf_printf(b, "%lld", v); }

void json_error(struct jbuf *b, const char *code, const char *message) {
    jbuf_puts(b, "{\"error\":");
    json_string(b, code, strlen(code));
    jbuf_puts(b, ",\"message\":");
    json_string(b, message, strlen(message));
    jbuf_puts(b, "}");
}
