/* wire.c: the inspector's socket thread. It answers discovery (GET /json/list, /json/version),
 * upgrades one connection at a time to a WebSocket (frames by wslay), and passes messages both
 * ways through two queues: text frames in, to the loop thread, woken by an h2o message; CDP
 * messages out, from the loop thread, which wakes this one through a pipe. The loop thread may
 * be blocked (a jam, a breakpoint): this thread never waits for it. */
#define _GNU_SOURCE
#define H2O_USE_LIBUV 0
#include <errno.h>
#include <fcntl.h>
#include <h2o.h>
#include <h2o/multithread.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "../conf/conf.h"
#include "../guard/guard.h"
#include "../json/json.h"
#include "../log/log.h"
#include "../loop/loop.h"
#include "../net/net.h"
#include "../rt/rt.h"
#include "insp.h"

#define PENDING_MAX 8
#define PENDING_TIMEOUT_MS 5000
#define WSLAY_BATCH 4 /* messages handed to wslay at a time: the rest wait in our queue */

struct msg {
    struct msg *next;
    int kind;
    size_t len;
    char data[];
};
enum { M_TEXT, M_OPEN, M_CLOSE };

struct pending { /* a connection whose request head is still coming */
    int fd;
    uint64_t deadline_us;
    size_t used;
    char buf[INSP_HEAD_MAX];
};

static struct {
    int fd, wake[2];
    pthread_t thread;
    int started;
    char id[37];
    char url[PATH_MAX + 8];
    struct rt *rt;
    const struct guard *guard; /* non-NULL: every request needs a token with scope inspect */

    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct msg *in_head, *in_tail;   /* to the loop thread */
    struct msg *out_head, *out_tail; /* to the client */
    size_t out_bytes;
    int open;     /* a session is attached (as this thread sees it) */
    int stopping;
    int wake_pending;

    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    h2o_multithread_message_t ping;
    int ping_pending;

    /* this thread's own */
    struct pending *pending[PENDING_MAX];
    int ws_fd;
    wslay_event_context_ptr ws;
} w = {.fd = -1, .wake = {-1, -1}, .ws_fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Queues */

static struct msg *msg_new(int kind, const void *p, size_t n) {
    struct msg *m = malloc(sizeof *m + n + 1);
    if (m == NULL) return NULL;
    m->next = NULL;
    m->kind = kind;
    m->len = n;
    if (n) memcpy(m->data, p, n);
    m->data[n] = '\0';
    return m;
}

/* This thread: a message for the loop thread, which is woken unless a wake is on its way. */
static void push_in(int kind, const void *p, size_t n) {
    struct msg *m = msg_new(kind, p, n);
    if (m == NULL) return; /* the client will time out on its request */
    pthread_mutex_lock(&w.mu);
    if (w.in_tail) w.in_tail->next = m;
    else w.in_head = m;
    w.in_tail = m;
    int ping = !w.ping_pending;
    w.ping_pending = 1;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.mu);
    if (ping) h2o_multithread_send_message(&w.receiver, &w.ping);
}

/* The loop thread: runs what arrived. wait_ms < 0 waits until something does (a paused
 * debugger); 0 does not wait. Returns how many messages ran. */
int insp_pump(int wait_ms) {
    pthread_mutex_lock(&w.mu);
    if (wait_ms != 0 && w.in_head == NULL && !w.stopping) {
        if (wait_ms < 0) {
            pthread_cond_wait(&w.cond, &w.mu);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&w.cond, &w.mu, &ts);
        }
    }
    struct msg *m = w.in_head;
    w.in_head = w.in_tail = NULL;
    pthread_mutex_unlock(&w.mu);
    int n = 0;
    while (m != NULL) {
        struct msg *next = m->next;
        if (m->kind == M_OPEN) cdp_attach(w.rt);
        else if (m->kind == M_CLOSE) cdp_detach();
        else cdp_message(m->data, m->len);
        free(m);
        m = next;
        n++;
    }
    return n;
}

static void on_ping(h2o_multithread_receiver_t *r, h2o_linklist_t *messages) {
    (void)r;
    while (!h2o_linklist_is_empty(messages)) h2o_linklist_unlink(messages->next);
    pthread_mutex_lock(&w.mu);
    w.ping_pending = 0;
    pthread_mutex_unlock(&w.mu);
    insp_pump(0);
}

int insp_send(const char *json, size_t len) {
    struct msg *m = msg_new(M_TEXT, json, len);
    if (m == NULL) return -1;
    pthread_mutex_lock(&w.mu);
    while (w.open && !w.stopping && w.out_bytes > INSP_OUT_MAX) pthread_cond_wait(&w.cond, &w.mu);
    if (!w.open || w.stopping) {
        pthread_mutex_unlock(&w.mu);
        free(m);
        return -1;
    }
    if (w.out_tail) w.out_tail->next = m;
    else w.out_head = m;
    w.out_tail = m;
    w.out_bytes += len;
    int wake = !w.wake_pending;
    w.wake_pending = 1;
    pthread_mutex_unlock(&w.mu);
    if (wake && write(w.wake[1], "o", 1) != 1) return -1; /* the pipe is full of wakes already */
    return 0;
}

/* Discovery */

static void send_small(int fd, int status, const char *reason, const char *type, const char *body, size_t n) {
    char head[512];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, type, n);
    if (h <= 0 || (size_t)h >= sizeof head) return;
    /* a small answer fits the socket's buffer; a client that does not read loses it */
    if (send(fd, head, (size_t)h, MSG_NOSIGNAL) == h && n > 0) (void)!send(fd, body, n, MSG_NOSIGNAL);
}

static void send_error(int fd, int status, const char *reason, const char *code, const char *message) {
    struct jbuf b;
    jbuf_init(&b);
    json_error(&b, code, message);
    if (!b.oom) send_small(fd, status, reason, "application/json; charset=utf-8", b.p, b.len);
    jbuf_free(&b);
}

static void target_list(struct jbuf *b, const char *host) {
    char ws[600];
    snprintf(ws, sizeof ws, "%s/%s", host, w.id);
    char front[700];
    snprintf(front, sizeof front, "devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=%s", ws);
    char title[64];
    snprintf(title, sizeof title, "proflab[%d]", (int)getpid());
    jbuf_puts(b, "[{\"description\":\"proflab: the Lua state of the lab engine\",\"devtoolsFrontendUrl\":");
    json_string(b, front, strlen(front));
    jbuf_puts(b, ",\"id\":");
    json_string(b, w.id, strlen(w.id));
    jbuf_puts(b, ",\"title\":");
    json_string(b, title, strlen(title));
    jbuf_puts(b, ",\"type\":\"node\",\"url\":");
    json_string(b, w.url, strlen(w.url));
    jbuf_puts(b, ",\"webSocketDebuggerUrl\":");
    char wsurl[620];
    snprintf(wsurl, sizeof wsurl, "ws://%s", ws);
    json_string(b, wsurl, strlen(wsurl));
    jbuf_puts(b, "}]");
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud) {
    (void)flags, (void)ud;
    ssize_t r;
    do r = recv(w.ws_fd, buf, len, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0) return r;
    wslay_event_set_error(ctx, r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? WSLAY_ERR_WOULDBLOCK
                                                                                  : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *ud) {
    (void)flags, (void)ud;
    ssize_t r;
    do r = send(w.ws_fd, data, len, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r >= 0) return r;
    wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK ? WSLAY_ERR_WOULDBLOCK
                                                                       : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *ud) {
    (void)ud;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        struct cdp_msg m; /* a pause must reach a scenario that holds the loop: it cannot wait in the queue */
        if (cdp_msg_parse((const char *)arg->msg, arg->msg_length, &m) == 0 && strcmp(m.method, "Debugger.pause") == 0)
            dbg_interrupt();
        cdp_msg_free(&m);
        push_in(M_TEXT, arg->msg, arg->msg_length);
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
        wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, NULL, 0);
    }
}

static const struct wslay_event_callbacks ws_callbacks = {ws_recv, ws_send, NULL, NULL, NULL, NULL, ws_msg};

static void session_close(void) {
    if (w.ws != NULL) wslay_event_context_free(w.ws);
    w.ws = NULL;
    if (w.ws_fd >= 0) close(w.ws_fd);
    w.ws_fd = -1;
    pthread_mutex_lock(&w.mu);
    w.open = 0;
    struct msg *m = w.out_head;
    w.out_head = w.out_tail = NULL;
    w.out_bytes = 0;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.mu);
    while (m != NULL) {
        struct msg *next = m->next;
        free(m);
        m = next;
    }
    push_in(M_CLOSE, NULL, 0);
    log_msg(LOG_INFO, "inspector session ended");
}

static int upgrade(int fd, const struct insp_head *h) {
    char key[64 + 36];
    unsigned char digest[20];
    size_t dlen = 0;
    snprintf(key, sizeof key, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", h->ws_key);
    if (EVP_Q_digest(NULL, "SHA1", NULL, key, strlen(key), digest, &dlen) != 1 || dlen != sizeof digest) return -1;
    char accept[32];
    if (EVP_EncodeBlock((unsigned char *)accept, digest, sizeof digest) != 28) return -1;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    if (n <= 0 || (size_t)n >= sizeof head || send(fd, head, (size_t)n, MSG_NOSIGNAL) != n) return -1;
    if (wslay_event_context_server_init(&w.ws, &ws_callbacks, NULL) != 0) return -1;
    wslay_event_config_set_max_recv_msg_length(w.ws, 16u << 20);
    w.ws_fd = fd;
    pthread_mutex_lock(&w.mu);
    w.open = 1;
    pthread_mutex_unlock(&w.mu);
    push_in(M_OPEN, NULL, 0);
    log_msg(LOG_INFO, "inspector session attached");
    return 0;
}

/* A remote inspector: the token must carry scope inspect (the master token does). */
static int token_allows(int fd, const struct insp_head *h) {
    struct guard_auth auth;
    struct guard_verdict v = guard_check_any(w.guard, h->token[0] ? h->token : NULL, strlen(h->token),
                                             (int64_t)time(NULL), &auth);
    if (v.status == 0) v = guard_allow(&auth, "inspect", NULL, 0);
    if (v.status == 0) return 1;
    send_error(fd, v.status, v.status == 401 ? "Unauthorized" : v.status == 404 ? "Not Found" : "Forbidden", v.code,
               v.message);
    return 0;
}

/* A complete head: answered, then closed, unless it became the session. */
static void answer(struct pending *p) {
    struct insp_head h;
    int fd = p->fd;
    if (insp_head_parse(p->buf, p->used, &h) != 0) {
        send_error(fd, 400, "Bad Request", "bad_request", "not a well-formed HTTP/1.1 request head");
    } else if (!insp_host_allowed(h.host)) {
        send_error(fd, 403, "Forbidden", "bad_host",
                   "the inspector answers Host headers that are an IP address or localhost only");
    } else if (w.guard != NULL && !token_allows(fd, &h)) {
        /* answered */
    } else if (h.websocket) {
        if (h.target[0] != '/' || strcmp(h.target + 1, w.id) != 0)
            send_error(fd, 404, "Not Found", "not_found", "no inspector target at this path (see /json/list)");
        else if (w.ws != NULL)
            send_error(fd, 409, "Conflict", "busy", "another DevTools session is attached");
        else if (upgrade(fd, &h) == 0)
            return;
    } else if (strcmp(h.method, "GET") != 0) {
        send_error(fd, 405, "Method Not Allowed", "method_not_allowed", "the inspector answers GET");
    } else if (strcmp(h.target, "/json") == 0 || strcmp(h.target, "/json/list") == 0 ||
               strcmp(h.target, "/json/version") == 0) {
        struct jbuf b;
        jbuf_init(&b);
        if (strcmp(h.target, "/json/version") == 0)
            jbuf_puts(&b, "{\"Browser\":\"proflab/" PROFLAB_VERSION "\",\"Protocol-Version\":\"1.3\"}");
        else
            target_list(&b, h.host);
        if (!b.oom) send_small(fd, 200, "OK", "application/json; charset=UTF-8", b.p, b.len);
        jbuf_free(&b);
    } else {
        send_error(fd, 404, "Not Found", "not_found", "the inspector serves /json/list, /json/version and its WebSocket");
    }
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* Reads what a pending connection sent; answers it once its head is complete. */
static void pending_read(int i) {
    struct pending *p = w.pending[i];
    ssize_t r;
    do r = recv(p->fd, p->buf + p->used, sizeof p->buf - p->used, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r <= 0) {
        close(p->fd);
    } else {
        p->used += (size_t)r;
        const char *end = NULL;
        for (size_t k = 0; k + 1 < p->used && end == NULL; k++)
            if (p->buf[k] == '\n' && (p->buf[k + 1] == '\n' || (k + 2 < p->used && p->buf[k + 1] == '\r' &&
                                                                p->buf[k + 2] == '\n')))
                end = p->buf + k;
        if (end == NULL && p->used < sizeof p->buf) return;
        if (end == NULL) {
            send_error(p->fd, 431, "Request Header Fields Too Large", "bad_request", "request head over 8 KiB");
            close(p->fd);
        } else {
            answer(p); /* bytes after the head (a first frame) are not expected before the 101 */
        }
    }
    free(p);
    w.pending[i] = NULL;
}

static void accept_one(void) {
    int fd = accept4(w.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    for (int i = 0; i < PENDING_MAX; i++) {
        if (w.pending[i] != NULL) continue;
        struct pending *p = malloc(sizeof *p);
        if (p == NULL) break;
        p->fd = fd;
        p->used = 0;
        p->deadline_us = loop_now_us() + PENDING_TIMEOUT_MS * 1000ull;
        w.pending[i] = p;
        return;
    }
    close(fd); /* too many at once */
}

/* Moves queued messages to wslay, a few at a time. */
static void feed_wslay(void) {
    if (w.ws == NULL) return;
    while (wslay_event_get_queued_msg_count(w.ws) < WSLAY_BATCH) {
        pthread_mutex_lock(&w.mu);
        struct msg *m = w.out_head;
        if (m != NULL) {
            w.out_head = m->next;
            if (w.out_head == NULL) w.out_tail = NULL;
            w.out_bytes -= m->len;
            pthread_cond_broadcast(&w.cond);
        }
        pthread_mutex_unlock(&w.mu);
        if (m == NULL) break;
        struct wslay_event_msg em = {WSLAY_TEXT_FRAME, (const uint8_t *)m->data, m->len};
        int r = wslay_event_queue_msg(w.ws, &em); /* copies the data */
        free(m);
        if (r != 0) break;
    }
}

static void *wire_main(void *unused) {
    (void)unused;
    for (;;) {
        struct pollfd pf[3 + PENDING_MAX];
        int n = 0, slot[PENDING_MAX];
        pf[n++] = (struct pollfd){w.fd, POLLIN, 0};
        pf[n++] = (struct pollfd){w.wake[0], POLLIN, 0};
        int ws_at = -1;
        if (w.ws != NULL) {
            feed_wslay();
            short ev = (short)((wslay_event_want_read(w.ws) ? POLLIN : 0) | (wslay_event_want_write(w.ws) ? POLLOUT : 0));
            if (ev == 0) {
                session_close();
            } else {
                ws_at = n;
                pf[n++] = (struct pollfd){w.ws_fd, ev, 0};
            }
        }
        uint64_t now = loop_now_us(), next = UINT64_MAX;
        for (int i = 0; i < PENDING_MAX; i++) {
            slot[i] = -1;
            if (w.pending[i] == NULL) continue;
            if (w.pending[i]->deadline_us <= now) { /* slow or idle: dropped */
                close(w.pending[i]->fd);
                free(w.pending[i]);
                w.pending[i] = NULL;
                continue;
            }
            if (w.pending[i]->deadline_us < next) next = w.pending[i]->deadline_us;
            slot[i] = n;
            pf[n++] = (struct pollfd){w.pending[i]->fd, POLLIN, 0};
        }
        int timeout = next == UINT64_MAX ? -1 : (int)((next - now) / 1000 + 1);
        int r = poll(pf, (nfds_t)n, timeout);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        if (pf[1].revents) {
            char buf[64];
            while (read(w.wake[0], buf, sizeof buf) > 0) {
            }
            pthread_mutex_lock(&w.mu);
            w.wake_pending = 0;
            int stop = w.stopping;
            pthread_mutex_unlock(&w.mu);
            if (stop) break;
        }
        if (ws_at >= 0 && w.ws != NULL) {
            if ((pf[ws_at].revents & (POLLIN | POLLHUP | POLLERR)) && wslay_event_recv(w.ws) != 0) session_close();
            else if (wslay_event_want_write(w.ws) && wslay_event_send(w.ws) != 0) session_close();
        }
        for (int i = 0; i < PENDING_MAX; i++)
            if (slot[i] >= 0 && pf[slot[i]].revents) pending_read(i);
        if (pf[0].revents & POLLIN) accept_one();
    }
    for (int i = 0; i < PENDING_MAX; i++)
        if (w.pending[i] != NULL) {
            close(w.pending[i]->fd);
            free(w.pending[i]);
            w.pending[i] = NULL;
        }
    if (w.ws != NULL) session_close();
    return NULL;
}

int insp_start(const struct conf *conf, struct rt *rt, const struct guard *guard, char *err, size_t errlen) {
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        snprintf(err, errlen, "--inspect: no random bytes for the target id");
        return -1;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* a version 4 UUID, as Node's ids are */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(w.id, sizeof w.id, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
    char dir[PATH_MAX];
    const char *first = conf->n_scenario_dirs > 0 ? conf->scenario_dirs[0] : ".";
    snprintf(w.url, sizeof w.url, "file://%s", realpath(first, dir) ? dir : first);
    w.rt = rt;
    w.guard = conf->inspect_remote ? guard : NULL;
    char bound[NET_ADDR_MAX], lerr[300];
    w.fd = net_listen(&conf->inspect_listen, 16, bound, sizeof bound, lerr, sizeof lerr);
    if (w.fd < 0) {
        snprintf(err, errlen, "--inspect: %s", lerr);
        return -1;
    }
    if (pipe2(w.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "--inspect: pipe: %s", strerror(errno));
        insp_stop();
        return -1;
    }
    w.queue = h2o_multithread_create_queue((h2o_loop_t *)loop_evloop());
    h2o_multithread_register_receiver(w.queue, &w.receiver, on_ping);
    int e = loop_helper_start(&w.thread, wire_main, NULL);
    if (e != 0) {
        snprintf(err, errlen, "--inspect: cannot start its thread: %s", strerror(e));
        insp_stop();
        return -1;
    }
    w.started = 1;
    char url[NET_ADDR_MAX + 64];
    snprintf(url, sizeof url, "ws://%s/%s", bound, w.id);
    log_begin(LOG_INFO, "inspector listening");
    log_kv_str("url", url);
    log_kv_str("help", "chrome://inspect, or devtools://devtools/bundled/js_app.html?v8only=true&ws=HOST:PORT/ID");
    log_end();
    return 0;
}

void insp_stop(void) {
    if (w.fd < 0 && w.queue == NULL) return; /* never started */
    if (w.started) {
        pthread_mutex_lock(&w.mu);
        w.stopping = 1;
        pthread_cond_broadcast(&w.cond);
        pthread_mutex_unlock(&w.mu);
        if (write(w.wake[1], "s", 1) == 1) pthread_join(w.thread, NULL);
        else pthread_detach(w.thread);
        w.started = 0;
    }
    /* h2o asserts a receiver has no message left when it goes: the last ping (the session's
     * end, sent while the thread stopped) is delivered by the loop first */
    for (int i = 0; w.queue != NULL && i < 100; i++) {
        pthread_mutex_lock(&w.mu);
        int pending = w.ping_pending;
        pthread_mutex_unlock(&w.mu);
        if (!pending) break;
        loop_run_once(10);
    }
    insp_pump(0);
    if (w.queue != NULL) {
        h2o_multithread_unregister_receiver(w.queue, &w.receiver);
        h2o_multithread_destroy_queue(w.queue);
        w.queue = NULL;
    }
    if (w.fd >= 0) close(w.fd);
    for (int i = 0; i < 2; i++)
        if (w.wake[i] >= 0) close(w.wake[i]);
    w.fd = w.wake[0] = w.wake[1] = -1;
    for (struct msg *m = w.in_head, *next; m != NULL; m = next) {
        next = m->next;
        free(m);
    }
    w.in_head = w.in_tail = NULL;
}
