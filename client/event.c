/*
 * The Event proxy (proto/PROTOCOL.md, "event").
 */
#include "internal.h"

struct ps_event {
	struct ps_obj obj;
};

ps_event *ps_event_open(ps_ctx *ctx, const char *name)
{
	return ps_proxy_open(ctx, sizeof(ps_event), "event", name, NULL);
}

ps_event *ps_event_new(ps_ctx *ctx)
{
	return ps_proxy_new(ctx, sizeof(ps_event), "event", NULL);
}

void ps_event_free(ps_event *e)
{
	ps_proxy_free(e);
}

uint64_t ps_event_id(const ps_event *e)
{
	return e != NULL ? e->obj.id : 0;
}

int ps_event_set(ps_event *e)
{
	return ps_proxy_call(e, "event.set");
}

int ps_event_clear(ps_event *e)
{
	return ps_proxy_call(e, "event.clear");
}

int ps_event_is_set(ps_event *e, int *out)
{
	struct ps_req r;

	return ps_req_begin(&r, e) < 0 ? -1 : ps_req_call_bool(&r, "event.is_set", out);
}

int ps_event_wait(ps_event *e, double timeout)
{
	struct ps_reply rep;
	struct ps_req r;
	int set;

	if (ps_req_begin(&r, e) < 0)
		return -1;
	ps_req_timeout(&r, timeout);
	if (ps_req_call(&r, "event.wait", &rep) < 0 || ps_reply_bool(r.ctx, &rep, &set) < 0)
		return -1;
	return set;
}
