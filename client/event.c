/*
 * The Event proxy (proto/PROTOCOL.md, "event").
 */
#include <stdlib.h>

#include "internal.h"

struct ps_event {
	struct ps_obj obj;
};

static ps_event *event_take(ps_ctx *ctx, const char *name)
{
	ps_event *e;
	int r;

	if (ctx == NULL)
		return NULL;
	e = malloc(sizeof *e);
	if (e == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	r = name != NULL ? ps_obj_open(&e->obj, ctx, "event", name) : ps_obj_create(&e->obj, ctx, "event");
	if (r < 0) {
		free(e);
		return NULL;
	}
	return e;
}

ps_event *ps_event_open(ps_ctx *ctx, const char *name)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return event_take(ctx, name);
}

ps_event *ps_event_new(ps_ctx *ctx)
{
	return event_take(ctx, NULL);
}

void ps_event_free(ps_event *e)
{
	if (e == NULL)
		return;
	ps_obj_release(&e->obj);
	free(e);
}

uint64_t ps_event_id(const ps_event *e)
{
	return e != NULL ? e->obj.id : 0;
}

static int event_plain(ps_event *e, const char *method)
{
	struct ps_req r;

	if (e == NULL || ps_req_begin(&r, &e->obj) < 0)
		return -1;
	return ps_req_call(&r, method, NULL);
}

int ps_event_set(ps_event *e)
{
	return event_plain(e, "event.set");
}

int ps_event_clear(ps_event *e)
{
	return event_plain(e, "event.clear");
}

int ps_event_is_set(ps_event *e, int *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (e == NULL || ps_req_begin(&r, &e->obj) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "event.is_set", &rep) < 0)
		return -1;
	return ps_reply_bool(r.ctx, &rep, out);
}

int ps_event_wait(ps_event *e, double timeout)
{
	struct ps_reply rep;
	struct ps_req r;
	int set;

	if (e == NULL || ps_req_begin(&r, &e->obj) < 0)
		return -1;
	ps_lock_req_timeout(&r, timeout);
	if (ps_req_call(&r, "event.wait", &rep) < 0 || ps_reply_bool(r.ctx, &rep, &set) < 0)
		return -1;
	return set;
}
