/*
 * The Namespace proxy: one "namespace.*" request per call
 * (proto/PROTOCOL.md, "namespace"). Attribute names are NUL-terminated
 * UTF-8 strings; values are encoded MessagePack or, through the typed
 * helpers, C scalars and strings.
 */
#include <stdlib.h>

#include "internal.h"

struct ps_namespace {
	struct ps_obj obj;
};

/* The creation args [] or [attrs], built in a->buf. Returns 0, or -1
 * with the error on ctx (a->buf freed). */
static int ns_args(ps_ctx *ctx, const void *attrs, size_t alen, struct ps_req *a)
{
	ps_req_init(a, ctx);
	msgpack_pack_array(&a->pk, attrs != NULL ? 1 : 0);
	if (attrs != NULL)
		ps_req_value(a, "attributes", attrs, alen);
	if (a->bad_what != NULL || a->buf.oom) {
		ps_buf_free(&a->buf);
		if (a->bad_what != NULL)
			return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: %s %s", a->bad_what, a->bad_why);
		return ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	}
	return 0;
}

/* Opens (name) or creates (name NULL) a Namespace; attrs (may be NULL)
 * is an encoded map of initial attributes. */
static ps_namespace *ns_take(ps_ctx *ctx, const char *name, const void *attrs, size_t alen)
{
	struct ps_req a;
	ps_namespace *ns;
	int r;

	if (ctx == NULL || ns_args(ctx, attrs, alen, &a) < 0)
		return NULL;
	ns = malloc(sizeof *ns);
	if (ns == NULL) {
		ps_buf_free(&a.buf);
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (name != NULL)
		r = ps_obj_open_args(&ns->obj, ctx, "namespace", name, a.buf.data, a.buf.len);
	else
		r = ps_obj_create_args(&ns->obj, ctx, "namespace", a.buf.data, a.buf.len);
	ps_buf_free(&a.buf);
	if (r < 0) {
		free(ns);
		return NULL;
	}
	return ns;
}

ps_namespace *ps_namespace_open(ps_ctx *ctx, const char *name, const void *attrs, size_t alen)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return ns_take(ctx, name, attrs, alen);
}

ps_namespace *ps_namespace_new(ps_ctx *ctx, const void *attrs, size_t alen)
{
	return ns_take(ctx, NULL, attrs, alen);
}

/* A proxy for the existing object id (from a reference), with a handle
 * of its own. */
ps_namespace *ps_namespace_attach(ps_ctx *ctx, uint64_t id)
{
	ps_namespace *ns;

	if (ctx == NULL)
		return NULL;
	ns = malloc(sizeof *ns);
	if (ns == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (ps_obj_attach(&ns->obj, ctx, "namespace", id) < 0) {
		free(ns);
		return NULL;
	}
	return ns;
}

void ps_namespace_free(ps_namespace *ns)
{
	if (ns == NULL)
		return;
	ps_obj_release(&ns->obj);
	free(ns);
}

uint64_t ps_namespace_id(const ps_namespace *ns)
{
	return ns != NULL ? ns->obj.id : 0;
}

/* Starts a request on ns naming the attribute. */
static int begin(struct ps_req *r, ps_namespace *ns, const char *name)
{
	if (ps_req_begin(r, ns != NULL ? &ns->obj : NULL) < 0)
		return -1;
	ps_req_str(r, "name", name);
	return 0;
}

static int call_bytes(struct ps_req *r, const char *method, void **out, size_t *len)
{
	struct ps_reply rep;

	ps_req_need(r, out != NULL && len != NULL, "output pointer");
	if (ps_req_call(r, method, &rep) < 0)
		return -1;
	return ps_reply_take(&rep, out, len);
}

/* ---- generic path ----------------------------------------------------- */

int ps_namespace_getattr(ps_namespace *ns, const char *name, void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	return call_bytes(&r, "namespace.getattr", val, vlen);
}

int ps_namespace_getattr_default(ps_namespace *ns, const char *name, const void *def, size_t dlen,
				 void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	ps_req_value(&r, "default", def, dlen);
	return call_bytes(&r, "namespace.getattr", val, vlen);
}

int ps_namespace_setattr(ps_namespace *ns, const char *name, const void *val, size_t vlen)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_delattr(ps_namespace *ns, const char *name)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	return ps_req_call(&r, "namespace.delattr", NULL);
}

int ps_namespace_has(ps_namespace *ns, const char *name, int *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "namespace.has", &rep) < 0)
		return -1;
	return ps_reply_bool(r.ctx, &rep, out);
}

int ps_namespace_len(ps_namespace *ns, size_t *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (ps_req_begin(&r, ns != NULL ? &ns->obj : NULL) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "namespace.len", &rep) < 0)
		return -1;
	return ps_reply_size(r.ctx, &rep, out);
}

int ps_namespace_vars(ps_namespace *ns, void **map, size_t *len)
{
	struct ps_req r;

	if (ps_req_begin(&r, ns != NULL ? &ns->obj : NULL) < 0)
		return -1;
	return call_bytes(&r, "namespace.vars", map, len);
}

int ps_namespace_dir(ps_namespace *ns, void **arr, size_t *len)
{
	struct ps_req r;

	if (ps_req_begin(&r, ns != NULL ? &ns->obj : NULL) < 0)
		return -1;
	return call_bytes(&r, "namespace.dir", arr, len);
}

/* ---- typed helpers ---------------------------------------------------- */

int ps_namespace_set_str(ps_namespace *ns, const char *name, const char *val)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	ps_req_str(&r, "value", val);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_set_int(ps_namespace *ns, const char *name, int64_t val)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_set_double(ps_namespace *ns, const char *name, double val)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_set_bytes(ps_namespace *ns, const char *name, const void *val, size_t len)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	ps_req_bin(&r, "value", val, len);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

/* The attribute as a reply for the typed getters to decode. */
static int get_typed(ps_namespace *ns, const char *name, const void *out, struct ps_reply *rep)
{
	struct ps_req r;

	if (begin(&r, ns, name) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	return ps_req_call(&r, "namespace.getattr", rep);
}

int ps_namespace_get_str(ps_namespace *ns, const char *name, char **val)
{
	struct ps_reply rep;

	if (get_typed(ns, name, val, &rep) < 0)
		return -1;
	return ps_value_str(ns->obj.ctx, &rep, val);
}

int ps_namespace_get_int(ps_namespace *ns, const char *name, int64_t *val)
{
	struct ps_reply rep;

	if (get_typed(ns, name, val, &rep) < 0)
		return -1;
	return ps_value_int(ns->obj.ctx, &rep, val);
}

int ps_namespace_get_double(ps_namespace *ns, const char *name, double *val)
{
	struct ps_reply rep;

	if (get_typed(ns, name, val, &rep) < 0)
		return -1;
	return ps_value_double(ns->obj.ctx, &rep, val);
}

int ps_namespace_get_bytes(ps_namespace *ns, const char *name, void **val, size_t *len)
{
	struct ps_reply rep;

	if (get_typed(ns, name, len != NULL ? val : NULL, &rep) < 0)
		return -1;
	return ps_value_bytes(ns->obj.ctx, &rep, val, len);
}
