/* promtext: a reader of the Prometheus text exposition format (0.0.4), for walkthroughs. */
#ifndef PROFLAB_PROMTEXT_H
#define PROFLAB_PROMTEXT_H

#include <stddef.h>

#define PROM_LABELS_MAX 16

struct prom_label {
    const char *name, *value; /* value unescaped; both valid during the callback only */
    size_t name_len, value_len;
};

/* Called for every sample. Return 0 to go on, non-zero to stop (prom_parse returns it). */
typedef int (*prom_sample_fn)(void *ud, const char *name, size_t name_len, const struct prom_label *labels,
                              int n_labels, double value);

/* 0, a callback's non-zero, or -1 with err naming the line. */
int prom_parse(const char *text, size_t len, prom_sample_fn fn, void *ud, char *err, size_t errlen);

#endif
