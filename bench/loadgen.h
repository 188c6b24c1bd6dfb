/*
 * The procshare load generator (bench/loadgen): what its parts share.
 *
 *   loadgen.c   options, the run, the one-line report
 *   hist.c      latency histogram (log-linear buckets, percentiles)
 *   wire.c      raw connections: connect, handshake, request encoding,
 *               reply scanning, the daemon's RSS
 *   loop.c      the event-loop engine: any number of connections and any
 *               pipelining depth driven by one epoll loop
 *   lib.c       the libprocshare engine: the public blocking API, one
 *               thread per connection (what a program using the library gets)
 *   floor.c     the bare ping-pong floor: an echo server, no procshare
 *   mem.c       the memory benchmarks: one dict filled with N entries, and
 *               N idle connections held open
 *
 * The loop engine speaks the wire protocol through proto/'s codec (part of
 * libprocshare.a) the way redis-benchmark speaks RESP through hiredis: one
 * process, one thread, every connection in one epoll set.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_buf.h"
#include "ps_mp.h"

#define LG_MAX_CONNS 10000
#define LG_MAX_DEPTH 1024
#define LG_KEYSPACE 10000       /* keys of the get/set workload, as redis-benchmark -r */
#define LG_VALUE "xxx"          /* redis-benchmark's default 3-byte payload */
#define LG_SCHED 64             /* length of the weighted operation schedule */

/* ---- operations ---- */

enum lg_op { OP_GET, OP_SET, OP_APPEND, OP_QUEUE, OP_LOCK, OP_VALUE, OP_PING, OP_COUNT };

/* Object ids the operations work on. Locks are one per connection, so a
 * lock pair measures the round trips, not contention. */
struct lg_objs {
	uint64_t dict, list, queue, value;
	uint64_t *locks;        /* [conns] */
};

struct lg_opts {
	const char *addr;
	const char *keyfile;
	int conns;
	int depth;
	uint64_t ops;           /* total operations; 0: run for secs */
	double secs;
	enum lg_op sched[LG_SCHED]; /* the mix, weighted, cycled through */
	int nsched;
	char mix[128];
	bool lib;               /* the libprocshare engine */
	int pid;                /* daemon pid for RSS; 0 unknown */
	uint64_t fill;          /* memory benchmark: entries */
	int idle;               /* connection benchmark: connections */
	bool floor;             /* bare ping-pong */
	int msgsize;            /* ping-pong message size */
	bool quiet;
};

/* ---- hist.c ---- */

#define HIST_BUCKETS 1280

struct hist {
	uint64_t n;
	uint64_t count[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t ns);
void hist_merge(struct hist *into, const struct hist *from);
/* The latency at quantile q (0..1) in microseconds; 0 when empty. */
double hist_quantile_us(const struct hist *h, double q);

/* ---- results ---- */

struct lg_result {
	uint64_t ops;           /* completed operations */
	uint64_t errors;        /* error replies */
	double secs;            /* from the first request to the last answer */
	struct hist lat;        /* per operation, from its first request sent */
};

/* ---- wire.c ---- */

/* Monotonic nanoseconds. */
uint64_t wire_now_ns(void);
/* Connects to addr and completes the handshake with key. Returns a
 * blocking socket, or -1 with a message on stderr. */
int wire_connect(const char *addr, const uint8_t *key, size_t keylen);
/* Resident set size of process pid in KiB (VmRSS), or -1. */
long wire_rss_kb(int pid);
/* Appends the request(s) of one operation of kind op (for connection
 * conn, msgid from *msgid, advanced) to out; returns how many requests. */
int wire_put_op(struct ps_buf *out, enum lg_op op, const struct lg_objs *objs, int conn, uint32_t *msgid,
		uint64_t *rng);
/* Sends a request and waits for its answer on a blocking socket, for
 * setup. params: encoded values, nparams of them. *result (may be NULL)
 * gets a uint result. Returns 0, or -1 (error reply or I/O) with a message. */
int wire_call(int fd, const char *method, const uint8_t *params, size_t plen, uint32_t nparams,
	      uint64_t *result);
/* Writes all of p on a blocking socket. Returns 0 or -1. */
int wire_write_all(int fd, const void *p, size_t n);
/* Finds the next complete message in in (reading from fd when none is
 * there and block is set): it starts at in->data + in->pos and is *size
 * bytes; the caller consumes it. Returns 1, 0 when none is complete and
 * !block, -1 on EOF, I/O or protocol errors (with a message). */
int wire_next_msg(int fd, struct ps_buf *in, struct ps_mp_scan *scan, bool block, size_t *size);
/* Reads an answer: whether it is an error, its msgid and (result may be
 * NULL) the result or error object. Returns 0, or -1 when p is not a
 * response (with a message). */
int wire_reply(const uint8_t *p, size_t n, bool *is_error, uint32_t *msgid, const uint8_t **result,
	       size_t *rlen);

/* ---- engines ---- */

/* Opens the shared objects for the mix (and one lock per connection)
 * over a setup connection; fills the dict's keyspace when the mix reads
 * it. Returns 0 or -1. */
int loop_setup(const struct lg_opts *o, const uint8_t *key, size_t keylen, struct lg_objs *objs);
int loop_run(const struct lg_opts *o, const uint8_t *key, size_t keylen, const struct lg_objs *objs,
	     struct lg_result *res);
int lib_run(const struct lg_opts *o, const uint8_t *key, size_t keylen, struct lg_result *res);
int floor_run(const struct lg_opts *o, struct lg_result *res);
int mem_fill(const struct lg_opts *o, const uint8_t *key, size_t keylen);
int mem_idle(const struct lg_opts *o, const uint8_t *key, size_t keylen);

/* Name of an operation ("get", "queue", ...). */
const char *lg_op_name(enum lg_op op);

#endif
