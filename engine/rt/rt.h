/* rt: the Lua runtime — one state on the loop thread, the scenarios it loaded, and
 * scenario calls driven as coroutines. */
#ifndef PROFLAB_RT_H
#define PROFLAB_RT_H

#include <lua.h>
#include <stddef.h>

#include "../json/json.h"
#include "../loop/loop.h"
#include "alloc.h"
#include "params.h"

#define RT_NAME_MAX 64

struct conf;

struct rt_scenario {
    char name[RT_NAME_MAX];
    char *path;       /* absolute path of the file */
    char *summary;
    char method[8];   /* GET or POST */
    struct param_spec params[PARAM_MAX];
    int n_params;
    char undo_scenario[RT_NAME_MAX]; /* a companion scenario that undoes this one, or "" */
    char undo_param[PARAM_NAME_MAX]; /* a boolean parameter that undoes it, or "" */
    char *load_error;                /* non-NULL: the file did not load; its route answers 503 */
    int ref;                         /* the scenario's table in the registry */
    int has_status;                  /* contributes to /api/lab/status */
};

struct rt {
    lua_State *L;
    struct rt_alloc alloc;
    struct rt_scenario *scenarios;
    int n_scenarios;
    const struct conf *conf;
    int calls_in_flight;
};

/* What the HTTP layer tells a scenario about its request. */
struct rt_req {
    const char *method, *path, *body;
    size_t method_len, path_len, body_len;
    const char *scheme, *host; /* http or https, and the Host (authority); may be NULL */
    size_t scheme_len, host_len;
};

/* The answer to a scenario call: an HTTP status and a JSON body (owned by the callee). */
typedef void (*rt_done_fn)(void *ud, int status, const char *json, size_t len);

struct rt_call;

/* Creates the state and loads every scenario of conf's folders. 0, or -1 with err. */
int rt_open(struct rt *rt, const struct conf *conf, char *err, size_t errlen);
void rt_close(struct rt *rt);

struct rt_scenario *rt_find(struct rt *rt, const char *name, size_t len);
/* A scenario file's number (1.., in load order) from a chunk's source ("@/path/x.lua"), 0 for
 * any other chunk: the scriptId the inspector, CPU profiles and heap snapshots share. */
int rt_script_id(const char *source);
int rt_reserved_name(const char *name);

/* Starts s with parsed values. done is called exactly once, maybe before this returns,
 * unless rt_call_detach is called first. Returns the call while it is in flight, or NULL. */
struct rt_call *rt_call_start(struct rt *rt, struct rt_scenario *s, const struct param_value *vals,
                              const struct rt_req *req, rt_done_fn done, void *ud);
/* The requester went away: the call runs to its end, its answer is dropped. */
void rt_call_detach(struct rt_call *c);

/* Called when a scenario's run raises an error, before its answer is written: co holds the
 * error object on top and its frames as they were when it was raised (the inspector pauses
 * there). NULL: nothing is called. */
typedef void (*rt_error_fn)(lua_State *co);
void rt_set_error_hook(rt_error_fn fn);

/* GET /api/lab and GET /api/lab/status as JSON. 0, or -1 on a Lua error (out of memory). */
int rt_catalog_json(struct rt *rt, struct jbuf *out);
int rt_status_json(struct rt *rt, struct jbuf *out);

/* The Lua value at idx as JSON (tables with sorted keys, sequences as arrays).
 * 0, or -1 with a message on L's stack for cycles, depth or unsupported values. */
int rt_tojson(lua_State *L, int idx, struct jbuf *out);

#endif
