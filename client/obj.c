/*
 * What every proxy does, whatever its type: get a handle on its object
 * (open by name, create anonymous, or attach to one a reference names),
 * record it in the context's table of held objects (so a fork() child can
 * take the handle again), and release it. A proxy is its object's id plus
 * the context it travels on: a struct whose first member is a struct
 * ps_obj, made and freed here for every type.
 */
#include <stdlib.h>
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

/* Opens the object of type called name, creating it with args[0..alen)
 * (one encoded array, ignored when the object exists) when absent; with
 * name NULL, creates an anonymous one. */
static int obj_open(struct ps_obj *o, ps_ctx *ctx, const char *type, const char *name, const void *args,
		    size_t alen)
{
	struct ps_req r;

	o->type = type;
	ps_req_init(&r, ctx);
	ps_req_str(&r, "type", type);
	if (name != NULL) {
		ps_req_str(&r, "name", name);
		ps_req_bool(&r, true);
	}
	ps_req_value(&r, "args", args, alen);
	return obj_take(o, &r, name != NULL ? "open" : "create");
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

/* Takes a handle on the existing object id ("retain") and checks that it
 * is of the given type; on failure no handle is kept. */
static int obj_attach(struct ps_obj *o, ps_ctx *ctx, const char *type, uint64_t id)
{
	struct ps_req r;

	ps_req_init(&r, ctx);
	ps_req_uint(&r, id);
	if (ps_req_call(&r, "retain", NULL) < 0)
		return -1;
	o->ctx = ctx;
	o->id = id;
	o->type = type;
	/* The handle comes first, so the object cannot vanish between the
	 * check and the proxy's first use. */
	if (obj_check_type(o, type) < 0 || ps_held_add(ctx, id) < 0) {
		release_handle(o);
		return -1;
	}
	return 0;
}

/* ---- proxies ---- */

void ps_args_init(struct ps_req *a, ps_ctx *ctx, uint32_t n)
{
	ps_req_init(a, ctx);
	msgpack_pack_array(&a->pk, n);
}

void ps_args_value(struct ps_req *a, ps_ctx *ctx, const char *what, const void *value, size_t len)
{
	ps_args_init(a, ctx, value != NULL ? 1 : 0);
	if (value != NULL)
		ps_req_value(a, what, value, len);
}

/* Refuses what a constructor cannot send: a missing or overlong name, a
 * refused creation argument. */
static int proxy_check(ps_ctx *ctx, bool open, const char *name, const struct ps_req *args)
{
	if (open && name == NULL)
		return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
	if (args != NULL && args->bad_what != NULL)
		return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: %s %s", args->bad_what, args->bad_why);
	if (args != NULL && args->buf.oom)
		return ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	if (name != NULL && strlen(name) > PS_MAX_NAME)
		return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is longer than %d bytes", PS_MAX_NAME);
	return 0;
}

/* ps_proxy_open (open) and ps_proxy_new. */
static void *proxy_take(ps_ctx *ctx, size_t size, const char *type, bool open, const char *name,
			struct ps_req *args)
{
	const void *a = "\x90";        /* [] for a type without creation args */
	size_t alen = 1;
	struct ps_obj *o = NULL;

	if (ctx == NULL || proxy_check(ctx, open, name, args) < 0)
		goto done;
	if (args != NULL) {
		a = args->buf.data;
		alen = args->buf.len;
	}
	o = malloc(size);
	if (o == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		goto done;
	}
	if (obj_open(o, ctx, type, name, a, alen) < 0) {
		free(o);
		o = NULL;
	}
done:
	if (args != NULL)
		ps_buf_free(&args->buf);
	return o;
}

void *ps_proxy_open(ps_ctx *ctx, size_t size, const char *type, const char *name, struct ps_req *args)
{
	return proxy_take(ctx, size, type, true, name, args);
}

void *ps_proxy_new(ps_ctx *ctx, size_t size, const char *type, struct ps_req *args)
{
	return proxy_take(ctx, size, type, false, NULL, args);
}

void *ps_proxy_attach(ps_ctx *ctx, size_t size, const char *type, uint64_t id)
{
	struct ps_obj *o;

	if (ctx == NULL)
		return NULL;
	o = malloc(size);
	if (o == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (obj_attach(o, ctx, type, id) < 0) {
		free(o);
		return NULL;
	}
	return o;
}

void ps_proxy_free(void *proxy)
{
	struct ps_obj *o = proxy;

	if (o == NULL)
		return;
	release_handle(o);
	ps_held_remove(o->ctx, o->id);
	free(o);
}

int ps_proxy_call(const void *proxy, const char *method)
{
	struct ps_req r;

	if (ps_req_begin(&r, proxy) < 0)
		return -1;
	return ps_req_call(&r, method, NULL);
}

int ps_req_begin(struct ps_req *r, const void *proxy)
{
	const struct ps_obj *o = proxy;

	if (o == NULL)
		return -1;
	ps_req_init(r, o->ctx);
	ps_req_uint(r, o->id);
	return 0;
}

int ps_req_begin_index(struct ps_req *r, const void *proxy, int64_t index)
{
	if (ps_req_begin(r, proxy) < 0)
		return -1;
	ps_req_int(r, index);
	return 0;
}

/* Joined by hand: every queue put and get comes through here, and
 * snprintf costs a quarter of a call's instructions in the library. */
const char *ps_obj_method(const struct ps_obj *o, const char *name, char *buf)
{
	size_t t = strlen(o->type), n = strlen(name);

	if (t + 1 + n + 1 > PS_METHOD_MAX)
		return name;    /* unreachable: types and method names are short */
	memcpy(buf, o->type, t);
	buf[t] = '.';
	memcpy(buf + t + 1, name, n + 1);
	return buf;
}
