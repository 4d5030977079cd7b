/* head.c: the inspector's HTTP/1.1 request heads (discovery and the WebSocket upgrade): the
 * request line and the few headers it acts on. Anything else is refused. */
#include <string.h>
#include <strings.h>

#include "insp.h"

static int is_token_char(unsigned char c) {
    return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* Copies a header value, trimmed, when it fits; 0, or -1. */
static int copy_value(char *dst, size_t cap, const char *v, size_t n) {
    while (n > 0 && (*v == ' ' || *v == '\t')) v++, n--;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    if (n >= cap) return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 32 && v[i] != '\t') return -1;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return 0;
}

/* Whether a comma-separated header value holds token (any case). */
static int has_token(const char *v, const char *token) {
    size_t t = strlen(token);
    for (const char *p = v; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if ((size_t)(end - p) == t && strncasecmp(p, token, t) == 0) return 1;
        p = e;
    }
    return 0;
}

int insp_head_parse(const char *buf, size_t len, struct insp_head *h) {
    memset(h, 0, sizeof *h);
    const char *end = buf + len, *p = buf;
    /* request line: METHOD SP TARGET SP HTTP/1.x CRLF */
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL || sp == p || (size_t)(sp - p) >= sizeof h->method) return -1;
    for (const char *q = p; q < sp; q++)
        if (!is_token_char((unsigned char)*q)) return -1;
    memcpy(h->method, p, (size_t)(sp - p));
    p = sp + 1;
    sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL || sp == p || *p != '/' || (size_t)(sp - p) >= sizeof h->target) return -1;
    for (const char *q = p; q < sp; q++)
        if ((unsigned char)*q <= 32 || (unsigned char)*q >= 127) return -1;
    memcpy(h->target, p, (size_t)(sp - p));
    p = sp + 1;
    if (end - p < 10 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1')) return -1;
    p += 8;
    if (*p == '\r') p++;
    if (p == end || *p++ != '\n') return -1;
    char upgrade[64] = "", connection[256] = "", version[8] = "";
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) return -1;
        const char *le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
        if (le == p) break; /* the empty line */
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon == NULL || colon == p) return -1;
        for (const char *q = p; q < colon; q++)
            if (!is_token_char((unsigned char)*q)) return -1;
        size_t nlen = (size_t)(colon - p);
        const char *v = colon + 1;
        size_t vlen = (size_t)(le - v);
        int r = 0;
        if (nlen == 4 && strncasecmp(p, "host", 4) == 0) r = copy_value(h->host, sizeof h->host, v, vlen);
        else if (nlen == 7 && strncasecmp(p, "upgrade", 7) == 0) r = copy_value(upgrade, sizeof upgrade, v, vlen);
        else if (nlen == 10 && strncasecmp(p, "connection", 10) == 0)
            r = copy_value(connection, sizeof connection, v, vlen);
        else if (nlen == 17 && strncasecmp(p, "sec-websocket-key", 17) == 0)
            r = copy_value(h->ws_key, sizeof h->ws_key, v, vlen);
        else if (nlen == 21 && strncasecmp(p, "sec-websocket-version", 21) == 0)
            r = copy_value(version, sizeof version, v, vlen);
        else if (nlen == 11 && strncasecmp(p, "x-lab-token", 11) == 0)
            r = copy_value(h->token, sizeof h->token, v, vlen);
        if (r != 0) return -1;
        p = nl + 1;
    }
    char *q = strchr(h->target, '?');
    if (q != NULL) { /* the path alone is compared; a token may come as ?token= (a browser sends no header) */
        *q++ = '\0';
        if (h->token[0] == '\0' && strncmp(q, "token=", 6) == 0) {
            size_t n = strcspn(q + 6, "&");
            if (n >= sizeof h->token) return -1;
            memcpy(h->token, q + 6, n);
            h->token[n] = '\0';
        }
    }
    h->websocket = has_token(upgrade, "websocket") && has_token(connection, "upgrade");
    if (h->websocket && (strcmp(version, "13") != 0 || strlen(h->ws_key) != 24)) return -1;
    return 0;
}

/* DNS rebinding: a page on another site that resolves its name to 127.0.0.1 sends its own
 * name as Host. Only IP literals and localhost are answered, as Node's inspector does. */
int insp_host_allowed(const char *host) {
    if (*host == '\0') return 0;
    char name[256];
    size_t n = strlen(host);
    if (n >= sizeof name) return 0;
    memcpy(name, host, n + 1);
    if (name[0] == '[') { /* [v6]:port */
        char *rb = strchr(name, ']');
        if (rb == NULL || (rb[1] != '\0' && rb[1] != ':')) return 0;
        for (char *q = name + 1; q < rb; q++)
            if (!strchr("0123456789abcdefABCDEF:.", *q)) return 0;
        return rb > name + 1;
    }
    char *colon = strrchr(name, ':');
    if (colon != NULL) {
        if (colon[1] == '\0') return 0;
        for (char *q = colon + 1; *q; q++)
            if (*q < '0' || *q > '9') return 0;
        *colon = '\0';
    }
    if (strcasecmp(name, "localhost") == 0) return 1;
    int dots = 0, digits = 0;
    for (char *q = name; *q; q++) {
        if (*q == '.') {
            if (digits == 0 || digits > 3) return 0;
            dots++;
            digits = 0;
        } else if (*q >= '0' && *q <= '9') {
            digits++;
        } else {
            return 0;
        }
    }
    return dots == 3 && digits > 0 && digits <= 3;
}
