/* promtext_fuzz.c: the Prometheus text reader of proflab walk on any bytes. Every sample it
 * reports must have a valid metric name and label names, and nothing may point outside the
 * input (label values are unescaped copies no longer than the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "walk/promtext.h"

struct bounds {
    size_t len;
    int samples;
};

static int name_ok(const char *s, size_t n, int metric) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':') ||
                 (i > 0 && c >= '0' && c <= '9');
        if (!ok) return 0;
    }
    return 1;
}

static int on_sample(void *ud, const char *name, size_t name_len, const struct prom_label *labels, int n, double v) {
    struct bounds *b = ud;
    (void)v;
    if (!name_ok(name, name_len, 1) || name_len > b->len || n < 0 || n > PROM_LABELS_MAX) abort();
    for (int i = 0; i < n; i++) {
        if (!name_ok(labels[i].name, labels[i].name_len, 0) || labels[i].value_len > b->len) abort();
        volatile char sink = 0;
        for (size_t k = 0; k < labels[i].value_len; k++) sink ^= labels[i].value[k]; /* readable */
        (void)sink;
    }
    b->samples++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[200];
    struct bounds b = {size, 0};
    int r = prom_parse((const char *)data, size, on_sample, &b, err, sizeof err);
    if (r != 0 && r != -1) abort();
    if (r == -1 && strncmp(err, "line ", 5) != 0 && strcmp(err, "out of memory") != 0) abort();
    return 0;
}
