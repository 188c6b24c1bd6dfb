/*
 * libprocshare: the C client of procshared.
 *
 * A ps_ctx is one authenticated connection to a daemon. Proxies (ps_dict,
 * ps_list) stand for shared objects held by the daemon; every operation on a
 * proxy is one request on its context's connection.
 *
 * Conventions
 *  - Calls return 0 on success and -1 on failure (functions returning a
 *    pointer return NULL). The failure is described by ps_err(ctx) (one of
 *    enum ps_err_kind), ps_errstr(ctx) (text) and, for errors the daemon
 *    sent, ps_errcode(ctx) ("KeyError", "IndexError", ...).
 *  - I/O, EOF, protocol and auth errors stick: every later call on the
 *    context fails at once with the same error. So does any failure to
 *    connect. Remote errors (the daemon answered with an error), invalid
 *    arguments and timeouts do not stick; a timeout does stick when it
 *    leaves a request half-sent, since the stream is then unusable.
 *  - Every call waits at most the context's timeout (ps_set_timeout;
 *    default: wait forever). A timed-out call's late answer is discarded.
 *  - Values travel as MessagePack. The generic functions take and return
 *    encoded MessagePack bytes (build them with msgpack-c or any encoder);
 *    returned buffers are malloc'd and the caller frees them with free().
 *    Typed helpers (_str, _int, _double, _bytes) cover the common cases;
 *    their keys are UTF-8 strings.
 *  - Thread safety: one context may be used by several threads at once;
 *    requests are multiplexed by msgid and each thread gets its own answer.
 *  - fork(): a child never uses its parent's socket. On its first call in
 *    the child, the context closes its inherited copy of the socket (close,
 *    not shutdown, so the parent's connection is untouched), opens a new
 *    connection (same address and key, waiting at most the context's
 *    timeout, or 10 s when it has none) and re-takes a handle on every
 *    object its live proxies refer to, so proxies keep working in the child.
 *    Several threads of the child may make that first call at once: one
 *    reconnects, the others wait for it. Other threads of the parent may be
 *    blocked in calls when fork() happens; those calls go on in the parent
 *    only. Do not fork while another thread is opening or freeing a proxy
 *    of the context (the child could inherit a half-updated table of held
 *    objects). A context with a sticky error stays broken in the child.
 */
#ifndef PROCSHARE_H
#define PROCSHARE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PS_LIB_VERSION "0.1.0"

/* The kinds of error a context can carry. */
enum ps_err_kind {
	PS_ERR_NONE = 0,
	PS_ERR_IO,        /* socket error; errno saved in the text */
	PS_ERR_EOF,       /* the daemon closed the connection */
	PS_ERR_PROTOCOL,  /* the daemon sent something malformed, or announced
			   * an error and closed (ps_errcode: its code) */
	PS_ERR_OOM,       /* allocation failed in the client */
	PS_ERR_TIMEOUT,   /* the call's timeout passed */
	PS_ERR_AUTH,      /* authentication failed (either direction), or the
			   * daemon refused the connection; ps_errcode gives
			   * its reason ("AuthFailed", "LimitExceeded") */
	PS_ERR_REMOTE,    /* the daemon answered with an error: see ps_errcode */
	PS_ERR_ARG        /* the caller passed an invalid argument, or a typed
			   * getter found another type ("TypeError") */
};

typedef struct ps_ctx ps_ctx;
typedef struct ps_dict ps_dict;
typedef struct ps_list ps_list;

/* ---- Connections ---------------------------------------------------- */

/* Connects to addr ("unix:/path", "/path", "tcp://host:port", "host:port",
 * "[v6]:port") and authenticates with key[0..keylen). Always returns a
 * context (NULL only when memory is exhausted); check ps_err() before use.
 * Connecting and the handshake take at most 10 s (the context has no
 * timeout yet; the daemon drops unauthenticated peers after 5 s anyway).
 * The key is copied (to reconnect after fork). Free it with ps_free(). */
ps_ctx *ps_connect(const char *addr, const void *key, size_t keylen);

/* Connects using PROCSHARE_ADDRESS and the key in the file named by
 * PROCSHARE_AUTHKEY_FILE (trailing newline stripped), or in
 * PROCSHARE_AUTHKEY when no file is named. Same contract as ps_connect. */
ps_ctx *ps_connect_env(void);

/* Reads an authkey file: its bytes with one trailing newline stripped.
 * Returns a malloc'd buffer (caller frees) and its length, or NULL with
 * errno set. */
unsigned char *ps_read_keyfile(const char *path, size_t *keylen);

/* Closes the connection and frees the context. Proxies of this context
 * must be freed before it, and no other thread may be using it. In a fork()
 * child that never used the context, it only closes the inherited copy of
 * the socket. ps_free(NULL) does nothing. */
void ps_free(ps_ctx *ctx);

/* Sets the timeout for every later call, in milliseconds (<0: forever). */
void ps_set_timeout(ps_ctx *ctx, int timeout_ms);

/* The error of the most recent failed call on ctx (from any thread), or
 * the context's sticky error. A successful call does not clear it, and
 * neither does freeing a proxy. When several threads share a context, rely
 * on each call's return value and read these only where no other thread can
 * fail a call in between. For ctx NULL (ps_connect out of memory), ps_err
 * is PS_ERR_OOM. */
int ps_err(const ps_ctx *ctx);
const char *ps_errstr(const ps_ctx *ctx);
/* The error's code name, or "" when it has none: the daemon's code for
 * PS_ERR_REMOTE ("KeyError"); "TypeError" or "OverflowError" when a typed
 * getter cannot return the stored value (PS_ERR_ARG); the daemon's reason
 * for a refusal (PS_ERR_AUTH) or an announced error (PS_ERR_PROTOCOL);
 * "Timeout" for PS_ERR_TIMEOUT. */
const char *ps_errcode(const ps_ctx *ctx);

/* Round trip that does nothing. */
int ps_ping(ps_ctx *ctx);

/* Generic request: method with params (one encoded MessagePack array;
 * NULL or plen 0 for none). On success *result (malloc'd, caller frees)
 * holds the encoded result and *rlen its length. result may be NULL to
 * discard it. */
int ps_call(ps_ctx *ctx, const char *method, const void *params, size_t plen,
	    void **result, size_t *rlen);

/* Drops the name of a named object. The object itself lives on while
 * handles to it exist. Returns 0, or -1 (NoSuchObject when no such name). */
int ps_delete(ps_ctx *ctx, const char *name);

/* ---- dict ------------------------------------------------------------ */

/* Opens the dict called name, creating it when absent. Named objects live
 * until ps_delete. Returns NULL on error. Free with ps_dict_free. */
ps_dict *ps_dict_open(ps_ctx *ctx, const char *name);
/* Creates an anonymous dict, alive while a handle or a stored reference
 * to it exists. */
ps_dict *ps_dict_new(ps_ctx *ctx);
/* Releases the proxy's handle and frees it. ps_dict_free(NULL) is a no-op. */
void ps_dict_free(ps_dict *d);
/* The object's 64-bit id (what a reference to it carries). */
uint64_t ps_dict_id(const ps_dict *d);

/* Generic path: keys and values are encoded MessagePack objects. */
int ps_dict_set(ps_dict *d, const void *key, size_t klen, const void *val, size_t vlen);
/* KeyError when absent. *val is malloc'd. */
int ps_dict_get(ps_dict *d, const void *key, size_t klen, void **val, size_t *vlen);
int ps_dict_del(ps_dict *d, const void *key, size_t klen);                 /* KeyError */
/* Sets *out to 1 or 0. */
int ps_dict_contains(ps_dict *d, const void *key, size_t klen, int *out);
int ps_dict_len(ps_dict *d, size_t *out);
/* keys/values/items: an encoded array (items: array of [key, value]). */
int ps_dict_keys(ps_dict *d, void **out, size_t *len);
int ps_dict_values(ps_dict *d, void **out, size_t *len);
int ps_dict_items(ps_dict *d, void **out, size_t *len);
/* Removes key and returns its value; def (may be NULL) is returned when the
 * key is absent, else KeyError. */
int ps_dict_pop(ps_dict *d, const void *key, size_t klen, const void *def, size_t dlen,
		void **val, size_t *vlen);
/* Removes and returns the last inserted pair as an encoded [key, value]. */
int ps_dict_popitem(ps_dict *d, void **pair, size_t *len);
/* Returns d[key], first setting it to def when absent (def NULL: nil). */
int ps_dict_setdefault(ps_dict *d, const void *key, size_t klen, const void *def, size_t dlen,
		       void **val, size_t *vlen);
/* Merges an encoded map, or an encoded array of [key, value] pairs. */
int ps_dict_update(ps_dict *d, const void *src, size_t slen);
int ps_dict_clear(ps_dict *d);
/* The whole dict as an encoded map (a copy, like DictProxy.copy()). */
int ps_dict_copy(ps_dict *d, void **out, size_t *len);

/* Typed helpers; keys are NUL-terminated UTF-8 strings. Getters fail with
 * KeyError (PS_ERR_REMOTE) when absent, and with PS_ERR_ARG, code
 * "TypeError", when the stored value has another type: _str wants a str,
 * _bytes a bin or a str, _int an integer (code "OverflowError" above
 * INT64_MAX), _double a float or an integer. ps_dict_get_str/_bytes
 * return malloc'd memory (_str NUL-terminated: a str holding a NUL byte
 * reads short; use _bytes for it). */
int ps_dict_set_str(ps_dict *d, const char *key, const char *val);
int ps_dict_set_int(ps_dict *d, const char *key, int64_t val);
int ps_dict_set_double(ps_dict *d, const char *key, double val);
int ps_dict_set_bytes(ps_dict *d, const char *key, const void *val, size_t len);
int ps_dict_get_str(ps_dict *d, const char *key, char **val);
int ps_dict_get_int(ps_dict *d, const char *key, int64_t *val);
int ps_dict_get_double(ps_dict *d, const char *key, double *val);
int ps_dict_get_bytes(ps_dict *d, const char *key, void **val, size_t *len);
int ps_dict_del_str(ps_dict *d, const char *key);
int ps_dict_contains_str(ps_dict *d, const char *key, int *out);
/* Atomically adds delta to the number at key (absent: starts from 0) and
 * returns the new value in *result (may be NULL). TypeError (remote) when
 * the stored value is not a number. The daemon keeps integers from
 * INT64_MIN to UINT64_MAX: a sum outside that range is OverflowError
 * (remote, nothing stored); a sum above INT64_MAX is stored, but this
 * call then fails with PS_ERR_ARG, code "OverflowError", as *result cannot
 * hold it. Adding to a float, or adding a double, gives a float. */
int ps_dict_incr_int(ps_dict *d, const char *key, int64_t delta, int64_t *result);
int ps_dict_incr_double(ps_dict *d, const char *key, double delta, double *result);

/* ---- list ------------------------------------------------------------ */

ps_list *ps_list_open(ps_ctx *ctx, const char *name);
ps_list *ps_list_new(ps_ctx *ctx);
void ps_list_free(ps_list *l);
uint64_t ps_list_id(const ps_list *l);

/* Indexes may be negative (from the end), as in Python. */
int ps_list_append(ps_list *l, const void *val, size_t vlen);
/* Appends every element of an encoded array. */
int ps_list_extend(ps_list *l, const void *arr, size_t alen);
int ps_list_insert(ps_list *l, int64_t index, const void *val, size_t vlen);
/* Removes and returns the item at index (IndexError when out of range). */
int ps_list_pop(ps_list *l, int64_t index, void **val, size_t *vlen);
/* Removes the first item equal to val (ValueError when none). */
int ps_list_remove(ps_list *l, const void *val, size_t vlen);
/* Position of the first item equal to val in [start, stop) (ValueError). */
int ps_list_index(ps_list *l, const void *val, size_t vlen, int64_t start, int64_t stop, int64_t *out);
int ps_list_count(ps_list *l, const void *val, size_t vlen, size_t *out);
int ps_list_reverse(ps_list *l);
/* Stable sort; TypeError when items cannot be ordered (PROTOCOL.md). */
int ps_list_sort(ps_list *l, int reverse);
int ps_list_len(ps_list *l, size_t *out);
int ps_list_contains(ps_list *l, const void *val, size_t vlen, int *out);
int ps_list_get(ps_list *l, int64_t index, void **val, size_t *vlen);
int ps_list_set(ps_list *l, int64_t index, const void *val, size_t vlen);
int ps_list_del(ps_list *l, int64_t index);
/* Slices follow Python: PS_NONE for an omitted start/stop/step. The result
 * of getslice is an encoded array; setslice takes one. */
#define PS_NONE INT64_MIN
int ps_list_getslice(ps_list *l, int64_t start, int64_t stop, int64_t step, void **arr, size_t *alen);
int ps_list_setslice(ps_list *l, int64_t start, int64_t stop, int64_t step, const void *arr, size_t alen);
int ps_list_delslice(ps_list *l, int64_t start, int64_t stop, int64_t step);
int ps_list_clear(ps_list *l);
/* The whole list as an encoded array. */
int ps_list_copy(ps_list *l, void **arr, size_t *alen);

/* Typed helpers; the getters decode as the dict getters do. */
int ps_list_append_str(ps_list *l, const char *val);
int ps_list_append_int(ps_list *l, int64_t val);
int ps_list_append_double(ps_list *l, double val);
int ps_list_append_bytes(ps_list *l, const void *val, size_t len);
int ps_list_get_str(ps_list *l, int64_t index, char **val);
int ps_list_get_int(ps_list *l, int64_t index, int64_t *val);
int ps_list_get_double(ps_list *l, int64_t index, double *val);
int ps_list_get_bytes(ps_list *l, int64_t index, void **val, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
