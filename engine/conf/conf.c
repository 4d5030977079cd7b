/* conf.c: environment variables and serve options, validated once at start. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char conf_serve_usage[] =
    "usage: proflab serve [options]\n"
    "\n"
    "Serve the lab API over HTTP (and HTTPS with --tls-listen).\n"
    "\n"
    "options:\n"
    "  --listen HOST:PORT      plain HTTP address (default 127.0.0.1:3001; PORT sets the port)\n"
    "  --tls-listen HOST:PORT  also serve HTTPS (HTTP/1.1 and HTTP/2 by ALPN) on this address\n"
    "  --tls-cert FILE         PEM certificate chain for --tls-listen\n"
    "  --tls-key FILE          PEM private key for --tls-listen\n"
    "  --tls-self-signed       generate an EC P-256 key and certificate in memory at start\n"
    "  --scenarios DIR         load scenarios from DIR (repeatable; a later DIR overrides a\n"
    "                          scenario of the same name; default: the source tree's scenarios/)\n"
    "  --artifacts DIR         where profiles and snapshots are written\n"
    "                          (default $XDG_STATE_HOME/proflab, else /tmp/proflab-UID)\n"
    "  --admin-listen HOST:PORT  also serve GET /api/metrics from a thread of its own, readable\n"
    "                          while the event loop is blocked (default: off)\n"
    "  --inspect HOST:PORT     attach Chrome DevTools (chrome://inspect) on this address, e.g.\n"
    "                          127.0.0.1:9229 (default: off). It runs any Lua it is sent: it needs\n"
    "                          the lab enabled, and a loopback address unless LAB_INSPECT_REMOTE=true\n"
    "  -h, --help              this text\n"
    "\n"
    "environment:\n"
    "  PORT                  port of the default --listen address\n"
    "  LAB_ENABLE            true (any case) turns the /api/lab routes on (default false)\n"
    "  LAB_TOKEN             the secret callers send in x-lab-token; required with LAB_ENABLE\n"
    "  APP_ENV, NODE_ENV     'production' refuses the lab routes (403) ...\n"
    "  LAB_ALLOW_PROD        ... unless this is true\n"
    "  LAB_BLOCKED_THRESHOLD_MS  the watchdog logs an event-loop block past this (default 100)\n"
    "  LAB_LUA_MAX_MB        ceiling of the Lua heap in MiB (default 1024); an allocation past it\n"
    "                        is a Lua error answered with 507\n"
    "  LAB_MAX_RETAINED_MB   ceiling of lab.Buffer native memory in MiB (default half of the\n"
    "                        machine's or cgroup's memory); growth past it is answered with 409\n"
    "  LAB_SHUTDOWN_GRACE_MS how long SIGTERM/SIGINT wait for requests in flight (default 5000)\n"
    "  LAB_ARTIFACTS_MAX_MB  retention budget of the artifact folder in MiB (default 1024); the\n"
    "                        oldest artifacts are removed first\n"
    "  LAB_PUBLIC_URL        base of signed download links (default: the request's scheme and Host)\n"
    "  LAB_INSPECT_REMOTE    true lets --inspect listen on a non-loopback address (anyone who\n"
    "                        reaches it runs code in the engine)\n";

int conf_parse_uint(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out) {
    if (s == NULL || *s == '\0') return -1;
    unsigned long long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p)) return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (~0ULL - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

int conf_parse_bool(const char *s) {
    if (s == NULL) return -1;
    if (strcasecmp(s, "true") == 0) return 1;
    if (strcasecmp(s, "false") == 0) return 0;
    return -1;
}

int conf_parse_addr(struct conf_addr *a, const char *s) {
    const char *colon = strrchr(s, ':');
    if (colon == NULL) return -1;
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    } else if (memchr(h, ':', hlen) != NULL) {
        return -1; /* a bare IPv6 address needs brackets */
    }
    unsigned long long port;
    if (conf_parse_uint(colon + 1, 0, 65535, &port) != 0) return -1;
    if (hlen >= sizeof a->host) return -1;
    if (hlen == 0) {
        strcpy(a->host, "0.0.0.0");
    } else {
        memcpy(a->host, h, hlen);
        a->host[hlen] = '\0';
    }
    snprintf(a->port, sizeof a->port, "%llu", port);
    return 0;
}

static unsigned long long read_ull_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    char line[64] = "";
    unsigned long long v = 0;
    if (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (conf_parse_uint(line, 1, ~0ULL, &v) != 0) v = 0; /* "max" or junk: no limit */
    }
    fclose(f);
    return v;
}

size_t conf_default_retained_max(void) {
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    unsigned long long mem = pages > 0 && psize > 0 ? (unsigned long long)pages * (unsigned long long)psize : 0;
    unsigned long long cg = read_ull_file("/sys/fs/cgroup/memory.max");
    if (cg == 0) cg = read_ull_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (cg != 0 && (mem == 0 || cg < mem)) mem = cg;
    if (mem == 0) mem = 2ULL << 30;
    return (size_t)(mem / 2);
}

static int env_mb(conf_getenv_fn get, const char *name, size_t *out, char *err) {
    const char *v = get(name);
    unsigned long long mb;
    if (v == NULL || *v == '\0') return 0;
    if (conf_parse_uint(v, 1, 1ULL << 20, &mb) != 0) {
        snprintf(err, CONF_ERR_MAX, "%s must be a whole number of MiB from 1 to 1048576, got '%.40s'", name, v);
        return -1;
    }
    *out = (size_t)mb << 20;
    return 0;
}

int conf_from_env(struct conf *c, conf_getenv_fn get, const char *default_scenarios, char *err) {
    memset(c, 0, sizeof *c);
    strcpy(c->listen.host, "127.0.0.1");
    strcpy(c->listen.port, "3001");
    c->scenario_dirs[0] = default_scenarios;
    c->n_scenario_dirs = 1;
    c->lua_max_bytes = (size_t)1024 << 20;
    c->retained_max_bytes = conf_default_retained_max();
    c->shutdown_grace_ms = 5000;

    const char *port = get("PORT");
    if (port != NULL && *port != '\0') {
        unsigned long long p;
        if (conf_parse_uint(port, 0, 65535, &p) != 0) {
            snprintf(err, CONF_ERR_MAX, "PORT must be a number from 0 to 65535, got '%.40s'", port);
            return -1;
        }
        snprintf(c->listen.port, sizeof c->listen.port, "%llu", p);
    }
    c->blocked_threshold_ms = 100;
    const char *thr = get("LAB_BLOCKED_THRESHOLD_MS");
    if (thr != NULL && *thr != '\0') {
        unsigned long long t;
        if (conf_parse_uint(thr, 10, 3600000, &t) != 0) {
            snprintf(err, CONF_ERR_MAX, "LAB_BLOCKED_THRESHOLD_MS must be from 10 to 3600000, got '%.40s'", thr);
            return -1;
        }
        c->blocked_threshold_ms = (unsigned)t;
    }
    c->lab_enable = conf_parse_bool(get("LAB_ENABLE")) == 1;
    const char *tok = get("LAB_TOKEN");
    c->lab_token = tok != NULL && *tok != '\0' ? tok : NULL;
    c->allow_prod = conf_parse_bool(get("LAB_ALLOW_PROD")) == 1;
    c->inspect_remote = conf_parse_bool(get("LAB_INSPECT_REMOTE")) == 1;
    c->app_env = get("APP_ENV");
    c->node_env = get("NODE_ENV");
    c->production = (c->app_env != NULL && strcmp(c->app_env, "production") == 0) ||
                    (c->node_env != NULL && strcmp(c->node_env, "production") == 0);
    if (env_mb(get, "LAB_LUA_MAX_MB", &c->lua_max_bytes, err) != 0) return -1;
    if (env_mb(get, "LAB_MAX_RETAINED_MB", &c->retained_max_bytes, err) != 0) return -1;
    c->artifacts_max_bytes = (size_t)1024 << 20;
    if (env_mb(get, "LAB_ARTIFACTS_MAX_MB", &c->artifacts_max_bytes, err) != 0) return -1;
    const char *pub = get("LAB_PUBLIC_URL");
    if (pub != NULL && *pub != '\0') {
        size_t pl = strlen(pub);
        int ok = (strncmp(pub, "http://", 7) == 0 && pl > 7) || (strncmp(pub, "https://", 8) == 0 && pl > 8);
        for (const char *q = pub; ok && *q; q++) ok = *q > ' ' && *q < 0x7f && *q != '?' && *q != '#';
        if (!ok || pl > 512 || pub[pl - 1] == '/') {
            snprintf(err, CONF_ERR_MAX, "LAB_PUBLIC_URL must be http(s)://HOST[:PORT][/PATH] without a trailing / or query, got '%.60s'", pub);
            return -1;
        }
        c->public_url = pub;
    }
    const char *grace = get("LAB_SHUTDOWN_GRACE_MS");
    if (grace != NULL && *grace != '\0') {
        unsigned long long g;
        if (conf_parse_uint(grace, 0, 600000, &g) != 0) {
            snprintf(err, CONF_ERR_MAX, "LAB_SHUTDOWN_GRACE_MS must be from 0 to 600000, got '%.40s'", grace);
            return -1;
        }
        c->shutdown_grace_ms = (unsigned)g;
    }
    return 0;
}

int conf_parse_serve(struct conf *c, int argc, char **argv, char *err) {
    int dirs_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = strcmp(a, "--listen") == 0 || strcmp(a, "--tls-listen") == 0 || strcmp(a, "--tls-cert") == 0 ||
                    strcmp(a, "--tls-key") == 0 || strcmp(a, "--scenarios") == 0 || strcmp(a, "--artifacts") == 0 ||
                    strcmp(a, "--admin-listen") == 0 || strcmp(a, "--inspect") == 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return 1;
        if (takes && val == NULL) {
            snprintf(err, CONF_ERR_MAX, "%s needs a value", a);
            return -1;
        }
        if (strcmp(a, "--listen") == 0 || strcmp(a, "--tls-listen") == 0) {
            int tls = a[2] == 't';
            if (conf_parse_addr(tls ? &c->tls_listen : &c->listen, val) != 0) {
                snprintf(err, CONF_ERR_MAX, "%s wants HOST:PORT, got '%.80s'", a, val);
                return -1;
            }
            if (tls) c->tls_enabled = 1;
        } else if (strcmp(a, "--admin-listen") == 0 || strcmp(a, "--inspect") == 0) {
            int admin = a[2] == 'a';
            if (conf_parse_addr(admin ? &c->admin_listen : &c->inspect_listen, val) != 0) {
                snprintf(err, CONF_ERR_MAX, "%s wants HOST:PORT, got '%.80s'", a, val);
                return -1;
            }
            if (admin) c->admin_enabled = 1;
            else c->inspect_enabled = 1;
        } else if (strcmp(a, "--tls-cert") == 0) {
            c->tls_cert = val;
        } else if (strcmp(a, "--tls-key") == 0) {
            c->tls_key = val;
        } else if (strcmp(a, "--tls-self-signed") == 0) {
            c->tls_self_signed = 1;
            i--;
        } else if (strcmp(a, "--scenarios") == 0) {
            if (!dirs_given) c->n_scenario_dirs = 0;
            dirs_given = 1;
            if (c->n_scenario_dirs == CONF_MAX_SCENARIO_DIRS) {
                snprintf(err, CONF_ERR_MAX, "at most %d --scenarios folders", CONF_MAX_SCENARIO_DIRS);
                return -1;
            }
            c->scenario_dirs[c->n_scenario_dirs++] = val;
        } else if (strcmp(a, "--artifacts") == 0) {
            c->artifacts_dir = val;
        } else {
            snprintf(err, CONF_ERR_MAX, "unknown option '%.80s' (see proflab serve --help)", a);
            return -1;
        }
        i++;
    }
    if (c->tls_enabled) {
        int files = c->tls_cert != NULL || c->tls_key != NULL;
        if (files && c->tls_self_signed) {
            snprintf(err, CONF_ERR_MAX, "--tls-self-signed and --tls-cert/--tls-key exclude each other");
            return -1;
        }
        if (!c->tls_self_signed && (c->tls_cert == NULL || c->tls_key == NULL)) {
            snprintf(err, CONF_ERR_MAX, "--tls-listen needs --tls-cert and --tls-key, or --tls-self-signed");
            return -1;
        }
    } else if (c->tls_cert != NULL || c->tls_key != NULL || c->tls_self_signed) {
        snprintf(err, CONF_ERR_MAX, "TLS options need --tls-listen HOST:PORT");
        return -1;
    }
    return 0;
}
