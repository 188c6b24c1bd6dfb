/*
 * The queue proxies: one "queue.*" or "joinablequeue.*" request per call,
 * the object's id first among the params (proto/PROTOCOL.md, "queue").
 *
 * A blocking put or get may legitimately wait in the daemon for as long as
 * its own timeout says (forever without one), so its request carries that
 * wait as hold_ms: the context's timeout then only bounds the time beyond
 * it (see ps_ctx_call_hold).
 */
#include "internal.h"

struct ps_queue {
	struct ps_obj obj;      /* type "queue" or "joinablequeue" */
};

/* Opens (open) or creates a queue of type. */
static ps_queue *queue_take(ps_ctx *ctx, const char *type, bool open, const char *name, int64_t maxsize)
{
	struct ps_req a;

	ps_args_init(&a, ctx, 1);
	ps_req_int(&a, maxsize);
	if (open)
		return ps_proxy_open(ctx, sizeof(ps_queue), type, name, &a);
	return ps_proxy_new(ctx, sizeof(ps_queue), type, &a);
}

ps_queue *ps_queue_open(ps_ctx *ctx, const char *name, int64_t maxsize)
{
	return queue_take(ctx, "queue", true, name, maxsize);
}

ps_queue *ps_queue_new(ps_ctx *ctx, int64_t maxsize)
{
	return queue_take(ctx, "queue", false, NULL, maxsize);
}

ps_queue *ps_joinablequeue_open(ps_ctx *ctx, const char *name, int64_t maxsize)
{
	return queue_take(ctx, "joinablequeue", true, name, maxsize);
}

ps_queue *ps_joinablequeue_new(ps_ctx *ctx, int64_t maxsize)
{
	return queue_take(ctx, "joinablequeue", false, NULL, maxsize);
}

void ps_queue_free(ps_queue *q)
{
	ps_proxy_free(q);
}

uint64_t ps_queue_id(const ps_queue *q)
{
	return q != NULL ? q->obj.id : 0;
}

/* ---- requests ---- */

/* Sends r as q's method name ("put" -> "queue.put"). */
static int queue_call(struct ps_req *r, const ps_queue *q, const char *name, struct ps_reply *out)
{
	char m[PS_METHOD_MAX];

	return ps_req_call(r, ps_obj_method(&q->obj, name, m), out);
}

/* block and timeout, and the wait they allow. */
static void req_wait(struct ps_req *r, int block, double timeout)
{
	ps_req_bool(r, block != 0);
	ps_req_timeout(r, timeout);
	if (!block)
		r->hold_ms = 0;
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

	if (ps_req_begin(&r, q) < 0)
		return -1;
	ps_req_value(&r, "item", item, len);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_nowait(ps_queue *q, const void *item, size_t len)
{
	struct ps_req r;

	if (ps_req_begin(&r, q) < 0)
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

	if (ps_req_begin(&r, q) < 0)
		return -1;
	ps_req_str(&r, "item", val);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_int(ps_queue *q, int64_t val, int block, double timeout)
{
	struct ps_req r;

	if (ps_req_begin(&r, q) < 0)
		return -1;
	ps_req_int(&r, val);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_double(ps_queue *q, double val, int block, double timeout)
{
	struct ps_req r;

	if (ps_req_begin(&r, q) < 0)
		return -1;
	ps_req_double(&r, val);
	return put_end(&r, q, block, timeout);
}

int ps_queue_put_bytes(ps_queue *q, const void *val, size_t len, int block, double timeout)
{
	struct ps_req r;

	if (ps_req_begin(&r, q) < 0)
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

	if (ps_req_begin(&r, q) < 0)
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

	if (ps_req_begin(&r, q) < 0)
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

int ps_queue_qsize(ps_queue *q, size_t *out)
{
	struct ps_req r;
	char m[PS_METHOD_MAX];

	if (ps_req_begin(&r, q) < 0)
		return -1;
	return ps_req_call_size(&r, ps_obj_method(&q->obj, "qsize", m), out);
}

static int call_bool(ps_queue *q, const char *name, int *out)
{
	struct ps_req r;
	char m[PS_METHOD_MAX];

	if (ps_req_begin(&r, q) < 0)
		return -1;
	return ps_req_call_bool(&r, ps_obj_method(&q->obj, name, m), out);
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
	struct ps_req r;

	if (ps_req_begin(&r, q) < 0)
		return -1;
	return queue_call(&r, q, "task_done", NULL);
}

int ps_queue_join(ps_queue *q, double timeout)
{
	struct ps_req r;

	if (ps_req_begin(&r, q) < 0)
		return -1;
	ps_req_timeout(&r, timeout);
	return queue_call(&r, q, "join", NULL);
}
