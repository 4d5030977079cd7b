/* conf: the engine's configuration, read from the environment and `serve` options. */
#ifndef PROFLAB_CONF_H
#define PROFLAB_CONF_H

#include <stddef.h>

#define CONF_MAX_SCENARIO_DIRS 16
#define CONF_ERR_MAX 256

struct conf_addr {
    char host[256];
    char port[8];
};

struct conf {
    struct conf_addr listen;
    int tls_enabled;
    struct conf_addr tls_listen;
    const char *tls_cert, *tls_key;
    int tls_self_signed;
    const char *scenario_dirs[CONF_MAX_SCENARIO_DIRS];
    int n_scenario_dirs;
    const char *artifacts_dir;
    int admin_enabled;              /* --admin-listen: /api/metrics from a thread of its own */
    struct conf_addr admin_listen;
    int inspect_enabled;            /* --inspect: the DevTools protocol over a WebSocket */
    struct conf_addr inspect_listen;
    int inspect_remote;             /* LAB_INSPECT_REMOTE: --inspect may bind a non-loopback address */
    unsigned blocked_threshold_ms;  /* LAB_BLOCKED_THRESHOLD_MS: the loop watchdog's threshold */

    /* the guard: LAB_ENABLE, LAB_TOKEN, APP_ENV/NODE_ENV, LAB_ALLOW_PROD */
    int lab_enable;
    const char *lab_token; /* NULL when unset or empty; never logged */
    const char *app_env, *node_env;
    int production;
    int allow_prod;

    size_t lua_max_bytes;      /* LAB_LUA_MAX_MB: ceiling of the Lua allocator */
    size_t retained_max_bytes; /* LAB_MAX_RETAINED_MB: ceiling of lab.Buffer bytes */
    unsigned shutdown_grace_ms;
    size_t artifacts_max_bytes; /* LAB_ARTIFACTS_MAX_MB: retention budget of the artifact folder */
    const char *public_url;     /* LAB_PUBLIC_URL: base of signed download links, no trailing / */
};

typedef const char *(*conf_getenv_fn)(const char *name);

/* Defaults, then the environment. Returns 0, or -1 with a message in err. */
int conf_from_env(struct conf *c, conf_getenv_fn get, const char *default_scenarios, char *err);
/* Options of `proflab serve` (argv[0] is "serve"). Returns 0, 1 when --help was asked, -1 on error. */
int conf_parse_serve(struct conf *c, int argc, char **argv, char *err);
/* "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces). Returns 0 or -1. */
int conf_parse_addr(struct conf_addr *a, const char *s);
/* A strict decimal integer in [min, max]. Returns 0 or -1. */
int conf_parse_uint(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out);
/* true/false in any case; 1, 0, or -1 when it is neither. */
int conf_parse_bool(const char *s);
/* Half the machine's or the cgroup's memory, whichever is smaller. */
size_t conf_default_retained_max(void);

extern const char conf_serve_usage[];

#endif
