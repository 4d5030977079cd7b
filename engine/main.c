/* main.c: the proflab command line. */
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <lua.h>
#include <openssl/crypto.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/artifacts.h"
#include "conf/conf.h"
#include "guard/guard.h"
#include "heap/heap.h"
#include "http/http.h"
#include "insp/insp.h"
#include "log/log.h"
#include "loop/loop.h"
#include "mem/mem.h"
#include "metrics/metrics.h"
#include "rt/rt.h"
#include "prof/prof.h"
#include "walk/walk.h"
#include "tok/tok.h"

static const char usage[] =
    "usage: proflab COMMAND [options]\n"
    "\n"
    "A lab engine for learning to profile and debug a live service.\n"
    "\n"
    "commands:\n"
    "  serve      serve the lab API (proflab serve --help for its options)\n"
    "  walk       run a scripted, self-checking walkthrough of the lab (proflab walk --help)\n"
    "  analyze    report on a saved profile: proflab analyze FILE.cpuprofile [--top N]\n"
    "             or heap snapshot: proflab analyze FILE.heapsnapshot [--top N]\n"
    "  diff       what grew between two heap snapshots: proflab diff A.heapsnapshot B.heapsnapshot\n"
    "  token      mint or inspect a scoped, expiring lab token (proflab token --help)\n"
    "  fetch      download an artifact link, resuming and checking its SHA-256 (proflab fetch --help)\n"
    "  version    print the version of proflab and of its libraries\n"
    "  help       this text\n"
    "\n"
    "Every option and environment variable of serve is listed by `proflab serve --help`.\n";

static const char *env_get(const char *name) { return getenv(name); }

static int addr_is_loopback(const char *host) {
    return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || strncmp(host, "127.", 4) == 0;
}

static int serve(int argc, char **argv) {
    struct conf conf;
    char err[CONF_ERR_MAX];
    if (conf_from_env(&conf, env_get, PROFLAB_SCENARIOS_DIR, err) != 0) {
        fprintf(stderr, "proflab: %s\n", err);
        return 2;
    }
    int r = conf_parse_serve(&conf, argc, argv, err);
    if (r == 1) {
        fputs(conf_serve_usage, stdout);
        return 0;
    }
    if (r != 0) {
        fprintf(stderr, "proflab serve: %s\n", err);
        return 2;
    }
    int lab_on = conf.lab_enable && conf.lab_token != NULL && (!conf.production || conf.allow_prod);
    if (conf.inspect_enabled && !lab_on) {
        fprintf(stderr, "proflab serve: --inspect runs any Lua code a client sends: it needs the lab enabled "
                        "(LAB_ENABLE=true, LAB_TOKEN) and, in production, LAB_ALLOW_PROD=true\n");
        return 2;
    }
    if (conf.inspect_enabled && !conf.inspect_remote && !addr_is_loopback(conf.inspect_listen.host)) {
        const char *host = conf.inspect_listen.host[0] ? conf.inspect_listen.host : "(all interfaces)";
        fprintf(stderr, "proflab serve: --inspect %s is not a loopback address; set LAB_INSPECT_REMOTE=true to "
                        "let anyone who reaches it run code in the engine\n", host);
        return 2;
    }
    mem_set_retained_max(conf.retained_max_bytes);
    char art[PATH_MAX];
    if (conf.artifacts_dir == NULL) {
        art_default_dir(art, sizeof art);
        conf.artifacts_dir = art;
    }
    art_set_budget(conf.artifacts_max_bytes);
    if (art_init(conf.artifacts_dir, err, sizeof err) != 0) {
        fprintf(stderr, "proflab serve: %s\n", err);
        return 1;
    }

    struct guard guard;
    guard_init(&guard, conf.lab_enable, conf.lab_token, conf.production, conf.allow_prod);
    if (guard_tokens_init(&guard, conf.lab_token) != 0) {
        fprintf(stderr, "proflab serve: cannot derive the token key (OpenSSL HKDF/HMAC)\n");
        return 1;
    }
    art_link_setup(guard.tokens ? &guard.key : NULL, conf.public_url);
    log_begin(LOG_INFO, "proflab starting");
    log_kv_str("version", PROFLAB_VERSION);
    log_kv_str("lab", guard.enabled ? (guard.refuse_prod ? "refused-in-production" : "enabled") : "disabled");
    log_kv_int("lua_max_mb", (long long)(conf.lua_max_bytes >> 20));
    log_kv_int("retained_max_mb", (long long)(conf.retained_max_bytes >> 20));
    log_kv_str("artifacts", art_dir());
    log_end();
    if (conf.lab_enable && conf.lab_token == NULL) log_msg(LOG_WARN, "LAB_ENABLE is true but LAB_TOKEN is empty: the lab stays disabled");

    int code = 1;
    if (loop_init() != 0) {
        log_msg(LOG_ERROR, "cannot create the event loop");
        guard_tokens_free(&guard);
        return 1;
    }
    struct rt rt;
    char rerr[512];
    if (rt_open(&rt, &conf, rerr, sizeof rerr) != 0) goto failed;
    heap_set_script_ids(rt_script_id); /* closures in snapshots link to the inspector's scripts */
    if (http_start(&conf, &rt, &guard, rerr, sizeof rerr) != 0) goto failed;
    if (met_serve_start(&conf, &rt, rerr, sizeof rerr) != 0) goto failed; /* metrics, lag monitor, watchdog, admin */
    if (conf.inspect_enabled && insp_start(&conf, &rt, &guard, rerr, sizeof rerr) != 0) goto failed;
    code = http_run();
    goto stop;
failed:
    log_msg(LOG_ERROR, "%s", rerr);
    http_dispose();
stop:
    insp_stop();
    met_serve_stop();
    rt_close(&rt);
    met_registry_free();
    loop_dispose();
    guard_tokens_free(&guard);
    log_flush();
    return code;
}

/* proflab analyze FILE: the capability that reads FILE's kind, chosen by its extension. */
static int has_ext(const char *file, const char *ext) {
    size_t n = strlen(file), e = strlen(ext);
    return n > e && strcmp(file + n - e, ext) == 0;
}

static int analyze(int argc, char **argv) {
    const char *file = NULL;
    for (int i = 1; i < argc && file == NULL; i++)
        if (argv[i][0] != '-') file = argv[i];
        else if (strcmp(argv[i], "--top") == 0) i++;
    if (file != NULL && has_ext(file, ".heapsnapshot")) return heap_analyze_main(argc, argv);
    if (file == NULL || has_ext(file, ".cpuprofile")) return prof_analyze_main(argc, argv);
    fprintf(stderr, "proflab analyze: %s: the file kind is told by its extension: .cpuprofile or .heapsnapshot\n", file);
    return 2;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "help";
    if (strcmp(cmd, "serve") == 0) return serve(argc - 1, argv + 1);
    if (strcmp(cmd, "token") == 0) return tok_cli_main(argc - 1, argv + 1);
    if (strcmp(cmd, "fetch") == 0) return tok_fetch_main(argc - 1, argv + 1);
    if (strcmp(cmd, "walk") == 0) return walk_main(argc - 1, argv + 1);
    if (strcmp(cmd, "analyze") == 0) return analyze(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0) return heap_diff_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("proflab %s (%s, h2o %s, %s)\n", PROFLAB_VERSION, LUA_RELEASE, H2O_VERSION, OpenSSL_version(OPENSSL_VERSION));
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "proflab: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
