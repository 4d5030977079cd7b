/* json_fuzz.c: libFuzzer target for json_string (and json_number). Any bytes must come out
 * as a JSON string jansson accepts; it must decode to the input with each byte that is not
 * part of well-formed UTF-8 replaced by U+FFFD, so valid UTF-8 (NUL included) round trips
 * byte for byte. The oracle below follows Unicode's table of well-formed byte sequences
 * (Table 3-7), written apart from engine/json. The first 8 bytes, read as a double, also go
 * through json_number: null when not finite, else the same double read back. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "jansson_check.h"

/* Length of the well-formed sequence at s (Table 3-7), or 0. */
static size_t well_formed(const uint8_t *s, size_t n) {
    static const struct {
        uint8_t lo0, hi0, lo1, hi1;
        size_t len;
    } rows[] = {
        {0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
        {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
        {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0) continue;
        size_t len = rows[r].len;
        if (len > n) return 0;
        if (len > 1 && (s[1] < rows[r].lo1 || s[1] > rows[r].hi1)) return 0;
        for (size_t i = 2; i < len; i++)
            if (s[i] < 0x80 || s[i] > 0xbf) return 0;
        return len;
    }
    return 0;
}

static void check_string(const uint8_t *data, size_t size) {
    struct jbuf b;
    jbuf_init(&b);
    json_string(&b, (const char *)data, size);
    if (b.oom || b.p == NULL || strlen(b.p) != b.len) abort();
    char why[200];
    jc_value *j = jc_parse(b.p, b.len, why, sizeof why);
    if (j == NULL) {
        fprintf(stderr, "json_string wrote invalid JSON (%s)\n", why);
        abort();
    }
    size_t got_len;
    const char *got = jc_string(j, &got_len);
    if (got == NULL) abort();

    /* what the string must decode to */
    uint8_t *want = malloc(3 * size + 1);
    size_t wlen = 0;
    int valid = 1;
    if (want == NULL) abort();
    for (size_t i = 0; i < size;) {
        size_t k = well_formed(data + i, size - i);
        if (k == 0) {
            memcpy(want + wlen, "\xef\xbf\xbd", 3);
            wlen += 3;
            valid = 0;
            i++;
        } else {
            memcpy(want + wlen, data + i, k);
            wlen += k;
            i += k;
        }
    }
    if (valid && (wlen != size || memcmp(want, data, size) != 0)) abort();
    if (got_len != wlen || memcmp(got, want, wlen) != 0) {
        fprintf(stderr, "json_string decodes to %zu bytes, want %zu\n", got_len, wlen);
        abort();
    }
    free(want);
    jc_free(j);
    jbuf_free(&b);
}

static void check_number(const uint8_t *data, size_t size) {
    double v;
    if (size < sizeof v) return;
    memcpy(&v, data, sizeof v);
    struct jbuf b;
    jbuf_init(&b);
    json_number(&b, v);
    jc_value *j = jc_parse(b.p, b.len, NULL, 0);
    if (j == NULL) abort();
    if (!isfinite(v)) {
        if (jc_type_of(j) != JC_NULL) abort();
    } else {
        enum jc_type t = jc_type_of(j);
        if (t != JC_INTEGER && t != JC_REAL) abort();
        if (jc_number(j) != v) {
            fprintf(stderr, "json_number(%a) wrote %s\n", v, b.p);
            abort();
        }
    }
    jc_free(j);
    jbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an exact-size copy, so that ASan sees a read past the end */
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL) abort();
    if (size) memcpy(copy, data, size);
    check_string(copy, size);
    check_number(copy, size);
    free(copy);
    return 0;
}
