/*
 * What every proxy does, whatever its type: get a handle on its object
 * (open by name, or create anonymous), record it in the context's table of
 * held objects (so a fork() child can take the handle again), and release
 * it. A proxy is its object's id plus the context it travels on.
 */
#include <string.h>

#include "internal.h"

/* Sends "release" for o's handle. Reports nothing, and so must not
 * overwrite the error the caller may be about to read. */
static void release_handle(struct ps_obj *o)
{
	struct ps_err_state saved;
	struct ps_req r;
	bool broken;

	ps_ctx_lock(o->ctx);
	saved = o->ctx->err;
	broken = o->ctx->sticky.kind != PS_ERR_NONE;
	ps_ctx_unlock(o->ctx);
	if (broken)
		return;
	ps_req_init(&r, o->ctx);
	ps_req_uint(&r, o->id);
	ps_req_call(&r, "release", NULL);
	ps_ctx_lock(o->ctx);
	if (o->ctx->sticky.kind == PS_ERR_NONE)
		o->ctx->err = saved;
	ps_ctx_unlock(o->ctx);
}

/* Sends an open or create request prepared in r, and records the handle
 * the answer names. */
static int obj_take(struct ps_obj *o, struct ps_req *r, const char *method)
{
	struct ps_reply rep;
	uint64_t id;

	if (ps_req_call(r, method, &rep) < 0 || ps_reply_id(r->ctx, &rep, &id) < 0)
		return -1;
	o->ctx = r->ctx;
	o->id = id;
	if (ps_held_add(o->ctx, id) < 0) {
		/* Unrecorded, the handle would not follow a fork: give it back. */
		release_handle(o);
		return -1;
	}
	return 0;
}

int ps_obj_open(struct ps_obj *o, ps_ctx *ctx, const char *type, const char *name)
{
	struct ps_req r;

	if (name != NULL && strlen(name) > PS_MAX_NAME)
		return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is longer than %d bytes", PS_MAX_NAME);
	ps_req_init(&r, ctx);
	ps_req_str(&r, "type", type);
	ps_req_str(&r, "name", name);
	ps_req_bool(&r, true);
	msgpack_pack_array(&r.pk, 0);
	r.n++;
	return obj_take(o, &r, "open");
}

int ps_obj_create(struct ps_obj *o, ps_ctx *ctx, const char *type)
{
	struct ps_req r;

	ps_req_init(&r, ctx);
	ps_req_str(&r, "type", type);
	msgpack_pack_array(&r.pk, 0);
	r.n++;
	return obj_take(o, &r, "create");
}

int ps_obj_open_args(struct ps_obj *o, ps_ctx *ctx, const char *type, const char *name,
		     const void *args, size_t alen)
{
	struct ps_req r;

	if (name != NULL && strlen(name) > PS_MAX_NAME)
		return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is longer than %d bytes", PS_MAX_NAME);
	ps_req_init(&r, ctx);
	ps_req_str(&r, "type", type);
	ps_req_str(&r, "name", name);
	ps_req_bool(&r, true);
	ps_req_value(&r, "args", args, alen);
	return obj_take(o, &r, "open");
}

int ps_obj_create_args(struct ps_obj *o, ps_ctx *ctx, const char *type, const void *args, size_t alen)
{
	struct ps_req r;

	ps_req_init(&r, ctx);
	ps_req_str(&r, "type", type);
	ps_req_value(&r, "args", args, alen);
	return obj_take(o, &r, "create");
}

/* The object's type name, checked against want. */
static int obj_check_type(struct ps_obj *o, const char *want)
{
	struct ps_reply rep;
	struct ps_mp_tok t;
	struct ps_req r;
	int ok;

	ps_req_init(&r, o->ctx);
	ps_req_uint(&r, o->id);
	if (ps_req_call(&r, "typeof", &rep) < 0)
		return -1;
	ok = ps_mp_token(rep.data, rep.len, &t) == 1 && t.type == PS_MP_STR && t.v.n == strlen(want) &&
	     memcmp(t.data, want, t.v.n) == 0;
	ps_reply_free(&rep);
	if (!ok)
		return ps_fail(o->ctx, PS_ERR_ARG, "TypeError", "TypeError: object %llu is not a %s",
			       (unsigned long long)o->id, want);
	return 0;
}

int ps_obj_attach(struct ps_obj *o, ps_ctx *ctx, const char *type, uint64_t id)
{
	struct ps_req r;

	ps_req_init(&r, ctx);
	ps_req_uint(&r, id);
	if (ps_req_call(&r, "retain", NULL) < 0)
		return -1;
	o->ctx = ctx;
	o->id = id;
	/* The handle comes first, so the object cannot vanish between the
	 * check and the proxy's first use. */
	if (obj_check_type(o, type) < 0 || ps_held_add(ctx, id) < 0) {
		release_handle(o);
		return -1;
	}
	return 0;
}

void ps_obj_release(struct ps_obj *o)
{
	release_handle(o);
	ps_held_remove(o->ctx, o->id);
}

int ps_req_begin(struct ps_req *r, const struct ps_obj *o)
{
	if (o == NULL)
		return -1;
	ps_req_init(r, o->ctx);
	ps_req_uint(r, o->id);
	return 0;
}
