/* log: logfmt lines on stderr, buffered and flushed once per loop pass. */
#ifndef PROFLAB_LOG_H
#define PROFLAB_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Start a line: "ts=... level=... msg=...". Follow with log_kv_* and end with log_end. */
void log_begin(enum log_level level, const char *msg);
void log_kv_str(const char *key, const char *val);
void log_kv_strn(const char *key, const char *val, size_t len);
void log_kv_int(const char *key, long long val);
void log_kv_num(const char *key, double val, int decimals);
void log_end(void);

/* One-shot line with printf-style message and no fields. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write what is buffered to stderr. Called once per event-loop pass and at exit. */
void log_flush(void);
/* Lines are buffered (1) or written at once (0, the default until the loop starts). */
void log_set_buffered(int on);

#endif
