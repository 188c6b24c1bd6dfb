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
 * process, one thread, every connection in one epoll set. It encrypts a
 * session (PROTOCOL.md 2.2) with proto/ps_seal as the library does: all
 * the requests of one batch in one record.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_buf.h"
#include "ps_mp.h"
#include "ps_seal.h"

#define LG_MAX_CONNS 10000
#define LG_MAX_DEPTH 1024
#define LG_KEYSPACE 10000       /* keys of the get/set workload, as redis-benchmark -r */
#define LG_VSIZE 3              /* value bytes: redis-benchmark's default payload "xxx" */
#define LG_VSIZE_MAX (8 * 1024 * 1024)
#define LG_FILL_CHUNK (4 * 1024 * 1024) /* bytes of one dict.update filling the keyspace */
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
	int enc;                /* PS_ENCRYPT_AUTO, _ON or _OFF, as ps_connect_mode */
	int keys;               /* keyspace of get and set */
	size_t vsize;           /* bytes of the str value set, appended, put */
	uint8_t *value;         /* that value, encoded (a str of vsize 'x') */
	size_t value_len;
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
	int encrypted;          /* sessions encrypted: 1, plaintext: 0, unknown: -1 */
	uint64_t ops;           /* completed operations */
	uint64_t errors;        /* error replies */
	double secs;            /* from the first request to the last answer */
	long srv_ticks;         /* CPU the server used meanwhile (clock ticks), -1: unknown */
	struct hist lat;        /* per operation, from its first request sent */
};

/* ---- wire.c ---- */

/* One raw connection: its socket and, when the session is encrypted, its
 * keys and the records not yet opened or written. */
struct wire {
	int fd;
	bool sealed;
	struct ps_seal tx, rx;  /* client -> daemon, daemon -> client */
	struct ps_buf cin;      /* records read, not yet opened */
	struct ps_buf cout;     /* records sealed, not yet written */
};

/* Monotonic nanoseconds. */
uint64_t wire_now_ns(void);
/* Connects w to addr and completes the handshake with key; enc decides
 * whether the session is encrypted, as for ps_connect_mode. The socket is
 * blocking. Returns 0, or -1 with a message on stderr (w closed). */
int wire_connect(struct wire *w, const char *addr, const uint8_t *key, size_t keylen, int enc);
/* Closes the socket and forgets the keys. */
void wire_close(struct wire *w);
/* What is to be written for the plaintext in out: out itself, or, in an
 * encrypted session, the records sealing it (out is consumed). NULL when
 * out of memory. */
struct ps_buf *wire_pending(struct wire *w, struct ps_buf *out);
/* Writes out (sealed if need be) on a blocking socket. Returns 0 or -1. */
int wire_send_all(struct wire *w, struct ps_buf *out);
/* Writes all of p on a blocking socket. Returns 0 or -1. */
int wire_write_all(int fd, const void *p, size_t n);
/* One read from the socket; the plaintext it brings (opened, in an
 * encrypted session) is appended to in. Returns the bytes read, 0 at EOF,
 * -1 on error with errno set (EAGAIN on an empty non-blocking socket;
 * EPROTO, with a message, for a record that fails to open). */
ssize_t wire_read(struct wire *w, struct ps_buf *in);
/* Resident set size of process pid in KiB (VmRSS), or -1. */
long wire_rss_kb(int pid);
/* CPU time process pid has used (user + system, all threads) in clock
 * ticks (sysconf(_SC_CLK_TCK) a second), or -1. */
long wire_cpu_ticks(int pid);
/* Appends the request(s) of one operation of kind op (for connection
 * conn, msgid from *msgid, advanced) to out; returns how many requests. */
int wire_put_op(struct ps_buf *out, const struct lg_opts *o, enum lg_op op, const struct lg_objs *objs, int conn,
		uint32_t *msgid, uint64_t *rng);
/* Sends a request and waits for its answer, for setup. params: encoded
 * values, nparams of them. *result (may be NULL) gets a uint result.
 * Returns 0, or -1 (error reply or I/O) with a message. */
int wire_call(struct wire *w, const char *method, const uint8_t *params, size_t plen, uint32_t nparams,
	      uint64_t *result);
/* Finds the next complete message in in (reading from w when none is
 * there and block is set): it starts at in->data + in->pos and is *size
 * bytes; the caller consumes it. Returns 1, 0 when none is complete and
 * !block, -1 on EOF, I/O or protocol errors (with a message). */
int wire_next_msg(struct wire *w, struct ps_buf *in, struct ps_mp_scan *scan, bool block, size_t *size);
/* Reads an answer: whether it is an error, its msgid and (result may be
 * NULL) the result or error object. Returns 0, or -1 when p is not a
 * response (with a message). */
int wire_reply(const uint8_t *p, size_t n, bool *is_error, uint32_t *msgid, const uint8_t **result,
	       size_t *rlen);
/* The key of number n, "key:%012u" (16 bytes, not NUL-terminated). */
void wire_key(char k[16], uint64_t n);

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
