/* insp: the inspector. Chrome DevTools (chrome://inspect) and any Chrome DevTools Protocol
 * client attach over a WebSocket and see the Lua state as a runtime: its scripts, the Console,
 * CPU profiles and heap snapshots. A thread owns the socket (discovery over HTTP, frames through
 * wslay); every method runs on the loop thread, between two passes of the loop. */
#ifndef PROFLAB_INSP_H
#define PROFLAB_INSP_H

#include <stddef.h>

struct conf;
struct rt;
struct jbuf;
struct cdp_msg;
typedef struct lua_State lua_State;

/* Starts the inspector's thread on conf->inspect_listen. On a loopback address it answers like
 * Node's (no token, Host checked); with LAB_INSPECT_REMOTE every request needs a token with
 * scope inspect (or LAB_TOKEN), in x-lab-token or ?token=. 0, or -1 with err. */
struct guard;
int insp_start(const struct conf *conf, struct rt *rt, const struct guard *guard, char *err, size_t errlen);
/* Closes the session and stops the thread (before rt_close). */
void insp_stop(void);

/* head.c: an HTTP/1.1 request head, up to and including its empty line. */
#define INSP_HEAD_MAX 8192
struct insp_head {
    char method[16];
    char target[512];
    char host[256];
    char ws_key[32];
    char token[1024]; /* x-lab-token, else ?token= of the target; "" when none */
    int websocket; /* Upgrade: websocket with Connection: upgrade (then version 13 and a key) */
};
/* 0, or -1 for a head that is not well formed. */
int insp_head_parse(const char *buf, size_t len, struct insp_head *h);
/* 1 when Host is an IP literal or localhost (with or without a port). */
int insp_host_allowed(const char *host);

/* wire.c, for the loop side: one CDP message (a JSON text) to the client; dropped when no
 * client is attached. Waits while more than INSP_OUT_MAX bytes are queued, so a heap snapshot
 * streams at the socket's pace. 0, or -1 (no session, or out of memory). */
#define INSP_OUT_MAX (8u << 20)
int insp_send(const char *json, size_t len);

/* wire.c, on the loop thread: runs the messages that arrived. wait_ms < 0 waits for one (a
 * paused debugger), 0 does not wait. Returns how many ran. */
int insp_pump(int wait_ms);

/* cdp.c, on the loop thread: a session began or ended; a message arrived. */
void cdp_attach(struct rt *rt);
void cdp_detach(void);
void cdp_message(const char *json, size_t len);
int cdp_attached(void);
/* Answers and events; result and params are JSON texts, b a result object (freed). */
void cdp_reply_raw(long long id, const char *result);
void cdp_reply_error(long long id, int code, const char *message);
void cdp_reply_buf(long long id, struct jbuf *b);
void cdp_event_raw(const char *method, const char *params);
/* The scriptId of a scenario's file:// URL, 0 for any other. */
int cdp_script_id(const char *url);
/* Runtime.evaluate (frame -1) and Debugger.evaluateOnCallFrame (the frame's level). */
void cdp_evaluate(long long id, const struct cdp_msg *m, int frame);

/* debug.c, on the loop thread unless said: breakpoints, pauses, steps. */
void dbg_attach(struct rt *rt);
void dbg_detach(void);
void dbg_enable(void);
/* A Debugger method (name without "Debugger."): 0 when answered, -1 when unknown. */
int dbg_method(long long id, const char *name, const struct cdp_msg *m);
/* rt's error hook: pauses on a scenario's uncaught error when asked to (reason "exception"). */
void dbg_on_error(lua_State *co);
/* Any thread: a pause request, so a running (or jammed) scenario stops at its next instruction. */
void dbg_interrupt(void);
/* The properties of a paused frame's scope ("scope:LEVEL:local|closure"). 0, or -1. */
int dbg_scope_properties(const char *object_id, struct jbuf *b);
/* Pushes on T an environment that reads and writes the paused frame's variables. 0, or -1. */
int dbg_push_env(lua_State *T, int frame);
/* Pushes on T what name reads in the paused frame (frame -1: globals): a local, an upvalue or
 * a global read raw, nil for none. Runs no code. */
void dbg_push_name(lua_State *T, int frame, const char *name, size_t len);
/* While the Console's code runs, breakpoints do not stop it. */
void dbg_evaluating(int on);

/* msg.c: an inbound message. 0 when it has an integer id, a method and object (or no) params;
 * -1 otherwise (has_id tells whether it can be answered). Free it in both cases. */
struct cdp_msg {
    long long id;
    int has_id;
    const char *method;
    void *params, *root;
};
int cdp_msg_parse(const char *text, size_t len, struct cdp_msg *m);
void cdp_msg_free(struct cdp_msg *m);
/* A parameter by path ("location.lineNumber"): the string (NULL when absent or not a string);
 * 1 when true; 0 with the integer. */
const char *cdp_param_str(const struct cdp_msg *m, const char *name);
int cdp_param_true(const struct cdp_msg *m, const char *name);
int cdp_param_int(const struct cdp_msg *m, const char *name, long long *out);
/* An expression that is a Lua name and its fields ("p.ms"): the length of the first name, or
 * 0 for any other text. */
size_t cdp_name_path(const char *e);
/* Pushes a primitive parameter (string, number, boolean, null as nil) on L: 0, or -1 (absent,
 * an object or an array), nothing pushed. */
int cdp_param_push(const struct cdp_msg *m, const char *name, lua_State *L);

/* remote.c: Lua values as RemoteObjects, on the loop thread. */
void remote_object(lua_State *L, int idx, struct jbuf *b);
/* Pushes the object of an objectId; 0 (nothing pushed) when the id is unknown or released. */
int remote_lookup(lua_State *L, const char *object_id);
/* Pops the value on top and writes its properties as a JSON array of PropertyDescriptors. */
void remote_properties(lua_State *L, struct jbuf *b);
/* One PropertyDescriptor, name and the value at vidx; *first tracks the commas. */
void remote_property(lua_State *L, const char *name, size_t len, int vidx, struct jbuf *b, int *first);
void remote_release_all(lua_State *L);

#endif
