/*
 * The list proxy: one "list.*" request per call, the object's id first
 * among the params (proto/PROTOCOL.md, "list"). Indexes follow Python;
 * PS_NONE travels as nil for an omitted slice bound.
 */
#include <stdlib.h>

#include "internal.h"

struct ps_list {
	struct ps_obj obj;
};

static ps_list *list_take(ps_ctx *ctx, const char *name)
{
	ps_list *l;
	int r;

	if (ctx == NULL)
		return NULL;
	l = malloc(sizeof *l);
	if (l == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	r = name != NULL ? ps_obj_open(&l->obj, ctx, "list", name) : ps_obj_create(&l->obj, ctx, "list");
	if (r < 0) {
		free(l);
		return NULL;
	}
	return l;
}

ps_list *ps_list_open(ps_ctx *ctx, const char *name)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return list_take(ctx, name);
}

ps_list *ps_list_new(ps_ctx *ctx)
{
	return list_take(ctx, NULL);
}

void ps_list_free(ps_list *l)
{
	if (l == NULL)
		return;
	ps_obj_release(&l->obj);
	free(l);
}

/* A proxy opened from a reference (see ref.c): it holds a handle of its
 * own, taken with "retain". */
ps_list *ps_list_attach(ps_ctx *ctx, uint64_t id)
{
	ps_list *l;

	if (ctx == NULL)
		return NULL;
	l = malloc(sizeof *l);
	if (l == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (ps_obj_attach(&l->obj, ctx, "list", id) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

struct ps_obj *ps_list_obj(ps_list *l)
{
	return l != NULL ? &l->obj : NULL;
}

uint64_t ps_list_id(const ps_list *l)
{
	return l != NULL ? l->obj.id : 0;
}

static int begin(struct ps_req *r, ps_list *l)
{
	return ps_req_begin(r, l != NULL ? &l->obj : NULL);
}

static int call_bytes(struct ps_req *r, const char *method, void **out, size_t *len)
{
	struct ps_reply rep;

	ps_req_need(r, out != NULL && len != NULL, "output pointer");
	if (ps_req_call(r, method, &rep) < 0)
		return -1;
	return ps_reply_take(&rep, out, len);
}

static int call_size(struct ps_req *r, const char *method, size_t *out)
{
	struct ps_reply rep;

	ps_req_need(r, out != NULL, "output pointer");
	if (ps_req_call(r, method, &rep) < 0)
		return -1;
	return ps_reply_size(r->ctx, &rep, out);
}

/* Methods that take a value after the id and answer nothing of interest. */
static int call_value(ps_list *l, const char *method, const void *val, size_t vlen)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, method, NULL);
}

/* Methods that take nothing but the id. */
static int call_plain(ps_list *l, const char *method)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
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

	if (begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "list.insert", NULL);
}

int ps_list_pop(ps_list *l, int64_t index, void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, index);
	return call_bytes(&r, "list.pop", val, vlen);
}

int ps_list_index(ps_list *l, const void *val, size_t vlen, int64_t start, int64_t stop, int64_t *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	ps_req_opt_int(&r, start);
	ps_req_opt_int(&r, stop);
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "list.index", &rep) < 0)
		return -1;
	return ps_reply_int(r.ctx, &rep, out);
}

int ps_list_count(ps_list *l, const void *val, size_t vlen, size_t *out)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return call_size(&r, "list.count", out);
}

int ps_list_reverse(ps_list *l)
{
	return call_plain(l, "list.reverse");
}

int ps_list_sort(ps_list *l, int reverse)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_bool(&r, reverse != 0);
	return ps_req_call(&r, "list.sort", NULL);
}

int ps_list_len(ps_list *l, size_t *out)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	return call_size(&r, "list.len", out);
}

int ps_list_contains(ps_list *l, const void *val, size_t vlen, int *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "list.contains", &rep) < 0)
		return -1;
	return ps_reply_bool(r.ctx, &rep, out);
}

int ps_list_get(ps_list *l, int64_t index, void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, index);
	return call_bytes(&r, "list.getitem", val, vlen);
}

int ps_list_set(ps_list *l, int64_t index, const void *val, size_t vlen)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "list.setitem", NULL);
}

int ps_list_del(ps_list *l, int64_t index)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, index);
	return ps_req_call(&r, "list.delitem", NULL);
}

/* Appends start, stop, step: each an int, or nil for PS_NONE. */
static void put_slice(struct ps_req *r, int64_t start, int64_t stop, int64_t step)
{
	ps_req_opt_int(r, start);
	ps_req_opt_int(r, stop);
	ps_req_opt_int(r, step);
}

int ps_list_getslice(ps_list *l, int64_t start, int64_t stop, int64_t step, void **arr, size_t *alen)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	put_slice(&r, start, stop, step);
	return call_bytes(&r, "list.getslice", arr, alen);
}

int ps_list_setslice(ps_list *l, int64_t start, int64_t stop, int64_t step, const void *arr, size_t alen)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	put_slice(&r, start, stop, step);
	ps_req_value(&r, "array", arr, alen);
	return ps_req_call(&r, "list.setslice", NULL);
}

int ps_list_delslice(ps_list *l, int64_t start, int64_t stop, int64_t step)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	put_slice(&r, start, stop, step);
	return ps_req_call(&r, "list.delslice", NULL);
}

int ps_list_clear(ps_list *l)
{
	return call_plain(l, "list.clear");
}

int ps_list_copy(ps_list *l, void **arr, size_t *alen)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	return call_bytes(&r, "list.copy", arr, alen);
}

/* ---- typed helpers ---- */

int ps_list_append_str(ps_list *l, const char *val)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_str(&r, "value", val);
	return ps_req_call(&r, "list.append", NULL);
}

int ps_list_append_int(ps_list *l, int64_t val)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "list.append", NULL);
}

int ps_list_append_double(ps_list *l, double val)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "list.append", NULL);
}

int ps_list_append_bytes(ps_list *l, const void *val, size_t len)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_bin(&r, "value", val, len);
	return ps_req_call(&r, "list.append", NULL);
}

/* l[index] as a reply for the typed getters to decode. */
static int get_typed(ps_list *l, int64_t index, const void *out, struct ps_reply *rep)
{
	struct ps_req r;

	if (begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_need(&r, out != NULL, "output pointer");
	return ps_req_call(&r, "list.getitem", rep);
}

int ps_list_get_str(ps_list *l, int64_t index, char **val)
{
	struct ps_reply rep;

	if (get_typed(l, index, val, &rep) < 0)
		return -1;
	return ps_value_str(l->obj.ctx, &rep, val);
}

int ps_list_get_int(ps_list *l, int64_t index, int64_t *val)
{
	struct ps_reply rep;

	if (get_typed(l, index, val, &rep) < 0)
		return -1;
	return ps_value_int(l->obj.ctx, &rep, val);
}

int ps_list_get_double(ps_list *l, int64_t index, double *val)
{
	struct ps_reply rep;

	if (get_typed(l, index, val, &rep) < 0)
		return -1;
	return ps_value_double(l->obj.ctx, &rep, val);
}

int ps_list_get_bytes(ps_list *l, int64_t index, void **val, size_t *len)
{
	struct ps_reply rep;

	if (get_typed(l, index, len != NULL ? val : NULL, &rep) < 0)
		return -1;
	return ps_value_bytes(l->obj.ctx, &rep, val, len);
}
