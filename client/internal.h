/*
 * libprocshare internals: the context, what every proxy has in common, and
 * the interfaces between the library's layers. Nothing here is public API.
 *
 * Layers, bottom up (the split hiredis makes between net.c, read.c and
 * hiredis.c):
 *   io.c     deadlines, and fd I/O that waits with poll()
 *   err.c    the context's error state (last error, sticky error)
 *   net.c    opening the socket and the authkey handshake
 *   call.c   requests in flight: msgids, the reader role, routing answers
 *   ctx.c    the context's life: connect, fork, the table of held objects
 *   req.c    building a request's params, sending it, decoding results
 *   obj.c    what every proxy does: open, create, attach, free
 *   dict.c, list.c, queue.c, ...   the proxies, one file a type
 *
 * Locking: ctx->mu guards the context's state; ctx->wmu keeps requests
 * whole on the wire and guards ctx->wbuf. A thread may take wmu while
 * holding mu, never mu while holding wmu.
 */
#ifndef PS_CLIENT_INTERNAL_H
#define PS_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "procshare.h"
#include "ps_buf.h"
#include "ps_mp.h"
#include "ps_seal.h"

/* Library-internal functions carry the ps_ prefix like everything else, but
 * stay out of the shared library's dynamic symbol table. */
#pragma GCC visibility push(hidden)

/* Longest error text a context keeps (a handshake refusal's text plus a
 * prefix fits). */
#define PS_ERRSTR_MAX 1280
#define PS_ERRCODE_MAX 64
/* Bytes asked of each read(): answers come in batches. */
#define PS_READ_CHUNK (64u * 1024u)
/* An idle read buffer larger than this is given back to malloc. */
#define PS_READ_KEEP (1024u * 1024u)
/* Largest message the library accepts from a daemon. Answers may be larger
 * than the requests a daemon accepts (a copy of a whole dict). */
#define PS_CLIENT_MAX_MESSAGE (4u * PS_MAX_MESSAGE_DEFAULT)
/* Bound on connecting and the handshake when the context has no timeout:
 * a daemon drops a peer that has not authenticated within
 * PS_HANDSHAKE_TIMEOUT_MS, so waiting much longer is waiting in vain. */
#define PS_CONNECT_TIMEOUT_MS (2 * PS_HANDSHAKE_TIMEOUT_MS)

/* ---- io.c ---- */

/* A point in CLOCK_MONOTONIC time, or never. */
struct ps_deadline {
	bool forever;
	struct timespec at;
};

/* timeout_ms < 0: forever. */
void ps_deadline_init(struct ps_deadline *d, int timeout_ms);
/* Milliseconds left, rounded up, for poll(): -1 forever, 0 passed. */
int ps_deadline_left_ms(const struct ps_deadline *d);
bool ps_deadline_passed(const struct ps_deadline *d);
/* Waits until fd is ready for events (or has an error or hang-up pending).
 * Returns 1 when ready, 0 when the deadline passed, -1 with errno. */
int ps_io_wait(int fd, short events, const struct ps_deadline *d);
/* Sends every byte of iov[0..cnt) on the socket fd (iov is consumed). Returns 0, or -1 with errno (ETIMEDOUT when the deadline
 * passed); *sent gets the bytes sent either way. Never raises SIGPIPE. */
int ps_io_send(int fd, struct iovec *iov, int cnt, const struct ps_deadline *d, size_t *sent);
/* Reads exactly n bytes. Returns n, fewer on EOF, or -1 with errno
 * (ETIMEDOUT when the deadline passed). */
ssize_t ps_io_read_full(int fd, void *p, size_t n, const struct ps_deadline *d);
/* strerror that is safe with threads. */
const char *ps_io_strerror(int err, char *buf, size_t len);

/* ---- the context ---- */

struct ps_err_state {
	int kind;                       /* enum ps_err_kind */
	char code[PS_ERRCODE_MAX];      /* "KeyError"; "" when none */
	char text[PS_ERRSTR_MAX];
};

/* One request waiting for its answer. Lives on the caller's stack; linked
 * into ctx->slots while the answer is awaited. */
struct ps_slot {
	uint32_t msgid;
	bool linked;
	bool done;
	bool remote;            /* data is an error object [code, message] */
	bool oom;               /* the answer came but could not be copied */
	uint8_t *data;          /* malloc'd copy of the result or error object */
	size_t len;
	struct ps_slot *prev, *next;
};

/* An object some live proxy refers to; count: proxies (= handles held on
 * the connection) for it. */
struct ps_held {
	uint64_t id;
	uint32_t count;
};

struct ps_ctx {
	pthread_mutex_t mu;
	/* Broadcast when a slot completes, the reader role falls free or an
	 * error sticks. */
	pthread_cond_t cv;
	pthread_mutex_t wmu;
	struct ps_buf wbuf;             /* request header being sent; wmu */
	/* An encrypted session (PROTOCOL.md 2.2): requests are sealed into
	 * sbuf under wmu, so records leave in the order they are numbered;
	 * the reader opens what it reads into cin's records into rbuf. */
	int enc_mode;                   /* enum ps_encryption, kept to reconnect */
	bool sealed;
	struct ps_seal tx;              /* wmu */
	struct ps_buf sbuf;             /* wmu */
	struct ps_seal rx;              /* the reader's */
	struct ps_buf cin;              /* the reader's */

	int fd;                         /* -1 when not connected */
	/* The process that owns fd; -pid while that process is reconnecting
	 * after fork (see ctx.c). */
	_Atomic pid_t pid;
	_Atomic int timeout_ms;
	char *addr;                     /* kept to reconnect after fork */
	uint8_t *key;
	size_t keylen;

	uint32_t next_msgid;
	struct ps_slot *slots;          /* requests awaiting answers */
	bool reading;                   /* some thread holds the reader role */
	struct ps_buf rbuf;             /* bytes read, not yet dispatched */
	struct ps_mp_scan scan;         /* where the message at rbuf's front ends */

	struct ps_held *held;
	size_t nheld, held_cap;

	struct ps_err_state err;        /* the last failure */
	struct ps_err_state sticky;     /* kind PS_ERR_NONE while usable */
};

/* ---- err.c (all but ps_fail expect ctx->mu held) ---- */

/* Records a failure of the current call. Returns -1. */
int ps_err_set(ps_ctx *ctx, int kind, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Records an error that breaks the connection: every later call fails with
 * it. The first such error wins. Wakes all waiting threads, including a
 * reader blocked in read(). Returns -1. */
int ps_err_stick(ps_ctx *ctx, int kind, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* When the context is broken, makes its sticky error the last error and
 * returns -1; else returns 0. */
int ps_err_check_sticky(ps_ctx *ctx);
/* ps_err_set for callers that do not hold ctx->mu. Returns -1. */
int ps_fail(ps_ctx *ctx, int kind, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* ps_err_stick for callers that do not hold ctx->mu. Returns -1. */
int ps_fail_stick(ps_ctx *ctx, int kind, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- net.c (ctx->mu held) ---- */

/* Connects to ctx->addr and authenticates with ctx->key. Returns the
 * connected socket (in blocking mode: see read_round in call.c), or -1
 * with a sticky error on ctx. */
int ps_net_open(ps_ctx *ctx, const struct ps_deadline *d);

/* ---- ctx.c ---- */

/* Locks ctx->mu, first reconnecting when this process is a fork() child
 * that has not used the context yet. Every entry into the context goes
 * through here. */
void ps_ctx_lock(ps_ctx *ctx);
void ps_ctx_unlock(ps_ctx *ctx);
/* The deadline of a call starting now. */
void ps_ctx_deadline(ps_ctx *ctx, struct ps_deadline *d);
/* Records one more proxy for object id. Returns 0, or -1 on OOM (error
 * set). Takes ctx->mu. */
int ps_held_add(ps_ctx *ctx, uint64_t id);
/* Forgets one proxy for id. Takes ctx->mu. */
void ps_held_remove(ps_ctx *ctx, uint64_t id);

/* ---- call.c ---- */

/* An answer's result: one encoded value, malloc'd. */
struct ps_reply {
	uint8_t *data;
	size_t len;
};

/* Sends method with nparams encoded values params[0..plen) and waits for
 * the answer. On success *out (may be NULL to discard) gets the result.
 * Returns 0, or -1 with the error on ctx. */
int ps_ctx_call(ps_ctx *ctx, const char *method, uint32_t nparams, const uint8_t *params, size_t plen,
		struct ps_reply *out);
/* ps_ctx_call for a blocking call the daemon may hold for up to hold_ms
 * before it answers (a queue get with a timeout; < 0: as long as it takes).
 * The context's timeout bounds the wait only beyond that: the deadline is
 * hold_ms plus the context's timeout, or none when either is forever. */
int ps_ctx_call_hold(ps_ctx *ctx, const char *method, uint32_t nparams, const uint8_t *params, size_t plen,
		     struct ps_reply *out, int64_t hold_ms);
/* After a reconnect: takes again, on the new connection, one handle per
 * proxy in the held table. ctx->mu held. Returns 0, or -1 (error set). */
int ps_call_retain_held(ps_ctx *ctx, const struct ps_deadline *d);

/* ---- req.c ---- */

/* A request's params under construction. */
struct ps_req {
	ps_ctx *ctx;
	struct ps_buf buf;
	msgpack_packer pk;
	uint32_t n;                     /* params so far */
	const char *bad_what;           /* first refused argument, or NULL */
	const char *bad_why;
	/* How long the daemon may hold a blocking call before it answers
	 * (ps_ctx_call_hold); 0 for calls answered at once. */
	int64_t hold_ms;
};

void ps_req_init(struct ps_req *r, ps_ctx *ctx);
/* Appends one encoded value given by the caller; refuses anything but
 * exactly one complete value. what names it in the error. */
void ps_req_value(struct ps_req *r, const char *what, const void *p, size_t n);
void ps_req_str(struct ps_req *r, const char *what, const char *s);
void ps_req_bin(struct ps_req *r, const char *what, const void *p, size_t n);
void ps_req_int(struct ps_req *r, int64_t v);
/* An int, or nil for PS_NONE. */
void ps_req_opt_int(struct ps_req *r, int64_t v);
void ps_req_uint(struct ps_req *r, uint64_t v);
void ps_req_double(struct ps_req *r, double v);
void ps_req_bool(struct ps_req *r, bool v);
/* A slice's start, stop and step: each an int, or nil for PS_NONE (an
 * omitted bound). */
void ps_req_slice(struct ps_req *r, int64_t start, int64_t stop, int64_t step);
/* Refuses the request when ok is false: an output pointer was NULL. */
void ps_req_need(struct ps_req *r, bool ok, const char *what);
/* Refuses the request: "invalid argument: <what> <why>" (the first refusal
 * is the one reported). */
void ps_req_refuse(struct ps_req *r, const char *what, const char *why);
/* Appends the timeout param of a blocking call (seconds; nil, forever,
 * when negative) and lets the daemon hold the call that long (hold_ms). */
void ps_req_timeout(struct ps_req *r, double timeout);
/* Sends the request and frees its params. Reports a refused argument as
 * PS_ERR_ARG without sending. out may be NULL to discard the result. */
int ps_req_call(struct ps_req *r, const char *method, struct ps_reply *out);
/* ps_req_call for the results a proxy hands back. Each refuses a NULL
 * output pointer (PS_ERR_ARG, nothing sent). _bytes: the whole encoded
 * result, malloc'd for the caller to free; _bool, _size, _int: results
 * whose type the protocol fixes (ps_reply_bool, ps_reply_size,
 * ps_reply_int). */
int ps_req_call_bytes(struct ps_req *r, const char *method, void **out, size_t *len);
int ps_req_call_bool(struct ps_req *r, const char *method, int *out);
int ps_req_call_size(struct ps_req *r, const char *method, size_t *out);
int ps_req_call_int(struct ps_req *r, const char *method, int64_t *out);
/* A Value's or Array's typecode: a str of one character. */
int ps_req_call_typecode(struct ps_req *r, const char *method, char *out);
/* ps_req_call for a stored value the caller expects to have a type,
 * decoded as ps_value_str, ps_value_int, ps_value_double, ps_value_bytes
 * do (*out of _str and _bytes malloc'd for the caller to free). */
int ps_req_get_str(struct ps_req *r, const char *method, char **out);
int ps_req_get_int(struct ps_req *r, const char *method, int64_t *out);
int ps_req_get_double(struct ps_req *r, const char *method, double *out);
int ps_req_get_bytes(struct ps_req *r, const char *method, void **out, size_t *len);

void ps_reply_free(struct ps_reply *r);
/* Hands the result's bytes to the caller (who frees them). */
int ps_reply_take(struct ps_reply *r, void **out, size_t *len);
/* Decoders for results whose type the protocol fixes; a daemon that sends
 * another type breaks the connection (PS_ERR_PROTOCOL). They free r. */
int ps_reply_bool(ps_ctx *ctx, struct ps_reply *r, int *out);
int ps_reply_size(ps_ctx *ctx, struct ps_reply *r, size_t *out);
int ps_reply_int(ps_ctx *ctx, struct ps_reply *r, int64_t *out);
int ps_reply_id(ps_ctx *ctx, struct ps_reply *r, uint64_t *out);
/* Decoders for stored values the caller expects to have a type: another
 * type fails with PS_ERR_ARG and code TypeError (OverflowError for an
 * integer outside int64). They free r. */
int ps_value_str(ps_ctx *ctx, struct ps_reply *r, char **out);
int ps_value_int(ps_ctx *ctx, struct ps_reply *r, int64_t *out);
int ps_value_double(ps_ctx *ctx, struct ps_reply *r, double *out);
int ps_value_bytes(ps_ctx *ctx, struct ps_reply *r, void **out, size_t *len);

/* ---- obj.c ---- */

/* A proxy's link to its object. Every proxy type (ps_dict, ps_queue, ...)
 * is a struct whose first member is its struct ps_obj, so obj.c can make,
 * free and address any of them through a pointer to the proxy. */
struct ps_obj {
	ps_ctx *ctx;
	uint64_t id;
	const char *type;       /* "dict", "joinablequeue", ...: a literal */
};

/* Longest method name ps_obj_method makes, with its NUL. */
#define PS_METHOD_MAX 32

/* Starts the creation args of an object in a: an encoded array of n
 * values, which the caller appends with the ps_req_ appenders. A refused
 * one is reported by the constructor the args go to. */
void ps_args_init(struct ps_req *a, ps_ctx *ctx, uint32_t n);
/* The creation args [value], or [] when value is NULL, in a: for types
 * with one optional initial argument (what names it in an error). */
void ps_args_value(struct ps_req *a, ps_ctx *ctx, const char *what, const void *value, size_t len);

/* The constructors behind every proxy type's _open and _new. A proxy is
 * a malloc'd struct of size bytes whose first member is its struct
 * ps_obj. ps_proxy_open opens the object of the given type called name,
 * creating it with args when absent (NULL name: PS_ERR_ARG "name is
 * NULL"); ps_proxy_new creates an anonymous one. args (NULL: none, []) is
 * built with ps_args_init and consumed either way; an argument it refused
 * is PS_ERR_ARG. type must be a literal: the proxy keeps it.
 * Return the proxy, only its ps_obj set (free with ps_proxy_free), or NULL
 * with the error on ctx (PS_ERR_ARG, PS_ERR_OOM, or the daemon's); NULL
 * without one when ctx is NULL, which has nowhere to report. */
void *ps_proxy_open(ps_ctx *ctx, size_t size, const char *type, const char *name, struct ps_req *args);
void *ps_proxy_new(ps_ctx *ctx, size_t size, const char *type, struct ps_req *args);
/* A proxy for the existing object id (a reference's), holding a handle
 * of its own ("retain"). An object of another type is PS_ERR_ARG, code
 * "TypeError", and no handle is kept. Returns as ps_proxy_open. */
void *ps_proxy_attach(ps_ctx *ctx, size_t size, const char *type, uint64_t id);
/* Releases the proxy's handle, without reporting errors (the connection
 * may be gone, and the daemon drops a connection's handles when it
 * closes), and frees it. NULL is a no-op. */
void ps_proxy_free(void *proxy);
/* Calls method on the proxy with nothing but its id, discarding the
 * answer. -1 for a NULL proxy (it has no context to report to). */
int ps_proxy_call(const void *proxy, const char *method);
/* Starts a request on the proxy: its id is the first param. Returns -1
 * when proxy is NULL. */
int ps_req_begin(struct ps_req *r, const void *proxy);
/* ps_req_begin with index as the second param (list and array items). */
int ps_req_begin_index(struct ps_req *r, const void *proxy, int64_t index);
/* The full name of the method called name of o's type ("put" on a
 * joinablequeue: "joinablequeue.put"), written in buf
 * (PS_METHOD_MAX bytes), for the proxies that serve several types. */
const char *ps_obj_method(const struct ps_obj *o, const char *name, char *buf);

/* ---- dict.c, list.c ---- */

/* The object link inside a proxy, for code outside its file (ref.c,
 * scan.c); NULL for a NULL proxy. */
struct ps_obj *ps_dict_obj(ps_dict *d);
struct ps_obj *ps_list_obj(ps_list *l);

/* ---- lock.c: shared with condition.c ---- */

/* Sends an acquire ([id, blocking, timeout]) as the method "acquire" of
 * the proxy's type and reads its result into *info (may be NULL).
 * Returns 1 acquired, 0 not, -1 error (-1 at once for a NULL proxy). */
int ps_lock_call_acquire(const void *proxy, int blocking, double timeout, struct ps_acquired *info);

#pragma GCC visibility pop

#endif
