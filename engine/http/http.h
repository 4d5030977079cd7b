/* http: the HTTP/1.1 and HTTP/2 (TLS, ALPN) front of the engine, on h2o's evloop. */
#ifndef PROFLAB_HTTP_H
#define PROFLAB_HTTP_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct rt;
struct guard;

/* Binds the listeners and registers the routes. 0, or -1 with err. */
int http_start(const struct conf *conf, struct rt *rt, const struct guard *guard, char *err, size_t errlen);
/* Serves until SIGTERM or SIGINT, then stops accepting, lets requests in flight finish within
 * conf->shutdown_grace_ms and releases everything. Returns the process exit code. */
int http_run(void);
/* Closes the listeners and frees what http_start made; http_run does it at its end, a start
 * that fails later (metrics, inspector) calls it. Safe after a partial http_start. */
void http_dispose(void);
/* 1 once SIGTERM or SIGINT arrived: a paused debugger lets go so the engine can stop. */
int http_stop_requested(void);

/* tls.c */
/* A server context (TLS 1.2+, HTTP/2 and HTTP/1.1 by ALPN) from PEM files, or with a key and
 * certificate made in memory when cert is NULL. NULL with err on failure. */
SSL_CTX *tls_context(const char *cert, const char *key, char *err, size_t errlen);

/* routes.c */
typedef struct st_h2o_req_t h2o_req_t;
const char *http_reason(int status);
void http_access_log(h2o_req_t *req, int status, size_t bytes, uint64_t started_us);
struct st_h2o_pathconf_t;
void routes_register(struct st_h2o_pathconf_t *pathconf, const struct conf *conf, struct rt *rt, const struct guard *guard);

/* artifact_routes.c: credentials, /api/lab/tokens and /api/lab/artifacts[/<name>] */
struct st_h2o_req_t;
struct guard_auth;
struct guard_verdict;
/* The master token or a derived one, from x-lab-token, Authorization: Bearer, or ?token= on
 * GET /api/lab/artifacts/<name>. */
struct guard_verdict auth_request(const struct guard *g, struct st_h2o_req_t *req, struct guard_auth *out);
/* 1 when the caller may not call scenario name (a 403 was sent), else 0. */
int auth_scenario_refused(struct st_h2o_req_t *req, const struct guard_auth *a, const char *name, size_t len,
                          uint64_t t0);
/* 1 when name (after /api/lab/) was one of these routes and was answered, else 0. */
int artroutes_handle(const struct guard *g, const struct conf *conf, struct st_h2o_req_t *req, const struct guard_auth *a,
                     const char *name, size_t len, uint64_t t0);
int artroutes_parse_range(const char *s, size_t n, uint64_t size, uint64_t *start, uint64_t *end);

#endif
