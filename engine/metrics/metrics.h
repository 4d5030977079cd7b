/* metrics: Prometheus families held in C (atomics, append-only lists), so any thread can
 * write the text exposition 0.0.4 while the loop is blocked; the engine's own figures
 * (process, event-loop lag and utilization, Lua heap and GC, HTTP, lab) and the
 * lab.metrics Lua binding for scenarios; the --admin-listen responder. */
#ifndef PROFLAB_METRICS_H
#define PROFLAB_METRICS_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "../json/json.h"

#define MET_NAME_MAX 128
#define MET_LABELS_MAX 8
#define MET_BUCKETS_MAX 40
#define MET_SERIES_MAX 1000 /* per family: bounds what a scenario's labels can create */

#define MET_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum met_type { MET_COUNTER, MET_GAUGE, MET_HISTOGRAM };

struct met_family;
struct met_series;

/* registry.c */

/* Prometheus's rules: a metric name [a-zA-Z_:][a-zA-Z0-9_:]*, a label name [a-zA-Z_][a-zA-Z0-9_]*
 * not starting with "__". 1 when valid. */
int met_name_valid(const char *name);
int met_label_name_valid(const char *name);

/* A new family. owner says who declared it (for the duplicate message). buckets: upper bounds,
 * strictly increasing and finite (+Inf is added); NULL with n_buckets 0 for a histogram takes
 * prom-client's defaults. Returns the family, or NULL with err. A family declared again with
 * the same name, type, labels, buckets and owner is returned as is (a scenario file loaded
 * again); any other clash is refused. */
struct met_family *met_family_new(const char *name, const char *help, enum met_type type, const char *const *labels,
                                  int n_labels, const double *buckets, int n_buckets, const char *owner, char *err,
                                  size_t errlen);
struct met_family *met_family_find(const char *name);
enum met_type met_family_type(const struct met_family *f);
int met_family_labels(const struct met_family *f, const char *const **names);
size_t met_family_count(void);

/* The series of these label values (n_labels of them), created on first use. NULL when the
 * family holds MET_SERIES_MAX series already, or out of memory. Created series live until exit. */
struct met_series *met_series_get(struct met_family *f, const char *const *values);
/* The one series of a family without labels. */
struct met_series *met_series0(struct met_family *f);

/* Updates, safe from any thread. */
void met_add(struct met_series *s, double v);
void met_set(struct met_series *s, double v);
void met_observe(struct met_series *s, double v);
double met_value(const struct met_series *s);
/* A histogram's count and sum. */
uint64_t met_hist_count(const struct met_series *s);
double met_hist_sum(const struct met_series *s);

/* Called at the start of every exposition, on the thread that renders it: collectors refresh
 * the gauges they own (process figures, lag window, ...). They must not touch Lua. */
typedef void (*met_collect_fn)(void *ud);
int met_collector_add(met_collect_fn fn, void *ud);

/* The whole exposition, in declaration order. 0, or -1 out of memory. Any thread. */
int met_render(struct jbuf *out);

/* Frees every family (at exit, when no other thread renders any more). */
void met_registry_free(void);

/* lua.c: the lab.metrics table (counter, gauge, histogram) pushed on L. */
void met_lua_push(lua_State *L);
/* With the lab table at the top of L: sets lab.metrics, starts counting GC cycles (a
 * finalizer sentinel) and times explicit collectgarbage calls. */
void met_lua_open(lua_State *L);
uint64_t met_gc_cycles(void);
double met_gc_seconds(void);

/* engine.c: the engine's figures. met_serve_start is called on the loop thread once the
 * runtime and the listeners exist: it registers the built-in families, starts the 10 ms lag
 * monitor, the watchdog and, with --admin-listen, the admin thread. met_serve_stop stops the
 * threads (before rt_close); met_registry_free comes after rt_close. */
struct rt;
struct conf;
int met_serve_start(const struct conf *conf, struct rt *rt, char *err, size_t errlen);
void met_serve_stop(void);
int met_engine_start(struct rt *rt, char *err, size_t errlen);
void met_engine_stop(void);
/* One finished HTTP request on the main listener (routes.c), on the loop thread. */
void met_http_observe(const char *method, size_t method_len, const char *path, size_t path_len, int status,
                      double seconds);

/* admin.c: --admin-listen: a thread that answers GET /api/metrics (and /api/health) on its
 * own socket, so the figures stay readable while the loop is blocked. */
struct conf_addr;
int met_admin_start(const struct conf_addr *addr, char *err, size_t errlen);
void met_admin_stop(void);

#endif
