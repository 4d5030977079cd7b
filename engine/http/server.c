/* server.c: listeners, the accept path, signals and the graceful stop. */
#define H2O_USE_LIBUV 0
#include <errno.h>
#include <h2o.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../conf/conf.h"
#include "../log/log.h"
#include "../loop/loop.h"
#include "../net/net.h"
#include "../rt/rt.h"
#include "http.h"

struct listener {
    h2o_socket_t *sock;
    h2o_accept_ctx_t accept;
};

static struct {
    h2o_globalconf_t config;
    h2o_context_t ctx;
    struct listener listeners[2];
    int n_listeners;
    SSL_CTX *ssl;
    const struct conf *conf;
    struct rt *rt;
    int config_ready, ctx_ready;
} srv;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

int http_stop_requested(void) { return stop_signal != 0; }

static void on_accept(h2o_socket_t *listener, const char *err) {
    if (err != NULL) return;
    struct listener *l = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL) h2o_accept(&l->accept, sock);
}

static int bind_listener(const struct conf_addr *addr, SSL_CTX *ssl, char *err, size_t errlen) {
    char bound[NET_ADDR_MAX], url[NET_ADDR_MAX + 16];
    int fd = net_listen(addr, SOMAXCONN, bound, sizeof bound, err, errlen);
    if (fd < 0) return -1;
    snprintf(url, sizeof url, "%s://%s", ssl ? "https" : "http", bound);

    struct listener *l = &srv.listeners[srv.n_listeners++];
    l->accept.ctx = &srv.ctx;
    l->accept.hosts = srv.config.hosts;
    l->accept.ssl_ctx = ssl;
    l->sock = h2o_evloop_socket_create(srv.ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    l->sock->data = l;
    h2o_socket_read_start(l->sock, on_accept);

    log_begin(LOG_INFO, "listening");
    log_kv_str("url", url);
    log_kv_str("protocols", ssl ? "h2,http/1.1" : "http/1.1");
    log_end();
    return 0;
}

int http_start(const struct conf *conf, struct rt *rt, const struct guard *guard, char *err, size_t errlen) {
    srv.conf = conf;
    srv.rt = rt;
    h2o_config_init(&srv.config);
    srv.config_ready = 1;
    srv.config.server_name = h2o_iovec_init(H2O_STRLIT("proflab/" PROFLAB_VERSION));
    srv.config.max_request_entity_size = 1024 * 1024;
    h2o_hostconf_t *host = h2o_config_register_host(&srv.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    routes_register(path, conf, rt, guard);
    h2o_context_init(&srv.ctx, loop_evloop(), &srv.config);
    srv.ctx_ready = 1;

    if (conf->tls_enabled) {
        srv.ssl = tls_context(conf->tls_self_signed ? NULL : conf->tls_cert, conf->tls_key, err, errlen);
        if (srv.ssl == NULL) return -1;
    }
    if (bind_listener(&conf->listen, NULL, err, errlen) != 0) return -1;
    if (conf->tls_enabled && bind_listener(&conf->tls_listen, srv.ssl, err, errlen) != 0) return -1;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
        snprintf(err, errlen, "sigaction: %s", strerror(errno));
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void close_listeners(void) {
    for (int i = 0; i < srv.n_listeners; i++) {
        if (srv.listeners[i].sock == NULL) continue;
        h2o_socket_read_stop(srv.listeners[i].sock);
        h2o_socket_close(srv.listeners[i].sock);
        srv.listeners[i].sock = NULL;
    }
}

static int timeouts_empty(void) {
    h2o_timeout_t *lists[] = {&srv.ctx.zero_timeout,      &srv.ctx.one_sec_timeout,   &srv.ctx.hundred_ms_timeout,
                              &srv.ctx.handshake_timeout, &srv.ctx.http1.req_timeout, &srv.ctx.http2.idle_timeout};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (!h2o_linklist_is_empty(&lists[i]->_entries)) return 0;
    return 1;
}

int http_run(void) {
    while (!stop_signal) {
        if (loop_run_once(1000) != 0) {
            log_msg(LOG_ERROR, "event loop failed: %s", strerror(errno));
            break;
        }
    }
    int sig = stop_signal;
    close_listeners();
    h2o_context_request_shutdown(&srv.ctx);
    log_begin(LOG_INFO, "stopping");
    log_kv_str("signal", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "none");
    log_kv_int("in_flight", srv.rt->calls_in_flight);
    log_end();
    uint64_t deadline = loop_now_us() + (uint64_t)srv.conf->shutdown_grace_ms * 1000u;
    while (srv.rt->calls_in_flight > 0 && loop_now_us() < deadline) loop_run_once(10);
    if (srv.rt->calls_in_flight > 0) log_msg(LOG_WARN, "%d scenario calls still running at the grace limit; dropped",
                                             srv.rt->calls_in_flight);
    /* let the last answers reach their sockets */
    uint64_t flush_until = loop_now_us() + 100000;
    while (loop_now_us() < flush_until) loop_run_once(10);
    /* Idle keep-alive and HTTP/2 connections wait on h2o's timeout lists, and h2o 2.2.5 has no
     * call to close them; h2o_context_dispose asserts the lists are empty. A timeout of 0 makes
     * every waiting connection time out, and close, at the next pass. */
    srv.ctx.http1.req_timeout.timeout = 0;
    srv.ctx.http2.idle_timeout.timeout = 0;
    srv.ctx.handshake_timeout.timeout = 0;
    /* request_shutdown arms HTTP/2's graceful-shutdown timer even with no HTTP/2 connection, and
     * h2o_context_dispose asserts that every timer list is empty: once no HTTP/2 connection is
     * left to tell, the timer goes, so a stop does not wait out its second */
    uint64_t close_until = loop_now_us() + 1000000;
    while (loop_now_us() < close_until) {
        if (h2o_linklist_is_empty(&srv.ctx.http2._conns) && h2o_timeout_is_linked(&srv.ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&srv.ctx.http2._graceful_shutdown_timeout);
        if (timeouts_empty()) break;
        loop_run_once(1);
    }
    if (h2o_timeout_is_linked(&srv.ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&srv.ctx.http2._graceful_shutdown_timeout);
    log_msg(LOG_INFO, "stopped");
    log_set_buffered(0);
    http_dispose();
    return sig != 0 ? 0 : 1;
}

void http_dispose(void) {
    if (srv.n_listeners > 0) {
        close_listeners();
        loop_run_once(0); /* the evloop frees closed sockets on its next pass */
        srv.n_listeners = 0;
    }
    if (srv.ctx_ready) h2o_context_dispose(&srv.ctx);
    if (srv.config_ready) h2o_config_dispose(&srv.config);
    if (srv.ssl != NULL) SSL_CTX_free(srv.ssl);
    srv.ctx_ready = srv.config_ready = 0;
    srv.ssl = NULL;
}
