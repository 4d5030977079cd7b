/* admin.c: --admin-listen, a minimal blocking HTTP/1.1 responder on its own thread. It answers
 * GET /api/metrics from the C registry (never Lua), so a learner can watch the figures while
 * the loop is stuck. One connection at a time, Connection: close, 2 s socket timeouts: a slow
 * client delays the next scrape, it cannot take the thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../conf/conf.h"
#include "../log/log.h"
#include "../loop/loop.h"
#include "../net/net.h"
#include "metrics.h"

#define REQ_MAX 8192

static struct {
    int fd, wake[2];
    pthread_t thread;
    int started;
} adm = {-1, {-1, -1}, 0, 0};

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void respond(int fd, int status, const char *reason, const char *type, const char *extra, const char *body,
                    size_t len, int head) {
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n%s"
                     "Connection: close\r\nServer: proflab-admin/" PROFLAB_VERSION "\r\n\r\n",
                     status, reason, type, len, extra);
    if (n <= 0 || (size_t)n >= sizeof hdr) return;
    if (send_all(fd, hdr, (size_t)n) == 0 && !head && len > 0) send_all(fd, body, len);
}

static void error(int fd, int status, const char *reason, const char *code, const char *message, const char *extra) {
    struct jbuf b;
    jbuf_init(&b);
    json_error(&b, code, message);
    respond(fd, status, reason, "application/json; charset=utf-8", extra, b.p ? b.p : "{}", b.p ? b.len : 2, 0);
    jbuf_free(&b);
}

static void serve_one(int fd) {
    struct timeval tv = {2, 0};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        return;
    char req[REQ_MAX + 1];
    size_t used = 0;
    while (used < REQ_MAX) {
        ssize_t r = recv(fd, req + used, REQ_MAX - used, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        used += (size_t)r;
        req[used] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL) break;
    }
    req[used] = '\0';
    if (used == REQ_MAX) {
        error(fd, 431, "Request Header Fields Too Large", "bad_request", "request head over 8 KiB", "");
        return;
    }
    char method[16], target[1024], version[16];
    if (sscanf(req, "%15s %1023s %15s", method, target, version) != 3 || strncmp(version, "HTTP/1.", 7) != 0) {
        error(fd, 400, "Bad Request", "bad_request", "not an HTTP/1.x request line", "");
        return;
    }
    char *q = strchr(target, '?');
    if (q != NULL) *q = '\0';
    if (strcmp(target, "/api/metrics") != 0) {
        error(fd, 404, "Not Found", "not_found", "the admin listener serves GET /api/metrics only", "");
        return;
    }
    int head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        error(fd, 405, "Method Not Allowed", "method_not_allowed", "this route answers GET", "Allow: GET, HEAD\r\n");
        return;
    }
    struct jbuf b;
    jbuf_init(&b);
    if (met_render(&b) != 0) error(fd, 500, "Internal Server Error", "out_of_memory", "out of memory writing the metrics", "");
    else respond(fd, 200, "OK", MET_CONTENT_TYPE, "", b.p ? b.p : "", b.len, head);
    jbuf_free(&b);
}

static void *admin_main(void *unused) {
    for (;;) {
        struct pollfd pf[2] = {{adm.fd, POLLIN, 0}, {adm.wake[0], POLLIN, 0}};
        int r = poll(pf, 2, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || (pf[1].revents & (POLLIN | POLLHUP))) break;
        if (!(pf[0].revents & POLLIN)) continue;
        int c = accept4(adm.fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue; /* EAGAIN, ECONNABORTED, EMFILE: try again on the next event */
        serve_one(c);
        shutdown(c, SHUT_WR);
        close(c);
    }
    return NULL;
}

int met_admin_start(const struct conf_addr *addr, char *err, size_t errlen) {
    char bound[NET_ADDR_MAX], lerr[300];
    int fd = net_listen(addr, 64, bound, sizeof bound, lerr, sizeof lerr);
    if (fd < 0) {
        snprintf(err, errlen, "--admin-listen: %s", lerr);
        return -1;
    }
    if (pipe2(adm.wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "--admin-listen: pipe: %s", strerror(errno));
        close(fd);
        return -1;
    }
    adm.fd = fd;
    int e = loop_helper_start(&adm.thread, admin_main, NULL);
    if (e != 0) {
        snprintf(err, errlen, "--admin-listen: cannot start its thread: %s", strerror(e));
        met_admin_stop();
        return -1;
    }
    adm.started = 1;
    char url[NET_ADDR_MAX + 32];
    snprintf(url, sizeof url, "http://%s/api/metrics", bound);
    log_begin(LOG_INFO, "admin listening");
    log_kv_str("url", url);
    log_end();
    return 0;
}

void met_admin_stop(void) {
    if (adm.started) {
        ssize_t w = write(adm.wake[1], "x", 1);
        if (w == 1) pthread_join(adm.thread, NULL);
        else pthread_detach(adm.thread); /* cannot wake it: the process is ending anyway */
        adm.started = 0;
    }
    if (adm.fd >= 0) close(adm.fd);
    for (int i = 0; i < 2; i++)
        if (adm.wake[i] >= 0) close(adm.wake[i]);
    adm.fd = adm.wake[0] = adm.wake[1] = -1;
}
