/*
 * The Barrier proxy (proto/PROTOCOL.md, "barrier").
 */
#include <stdlib.h>

#include "internal.h"

struct ps_barrier {
	struct ps_obj obj;
};

static ps_barrier *barrier_take(ps_ctx *ctx, const char *name, int64_t parties, double timeout)
{
	struct ps_buf b;
	msgpack_packer pk;
	ps_barrier *br;
	int r;

	if (ctx == NULL)
		return NULL;
	br = malloc(sizeof *br);
	if (br == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int64(&pk, parties);
	if (timeout < 0)
		msgpack_pack_nil(&pk);
	else
		msgpack_pack_double(&pk, timeout);
	if (b.oom)
		r = ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	else if (name != NULL)
		r = ps_obj_open_args(&br->obj, ctx, "barrier", name, b.data, b.len);
	else
		r = ps_obj_create_args(&br->obj, ctx, "barrier", b.data, b.len);
	ps_buf_free(&b);
	if (r < 0) {
		free(br);
		return NULL;
	}
	return br;
}

ps_barrier *ps_barrier_open(ps_ctx *ctx, const char *name, int64_t parties, double timeout)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return barrier_take(ctx, name, parties, timeout);
}

ps_barrier *ps_barrier_new(ps_ctx *ctx, int64_t parties, double timeout)
{
	return barrier_take(ctx, NULL, parties, timeout);
}

void ps_barrier_free(ps_barrier *b)
{
	if (b == NULL)
		return;
	ps_obj_release(&b->obj);
	free(b);
}

uint64_t ps_barrier_id(const ps_barrier *b)
{
	return b != NULL ? b->obj.id : 0;
}

int ps_barrier_wait(ps_barrier *b, double timeout, int64_t *index)
{
	struct ps_reply rep;
	struct ps_req r;
	int64_t i;

	if (b == NULL || ps_req_begin(&r, &b->obj) < 0)
		return -1;
	ps_lock_req_timeout(&r, timeout);
	if (ps_req_call(&r, "barrier.wait", &rep) < 0 || ps_reply_int(r.ctx, &rep, &i) < 0)
		return -1;
	if (index != NULL)
		*index = i;
	return 0;
}

static int barrier_plain(ps_barrier *b, const char *method)
{
	struct ps_req r;

	if (b == NULL || ps_req_begin(&r, &b->obj) < 0)
		return -1;
	return ps_req_call(&r, method, NULL);
}

int ps_barrier_abort(ps_barrier *b)
{
	return barrier_plain(b, "barrier.abort");
}

int ps_barrier_reset(ps_barrier *b)
{
	return barrier_plain(b, "barrier.reset");
}

/* Methods answering a count. */
static int barrier_count(ps_barrier *b, const char *method, int64_t *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (b == NULL || ps_req_begin(&r, &b->obj) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, method, &rep) < 0)
		return -1;
	return ps_reply_int(r.ctx, &rep, out);
}

int ps_barrier_parties(ps_barrier *b, int64_t *out)
{
	return barrier_count(b, "barrier.parties", out);
}

int ps_barrier_n_waiting(ps_barrier *b, int64_t *out)
{
	return barrier_count(b, "barrier.n_waiting", out);
}

int ps_barrier_broken(ps_barrier *b, int *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (b == NULL || ps_req_begin(&r, &b->obj) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "barrier.broken", &rep) < 0)
		return -1;
	return ps_reply_bool(r.ctx, &rep, out);
}
