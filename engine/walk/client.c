/* client.c: the walkthroughs' HTTP client on libcurl's multi interface, so that requests
 * run concurrently ("call /api/health while the jam runs" is two requests in flight). */
#include "../curlx/curlx.h"
#include <lauxlib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "walk.h"

#define REQ_META "walk.Request"
#define BODY_MAX (256u << 20)

struct walk_req {
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    size_t len, cap;
    char *resp_headers;
    size_t hlen, hcap;
    int done, added;
    CURLcode result;
    char errbuf[CURL_ERROR_SIZE];
    char *send; /* request body copy */
};

static CURLM *multi;
static const struct walk_target *target;

static int grow(char **p, size_t *len, size_t *cap, const char *data, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n + 1) c *= 2;
        if (c > BODY_MAX) return -1;
        char *q = realloc(*p, c);
        if (q == NULL) return -1;
        *p = q;
        *cap = c;
    }
    memcpy(*p + *len, data, n);
    *len += n;
    (*p)[*len] = '\0';
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
    struct walk_req *r = ud;
    return grow(&r->body, &r->len, &r->cap, data, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud) {
    struct walk_req *r = ud;
    return grow(&r->resp_headers, &r->hlen, &r->hcap, data, size * n) == 0 ? size * n : 0;
}

static void release(struct walk_req *r) {
    if (r->easy != NULL) {
        if (r->added) curl_multi_remove_handle(multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r->resp_headers);
    free(r->send);
    memset(r, 0, sizeof *r);
}

static int req_gc(lua_State *L) {
    release(luaL_checkudata(L, 1, REQ_META));
    return 0;
}

static int add_header(struct walk_req *r, const char *h) {
    struct curl_slist *l = curl_slist_append(r->headers, h);
    if (l == NULL) return -1;
    r->headers = l;
    return 0;
}

static void collect(void) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        struct walk_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r == NULL) continue;
        r->done = 1;
        r->result = m->data.result;
    }
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* http.start{method=, path= | url=, headers={k=v}, body=, lab=bool, timeout_ms=} -> request */
static int l_start(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "method");
    const char *method = luaL_optstring(L, -1, "GET");
    lua_getfield(L, 1, "url");
    lua_getfield(L, 1, "path");
    const char *url = lua_tostring(L, -2);
    const char *path = lua_tostring(L, -1);
    if (url == NULL && path == NULL) return luaL_error(L, "http.start needs url or path");
    char full[2048];
    if (url == NULL) snprintf(full, sizeof full, "%s%s", target->base, path);
    else snprintf(full, sizeof full, "%s", url);
    lua_getfield(L, 1, "timeout_ms");
    lua_Integer timeout = luaL_optinteger(L, -1, 180000);
    lua_getfield(L, 1, "lab");
    int lab = lua_toboolean(L, -1);
    lua_getfield(L, 1, "token");
    const char *token = lua_tostring(L, -1);

    struct walk_req *r = lua_newuserdatauv(L, sizeof *r, 0);
    memset(r, 0, sizeof *r);
    luaL_setmetatable(L, REQ_META);
    int req_idx = lua_gettop(L);
    if ((r->easy = curl_easy_init()) == NULL) return luaL_error(L, "curl_easy_init failed");
    CURLcode c = CURLE_OK;
#define SET(opt, val) \
    if (c == CURLE_OK) c = curl_easy_setopt(r->easy, opt, val)
    SET(CURLOPT_URL, full);
    SET(CURLOPT_CUSTOMREQUEST, method);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, r);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, r);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
    SET(CURLOPT_TIMEOUT_MS, (long)timeout);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PRIVATE, r);
    if (strcmp(method, "HEAD") == 0) SET(CURLOPT_NOBODY, 1L);
    if (target->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    char line[1100];
    if (lab || token != NULL) {
        snprintf(line, sizeof line, "x-lab-token: %s", token != NULL ? token : target->token);
        if (add_header(r, line) != 0) return luaL_error(L, "out of memory");
    }
    lua_getfield(L, 1, "headers");
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            snprintf(line, sizeof line, "%s: %s", luaL_checkstring(L, -2), luaL_checkstring(L, -1));
            if (add_header(r, line) != 0) return luaL_error(L, "out of memory");
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "body");
    size_t blen = 0;
    const char *body = lua_tolstring(L, -1, &blen);
    if (body != NULL) {
        if ((r->send = malloc(blen + 1)) == NULL) return luaL_error(L, "out of memory");
        memcpy(r->send, body, blen);
        SET(CURLOPT_POSTFIELDS, r->send);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    lua_pop(L, 1);
    SET(CURLOPT_HTTPHEADER, r->headers);
#undef SET
    if (c != CURLE_OK) return luaL_error(L, "curl: %s", curl_easy_strerror(c));
    if (curl_multi_add_handle(multi, r->easy) != CURLM_OK) return luaL_error(L, "curl_multi_add_handle failed");
    r->added = 1;
    /* send the request now, so that "start A, then B" reaches the engine in that order */
    for (int i = 0; i < 200 && !r->done; i++) {
        int running;
        long sent = 0;
        curl_multi_perform(multi, &running);
        collect();
        if (curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent > 0) break;
        curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
    lua_pushvalue(L, req_idx);
    return 1;
}

/* Drive every transfer until r is done; with a label, show a countdown on a terminal. */
static void drive(struct walk_req *r, const char *label, double seconds) {
    double t0 = mono();
    int tty = label != NULL && isatty(STDERR_FILENO), shown = -1;
    while (!r->done) {
        int running;
        curl_multi_perform(multi, &running);
        collect();
        if (r->done) break;
        curl_multi_poll(multi, NULL, 0, 100, NULL);
        if (tty) {
            int left = (int)(seconds - (mono() - t0) + 0.999);
            if (left < 0) left = 0;
            if (left != shown) {
                fprintf(stderr, "\r    %s: %d s left ", label, left);
                shown = left;
            }
        }
    }
    if (tty) fprintf(stderr, "\r%*s\r", 60, "");
}

/* Headers as a table of lower-case names (the last value of a repeated name). */
static void push_headers(lua_State *L, const char *h, size_t len) {
    lua_newtable(L);
    const char *p = h, *end = h + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon != NULL && strncmp(p, "HTTP/", 5) != 0) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (const char *k = p; k < colon; k++) luaL_addchar(&b, (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k));
            luaL_pushresult(&b);
            const char *v = colon + 1;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            const char *ve = e;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
            lua_pushlstring(L, v, (size_t)(ve - v));
            lua_rawset(L, -3);
        } else if (strncmp(p, "HTTP/", 5) == 0) {
            lua_newtable(L); /* a new response (after a 100 Continue): start over */
            lua_replace(L, -2);
        }
        p = nl ? nl + 1 : end;
    }
}

/* request:wait([label, seconds]) -> {status, body, ms, headers, error} */
static int l_wait(lua_State *L) {
    struct walk_req *r = luaL_checkudata(L, 1, REQ_META);
    if (r->easy == NULL) return luaL_error(L, "request already released");
    drive(r, luaL_optstring(L, 2, NULL), luaL_optnumber(L, 3, 0));
    long status = 0;
    curl_off_t total_us = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, r->body ? r->body : "", r->len);
    lua_setfield(L, -2, "body");
    lua_pushnumber(L, (double)total_us / 1000.0);
    lua_setfield(L, -2, "ms");
    push_headers(L, r->resp_headers ? r->resp_headers : "", r->hlen);
    lua_setfield(L, -2, "headers");
    if (r->result != CURLE_OK) {
        lua_pushstring(L, r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result));
        lua_setfield(L, -2, "error");
    }
    release(r);
    return 1;
}

/* http.pump(ms): let transfers in flight progress for ms milliseconds (a sleep that keeps
 * requests moving) */
static int l_pump(lua_State *L) {
    double ms = luaL_checknumber(L, 1), t0 = mono();
    while ((mono() - t0) * 1000.0 < ms) {
        int running, wait = (int)(ms - (mono() - t0) * 1000.0);
        curl_multi_perform(multi, &running);
        collect();
        curl_multi_poll(multi, NULL, 0, wait > 0 ? (wait < 50 ? wait : 50) : 0, NULL);
    }
    return 0;
}

struct download {
    FILE *f;
    EVP_MD_CTX *md;
    size_t bytes;
};

static size_t on_file(char *data, size_t size, size_t n, void *ud) {
    struct download *d = ud;
    if (fwrite(data, size, n, d->f) != n || EVP_DigestUpdate(d->md, data, size * n) != 1) return 0;
    d->bytes += size * n;
    return size * n;
}

/* http.download(url, path) -> {status, bytes, sha256, etag, ms} | nil, message: streams the
 * body into path while hashing it; the caller compares sha256 with the ETag it was given. */
static int l_download(lua_State *L) {
    const char *url = luaL_checkstring(L, 1), *path = luaL_checkstring(L, 2);
    struct download d = {fopen(path, "wbx"), EVP_MD_CTX_new(), 0};
    CURL *e = curl_easy_init();
    char errbuf[CURL_ERROR_SIZE] = "", etag[200] = "";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    long status = 0;
    curl_off_t total_us = 0;
    CURLcode c = CURLE_FAILED_INIT;
    if (d.f != NULL && d.md != NULL && e != NULL && EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) == 1) {
        c = curl_easy_setopt(e, CURLOPT_URL, url);
        if (c == CURLE_OK) c = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_file);
        if (c == CURLE_OK) c = curl_easy_setopt(e, CURLOPT_WRITEDATA, &d);
        if (c == CURLE_OK) c = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        if (c == CURLE_OK) c = curl_easy_setopt(e, CURLOPT_TIMEOUT, 600L);
        if (c == CURLE_OK && target->insecure) c = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        if (c == CURLE_OK && target->insecure) c = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        if (c == CURLE_OK) c = curl_easy_perform(e);
    }
    if (c == CURLE_OK) {
        struct curl_header *h = NULL;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
        if (curl_easy_header(e, "etag", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
            snprintf(etag, sizeof etag, "%.*s", (int)strcspn(h->value + (h->value[0] == '"'), "\""),
                     h->value + (h->value[0] == '"'));
        if (EVP_DigestFinal_ex(d.md, md, &mdlen) != 1) c = CURLE_WRITE_ERROR;
    }
    if (d.f != NULL && fclose(d.f) != 0 && c == CURLE_OK) c = CURLE_WRITE_ERROR;
    EVP_MD_CTX_free(d.md);
    if (e != NULL) curl_easy_cleanup(e);
    if (c != CURLE_OK) {
        luaL_pushfail(L);
        lua_pushfstring(L, "download of %s failed: %s", url, errbuf[0] ? errbuf : d.f == NULL ? "cannot create the file" : curl_easy_strerror(c));
        return 2;
    }
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned i = 0; i < mdlen; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushinteger(L, (lua_Integer)d.bytes);
    lua_setfield(L, -2, "bytes");
    lua_pushstring(L, hex);
    lua_setfield(L, -2, "sha256");
    lua_pushstring(L, etag);
    lua_setfield(L, -2, "etag");
    lua_pushnumber(L, (double)total_us / 1000.0);
    lua_setfield(L, -2, "ms");
    return 1;
}

static int l_request(lua_State *L) {
    l_start(L);
    lua_replace(L, 1);
    lua_settop(L, 1);
    return l_wait(L);
}

int walk_open_http(lua_State *L, const struct walk_target *t) {
    target = t;
    if (multi == NULL) {
        char err[300];
        if (curlx_load(err, sizeof err) != 0) return luaL_error(L, "%s", err);
        if ((multi = curl_multi_init()) == NULL) return luaL_error(L, "cannot initialise libcurl");
    }
    luaL_newmetatable(L, REQ_META);
    lua_pushcfunction(L, req_gc);
    lua_setfield(L, -2, "__gc");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_wait);
    lua_setfield(L, -2, "wait");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, l_start);
    lua_setfield(L, -2, "start");
    lua_pushcfunction(L, l_request);
    lua_setfield(L, -2, "request");
    lua_pushcfunction(L, l_pump);
    lua_setfield(L, -2, "pump");
    lua_pushcfunction(L, l_download);
    lua_setfield(L, -2, "download");
    lua_pushstring(L, t->base);
    lua_setfield(L, -2, "base");
    lua_setglobal(L, "http");
    return 0;
}
