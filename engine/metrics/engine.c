/* engine.c: the engine's own figures. Everything a collector reads is an atomic or a file in
 * /proc, so the admin thread renders them while the loop is blocked; the lag window is the
 * one structure shared with the loop thread, behind a mutex held for a few instructions. */
#define H2O_USE_LIBUV 0
#include <dirent.h>
#include <fcntl.h>
#include <h2o.h>
#include <math.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../artifacts/artifacts.h"
#include "../conf/conf.h"
#include "../loop/loop.h"
#include "../mem/mem.h"
#include "../prof/prof.h"
#include "../rt/rt.h"
#include "../watchdog/watchdog.h"
#include "metrics.h"

#define LAG_RESOLUTION_US 10000

static struct rt *the_rt;
static void publish_loop_figures(void);

static struct {
    struct met_series *cpu_user, *cpu_sys, *cpu, *rss, *vsz, *heap, *fds, *max_fds, *start;
} proc;

/* process_* as prom-client names them. Memory comes from /proc/self/statm, kept open and
 * re-read with pread (a fraction of /proc/self/status's cost): RSS is resident, virtual is size,
 * heap is data (prom-client reads VmData; statm's data also counts the main stack). Counting
 * /proc/self/fd is the costly part of a scrape: the count is refreshed at most every 250 ms. */
static int statm_fd = -1;
static uint64_t fds_at_us;

static void collect_process(void *ud) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double u = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
        double s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        met_set(proc.cpu_user, u);
        met_set(proc.cpu_sys, s);
        met_set(proc.cpu, u + s);
    }
    char text[256];
    ssize_t n = statm_fd >= 0 ? pread(statm_fd, text, sizeof text - 1, 0) : -1;
    unsigned long long size, resident, shared, code, lib, data;
    long page = sysconf(_SC_PAGESIZE);
    if (n > 0) {
        text[n] = '\0';
        if (sscanf(text, "%llu %llu %llu %llu %llu %llu", &size, &resident, &shared, &code, &lib, &data) == 6 && page > 0) {
            met_set(proc.rss, (double)resident * (double)page);
            met_set(proc.vsz, (double)size * (double)page);
            met_set(proc.heap, (double)data * (double)page);
        }
    }
    uint64_t now = loop_now_us();
    if (fds_at_us == 0 || now - fds_at_us >= 250000) {
        DIR *d = opendir("/proc/self/fd");
        if (d != NULL) {
            double count = 0;
            for (struct dirent *e; (e = readdir(d)) != NULL;)
                if (e->d_name[0] != '.') count++;
            closedir(d);
            met_set(proc.fds, count - 1); /* the directory's own descriptor */
            fds_at_us = now;
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) met_set(proc.max_fds, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
}

static double process_start_time(void) {
    struct timespec real, mono;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    /* /proc/self/stat field 22 is the start in ticks after boot, and boot is REALTIME - MONOTONIC
     * (BOOTTIME would count suspend; the difference is what a scraper can live with) */
    FILE *f = fopen("/proc/self/stat", "r");
    double start = (double)real.tv_sec;
    if (f == NULL) return start;
    char line[1024];
    if (fgets(line, sizeof line, f) != NULL) {
        const char *p = strrchr(line, ')');
        unsigned long long ticks = 0;
        int field = 2;
        for (; p != NULL && *p; p++) {
            if (*p != ' ') continue;
            if (++field == 22) {
                ticks = strtoull(p + 1, NULL, 10);
                break;
            }
        }
        struct timespec boot;
        clock_gettime(CLOCK_BOOTTIME, &boot);
        double boot_at = (double)real.tv_sec + real.tv_nsec / 1e9 - ((double)boot.tv_sec + boot.tv_nsec / 1e9);
        long hz = sysconf(_SC_CLK_TCK);
        if (ticks > 0 && hz > 0) start = floor(boot_at + (double)ticks / (double)hz);
    }
    fclose(f);
    return start;
}

/* Event-loop lag, as Node's monitorEventLoopDelay: a 10 ms repeating timer; each sample is the
 * time between two of its fires (about 10 ms when the loop is free, the whole jam when it is
 * not). The window since the previous scrape gives min, max, mean, stddev and percentiles, as
 * prom-client resets Node's histogram at every scrape; proflab_eventloop_lag_seconds keeps
 * every sample in Prometheus buckets. Percentiles come from log buckets 2% wide. */
#define WIN_BUCKETS 1024
#define WIN_BASE 1.02

static struct {
    struct loop_timer timer;
    uint64_t prev_us;
    pthread_mutex_t lock;
    uint64_t n;
    double min, max, sum, sumsq;
    uint32_t buckets[WIN_BUCKETS];
    struct met_series *hist, *g_min, *g_max, *g_mean, *g_stddev, *g_p50, *g_p90, *g_p99;
    struct met_series *elu, *idle_total;
    uint64_t elu_prev_t, elu_prev_idle;
    int running;
} lag = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int win_index(double us) {
    if (us < 1) return 0;
    int i = (int)(log(us) / log(WIN_BASE));
    return i < WIN_BUCKETS ? i : WIN_BUCKETS - 1;
}

static void on_lag_tick(struct loop_timer *t) {
    uint64_t now = loop_now_us();
    if (lag.prev_us != 0) {
        double us = (double)(now - lag.prev_us);
        met_observe(lag.hist, us / 1e6);
        pthread_mutex_lock(&lag.lock);
        if (lag.n == 0 || us < lag.min) lag.min = us;
        if (lag.n == 0 || us > lag.max) lag.max = us;
        lag.n++;
        lag.sum += us;
        lag.sumsq += us * us;
        lag.buckets[win_index(us)]++;
        pthread_mutex_unlock(&lag.lock);
    }
    lag.prev_us = now;
    publish_loop_figures();
    if (lag.running) loop_timer_start(t, LAG_RESOLUTION_US, on_lag_tick); /* no memory: the monitor stops */
}

static double percentile(uint64_t n, double p) {
    uint64_t want = (uint64_t)ceil(p * (double)n), seen = 0;
    for (int i = 0; i < WIN_BUCKETS; i++) {
        seen += lag.buckets[i];
        if (seen >= want && seen > 0) {
            double v = pow(WIN_BASE, i + 0.5); /* the middle of the bucket */
            return v < lag.min ? lag.min : v > lag.max ? lag.max : v;
        }
    }
    return lag.max;
}

static void collect_loop(void *ud) {
    pthread_mutex_lock(&lag.lock);
    uint64_t n = lag.n;
    if (n > 0) { /* an empty window (two scrapes within 10 ms) keeps the last figures */
        double mean = lag.sum / (double)n, var = lag.sumsq / (double)n - mean * mean;
        met_set(lag.g_min, lag.min / 1e6);
        met_set(lag.g_max, lag.max / 1e6);
        met_set(lag.g_mean, mean / 1e6);
        met_set(lag.g_stddev, var > 0 ? sqrt(var) / 1e6 : 0);
        met_set(lag.g_p50, percentile(n, 0.50) / 1e6);
        met_set(lag.g_p90, percentile(n, 0.90) / 1e6);
        met_set(lag.g_p99, percentile(n, 0.99) / 1e6);
        lag.n = 0;
        lag.sum = lag.sumsq = lag.min = lag.max = 0;
        memset(lag.buckets, 0, sizeof lag.buckets);
    }
    /* utilization since the previous scrape: the share of time not spent waiting for I/O */
    uint64_t now = loop_now_us(), idle = loop_idle_us();
    if (idle < lag.elu_prev_idle) idle = lag.elu_prev_idle; /* a counter never steps back */
    if (lag.elu_prev_t == 0) {
        lag.elu_prev_t = loop_started_us();
        lag.elu_prev_idle = 0;
    }
    if (now > lag.elu_prev_t) {
        double dt = (double)(now - lag.elu_prev_t), di = (double)(idle - lag.elu_prev_idle);
        double u = 1.0 - di / dt;
        met_set(lag.elu, u < 0 ? 0 : u > 1 ? 1 : u);
        lag.elu_prev_t = now;
        lag.elu_prev_idle = idle;
    }
    met_set(lag.idle_total, (double)idle / 1e6);
    pthread_mutex_unlock(&lag.lock);
}

/* Lua heap and GC, lab figures */
static struct {
    struct met_series *heap, *heap_limit, *refused, *gc_cycles, *gc_seconds;
    struct met_series *retained, *buffers, *retained_limit;
    struct met_series *profiling, *artifacts, *artifact_bytes, *in_flight;
} lab;

/* Figures only the loop thread may read (the profiler's, the artifact store's, the runtime's):
 * published into atomics on every lag tick, so a scrape from the admin thread reads them as they
 * were when the loop last came back, never racily. */
static void publish_loop_figures(void) {
    met_set(lab.profiling, prof_running() ? 1 : 0);
    met_set(lab.artifacts, (double)art_count());
    met_set(lab.artifact_bytes, (double)art_total_bytes());
    if (the_rt != NULL) met_set(lab.in_flight, (double)the_rt->calls_in_flight);
}

static void collect_lab(void *ud) {
    struct rt *rt = ud;
    met_set(lab.heap, (double)atomic_load(&rt->alloc.used));
    met_set(lab.heap_limit, (double)rt->alloc.limit);
    met_set(lab.refused, (double)atomic_load(&rt->alloc.refused));
    met_set(lab.gc_cycles, (double)met_gc_cycles());
    met_set(lab.gc_seconds, met_gc_seconds());
    met_set(lab.retained, (double)mem_buffer_bytes());
    met_set(lab.buffers, (double)mem_buffer_count());
    met_set(lab.retained_limit, (double)mem_retained_max());
}

/* HTTP, by route template */
static struct met_family *http_total, *http_duration;

static const double http_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double lag_buckets[] = {0.011, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

static const char *route_of(const char *p, size_t n, char *buf, size_t buflen) {
    static const char *const fixed[] = {"/api/health", "/api/metrics", "/api/lab", "/api/lab/status", "/api/lab/tokens",
                                        "/api/lab/artifacts"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (n == strlen(fixed[i]) && memcmp(p, fixed[i], n) == 0) return fixed[i];
    if (n == 9 && memcmp(p, "/api/lab/", 9) == 0) return "/api/lab";
    if (n > 19 && memcmp(p, "/api/lab/artifacts/", 19) == 0) return "/api/lab/artifacts/<name>";
    if (n > 9 && memcmp(p, "/api/lab/", 9) == 0 && the_rt != NULL) {
        struct rt_scenario *s = rt_find(the_rt, p + 9, n - 9);
        if (s != NULL && n - 9 < buflen - 10) {
            snprintf(buf, buflen, "/api/lab/%s", s->name);
            return buf;
        }
        return "/api/lab/<unknown>";
    }
    return "<other>";
}

static const char *method_of(const char *m, size_t n) {
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (n == strlen(known[i]) && memcmp(m, known[i], n) == 0) return known[i];
    return "other";
}

void met_http_observe(const char *method, size_t method_len, const char *path, size_t path_len, int status,
                      double seconds) {
    if (http_total == NULL) return;
    char buf[RT_NAME_MAX + 16], code[16];
    const char *route = route_of(path, path_len, buf, sizeof buf), *m = method_of(method, method_len);
    snprintf(code, sizeof code, "%d", status);
    const char *v3[] = {m, route, code};
    struct met_series *s = met_series_get(http_total, v3);
    if (s != NULL) met_add(s, 1);
    const char *v2[] = {m, route};
    s = met_series_get(http_duration, v2);
    if (s != NULL) met_observe(s, seconds);
}

static struct met_series *family(const char *name, const char *help, enum met_type type, const double *b, int nb,
                                 int *failed, char *err, size_t errlen) {
    if (*failed) return NULL;
    struct met_family *f = met_family_new(name, help, type, NULL, 0, b, nb, NULL, err, errlen);
    if (f == NULL) {
        *failed = 1;
        return NULL;
    }
    return met_series0(f);
}

#define G(name, help) family(name, help, MET_GAUGE, NULL, 0, &failed, err, errlen)
#define C(name, help) family(name, help, MET_COUNTER, NULL, 0, &failed, err, errlen)

int met_engine_start(struct rt *rt, char *err, size_t errlen) {
    int failed = 0;
    the_rt = rt;
    proc.cpu_user = C("process_cpu_user_seconds_total", "Total user CPU time spent in seconds.");
    proc.cpu_sys = C("process_cpu_system_seconds_total", "Total system CPU time spent in seconds.");
    proc.cpu = C("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
    proc.start = G("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
    proc.rss = G("process_resident_memory_bytes", "Resident memory size in bytes.");
    proc.vsz = G("process_virtual_memory_bytes", "Virtual memory size in bytes.");
    proc.heap = G("process_heap_bytes", "Process heap size in bytes.");
    proc.fds = G("process_open_fds", "Number of open file descriptors.");
    proc.max_fds = G("process_max_fds", "Maximum number of open file descriptors.");
    if (!failed) met_set(proc.start, process_start_time());
    if (statm_fd < 0) statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC); /* -1: the memory gauges stay 0 */

    if (!failed) {
        static const char *const info_labels[] = {"version", "lua", "h2o", "openssl"};
        struct met_family *info = met_family_new("proflab_info", "proflab's version and the versions of its libraries.",
                                                 MET_GAUGE, info_labels, 4, NULL, 0, NULL, err, errlen);
        const char *values[] = {PROFLAB_VERSION, LUA_RELEASE, H2O_VERSION, OpenSSL_version(OPENSSL_VERSION)};
        struct met_series *s = info != NULL ? met_series_get(info, values) : NULL;
        if (s != NULL) met_set(s, 1);
        failed = s == NULL;
        if (info != NULL && s == NULL) snprintf(err, errlen, "out of memory");
    }

    lag.g_min = G("proflab_eventloop_lag_min_seconds", "The minimum recorded event loop delay since the last scrape.");
    lag.g_max = G("proflab_eventloop_lag_max_seconds", "The maximum recorded event loop delay since the last scrape.");
    lag.g_mean = G("proflab_eventloop_lag_mean_seconds", "The mean of the recorded event loop delays since the last scrape.");
    lag.g_stddev = G("proflab_eventloop_lag_stddev_seconds", "The standard deviation of the recorded event loop delays since the last scrape.");
    lag.g_p50 = G("proflab_eventloop_lag_p50_seconds", "The 50th percentile of the recorded event loop delays since the last scrape.");
    lag.g_p90 = G("proflab_eventloop_lag_p90_seconds", "The 90th percentile of the recorded event loop delays since the last scrape.");
    lag.g_p99 = G("proflab_eventloop_lag_p99_seconds", "The 99th percentile of the recorded event loop delays since the last scrape.");
    lag.hist = family("proflab_eventloop_lag_seconds", "Event loop delay: time between two fires of a 10 ms timer.",
                      MET_HISTOGRAM, lag_buckets, (int)(sizeof lag_buckets / sizeof lag_buckets[0]), &failed, err, errlen);
    lag.elu = G("proflab_eventloop_utilization", "Share of time the event loop was busy (not waiting for I/O) since the last scrape.");
    lag.idle_total = C("proflab_eventloop_idle_seconds_total", "Time the event loop spent waiting for I/O.");

    lab.heap = G("proflab_lua_heap_bytes", "Bytes the Lua heap holds, as the engine's allocator counts them.");
    lab.heap_limit = G("proflab_lua_heap_limit_bytes", "Ceiling of the Lua heap (LAB_LUA_MAX_MB).");
    lab.refused = C("proflab_lua_allocations_refused_total", "Lua allocations refused at the heap ceiling.");
    lab.gc_cycles = C("proflab_lua_gc_cycles_total", "Lua garbage-collection cycles completed.");
    lab.gc_seconds = C("proflab_lua_gc_seconds_total", "Time spent in explicit collectgarbage collect and step calls.");
    lab.retained = G("proflab_lab_retained_bytes", "Bytes of native memory held by live lab.Buffer objects.");
    lab.buffers = G("proflab_lab_retained_buffers", "Live lab.Buffer objects.");
    lab.retained_limit = G("proflab_lab_retained_limit_bytes", "Ceiling of lab.Buffer bytes (LAB_MAX_RETAINED_MB).");
    lab.profiling = G("proflab_lab_cpu_profile_in_progress", "1 while a CPU profile is being recorded.");
    lab.artifacts = G("proflab_lab_artifacts", "Artifacts (profiles, snapshots) in the artifact folder.");
    lab.artifact_bytes = G("proflab_lab_artifacts_bytes", "Bytes of the artifacts in the artifact folder.");
    lab.in_flight = G("proflab_lab_scenario_calls_in_flight", "Scenario calls started and not yet answered.");

    if (!failed) {
        static const char *const l3[] = {"method", "route", "status"};
        http_total = met_family_new("http_requests_total", "HTTP requests answered, by method, route template and status.",
                                    MET_COUNTER, l3, 3, NULL, 0, NULL, err, errlen);
        http_duration = http_total == NULL ? NULL
                        : met_family_new("http_request_duration_seconds", "Time to answer an HTTP request, by method and route template.",
                                         MET_HISTOGRAM, l3, 2, http_buckets, (int)(sizeof http_buckets / sizeof http_buckets[0]), NULL, err, errlen);
        failed = http_duration == NULL;
        if (failed) http_total = NULL;
    }
    if (failed) return -1;
    if (met_collector_add(collect_process, NULL) != 0 || met_collector_add(collect_loop, NULL) != 0 ||
        met_collector_add(collect_lab, rt) != 0) {
        snprintf(err, errlen, "too many metric collectors");
        return -1;
    }
    publish_loop_figures();
    lag.running = 1;
    /* measure from now: a jam that starts before the first tick is still one long sample */
    lag.prev_us = loop_now_us();
    if (loop_timer_start(&lag.timer, LAG_RESOLUTION_US, on_lag_tick) != 0) {
        snprintf(err, errlen, "cannot start the event-loop lag monitor: out of memory");
        return -1;
    }
    return 0;
}

void met_engine_stop(void) {
    if (statm_fd >= 0) close(statm_fd);
    statm_fd = -1;
    fds_at_us = 0;
    lag.running = 0;
    loop_timer_stop(&lag.timer);
    http_total = http_duration = NULL;
    the_rt = NULL;
}

int met_serve_start(const struct conf *conf, struct rt *rt, char *err, size_t errlen) {
    if (met_engine_start(rt, err, errlen) != 0) return -1;
    if (wd_start(conf->blocked_threshold_ms, err, errlen) != 0) return -1;
    if (conf->admin_enabled && met_admin_start(&conf->admin_listen, err, errlen) != 0) return -1;
    return 0;
}

void met_serve_stop(void) {
    met_admin_stop();
    wd_stop();
    met_engine_stop();
}
