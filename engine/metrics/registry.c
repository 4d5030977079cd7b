/* registry.c: families and series in append-only lists. Writers append under one mutex;
 * readers walk the lists through acquire loads and never lock, so a scrape from the admin
 * thread sees whole series while the loop thread creates new ones. Values are doubles kept
 * as atomic 64-bit patterns. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct met_series {
    struct met_series *_Atomic next;
    const struct met_family *family;
    char **values;                /* n_labels label values */
    _Atomic uint64_t value;       /* counter and gauge: the double's bits */
    _Atomic uint64_t sum;         /* histogram: the double's bits */
    _Atomic uint64_t counts[];    /* histogram: per bucket (not cumulative), the last is +Inf */
};

struct met_family {
    struct met_family *_Atomic next;
    char name[MET_NAME_MAX];
    char *help, *owner;
    enum met_type type;
    int n_labels, n_buckets;
    char *labels[MET_LABELS_MAX];
    double buckets[MET_BUCKETS_MAX];
    char le[MET_BUCKETS_MAX + 1][32]; /* the buckets as written in le="..." */
    struct met_series *_Atomic series;
    struct met_series *tail;
    _Atomic size_t n_series;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t render_lock = PTHREAD_MUTEX_INITIALIZER;
static struct met_family *_Atomic families;
static struct met_family *families_tail;
static _Atomic size_t n_families;

#define COLLECTORS_MAX 16
static struct {
    met_collect_fn fn;
    void *ud;
} collectors[COLLECTORS_MAX];
static _Atomic int n_collectors;

static const double default_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static uint64_t bits(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double from_bits(uint64_t b) {
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static void add_bits(_Atomic uint64_t *p, double v) {
    uint64_t old = atomic_load(p);
    while (!atomic_compare_exchange_weak(p, &old, bits(from_bits(old) + v))) {
    }
}

int met_name_valid(const char *name) {
    if (name == NULL || *name == '\0' || strlen(name) >= MET_NAME_MAX) return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != name && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

int met_label_name_valid(const char *name) {
    if (name == NULL || *name == '\0' || strlen(name) >= MET_NAME_MAX) return 0;
    if (name[0] == '_' && name[1] == '_') return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(p != name && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

static void put_number(struct jbuf *b, double v) {
    if (isnan(v)) jbuf_puts(b, "NaN");
    else if (isinf(v)) jbuf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15) jbuf_printf(b, "%.0f", v);
    else { /* the shortest text that reads back the same */
        char t[40];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(t, sizeof t, "%.*g", prec, v);
            if (strtod(t, NULL) == v) break;
        }
        jbuf_puts(b, t);
    }
}

static void put_escaped(struct jbuf *b, const char *s, int quote) {
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : (quote && *s == '"') ? "\\\"" : NULL;
        if (esc == NULL) continue;
        jbuf_put(b, run, (size_t)(s - run));
        jbuf_puts(b, esc);
        run = s + 1;
    }
    jbuf_put(b, run, (size_t)(s - run));
}

static struct met_family *find_locked(const char *name) {
    for (struct met_family *f = atomic_load(&families); f != NULL; f = atomic_load(&f->next))
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

struct met_family *met_family_find(const char *name) {
    pthread_mutex_lock(&reg_lock);
    struct met_family *f = find_locked(name);
    pthread_mutex_unlock(&reg_lock);
    return f;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *type_name(enum met_type t) {
    return t == MET_COUNTER ? "counter" : t == MET_GAUGE ? "gauge" : "histogram";
}

/* The same declaration made again (a scenario file loaded twice): same shape and owner. */
static int same_declaration(const struct met_family *f, enum met_type type, const char *const *labels, int n_labels,
                            const double *buckets, int n_buckets, const char *owner) {
    if (f->type != type || f->n_labels != n_labels || f->n_buckets != n_buckets || strcmp(f->owner, owner) != 0) return 0;
    for (int i = 0; i < n_labels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0) return 0;
    for (int i = 0; i < n_buckets; i++)
        if (f->buckets[i] != buckets[i]) return 0;
    return 1;
}

static void family_free(struct met_family *f) {
    struct met_series *s = atomic_load(&f->series);
    while (s != NULL) {
        struct met_series *next = atomic_load(&s->next);
        for (int i = 0; i < f->n_labels; i++) free(s->values[i]);
        free(s->values);
        free(s);
        s = next;
    }
    for (int i = 0; i < f->n_labels; i++) free(f->labels[i]);
    free(f->help);
    free(f->owner);
    free(f);
}

static struct met_series *series_new(const struct met_family *f, const char *const *values) {
    size_t nc = f->type == MET_HISTOGRAM ? (size_t)f->n_buckets + 1 : 0;
    struct met_series *s = calloc(1, sizeof *s + nc * sizeof s->counts[0]);
    if (s == NULL) return NULL;
    if (f->n_labels > 0) {
        s->values = calloc((size_t)f->n_labels, sizeof *s->values);
        if (s->values == NULL) {
            free(s);
            return NULL;
        }
        for (int i = 0; i < f->n_labels; i++) {
            s->values[i] = strdup(values[i]);
            if (s->values[i] == NULL) {
                for (int j = 0; j < i; j++) free(s->values[j]);
                free(s->values);
                free(s);
                return NULL;
            }
        }
    }
    s->family = f;
    atomic_init(&s->next, NULL);
    atomic_init(&s->value, bits(0.0));
    atomic_init(&s->sum, bits(0.0));
    for (size_t i = 0; i < nc; i++) atomic_init(&s->counts[i], 0);
    return s;
}

static void series_append(struct met_family *f, struct met_series *s) {
    if (f->tail == NULL) atomic_store_explicit(&f->series, s, memory_order_release);
    else atomic_store_explicit(&f->tail->next, s, memory_order_release);
    f->tail = s;
    atomic_fetch_add(&f->n_series, 1);
}

struct met_family *met_family_new(const char *name, const char *help, enum met_type type, const char *const *labels,
                                  int n_labels, const double *buckets, int n_buckets, const char *owner, char *err,
                                  size_t errlen) {
    if (!met_name_valid(name)) {
        snprintf(err, errlen, "'%.80s' is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*, under %d bytes)",
                 name ? name : "", MET_NAME_MAX);
        return NULL;
    }
    if (help == NULL || *help == '\0') {
        snprintf(err, errlen, "metric %s needs a help text", name);
        return NULL;
    }
    if (type == MET_COUNTER && !ends_with(name, "_total")) {
        snprintf(err, errlen, "counter %s must end in _total (Prometheus naming)", name);
        return NULL;
    }
    if (type != MET_COUNTER && (ends_with(name, "_total") || ends_with(name, "_count") || ends_with(name, "_sum") ||
                                ends_with(name, "_bucket"))) {
        snprintf(err, errlen, "%s %s must not end in _total, _count, _sum or _bucket (kept for counters and histograms)",
                 type_name(type), name);
        return NULL;
    }
    if (n_labels < 0 || n_labels > MET_LABELS_MAX) {
        snprintf(err, errlen, "metric %s: at most %d labels", name, MET_LABELS_MAX);
        return NULL;
    }
    for (int i = 0; i < n_labels; i++) {
        if (!met_label_name_valid(labels[i]) || (type == MET_HISTOGRAM && strcmp(labels[i], "le") == 0)) {
            snprintf(err, errlen, "metric %s: '%.60s' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not __..., not le on a histogram)",
                     name, labels[i] ? labels[i] : "");
            return NULL;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0) {
                snprintf(err, errlen, "metric %s: label %s given twice", name, labels[i]);
                return NULL;
            }
    }
    if (type == MET_HISTOGRAM && n_buckets == 0) {
        buckets = default_buckets;
        n_buckets = (int)(sizeof default_buckets / sizeof default_buckets[0]);
    }
    if (type != MET_HISTOGRAM) n_buckets = 0;
    if (n_buckets > MET_BUCKETS_MAX) {
        snprintf(err, errlen, "histogram %s: at most %d buckets", name, MET_BUCKETS_MAX);
        return NULL;
    }
    for (int i = 0; i < n_buckets; i++) {
        if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
            snprintf(err, errlen, "histogram %s: buckets must be finite and strictly increasing (+Inf is added)", name);
            return NULL;
        }
    }
    if (owner == NULL) owner = "the engine";

    pthread_mutex_lock(&reg_lock);
    struct met_family *old = find_locked(name);
    if (old != NULL) {
        int same = same_declaration(old, type, labels, n_labels, buckets, n_buckets, owner);
        if (!same) snprintf(err, errlen, "metric %s is already declared (by %s)", name, old->owner);
        pthread_mutex_unlock(&reg_lock);
        return same ? old : NULL;
    }
    struct met_family *f = calloc(1, sizeof *f);
    int ok = f != NULL;
    if (ok) {
        snprintf(f->name, sizeof f->name, "%s", name);
        f->help = strdup(help);
        f->owner = strdup(owner);
        f->type = type;
        ok = f->help != NULL && f->owner != NULL;
        for (int i = 0; i < n_labels && ok; i++) {
            f->labels[i] = strdup(labels[i]);
            ok = f->labels[i] != NULL;
            f->n_labels = i + 1;
        }
        f->n_buckets = n_buckets;
        for (int i = 0; i < n_buckets; i++) {
            f->buckets[i] = buckets[i];
            struct jbuf nb;
            jbuf_init(&nb);
            put_number(&nb, buckets[i]);
            snprintf(f->le[i], sizeof f->le[i], "%s", nb.p != NULL ? nb.p : "0");
            ok = ok && !nb.oom;
            jbuf_free(&nb);
        }
        snprintf(f->le[n_buckets], sizeof f->le[n_buckets], "+Inf");
        atomic_init(&f->next, NULL);
        atomic_init(&f->series, NULL);
        atomic_init(&f->n_series, 0);
    }
    if (ok && n_labels == 0) { /* the one series exists from the start: it is exposed as 0 */
        struct met_series *s = series_new(f, NULL);
        ok = s != NULL;
        if (ok) series_append(f, s);
    }
    if (!ok) {
        if (f != NULL) family_free(f);
        pthread_mutex_unlock(&reg_lock);
        snprintf(err, errlen, "out of memory declaring metric %s", name);
        return NULL;
    }
    if (families_tail == NULL) atomic_store_explicit(&families, f, memory_order_release);
    else atomic_store_explicit(&families_tail->next, f, memory_order_release);
    families_tail = f;
    atomic_fetch_add(&n_families, 1);
    pthread_mutex_unlock(&reg_lock);
    return f;
}

enum met_type met_family_type(const struct met_family *f) { return f->type; }

int met_family_labels(const struct met_family *f, const char *const **names) {
    *names = (const char *const *)f->labels;
    return f->n_labels;
}

size_t met_family_count(void) { return atomic_load(&n_families); }

static struct met_series *lookup(struct met_family *f, const char *const *values) {
    for (struct met_series *s = atomic_load_explicit(&f->series, memory_order_acquire); s != NULL;
         s = atomic_load_explicit(&s->next, memory_order_acquire)) {
        int i = 0;
        while (i < f->n_labels && strcmp(s->values[i], values[i]) == 0) i++;
        if (i == f->n_labels) return s;
    }
    return NULL;
}

struct met_series *met_series_get(struct met_family *f, const char *const *values) {
    struct met_series *s = lookup(f, values);
    if (s != NULL) return s;
    pthread_mutex_lock(&reg_lock);
    s = lookup(f, values); /* another thread may have added it */
    if (s == NULL && atomic_load(&f->n_series) < MET_SERIES_MAX) {
        s = series_new(f, values);
        if (s != NULL) series_append(f, s);
    }
    pthread_mutex_unlock(&reg_lock);
    return s;
}

struct met_series *met_series0(struct met_family *f) { return atomic_load_explicit(&f->series, memory_order_acquire); }

void met_add(struct met_series *s, double v) { add_bits(&s->value, v); }
void met_set(struct met_series *s, double v) { atomic_store(&s->value, bits(v)); }
double met_value(const struct met_series *s) { return from_bits(atomic_load(&s->value)); }

void met_observe(struct met_series *s, double v) {
    const struct met_family *f = s->family;
    int i = 0;
    while (i < f->n_buckets && v > f->buckets[i]) i++;
    atomic_fetch_add(&s->counts[i], 1);
    add_bits(&s->sum, v);
}

uint64_t met_hist_count(const struct met_series *s) {
    const struct met_family *f = s->family;
    uint64_t n = 0;
    for (int i = 0; i <= f->n_buckets; i++) n += atomic_load(&((struct met_series *)s)->counts[i]);
    return n;
}

double met_hist_sum(const struct met_series *s) { return from_bits(atomic_load(&((struct met_series *)s)->sum)); }

int met_collector_add(met_collect_fn fn, void *ud) {
    pthread_mutex_lock(&reg_lock);
    int n = atomic_load(&n_collectors), r = -1;
    if (n < COLLECTORS_MAX) {
        collectors[n].fn = fn;
        collectors[n].ud = ud;
        atomic_store(&n_collectors, n + 1);
        r = 0;
    }
    pthread_mutex_unlock(&reg_lock);
    return r;
}

/* Text exposition */

/* The series' labels as `k="v",k="v"` (escaped), without braces. */
static void put_label_pairs(struct jbuf *b, const struct met_family *f, const struct met_series *s) {
    for (int i = 0; i < f->n_labels; i++) {
        if (i) jbuf_put(b, ",", 1);
        jbuf_puts(b, f->labels[i]);
        jbuf_put(b, "=\"", 2);
        put_escaped(b, s->values[i], 1);
        jbuf_put(b, "\"", 1);
    }
}

static void put_u64(struct jbuf *b, uint64_t v) {
    char t[24];
    size_t i = sizeof t;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    jbuf_put(b, t + i, sizeof t - i);
}

/* NAME{LABELS} or NAME when there are none; suffix after NAME (_bucket, _sum, _count). */
static void put_series_name(struct jbuf *b, const struct met_family *f, const char *suffix, const struct jbuf *labels) {
    jbuf_puts(b, f->name);
    jbuf_puts(b, suffix);
    if (labels->len == 0) return;
    jbuf_put(b, "{", 1);
    jbuf_put(b, labels->p, labels->len);
    jbuf_put(b, "}", 1);
}

static void render_family(struct jbuf *b, const struct met_family *f, struct jbuf *labels) {
    jbuf_puts(b, "# HELP ");
    jbuf_puts(b, f->name);
    jbuf_put(b, " ", 1);
    put_escaped(b, f->help, 0);
    jbuf_puts(b, "\n# TYPE ");
    jbuf_puts(b, f->name);
    jbuf_put(b, " ", 1);
    jbuf_puts(b, type_name(f->type));
    jbuf_put(b, "\n", 1);
    for (struct met_series *s = atomic_load_explicit(&f->series, memory_order_acquire); s != NULL;
         s = atomic_load_explicit(&s->next, memory_order_acquire)) {
        labels->len = 0;
        put_label_pairs(labels, f, s);
        if (f->type != MET_HISTOGRAM) {
            put_series_name(b, f, "", labels);
            jbuf_put(b, " ", 1);
            put_number(b, met_value(s));
            jbuf_put(b, "\n", 1);
            continue;
        }
        /* _count is the +Inf bucket read in the same pass, so the two always agree */
        uint64_t cum = 0;
        for (int i = 0; i <= f->n_buckets; i++) {
            cum += atomic_load(&s->counts[i]);
            jbuf_puts(b, f->name);
            jbuf_puts(b, "_bucket{");
            if (labels->len > 0) {
                jbuf_put(b, labels->p, labels->len);
                jbuf_put(b, ",", 1);
            }
            jbuf_puts(b, "le=\"");
            jbuf_puts(b, f->le[i]);
            jbuf_puts(b, "\"} ");
            put_u64(b, cum);
            jbuf_put(b, "\n", 1);
        }
        put_series_name(b, f, "_sum", labels);
        jbuf_put(b, " ", 1);
        put_number(b, met_hist_sum(s));
        jbuf_put(b, "\n", 1);
        put_series_name(b, f, "_count", labels);
        jbuf_put(b, " ", 1);
        put_u64(b, cum);
        jbuf_put(b, "\n", 1);
    }
}

int met_render(struct jbuf *out) {
    pthread_mutex_lock(&render_lock);
    int n = atomic_load(&n_collectors);
    for (int i = 0; i < n; i++) collectors[i].fn(collectors[i].ud);
    struct jbuf labels;
    jbuf_init(&labels);
    for (struct met_family *f = atomic_load_explicit(&families, memory_order_acquire); f != NULL;
         f = atomic_load_explicit(&f->next, memory_order_acquire))
        render_family(out, f, &labels);
    pthread_mutex_unlock(&render_lock);
    int oom = out->oom || labels.oom;
    jbuf_free(&labels);
    return oom ? -1 : 0;
}

void met_registry_free(void) {
    pthread_mutex_lock(&reg_lock);
    struct met_family *f = atomic_load(&families);
    while (f != NULL) {
        struct met_family *next = atomic_load(&f->next);
        family_free(f);
        f = next;
    }
    atomic_store(&families, NULL);
    families_tail = NULL;
    atomic_store(&n_families, 0);
    atomic_store(&n_collectors, 0);
    pthread_mutex_unlock(&reg_lock);
}
