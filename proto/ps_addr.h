/*
 * Address strings shared by daemon, library and tools:
 *   unix:/path/to/sock   /path/to/sock   ./relative.sock
 *   tcp://host:port      host:port       [v6addr]:port   tcp://[v6addr]:port
 * Parsing only; the socket calls live in the daemon and the client.
 */
#ifndef PS_ADDR_H
#define PS_ADDR_H

#include <stddef.h>

enum ps_addr_kind { PS_ADDR_UNIX, PS_ADDR_TCP };

struct ps_addr {
	enum ps_addr_kind kind;
	char path[108];         /* unix: socket path (sun_path's size) */
	char host[256];         /* tcp: host name or address, brackets removed */
	char port[8];           /* tcp: decimal port */
};

/* Parses s. Returns 0, or -1 with a reason in err. */
int ps_addr_parse(const char *s, struct ps_addr *a, char *err, size_t errlen);

#endif
