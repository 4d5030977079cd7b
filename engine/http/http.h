/* http: the HTTP/1.1 and HTTP/2 (TLS, ALPN) front of the engine, on h2o's evloop. */
#ifndef PROFLAB_HTTP_H
#define PROFLAB_HTTP_H

#include <openssl/ssl.h>
#include <stddef.h>

struct conf;
struct rt;
struct guard;

/* Binds the listeners and registers the routes. 0, or -1 with err. */
int http_start(const struct conf *conf, struct rt *rt, const struct guard *guard, char *err, size_t errlen);
/* Serves until SIGTERM or SIGINT, then stops accepting, lets requests in flight finish within
 * conf->shutdown_grace_ms and releases everything. Returns the process exit code. */
int http_run(void);

/* tls.c */
/* A server context (TLS 1.2+, HTTP/2 and HTTP/1.1 by ALPN) from PEM files, or with a key and
 * certificate made in memory when cert is NULL. NULL with err on failure. */
SSL_CTX *tls_context(const char *cert, const char *key, char *err, size_t errlen);

/* routes.c */
struct st_h2o_pathconf_t;
void routes_register(struct st_h2o_pathconf_t *pathconf, const struct conf *conf, struct rt *rt, const struct guard *guard);

#endif
