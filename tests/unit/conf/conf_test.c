/* conf_test.c: the environment through a fake getenv, `serve` options, and the number parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "conf/conf.h"

#define DEFAULT_SCENARIOS "/default/scenarios"

/* The fake environment: NAME=VALUE pairs, NULL-terminated. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name) {
    size_t n = strlen(name);
    for (const char *const *e = fake_env; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static int from_env(struct conf *c, char *err, const char *const *env) {
    fake_env = env;
    memset(err, 0, CONF_ERR_MAX);
    return conf_from_env(c, fake_getenv, DEFAULT_SCENARIOS, err);
}

#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_env_defaults(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(from_env(&c, err, ENV(NULL)), 0);
    assert_string_equal(c.listen.host, "127.0.0.1");
    assert_string_equal(c.listen.port, "3001");
    assert_int_equal(c.n_scenario_dirs, 1);
    assert_string_equal(c.scenario_dirs[0], DEFAULT_SCENARIOS);
    assert_int_equal(c.lab_enable, 0);
    assert_null(c.lab_token);
    assert_int_equal(c.production, 0);
    assert_int_equal(c.allow_prod, 0);
    assert_int_equal(c.tls_enabled, 0);
    assert_true(c.lua_max_bytes == (size_t)1024 << 20);
    assert_true(c.retained_max_bytes == conf_default_retained_max());
    assert_true(c.retained_max_bytes > 0);
    assert_int_equal(c.shutdown_grace_ms, 5000);
}

static void test_env_port(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(from_env(&c, err, ENV("PORT=8080")), 0);
    assert_string_equal(c.listen.port, "8080");
    assert_string_equal(c.listen.host, "127.0.0.1");
    assert_int_equal(from_env(&c, err, ENV("PORT=0")), 0);
    assert_string_equal(c.listen.port, "0");
    assert_int_equal(from_env(&c, err, ENV("PORT=65535")), 0);
    assert_string_equal(c.listen.port, "65535");
    assert_int_equal(from_env(&c, err, ENV("PORT=")), 0); /* empty: the default */
    assert_string_equal(c.listen.port, "3001");
    const char *bad[] = {"PORT=65536", "PORT=-1", "PORT=abc", "PORT=80x", "PORT= 80", "PORT=+80",
                         "PORT=99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(from_env(&c, err, ENV(bad[i])), -1);
        if (strstr(err, "PORT") == NULL || strstr(err, "0 to 65535") == NULL) fail_msg("%s: %s", bad[i], err);
    }
}

static void test_env_enable_token(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    const struct {
        const char *v;
        int on;
    } enables[] = {{"LAB_ENABLE=true", 1}, {"LAB_ENABLE=TRUE", 1}, {"LAB_ENABLE=True", 1}, {"LAB_ENABLE=yes", 0},
                   {"LAB_ENABLE=1", 0},    {"LAB_ENABLE=false", 0}, {"LAB_ENABLE=", 0},    {"LAB_ENABLE=true ", 0}};
    for (size_t i = 0; i < sizeof enables / sizeof enables[0]; i++) {
        assert_int_equal(from_env(&c, err, ENV(enables[i].v, "LAB_TOKEN=t")), 0);
        if (c.lab_enable != enables[i].on) fail_msg("%s: lab_enable %d", enables[i].v, c.lab_enable);
    }
    assert_int_equal(from_env(&c, err, ENV("LAB_ENABLE=true", "LAB_TOKEN=abc")), 0);
    assert_string_equal(c.lab_token, "abc");
    assert_int_equal(from_env(&c, err, ENV("LAB_ENABLE=true", "LAB_TOKEN=")), 0);
    assert_null(c.lab_token);
    assert_int_equal(from_env(&c, err, ENV("LAB_ENABLE=true")), 0);
    assert_null(c.lab_token);
}

static void test_env_production(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(from_env(&c, err, ENV("APP_ENV=production")), 0);
    assert_int_equal(c.production, 1);
    assert_string_equal(c.app_env, "production");
    assert_int_equal(from_env(&c, err, ENV("NODE_ENV=production")), 0);
    assert_int_equal(c.production, 1);
    assert_int_equal(from_env(&c, err, ENV("APP_ENV=development", "NODE_ENV=production")), 0);
    assert_int_equal(c.production, 1);
    assert_int_equal(from_env(&c, err, ENV("APP_ENV=staging", "NODE_ENV=development")), 0);
    assert_int_equal(c.production, 0);
    assert_int_equal(from_env(&c, err, ENV("APP_ENV=prod")), 0);
    assert_int_equal(c.production, 0);
    assert_int_equal(from_env(&c, err, ENV("APP_ENV=production", "LAB_ALLOW_PROD=true")), 0);
    assert_int_equal(c.production, 1);
    assert_int_equal(c.allow_prod, 1);
    assert_int_equal(from_env(&c, err, ENV("APP_ENV=production", "LAB_ALLOW_PROD=yes")), 0);
    assert_int_equal(c.allow_prod, 0);
}

static void test_env_sizes(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(from_env(&c, err, ENV("LAB_LUA_MAX_MB=5")), 0);
    assert_true(c.lua_max_bytes == (size_t)5 << 20);
    assert_int_equal(from_env(&c, err, ENV("LAB_LUA_MAX_MB=1048576")), 0);
    assert_true(c.lua_max_bytes == (size_t)1 << 40);
    assert_int_equal(from_env(&c, err, ENV("LAB_LUA_MAX_MB=")), 0);
    assert_true(c.lua_max_bytes == (size_t)1024 << 20);
    const char *bad[] = {"LAB_LUA_MAX_MB=0", "LAB_LUA_MAX_MB=abc", "LAB_LUA_MAX_MB=1048577", "LAB_LUA_MAX_MB=-5",
                         "LAB_LUA_MAX_MB=5MB", "LAB_LUA_MAX_MB=18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(from_env(&c, err, ENV(bad[i])), -1);
        if (strstr(err, "LAB_LUA_MAX_MB") == NULL || strstr(err, "1 to 1048576") == NULL) fail_msg("%s: %s", bad[i], err);
    }
    assert_int_equal(from_env(&c, err, ENV("LAB_MAX_RETAINED_MB=10")), 0);
    assert_true(c.retained_max_bytes == (size_t)10 << 20);
    assert_int_equal(from_env(&c, err, ENV("LAB_MAX_RETAINED_MB=0")), -1);
    assert_non_null(strstr(err, "LAB_MAX_RETAINED_MB"));

    assert_int_equal(from_env(&c, err, ENV("LAB_SHUTDOWN_GRACE_MS=0")), 0);
    assert_int_equal(c.shutdown_grace_ms, 0);
    assert_int_equal(from_env(&c, err, ENV("LAB_SHUTDOWN_GRACE_MS=600000")), 0);
    assert_int_equal(c.shutdown_grace_ms, 600000);
    assert_int_equal(from_env(&c, err, ENV("LAB_SHUTDOWN_GRACE_MS=")), 0);
    assert_int_equal(c.shutdown_grace_ms, 5000);
    const char *bad_grace[] = {"LAB_SHUTDOWN_GRACE_MS=600001", "LAB_SHUTDOWN_GRACE_MS=1s", "LAB_SHUTDOWN_GRACE_MS=-1",
                               "LAB_SHUTDOWN_GRACE_MS=4294967296"};
    for (size_t i = 0; i < sizeof bad_grace / sizeof bad_grace[0]; i++) {
        assert_int_equal(from_env(&c, err, ENV(bad_grace[i])), -1);
        if (strstr(err, "LAB_SHUTDOWN_GRACE_MS") == NULL || strstr(err, "0 to 600000") == NULL)
            fail_msg("%s: %s", bad_grace[i], err);
    }
}

/* An error message quotes at most 40 bytes of what it was given. */
static void test_env_error_bounded(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    char big[600] = "PORT=";
    memset(big + 5, '9', sizeof big - 6);
    big[sizeof big - 1] = '\0';
    assert_int_equal(from_env(&c, err, ENV(big)), -1);
    assert_true(strlen(err) < 120);
}

/* serve: argv[0] is "serve"; the conf comes from the environment first, as in main. */
static int serve(struct conf *c, char *err, int argc, char **argv) {
    assert_int_equal(from_env(c, err, ENV(NULL)), 0);
    return conf_parse_serve(c, argc, argv, err);
}

#define ARGV(...) ((char *[]){"serve", __VA_ARGS__, NULL})
#define SERVE(c, err, ...) serve(c, err, (int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(char *)) - 1, ARGV(__VA_ARGS__))

/* the watchdog's threshold and the admin listener (docs/metrics.md) */
static void test_watchdog_admin(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(from_env(&c, err, ENV(NULL)), 0);
    assert_int_equal(c.blocked_threshold_ms, 100);
    assert_int_equal(c.admin_enabled, 0);
    assert_int_equal(from_env(&c, err, ENV("LAB_BLOCKED_THRESHOLD_MS=10")), 0);
    assert_int_equal(c.blocked_threshold_ms, 10);
    assert_int_equal(from_env(&c, err, ENV("LAB_BLOCKED_THRESHOLD_MS=3600000")), 0);
    assert_int_equal(c.blocked_threshold_ms, 3600000);
    const char *bad[] = {"LAB_BLOCKED_THRESHOLD_MS=9", "LAB_BLOCKED_THRESHOLD_MS=3600001", "LAB_BLOCKED_THRESHOLD_MS=1e3",
                         "LAB_BLOCKED_THRESHOLD_MS=-100", "LAB_BLOCKED_THRESHOLD_MS=100ms"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(from_env(&c, err, ENV(bad[i])), -1);
        assert_non_null(strstr(err, "LAB_BLOCKED_THRESHOLD_MS must be from 10 to 3600000"));
    }
    assert_int_equal(SERVE(&c, err, "--admin-listen", "127.0.0.1:9464"), 0);
    assert_int_equal(c.admin_enabled, 1);
    assert_string_equal(c.admin_listen.host, "127.0.0.1");
    assert_string_equal(c.admin_listen.port, "9464");
    assert_string_equal(c.listen.port, "3001"); /* the main listener is untouched */
    assert_int_equal(SERVE(&c, err, "--admin-listen", "9464"), -1);
    assert_string_equal(err, "--admin-listen wants HOST:PORT, got '9464'");
    char *argv[] = {"serve", "--admin-listen", NULL};
    assert_int_equal(serve(&c, err, 2, argv), -1);
    assert_string_equal(err, "--admin-listen needs a value");
    assert_non_null(strstr(conf_serve_usage, "--admin-listen HOST:PORT"));
    assert_non_null(strstr(conf_serve_usage, "LAB_BLOCKED_THRESHOLD_MS"));
}

/* --inspect and LAB_INSPECT_REMOTE: off by default, an address like the others */
static void test_inspect(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(from_env(&c, err, ENV(NULL)), 0);
    assert_int_equal(c.inspect_enabled, 0);
    assert_int_equal(c.inspect_remote, 0);
    assert_int_equal(from_env(&c, err, ENV("LAB_INSPECT_REMOTE=TRUE")), 0);
    assert_int_equal(c.inspect_remote, 1);
    assert_int_equal(from_env(&c, err, ENV("LAB_INSPECT_REMOTE=yes")), 0);
    assert_int_equal(c.inspect_remote, 0); /* only true opens it */
    assert_int_equal(SERVE(&c, err, "--inspect", "127.0.0.1:9229"), 0);
    assert_int_equal(c.inspect_enabled, 1);
    assert_string_equal(c.inspect_listen.host, "127.0.0.1");
    assert_string_equal(c.inspect_listen.port, "9229");
    assert_int_equal(c.admin_enabled, 0);
    assert_int_equal(SERVE(&c, err, "--inspect", "9229"), -1);
    assert_string_equal(err, "--inspect wants HOST:PORT, got '9229'");
    char *argv[] = {"serve", "--inspect", NULL};
    assert_int_equal(serve(&c, err, 2, argv), -1);
    assert_string_equal(err, "--inspect needs a value");
    assert_non_null(strstr(conf_serve_usage, "--inspect HOST:PORT"));
    assert_non_null(strstr(conf_serve_usage, "LAB_INSPECT_REMOTE"));
}

static void test_serve_none(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    char *argv[] = {"serve", NULL};
    assert_int_equal(serve(&c, err, 1, argv), 0);
    assert_string_equal(c.listen.host, "127.0.0.1");
    assert_string_equal(c.listen.port, "3001");
    assert_int_equal(c.tls_enabled, 0);
    assert_int_equal(c.n_scenario_dirs, 1);
}

static void test_serve_listen(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(SERVE(&c, err, "--listen", "0.0.0.0:8080"), 0);
    assert_string_equal(c.listen.host, "0.0.0.0");
    assert_string_equal(c.listen.port, "8080");
    assert_int_equal(SERVE(&c, err, "--listen", "[::1]:8080"), 0);
    assert_string_equal(c.listen.host, "::1");
    assert_string_equal(c.listen.port, "8080");
    assert_int_equal(SERVE(&c, err, "--listen", ":0"), 0);
    assert_string_equal(c.listen.host, "0.0.0.0");
    assert_string_equal(c.listen.port, "0");
    assert_int_equal(SERVE(&c, err, "--listen", "localhost:65535"), 0);
    assert_string_equal(c.listen.host, "localhost");
    assert_int_equal(SERVE(&c, err, "--listen", "[fe80::1%eth0]:443"), 0);
    assert_string_equal(c.listen.host, "fe80::1%eth0");
    /* the last --listen wins */
    assert_int_equal(SERVE(&c, err, "--listen", ":1", "--listen", ":2"), 0);
    assert_string_equal(c.listen.port, "2");

    const char *bad[] = {"8080",       "localhost",  "host:",      "host:65536", "host:-1", "::1:8080",
                         "[::1]8080", "[::1:8080", "host:80x",   "host: 80",   "",        ":",
                         "h:99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"serve", "--listen", (char *)bad[i], NULL};
        assert_int_equal(serve(&c, err, 3, argv), -1);
        if (strstr(err, "--listen") == NULL || strstr(err, "HOST:PORT") == NULL) fail_msg("%s: %s", bad[i], err);
    }
}

static void test_parse_addr(void **state) {
    (void)state;
    struct conf_addr a;
    /* a host of 255 bytes fits, 256 does not */
    char s[300];
    memset(s, 'h', 255);
    strcpy(s + 255, ":80");
    assert_int_equal(conf_parse_addr(&a, s), 0);
    assert_int_equal(strlen(a.host), 255);
    memset(s, 'h', 256);
    strcpy(s + 256, ":80");
    assert_int_equal(conf_parse_addr(&a, s), -1);
    assert_int_equal(conf_parse_addr(&a, "[::]:9"), 0);
    assert_string_equal(a.host, "::");
    assert_string_equal(a.port, "9");
    assert_int_equal(conf_parse_addr(&a, "127.0.0.1:00080"), 0);
    assert_string_equal(a.port, "80");
}

static void test_serve_tls(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(SERVE(&c, err, "--tls-listen", ":8443"), -1);
    assert_non_null(strstr(err, "--tls-cert"));
    assert_int_equal(SERVE(&c, err, "--tls-listen", ":8443", "--tls-cert", "c.pem"), -1);
    assert_int_equal(SERVE(&c, err, "--tls-listen", ":8443", "--tls-key", "k.pem"), -1);

    assert_int_equal(SERVE(&c, err, "--tls-listen", ":8443", "--tls-self-signed"), 0);
    assert_int_equal(c.tls_enabled, 1);
    assert_int_equal(c.tls_self_signed, 1);
    assert_string_equal(c.tls_listen.host, "0.0.0.0");
    assert_string_equal(c.tls_listen.port, "8443");
    /* the flag takes no value: what follows it is the next option */
    assert_int_equal(SERVE(&c, err, "--tls-self-signed", "--tls-listen", "[::1]:8443", "--listen", ":1"), 0);
    assert_int_equal(c.tls_self_signed, 1);
    assert_string_equal(c.tls_listen.host, "::1");
    assert_string_equal(c.listen.port, "1");

    assert_int_equal(SERVE(&c, err, "--tls-listen", ":8443", "--tls-cert", "c.pem", "--tls-key", "k.pem"), 0);
    assert_string_equal(c.tls_cert, "c.pem");
    assert_string_equal(c.tls_key, "k.pem");
    assert_int_equal(c.tls_self_signed, 0);

    assert_int_equal(SERVE(&c, err, "--tls-listen", ":8443", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                           "--tls-self-signed"),
                     -1);
    assert_non_null(strstr(err, "exclude each other"));
    assert_int_equal(SERVE(&c, err, "--tls-listen", ":8443", "--tls-self-signed", "--tls-key", "k.pem"), -1);

    /* TLS options without --tls-listen */
    assert_int_equal(SERVE(&c, err, "--tls-self-signed"), -1);
    assert_non_null(strstr(err, "--tls-listen"));
    assert_int_equal(SERVE(&c, err, "--tls-cert", "c.pem", "--tls-key", "k.pem"), -1);
    assert_non_null(strstr(err, "--tls-listen"));

    assert_int_equal(SERVE(&c, err, "--tls-listen", "nope", "--tls-self-signed"), -1);
    assert_non_null(strstr(err, "--tls-listen wants HOST:PORT"));
}

static void test_serve_scenarios(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(SERVE(&c, err, "--scenarios", "/a"), 0);
    assert_int_equal(c.n_scenario_dirs, 1);
    assert_string_equal(c.scenario_dirs[0], "/a");
    assert_int_equal(SERVE(&c, err, "--scenarios", "/a", "--listen", ":1", "--scenarios", "/b", "--scenarios", "/c"), 0);
    assert_int_equal(c.n_scenario_dirs, 3);
    assert_string_equal(c.scenario_dirs[0], "/a");
    assert_string_equal(c.scenario_dirs[1], "/b");
    assert_string_equal(c.scenario_dirs[2], "/c");

    /* 16 folders fit, the 17th is refused */
    char *argv[2 * CONF_MAX_SCENARIO_DIRS + 4];
    int argc = 0;
    argv[argc++] = "serve";
    for (int i = 0; i <= CONF_MAX_SCENARIO_DIRS; i++) {
        argv[argc++] = "--scenarios";
        argv[argc++] = "/d";
    }
    argv[argc] = NULL;
    assert_int_equal(serve(&c, err, argc - 2, argv), 0);
    assert_int_equal(c.n_scenario_dirs, CONF_MAX_SCENARIO_DIRS);
    assert_int_equal(serve(&c, err, argc, argv), -1);
    assert_non_null(strstr(err, "at most 16"));

    assert_int_equal(SERVE(&c, err, "--artifacts", "/tmp/x"), 0);
    assert_string_equal(c.artifacts_dir, "/tmp/x");
}

static void test_serve_errors(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(SERVE(&c, err, "--bogus"), -1);
    assert_non_null(strstr(err, "unknown option '--bogus'"));
    assert_int_equal(SERVE(&c, err, "--listen=:80"), -1);
    assert_non_null(strstr(err, "unknown option"));
    assert_int_equal(SERVE(&c, err, "serve"), -1);
    assert_int_equal(SERVE(&c, err, ""), -1);

    const char *takes[] = {"--listen", "--tls-listen", "--tls-cert", "--tls-key", "--scenarios", "--artifacts"};
    for (size_t i = 0; i < sizeof takes / sizeof takes[0]; i++) {
        char *argv[] = {"serve", (char *)takes[i], NULL};
        assert_int_equal(serve(&c, err, 2, argv), -1);
        if (strstr(err, takes[i]) == NULL || strstr(err, "needs a value") == NULL) fail_msg("%s: %s", takes[i], err);
    }
    /* an option after a valid one, still missing its value */
    assert_int_equal(SERVE(&c, err, "--listen", ":1", "--scenarios"), -1);
    assert_non_null(strstr(err, "--scenarios needs a value"));
}

static void test_serve_help(void **state) {
    (void)state;
    struct conf c;
    char err[CONF_ERR_MAX];
    assert_int_equal(SERVE(&c, err, "--help"), 1);
    assert_int_equal(SERVE(&c, err, "-h"), 1);
    assert_int_equal(SERVE(&c, err, "--listen", ":1", "--help"), 1);
    assert_non_null(strstr(conf_serve_usage, "usage: proflab serve"));
    assert_non_null(strstr(conf_serve_usage, "LAB_TOKEN"));
}

static void test_parse_uint(void **state) {
    (void)state;
    unsigned long long v = 12345;
    assert_int_equal(conf_parse_uint("0", 0, 10, &v), 0);
    assert_true(v == 0);
    assert_int_equal(conf_parse_uint("10", 0, 10, &v), 0);
    assert_true(v == 10);
    assert_int_equal(conf_parse_uint("007", 0, 10, &v), 0);
    assert_true(v == 7);
    v = 12345;
    assert_int_equal(conf_parse_uint("11", 0, 10, &v), -1);
    assert_int_equal(conf_parse_uint("4", 5, 10, &v), -1);
    assert_int_equal(conf_parse_uint("", 0, 10, &v), -1);
    assert_int_equal(conf_parse_uint(NULL, 0, 10, &v), -1);
    assert_int_equal(conf_parse_uint("-1", 0, 10, &v), -1);
    assert_int_equal(conf_parse_uint("+1", 0, 10, &v), -1);
    assert_int_equal(conf_parse_uint(" 1", 0, 10, &v), -1);
    assert_int_equal(conf_parse_uint("1 ", 0, 10, &v), -1);
    assert_int_equal(conf_parse_uint("0x1", 0, 10, &v), -1);
    assert_true(v == 12345); /* untouched on error */

    /* the edge of unsigned long long: 2^64-1 fits, 2^64 and beyond overflow */
    assert_int_equal(conf_parse_uint("18446744073709551615", 0, ~0ULL, &v), 0);
    assert_true(v == ~0ULL);
    assert_int_equal(conf_parse_uint("18446744073709551614", 0, ~0ULL, &v), 0);
    assert_true(v == ~0ULL - 1);
    assert_int_equal(conf_parse_uint("18446744073709551616", 0, ~0ULL, &v), -1);
    assert_int_equal(conf_parse_uint("18446744073709551620", 0, ~0ULL, &v), -1);
    assert_int_equal(conf_parse_uint("28446744073709551615", 0, ~0ULL, &v), -1);
    assert_int_equal(conf_parse_uint("184467440737095516150", 0, ~0ULL, &v), -1);
    assert_int_equal(conf_parse_uint("99999999999999999999999999999999", 0, ~0ULL, &v), -1);
    /* an overflow that would wrap into range must not be taken: 2^64 + 5 wraps to 5 */
    assert_int_equal(conf_parse_uint("18446744073709551621", 0, 10, &v), -1);
}

static void test_parse_bool(void **state) {
    (void)state;
    assert_int_equal(conf_parse_bool("true"), 1);
    assert_int_equal(conf_parse_bool("TRUE"), 1);
    assert_int_equal(conf_parse_bool("tRuE"), 1);
    assert_int_equal(conf_parse_bool("false"), 0);
    assert_int_equal(conf_parse_bool("FALSE"), 0);
    assert_int_equal(conf_parse_bool("yes"), -1);
    assert_int_equal(conf_parse_bool("1"), -1);
    assert_int_equal(conf_parse_bool(""), -1);
    assert_int_equal(conf_parse_bool(NULL), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_defaults),    cmocka_unit_test(test_env_port),
        cmocka_unit_test(test_env_enable_token), cmocka_unit_test(test_env_production),
        cmocka_unit_test(test_env_sizes),       cmocka_unit_test(test_env_error_bounded),
        cmocka_unit_test(test_watchdog_admin),  cmocka_unit_test(test_inspect),
        cmocka_unit_test(test_serve_none),      cmocka_unit_test(test_serve_listen),
        cmocka_unit_test(test_parse_addr),      cmocka_unit_test(test_serve_tls),
        cmocka_unit_test(test_serve_scenarios), cmocka_unit_test(test_serve_errors),
        cmocka_unit_test(test_serve_help),      cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_parse_bool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
