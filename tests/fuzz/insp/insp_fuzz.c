/* insp_fuzz.c: what the inspector reads from a socket. Byte 0 picks the reader: an HTTP request
 * head (then its Host), a CDP message (then typed parameters by path), or a stream of WebSocket
 * frames through wslay, as the socket thread runs it, each text message then read as CDP. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <wslay/wslay.h>

#include "insp/insp.h"

static void read_message(const char *p, size_t n) {
    struct cdp_msg m;
    if (cdp_msg_parse(p, n, &m) == 0) {
        if (m.method == NULL || !m.has_id) abort();
        long long v;
        static const char *paths[] = {"lineNumber", "location.lineNumber", "location.scriptId", "a.b.c.d", "expression",
                                      "", ".", "..", "x."};
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
            const char *s = cdp_param_str(&m, paths[i]);
            if (s != NULL && strlen(s) > n) abort();
            (void)cdp_param_int(&m, paths[i], &v);
            (void)cdp_param_true(&m, paths[i]);
        }
    }
    cdp_msg_free(&m);
}

struct feed {
    const uint8_t *p;
    size_t n;
};

static ssize_t feed_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud) {
    (void)flags;
    struct feed *f = ud;
    if (f->n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE); /* the peer went away */
        return -1;
    }
    size_t k = len < f->n ? len : f->n;
    if (k > 7) k = 7; /* frames cut anywhere, as a socket delivers them */
    memcpy(buf, f->p, k);
    f->p += k;
    f->n -= k;
    return (ssize_t)k;
}

static ssize_t feed_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *ud) {
    (void)ctx, (void)data, (void)flags, (void)ud;
    return (ssize_t)len;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *ud) {
    (void)ctx, (void)ud;
    if (arg->opcode == WSLAY_TEXT_FRAME) read_message((const char *)arg->msg, arg->msg_length);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (n == 0) return 0;
    int mode = d[0] % 3;
    d++, n--;
    if (mode == 0) {
        struct insp_head h;
        if (insp_head_parse((const char *)d, n, &h) == 0) {
            if (memchr(h.method, 0, sizeof h.method) == NULL || memchr(h.target, 0, sizeof h.target) == NULL ||
                memchr(h.host, 0, sizeof h.host) == NULL || h.target[0] != '/')
                abort();
            if (h.websocket && strlen(h.ws_key) != 24) abort();
            (void)insp_host_allowed(h.host);
        }
    } else if (mode == 1) {
        read_message((const char *)d, n);
        char *text = malloc(n + 1); /* a Console expression: a name path or not */
        if (text == NULL) abort();
        memcpy(text, d, n);
        text[n] = '\0';
        size_t first = cdp_name_path(text);
        if (first > strlen(text)) abort();
        free(text);
    } else {
        struct feed f = {d, n};
        struct wslay_event_callbacks cb = {feed_recv, feed_send, NULL, NULL, NULL, NULL, on_msg};
        wslay_event_context_ptr ctx;
        if (wslay_event_context_server_init(&ctx, &cb, &f) != 0) abort();
        wslay_event_config_set_max_recv_msg_length(ctx, 1 << 20);
        while (wslay_event_want_read(ctx) && wslay_event_recv(ctx) == 0) {
            if (wslay_event_want_write(ctx)) (void)wslay_event_send(ctx);
        }
        wslay_event_context_free(ctx);
    }
    return 0;
}
