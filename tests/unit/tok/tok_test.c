/* tok_test.c: tokens minted and verified; every hostile form refused with the right result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok.h"

#define NOW 1790000000LL

static struct tok_key key;

static int setup(void **state) {
    (void)state;
    return tok_key_init(&key, "lab-secret", 10);
}
static int teardown(void **state) {
    (void)state;
    tok_key_free(&key);
    return 0;
}

static void mint(const char *scopes, const char *art, int64_t ttl, char *out, size_t outlen) {
    const char *sc[TOK_SCOPE_MAX];
    char buf[512];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", scopes);
    for (char *s = strtok(buf, ","); s != NULL; s = strtok(NULL, ",")) sc[n++] = s;
    assert_int_equal(tok_mint(&key, sc, n, art, NOW, ttl, out, outlen), 0);
}

static enum tok_result verify(const char *t, size_t len, int64_t now, struct tok_claims *c) {
    return tok_verify(&key, t, len, now, c);
}

/* "pl1.<b64 payload>.<mac>" signed with the real key, whatever the payload holds */
static void sign_raw(const unsigned char *p, size_t n, char *out, size_t outlen) {
    assert_true(4 + (n + 2) / 3 * 4 + 1 + 44 <= outlen);
    memcpy(out, "pl1.", 4);
    size_t len = 4 + tok_b64_encode(p, n, out + 4);
    unsigned char mac[32];
    unsigned int ml = 0;
    assert_non_null(HMAC(EVP_sha256(), key.k, sizeof key.k, (const unsigned char *)out, len, mac, &ml));
    out[len++] = '.';
    tok_b64_encode(mac, 32, out + len);
}

static void test_roundtrip(void **state) {
    (void)state;
    char t[TOK_MAX_LEN];
    struct tok_claims c;
    mint("lab:event-loop-jam,artifacts:read", NULL, 900, t, sizeof t);
    assert_memory_equal(t, "pl1.", 4);
    assert_int_equal(verify(t, strlen(t), NOW, &c), TOK_OK);
    assert_int_equal(c.n_scope, 2);
    assert_string_equal(c.scope[0], "lab:event-loop-jam");
    assert_string_equal(c.scope[1], "artifacts:read");
    assert_int_equal(c.iat, NOW);
    assert_int_equal(c.exp, NOW + 900);
    assert_string_equal(c.art, "");
    assert_true(tok_allows(&c, "lab:event-loop-jam"));
    assert_true(tok_allows(&c, "artifacts:read"));
    assert_false(tok_allows(&c, "lab:memory-leak"));
    assert_false(tok_allows(&c, "admin"));
    assert_false(tok_allows(&c, "inspect"));
    /* decode without a key says the same */
    struct tok_claims d;
    assert_int_equal(tok_decode(t, strlen(t), &d), TOK_OK);
    assert_int_equal(d.exp, c.exp);
    /* two mints differ (nonce) */
    char t2[TOK_MAX_LEN];
    mint("lab:event-loop-jam,artifacts:read", NULL, 900, t2, sizeof t2);
    assert_string_not_equal(t, t2);
    /* art, wildcard, admin */
    mint("artifacts:read", "cpu-2026.cpuprofile", 60, t, sizeof t);
    assert_int_equal(verify(t, strlen(t), NOW + 10, &c), TOK_OK);
    assert_string_equal(c.art, "cpu-2026.cpuprofile");
    mint("lab:*", NULL, 60, t, sizeof t);
    assert_int_equal(verify(t, strlen(t), NOW, &c), TOK_OK);
    assert_true(tok_allows(&c, "lab:anything"));
    assert_false(tok_allows(&c, "artifacts:read"));
    mint("admin", NULL, 60, t, sizeof t);
    assert_int_equal(verify(t, strlen(t), NOW, &c), TOK_OK);
    assert_true(tok_allows(&c, "lab:x") && tok_allows(&c, "artifacts:read") && tok_allows(&c, "inspect"));
    /* another secret's key does not verify it */
    struct tok_key other;
    assert_int_equal(tok_key_init(&other, "lab-secreT", 10), 0);
    assert_int_equal(tok_verify(&other, t, strlen(t), NOW, &c), TOK_BAD_MAC);
    tok_key_free(&other);
}

static void test_mint_refuses(void **state) {
    (void)state;
    char t[TOK_MAX_LEN];
    const char *bad[] = {"lab:", "lab:UPPER", "lab:a/b", "admin ", "root", "", "artifacts:write", "lab:**"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *s = bad[i];
        assert_int_equal(tok_mint(&key, &s, 1, NULL, NOW, 60, t, sizeof t), -1);
    }
    const char *ok = "inspect";
    assert_int_equal(tok_mint(&key, &ok, 1, NULL, NOW, 0, t, sizeof t), -1);
    assert_int_equal(tok_mint(&key, &ok, 1, NULL, NOW, 86401, t, sizeof t), -1);
    assert_int_equal(tok_mint(&key, &ok, 1, NULL, NOW, 86400, t, sizeof t), 0);
    assert_int_equal(tok_mint(&key, &ok, 0, NULL, NOW, 60, t, sizeof t), -1);
    const char *arts[] = {"../x", "a/b", ".hidden", "a\\b", "", "a..b"};
    for (size_t i = 0; i < sizeof arts / sizeof arts[0]; i++)
        assert_int_equal(tok_mint(&key, &ok, 1, arts[i], NOW, 60, t, sizeof t), -1);
    assert_int_equal(tok_mint(&key, &ok, 1, NULL, NOW, 60, t, 20), -1); /* no room */
}

/* Every single-byte change of a valid token is refused: each position, every other value. */
static void test_every_byte_change(void **state) {
    (void)state;
    char t[TOK_MAX_LEN], m[TOK_MAX_LEN];
    struct tok_claims c;
    mint("lab:event-loop-jam", "heap-1.heapsnapshot", 900, t, sizeof t);
    size_t len = strlen(t);
    long refused = 0;
    for (size_t i = 0; i < len; i++) {
        for (int v = 0; v < 256; v++) {
            if (v == (unsigned char)t[i]) continue;
            memcpy(m, t, len);
            m[i] = (char)v;
            enum tok_result r = verify(m, len, NOW, &c);
            if (r == TOK_OK) fail_msg("changing byte %zu to 0x%02x was accepted", i, v);
            refused++;
        }
    }
    assert_int_equal(refused, (long)len * 255);
    /* truncation at every length, and one byte appended */
    for (size_t n = 0; n < len; n++) assert_int_not_equal(verify(t, n, NOW, &c), TOK_OK);
    memcpy(m, t, len);
    m[len] = 'A';
    assert_int_not_equal(verify(m, len + 1, NOW, &c), TOK_OK);
}

static void test_malformed(void **state) {
    (void)state;
    char t[TOK_MAX_LEN], m[TOK_MAX_LEN * 2];
    struct tok_claims c;
    mint("inspect", NULL, 900, t, sizeof t);
    size_t len = strlen(t);
    /* wrong prefixes */
    const char *pre[] = {"pl2.", "PL1.", "pl1:", "xpl1"};
    for (size_t i = 0; i < 4; i++) {
        memcpy(m, t, len);
        memcpy(m, pre[i], 4);
        assert_int_equal(verify(m, len, NOW, &c), TOK_MALFORMED);
    }
    /* base64url with padding, standard alphabet, spaces */
    const char *bad[] = {"pl1.AAAA=.", "pl1.++//.", "pl1. AAA."};
    for (size_t i = 0; i < 3; i++) {
        snprintf(m, sizeof m, "%s%s", bad[i], t + len - 43);
        assert_int_not_equal(verify(m, strlen(m), NOW, &c), TOK_OK);
    }
    /* oversized: refused unread even with a valid tail */
    memset(m, 'A', sizeof m);
    memcpy(m, "pl1.", 4);
    memcpy(m + TOK_MAX_LEN + 1 - 44, t + len - 44, 44);
    assert_int_equal(verify(m, TOK_MAX_LEN + 1, NOW, &c), TOK_MALFORMED);
    /* non-canonical base64 tails */
    unsigned char out[8];
    assert_int_equal(tok_b64_decode("AB", 2, out, sizeof out), -1);  /* low bits set */
    assert_int_equal(tok_b64_decode("AA", 2, out, sizeof out), 1);
    assert_int_equal(tok_b64_decode("AAB", 3, out, sizeof out), -1);
    assert_int_equal(tok_b64_decode("A", 1, out, sizeof out), -1);
    assert_int_equal(tok_b64_decode("AAAAAAAAAAAA", 12, out, sizeof out), -1); /* no room */
}

/* Payloads signed with the right key but not the right shape. */
static void check_payload(const char *what, const unsigned char *p, size_t n, enum tok_result want) {
    char t[TOK_MAX_LEN * 2];
    struct tok_claims c;
    sign_raw(p, n, t, sizeof t);
    enum tok_result r = verify(t, strlen(t), NOW, &c);
    if (r != want) fail_msg("%s: got %s, want %s", what, tok_result_name(r), tok_result_name(want));
}

#define NONCE "\xc4\x10" "0123456789abcdef"
#define IAT "\xce\x6a\xb1\x3b\x80"     /* uint32 1790000000 */
#define EXP "\xce\x6a\xb1\x3f\x04"     /* 1790000900 */
#define P(s) (const unsigned char *)(s), sizeof(s) - 1

static void test_payload_shapes(void **state) {
    (void)state;
    check_payload("good", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_OK);
    check_payload("keys in another order",
                  P("\x85\xa5nonce" NONCE "\xa3" "exp" EXP "\xa3iat" IAT "\xa1v\x01\xa5scope\x91\xa7inspect"), TOK_OK);
    check_payload("v 2", P("\x85\xa1v\x02\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("v as string", P("\x85\xa1v\xa1\x31\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("scope as string", P("\x85\xa1v\x01\xa5scope\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("scope empty", P("\x85\xa1v\x01\xa5scope\x90\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("scope element int", P("\x85\xa1v\x01\xa5scope\x91\x01\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("unknown scope", P("\x85\xa1v\x01\xa5scope\x91\xa4root\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("nested array in scope", P("\x85\xa1v\x01\xa5scope\x91\x91\xa5" "admin\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("iat negative", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat\xff\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("iat float", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat\xcb\x41\xda\xac\x5e\xa0\x00\x00\x00\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("nonce as str", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce\xb0" "0123456789abcdef"), TOK_MALFORMED);
    check_payload("nonce short", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce\xc4\x02" "01"), TOK_MALFORMED);
    check_payload("missing nonce", P("\x84\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP), TOK_MALFORMED);
    check_payload("duplicate key", P("\x86\xa1v\x01\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("unknown key", P("\x86\xa1v\x01\xa1x\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("int key", P("\x85\x01\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("trailing byte", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE "\x00"), TOK_MALFORMED);
    check_payload("truncated map", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce"), TOK_MALFORMED);
    check_payload("art with ..", P("\x86\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE "\xa3" "art\xa5../ab"), TOK_MALFORMED);
    check_payload("art with NUL", P("\x86\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp" EXP "\xa5nonce" NONCE "\xa3" "art\xa3" "a\x00" "b"), TOK_MALFORMED);
    check_payload("lifetime over 24 h", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" IAT "\xa3" "exp\xce\x6a\xb2\x8d\x01\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("exp before iat", P("\x85\xa1v\x01\xa5scope\x91\xa7inspect\xa3iat" EXP "\xa3" "exp" IAT "\xa5nonce" NONCE), TOK_MALFORMED);
    check_payload("an array, not a map", P("\x91\x01"), TOK_MALFORMED);
    check_payload("empty", P(""), TOK_MALFORMED);
    /* deep nesting: 3000 nested arrays */
    unsigned char deep[3001];
    memset(deep, 0x91, 3000);
    deep[3000] = 0x01;
    check_payload("deep nesting", deep, sizeof deep, TOK_MALFORMED);
    /* a huge declared array length with no content */
    check_payload("huge array header", P("\xdd\xff\xff\xff\xff"), TOK_MALFORMED);
    check_payload("huge map header", P("\xdf\xff\xff\xff\xff"), TOK_MALFORMED);
    /* found by fuzz_tok: msgpack-c allocated what a nested map32 header declared (64 GB) */
    check_payload("nested map32 header", P("\x85\x91\x91\x91\x91\x91\x91\x91\xdf\x91\x41\x41\x41\x41"), TOK_MALFORMED);
    check_payload("ext32 header", P("\xc9\xff\xff\xff\xff\x01"), TOK_MALFORMED);
    check_payload("str32 header", P("\xdb\xff\xff\xff\xff"), TOK_MALFORMED);
}

static void test_time(void **state) {
    (void)state;
    char t[TOK_MAX_LEN];
    struct tok_claims c;
    mint("inspect", NULL, 900, t, sizeof t);
    size_t n = strlen(t);
    assert_int_equal(verify(t, n, NOW + 899, &c), TOK_OK);
    assert_int_equal(verify(t, n, NOW + 900 + TOK_SKEW_S - 1, &c), TOK_OK); /* skew */
    assert_int_equal(verify(t, n, NOW + 900 + TOK_SKEW_S, &c), TOK_EXPIRED);
    assert_int_equal(verify(t, n, NOW + 86400 * 10, &c), TOK_EXPIRED);
    assert_int_equal(verify(t, n, NOW - TOK_SKEW_S, &c), TOK_OK);
    assert_int_equal(verify(t, n, NOW - TOK_SKEW_S - 1, &c), TOK_NOT_YET);
    assert_int_equal(verify(t, n, 0, &c), TOK_NOT_YET);
}

static void test_scope_and_art_checks(void **state) {
    (void)state;
    assert_true(tok_scope_valid("lab:memory-leak", 15));
    assert_false(tok_scope_valid("lab:memory-leak\0", 16));
    assert_true(tok_art_valid("cpu-2026-11-26T02-41-11.123Z-1a2b3c4d.cpuprofile", 48));
    const char *bad[] = {"..", "../etc/passwd", "/etc/passwd", "a/b", "a\\b", ".x", "%2e%2e%2f", "a b", "a..b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_false(tok_art_valid(bad[i], strlen(bad[i])));
    assert_false(tok_art_valid("a\0b", 3));
    char longname[200];
    memset(longname, 'a', sizeof longname);
    assert_false(tok_art_valid(longname, TOK_ART_LEN));
    assert_true(tok_art_valid(longname, TOK_ART_LEN - 1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_mint_refuses),
        cmocka_unit_test(test_every_byte_change), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_payload_shapes), cmocka_unit_test(test_time),
        cmocka_unit_test(test_scope_and_art_checks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
