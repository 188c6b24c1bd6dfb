/*
 * The dict proxy: one "dict.*" request per call, the object's id first
 * among the params (proto/PROTOCOL.md, "dict").
 */
#include <stdlib.h>

#include "internal.h"

struct ps_dict {
	struct ps_obj obj;
};

static ps_dict *dict_take(ps_ctx *ctx, const char *name)
{
	ps_dict *d;
	int r;

	if (ctx == NULL)
		return NULL;
	d = malloc(sizeof *d);
	if (d == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	r = name != NULL ? ps_obj_open(&d->obj, ctx, "dict", name) : ps_obj_create(&d->obj, ctx, "dict");
	if (r < 0) {
		free(d);
		return NULL;
	}
	return d;
}

ps_dict *ps_dict_open(ps_ctx *ctx, const char *name)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return dict_take(ctx, name);
}

ps_dict *ps_dict_new(ps_ctx *ctx)
{
	return dict_take(ctx, NULL);
}

void ps_dict_free(ps_dict *d)
{
	if (d == NULL)
		return;
	ps_obj_release(&d->obj);
	free(d);
}

/* A proxy opened from a reference (see ref.c): it holds a handle of its
 * own, taken with "retain". */
ps_dict *ps_dict_attach(ps_ctx *ctx, uint64_t id)
{
	ps_dict *d;

	if (ctx == NULL)
		return NULL;
	d = malloc(sizeof *d);
	if (d == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (ps_obj_attach(&d->obj, ctx, "dict", id) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

struct ps_obj *ps_dict_obj(ps_dict *d)
{
	return d != NULL ? &d->obj : NULL;
}

uint64_t ps_dict_id(const ps_dict *d)
{
	return d != NULL ? d->obj.id : 0;
}

/* Starts a request on d; NULL d has nowhere to report and just fails. */
static int begin(struct ps_req *r, ps_dict *d)
{
	return ps_req_begin(r, d != NULL ? &d->obj : NULL);
}

/* For methods whose whole answer goes back to the caller as bytes. */
static int call_bytes(struct ps_req *r, const char *method, void **out, size_t *len)
{
	struct ps_reply rep;

	ps_req_need(r, out != NULL && len != NULL, "output pointer");
	if (ps_req_call(r, method, &rep) < 0)
		return -1;
	return ps_reply_take(&rep, out, len);
}

static int call_bool(struct ps_req *r, const char *method, int *out)
{
	struct ps_reply rep;

	ps_req_need(r, out != NULL, "output pointer");
	if (ps_req_call(r, method, &rep) < 0)
		return -1;
	return ps_reply_bool(r->ctx, &rep, out);
}

/* ---- generic values ---- */

int ps_dict_set(ps_dict *d, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_get(ps_dict *d, const void *key, size_t klen, void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	return call_bytes(&r, "dict.getitem", val, vlen);
}

int ps_dict_del(ps_dict *d, const void *key, size_t klen)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	return ps_req_call(&r, "dict.del", NULL);
}

int ps_dict_contains(ps_dict *d, const void *key, size_t klen, int *out)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	return call_bool(&r, "dict.contains", out);
}

int ps_dict_len(ps_dict *d, size_t *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "dict.len", &rep) < 0)
		return -1;
	return ps_reply_size(r.ctx, &rep, out);
}

/* keys, values, items, popitem, clear and copy take nothing but the id. */
static int call_plain(ps_dict *d, const char *method, void **out, size_t *len)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	return call_bytes(&r, method, out, len);
}

int ps_dict_keys(ps_dict *d, void **out, size_t *len)
{
	return call_plain(d, "dict.keys", out, len);
}

int ps_dict_values(ps_dict *d, void **out, size_t *len)
{
	return call_plain(d, "dict.values", out, len);
}

int ps_dict_items(ps_dict *d, void **out, size_t *len)
{
	return call_plain(d, "dict.items", out, len);
}

int ps_dict_popitem(ps_dict *d, void **pair, size_t *len)
{
	return call_plain(d, "dict.popitem", pair, len);
}

int ps_dict_copy(ps_dict *d, void **out, size_t *len)
{
	return call_plain(d, "dict.copy", out, len);
}

int ps_dict_clear(ps_dict *d)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	return ps_req_call(&r, "dict.clear", NULL);
}

int ps_dict_pop(ps_dict *d, const void *key, size_t klen, const void *def, size_t dlen, void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	/* The daemon tells "no default" from "default nil" by the param's
	 * absence, as Python's pop does. */
	if (def != NULL)
		ps_req_value(&r, "default", def, dlen);
	return call_bytes(&r, "dict.pop", val, vlen);
}

int ps_dict_setdefault(ps_dict *d, const void *key, size_t klen, const void *def, size_t dlen,
		       void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	if (def != NULL)
		ps_req_value(&r, "default", def, dlen);
	return call_bytes(&r, "dict.setdefault", val, vlen);
}

int ps_dict_update(ps_dict *d, const void *src, size_t slen)
{
	struct ps_req r;

	if (begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "src", src, slen);
	return ps_req_call(&r, "dict.update", NULL);
}

/* ---- typed helpers: str keys ---- */

static int set_typed(struct ps_req *r, ps_dict *d, const char *key)
{
	if (begin(r, d) < 0)
		return -1;
	ps_req_str(r, "key", key);
	return 0;
}

int ps_dict_set_str(ps_dict *d, const char *key, const char *val)
{
	struct ps_req r;

	if (set_typed(&r, d, key) < 0)
		return -1;
	ps_req_str(&r, "value", val);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_set_int(ps_dict *d, const char *key, int64_t val)
{
	struct ps_req r;

	if (set_typed(&r, d, key) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_set_double(ps_dict *d, const char *key, double val)
{
	struct ps_req r;

	if (set_typed(&r, d, key) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_set_bytes(ps_dict *d, const char *key, const void *val, size_t len)
{
	struct ps_req r;

	if (set_typed(&r, d, key) < 0)
		return -1;
	ps_req_bin(&r, "value", val, len);
	return ps_req_call(&r, "dict.set", NULL);
}

/* d[key] as a reply for the typed getters to decode. */
static int get_typed(ps_dict *d, const char *key, const void *out, struct ps_reply *rep)
{
	struct ps_req r;

	if (set_typed(&r, d, key) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	return ps_req_call(&r, "dict.getitem", rep);
}

int ps_dict_get_str(ps_dict *d, const char *key, char **val)
{
	struct ps_reply rep;

	if (get_typed(d, key, val, &rep) < 0)
		return -1;
	return ps_value_str(d->obj.ctx, &rep, val);
}

int ps_dict_get_int(ps_dict *d, const char *key, int64_t *val)
{
	struct ps_reply rep;

	if (get_typed(d, key, val, &rep) < 0)
		return -1;
	return ps_value_int(d->obj.ctx, &rep, val);
}

int ps_dict_get_double(ps_dict *d, const char *key, double *val)
{
	struct ps_reply rep;

	if (get_typed(d, key, val, &rep) < 0)
		return -1;
	return ps_value_double(d->obj.ctx, &rep, val);
}

int ps_dict_get_bytes(ps_dict *d, const char *key, void **val, size_t *len)
{
	struct ps_reply rep;

	if (get_typed(d, key, len != NULL ? val : NULL, &rep) < 0)
		return -1;
	return ps_value_bytes(d->obj.ctx, &rep, val, len);
}

int ps_dict_del_str(ps_dict *d, const char *key)
{
	struct ps_req r;

	if (set_typed(&r, d, key) < 0)
		return -1;
	return ps_req_call(&r, "dict.del", NULL);
}

int ps_dict_contains_str(ps_dict *d, const char *key, int *out)
{
	struct ps_req r;

	if (set_typed(&r, d, key) < 0)
		return -1;
	return call_bool(&r, "dict.contains", out);
}

int ps_dict_incr_int(ps_dict *d, const char *key, int64_t delta, int64_t *result)
{
	struct ps_reply rep;
	struct ps_req r;
	int64_t sum;

	if (set_typed(&r, d, key) < 0)
		return -1;
	ps_req_int(&r, delta);
	if (ps_req_call(&r, "dict.incr", &rep) < 0 || ps_value_int(r.ctx, &rep, &sum) < 0)
		return -1;
	if (result != NULL)
		*result = sum;
	return 0;
}

int ps_dict_incr_double(ps_dict *d, const char *key, double delta, double *result)
{
	struct ps_reply rep;
	struct ps_req r;
	double sum;

	if (set_typed(&r, d, key) < 0)
		return -1;
	ps_req_double(&r, delta);
	if (ps_req_call(&r, "dict.incr", &rep) < 0 || ps_value_double(r.ctx, &rep, &sum) < 0)
		return -1;
	if (result != NULL)
		*result = sum;
	return 0;
}
