/* guard_test.c: who may use /api/lab: disabled, missing, wrong and right tokens, production. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

#define TOKEN "s3cret-token"

static void verdict_is(struct guard_verdict v, int status, const char *code) {
    if (v.status != status) fail_msg("status %d, want %d (%s)", v.status, status, v.code ? v.code : "-");
    if (code == NULL) {
        assert_null(v.code);
        return;
    }
    assert_non_null(v.code);
    assert_string_equal(v.code, code);
    assert_non_null(v.message);
    assert_true(strlen(v.message) > 0);
}

static struct guard_verdict check(const struct guard *g, const char *h) {
    return guard_check(g, h, h ? strlen(h) : 0);
}

/* Disabled whatever the caller sends: 404, before any token is looked at. */
static void test_disabled(void **state) {
    (void)state;
    struct guard g;
    const char *headers[] = {NULL, "", TOKEN, "wrong"};
    struct {
        int enable;
        const char *token;
    } setups[] = {{0, TOKEN}, {1, NULL}, {1, ""}, {0, NULL}, {0, ""}};
    for (size_t s = 0; s < sizeof setups / sizeof setups[0]; s++) {
        for (int prod = 0; prod < 2; prod++) {
            guard_init(&g, setups[s].enable, setups[s].token, prod, 0);
            assert_int_equal(g.enabled, 0);
            for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
                struct guard_verdict v = check(&g, headers[h]);
                verdict_is(v, 404, "lab_disabled");
                assert_non_null(strstr(v.message, "LAB_ENABLE"));
            }
        }
    }
}

static void test_missing(void **state) {
    (void)state;
    struct guard g;
    guard_init(&g, 1, TOKEN, 0, 0);
    assert_int_equal(g.enabled, 1);
    verdict_is(guard_check(&g, NULL, 0), 401, "missing_token");
    /* missing in production is still 401: the token is checked first */
    guard_init(&g, 1, TOKEN, 1, 0);
    verdict_is(guard_check(&g, NULL, 0), 401, "missing_token");
}

static void test_wrong(void **state) {
    (void)state;
    struct guard g;
    guard_init(&g, 1, TOKEN, 0, 0);
    /* shorter, equal length, longer, prefix, empty, case */
    const char *wrong[] = {"", "s", "s3cret-toke", "s3cret-tokeN", "S3CRET-TOKEN", "x3cret-token",
                           "s3cret-token ", " s3cret-token", "s3cret-token-and-then-some-more-bytes"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) verdict_is(check(&g, wrong[i]), 401, "bad_token");

    /* an embedded NUL counted by header_len: the whole header is compared, not a C string */
    const char with_nul[] = TOKEN "\0junk";
    verdict_is(guard_check(&g, with_nul, sizeof with_nul - 1), 401, "bad_token");
    const char nul_first[] = "\0" TOKEN;
    verdict_is(guard_check(&g, nul_first, sizeof nul_first - 1), 401, "bad_token");
    const char nul_end[] = TOKEN "\0";
    verdict_is(guard_check(&g, nul_end, sizeof nul_end - 1), 401, "bad_token");
    /* the right bytes but a length that cuts them short */
    verdict_is(guard_check(&g, TOKEN, strlen(TOKEN) - 1), 401, "bad_token");

    /* a long header (64 KiB) */
    size_t big = 65536;
    char *h = malloc(big);
    assert_non_null(h);
    memset(h, 'a', big);
    verdict_is(guard_check(&g, h, big), 401, "bad_token");
    free(h);
}

static void test_right(void **state) {
    (void)state;
    struct guard g;
    guard_init(&g, 1, TOKEN, 0, 0);
    verdict_is(check(&g, TOKEN), 0, NULL);
    /* not NUL-terminated: header_len is what counts */
    char *h = malloc(strlen(TOKEN));
    assert_non_null(h);
    memcpy(h, TOKEN, strlen(TOKEN));
    verdict_is(guard_check(&g, h, strlen(TOKEN)), 0, NULL);
    free(h);
    /* allow_prod without production changes nothing */
    guard_init(&g, 1, TOKEN, 0, 1);
    verdict_is(check(&g, TOKEN), 0, NULL);
    /* the guard keeps a digest, not a pointer to the caller's string */
    char tok[] = TOKEN;
    guard_init(&g, 1, tok, 0, 0);
    memset(tok, 'x', strlen(tok));
    verdict_is(check(&g, TOKEN), 0, NULL);
    verdict_is(check(&g, tok), 401, "bad_token");
}

static void test_production(void **state) {
    (void)state;
    struct guard g;
    guard_init(&g, 1, TOKEN, 1, 0);
    assert_int_equal(g.refuse_prod, 1);
    /* 403 only after a good token */
    struct guard_verdict v = check(&g, TOKEN);
    verdict_is(v, 403, "production");
    assert_non_null(strstr(v.message, "LAB_ALLOW_PROD"));
    /* a bad token in production is 401, not 403: nothing is told to an unauthenticated caller */
    verdict_is(check(&g, "wrong"), 401, "bad_token");
    verdict_is(check(&g, ""), 401, "bad_token");
    /* allowed */
    guard_init(&g, 1, TOKEN, 1, 1);
    assert_int_equal(g.refuse_prod, 0);
    verdict_is(check(&g, TOKEN), 0, NULL);
    verdict_is(check(&g, "wrong"), 401, "bad_token");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disabled), cmocka_unit_test(test_missing),    cmocka_unit_test(test_wrong),
        cmocka_unit_test(test_right),    cmocka_unit_test(test_production),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
