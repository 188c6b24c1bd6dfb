/*
 * The list proxy: one "list.*" request per call, the object's id first
 * among the params (proto/PROTOCOL.md, "list"). Indexes follow Python;
 * PS_NONE travels as nil for an omitted slice bound.
 */
#include "internal.h"

struct ps_list {
	struct ps_obj obj;
};

ps_list *ps_list_open(ps_ctx *ctx, const char *name)
{
	return ps_proxy_open(ctx, sizeof(ps_list), "list", name, NULL);
}

ps_list *ps_list_new(ps_ctx *ctx)
{
	return ps_proxy_new(ctx, sizeof(ps_list), "list", NULL);
}

void ps_list_free(ps_list *l)
{
	ps_proxy_free(l);
}

/* A proxy opened from a reference (see ref.c): it holds a handle of its
 * own, taken with "retain". */
ps_list *ps_list_attach(ps_ctx *ctx, uint64_t id)
{
	return ps_proxy_attach(ctx, sizeof(ps_list), "list", id);
}

struct ps_obj *ps_list_obj(ps_list *l)
{
	return l != NULL ? &l->obj : NULL;
}

uint64_t ps_list_id(const ps_list *l)
{
	return l != NULL ? l->obj.id : 0;
}

/* Methods that take a value after the id and answer nothing of interest. */
static int call_value(ps_list *l, const char *method, const void *val, size_t vlen)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, method, NULL);
}

int ps_list_append(ps_list *l, const void *val, size_t vlen)
{
	return call_value(l, "list.append", val, vlen);
}

int ps_list_extend(ps_list *l, const void *arr, size_t alen)
{
	return call_value(l, "list.extend", arr, alen);
}

int ps_list_remove(ps_list *l, const void *val, size_t vlen)
{
	return call_value(l, "list.remove", val, vlen);
}

int ps_list_insert(ps_list *l, int64_t index, const void *val, size_t vlen)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, l, index) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "list.insert", NULL);
}

int ps_list_pop(ps_list *l, int64_t index, void **val, size_t *vlen)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, l, index) < 0)
		return -1;
	return ps_req_call_bytes(&r, "list.pop", val, vlen);
}

int ps_list_index(ps_list *l, const void *val, size_t vlen, int64_t start, int64_t stop, int64_t *out)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	ps_req_opt_int(&r, start);
	ps_req_opt_int(&r, stop);
	return ps_req_call_int(&r, "list.index", out);
}

int ps_list_count(ps_list *l, const void *val, size_t vlen, size_t *out)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call_size(&r, "list.count", out);
}

int ps_list_reverse(ps_list *l)
{
	return ps_proxy_call(l, "list.reverse");
}

int ps_list_sort(ps_list *l, int reverse)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_bool(&r, reverse != 0);
	return ps_req_call(&r, "list.sort", NULL);
}

int ps_list_len(ps_list *l, size_t *out)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	return ps_req_call_size(&r, "list.len", out);
}

int ps_list_contains(ps_list *l, const void *val, size_t vlen, int *out)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call_bool(&r, "list.contains", out);
}

int ps_list_get(ps_list *l, int64_t index, void **val, size_t *vlen)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, l, index) < 0)
		return -1;
	return ps_req_call_bytes(&r, "list.getitem", val, vlen);
}

int ps_list_set(ps_list *l, int64_t index, const void *val, size_t vlen)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, l, index) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "list.setitem", NULL);
}

int ps_list_del(ps_list *l, int64_t index)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, l, index) < 0)
		return -1;
	return ps_req_call(&r, "list.delitem", NULL);
}

int ps_list_getslice(ps_list *l, int64_t start, int64_t stop, int64_t step, void **arr, size_t *alen)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_slice(&r, start, stop, step);
	return ps_req_call_bytes(&r, "list.getslice", arr, alen);
}

int ps_list_setslice(ps_list *l, int64_t start, int64_t stop, int64_t step, const void *arr, size_t alen)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_slice(&r, start, stop, step);
	ps_req_value(&r, "array", arr, alen);
	return ps_req_call(&r, "list.setslice", NULL);
}

int ps_list_delslice(ps_list *l, int64_t start, int64_t stop, int64_t step)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_slice(&r, start, stop, step);
	return ps_req_call(&r, "list.delslice", NULL);
}

int ps_list_clear(ps_list *l)
{
	return ps_proxy_call(l, "list.clear");
}

int ps_list_copy(ps_list *l, void **arr, size_t *alen)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	return ps_req_call_bytes(&r, "list.copy", arr, alen);
}

/* ---- typed helpers ---- */

int ps_list_append_str(ps_list *l, const char *val)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_str(&r, "value", val);
	return ps_req_call(&r, "list.append", NULL);
}

int ps_list_append_int(ps_list *l, int64_t val)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "list.append", NULL);
}

int ps_list_append_double(ps_list *l, double val)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "list.append", NULL);
}

int ps_list_append_bytes(ps_list *l, const void *val, size_t len)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_bin(&r, "value", val, len);
	return ps_req_call(&r, "list.append", NULL);
}

int ps_list_get_str(ps_list *l, int64_t index, char **val)
{
	struct ps_req r;

	return ps_req_begin_index(&r, l, index) < 0 ? -1 : ps_req_get_str(&r, "list.getitem", val);
}

int ps_list_get_int(ps_list *l, int64_t index, int64_t *val)
{
	struct ps_req r;

	return ps_req_begin_index(&r, l, index) < 0 ? -1 : ps_req_get_int(&r, "list.getitem", val);
}

int ps_list_get_double(ps_list *l, int64_t index, double *val)
{
	struct ps_req r;

	return ps_req_begin_index(&r, l, index) < 0 ? -1 : ps_req_get_double(&r, "list.getitem", val);
}

int ps_list_get_bytes(ps_list *l, int64_t index, void **val, size_t *len)
{
	struct ps_req r;

	return ps_req_begin_index(&r, l, index) < 0 ? -1 : ps_req_get_bytes(&r, "list.getitem", val, len);
}
