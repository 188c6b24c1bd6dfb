/*
 * The queue proxies: one "queue.*" or "joinablequeue.*" request per call,
 * the object's id first among the params (proto/PROTOCOL.md, "queue").
 *
 * A blocking put or get may legitimately wait in the daemon for as long as
 * its own timeout says (forever without one), so its request carries that
 * wait as hold_ms: the context's timeout then only bounds the time beyond
 * it (see ps_ctx_call_hold).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Longest timeout the daemon accepts, in seconds. */
#define QUEUE_TIMEOUT_MAX 1e9

struct ps_queue {
	struct ps_obj obj;
	const char *type;       /* "queue" or "joinablequeue" */
};

static ps_queue *queue_take(ps_ctx *ctx, const char *type, const char *name, int64_t maxsize)
{
	struct ps_buf args;
	msgpack_packer pk;
	ps_queue *q;
	int r;

	if (ctx == NULL)
		return NULL;
	q = malloc(sizeof *q);
	if (q == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	q->type = type;
	ps_buf_init(&args);
	ps_mp_packer(&pk, &args);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int64(&pk, maxsize);
	if (args.oom)
		r = ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	else if (name != NULL)
		r = ps_obj_open_args(&q->obj, ctx, type, name, args.data, args.len);
	else
		r = ps_obj_create_args(&q->obj, ctx, type, args.data, args.len);
	ps_buf_free(&args);
	if (r < 0) {
		free(q);
		return NULL;
	}
	return q;
}

static ps_queue *queue_open(ps_ctx *ctx, const char *type, const char *name, int64_t maxsize)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return queue_take(ctx, type, name, maxsize);
}

ps_queue *ps_queue_open(ps_ctx *ctx, const char *name, int64_t maxsize)
{
	return queue_open(ctx, "queue", name, maxsize);
}

ps_queue *ps_queue_new(ps_ctx *ctx, int64_t maxsize)
{
	return queue_take(ctx, "queue", NULL, maxsize);
}

ps_queue *ps_joinablequeue_open(ps_ctx *ctx, const char *name, int64_t maxsize)
{
	return queue_open(ctx, "joinablequeue", name, maxsize);
}

ps_queue *ps_joinablequeue_new(ps_ctx *ctx, int64_t maxsize)
{
	return queue_take(ctx, "joinablequeue", NULL, maxsize);
}

void ps_queue_free(ps_queue *q)
{
	if (q == NULL)
		return;
	ps_obj_release(&q->obj);
	free(q);
}

uint64_t ps_queue_id(const ps_queue *q)
{
	return q != NULL ? q->obj.id : 0;
}

/* ---- requests ---- */

/* Sends q's method name ("put" -> "queue.put"), joined by hand: every
 * put and get comes through here, and snprintf costs a quarter of a
 * call's instructions in the library. */
static int queue_call(struct ps_req *r, const ps_queue *q, const char *name, struct ps_reply *out)
{
	char method[32];
	size_t t = strlen(q->type), n = strlen(name);

	if (t + 1 + n + 1 > sizeof method)
		return ps_req_call(r, name, out); /* unreachable: type and names are short */
	memcpy(method, q->type, t);
	method[t] = '.';
	memcpy(method + t + 1, name, n + 1);
	return ps_req_call(r, method, out);
}

/* The time the daemon may hold a call: the timeout in whole milliseconds,
 * rounded up as the daemon does; -1 for none. */
static int64_t hold_ms(double timeout)
{
	int64_t ms;

	/* A NaN or out-of-range timeout is refused by the daemon at once. */
	if (timeout < 0 || !(timeout <= QUEUE_TIMEOUT_MAX))
		return -1;
	ms = (int64_t)(timeout * 1000.0);
	return (double)ms < timeout * 1000.0 ? ms + 1 : ms;
}

/* The timeout param: seconds, or nil (forever) for a negative one. */
static void req_timeout(struct ps_req *r, double timeout)
{
	if (timeout < 0)
		ps_req_value(r, "timeout", "\xc0", 1);
	else
		ps_req_double(r, timeout);
}

/* block and timeout, and the wait they allow. */
static void req_wait(struct ps_req *r, int block, double timeout)
{
	ps_req_bool(r, block != 0);
	req_timeout(r, timeout);
	r->hold_ms = block ? hold_ms(timeout) : 0;
}

static int begin(struct ps_req *r, ps_queue *q)
{
	return ps_req_begin(r, q != NULL ? &q->obj : NULL);
}

/* ---- put ---- */

/* Ends a put whose item is in r. */
static int put_end(struct ps_req *r, ps_queue *q, int block, double timeout)
{
	req_wait(r, block, timeout);
	return queue_call(r, q, "put", NULL);
}

int ps_queue_put(ps_queue *q, const void *item, size_t len, int block, double timeout)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	ps_req_value(&r, "item", item, len);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_nowait(ps_queue *q, const void *item, size_t len)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	ps_req_value(&r, "item", item, len);
	return queue_call(&r, q, "put_nowait", NULL);
}

int ps_queue_put_nil(ps_queue *q, int block, double timeout)
{
	return ps_queue_put(q, "\xc0", 1, block, timeout);
}

int ps_queue_put_str(ps_queue *q, const char *val, int block, double timeout)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	ps_req_str(&r, "item", val);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_int(ps_queue *q, int64_t val, int block, double timeout)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	ps_req_int(&r, val);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_double(ps_queue *q, double val, int block, double timeout)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	ps_req_double(&r, val);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_bytes(ps_queue *q, const void *val, size_t len, int block, double timeout)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	ps_req_bin(&r, "item", val, len);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_ref(ps_queue *q, uint64_t id, int block, double timeout)
{
	uint8_t ref[PS_REF_LEN];

	return ps_queue_put(q, ref, ps_ref_pack(id, ref), block, timeout);
}

/* ---- get ---- */

/* The next item as a reply for the typed getters to decode. */
static int get_reply(ps_queue *q, int block, double timeout, const void *out, struct ps_reply *rep)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	req_wait(&r, block, timeout);
	return queue_call(&r, q, "get", rep);
}

int ps_queue_get(ps_queue *q, int block, double timeout, void **item, size_t *len)
{
	struct ps_reply rep;

	if (get_reply(q, block, timeout, len != NULL ? item : NULL, &rep) < 0)
		return -1;
	return ps_reply_take(&rep, item, len);
}

int ps_queue_get_nowait(ps_queue *q, void **item, size_t *len)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	ps_req_need(&r, item != NULL && len != NULL, "output pointer");
	if (queue_call(&r, q, "get_nowait", &rep) < 0)
		return -1;
	return ps_reply_take(&rep, item, len);
}

int ps_queue_get_str(ps_queue *q, int block, double timeout, char **val)
{
	struct ps_reply rep;

	if (get_reply(q, block, timeout, val, &rep) < 0)
		return -1;
	/* nil is the usual "no more work" sentinel: no error for it. */
	if (rep.len == 1 && rep.data[0] == 0xc0) {
		ps_reply_free(&rep);
		*val = NULL;
		return 0;
	}
	return ps_value_str(q->obj.ctx, &rep, val);
}

int ps_queue_get_int(ps_queue *q, int block, double timeout, int64_t *val)
{
	struct ps_reply rep;

	if (get_reply(q, block, timeout, val, &rep) < 0)
		return -1;
	return ps_value_int(q->obj.ctx, &rep, val);
}

int ps_queue_get_double(ps_queue *q, int block, double timeout, double *val)
{
	struct ps_reply rep;

	if (get_reply(q, block, timeout, val, &rep) < 0)
		return -1;
	return ps_value_double(q->obj.ctx, &rep, val);
}

int ps_queue_get_bytes(ps_queue *q, int block, double timeout, void **val, size_t *len)
{
	struct ps_reply rep;

	if (get_reply(q, block, timeout, len != NULL ? val : NULL, &rep) < 0)
		return -1;
	return ps_value_bytes(q->obj.ctx, &rep, val, len);
}

/* ---- state ---- */

static int call_plain(ps_queue *q, const char *name, struct ps_reply *rep)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	return queue_call(&r, q, name, rep);
}

int ps_queue_qsize(ps_queue *q, size_t *out)
{
	struct ps_reply rep;

	if (q != NULL && out == NULL)
		return ps_fail(q->obj.ctx, PS_ERR_ARG, "", "invalid argument: output pointer is NULL");
	if (call_plain(q, "qsize", &rep) < 0)
		return -1;
	return ps_reply_size(q->obj.ctx, &rep, out);
}

static int call_bool(ps_queue *q, const char *name, int *out)
{
	struct ps_reply rep;

	if (q != NULL && out == NULL)
		return ps_fail(q->obj.ctx, PS_ERR_ARG, "", "invalid argument: output pointer is NULL");
	if (call_plain(q, name, &rep) < 0)
		return -1;
	return ps_reply_bool(q->obj.ctx, &rep, out);
}

int ps_queue_empty(ps_queue *q, int *out)
{
	return call_bool(q, "empty", out);
}

int ps_queue_full(ps_queue *q, int *out)
{
	return call_bool(q, "full", out);
}

/* ---- JoinableQueue ---- */

int ps_queue_task_done(ps_queue *q)
{
	return call_plain(q, "task_done", NULL);
}

int ps_queue_join(ps_queue *q, double timeout)
{
	struct ps_req r;

	if (begin(&r, q) < 0)
		return -1;
	req_timeout(&r, timeout);
	r.hold_ms = hold_ms(timeout);
	return queue_call(&r, q, "join", NULL);
}
