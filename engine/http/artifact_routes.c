/* artifact_routes.c: who is calling (master token, derived token in a header, or an artifact
 * token in the URL), and the routes /api/lab/tokens and /api/lab/artifacts[/<name>]. */
#define H2O_USE_LIBUV 0
#include <errno.h>
#include <fcntl.h>
#include <h2o.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../artifacts/artifacts.h"
#include "../conf/conf.h"
#include "../guard/guard.h"
#include "../json/json.h"
#include "../log/log.h"
#include "../loop/loop.h"
#include "../metrics/metrics.h"
#include "../rt/params.h"
#include "../tok/tok.h"
#include "http.h"

#define CHUNK (1024 * 1024)


static void send_body(h2o_req_t *req, int status, struct jbuf *b, uint64_t t0) {
    if (b->oom || b->p == NULL) {
        jbuf_free(b);
        status = 507;
        jbuf_puts(b, "{\"error\":\"out_of_memory\",\"message\":\"out of memory writing the answer\"}");
    }
    char *body = h2o_mem_alloc_pool(&req->pool, b->len + 1);
    memcpy(body, b->p ? b->p : "", b->len);
    size_t len = b->len;
    jbuf_free(b);
    req->res.status = status;
    req->res.reason = http_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    http_access_log(req, status, len, t0);
    h2o_send_inline(req, body, len);
}

static void send_error(h2o_req_t *req, int status, const char *code, const char *message, uint64_t t0) {
    struct jbuf b;
    jbuf_init(&b);
    json_error(&b, code, message);
    send_body(req, status, &b, t0);
}

static int method_is(h2o_req_t *req, const char *m) { return h2o_memis(req->method.base, req->method.len, m, strlen(m)); }

static void not_allowed(h2o_req_t *req, const char *allow, uint64_t t0) {
    char msg[80];
    snprintf(msg, sizeof msg, "this route answers %s", allow);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    send_error(req, 405, "method_not_allowed", msg, t0);
}

static int64_t now_s(void) { return (int64_t)time(NULL); }

static void iso_time(long long ms, char *out, size_t outlen) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, outlen - n, ".%03lldZ", ms % 1000);
}

/* Credentials */

static const char *query_of(h2o_req_t *req, size_t *len) {
    if (req->query_at == SIZE_MAX) {
        *len = 0;
        return NULL;
    }
    *len = req->path.len - req->query_at - 1;
    return req->path.base + req->query_at + 1;
}

/* The raw value of ?token= (tokens need no percent-encoding); NULL when absent. */
static const char *url_token(h2o_req_t *req, size_t *len) {
    size_t qlen;
    const char *q = query_of(req, &qlen);
    while (q != NULL && qlen > 0) {
        const char *amp = memchr(q, '&', qlen);
        size_t n = amp ? (size_t)(amp - q) : qlen;
        if (n >= 6 && memcmp(q, "token=", 6) == 0) {
            *len = n - 6;
            return q + 6;
        }
        if (amp == NULL) break;
        qlen -= n + 1;
        q = amp + 1;
    }
    return NULL;
}

struct guard_verdict auth_request(const struct guard *g, h2o_req_t *req, struct guard_auth *out) {
    const char *cred = NULL;
    size_t len = 0;
    int via_url = 0;
    ssize_t hi = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-lab-token"), -1);
    if (hi >= 0) {
        cred = req->headers.entries[hi].value.base;
        len = req->headers.entries[hi].value.len;
    } else if ((hi = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1)) >= 0) {
        const h2o_iovec_t *v = &req->headers.entries[hi].value;
        if (v->len > 7 && strncasecmp(v->base, "Bearer ", 7) == 0) {
            cred = v->base + 7;
            len = v->len - 7;
        } else {
            cred = v->base; /* not a Bearer token: refused as a bad token */
            len = v->len;
        }
    } else if ((method_is(req, "GET") || method_is(req, "HEAD")) && req->path_normalized.len > 19 &&
               memcmp(req->path_normalized.base, "/api/lab/artifacts/", 19) == 0) {
        cred = url_token(req, &len);
        via_url = cred != NULL;
    }
    struct guard_verdict v = guard_check_any(g, cred, len, now_s(), out);
    out->via_url = via_url;
    if (via_url && v.status == 0 && out->master) {
        /* the master token never rides in a URL: URLs end up in histories and logs */
        v.status = 401;
        v.code = "bad_token";
        v.message = "only a token bound to this artifact may be sent as ?token=";
    }
    if (v.status == 401 && cred == NULL)
        v.message = "send the lab token in the x-lab-token header (or a minted token as Authorization: Bearer)";
    return v;
}

int auth_scenario_refused(h2o_req_t *req, const struct guard_auth *a, const char *name, size_t len, uint64_t t0) {
    char need[80];
    snprintf(need, sizeof need, "lab:%.*s", (int)(len > 70 ? 70 : len), name);
    struct guard_verdict v = guard_allow(a, need, NULL, 0);
    if (v.status == 0) return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "%s; this route needs the scope %s (or lab:*, or admin)", v.message, need);
    send_error(req, v.status, v.code, msg, t0);
    return 1;
}

static int refused(h2o_req_t *req, const struct guard_auth *a, const char *need, const char *art, size_t art_len,
                   uint64_t t0) {
    struct guard_verdict v = guard_allow(a, need, art, art_len);
    if (v.status == 0) return 0;
    char msg[200];
    snprintf(msg, sizeof msg, "%s; this route needs the scope %s", v.message, need);
    send_error(req, v.status, v.code, msg, t0);
    return 1;
}

/* POST /api/lab/tokens?scope=S[,S]&ttl=15m[&artifact=NAME] */

static const struct param_spec mint_specs[] = {
    {.name = "scope", .type = PARAM_STRING, .has_min = 1, .min = 1, .has_max = 1, .max = 1024,
     .doc = "comma-separated: lab:<scenario>, lab:*, artifacts:read, inspect, admin"},
    {.name = "ttl", .type = PARAM_STRING, .has_min = 1, .min = 2, .has_max = 1, .max = 12,
     .def = {.present = 1, .type = PARAM_STRING, .s = "15m", .len = 3}, .doc = "90s, 15m, 2h; at most 24h"},
    {.name = "artifact", .type = PARAM_STRING, .has_min = 1, .min = 1, .has_max = 1, .max = ART_NAME_MAX - 1,
     .doc = "bind the token to this artifact"},
};

static void put_scopes(struct jbuf *b, const char *const *sc, int n) {
    jbuf_puts(b, "[");
    for (int i = 0; i < n; i++) {
        if (i) jbuf_puts(b, ",");
        json_string(b, sc[i], strlen(sc[i]));
    }
    jbuf_puts(b, "]");
}

static void tokens(const struct guard *g, const struct conf *conf, h2o_req_t *req, const struct guard_auth *a,
                   uint64_t t0) {
    if (!method_is(req, "POST")) return not_allowed(req, "POST", t0);
    if (refused(req, a, "admin", NULL, 0, t0)) return;
    size_t qlen;
    const char *q = query_of(req, &qlen);
    struct param_value vals[3];
    struct param_error perr;
    char *arena = h2o_mem_alloc_pool(&req->pool, qlen + 1);
    if (params_parse(mint_specs, 3, q, qlen, vals, arena, &perr) != 0) return send_error(req, 400, perr.code, perr.message, t0);
    char art[ART_NAME_MAX] = "";
    if (vals[2].present) {
        if (!art_name_valid(vals[2].s, vals[2].len))
            return send_error(req, 400, "bad_parameter", "artifact must be an artifact name: [A-Za-z0-9._-], no leading dot, no ..", t0);
        if (art_find(vals[2].s, vals[2].len) == NULL)
            return send_error(req, 404, "unknown_artifact", "no such artifact: GET /api/lab/artifacts lists them", t0);
        memcpy(art, vals[2].s, vals[2].len);
        art[vals[2].len] = '\0';
    }
    char scopebuf[1100];
    const char *sc[TOK_SCOPE_MAX];
    int n = 0;
    if (!vals[0].present) {
        if (art[0] == '\0') return send_error(req, 400, "missing_parameter", "scope is required (a comma-separated list)", t0);
        sc[n++] = "artifacts:read";
    } else {
        memcpy(scopebuf, vals[0].s, vals[0].len);
        scopebuf[vals[0].len] = '\0';
        char *save = NULL;
        for (char *s = strtok_r(scopebuf, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
            if (n == TOK_SCOPE_MAX) return send_error(req, 400, "bad_parameter", "at most 16 scopes", t0);
            if (!tok_scope_valid(s, strlen(s))) {
                char msg[200];
                snprintf(msg, sizeof msg, "unknown scope '%.60s': lab:<scenario>, lab:*, artifacts:read, inspect or admin", s);
                return send_error(req, 400, "bad_parameter", msg, t0);
            }
            sc[n++] = s;
        }
        if (n == 0) return send_error(req, 400, "bad_parameter", "scope must name at least one scope", t0);
    }
    long long ttl = tok_parse_duration(vals[1].s, vals[1].len);
    if (ttl < 0) return send_error(req, 400, "bad_parameter", "ttl must be a duration like 90s, 15m or 2h, from 1s to 24h", t0);
    int64_t now = now_s();
    if (!a->master && now + ttl > a->claims.exp)
        return send_error(req, 403, "out_of_scope", "a minted token cannot outlive the token that mints it", t0);
    char tok[TOK_MAX_LEN];
    if (tok_mint(&g->key, sc, n, art[0] ? art : NULL, now, ttl, tok, sizeof tok) != 0)
        return send_error(req, 500, "mint_failed", "cannot mint the token", t0);
    char exp[40];
    iso_time((now + ttl) * 1000, exp, sizeof exp);
    struct jbuf b;
    jbuf_init(&b);
    jbuf_puts(&b, "{\"token\":");
    json_string(&b, tok, strlen(tok));
    jbuf_puts(&b, ",\"scope\":");
    put_scopes(&b, sc, n);
    jbuf_printf(&b, ",\"expiresAt\":\"%s\"", exp);
    if (art[0]) {
        char url[ART_LINK_MAX];
        jbuf_puts(&b, ",\"artifact\":");
        json_string(&b, art, strlen(art));
        if (art_link_base(req->input.scheme->name.base, req->input.scheme->name.len, req->input.authority.base,
                          req->input.authority.len, url, sizeof url) == 0) {
            size_t ul = strlen(url);
            snprintf(url + ul, sizeof url - ul, "/api/lab/artifacts/%s?token=%s", art, tok);
            jbuf_puts(&b, ",\"download\":");
            json_string(&b, url, strlen(url));
        }
    }
    jbuf_puts(&b, "}");
    log_begin(LOG_INFO, "token minted"); /* never the token itself */
    log_kv_strn("scope", vals[0].present ? vals[0].s : "artifacts:read", vals[0].present ? vals[0].len : 14);
    log_kv_int("ttl_s", ttl);
    if (art[0]) log_kv_str("artifact", art);
    log_end();
    send_body(req, 200, &b, t0);
}

/* GET /api/lab/artifacts */

static void list(h2o_req_t *req, uint64_t t0) {
    size_t qlen;
    query_of(req, &qlen);
    if (qlen > 0) return send_error(req, 400, "unknown_parameter", "GET /api/lab/artifacts takes no parameters", t0);
    struct jbuf b;
    jbuf_init(&b);
    jbuf_puts(&b, "{\"artifacts\":[");
    for (int i = art_count() - 1; i >= 0; i--) { /* newest first */
        const struct art_info *a = art_at(i);
        char hex[65], when[40];
        art_digest_hex(a, hex);
        iso_time(a->created_ms, when, sizeof when);
        if (i != art_count() - 1) jbuf_puts(&b, ",");
        jbuf_puts(&b, "{\"name\":");
        json_string(&b, a->name, strlen(a->name));
        jbuf_puts(&b, ",\"kind\":");
        json_string(&b, a->kind, strlen(a->kind));
        jbuf_printf(&b, ",\"size\":%llu,\"sha256\":\"%s\",\"createdAt\":\"%s\",\"path\":\"/api/lab/artifacts/%s\"}", a->size,
                    hex, when, a->name);
    }
    jbuf_printf(&b, "],\"totalBytes\":%llu,\"budgetBytes\":%llu}", art_total_bytes(), art_budget());
    send_body(req, 200, &b, t0);
}

/* GET /api/lab/artifacts/<name>: streamed from disk with pread, one chunk per loop pass. On
 * loopback h2o completes writes so fast that sending the next chunk from proceed() would keep
 * the loop busy for the whole file; each chunk waits for a zero-delay timer instead, so the
 * loop polls its sockets (and serves /api/health) between chunks. */

struct download {
    h2o_generator_t super;
    h2o_req_t *req;
    int fd;
    uint64_t off, end; /* end exclusive */
    char *buf;
    struct loop_timer next;
};

static void dl_dispose(void *p) {
    struct download *d = p;
    loop_timer_stop(&d->next);
    if (d->fd >= 0) close(d->fd);
    d->fd = -1;
    free(d->buf);
    d->buf = NULL;
}

static void dl_send(struct download *d) {
    h2o_req_t *req = d->req;
    size_t want = d->end - d->off > CHUNK ? CHUNK : (size_t)(d->end - d->off);
    ssize_t n;
    do n = pread(d->fd, d->buf, want, (off_t)d->off);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        /* truncated or unreadable under us: cut the response so the client knows */
        log_msg(LOG_ERROR, "artifact read failed at offset %llu: %s", (unsigned long long)d->off, n < 0 ? strerror(errno) : "end of file");
        dl_dispose(d);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    d->off += (uint64_t)n;
    h2o_iovec_t v = h2o_iovec_init(d->buf, (size_t)n);
    int last = d->off == d->end;
    if (last) close(d->fd), d->fd = -1;
    h2o_send(req, &v, 1, last ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void dl_on_timer(struct loop_timer *t) {
    dl_send((struct download *)((char *)t - offsetof(struct download, next)));
}

static void dl_proceed(h2o_generator_t *self, h2o_req_t *req) {
    struct download *d = (struct download *)self;
    if (loop_timer_start(&d->next, 0, dl_on_timer) != 0) dl_send(d); /* no memory for the timer: send now */
}

static void dl_stop(h2o_generator_t *self, h2o_req_t *req) {
    struct download *d = (struct download *)self;
    loop_timer_stop(&d->next);
    if (d->fd >= 0) close(d->fd);
    d->fd = -1;
}

static int parse_u64(const char *s, size_t n, uint64_t *out) {
    if (n == 0 || n > 19) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* One range of "bytes=a-b", "bytes=a-" or "bytes=-n". 1 with [start, end), 0 to ignore it
 * (malformed or several ranges: the whole file is sent), -1 when it cannot be satisfied. */
int artroutes_parse_range(const char *s, size_t n, uint64_t size, uint64_t *start, uint64_t *end) {
    if (n < 7 || memcmp(s, "bytes=", 6) != 0) return 0;
    s += 6;
    n -= 6;
    while (n > 0 && (*s == ' ' || *s == '\t')) s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (memchr(s, ',', n) != NULL) return 0;
    const char *dash = memchr(s, '-', n);
    if (dash == NULL) return 0;
    size_t al = (size_t)(dash - s), bl = n - al - 1;
    uint64_t a, b;
    if (al == 0) {
        if (parse_u64(dash + 1, bl, &b) != 0) return 0;
        if (b == 0 || size == 0) return -1;
        *start = b >= size ? 0 : size - b;
        *end = size;
        return 1;
    }
    if (parse_u64(s, al, &a) != 0) return 0;
    if (bl == 0) b = UINT64_MAX;
    else if (parse_u64(dash + 1, bl, &b) != 0 || b < a) return 0;
    if (a >= size) return -1;
    *start = a;
    *end = b >= size - 1 ? size : b + 1;
    return 1;
}

static const char *content_type(const char *name) {
    const char *dot = strrchr(name, '.');
    if (dot != NULL && (strcmp(dot, ".cpuprofile") == 0 || strcmp(dot, ".heapsnapshot") == 0 || strcmp(dot, ".json") == 0))
        return "application/json";
    return "application/octet-stream";
}

static void download(h2o_req_t *req, const char *name, size_t len, uint64_t t0) {
    struct art_info info;
    int fd = art_open(name, len, &info);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP) return send_error(req, 404, "unknown_artifact", "no such artifact: GET /api/lab/artifacts lists them", t0);
        return send_error(req, 500, "artifact_unreadable", strerror(errno), t0);
    }
    struct download *d = h2o_mem_alloc_shared(&req->pool, sizeof *d, dl_dispose);
    memset(d, 0, sizeof *d);
    d->fd = fd;
    d->req = req;
    d->super.proceed = dl_proceed;
    d->super.stop = dl_stop;
    char hex[65], digest[64];
    art_digest_hex(&info, hex);
    art_digest_header(&info, digest);
    char *etag = h2o_mem_alloc_pool(&req->pool, 67);
    snprintf(etag, 67, "\"%s\"", hex);

    uint64_t start = 0, end = info.size;
    int status = 200;
    ssize_t ri = h2o_find_header(&req->headers, H2O_TOKEN_RANGE, -1);
    if (ri >= 0) {
        ssize_t ii = h2o_find_header(&req->headers, H2O_TOKEN_IF_RANGE, -1);
        int honour = ii < 0 || h2o_memis(req->headers.entries[ii].value.base, req->headers.entries[ii].value.len, etag, 66);
        int r = honour ? artroutes_parse_range(req->headers.entries[ri].value.base, req->headers.entries[ri].value.len,
                                               info.size, &start, &end)
                       : 0;
        if (r < 0) {
            char *cr = h2o_mem_alloc_pool(&req->pool, 48);
            snprintf(cr, 48, "bytes */%llu", info.size);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_RANGE, NULL, cr, strlen(cr));
            return send_error(req, 416, "range_not_satisfiable", "the range starts past the end of the artifact", t0);
        }
        if (r == 1) {
            status = 206;
            char *cr = h2o_mem_alloc_pool(&req->pool, 80);
            snprintf(cr, 80, "bytes %llu-%llu/%llu", (unsigned long long)start, (unsigned long long)end - 1, info.size);
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_RANGE, NULL, cr, strlen(cr));
        }
    }
    d->off = start;
    d->end = end;
    char *disp = h2o_mem_alloc_pool(&req->pool, ART_NAME_MAX + 40);
    snprintf(disp, ART_NAME_MAX + 40, "attachment; filename=\"%s\"", info.name);
    req->res.status = status;
    req->res.reason = http_reason(status);
    req->res.content_length = end - start;
    const char *ct = content_type(info.name);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ct, strlen(ct));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_DISPOSITION, NULL, disp, strlen(disp));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, 66);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCEPT_RANGES, NULL, H2O_STRLIT("bytes"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("private, no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL, H2O_STRLIT("no-referrer"));
    char *dg = h2o_mem_alloc_pool(&req->pool, sizeof digest);
    memcpy(dg, digest, sizeof digest);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("repr-digest"), 0, NULL, dg, strlen(dg));
    http_access_log(req, status, (size_t)(end - start), t0);
    h2o_start_response(req, &d->super);
    if (method_is(req, "HEAD") || start == end) {
        close(d->fd);
        d->fd = -1;
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return;
    }
    d->buf = malloc(CHUNK);
    if (d->buf == NULL) {
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    dl_send(d);
}

static void artifact(h2o_req_t *req, const struct guard_auth *a, const char *name, size_t len, uint64_t t0) {
    int get = method_is(req, "GET") || method_is(req, "HEAD");
    if (!get && !method_is(req, "DELETE")) return not_allowed(req, "GET, HEAD, DELETE", t0);
    if (!art_name_valid(name, len))
        return send_error(req, 400, "bad_artifact_name", "artifact names are [A-Za-z0-9._-], without a leading dot or ..", t0);
    if (refused(req, a, get ? "artifacts:read" : "admin", name, len, t0)) return;
    if (get) {
        /* ?token= is the only parameter a download takes */
        size_t qlen;
        const char *q = query_of(req, &qlen);
        size_t tl;
        const char *t = url_token(req, &tl);
        if (qlen > 0 && !(t != NULL && t == q + 6 && tl + 6 == qlen))
            return send_error(req, 400, "unknown_parameter", "a download takes no parameter other than token", t0);
        return download(req, name, len, t0);
    }
    if (art_delete(name, len) != 0) return send_error(req, 404, "unknown_artifact", "no such artifact: GET /api/lab/artifacts lists them", t0);
    log_begin(LOG_INFO, "artifact deleted");
    log_kv_strn("name", name, len);
    log_end();
    struct jbuf b;
    jbuf_init(&b);
    jbuf_puts(&b, "{\"deleted\":");
    json_string(&b, name, len);
    jbuf_puts(&b, "}");
    send_body(req, 200, &b, t0);
}

int artroutes_handle(const struct guard *g, const struct conf *conf, h2o_req_t *req, const struct guard_auth *a,
                     const char *name, size_t len, uint64_t t0) {
    if (h2o_memis(name, len, H2O_STRLIT("tokens"))) {
        tokens(g, conf, req, a, t0);
        return 1;
    }
    if (h2o_memis(name, len, H2O_STRLIT("artifacts"))) {
        if (!(method_is(req, "GET") || method_is(req, "HEAD"))) not_allowed(req, "GET, HEAD", t0);
        else if (!refused(req, a, "artifacts:read", NULL, 0, t0)) list(req, t0);
        return 1;
    }
    if (len > 10 && memcmp(name, "artifacts/", 10) == 0) {
        artifact(req, a, name + 10, len - 10, t0);
        return 1;
    }
    return 0;
}
