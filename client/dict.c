/*
 * The dict proxy: one "dict.*" request per call, the object's id first
 * among the params (proto/PROTOCOL.md, "dict").
 */
#include "internal.h"

struct ps_dict {
	struct ps_obj obj;
};

ps_dict *ps_dict_open(ps_ctx *ctx, const char *name)
{
	return ps_proxy_open(ctx, sizeof(ps_dict), "dict", name, NULL);
}

ps_dict *ps_dict_new(ps_ctx *ctx)
{
	return ps_proxy_new(ctx, sizeof(ps_dict), "dict", NULL);
}

void ps_dict_free(ps_dict *d)
{
	ps_proxy_free(d);
}

/* A proxy opened from a reference (see ref.c): it holds a handle of its
 * own, taken with "retain". */
ps_dict *ps_dict_attach(ps_ctx *ctx, uint64_t id)
{
	return ps_proxy_attach(ctx, sizeof(ps_dict), "dict", id);
}

struct ps_obj *ps_dict_obj(ps_dict *d)
{
	return d != NULL ? &d->obj : NULL;
}

uint64_t ps_dict_id(const ps_dict *d)
{
	return d != NULL ? d->obj.id : 0;
}

/* ---- generic values ---- */

int ps_dict_set(ps_dict *d, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_get(ps_dict *d, const void *key, size_t klen, void **val, size_t *vlen)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	return ps_req_call_bytes(&r, "dict.getitem", val, vlen);
}

int ps_dict_del(ps_dict *d, const void *key, size_t klen)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	return ps_req_call(&r, "dict.del", NULL);
}

int ps_dict_contains(ps_dict *d, const void *key, size_t klen, int *out)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	return ps_req_call_bool(&r, "dict.contains", out);
}

int ps_dict_len(ps_dict *d, size_t *out)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	return ps_req_call_size(&r, "dict.len", out);
}

/* keys, values, items, popitem and copy take nothing but the id. */
static int call_plain(ps_dict *d, const char *method, void **out, size_t *len)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	return ps_req_call_bytes(&r, method, out, len);
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
	return ps_proxy_call(d, "dict.clear");
}

int ps_dict_pop(ps_dict *d, const void *key, size_t klen, const void *def, size_t dlen, void **val, size_t *vlen)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	/* The daemon tells "no default" from "default nil" by the param's
	 * absence, as Python's pop does. */
	if (def != NULL)
		ps_req_value(&r, "default", def, dlen);
	return ps_req_call_bytes(&r, "dict.pop", val, vlen);
}

int ps_dict_setdefault(ps_dict *d, const void *key, size_t klen, const void *def, size_t dlen,
		       void **val, size_t *vlen)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "key", key, klen);
	if (def != NULL)
		ps_req_value(&r, "default", def, dlen);
	return ps_req_call_bytes(&r, "dict.setdefault", val, vlen);
}

int ps_dict_update(ps_dict *d, const void *src, size_t slen)
{
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_value(&r, "src", src, slen);
	return ps_req_call(&r, "dict.update", NULL);
}

/* ---- typed helpers: str keys ---- */

/* Starts a request on d whose first argument is the str key. */
static int key_begin(struct ps_req *r, ps_dict *d, const char *key)
{
	if (ps_req_begin(r, d) < 0)
		return -1;
	ps_req_str(r, "key", key);
	return 0;
}

int ps_dict_set_str(ps_dict *d, const char *key, const char *val)
{
	struct ps_req r;

	if (key_begin(&r, d, key) < 0)
		return -1;
	ps_req_str(&r, "value", val);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_set_int(ps_dict *d, const char *key, int64_t val)
{
	struct ps_req r;

	if (key_begin(&r, d, key) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_set_double(ps_dict *d, const char *key, double val)
{
	struct ps_req r;

	if (key_begin(&r, d, key) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_set_bytes(ps_dict *d, const char *key, const void *val, size_t len)
{
	struct ps_req r;

	if (key_begin(&r, d, key) < 0)
		return -1;
	ps_req_bin(&r, "value", val, len);
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_dict_get_str(ps_dict *d, const char *key, char **val)
{
	struct ps_req r;

	return key_begin(&r, d, key) < 0 ? -1 : ps_req_get_str(&r, "dict.getitem", val);
}

int ps_dict_get_int(ps_dict *d, const char *key, int64_t *val)
{
	struct ps_req r;

	return key_begin(&r, d, key) < 0 ? -1 : ps_req_get_int(&r, "dict.getitem", val);
}

int ps_dict_get_double(ps_dict *d, const char *key, double *val)
{
	struct ps_req r;

	return key_begin(&r, d, key) < 0 ? -1 : ps_req_get_double(&r, "dict.getitem", val);
}

int ps_dict_get_bytes(ps_dict *d, const char *key, void **val, size_t *len)
{
	struct ps_req r;

	return key_begin(&r, d, key) < 0 ? -1 : ps_req_get_bytes(&r, "dict.getitem", val, len);
}

int ps_dict_del_str(ps_dict *d, const char *key)
{
	struct ps_req r;

	if (key_begin(&r, d, key) < 0)
		return -1;
	return ps_req_call(&r, "dict.del", NULL);
}

int ps_dict_contains_str(ps_dict *d, const char *key, int *out)
{
	struct ps_req r;

	if (key_begin(&r, d, key) < 0)
		return -1;
	return ps_req_call_bool(&r, "dict.contains", out);
}

int ps_dict_incr_int(ps_dict *d, const char *key, int64_t delta, int64_t *result)
{
	struct ps_reply rep;
	struct ps_req r;
	int64_t sum;

	if (key_begin(&r, d, key) < 0)
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

	if (key_begin(&r, d, key) < 0)
		return -1;
	ps_req_double(&r, delta);
	if (ps_req_call(&r, "dict.incr", &rep) < 0 || ps_value_double(r.ctx, &rep, &sum) < 0)
		return -1;
	if (result != NULL)
		*result = sum;
	return 0;
}
