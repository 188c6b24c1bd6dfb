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
typedef struct ps_queue ps_queue;
typedef struct ps_dict_iter ps_dict_iter;
typedef struct ps_namespace ps_namespace;
typedef struct ps_value ps_value;
typedef struct ps_array ps_array;
typedef struct ps_set ps_set;

/* ---- Connections ---------------------------------------------------- */

/* Connects to addr ("unix:/path", "/path", "tcp://host:port", "host:port",
 * "[v6]:port") and authenticates with key[0..keylen). Always returns a
 * context (NULL only when memory is exhausted); check ps_err() before use.
 * Connecting and the handshake take at most 10 s (the context has no
 * timeout yet; the daemon drops unauthenticated peers after 5 s anyway).
 * The key is copied (to reconnect after fork). Free it with ps_free(). */
ps_ctx *ps_connect(const char *addr, const void *key, size_t keylen);

/* Whether the session is encrypted (PROTOCOL.md 2.1, 2.2). */
enum ps_encryption {
	PS_ENCRYPT_AUTO = 0,    /* over TCP always; over a Unix socket only when
				 * the daemon requires it */
	PS_ENCRYPT_ON = 1,      /* always: fails (PS_ERR_AUTH, code
				 * "EncryptionUnavailable") when the daemon does
				 * not offer it */
	PS_ENCRYPT_OFF = 2      /* never: a daemon that requires it refuses
				 * (PS_ERR_AUTH, code "EncryptionRequired") */
};

/* ps_connect with the encryption mode given (enum ps_encryption) rather
 * than taken from PROCSHARE_ENCRYPTION. ps_connect itself uses that
 * variable ("auto", "on" or "off"; auto when unset). The mode is kept for
 * reconnecting after fork. */
ps_ctx *ps_connect_mode(const char *addr, const void *key, size_t keylen, int encryption);

/* 1 when ctx's session is encrypted, 0 when it is plaintext, -1 when ctx
 * is not connected. */
int ps_encrypted(ps_ctx *ctx);

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

/* ---- references (nested objects) ------------------------------------- */

/* A value may hold a reference to any shared object (a dict holding a
 * list): MessagePack ext type 1 whose 8-byte payload is the object's id,
 * big-endian, always encoded as fixext 8, i.e. the PS_REF_LEN bytes
 * d7 01 followed by the id. While stored, the reference keeps the object
 * alive. A proxy opened from a reference (_attach, _get_dict, _get_list)
 * takes a handle of its own ("retain"), so the object stays alive while
 * the proxy lives, even after the reference is removed; freeing the proxy
 * releases that handle. */
#define PS_REF_LEN 10

/* Writes the reference to object id into out (PS_REF_LEN bytes) and
 * returns PS_REF_LEN: use it with the generic functions (ps_dict_set,
 * ps_list_append, ps_queue_put...) or inside larger encoded values. */
size_t ps_ref_pack(uint64_t id, void *out);
/* Reads p[0..len) as exactly one reference: returns 0 with *id set (id
 * may be NULL to only test), or -1 when it is anything else. */
int ps_ref_decode(const void *p, size_t len, uint64_t *id);

/* Proxies for the existing object id (from a reference), holding their
 * own handle on it. NULL on error: NoSuchObject when it is gone, PS_ERR_ARG
 * with code "TypeError" when it is of another type. Free as usual. */
ps_dict *ps_dict_attach(ps_ctx *ctx, uint64_t id);
ps_list *ps_list_attach(ps_ctx *ctx, uint64_t id);

/* Store a reference to object id (e.g. ps_list_id(l)); NoSuchObject
 * (remote) when no such object exists. */
int ps_dict_set_ref(ps_dict *d, const char *key, uint64_t id);
int ps_list_append_ref(ps_list *l, uint64_t id);
int ps_list_set_ref(ps_list *l, int64_t index, uint64_t id);
/* Read a stored reference's id; PS_ERR_ARG, code "TypeError", when the
 * value is not a reference (KeyError/IndexError as for the other getters). */
int ps_dict_get_ref(ps_dict *d, const char *key, uint64_t *id);
int ps_list_get_ref(ps_list *l, int64_t index, uint64_t *id);
/* Open the object a stored reference names as a proxy (get_ref + attach);
 * NULL on error, described on the container's context. */
ps_dict *ps_dict_get_dict(ps_dict *d, const char *key);
ps_list *ps_dict_get_list(ps_dict *d, const char *key);
ps_dict *ps_list_get_dict(ps_list *l, int64_t index);
ps_list *ps_list_get_list(ps_list *l, int64_t index);

/* ---- paged iteration over big containers ----------------------------- */

/* keys, values, items and copy answer with the whole container in one
 * message; for big ones (up to millions of entries) read page by page.
 * A page holds at most count entries (0, or more than the daemon's
 * maximum of 10,000: that maximum) and ends early once it passes 1 MiB. */
enum ps_dict_view { PS_DICT_KEYS, PS_DICT_VALUES, PS_DICT_ITEMS };

/* One page of the dict in insertion order, starting at cursor (0 for the
 * first page). *page (malloc'd) is an encoded array of keys, values or
 * [key, value] pairs (what: enum ps_dict_view); *next is the cursor of
 * the next page, 0 when this page ended the walk. Cursors are opaque.
 * While the dict changes during a walk, every entry present for the whole
 * walk is returned at least once; an unchanged dict gives each entry
 * exactly once. */
int ps_dict_scan(ps_dict *d, uint64_t cursor, size_t count, int what, uint64_t *next,
		 void **page, size_t *len);
/* The same for a list: cursor is the index to start at; *next is the
 * index after the page, 0 when the page reached the end. */
int ps_list_scan(ps_list *l, uint64_t cursor, size_t count, uint64_t *next, void **page, size_t *len);

/* Walks a whole dict with ps_dict_scan, count entries per request (0:
 * the maximum). Returns NULL on error. Free with ps_dict_iter_free (which
 * takes NULL); the dict proxy must outlive the iterator. */
ps_dict_iter *ps_dict_iter_new(ps_dict *d, int what, size_t count);
/* The next entry: returns 1 with the encoded key and/or value (for
 * PS_DICT_KEYS *val is NULL, for PS_DICT_VALUES *key is NULL; any output
 * pointer may be NULL), 0 at the end, -1 on error (the iterator is left
 * as it was: calling again retries the same page). The bytes point into
 * the iterator and stay valid until the next call. */
int ps_dict_iter_next(ps_dict_iter *it, const void **key, size_t *klen, const void **val, size_t *vlen);
void ps_dict_iter_free(ps_dict_iter *it);

/* ---- queue ----------------------------------------------------------- */

/* Python's queue.Queue / JoinableQueue (the manager's Queue proxy): FIFO,
 * optionally bounded by maxsize (0 or less: unbounded). One proxy type
 * serves both: the _joinablequeue_ constructors make a JoinableQueue, on
 * which task_done and join work too (on a plain queue they fail with
 * NoSuchMethod). Opening an existing queue ignores maxsize. */
ps_queue *ps_queue_open(ps_ctx *ctx, const char *name, int64_t maxsize);
ps_queue *ps_queue_new(ps_ctx *ctx, int64_t maxsize);
ps_queue *ps_joinablequeue_open(ps_ctx *ctx, const char *name, int64_t maxsize);
ps_queue *ps_joinablequeue_new(ps_ctx *ctx, int64_t maxsize);
/* Releases the proxy's handle and frees it; NULL is a no-op. */
void ps_queue_free(ps_queue *q);
uint64_t ps_queue_id(const ps_queue *q);

/* Blocking calls take block and timeout, in seconds, as Python's do:
 * block 0 never waits; with block, a timeout < 0 waits as long as it takes
 * and a timeout >= 0 waits at most that long (0: not at all). A put on a
 * full queue fails with Full, a get on an empty one with Empty (remote
 * errors: ps_errcode "Full", "Empty") when it may not wait or its timeout
 * passes. Waiting callers are served first come, first served. The
 * context's timeout (ps_set_timeout) does not cut such a wait short: it
 * bounds only the time beyond the call's own timeout.
 * A get removes the item from the queue: references inside it no longer
 * keep their objects alive (keep a handle, or a name, on an object you pass
 * through a queue until the consumer has attached to it). */
int ps_queue_put(ps_queue *q, const void *item, size_t len, int block, double timeout);
/* *item (malloc'd) is the encoded item. */
int ps_queue_get(ps_queue *q, int block, double timeout, void **item, size_t *len);
/* put/get with block 0. */
int ps_queue_put_nowait(ps_queue *q, const void *item, size_t len);
int ps_queue_get_nowait(ps_queue *q, void **item, size_t *len);
/* Typed helpers. ps_queue_put_nil puts nil (Python's None, the usual
 * end-of-work sentinel). The getters decode as the dict getters do, except
 * that ps_queue_get_str gives *val NULL for a nil item; _str and _bytes
 * return malloc'd memory. */
int ps_queue_put_nil(ps_queue *q, int block, double timeout);
int ps_queue_put_str(ps_queue *q, const char *val, int block, double timeout);
int ps_queue_put_int(ps_queue *q, int64_t val, int block, double timeout);
int ps_queue_put_double(ps_queue *q, double val, int block, double timeout);
int ps_queue_put_bytes(ps_queue *q, const void *val, size_t len, int block, double timeout);
int ps_queue_put_ref(ps_queue *q, uint64_t id, int block, double timeout);
int ps_queue_get_str(ps_queue *q, int block, double timeout, char **val);
int ps_queue_get_int(ps_queue *q, int block, double timeout, int64_t *val);
int ps_queue_get_double(ps_queue *q, int block, double timeout, double *val);
int ps_queue_get_bytes(ps_queue *q, int block, double timeout, void **val, size_t *len);
/* The number of items; whether it is empty; whether it is full (bounded
 * and holding maxsize items). */
int ps_queue_qsize(ps_queue *q, size_t *out);
int ps_queue_empty(ps_queue *q, int *out);
int ps_queue_full(ps_queue *q, int *out);
/* JoinableQueue: marks one item got earlier as processed; ValueError
 * (remote) when called more times than items were put. */
int ps_queue_task_done(ps_queue *q);
/* JoinableQueue: waits until every item put has been marked done, at most
 * timeout seconds (< 0: as long as it takes); then fails with the remote
 * error "Timeout" (Python's join has no timeout). */
int ps_queue_join(ps_queue *q, double timeout);

/* ---- Namespace ------------------------------------------------------- */

/* multiprocessing's Namespace: attributes by name. Names are
 * NUL-terminated UTF-8 strings (any string, as with Python's setattr);
 * values are encoded MessagePack or, with the typed helpers, C values.
 * attrs (may be NULL) is an encoded map of initial attributes, str names to
 * values (Python's Namespace(**kwargs)). Open creates the object when the
 * name is free; when it exists, the creation arguments are ignored and the
 * existing object is opened as it is. */
ps_namespace *ps_namespace_open(ps_ctx *ctx, const char *name, const void *attrs, size_t alen);
ps_namespace *ps_namespace_new(ps_ctx *ctx, const void *attrs, size_t alen);
/* A proxy for the existing object id (from a reference), as
 * ps_dict_attach. */
ps_namespace *ps_namespace_attach(ps_ctx *ctx, uint64_t id);
/* Releases the proxy's handle and frees it; NULL is a no-op. */
void ps_namespace_free(ps_namespace *ns);
uint64_t ps_namespace_id(const ps_namespace *ns);

/* getattr: *val (malloc'd) is the encoded value; AttributeError (remote)
 * when there is no such attribute. The _default form answers def instead
 * (Python's getattr(ns, name, default)). */
int ps_namespace_getattr(ps_namespace *ns, const char *name, void **val, size_t *vlen);
int ps_namespace_getattr_default(ps_namespace *ns, const char *name, const void *def, size_t dlen,
				 void **val, size_t *vlen);
int ps_namespace_setattr(ps_namespace *ns, const char *name, const void *val, size_t vlen);
/* AttributeError (remote) when there is no such attribute. */
int ps_namespace_delattr(ps_namespace *ns, const char *name);
/* hasattr: *out 1 or 0. */
int ps_namespace_has(ps_namespace *ns, const char *name, int *out);
/* The number of attributes. */
int ps_namespace_len(ps_namespace *ns, size_t *out);
/* vars(ns): an encoded map of every attribute, in the order first set. */
int ps_namespace_vars(ps_namespace *ns, void **map, size_t *len);
/* dir(ns): an encoded array of the names, sorted by code point. */
int ps_namespace_dir(ps_namespace *ns, void **arr, size_t *len);
/* Typed helpers; the getters decode as the dict getters do (AttributeError
 * when absent). */
int ps_namespace_set_str(ps_namespace *ns, const char *name, const char *val);
int ps_namespace_set_int(ps_namespace *ns, const char *name, int64_t val);
int ps_namespace_set_double(ps_namespace *ns, const char *name, double val);
int ps_namespace_set_bytes(ps_namespace *ns, const char *name, const void *val, size_t len);
int ps_namespace_get_str(ps_namespace *ns, const char *name, char **val);
int ps_namespace_get_int(ps_namespace *ns, const char *name, int64_t *val);
int ps_namespace_get_double(ps_namespace *ns, const char *name, double *val);
int ps_namespace_get_bytes(ps_namespace *ns, const char *name, void **val, size_t *len);

/* ---- Value ----------------------------------------------------------- */

/* multiprocessing's Value: one scalar of a fixed typecode, Python's array
 * and ctypes codes: 'b' 'B' 'h' 'H' 'i' 'I' (8, 16, 32-bit signed and
 * unsigned ints), 'l' 'L' 'q' 'Q' (64-bit), 'f' (float32: stored rounded
 * to float32), 'd' (double), 'c' (one byte: a bin of length 1), 'u' (one
 * character: a str of length 1). The daemon refuses a value of the wrong
 * type (TypeError: a float for 'i', an int for 'c'; ints are fine for 'f'
 * and 'd') or out of the code's range (OverflowError), and the Value keeps
 * what it had. init is the encoded initial value, NULL for the code's zero
 * (0, 0.0, b"\x00", "\x00"). Open creates the object when the name is free;
 * when it exists, typecode and init are ignored. */
ps_value *ps_value_open(ps_ctx *ctx, const char *name, char typecode, const void *init, size_t ilen);
ps_value *ps_value_new(ps_ctx *ctx, char typecode, const void *init, size_t ilen);
/* The same with a C number as the initial value. */
ps_value *ps_value_open_int(ps_ctx *ctx, const char *name, char typecode, int64_t init);
ps_value *ps_value_new_int(ps_ctx *ctx, char typecode, int64_t init);
ps_value *ps_value_open_double(ps_ctx *ctx, const char *name, char typecode, double init);
ps_value *ps_value_new_double(ps_ctx *ctx, char typecode, double init);
ps_value *ps_value_attach(ps_ctx *ctx, uint64_t id);
void ps_value_free(ps_value *v);
uint64_t ps_value_id(const ps_value *v);

/* Generic path: values are encoded MessagePack; *val (malloc'd). */
int ps_value_get(ps_value *v, void **val, size_t *vlen);
int ps_value_set(ps_value *v, const void *val, size_t vlen);
/* Atomically adds delta (an int; for 'f' and 'd' an int or a float) and
 * returns the new value (val and vlen may be NULL). OverflowError (remote,
 * nothing changed) when an integer sum leaves the code's range; TypeError
 * for 'c' and 'u'. */
int ps_value_add(ps_value *v, const void *delta, size_t dlen, void **val, size_t *vlen);
/* Compare-and-swap: when the value equals expected it becomes desired.
 * Both are checked like a set's value (so 1 for a 'd' Value means 1.0);
 * floats match bit for bit. *swapped is 1 or 0; *cur (malloc'd; cur and
 * clen may be NULL) is the value held after the call. */
int ps_value_cas(ps_value *v, const void *expected, size_t elen, const void *desired, size_t dlen,
		 int *swapped, void **cur, size_t *clen);
/* The typecode, a character such as 'i'. */
int ps_value_typecode(ps_value *v, char *out);
/* Typed helpers. _int reads integer codes (OverflowError, PS_ERR_ARG, for
 * a 'Q' or 'L' value above INT64_MAX); _double reads any number. result
 * and current may be NULL. */
int ps_value_get_int(ps_value *v, int64_t *out);
int ps_value_set_int(ps_value *v, int64_t val);
int ps_value_add_int(ps_value *v, int64_t delta, int64_t *result);
int ps_value_cas_int(ps_value *v, int64_t expected, int64_t desired, int *swapped, int64_t *current);
int ps_value_get_double(ps_value *v, double *out);
int ps_value_set_double(ps_value *v, double val);
int ps_value_add_double(ps_value *v, double delta, double *result);
int ps_value_cas_double(ps_value *v, double expected, double desired, int *swapped, double *current);

/* ---- Array ----------------------------------------------------------- */

/* multiprocessing's Array: a fixed number of elements of one typecode
 * (the codes and checks of Value). init is an encoded array of the
 * elements, or an encoded non-negative int n for n zero elements (at most
 * 16,777,216: LimitExceeded beyond). The length never changes. Open
 * creates the object when the name is free; when it exists, typecode and
 * init are ignored. */
ps_array *ps_array_open(ps_ctx *ctx, const char *name, char typecode, const void *init, size_t ilen);
ps_array *ps_array_new(ps_ctx *ctx, char typecode, const void *init, size_t ilen);
/* The same for n zero elements. */
ps_array *ps_array_open_size(ps_ctx *ctx, const char *name, char typecode, size_t n);
ps_array *ps_array_new_size(ps_ctx *ctx, char typecode, size_t n);
ps_array *ps_array_attach(ps_ctx *ctx, uint64_t id);
void ps_array_free(ps_array *a);
uint64_t ps_array_id(const ps_array *a);

int ps_array_len(ps_array *a, size_t *out);
/* Indexes may be negative (from the end); IndexError (remote) outside. */
int ps_array_get(ps_array *a, int64_t index, void **val, size_t *vlen);
int ps_array_set(ps_array *a, int64_t index, const void *val, size_t vlen);
/* Slices follow Python (PS_NONE for an omitted start/stop/step; step 0 is
 * ValueError). getslice gives an encoded array; setslice takes one with
 * exactly as many elements as the slice selects (else ValueError). */
int ps_array_getslice(ps_array *a, int64_t start, int64_t stop, int64_t step, void **arr, size_t *alen);
int ps_array_setslice(ps_array *a, int64_t start, int64_t stop, int64_t step, const void *arr, size_t alen);
/* Every element as an encoded array. */
int ps_array_tolist(ps_array *a, void **arr, size_t *alen);
int ps_array_typecode(ps_array *a, char *out);
/* Typed helpers; the getters decode as ps_value_get_int/_double do. */
int ps_array_get_int(ps_array *a, int64_t index, int64_t *val);
int ps_array_set_int(ps_array *a, int64_t index, int64_t val);
int ps_array_get_double(ps_array *a, int64_t index, double *val);
int ps_array_set_double(ps_array *a, int64_t index, double val);

/* ---- set ------------------------------------------------------------- */

/* Python's set (the manager's SetProxy). Members are encoded MessagePack
 * values that could be dict keys (no maps: TypeError); they are equal when
 * their encodings are (PROTOCOL.md, "Values and equality"), and come back
 * in the order they were added. members (may be NULL) is an encoded array
 * of initial members, or a reference to a set to copy. Open creates the
 * object when the name is free; when it exists, members is ignored. */
ps_set *ps_set_open(ps_ctx *ctx, const char *name, const void *members, size_t mlen);
ps_set *ps_set_new(ps_ctx *ctx, const void *members, size_t mlen);
ps_set *ps_set_attach(ps_ctx *ctx, uint64_t id);
void ps_set_free(ps_set *s);
uint64_t ps_set_id(const ps_set *s);

int ps_set_add(ps_set *s, const void *val, size_t vlen);
/* discard does nothing when val is absent; remove fails with KeyError. */
int ps_set_discard(ps_set *s, const void *val, size_t vlen);
int ps_set_remove(ps_set *s, const void *val, size_t vlen);
int ps_set_contains(ps_set *s, const void *val, size_t vlen, int *out);
/* Removes and returns a member (the one added last); KeyError when empty. */
int ps_set_pop(ps_set *s, void **val, size_t *vlen);
int ps_set_clear(ps_set *s);
int ps_set_len(ps_set *s, size_t *out);
/* Every member as an encoded array. */
int ps_set_copy(ps_set *s, void **arr, size_t *alen);

/* The algebra. other is one operand: an encoded array of members, or the
 * encoded reference to a shared set (ps_ref_pack(ps_set_id(t), buf)),
 * possibly s itself. Results (union, intersection, difference,
 * symmetric_difference) are encoded arrays: s's members first in s's
 * order, then the operand's. The _update forms and update change s in
 * place, all or nothing. The protocol takes several operands where Python
 * does (update, union, intersection, difference and their _update forms):
 * reach that with ps_call. */
int ps_set_update(ps_set *s, const void *other, size_t olen);
int ps_set_union(ps_set *s, const void *other, size_t olen, void **arr, size_t *alen);
int ps_set_intersection(ps_set *s, const void *other, size_t olen, void **arr, size_t *alen);
int ps_set_difference(ps_set *s, const void *other, size_t olen, void **arr, size_t *alen);
int ps_set_symmetric_difference(ps_set *s, const void *other, size_t olen, void **arr, size_t *alen);
int ps_set_intersection_update(ps_set *s, const void *other, size_t olen);
int ps_set_difference_update(ps_set *s, const void *other, size_t olen);
int ps_set_symmetric_difference_update(ps_set *s, const void *other, size_t olen);
/* *out 1 or 0. */
int ps_set_isdisjoint(ps_set *s, const void *other, size_t olen, int *out);
int ps_set_issubset(ps_set *s, const void *other, size_t olen, int *out);
int ps_set_issuperset(ps_set *s, const void *other, size_t olen, int *out);
/* Typed helpers for str and int members. */
int ps_set_add_str(ps_set *s, const char *val);
int ps_set_add_int(ps_set *s, int64_t val);
int ps_set_discard_str(ps_set *s, const char *val);
int ps_set_discard_int(ps_set *s, int64_t val);
int ps_set_remove_str(ps_set *s, const char *val);
int ps_set_remove_int(ps_set *s, int64_t val);
int ps_set_contains_str(ps_set *s, const char *val, int *out);
int ps_set_contains_int(ps_set *s, int64_t val, int *out);

/* ---- Lock, RLock, Semaphore, BoundedSemaphore --------------------------
 *
 * Python's threading primitives, shared between processes, and safe
 * against holders that die: when the connection of a holder closes (exit,
 * crash, SIGKILL, or a TCP peer that vanished, found by keepalive within
 * about 25 s) the daemon releases what it held and hands it to the next
 * waiter, which is told (abandoned = 1) so it can repair what the dead
 * holder left half-done.
 *
 * Ownership belongs to the connection, that is the context: threads that
 * share one ps_ctx share its locks (an RLock counts its levels per
 * context; a Lock acquired by one such thread blocks another of them, as
 * it would block the first). A fork() child has its own connection, so
 * it never holds what its parent holds.
 *
 * Blocking calls take a timeout in seconds: < 0 waits forever, 0 does not
 * wait. The context's timeout (ps_set_timeout) does not cut such a wait
 * short: it bounds only the time the answer takes beyond it. Waiters are
 * served first come, first served. */

/* What an acquisition tells its caller. */
struct ps_acquired {
	int acquired;           /* 1 when taken, 0 when not (timeout, non-blocking) */
	/* The fencing token of this acquisition: larger than every token the
	 * object handed out before (0 when not acquired). Pass it along with
	 * writes so that a resource can refuse a late write from a holder
	 * that has since lost the lock. An RLock's re-entry by its owner
	 * returns the token of the hold it re-enters. */
	uint64_t token;
	/* 1 when the units taken were given back by a holder that died
	 * holding them (a robust mutex's EOWNERDEAD). */
	int abandoned;
};

typedef struct ps_lock ps_lock;
typedef struct ps_semaphore ps_semaphore;

enum ps_lock_kind {
	PS_LOCK = 0,            /* Lock: not reentrant; released by anyone */
	PS_RLOCK = 1            /* RLock: reentrant; released only by its owner */
};

/* Opens the Lock or RLock called name, creating it when absent (opening
 * an existing one of the other kind fails with TypeError). Free with
 * ps_lock_free (which does not release the lock: the daemon does when the
 * context closes). */
ps_lock *ps_lock_open(ps_ctx *ctx, const char *name, enum ps_lock_kind kind);
/* Creates an anonymous Lock or RLock. */
ps_lock *ps_lock_new(ps_ctx *ctx, enum ps_lock_kind kind);
void ps_lock_free(ps_lock *l);
uint64_t ps_lock_id(const ps_lock *l);
/* Acquires, waiting at most timeout seconds (< 0: forever) unless
 * blocking is 0 (then timeout is ignored). Returns 1 when acquired, 0
 * when not (the timeout passed, or the lock was busy and blocking is 0;
 * not an error, as in Python), -1 on error. info (may be NULL) gets the
 * details. The owner of an RLock re-enters at once. */
int ps_lock_acquire(ps_lock *l, int blocking, double timeout, struct ps_acquired *info);
/* Releases one level. A Lock may be released by any context (Python
 * allows it); releasing an unlocked Lock, or an RLock this context does
 * not own, is RuntimeError. */
int ps_lock_release(ps_lock *l);
/* *out 1 when the lock is held by someone, else 0. */
int ps_lock_locked(ps_lock *l, int *out);

/* Opens the Semaphore (bounded 0) or BoundedSemaphore (bounded 1) called
 * name, creating it with value free units when absent (value is ignored
 * when it exists; < 0 is ValueError). */
ps_semaphore *ps_semaphore_open(ps_ctx *ctx, const char *name, int64_t value, int bounded);
ps_semaphore *ps_semaphore_new(ps_ctx *ctx, int64_t value, int bounded);
void ps_semaphore_free(ps_semaphore *s);
uint64_t ps_semaphore_id(const ps_semaphore *s);
/* Takes one unit, as ps_lock_acquire. */
int ps_semaphore_acquire(ps_semaphore *s, int blocking, double timeout, struct ps_acquired *info);
/* Gives back one unit, or n (>= 1, else ValueError). Any context may
 * release (Python allows it); a BoundedSemaphore refuses to go above its
 * initial value (ValueError "Semaphore released too many times"). A
 * context that closes gives back the units it took and did not release;
 * a release by a context holding none counts against the context that has
 * held units longest. */
int ps_semaphore_release(ps_semaphore *s);
int ps_semaphore_release_n(ps_semaphore *s, int64_t n);

/* ---- Condition ------------------------------------------------------------ */

typedef struct ps_condition ps_condition;

/* Opens the Condition called name, creating it when absent. It waits on
 * lock (a Lock or RLock proxy of the same daemon; the condition keeps the
 * lock object alive), or on an RLock of its own when lock is NULL, as
 * Python's Condition() does. lock is ignored when the condition exists. */
ps_condition *ps_condition_open(ps_ctx *ctx, const char *name, ps_lock *lock);
ps_condition *ps_condition_new(ps_ctx *ctx, ps_lock *lock);
void ps_condition_free(ps_condition *c);
uint64_t ps_condition_id(const ps_condition *c);
/* The condition's lock, as ps_lock_acquire and ps_lock_release. */
int ps_condition_acquire(ps_condition *c, int blocking, double timeout, struct ps_acquired *info);
int ps_condition_release(ps_condition *c);
/* Releases the lock (every RLock level), waits for a notify or at most
 * timeout seconds (< 0: forever), then takes the lock back at the same
 * level, queuing behind whoever waits for it. Returns 1 when notified, 0
 * when the timeout passed (the lock is held again either way), -1 on
 * error: RuntimeError when this context does not hold the lock. */
int ps_condition_wait(ps_condition *c, double timeout);
/* Python's wait_for: waits until pred(arg) returns non-zero, calling
 * ps_condition_wait until then, for at most timeout seconds in all (< 0:
 * forever). Returns 1 when pred holds, 0 when the time ran out with pred
 * still false, -1 on error. Hold the lock around it, as for wait. */
int ps_condition_wait_for(ps_condition *c, int (*pred)(void *arg), void *arg, double timeout);
/* Wakes up to n waiters (n <= 0: none), or all. RuntimeError when this
 * context does not hold the lock. */
int ps_condition_notify(ps_condition *c, int64_t n);
int ps_condition_notify_all(ps_condition *c);

/* ---- Event ---------------------------------------------------------------- */

typedef struct ps_event ps_event;

ps_event *ps_event_open(ps_ctx *ctx, const char *name);
ps_event *ps_event_new(ps_ctx *ctx);
void ps_event_free(ps_event *e);
uint64_t ps_event_id(const ps_event *e);
/* Sets the flag and wakes every waiter. */
int ps_event_set(ps_event *e);
int ps_event_clear(ps_event *e);
/* *out 1 when set, else 0. */
int ps_event_is_set(ps_event *e, int *out);
/* Waits until the flag is set, at most timeout seconds (< 0: forever).
 * Returns 1 when set, 0 when the timeout passed first, -1 on error. */
int ps_event_wait(ps_event *e, double timeout);

/* ---- Barrier -------------------------------------------------------------- */

typedef struct ps_barrier ps_barrier;

/* Opens the Barrier called name for parties parties (>= 1, else
 * ValueError), creating it when absent; timeout (seconds, < 0: none) is
 * the default of ps_barrier_wait. Both are ignored when it exists. */
ps_barrier *ps_barrier_open(ps_ctx *ctx, const char *name, int64_t parties, double timeout);
ps_barrier *ps_barrier_new(ps_ctx *ctx, int64_t parties, double timeout);
void ps_barrier_free(ps_barrier *b);
uint64_t ps_barrier_id(const ps_barrier *b);
/* Waits until parties callers have called it, at most timeout seconds
 * (< 0: the barrier's default, forever without one). *index (may be
 * NULL) gets this caller's arrival index, 0 to parties - 1. Fails with
 * BrokenBarrierError (PS_ERR_REMOTE) when the barrier is or gets broken:
 * a wait timed out, it was aborted or reset, or a waiting party's
 * connection closed. */
int ps_barrier_wait(ps_barrier *b, double timeout, int64_t *index);
/* Breaks the barrier: waiters and later waits fail until a reset. */
int ps_barrier_abort(ps_barrier *b);
/* Breaks the current waiters out and makes the barrier usable again. */
int ps_barrier_reset(ps_barrier *b);
int ps_barrier_parties(ps_barrier *b, int64_t *out);
/* Parties waiting now. */
int ps_barrier_n_waiting(ps_barrier *b, int64_t *out);
/* *out 1 when broken, else 0. */
int ps_barrier_broken(ps_barrier *b, int *out);

#ifdef __cplusplus
}
#endif

#endif
