/* json_test.c: the JSON writer; every text it produces is read back by jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "jansson_check.h"

/* Parses text with jansson (any top-level value, \u0000 allowed) or fails the test. */
static jc_value *must_parse(const char *text, size_t len) {
    char why[200];
    jc_value *j = jc_parse(text, len, why, sizeof why);
    if (j == NULL) fail_msg("not JSON (%s): %.*s", why, (int)(len > 200 ? 200 : len), text);
    return j;
}

/* json_string of in[0..n) must be exactly `want` as text, valid JSON, and decode to `decoded`. */
static void string_case(const char *in, size_t n, const char *want, const char *decoded, size_t dlen) {
    struct jbuf b;
    jbuf_init(&b);
    json_string(&b, in, n);
    assert_int_equal(b.oom, 0);
    assert_int_equal(strlen(b.p), b.len);
    if (want != NULL && strcmp(b.p, want) != 0) fail_msg("json_string: %s, want %s", b.p, want);
    jc_value *j = must_parse(b.p, b.len);
    size_t got_len;
    const char *got = jc_string(j, &got_len);
    assert_non_null(got);
    if (got_len != dlen || memcmp(got, decoded, dlen) != 0)
        fail_msg("%s decodes to %zu bytes, want %zu", b.p, got_len, dlen);
    jc_free(j);
    jbuf_free(&b);
}

#define SAME(lit, text) string_case(lit, sizeof(lit) - 1, text, lit, sizeof(lit) - 1)
#define FIXED(lit, text, dec) string_case(lit, sizeof(lit) - 1, text, dec, sizeof(dec) - 1)

static void test_string_escapes(void **state) {
    (void)state;
    SAME("", "\"\"");
    SAME("plain", "\"plain\"");
    SAME("say \"hi\"", "\"say \\\"hi\\\"\"");
    SAME("back\\slash", "\"back\\\\slash\"");
    SAME("line\nnext", "\"line\\nnext\"");
    SAME("tab\there", "\"tab\\there\"");
    SAME("cr\r", "\"cr\\r\"");
    SAME("\x01\x1f", "\"\\u0001\\u001f\"");
    SAME("\b\f", "\"\\u0008\\u000c\"");
    SAME("a\0b", "\"a\\u0000b\"");
    SAME("\x7f", "\"\x7f\"");   /* DEL is not a control character for JSON */
    SAME("/</script>", "\"/</script>\"");
    SAME("\"\\\n\"", "\"\\\"\\\\\\n\\\"\"");
    /* every control character alone */
    for (int c = 0; c < 0x20; c++) {
        char in[1] = {(char)c};
        string_case(in, 1, NULL, in, 1);
    }
}

static void test_string_utf8(void **state) {
    (void)state;
    /* valid multi-byte sequences pass through unchanged, at every length and at the edges */
    SAME("\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\"");
    SAME("\xc2\x80", "\"\xc2\x80\"");                 /* U+0080 */
    SAME("\xdf\xbf", "\"\xdf\xbf\"");                 /* U+07FF */
    SAME("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");         /* U+0800 */
    SAME("\xe2\x82\xac", "\"\xe2\x82\xac\"");         /* euro */
    SAME("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");         /* U+D7FF */
    SAME("\xee\x80\x80", "\"\xee\x80\x80\"");         /* U+E000 */
    SAME("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");         /* U+FFFF */
    SAME("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\""); /* U+10000 */
    SAME("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* emoji */
    SAME("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
    SAME("\xe2\x80\xa8", "\"\xe2\x80\xa8\"");         /* U+2028 is valid JSON */

#define FFFD "\xef\xbf\xbd"
    /* invalid: one U+FFFD per byte that cannot start or continue a valid sequence */
    FIXED("\x80", "\"\\ufffd\"", FFFD);                                 /* lone continuation */
    FIXED("a\xbf" "b", "\"a\\ufffdb\"", "a" FFFD "b");
    FIXED("\xc0\x80", "\"\\ufffd\\ufffd\"", FFFD FFFD);                 /* overlong NUL */
    FIXED("\xc1\xbf", "\"\\ufffd\\ufffd\"", FFFD FFFD);                 /* overlong */
    FIXED("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD); /* overlong '/' */
    FIXED("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD FFFD);
    FIXED("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD); /* surrogate D800 */
    FIXED("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD); /* surrogate DFFF */
    FIXED("\xed\xa0\xbd\xed\xb8\x80", NULL, FFFD FFFD FFFD FFFD FFFD FFFD); /* CESU-8 pair */
    FIXED("\xf4\x90\x80\x80", NULL, FFFD FFFD FFFD FFFD);                   /* above U+10FFFF */
    FIXED("\xf5\x80\x80\x80", NULL, FFFD FFFD FFFD FFFD);
    FIXED("\xe2\x82", "\"\\ufffd\\ufffd\"", FFFD FFFD);                 /* truncated at the end */
    FIXED("\xe2\x82x", "\"\\ufffd\\ufffdx\"", FFFD FFFD "x");           /* truncated in the middle */
    FIXED("\xf0\x9f\x98", NULL, FFFD FFFD FFFD);
    FIXED("\xc3", "\"\\ufffd\"", FFFD);
    FIXED("\xff", "\"\\ufffd\"", FFFD);
    FIXED("\xfe\xff", "\"\\ufffd\\ufffd\"", FFFD FFFD);
    FIXED("ok\xffok\xc3\xa9", "\"ok\\ufffdok\xc3\xa9\"", "ok" FFFD "ok\xc3\xa9");
    FIXED("\xc3\"", "\"\\ufffd\\\"\"", FFFD "\""); /* the quote after a broken lead is still escaped */
    FIXED("\xe2\n", "\"\\ufffd\\n\"", FFFD "\n");
#undef FFFD
}

/* Every byte value in every position of a short string: always valid JSON. */
static void test_string_all_bytes(void **state) {
    (void)state;
    for (int a = 0; a < 256; a++) {
        for (int c = 0; c < 256; c += 3) {
            unsigned char in[4] = {(unsigned char)a, (unsigned char)c, (unsigned char)(a ^ c), 0x80};
            struct jbuf b;
            jbuf_init(&b);
            json_string(&b, (const char *)in, sizeof in);
            jc_free(must_parse(b.p, b.len));
            jbuf_free(&b);
        }
    }
}

static void number_case(double v, const char *want) {
    struct jbuf b;
    jbuf_init(&b);
    json_number(&b, v);
    if (want != NULL && strcmp(b.p, want) != 0) fail_msg("json_number(%.17g): %s, want %s", v, b.p, want);
    jc_value *j = must_parse(b.p, b.len);
    if (isfinite(v)) {
        assert_true(jc_type_of(j) == JC_INTEGER || jc_type_of(j) == JC_REAL);
        double back = jc_number(j);
        /* jansson reads "-0" as the integer 0, so the sign of zero is checked on the text */
        int sign_ok = v != 0 || (signbit(v) != 0) == (b.p[0] == '-');
        if (back != v || !sign_ok) fail_msg("%s reads back as %.17g, want %.17g", b.p, back, v);
    } else {
        assert_int_equal(jc_type_of(j), JC_NULL);
    }
    jc_free(j);
    jbuf_free(&b);
}

static void test_number(void **state) {
    (void)state;
    number_case(0.0, "0");
    number_case(-0.0, "-0");
    number_case(0.1, "0.1");
    number_case(0.1 + 0.2, "0.30000000000000004");
    number_case(1.0 / 3.0, "0.3333333333333333");
    number_case(1e300, "1e+300");
    number_case(-1e300, "-1e+300");
    number_case(1e-300, "1e-300");
    number_case(1, "1");
    number_case(-42, "-42");
    number_case(123456789012345.0, "123456789012345");
    number_case(9007199254740993.0, NULL); /* 2^53+1 rounds to 2^53 */
    number_case(1e21, "1e+21");
    number_case(DBL_MAX, "1.7976931348623157e+308");
    number_case(DBL_MIN, NULL);
    number_case(4.9406564584124654e-324, NULL); /* the smallest subnormal */
    number_case(2.5, "2.5");
    number_case(NAN, "null");
    number_case(-NAN, "null");
    number_case(INFINITY, "null");
    number_case(-INFINITY, "null");
    /* a spread of values round trips */
    double v = 1.0;
    for (int i = 0; i < 2000; i++) {
        number_case(v, NULL);
        number_case(-v, NULL);
        v *= -1.37;
        if (fabs(v) > 1e300) v = 1e-300;
    }
}

static void test_integer(void **state) {
    (void)state;
    const struct {
        long long v;
        const char *want;
    } cases[] = {{0, "0"}, {-1, "-1"}, {42, "42"}, {9223372036854775807LL, "9223372036854775807"},
                 {-9223372036854775807LL - 1, "-9223372036854775808"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jbuf b;
        jbuf_init(&b);
        json_integer(&b, cases[i].v);
        assert_string_equal(b.p, cases[i].want);
        jc_value *j = must_parse(b.p, b.len);
        assert_int_equal(jc_type_of(j), JC_INTEGER);
        assert_true(jc_integer(j) == cases[i].v);
        jc_free(j);
        jbuf_free(&b);
    }
}

static void test_error(void **state) {
    (void)state;
    struct jbuf b;
    jbuf_init(&b);
    json_error(&b, "bad_parameter", "ms must be an integer from 1 to 60000; got '\"x\\'\n\xff");
    jc_value *j = must_parse(b.p, b.len);
    size_t n;
    assert_int_equal(jc_type_of(j), JC_OBJECT);
    assert_int_equal(jc_size(j), 2);
    assert_string_equal(jc_string(jc_get(j, "error"), &n), "bad_parameter");
    assert_string_equal(jc_string(jc_get(j, "message"), &n),
                        "ms must be an integer from 1 to 60000; got '\"x\\'\n\xef\xbf\xbd");
    assert_string_equal(b.p, "{\"error\":\"bad_parameter\",\"message\":"
                             "\"ms must be an integer from 1 to 60000; got '\\\"x\\\\'\\n\\ufffd\"}");
    jc_free(j);
    jbuf_free(&b);

    jbuf_init(&b);
    json_error(&b, "", "");
    assert_string_equal(b.p, "{\"error\":\"\",\"message\":\"\"}");
    jc_free(must_parse(b.p, b.len));
    jbuf_free(&b);
}

/* A document far past the first allocation: an array of 200,000 entries mixing every writer,
 * then one string of 3 MiB, then one printf larger than its 256-byte stack buffer. */
static void test_large_growth(void **state) {
    (void)state;
    struct jbuf b;
    jbuf_init(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    jbuf_puts(&b, "[");
    for (int i = 0; i < 200000; i++) {
        if (i) jbuf_put(&b, ",", 1);
        switch (i % 4) {
        case 0: json_integer(&b, i); break;
        case 1: json_number(&b, i / 7.0); break;
        case 2: json_string(&b, "x\"\xe2\x82\xac\n", 6); break;
        case 3: jbuf_printf(&b, "{\"i\":%d,\"s\":\"%s\"}", i, "abc"); break;
        }
    }
    jbuf_puts(&b, "]");
    assert_int_equal(b.oom, 0);
    assert_true(b.cap > b.len);
    assert_int_equal(b.p[b.len], '\0');
    jc_value *j = must_parse(b.p, b.len);
    size_t n;
    assert_int_equal(jc_type_of(j), JC_ARRAY);
    assert_int_equal(jc_size(j), 200000);
    assert_true(jc_integer(jc_at(j, 199996)) == 199996);
    assert_true(jc_number(jc_at(j, 199997)) == 199997 / 7.0);
    assert_string_equal(jc_string(jc_at(j, 199998), &n), "x\"\xe2\x82\xac\n");
    assert_true(jc_integer(jc_get(jc_at(j, 199999), "i")) == 199999);
    jc_free(j);
    jbuf_free(&b);
    assert_null(b.p);

    size_t big = (size_t)3 << 20;
    char *s = malloc(big);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++) s[i] = (char)('a' + i % 26);
    s[12345] = '"';
    s[big - 1] = '\n';
    jbuf_init(&b);
    json_string(&b, s, big);
    assert_int_equal(b.len, big + 2 + 2); /* quotes, and one more byte each for the two escapes */
    j = must_parse(b.p, b.len);
    const char *got = jc_string(j, &n);
    assert_non_null(got);
    assert_int_equal(n, big);
    assert_memory_equal(got, s, big);
    jc_free(j);
    jbuf_free(&b);

    jbuf_init(&b);
    jbuf_puts(&b, "\"");
    jbuf_printf(&b, "%.*s", 100000, s + 20000); /* past the quote at 12345 */
    jbuf_puts(&b, "\"");
    assert_int_equal(b.len, 100002);
    assert_memory_equal(b.p + 1, s + 20000, 100000);
    assert_int_equal(b.p[b.len], '\0');
    jc_free(must_parse(b.p, b.len));
    jbuf_free(&b);
    free(s);
}

static void test_jbuf_basics(void **state) {
    (void)state;
    struct jbuf b;
    jbuf_init(&b);
    jbuf_put(&b, "", 0);
    assert_int_equal(b.len, 0);
    jbuf_put(&b, "ab", 2);
    jbuf_puts(&b, "cd");
    jbuf_printf(&b, "%d%s", 5, "e");
    assert_string_equal(b.p, "abcd5e");
    assert_int_equal(b.len, 6);
    jbuf_free(&b);
    jbuf_free(&b); /* freeing twice is harmless: the first free resets the buffer */
    assert_null(b.p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_escapes), cmocka_unit_test(test_string_utf8),
        cmocka_unit_test(test_string_all_bytes), cmocka_unit_test(test_number),
        cmocka_unit_test(test_integer),        cmocka_unit_test(test_error),
        cmocka_unit_test(test_large_growth),   cmocka_unit_test(test_jbuf_basics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
