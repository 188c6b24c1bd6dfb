/*
 * The Namespace proxy: one "namespace.*" request per call
 * (proto/PROTOCOL.md, "namespace"). Attribute names are NUL-terminated
 * UTF-8 strings; values are encoded MessagePack or, through the typed
 * helpers, C scalars and strings.
 */
#include "internal.h"

struct ps_namespace {
	struct ps_obj obj;
};

ps_namespace *ps_namespace_open(ps_ctx *ctx, const char *name, const void *attrs, size_t alen)
{
	struct ps_req a;

	ps_args_value(&a, ctx, "attributes", attrs, alen);
	return ps_proxy_open(ctx, sizeof(ps_namespace), "namespace", name, &a);
}

ps_namespace *ps_namespace_new(ps_ctx *ctx, const void *attrs, size_t alen)
{
	struct ps_req a;

	ps_args_value(&a, ctx, "attributes", attrs, alen);
	return ps_proxy_new(ctx, sizeof(ps_namespace), "namespace", &a);
}

/* A proxy for the existing object id (from a reference), with a handle
 * of its own. */
ps_namespace *ps_namespace_attach(ps_ctx *ctx, uint64_t id)
{
	return ps_proxy_attach(ctx, sizeof(ps_namespace), "namespace", id);
}

void ps_namespace_free(ps_namespace *ns)
{
	ps_proxy_free(ns);
}

uint64_t ps_namespace_id(const ps_namespace *ns)
{
	return ns != NULL ? ns->obj.id : 0;
}

/* Starts a request on ns naming the attribute. */
static int attr_begin(struct ps_req *r, ps_namespace *ns, const char *name)
{
	if (ps_req_begin(r, ns) < 0)
		return -1;
	ps_req_str(r, "name", name);
	return 0;
}

/* ---- generic path ----------------------------------------------------- */

int ps_namespace_getattr(ps_namespace *ns, const char *name, void **val, size_t *vlen)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	return ps_req_call_bytes(&r, "namespace.getattr", val, vlen);
}

int ps_namespace_getattr_default(ps_namespace *ns, const char *name, const void *def, size_t dlen,
				 void **val, size_t *vlen)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	ps_req_value(&r, "default", def, dlen);
	return ps_req_call_bytes(&r, "namespace.getattr", val, vlen);
}

int ps_namespace_setattr(ps_namespace *ns, const char *name, const void *val, size_t vlen)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_delattr(ps_namespace *ns, const char *name)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	return ps_req_call(&r, "namespace.delattr", NULL);
}

int ps_namespace_has(ps_namespace *ns, const char *name, int *out)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	return ps_req_call_bool(&r, "namespace.has", out);
}

int ps_namespace_len(ps_namespace *ns, size_t *out)
{
	struct ps_req r;

	if (ps_req_begin(&r, ns) < 0)
		return -1;
	return ps_req_call_size(&r, "namespace.len", out);
}

int ps_namespace_vars(ps_namespace *ns, void **map, size_t *len)
{
	struct ps_req r;

	if (ps_req_begin(&r, ns) < 0)
		return -1;
	return ps_req_call_bytes(&r, "namespace.vars", map, len);
}

int ps_namespace_dir(ps_namespace *ns, void **arr, size_t *len)
{
	struct ps_req r;

	if (ps_req_begin(&r, ns) < 0)
		return -1;
	return ps_req_call_bytes(&r, "namespace.dir", arr, len);
}

/* ---- typed helpers ---------------------------------------------------- */

int ps_namespace_set_str(ps_namespace *ns, const char *name, const char *val)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	ps_req_str(&r, "value", val);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_set_int(ps_namespace *ns, const char *name, int64_t val)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_set_double(ps_namespace *ns, const char *name, double val)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_set_bytes(ps_namespace *ns, const char *name, const void *val, size_t len)
{
	struct ps_req r;

	if (attr_begin(&r, ns, name) < 0)
		return -1;
	ps_req_bin(&r, "value", val, len);
	return ps_req_call(&r, "namespace.setattr", NULL);
}

int ps_namespace_get_str(ps_namespace *ns, const char *name, char **val)
{
	struct ps_req r;

	return attr_begin(&r, ns, name) < 0 ? -1 : ps_req_get_str(&r, "namespace.getattr", val);
}

int ps_namespace_get_int(ps_namespace *ns, const char *name, int64_t *val)
{
	struct ps_req r;

	return attr_begin(&r, ns, name) < 0 ? -1 : ps_req_get_int(&r, "namespace.getattr", val);
}

int ps_namespace_get_double(ps_namespace *ns, const char *name, double *val)
{
	struct ps_req r;

	return attr_begin(&r, ns, name) < 0 ? -1 : ps_req_get_double(&r, "namespace.getattr", val);
}

int ps_namespace_get_bytes(ps_namespace *ns, const char *name, void **val, size_t *len)
{
	struct ps_req r;

	return attr_begin(&r, ns, name) < 0 ? -1 : ps_req_get_bytes(&r, "namespace.getattr", val, len);
}
