/* walk: scripted, self-checking lab walkthroughs (proflab walk), run in a client-side Lua
 * state that drives an engine over HTTP. */
#ifndef PROFLAB_WALK_H
#define PROFLAB_WALK_H

#include <lua.h>

int walk_main(int argc, char **argv);

/* client.c: the HTTP client (libcurl), as the Lua table `http` of a walkthrough. */
struct walk_target {
    char base[512];  /* http(s)://host:port */
    char token[512]; /* sent as x-lab-token by http.lab */
    int insecure;    /* skip certificate checks (a self-signed engine) */
};
int walk_open_http(lua_State *L, const struct walk_target *t);

/* decode.c: JSON text to Lua values (jansson); Prometheus text to a table of samples. */
int walk_open_decoders(lua_State *L);

#endif
