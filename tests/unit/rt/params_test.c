/* params_test.c: params_parse against hostile and ordinary query strings, from a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/params.h"

/* A spec set like the scenarios' (event-loop-jam, memory-leak, listener-growth), plus the
 * remaining types: a free number, a ranged number, an enum and a required string. */
enum { P_MS, P_MB, P_FACTOR, P_RATIO, P_FLAG, P_MODE, P_NAME, N_SPECS };

static const struct param_spec specs[N_SPECS] = {
    [P_MS] = {.name = "ms", .type = PARAM_INTEGER, .has_min = 1, .has_max = 1, .min = 1, .max = 60000,
              .def = {.present = 1, .type = PARAM_INTEGER, .i = 2000, .n = 2000}},
    [P_MB] = {.name = "mb", .type = PARAM_INTEGER, .has_min = 1, .has_max = 1, .min = 1, .max = 1024,
              .def = {.present = 1, .type = PARAM_INTEGER, .i = 64, .n = 64}},
    [P_FACTOR] = {.name = "factor", .type = PARAM_NUMBER},
    [P_RATIO] = {.name = "ratio", .type = PARAM_NUMBER, .has_min = 1, .has_max = 1, .min = 0, .max = 1},
    [P_FLAG] = {.name = "flag", .type = PARAM_BOOLEAN, .def = {.present = 1, .type = PARAM_BOOLEAN, .b = 0}},
    [P_MODE] = {.name = "mode", .type = PARAM_STRING, .enums = {"fast", "slow"}, .n_enums = 2,
                .def = {.present = 1, .type = PARAM_STRING, .s = "fast", .len = 4}},
    [P_NAME] = {.name = "name", .type = PARAM_STRING, .required = 1, .has_max = 1, .max = 64},
};

/* What one parsed value must be. kind 0 ends the list. */
struct expect {
    int which;
    int kind; /* 'a' absent, 'i' integer, 'n' number, 'b' boolean, 's' string */
    long long i;
    double n;
    const char *s; /* for 's': exact bytes, length from slen or strlen */
    size_t slen;
};

struct pcase {
    const char *query; /* NULL: no query at all */
    int rc;
    const char *code;       /* expected err.code when rc == -1 */
    const char *has[3];     /* substrings err.message must contain */
    struct expect want[4];  /* values checked when rc == 0 (defaults are checked for every success) */
};

#define OK(q, ...) {q, 0, NULL, {NULL}, {__VA_ARGS__}}
#define ERR(q, c, ...) {q, -1, c, {__VA_ARGS__}, {{0}}}
#define I(w, v) {w, 'i', v, 0, NULL, 0}
#define N(w, v) {w, 'n', 0, v, NULL, 0}
#define B(w, v) {w, 'b', v, 0, NULL, 0}
#define S(w, v) {w, 's', 0, 0, v, sizeof(v) - 1}
#define ABSENT(w) {w, 'a', 0, 0, NULL, 0}

#define MS_RANGE "ms", "an integer from 1 to 60000"
#define MB_RANGE "mb", "an integer from 1 to 1024"

static const struct pcase cases[] = {
    /* defaults filled when absent; no default and not required: absent */
    OK("name=x", I(P_MS, 2000), I(P_MB, 64), ABSENT(P_FACTOR), ABSENT(P_RATIO)),
    OK("name=x", B(P_FLAG, 0), S(P_MODE, "fast"), S(P_NAME, "x")),
    /* missing required, with and without a query */
    ERR(NULL, "missing_parameter", "name", "required", "a string of at most 64 bytes"),
    ERR("", "missing_parameter", "name", "required"),
    ERR("ms=5", "missing_parameter", "name", "required"),
    /* ordinary values and both ends of the ranges */
    OK("ms=1&mb=1024&name=x", I(P_MS, 1), I(P_MB, 1024)),
    OK("ms=60000&mb=1&name=x", I(P_MS, 60000), I(P_MB, 1)),
    OK("name=x&ms=250", I(P_MS, 250), S(P_NAME, "x")),
    ERR("ms=0", "bad_parameter", MS_RANGE, "got '0'"),
    ERR("ms=60001", "bad_parameter", MS_RANGE, "got '60001'"),
    ERR("ms=-1", "bad_parameter", MS_RANGE),
    ERR("mb=0", "bad_parameter", MB_RANGE),
    ERR("mb=1025", "bad_parameter", MB_RANGE),
    /* not integers */
    ERR("ms=abc", "bad_parameter", MS_RANGE, "got 'abc'"),
    ERR("ms=1.5", "bad_parameter", MS_RANGE, "got '1.5'"),
    ERR("ms=1.0", "bad_parameter", MS_RANGE),
    ERR("ms=1e3", "bad_parameter", MS_RANGE, "got '1e3'"),
    ERR("ms=0x10", "bad_parameter", MS_RANGE),
    ERR("ms=inf", "bad_parameter", MS_RANGE),
    ERR("ms=nan", "bad_parameter", MS_RANGE),
    ERR("ms=12abc", "bad_parameter", MS_RANGE),
    ERR("ms=-", "bad_parameter", MS_RANGE),
    ERR("ms=--5", "bad_parameter", MS_RANGE),
    /* empty and bare */
    ERR("ms=", "bad_parameter", MS_RANGE, "got ''"),
    ERR("ms", "bad_parameter", MS_RANGE),
    ERR("ms=&name=x", "bad_parameter", MS_RANGE),
    /* repeated, even with the same value or a different spelling of the name */
    ERR("ms=1&ms=2", "repeated_parameter", "ms"),
    ERR("ms=5&ms=5", "repeated_parameter", "ms"),
    ERR("ms=5&%6Ds=6", "repeated_parameter", "ms"),
    /* -0 is zero: out of range for ms, a fine number */
    ERR("ms=-0", "bad_parameter", MS_RANGE, "got '-0'"),
    OK("factor=-0&name=x", N(P_FACTOR, 0.0)),
    /* a leading '+': raw it decodes to a space, encoded it is a plus sign; both refused */
    ERR("ms=+5", "bad_parameter", MS_RANGE, "got ' 5'"),
    ERR("ms=%2B5", "bad_parameter", MS_RANGE, "got '+5'"),
    ERR("factor=%2B1", "bad_parameter", "factor", "a number"),
    /* spaces anywhere */
    ERR("ms= 5", "bad_parameter", MS_RANGE),
    ERR("ms=5%20", "bad_parameter", MS_RANGE),
    ERR("ms=%205", "bad_parameter", MS_RANGE),
    ERR("ms=5+", "bad_parameter", MS_RANGE),
    ERR("factor=%201", "bad_parameter", "factor", "a number"),
    ERR("factor=1%09", "bad_parameter", "factor", "a number"),
    /* broken percent-encoding in values and in names */
    ERR("ms=%2", "bad_parameter", "ms", "percent-encoding", "'%2'"),
    ERR("ms=%zz", "bad_parameter", "ms", "percent-encoding", "'%zz'"),
    ERR("ms=%", "bad_parameter", "ms", "percent-encoding"),
    ERR("ms=5%g0", "bad_parameter", "ms", "percent-encoding"),
    ERR("name=x%", "bad_parameter", "name", "percent-encoding"),
    ERR("m%7=1", "bad_parameter", "percent-encoding"),
    ERR("%zz=1", "bad_parameter", "percent-encoding"),
    /* NUL in strings and names */
    ERR("name=a%00b", "bad_parameter", "name", "at most 64 bytes", "\\x00"),
    ERR("name=%00", "bad_parameter", "name", "\\x00"),
    ERR("ms%00=5", "unknown_parameter", "ms\\x00", "it accepts ms, mb"),
    /* huge numbers */
    ERR("ms=99999999999999999999", "bad_parameter", MS_RANGE),
    ERR("ms=9223372036854775807", "bad_parameter", MS_RANGE),
    ERR("ms=9223372036854775808", "bad_parameter", MS_RANGE),
    ERR("ms=-9223372036854775808", "bad_parameter", MS_RANGE),
    ERR("ms=-9223372036854775809", "bad_parameter", MS_RANGE),
    ERR("ms=18446744073709551617", "bad_parameter", MS_RANGE),
    OK("factor=99999999999999999999&name=x", N(P_FACTOR, 1e20)),
    ERR("factor=1e400", "bad_parameter", "factor", "a number"),
    ERR("factor=-1e400", "bad_parameter", "factor", "a number"),
    /* long and subnormal numbers are still numbers; past 127 characters the text is refused unread */
    OK("factor=1234567890123456789012345678901234567890123456789012345678901234567890&name=x",
       N(P_FACTOR, 1234567890123456789012345678901234567890123456789012345678901234567890.0)),
    OK("factor=1e-310&name=x", N(P_FACTOR, 1e-310)),
    ERR("factor=1234567890123456789012345678901234567890123456789012345678901234567890"
        "1234567890123456789012345678901234567890123456789012345678901234567890",
        "bad_parameter", "factor", "..."),
    /* exponents: refused for integers, accepted for numbers */
    OK("factor=1e3&name=x", N(P_FACTOR, 1000.0)),
    OK("factor=1E3&name=x", N(P_FACTOR, 1000.0)),
    OK("factor=2.5e-3&name=x", N(P_FACTOR, 0.0025)),
    OK("factor=1e%2B3&name=x", N(P_FACTOR, 1000.0)),
    OK("factor=.5&name=x", N(P_FACTOR, 0.5)),
    OK("factor=-7&name=x", N(P_FACTOR, -7.0)),
    OK("ratio=0&name=x", N(P_RATIO, 0.0)),
    OK("ratio=1&name=x", N(P_RATIO, 1.0)),
    OK("ratio=0.25&name=x", N(P_RATIO, 0.25)),
    ERR("ratio=1e3", "bad_parameter", "ratio", "a number from 0 to 1"),
    ERR("ratio=-0.001", "bad_parameter", "ratio", "a number from 0 to 1"),
    ERR("ratio=1.0000001", "bad_parameter", "ratio", "a number from 0 to 1"),
    /* not finite, hex and other spellings strtod would take */
    ERR("factor=inf", "bad_parameter", "factor", "a number"),
    ERR("factor=-inf", "bad_parameter", "factor", "a number"),
    ERR("factor=Infinity", "bad_parameter", "factor", "a number"),
    ERR("factor=nan", "bad_parameter", "factor", "a number"),
    ERR("factor=NAN(1)", "bad_parameter", "factor", "a number"),
    ERR("factor=0x10", "bad_parameter", "factor", "a number"),
    ERR("factor=0x1p3", "bad_parameter", "factor", "a number"),
    ERR("factor=1e", "bad_parameter", "factor", "a number"),
    ERR("factor=.", "bad_parameter", "factor", "a number"),
    ERR("factor=1.2.3", "bad_parameter", "factor", "a number"),
    ERR("factor=1-1", "bad_parameter", "factor", "a number"),
    ERR("factor=--1", "bad_parameter", "factor", "a number"),
    ERR("factor=", "bad_parameter", "factor", "a number"),
    /* booleans */
    OK("flag=true&name=x", B(P_FLAG, 1)),
    OK("flag=false&name=x", B(P_FLAG, 0)),
    OK("flag=1&name=x", B(P_FLAG, 1)),
    OK("flag=0&name=x", B(P_FLAG, 0)),
    ERR("flag=yes", "bad_parameter", "flag", "true, false, 1 or 0 (default false)"),
    ERR("flag=TRUE", "bad_parameter", "flag", "true, false, 1 or 0"),
    ERR("flag=2", "bad_parameter", "flag", "true, false, 1 or 0"),
    ERR("flag", "bad_parameter", "flag", "true, false, 1 or 0"),
    ERR("flag=", "bad_parameter", "flag", "true, false, 1 or 0"),
    /* enums: exact bytes */
    OK("mode=slow&name=x", S(P_MODE, "slow")),
    OK("mode=%73low&name=x", S(P_MODE, "slow")),
    ERR("mode=SLOW", "bad_parameter", "mode", "one of fast, slow (default fast)"),
    ERR("mode=slo", "bad_parameter", "mode", "one of fast, slow"),
    ERR("mode=slow%00", "bad_parameter", "mode", "one of fast, slow"),
    ERR("mode=slow+", "bad_parameter", "mode", "one of fast, slow"),
    /* strings: '+' is a space, %XX any byte, lengths counted after decoding */
    OK("name=hello+world", S(P_NAME, "hello world")),
    OK("name=a%2Bb", S(P_NAME, "a+b")),
    OK("name=%C3%A9t%c3%a9", S(P_NAME, "\xc3\xa9t\xc3\xa9")),
    OK("name=%26%3D%25", S(P_NAME, "&=%")),
    OK("name=a=b", S(P_NAME, "a=b")),
    OK("name=%ff%fe", S(P_NAME, "\xff\xfe")),
    OK("name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       S(P_NAME, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
    ERR("name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bad_parameter", "name",
        "a string of at most 64 bytes", "..."),
    ERR("name=", "bad_parameter", "name", "a string of at most 64 bytes"),
    /* unknown names */
    ERR("bogus=1", "unknown_parameter", "'bogus'", "it accepts ms, mb, factor, ratio, flag, mode, name"),
    ERR("MS=5", "unknown_parameter", "'MS'"),
    ERR("ms%20=5", "unknown_parameter", "'ms '"),
    ERR("ms+=5", "unknown_parameter", "'ms '"),
    ERR("=5", "unknown_parameter", "''"),
    ERR("name=x&bogus", "unknown_parameter", "'bogus'"),
    /* percent-encoded names */
    OK("%6Ds=7&name=x", I(P_MS, 7)),
    OK("m%73=8&%6e%61%6d%65=y", I(P_MS, 8), S(P_NAME, "y")),
    /* empty pairs tolerated */
    OK("ms=5&&name=x", I(P_MS, 5)),
    OK("&ms=5&name=x&", I(P_MS, 5)),
    OK("&&&name=x&&&", I(P_MS, 2000)),
    /* everything at once */
    OK("ms=10&mb=20&factor=-1.5&ratio=0.5&flag=1&mode=slow&name=all", I(P_MS, 10), I(P_MB, 20), N(P_FACTOR, -1.5),
       N(P_RATIO, 0.5)),
};

/* The query is copied to a heap block of exactly its length (no NUL after it) and the arena is
 * exactly qlen bytes, so that ASan sees any read or write past either. */
static int run_parse(const char *query, size_t qlen, struct param_value *out, struct param_error *err) {
    char *q = NULL, *arena = malloc(qlen ? qlen : 1);
    assert_non_null(arena);
    if (query != NULL) {
        q = malloc(qlen ? qlen : 1);
        assert_non_null(q);
        memcpy(q, query, qlen);
    }
    int rc = params_parse(specs, N_SPECS, q, qlen, out, arena, err);
    /* strings point into the arena: keep them readable for the checks, copy them out */
    for (int i = 0; i < N_SPECS; i++) {
        if (rc == 0 && out[i].present && out[i].type == PARAM_STRING && out[i].s != NULL) {
            char *copy = malloc(out[i].len + 1);
            assert_non_null(copy);
            memcpy(copy, out[i].s, out[i].len);
            copy[out[i].len] = '\0';
            out[i].s = copy;
        } else {
            out[i].s = NULL;
        }
    }
    free(q);
    free(arena);
    return rc;
}

static void free_strings(struct param_value *out) {
    for (int i = 0; i < N_SPECS; i++) free((void *)out[i].s);
}

static void check_message_printable(const char *query, const char *m) {
    size_t len = strnlen(m, sizeof((struct param_error *)0)->message);
    if (len == sizeof((struct param_error *)0)->message) fail_msg("%s: message not terminated", query);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] >= 0x7f)
            fail_msg("%s: message byte %zu is 0x%02x: %s", query, i, (unsigned char)m[i], m);
}

static void check_value(const char *q, const struct expect *e, const struct param_value *v) {
    const char *pname = specs[e->which].name;
    if (e->kind == 'a') {
        if (v->present) fail_msg("%s: %s should be absent", q, pname);
        return;
    }
    if (!v->present) fail_msg("%s: %s should be present", q, pname);
    switch (e->kind) {
    case 'i':
        assert_int_equal(v->type, PARAM_INTEGER);
        if (v->i != e->i) fail_msg("%s: %s = %lld, want %lld", q, pname, v->i, e->i);
        break;
    case 'n':
        assert_int_equal(v->type, PARAM_NUMBER);
        if (v->n != e->n) fail_msg("%s: %s = %.17g, want %.17g", q, pname, v->n, e->n);
        break;
    case 'b':
        assert_int_equal(v->type, PARAM_BOOLEAN);
        if (v->b != (int)e->i) fail_msg("%s: %s = %d, want %lld", q, pname, v->b, e->i);
        break;
    case 's':
        assert_int_equal(v->type, PARAM_STRING);
        if (v->len != e->slen || memcmp(v->s, e->s, e->slen) != 0)
            fail_msg("%s: %s = '%.*s' (%zu bytes), want '%s'", q, pname, (int)v->len, v->s, v->len, e->s);
        break;
    default: fail_msg("bad expectation kind %c", e->kind);
    }
}

static void test_table(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct pcase *t = &cases[c];
        const char *shown = t->query ? t->query : "(NULL)";
        struct param_value out[N_SPECS];
        struct param_error err;
        memset(out, 0xa5, sizeof out); /* garbage in: the parser must set every present flag */
        memset(&err, 0, sizeof err);
        int rc = run_parse(t->query, t->query ? strlen(t->query) : 0, out, &err);
        if (rc != t->rc)
            fail_msg("case %zu %s: rc %d, want %d (%s: %s)", c, shown, rc, t->rc, err.code ? err.code : "-", err.message);
        if (rc != 0) {
            assert_non_null(err.code);
            if (strcmp(err.code, t->code) != 0)
                fail_msg("case %zu %s: code %s, want %s (%s)", c, shown, err.code, t->code, err.message);
            check_message_printable(shown, err.message);
            for (int h = 0; h < 3 && t->has[h]; h++)
                if (strstr(err.message, t->has[h]) == NULL)
                    fail_msg("case %zu %s: message lacks \"%s\": %s", c, shown, t->has[h], err.message);
        } else {
            /* defaults and absences, unless the case names the parameter itself */
            static const struct expect defaults[] = {I(P_MS, 2000), I(P_MB, 64),     ABSENT(P_FACTOR),
                                                     ABSENT(P_RATIO), B(P_FLAG, 0), S(P_MODE, "fast")};
            for (size_t d = 0; d < sizeof defaults / sizeof defaults[0]; d++) {
                int named = strstr(t->query, specs[defaults[d].which].name) != NULL;
                for (int w = 0; w < 4 && t->want[w].kind && !named; w++) named = t->want[w].which == defaults[d].which;
                if (!named) check_value(shown, &defaults[d], &out[defaults[d].which]);
            }
            for (int w = 0; w < 4 && t->want[w].kind; w++) check_value(shown, &t->want[w], &out[t->want[w].which]);
            assert_true(out[P_NAME].present);
        }
        free_strings(out);
    }
    print_message("%zu query cases\n", sizeof cases / sizeof cases[0]);
}

/* -0 parses to a negative zero for numbers. */
static void test_negative_zero_number(void **state) {
    (void)state;
    struct param_value out[N_SPECS];
    struct param_error err;
    assert_int_equal(run_parse("factor=-0&name=x", 16, out, &err), 0);
    assert_true(out[P_FACTOR].n == 0.0 && signbit(out[P_FACTOR].n));
    free_strings(out);
}

/* Only qlen bytes are read: the rest of the buffer is not part of the query. */
static void test_qlen_bounds(void **state) {
    (void)state;
    struct param_value out[N_SPECS];
    struct param_error err;
    assert_int_equal(run_parse("name=x&ms=12", 11, out, &err), 0);
    assert_int_equal(out[P_MS].i, 1);
    free_strings(out);
    assert_int_equal(run_parse("name=x&ms=%41", 12, out, &err), -1); /* "%4" at the cut */
    assert_string_equal(err.code, "bad_parameter");
    free_strings(out);
    /* a non-NULL query with qlen 0 is an empty query */
    assert_int_equal(run_parse("name=x", 0, out, &err), -1);
    assert_string_equal(err.code, "missing_parameter");
    free_strings(out);
}

/* The arena of exactly qlen bytes suffices for the longest decodings (run_parse sizes it so). */
static void test_arena_exact(void **state) {
    (void)state;
    struct param_value out[N_SPECS];
    struct param_error err;
    char q[600];
    int n = snprintf(q, sizeof q, "name=");
    for (int i = 0; i < 64; i++) n += snprintf(q + n, sizeof q - (size_t)n, "+");
    assert_int_equal(run_parse(q, (size_t)n, out, &err), 0);
    assert_int_equal(out[P_NAME].len, 64);
    for (int i = 0; i < 64; i++) assert_int_equal(out[P_NAME].s[i], ' ');
    free_strings(out);
}

/* Hostile bytes are shown escaped and cut short: the message stays printable and bounded. */
static void test_message_quoting(void **state) {
    (void)state;
    struct param_value out[N_SPECS];
    struct param_error err;
    const char *q = "ms=%01%7f%ff'\\";
    assert_int_equal(run_parse(q, strlen(q), out, &err), -1);
    assert_string_equal(err.code, "bad_parameter");
    check_message_printable(q, err.message);
    assert_non_null(strstr(err.message, "got '\\x01\\x7f\\xff\\x27\\x5c'"));

    char big[2000];
    memcpy(big, "bogus", 5);
    memset(big + 5, 'z', sizeof big - 5);
    assert_int_equal(run_parse(big, sizeof big, out, &err), -1);
    assert_string_equal(err.code, "unknown_parameter");
    check_message_printable("big", err.message);
    assert_non_null(strstr(err.message, "..."));
    assert_true(strlen(err.message) < 300);

    char hostile[1200];
    int n = snprintf(hostile, sizeof hostile, "ms=");
    while ((size_t)n + 3 < sizeof hostile) n += snprintf(hostile + n, sizeof hostile - (size_t)n, "%%01");
    assert_int_equal(run_parse(hostile, (size_t)n, out, &err), -1);
    check_message_printable("hostile", err.message);
    assert_non_null(strstr(err.message, "1 to 60000"));
}

/* A spec set with no parameters: any name is unknown, and the message says so. */
static void test_no_params(void **state) {
    (void)state;
    struct param_error err;
    char arena[16];
    assert_int_equal(params_parse(NULL, 0, NULL, 0, NULL, arena, &err), 0);
    assert_int_equal(params_parse(NULL, 0, "&&", 2, NULL, arena, &err), 0);
    assert_int_equal(params_parse(NULL, 0, "x=1", 3, NULL, arena, &err), -1);
    assert_string_equal(err.code, "unknown_parameter");
    assert_non_null(strstr(err.message, "it takes no parameters"));
}

static void test_parse_value(void **state) {
    (void)state;
    struct param_value v;
    struct param_error err;
    assert_int_equal(params_parse_value(&specs[P_MS], "42", 2, &v, &err), 0);
    assert_int_equal(v.i, 42);
    assert_true(v.n == 42.0);
    assert_int_equal(params_parse_value(&specs[P_MS], "42", 1, &v, &err), 0); /* len, not strlen */
    assert_int_equal(v.i, 4);
    assert_int_equal(params_parse_value(&specs[P_MS], "4\0" "2", 3, &v, &err), -1);
    assert_string_equal(err.code, "bad_parameter");
    assert_int_equal(params_parse_value(&specs[P_MODE], "fast", 4, &v, &err), 0);
    assert_int_equal(params_parse_value(&specs[P_MODE], "fastfast", 4, &v, &err), 0);
    assert_int_equal(v.len, 4);

    /* a string longer than PARAM_STRING_MAX is refused even without a declared maximum */
    static const struct param_spec free_text = {.name = "text", .type = PARAM_STRING};
    char *s = malloc(PARAM_STRING_MAX + 1);
    assert_non_null(s);
    memset(s, 'a', PARAM_STRING_MAX + 1);
    assert_int_equal(params_parse_value(&free_text, s, PARAM_STRING_MAX, &v, &err), 0);
    assert_int_equal(params_parse_value(&free_text, s, PARAM_STRING_MAX + 1, &v, &err), -1);
    free(s);

    /* integers over the whole long long range when the spec has no bounds */
    static const struct param_spec wide = {.name = "n", .type = PARAM_INTEGER};
    assert_int_equal(params_parse_value(&wide, "9223372036854775807", 19, &v, &err), 0);
    assert_true(v.i == 9223372036854775807LL);
    assert_int_equal(params_parse_value(&wide, "-9223372036854775808", 20, &v, &err), 0);
    assert_true(v.i == -9223372036854775807LL - 1);
    assert_int_equal(params_parse_value(&wide, "9223372036854775808", 19, &v, &err), -1);
    assert_int_equal(params_parse_value(&wide, "-9223372036854775809", 20, &v, &err), -1);
    assert_int_equal(params_parse_value(&wide, "-0", 2, &v, &err), 0);
    assert_int_equal(v.i, 0);
}

static void describe_is(const struct param_spec *p, const char *want) {
    char out[256];
    memset(out, 'X', sizeof out);
    params_describe(p, out, sizeof out);
    if (strcmp(out, want) != 0) fail_msg("describe %s: \"%s\", want \"%s\"", p->name, out, want);
}

static void test_describe(void **state) {
    (void)state;
    describe_is(&specs[P_MS], "an integer from 1 to 60000 (default 2000)");
    describe_is(&specs[P_MB], "an integer from 1 to 1024 (default 64)");
    describe_is(&specs[P_FACTOR], "a number");
    describe_is(&specs[P_RATIO], "a number from 0 to 1");
    describe_is(&specs[P_FLAG], "true, false, 1 or 0 (default false)");
    describe_is(&specs[P_MODE], "one of fast, slow (default fast)");
    describe_is(&specs[P_NAME], "a string of at most 64 bytes");

    const struct param_spec more[] = {
        {.name = "a", .type = PARAM_INTEGER, .has_min = 1, .min = 0},
        {.name = "b", .type = PARAM_INTEGER, .has_max = 1, .max = -5},
        {.name = "c", .type = PARAM_NUMBER, .has_min = 1, .has_max = 1, .min = 0.5, .max = 2.25,
         .def = {.present = 1, .type = PARAM_NUMBER, .n = 0.75}},
        {.name = "d", .type = PARAM_NUMBER, .has_min = 1, .min = -1e300},
        {.name = "e", .type = PARAM_BOOLEAN},
        {.name = "f", .type = PARAM_BOOLEAN, .def = {.present = 1, .type = PARAM_BOOLEAN, .b = 1}},
        {.name = "g", .type = PARAM_STRING, .has_min = 1, .has_max = 1, .min = 1, .max = 8},
        {.name = "h", .type = PARAM_STRING, .has_min = 1, .min = 3},
        {.name = "i", .type = PARAM_STRING, .def = {.present = 1, .type = PARAM_STRING, .s = "hi", .len = 2}},
        {.name = "j", .type = PARAM_STRING, .enums = {"one"}, .n_enums = 1},
    };
    describe_is(&more[0], "an integer of at least 0");
    describe_is(&more[1], "an integer of at most -5");
    describe_is(&more[2], "a number from 0.5 to 2.25 (default 0.75)");
    describe_is(&more[3], "a number of at least -1e+300");
    describe_is(&more[4], "true, false, 1 or 0");
    describe_is(&more[5], "true, false, 1 or 0 (default true)");
    describe_is(&more[6], "a string of 1 to 8 bytes");
    describe_is(&more[7], "a string of at least 3 bytes");
    describe_is(&more[8], "a string (default hi)");
    describe_is(&more[9], "one of one");

    /* a short buffer: cut and terminated, nothing written past it */
    char small[64];
    memset(small, 'X', sizeof small);
    params_describe(&specs[P_MS], small, 8);
    assert_string_equal(small, "an inte");
    assert_int_equal(small[8], 'X');
    params_describe(&specs[P_MODE], small, 1);
    assert_string_equal(small, "");
    small[0] = 'Y';
    params_describe(&specs[P_MS], small, 0);
    assert_int_equal(small[0], 'Y');

    assert_string_equal(params_type_name(PARAM_INTEGER), "integer");
    assert_string_equal(params_type_name(PARAM_NUMBER), "number");
    assert_string_equal(params_type_name(PARAM_STRING), "string");
    assert_string_equal(params_type_name(PARAM_BOOLEAN), "boolean");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),        cmocka_unit_test(test_negative_zero_number),
        cmocka_unit_test(test_qlen_bounds),  cmocka_unit_test(test_arena_exact),
        cmocka_unit_test(test_message_quoting), cmocka_unit_test(test_no_params),
        cmocka_unit_test(test_parse_value),  cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
