/* json: a growable output buffer and the JSON primitives written into it. */
#ifndef PROFLAB_JSON_H
#define PROFLAB_JSON_H

#include <stddef.h>

struct jbuf {
    char *p;
    size_t len, cap;
    int oom; /* set once an allocation failed; later writes are dropped */
};

void jbuf_init(struct jbuf *b);
void jbuf_free(struct jbuf *b);
void jbuf_put(struct jbuf *b, const char *s, size_t n);
void jbuf_puts(struct jbuf *b, const char *s);
void jbuf_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Length of the valid UTF-8 sequence at s (at most n bytes, n > 0), or 0. */
size_t json_utf8_len(const unsigned char *s, size_t n);
/* A JSON string; bytes that are not valid UTF-8 become U+FFFD. */
void json_string(struct jbuf *b, const char *s, size_t n);
/* A finite number as the shortest text that reads back the same; NaN and infinities as null. */
void json_number(struct jbuf *b, double v);
void json_integer(struct jbuf *b, long long v);
/* {"error": code, "message": message} */
void json_error(struct jbuf *b, const char *code, const char *message);

#endif
