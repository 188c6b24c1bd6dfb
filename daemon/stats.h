/*
 * What the daemon tells about itself, through the protocol so that any
 * client can read it: the "info" global (uptime, connections, objects by
 * type, memory, request rate, bytes in and out) and the "describe" global
 * (one object: size, references, parked calls, and what its type's
 * describe hook adds, such as a lock's holders).
 */
#ifndef STATS_H
#define STATS_H

#include <msgpack.h>

struct call;
struct conn;
struct daemon;

/* Records the start time and starts sampling the request rate once a
 * second. Returns 0, or -1 on OOM. */
int stats_start(struct daemon *d);
/* Stops the sampling. */
void stats_stop(struct daemon *d);

/* The "info" and "describe" globals (proto/PROTOCOL.md). */
int stats_info(struct call *c);
int stats_describe(struct call *c);

/* Packs {"conn": id, "peer": "unix pid 12 uid 0"} naming c, for describe
 * hooks that report who holds or waits for something. */
void stats_pack_conn(msgpack_packer *pk, const struct conn *c);

#endif
