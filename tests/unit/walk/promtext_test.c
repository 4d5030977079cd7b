/* promtext_test.c: the Prometheus text reader of proflab walk, on real expositions and on a
 * table of hostile input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "walk/promtext.h"

struct seen {
    int n;
    char names[8][64];
    char labels[8][256]; /* k=v;k=v */
    double values[8];
};

static int record(void *ud, const char *name, size_t nl, const struct prom_label *labels, int n, double v) {
    struct seen *s = ud;
    if (s->n == 8) return 0;
    snprintf(s->names[s->n], sizeof s->names[0], "%.*s", (int)nl, name);
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(s->labels[s->n] + o, sizeof s->labels[0] - o, "%s%.*s=%.*s", i ? ";" : "",
                              (int)labels[i].name_len, labels[i].name, (int)labels[i].value_len, labels[i].value);
    s->values[s->n++] = v;
    return 0;
}

static int parse(const char *text, struct seen *s, char *err) {
    memset(s, 0, sizeof *s);
    return prom_parse(text, strlen(text), record, s, err, 200);
}

static void test_exposition(void **state) {
    (void)state;
    struct seen s;
    char err[200];
    const char *text = "# HELP http_requests_total Requests.\n"
                       "# TYPE http_requests_total counter\n"
                       "http_requests_total{method=\"GET\",route=\"/api/health\",status=\"200\"} 1027\n"
                       "\n"
                       "lag_seconds_bucket{le=\"+Inf\"} 38\r\n"
                       "  spaced   2.5e-3   1700000000000\n"
                       "escaped{v=\"a\\\\b \\\"q\\\" \\n\"} NaN\n"
                       "neg -Inf";
    assert_int_equal(parse(text, &s, err), 0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.names[0], "http_requests_total");
    assert_string_equal(s.labels[0], "method=GET;route=/api/health;status=200");
    assert_true(s.values[0] == 1027);
    assert_string_equal(s.labels[1], "le=+Inf");
    assert_string_equal(s.names[2], "spaced");
    assert_true(fabs(s.values[2] - 0.0025) < 1e-12);
    assert_string_equal(s.labels[3], "v=a\\b \"q\" \n");
    assert_true(isnan(s.values[3]));
    assert_true(isinf(s.values[4]) && s.values[4] < 0);
}

static void test_hostile(void **state) {
    (void)state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"1metric 1", "a metric name"},
        {"metric", "a space before the value"},
        {"metric abc", "a number as the value"},
        {"metric 1 2 3", "nothing but a timestamp"},
        {"metric 1 12x", "nothing but a timestamp"},
        {"metric{ 1", "a label name"},
        {"metric{a} 1", "=\" after a label name"},
        {"metric{a=1} 1", "=\" after a label name"},
        {"metric{a=\"x} 1", "a closing quote"},
        {"metric{a=\"x\\q\"} 1", "as escapes"},
        {"metric{a=\"x\\", "an escape"},
        {"metric{a=\"x\" b=\"y\"} 1", ", or } after a label"},
        {"metric{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",i=\"1\",j=\"1\",k=\"1\",l=\"1\","
         "m=\"1\",n=\"1\",o=\"1\",p=\"1\",q=\"1\"} 1",
         "at most 16 labels"},
        {"metric 0x10", "a number as the value"},
        {"metric 1\nother", "line 2"},
        {"metric\t", "a space before the value"},
        {"metric 11111111111111111111111111111111111111111111111111111111111111111111111", "a number as the value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct seen s;
        char err[200] = "";
        int r = parse(cases[i].text, &s, err);
        if (r != -1 || strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu '%s': r=%d err='%s', want '%s'", i, cases[i].text, r, err, cases[i].why);
    }
}

static int stop_at_first(void *ud, const char *name, size_t nl, const struct prom_label *labels, int n, double v) {
    (void)name, (void)nl, (void)labels, (void)n, (void)v;
    ++*(int *)ud;
    return 7;
}

static void test_callback_stops(void **state) {
    (void)state;
    int calls = 0;
    char err[200];
    assert_int_equal(prom_parse("a 1\nb 2\n", 8, stop_at_first, &calls, err, sizeof err), 7);
    assert_int_equal(calls, 1);
}

static void test_not_terminated(void **state) {
    (void)state;
    /* the reader stays inside len: no NUL after the text */
    char buf[8];
    memcpy(buf, "abc 12345", 8); /* "abc 1234" without the last digit or a NUL */
    struct seen s;
    memset(&s, 0, sizeof s);
    char err[200];
    assert_int_equal(prom_parse(buf, sizeof buf, record, &s, err, sizeof err), 0);
    assert_true(s.values[0] == 1234);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_not_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
