/* routes.c: /api/health, the lab catalog and status, and one route per scenario.
 * A thin layer: the guard, parameter parsing and the runtime decide; this file answers. */
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../conf/conf.h"
#include "../guard/guard.h"
#include "../json/json.h"
#include "../log/log.h"
#include "../loop/loop.h"
#include "../metrics/metrics.h"
#include "../rt/rt.h"
#include "http.h"

struct route_handler {
    h2o_handler_t super;
    const struct conf *conf;
    struct rt *rt;
    const struct guard *guard;
    uint64_t started_us;
};

/* A scenario call in flight, in the request's pool: the pool's end detaches the call. */
struct pending {
    h2o_req_t *req;
    struct rt_call *call;
    uint64_t started_us;
};

const char *http_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return status < 500 ? "Client Error" : "Server Error";
    }
}

/* One logfmt line and the HTTP metrics per request. The path is logged without its query,
 * so a ?token= never reaches a log. */
void http_access_log(h2o_req_t *req, int status, size_t bytes, uint64_t started_us) {
    log_begin(LOG_INFO, "request");
    log_kv_strn("method", req->method.base, req->method.len);
    log_kv_strn("path", req->path_normalized.base, req->path_normalized.len);
    log_kv_int("status", status);
    log_kv_num("duration_ms", (double)(loop_now_us() - started_us) / 1000.0, 3);
    log_kv_int("bytes", (long long)bytes);
    log_kv_str("proto", req->version >= 0x200 ? "h2" : "http/1.1");
    log_end();
    met_http_observe(req->method.base, req->method.len, req->path_normalized.base, req->path_normalized.len, status,
                     (double)(loop_now_us() - started_us) / 1e6);
}

static void send_json(h2o_req_t *req, int status, const char *body, size_t len, uint64_t started_us) {
    req->res.status = status;
    req->res.reason = http_reason(status);
    req->res.content_length = len; /* h2o_send_inline alone answers chunked */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    http_access_log(req, status, len, started_us);
    h2o_send_inline(req, body, len);
}

static void send_error(h2o_req_t *req, int status, const char *code, const char *message, uint64_t started_us) {
    struct jbuf b;
    jbuf_init(&b);
    json_error(&b, code, message);
    send_json(req, status, b.p ? b.p : "{}", b.p ? b.len : 2, started_us);
    jbuf_free(&b);
}

static int method_is(h2o_req_t *req, const char *m) { return h2o_memis(req->method.base, req->method.len, m, strlen(m)); }

/* GET (and HEAD, which h2o answers without the body). */
static int check_get(h2o_req_t *req, uint64_t t0) {
    if (method_is(req, "GET") || method_is(req, "HEAD")) return 0;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
    send_error(req, 405, "method_not_allowed", "this route answers GET", t0);
    return -1;
}

static void health(struct route_handler *h, h2o_req_t *req, uint64_t t0) {
    char body[512], stamp[40];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000);
    const char *env = h->conf->app_env ? h->conf->app_env : h->conf->node_env ? h->conf->node_env : "development";
    struct jbuf e;
    jbuf_init(&e);
    json_string(&e, env, strlen(env));
    int len = snprintf(body, sizeof body,
                       "{\"status\":\"healthy\",\"timestamp\":\"%s\",\"version\":\"" PROFLAB_VERSION
                       "\",\"service\":\"proflab\",\"uptime\":%.3f,\"environment\":%s}",
                       stamp, (double)(loop_now_us() - h->started_us) / 1e6, e.p ? e.p : "null");
    jbuf_free(&e);
    send_json(req, 200, body, len > 0 && (size_t)len < sizeof body ? (size_t)len : 0, t0);
}

/* GET /api/metrics: the Prometheus text exposition */
static void metrics(h2o_req_t *req, uint64_t t0) {
    struct jbuf b;
    jbuf_init(&b);
    if (met_render(&b) != 0 || b.p == NULL) {
        jbuf_free(&b);
        send_error(req, 500, "out_of_memory", "out of memory writing the metrics", t0);
        return;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT(MET_CONTENT_TYPE));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    http_access_log(req, 200, b.len, t0);
    h2o_send_inline(req, b.p, b.len);
    jbuf_free(&b);
}

static void send_jbuf(h2o_req_t *req, int ok, struct jbuf *b, uint64_t t0) {
    if (ok != 0 || b->p == NULL) send_error(req, 507, "lua_memory_limit", "the Lua heap is at LAB_LUA_MAX_MB", t0);
    else send_json(req, 200, b->p, b->len, t0);
    jbuf_free(b);
}

static void on_pending_dispose(void *p) {
    struct pending *pd = p;
    if (pd->call != NULL) rt_call_detach(pd->call);
    pd->call = NULL;
    pd->req = NULL;
}

static void on_call_done(void *ud, int status, const char *json, size_t len) {
    struct pending *pd = ud;
    pd->call = NULL;
    if (pd->req != NULL) send_json(pd->req, status, json, len, pd->started_us);
}

static void scenario(struct route_handler *h, h2o_req_t *req, const char *name, size_t name_len, uint64_t t0) {
    struct rt_scenario *s = rt_find(h->rt, name, name_len);
    if (s == NULL) {
        send_error(req, 404, "unknown_scenario", "no such scenario: GET /api/lab lists them", t0);
        return;
    }
    if (s->load_error != NULL) {
        char msg[1024];
        snprintf(msg, sizeof msg, "scenario %s failed to load: %s", s->name, s->load_error);
        send_error(req, 503, "scenario_unavailable", msg, t0);
        return;
    }
    if (!method_is(req, s->method)) {
        char msg[120];
        snprintf(msg, sizeof msg, "%s answers %s", s->name, s->method);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, s->method, strlen(s->method));
        send_error(req, 405, "method_not_allowed", msg, t0);
        return;
    }
    struct param_value vals[PARAM_MAX];
    struct param_error perr;
    const char *query = NULL;
    size_t qlen = 0;
    if (req->query_at != SIZE_MAX) {
        query = req->path.base + req->query_at + 1;
        qlen = req->path.len - req->query_at - 1;
    }
    char *arena = h2o_mem_alloc_pool(&req->pool, qlen + 1);
    if (params_parse(s->params, s->n_params, query, qlen, vals, arena, &perr) != 0) {
        send_error(req, 400, perr.code, perr.message, t0);
        return;
    }
    struct pending *pd = h2o_mem_alloc_shared(&req->pool, sizeof *pd, on_pending_dispose);
    pd->req = req;
    pd->call = NULL;
    pd->started_us = t0;
    struct rt_req rq = {req->method.base, req->path_normalized.base, req->entity.base,
                        req->method.len,  req->path_normalized.len,  req->entity.base ? req->entity.len : 0,
                        req->input.scheme->name.base, req->input.authority.base, req->input.scheme->name.len,
                        req->input.authority.len};
    pd->call = rt_call_start(h->rt, s, vals, &rq, on_call_done, pd);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
    struct route_handler *h = (struct route_handler *)self;
    uint64_t t0 = loop_now_us();
    const char *p = req->path_normalized.base;
    size_t n = req->path_normalized.len;

    if (h2o_memis(p, n, H2O_STRLIT("/api/health"))) {
        if (check_get(req, t0) == 0) health(h, req, t0);
        return 0;
    }
    if (h2o_memis(p, n, H2O_STRLIT("/api/metrics"))) { /* open, as in the reference lab */
        if (check_get(req, t0) == 0) metrics(req, t0);
        return 0;
    }
    int lab_root = h2o_memis(p, n, H2O_STRLIT("/api/lab")) || h2o_memis(p, n, H2O_STRLIT("/api/lab/"));
    if (!lab_root && !(n > 9 && memcmp(p, "/api/lab/", 9) == 0)) {
        send_error(req, 404, "not_found", "no such route; the API is under /api (health, lab)", t0);
        return 0;
    }

    /* the guard comes before anything else under /api/lab, parameters included */
    struct guard_auth au;
    struct guard_verdict v = auth_request(h->guard, req, &au);
    if (v.status != 0) {
        send_error(req, v.status, v.code, v.message, t0);
        return 0;
    }
    if (lab_root) {
        if (check_get(req, t0) != 0) return 0;
        struct jbuf b;
        jbuf_init(&b);
        send_jbuf(req, rt_catalog_json(h->rt, &b), &b, t0);
        return 0;
    }
    const char *name = p + 9;
    size_t name_len = n - 9;
    if (h2o_memis(name, name_len, H2O_STRLIT("status"))) {
        if (check_get(req, t0) != 0) return 0;
        struct jbuf b;
        jbuf_init(&b);
        send_jbuf(req, rt_status_json(h->rt, &b), &b, t0);
        return 0;
    }
    if (artroutes_handle(h->guard, h->conf, req, &au, name, name_len, t0)) return 0;
    if (memchr(name, '/', name_len) != NULL) {
        send_error(req, 404, "not_found", "no such lab route: GET /api/lab lists the scenarios", t0);
        return 0;
    }
    if (auth_scenario_refused(req, &au, name, name_len, t0)) return 0;
    scenario(h, req, name, name_len, t0);
    return 0;
}

void routes_register(struct st_h2o_pathconf_t *pathconf, const struct conf *conf, struct rt *rt, const struct guard *guard) {
    struct route_handler *h = (struct route_handler *)h2o_create_handler(pathconf, sizeof *h);
    h->super.on_req = on_req;
    h->conf = conf;
    h->rt = rt;
    h->guard = guard;
    h->started_us = loop_now_us();
}
