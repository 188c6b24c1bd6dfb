/*
 * The Barrier proxy (proto/PROTOCOL.md, "barrier").
 */
#include "internal.h"

struct ps_barrier {
	struct ps_obj obj;
};

/* Starts the creation args [parties, timeout]. */
static void barrier_args(struct ps_req *a, ps_ctx *ctx, int64_t parties, double timeout)
{
	ps_args_init(a, ctx, 2);
	ps_req_int(a, parties);
	if (timeout < 0)
		ps_req_value(a, "timeout", "\xc0", 1);
	else
		ps_req_double(a, timeout);
}

ps_barrier *ps_barrier_open(ps_ctx *ctx, const char *name, int64_t parties, double timeout)
{
	struct ps_req a;

	barrier_args(&a, ctx, parties, timeout);
	return ps_proxy_open(ctx, sizeof(ps_barrier), "barrier", name, &a);
}

ps_barrier *ps_barrier_new(ps_ctx *ctx, int64_t parties, double timeout)
{
	struct ps_req a;

	barrier_args(&a, ctx, parties, timeout);
	return ps_proxy_new(ctx, sizeof(ps_barrier), "barrier", &a);
}

void ps_barrier_free(ps_barrier *b)
{
	ps_proxy_free(b);
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

	if (ps_req_begin(&r, b) < 0)
		return -1;
	ps_req_timeout(&r, timeout);
	if (ps_req_call(&r, "barrier.wait", &rep) < 0 || ps_reply_int(r.ctx, &rep, &i) < 0)
		return -1;
	if (index != NULL)
		*index = i;
	return 0;
}

int ps_barrier_abort(ps_barrier *b)
{
	return ps_proxy_call(b, "barrier.abort");
}

int ps_barrier_reset(ps_barrier *b)
{
	return ps_proxy_call(b, "barrier.reset");
}

int ps_barrier_parties(ps_barrier *b, int64_t *out)
{
	struct ps_req r;

	return ps_req_begin(&r, b) < 0 ? -1 : ps_req_call_int(&r, "barrier.parties", out);
}

int ps_barrier_n_waiting(ps_barrier *b, int64_t *out)
{
	struct ps_req r;

	return ps_req_begin(&r, b) < 0 ? -1 : ps_req_call_int(&r, "barrier.n_waiting", out);
}

int ps_barrier_broken(ps_barrier *b, int *out)
{
	struct ps_req r;

	return ps_req_begin(&r, b) < 0 ? -1 : ps_req_call_bool(&r, "barrier.broken", out);
}
