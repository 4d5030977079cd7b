/* insp_test.c: what the inspector reads from outside before any Lua runs: HTTP request heads
 * (discovery and the WebSocket upgrade), Host headers (DNS rebinding) and CDP messages, each
 * with a table of hostile cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "insp/insp.h"

static const char upgrade_head[] = "GET /id HTTP/1.1\r\nHost: 127.0.0.1:9229\r\nUpgrade: websocket\r\n"
                                   "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   "Sec-WebSocket-Version: 13\r\n\r\n";

static void test_heads(void **state) {
    (void)state;
    struct insp_head h;
    assert_int_equal(insp_head_parse(upgrade_head, sizeof upgrade_head - 1, &h), 0);
    assert_string_equal(h.method, "GET");
    assert_string_equal(h.target, "/id");
    assert_string_equal(h.host, "127.0.0.1:9229");
    assert_string_equal(h.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert_true(h.websocket);
    static const char plain[] = "GET /json/list HTTP/1.0\nhost:   localhost  \n\n";
    assert_int_equal(insp_head_parse(plain, sizeof plain - 1, &h), 0);
    assert_string_equal(h.host, "localhost");
    assert_false(h.websocket);

    static const struct {
        const char *why, *text;
    } hostile[] = {
        {"empty", ""},
        {"no request line end", "GET / HTTP/1.1"},
        {"no empty line", "GET / HTTP/1.1\r\nHost: a\r\n"},
        {"no target", "GET  HTTP/1.1\r\n\r\n"},
        {"target not starting with /", "GET http://x/ HTTP/1.1\r\n\r\n"},
        {"control byte in target", "GET /a\x01 HTTP/1.1\r\n\r\n"},
        {"HTTP/2 version", "GET / HTTP/2.0\r\n\r\n"},
        {"HTTP/1.9", "GET / HTTP/1.9\r\n\r\n"},
        {"lowercase version", "GET / http/1.1\r\n\r\n"},
        {"method with a separator", "GE(T / HTTP/1.1\r\n\r\n"},
        {"method too long", "GETGETGETGETGETGET / HTTP/1.1\r\n\r\n"},
        {"header without colon", "GET / HTTP/1.1\r\nHost\r\n\r\n"},
        {"header name with space", "GET / HTTP/1.1\r\nHo st: a\r\n\r\n"},
        {"empty header name", "GET / HTTP/1.1\r\n: a\r\n\r\n"},
        {"control byte in a value", "GET / HTTP/1.1\r\nHost: a\x7f\x01\r\n\r\n"},
        {"Host over 255 bytes",
         "GET / HTTP/1.1\r\nHost: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"},
        {"upgrade without version 13", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"},
        {"upgrade with a short key", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                                     "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n"},
        {"upgrade without a key", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                                  "Sec-WebSocket-Version: 13\r\n\r\n"},
        {"a key over 31 bytes", "GET / HTTP/1.1\r\nSec-WebSocket-Key: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"},
        {"NUL in the request line", "GET /\0 HTTP/1.1\r\n\r\n"},
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        size_t n = strlen(hostile[i].text);
        if (strcmp(hostile[i].why, "NUL in the request line") == 0) n = 20;
        if (insp_head_parse(hostile[i].text, n, &h) == 0) fail_msg("accepted: %s", hostile[i].why);
    }
    /* every cut of a good head is refused, never read past */
    for (size_t n = 0; n + 1 < sizeof upgrade_head - 1; n++)
        if (insp_head_parse(upgrade_head, n, &h) == 0) fail_msg("a head cut at %zu bytes was accepted", n);
    /* a token: x-lab-token first, else ?token= (what a browser can send); the path alone stays */
    static const char query[] = "GET /json/list?token=pl1.abc&x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_int_equal(insp_head_parse(query, sizeof query - 1, &h), 0);
    assert_string_equal(h.target, "/json/list");
    assert_string_equal(h.token, "pl1.abc");
    static const char both[] = "GET /id?token=url HTTP/1.1\r\nX-Lab-Token: header\r\n\r\n";
    assert_int_equal(insp_head_parse(both, sizeof both - 1, &h), 0);
    assert_string_equal(h.token, "header");
    char huge[1200 + 64];
    int n = snprintf(huge, sizeof huge, "GET /id?token=%01100d HTTP/1.1\r\n\r\n", 0);
    assert_true(n > 0 && (size_t)n < sizeof huge);
    assert_int_equal(insp_head_parse(huge, (size_t)n, &h), -1);
    /* Upgrade without Connection: upgrade is a plain request */
    static const char half[] = "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";
    assert_int_equal(insp_head_parse(half, sizeof half - 1, &h), 0);
    assert_false(h.websocket);
}

static void test_hosts(void **state) {
    (void)state;
    static const char *allowed[] = {"127.0.0.1", "127.0.0.1:9229", "localhost", "LOCALHOST:1", "[::1]:9229", "[::1]",
                                    "10.0.0.2:80", "192.168.1.20"};
    static const char *refused[] = {"", "evil.example", "evil.example:9229", "localhost.evil.example", "127.0.0.1.nip.io",
                                    "1.2.3", "1.2.3.4.5", "1.2.3.4:", "1.2.3.4:x", "[::1", "[evil]:1", "[]:1",
                                    "1234.1.1.1", "[::1]x", "a:b:c"};
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        if (!insp_host_allowed(allowed[i])) fail_msg("refused: %s", allowed[i]);
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (insp_host_allowed(refused[i])) fail_msg("allowed: %s", refused[i]);
}

static void test_messages(void **state) {
    (void)state;
    struct cdp_msg m;
    static const char good[] = "{\"id\": 7, \"method\": \"Debugger.setBreakpoint\", "
                               "\"params\": {\"location\": {\"scriptId\": \"2\", \"lineNumber\": 10}, \"flag\": true}}";
    assert_int_equal(cdp_msg_parse(good, sizeof good - 1, &m), 0);
    assert_int_equal(m.id, 7);
    assert_string_equal(m.method, "Debugger.setBreakpoint");
    long long line = 0;
    assert_int_equal(cdp_param_int(&m, "location.lineNumber", &line), 0);
    assert_int_equal(line, 10);
    assert_string_equal(cdp_param_str(&m, "location.scriptId"), "2");
    assert_null(cdp_param_str(&m, "location.lineNumber"));
    assert_null(cdp_param_str(&m, "location.scriptId.deeper"));
    assert_null(cdp_param_str(&m, "missing.path"));
    assert_true(cdp_param_true(&m, "flag"));
    assert_false(cdp_param_true(&m, "location"));
    assert_int_equal(cdp_param_int(&m, "flag", &line), -1);
    cdp_msg_free(&m);

    /* primitive values onto a Lua stack, as setVariableValue's newValue.value */
    static const char vals[] = "{\"id\":1,\"method\":\"m\",\"params\":{\"s\":\"x\",\"i\":42,\"f\":1.5,\"b\":false,"
                               "\"n\":null,\"o\":{},\"a\":[]}}";
    assert_int_equal(cdp_msg_parse(vals, sizeof vals - 1, &m), 0);
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    assert_int_equal(cdp_param_push(&m, "s", L), 0);
    assert_string_equal(lua_tostring(L, -1), "x");
    assert_int_equal(cdp_param_push(&m, "i", L), 0);
    assert_true(lua_isinteger(L, -1) && lua_tointeger(L, -1) == 42);
    assert_int_equal(cdp_param_push(&m, "f", L), 0);
    assert_true(!lua_isinteger(L, -1) && lua_tonumber(L, -1) == 1.5);
    assert_int_equal(cdp_param_push(&m, "b", L), 0);
    assert_true(lua_isboolean(L, -1) && !lua_toboolean(L, -1));
    assert_int_equal(cdp_param_push(&m, "n", L), 0);
    assert_true(lua_isnil(L, -1));
    int top = lua_gettop(L);
    assert_int_equal(cdp_param_push(&m, "o", L), -1);
    assert_int_equal(cdp_param_push(&m, "a", L), -1);
    assert_int_equal(cdp_param_push(&m, "missing", L), -1);
    assert_int_equal(lua_gettop(L), top);
    lua_close(L);
    cdp_msg_free(&m);

    static const struct {
        const char *why, *text;
        int has_id;
    } hostile[] = {
        {"empty", "", 0},
        {"not JSON", "Runtime.enable", 0},
        {"an array", "[1, 2]", 0},
        {"no id", "{\"method\": \"Runtime.enable\"}", 0},
        {"a string id", "{\"id\": \"1\", \"method\": \"Runtime.enable\"}", 0},
        {"a float id", "{\"id\": 1.5, \"method\": \"Runtime.enable\"}", 0},
        {"no method", "{\"id\": 1}", 1},
        {"a number method", "{\"id\": 1, \"method\": 5}", 1},
        {"params an array", "{\"id\": 1, \"method\": \"a\", \"params\": []}", 1},
        {"params a string", "{\"id\": 1, \"method\": \"a\", \"params\": \"x\"}", 1},
        {"duplicate keys", "{\"id\": 1, \"id\": 2, \"method\": \"a\"}", 0},
        {"cut short", "{\"id\": 1, \"method\": \"a\"", 0},
        {"trailing garbage", "{\"id\": 1, \"method\": \"a\"} x", 0},
        {"invalid UTF-8 in method", "{\"id\": 1, \"method\": \"\xff\"}", 0},
    };
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        if (cdp_msg_parse(hostile[i].text, strlen(hostile[i].text), &m) == 0) fail_msg("accepted: %s", hostile[i].why);
        if (m.has_id != hostile[i].has_id) fail_msg("%s: has_id %d", hostile[i].why, m.has_id);
        cdp_msg_free(&m);
    }
}

static void test_name_paths(void **state) {
    (void)state;
    static const struct {
        const char *text;
        size_t first;
    } cases[] = {
        {"x", 1}, {"p.ms", 1}, {"_ENV", 4}, {"a1.b_2.c3", 2}, {"package.loaded.string", 7},
        {"", 0}, {".", 0}, {"a.", 0}, {".a", 0}, {"a..b", 0}, {"1a", 0}, {"a.1", 0}, {"a b", 0},
        {"a[1]", 0}, {"f()", 0}, {"a:b", 0}, {"a.b ", 0}, {"os.exit()", 0}, {"x = 1", 0}, {"\xc3\xa9", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (cdp_name_path(cases[i].text) != cases[i].first)
            fail_msg("'%s': %zu, want %zu", cases[i].text, cdp_name_path(cases[i].text), cases[i].first);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heads),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_name_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
