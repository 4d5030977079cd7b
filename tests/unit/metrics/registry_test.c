/* registry_test.c: the metric registry: Prometheus naming rules, duplicates, series, the exact
 * text exposition, and a render racing with updates and new series from another thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/metrics.h"

static char err[320];

static int teardown(void **state) {
    (void)state;
    met_registry_free();
    return met_family_count() == 0 ? 0 : -1;
}

static void test_names(void **state) {
    (void)state;
    assert_true(met_name_valid("a"));
    assert_true(met_name_valid("http_requests_total"));
    assert_true(met_name_valid("ns:sub_x9"));
    assert_true(met_name_valid("_x"));
    assert_false(met_name_valid(""));
    assert_false(met_name_valid("9lives"));
    assert_false(met_name_valid("bad-name"));
    assert_false(met_name_valid("sp ace"));
    assert_false(met_name_valid("é"));
    char longname[MET_NAME_MAX + 1];
    memset(longname, 'a', MET_NAME_MAX);
    longname[MET_NAME_MAX] = '\0';
    assert_false(met_name_valid(longname));
    assert_true(met_label_name_valid("kind"));
    assert_true(met_label_name_valid("_k"));
    assert_false(met_label_name_valid("__reserved"));
    assert_false(met_label_name_valid("a:b"));
    assert_false(met_label_name_valid("1a"));
}

static void test_declarations(void **state) {
    (void)state;
    static const char *const kind[] = {"kind"};
    static const char *const le[] = {"le"};
    static const char *const twice[] = {"a", "a"};
    static const double bad[] = {1, 1};
    assert_null(met_family_new("orders", "Orders.", MET_COUNTER, NULL, 0, NULL, 0, "x", err, sizeof err));
    assert_non_null(strstr(err, "must end in _total"));
    assert_null(met_family_new("depth_total", "Depth.", MET_GAUGE, NULL, 0, NULL, 0, "x", err, sizeof err));
    assert_null(met_family_new("size_bucket", "Size.", MET_HISTOGRAM, NULL, 0, NULL, 0, "x", err, sizeof err));
    assert_null(met_family_new("nohelp", "", MET_GAUGE, NULL, 0, NULL, 0, "x", err, sizeof err));
    assert_non_null(strstr(err, "help"));
    assert_null(met_family_new("h", "H.", MET_HISTOGRAM, le, 1, NULL, 0, "x", err, sizeof err));
    assert_null(met_family_new("g", "G.", MET_GAUGE, twice, 2, NULL, 0, "x", err, sizeof err));
    assert_non_null(strstr(err, "twice"));
    assert_null(met_family_new("h", "H.", MET_HISTOGRAM, NULL, 0, bad, 2, "x", err, sizeof err));
    assert_non_null(strstr(err, "strictly increasing"));
    assert_int_equal(met_family_count(), 0);

    struct met_family *f = met_family_new("orders_total", "Orders.", MET_COUNTER, kind, 1, NULL, 0, "a.lua:3", err, sizeof err);
    assert_non_null(f);
    /* the same declaration from the same place: the same family (a file loaded again) */
    assert_ptr_equal(met_family_new("orders_total", "Orders.", MET_COUNTER, kind, 1, NULL, 0, "a.lua:3", err, sizeof err), f);
    /* from elsewhere, or of another shape: refused, naming the first place */
    assert_null(met_family_new("orders_total", "Orders.", MET_COUNTER, kind, 1, NULL, 0, "b.lua:9", err, sizeof err));
    assert_string_equal(err, "metric orders_total is already declared (by a.lua:3)");
    assert_null(met_family_new("orders_total", "Orders.", MET_COUNTER, NULL, 0, NULL, 0, "a.lua:3", err, sizeof err));
    assert_int_equal(met_family_count(), 1);
    assert_ptr_equal(met_family_find("orders_total"), f);
}

static void test_series_cap(void **state) {
    (void)state;
    static const char *const k[] = {"k"};
    struct met_family *f = met_family_new("many", "Many.", MET_GAUGE, k, 1, NULL, 0, NULL, err, sizeof err);
    assert_non_null(f);
    char v[16];
    for (int i = 0; i < MET_SERIES_MAX; i++) {
        snprintf(v, sizeof v, "%d", i);
        const char *vals[] = {v};
        struct met_series *s = met_series_get(f, vals);
        assert_non_null(s);
        met_set(s, i);
    }
    const char *again[] = {"7"};
    assert_true(met_value(met_series_get(f, again)) == 7.0); /* existing series still found */
    const char *more[] = {"one-too-many"};
    assert_null(met_series_get(f, more));
}

static void test_exposition(void **state) {
    (void)state;
    static const char *const kind[] = {"kind"};
    static const double b[] = {0.5, 1, 2.5};
    struct met_family *c = met_family_new("orders_total", "Orders placed.\nSecond line \\.", MET_COUNTER, kind, 1, NULL, 0, NULL, err, sizeof err);
    struct met_family *g = met_family_new("depth", "Depth.", MET_GAUGE, NULL, 0, NULL, 0, NULL, err, sizeof err);
    struct met_family *h = met_family_new("wait_seconds", "Waits.", MET_HISTOGRAM, kind, 1, b, 3, NULL, err, sizeof err);
    assert_non_null(c);
    assert_non_null(g);
    assert_non_null(h);
    const char *odd[] = {"a\"b\\c\nd"};
    const char *plain[] = {"x"};
    met_add(met_series_get(c, odd), 2);
    met_add(met_series_get(c, plain), 0.25);
    met_set(met_series0(g), -3);
    struct met_series *hs = met_series_get(h, plain);
    met_observe(hs, 0.5); /* on the bound: le="0.5" */
    met_observe(hs, 2);
    met_observe(hs, 100);
    assert_int_equal(met_hist_count(hs), 3);
    assert_true(met_hist_sum(hs) == 102.5);
    struct jbuf out;
    jbuf_init(&out);
    assert_int_equal(met_render(&out), 0);
    const char *want =
        "# HELP orders_total Orders placed.\\nSecond line \\\\.\n"
        "# TYPE orders_total counter\n"
        "orders_total{kind=\"a\\\"b\\\\c\\nd\"} 2\n"
        "orders_total{kind=\"x\"} 0.25\n"
        "# HELP depth Depth.\n"
        "# TYPE depth gauge\n"
        "depth -3\n"
        "# HELP wait_seconds Waits.\n"
        "# TYPE wait_seconds histogram\n"
        "wait_seconds_bucket{kind=\"x\",le=\"0.5\"} 1\n"
        "wait_seconds_bucket{kind=\"x\",le=\"1\"} 1\n"
        "wait_seconds_bucket{kind=\"x\",le=\"2.5\"} 2\n"
        "wait_seconds_bucket{kind=\"x\",le=\"+Inf\"} 3\n"
        "wait_seconds_sum{kind=\"x\"} 102.5\n"
        "wait_seconds_count{kind=\"x\"} 3\n";
    assert_non_null(out.p);
    assert_string_equal(out.p, want);
    jbuf_free(&out);
}

static int collected;
static void collector(void *ud) { met_set(ud, ++collected); }

static void test_collectors_and_numbers(void **state) {
    (void)state;
    struct met_family *g = met_family_new("n", "N.", MET_GAUGE, NULL, 0, NULL, 0, NULL, err, sizeof err);
    assert_int_equal(met_collector_add(collector, met_series0(g)), 0);
    struct jbuf out;
    jbuf_init(&out);
    met_render(&out);
    met_render(&out);
    assert_non_null(strstr(out.p, "\nn 2\n"));
    jbuf_free(&out);
    /* the shortest text that reads back the same, and the special values */
    static const double vals[] = {0.1, 1e-7, 123456789012345678.0, 1.0 / 0.0, -1.0 / 0.0};
    static const char *const texts[] = {"n 0.1\n", "n 1e-07\n", "n 1.2345678901234568e+17\n", "n +Inf\n", "n -Inf\n"};
    struct met_family *v = met_family_new("v", "V.", MET_GAUGE, NULL, 0, NULL, 0, NULL, err, sizeof err);
    assert_non_null(v);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        met_set(met_series0(v), vals[i]);
        jbuf_init(&out);
        met_render(&out);
        char want[64];
        snprintf(want, sizeof want, "\nv %s", texts[i] + 2);
        assert_non_null(strstr(out.p, want));
        jbuf_free(&out);
    }
}

/* A renderer on another thread while this one adds series and observes: every exposition
 * must stay consistent (each histogram's +Inf bucket equal to its _count). */
static _Atomic int racing;

static void *render_loop(void *arg) {
    _Atomic int *renders = arg;
    while (racing) {
        struct jbuf out;
        jbuf_init(&out);
        if (met_render(&out) != 0) return NULL;
        /* for each _count line, the +Inf bucket just before it must hold the same number */
        for (char *p = strstr(out.p, "_count{"); p != NULL; p = strstr(p + 1, "_count{")) {
            char *sp = strchr(p, ' '); /* label values here have no space */
            unsigned long long count = strtoull(sp + 1, NULL, 10);
            char *inf = p;
            while (inf > out.p && strncmp(inf, "le=\"+Inf\"} ", 11) != 0) inf--;
            unsigned long long bucket = strtoull(inf + 11, NULL, 10);
            if (bucket != count) {
                jbuf_free(&out);
                *renders = -1;
                return NULL;
            }
        }
        jbuf_free(&out);
        (*renders)++;
    }
    return NULL;
}

static void test_concurrent_render(void **state) {
    (void)state;
    static const char *const k[] = {"k"};
    struct met_family *h = met_family_new("race_seconds", "Race.", MET_HISTOGRAM, k, 1, NULL, 0, NULL, err, sizeof err);
    assert_non_null(h);
    _Atomic int renders = 0;
    racing = 1;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, render_loop, &renders), 0);
    char v[16];
    for (int i = 0; i < 200000; i++) {
        snprintf(v, sizeof v, "%d", i % 300);
        const char *vals[] = {v};
        met_observe(met_series_get(h, vals), (double)(i % 17) / 3.0);
    }
    while (renders >= 0 && renders < 20) { /* let the renderer finish a few passes over it all */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    racing = 0;
    pthread_join(t, NULL);
    assert_true(renders >= 20); /* -1: an exposition with a +Inf bucket and a _count that differ */
    uint64_t total = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(v, sizeof v, "%d", i);
        const char *vals[] = {v};
        total += met_hist_count(met_series_get(h, vals));
    }
    assert_int_equal(total, 200000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_teardown(test_declarations, teardown),
        cmocka_unit_test_teardown(test_series_cap, teardown),
        cmocka_unit_test_teardown(test_exposition, teardown),
        cmocka_unit_test_teardown(test_collectors_and_numbers, teardown),
        cmocka_unit_test_teardown(test_concurrent_render, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
