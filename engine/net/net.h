/* net: listening sockets, shared by the HTTP server and the admin listener. */
#ifndef PROFLAB_NET_H
#define PROFLAB_NET_H

#include <netdb.h>
#include <stddef.h>

struct conf_addr;

/* The bound address as "HOST:PORT" ("[V6]:PORT"), port 0 resolved to the one the kernel chose. */
#define NET_ADDR_MAX (NI_MAXHOST + NI_MAXSERV + 4)

/* A socket bound to addr and listening. The fd, or -1 with err. */
int net_listen(const struct conf_addr *addr, int backlog, char *bound, size_t boundlen, char *err, size_t errlen);

#endif
