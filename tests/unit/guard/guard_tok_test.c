/* guard_tok_test.c: the guard with derived tokens: the master token keeps its behaviour, derived
 * tokens get their own codes, production still refuses, and scopes decide per route. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "guard/guard.h"

#define MASTER "s3cret-token"
#define NOW 1790000000LL

static struct guard_verdict any(const struct guard *g, const char *cred, struct guard_auth *a) {
    return guard_check_any(g, cred, cred ? strlen(cred) : 0, NOW, a);
}

static void mint(struct guard *g, const char *scope, const char *art, int64_t iat, int64_t ttl, char *out) {
    const char *sc[2] = {scope, NULL};
    int n = 1;
    char buf[64];
    const char *comma = strchr(scope, ',');
    if (comma != NULL) {
        snprintf(buf, sizeof buf, "%.*s", (int)(comma - scope), scope);
        sc[0] = buf;
        sc[1] = comma + 1;
        n = 2;
    }
    assert_int_equal(tok_mint(&g->key, sc, n, art, iat, ttl, out, TOK_MAX_LEN), 0);
}

static void test_master_unchanged(void **state) {
    (void)state;
    struct guard g;
    struct guard_auth a;
    guard_init(&g, 1, MASTER, 0, 0);
    assert_int_equal(guard_tokens_init(&g, MASTER), 0);
    assert_int_equal(any(&g, MASTER, &a).status, 0);
    assert_true(a.master);
    assert_int_equal(any(&g, NULL, &a).status, 401);
    assert_string_equal(any(&g, NULL, &a).code, "missing_token");
    assert_string_equal(any(&g, "wrong", &a).code, "bad_token");
    assert_string_equal(any(&g, "pl1.garbage", &a).code, "bad_token");
    assert_int_equal(any(&g, MASTER, &a).status, 0);
    assert_int_equal(guard_allow(&a, "admin", NULL, 0).status, 0); /* master: everything */
    guard_tokens_free(&g);
    /* disabled: 404 before any token is looked at, derived or not */
    guard_init(&g, 0, MASTER, 0, 0);
    assert_int_equal(guard_tokens_init(&g, MASTER), 0);
    assert_int_equal(g.tokens, 0);
    assert_int_equal(any(&g, "pl1.x.y", &a).status, 404);
}

static void test_derived(void **state) {
    (void)state;
    struct guard g;
    struct guard_auth a;
    char t[TOK_MAX_LEN];
    guard_init(&g, 1, MASTER, 0, 0);
    assert_int_equal(guard_tokens_init(&g, MASTER), 0);
    mint(&g, "lab:event-loop-jam,artifacts:read", NULL, NOW, 900, t);
    assert_int_equal(any(&g, t, &a).status, 0);
    assert_false(a.master);
    assert_int_equal(guard_allow(&a, NULL, NULL, 0).status, 0);
    assert_int_equal(guard_allow(&a, "lab:event-loop-jam", NULL, 0).status, 0);
    assert_int_equal(guard_allow(&a, "artifacts:read", "x.bin", 5).status, 0);
    struct guard_verdict v = guard_allow(&a, "lab:memory-leak", NULL, 0);
    assert_int_equal(v.status, 403);
    assert_string_equal(v.code, "out_of_scope");
    assert_int_equal(guard_allow(&a, "admin", NULL, 0).status, 403);
    /* an unbound token in the URL is refused */
    a.via_url = 1;
    assert_int_equal(guard_allow(&a, "artifacts:read", "x.bin", 5).status, 401);

    /* expired and not yet valid */
    mint(&g, "lab:*", NULL, NOW - 1000, 900, t);
    assert_string_equal(any(&g, t, &a).code, "token_expired");
    mint(&g, "lab:*", NULL, NOW + 31, 900, t);
    assert_string_equal(any(&g, t, &a).code, "token_not_yet_valid");
    /* minted from another LAB_TOKEN */
    struct guard other;
    guard_init(&other, 1, "another", 0, 0);
    assert_int_equal(guard_tokens_init(&other, "another"), 0);
    mint(&other, "admin", NULL, NOW, 900, t);
    assert_string_equal(any(&g, t, &a).code, "bad_token");
    guard_tokens_free(&other);
    guard_tokens_free(&g);
}

static void test_bound_and_production(void **state) {
    (void)state;
    struct guard g;
    struct guard_auth a;
    char t[TOK_MAX_LEN];
    guard_init(&g, 1, MASTER, 0, 0);
    assert_int_equal(guard_tokens_init(&g, MASTER), 0);
    mint(&g, "artifacts:read", "a.bin", NOW, 900, t);
    assert_int_equal(any(&g, t, &a).status, 0);
    a.via_url = 1;
    assert_int_equal(guard_allow(&a, "artifacts:read", "a.bin", 5).status, 0);
    assert_int_equal(guard_allow(&a, "artifacts:read", "b.bin", 5).status, 403);
    assert_int_equal(guard_allow(&a, "artifacts:read", "a.bin2", 6).status, 403);
    assert_int_equal(guard_allow(&a, "artifacts:read", NULL, 0).status, 403); /* the list */
    assert_int_equal(guard_allow(&a, "admin", "a.bin", 5).status, 403);       /* delete */
    assert_int_equal(guard_allow(&a, "lab:x", NULL, 0).status, 403);
    assert_int_equal(guard_allow(&a, NULL, NULL, 0).status, 0); /* status, catalog */
    guard_tokens_free(&g);
    /* production: 403 after a valid derived token, 401 before */
    guard_init(&g, 1, MASTER, 1, 0);
    assert_int_equal(guard_tokens_init(&g, MASTER), 0);
    mint(&g, "admin", NULL, NOW, 900, t);
    assert_string_equal(any(&g, t, &a).code, "production");
    t[10] ^= 1;
    assert_string_equal(any(&g, t, &a).code, "bad_token");
    guard_tokens_free(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master_unchanged),
        cmocka_unit_test(test_derived),
        cmocka_unit_test(test_bound_and_production),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
