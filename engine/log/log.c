/* log.c: logfmt writer. Values are quoted when they hold spaces, quotes or '='. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_BUF_SIZE 65536
#define LOG_LINE_MAX 4096

static char log_buf[LOG_BUF_SIZE];
static size_t log_used;
static char log_line[LOG_LINE_MAX];
static size_t log_line_len;
static int log_buffered;

static const char *level_name[] = {"debug", "info", "warn", "error"};

static void line_put(const char *s, size_t n) {
    /* one byte is kept for the newline log_end adds */
    if (log_line_len >= LOG_LINE_MAX - 1) return;
    size_t room = LOG_LINE_MAX - 1 - log_line_len;
    if (n > room) n = room;
    memcpy(log_line + log_line_len, s, n);
    log_line_len += n;
}

static void line_puts(const char *s) { line_put(s, strlen(s)); }

static void line_value(const char *v, size_t n) {
    int quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++)
        if (v[i] <= ' ' || v[i] == '"' || v[i] == '=' || v[i] == '\\' || (unsigned char)v[i] >= 0x7f) quote = 1;
    if (!quote) {
        line_put(v, n);
        return;
    }
    line_put("\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            line_put(esc, 2);
        } else if (c == '\n') {
            line_put("\\n", 2);
        } else if (c < ' ' || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            line_put(esc, 4);
        } else {
            line_put((const char *)&c, 1);
        }
    }
    line_put("\"", 1);
}

static void write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w <= 0) return; /* nowhere to report a failing stderr */
        p += w;
        n -= (size_t)w;
    }
}

void log_flush(void) {
    write_all(log_buf, log_used);
    log_used = 0;
}

void log_set_buffered(int on) {
    if (!on) log_flush();
    log_buffered = on;
}

void log_begin(enum log_level level, const char *msg) {
    struct timespec ts;
    struct tm tm;
    char stamp[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000);
    log_line_len = 0;
    line_puts("ts=");
    line_puts(stamp);
    line_puts(" level=");
    line_puts(level_name[level]);
    line_puts(" msg=");
    line_value(msg, strlen(msg));
}

void log_kv_strn(const char *key, const char *val, size_t len) {
    line_put(" ", 1);
    /* keys come from Lua too: anything but a-z, 0-9, _, . and - becomes _ */
    for (const char *k = key; *k; k++) {
        char ch = *k;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '.' || ch == '-';
        line_put(plain ? k : "_", 1);
    }
    line_put("=", 1);
    line_value(val, len);
}

void log_kv_str(const char *key, const char *val) { log_kv_strn(key, val, strlen(val)); }

void log_kv_int(const char *key, long long val) {
    char num[32];
    snprintf(num, sizeof num, "%lld", val);
    log_kv_strn(key, num, strlen(num));
}

void log_kv_num(const char *key, double val, int decimals) {
    char num[64];
    snprintf(num, sizeof num, "%.*f", decimals, val);
    log_kv_strn(key, num, strlen(num));
}

void log_end(void) {
    log_line[log_line_len++] = '\n';
    if (!log_buffered) {
        write_all(log_line, log_line_len);
        return;
    }
    if (log_used + log_line_len > LOG_BUF_SIZE) log_flush();
    memcpy(log_buf + log_used, log_line, log_line_len);
    log_used += log_line_len;
}

void log_msg(enum log_level level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_begin(level, msg);
    log_end();
}
