/*
 * The set proxy: one "set.*" request per call (proto/PROTOCOL.md, "set").
 * An operand of the algebra is an encoded array of members or an encoded
 * reference to another shared set (ps_ref_pack(ps_set_id(other), buf)).
 */
#include <stdlib.h>

#include "internal.h"

struct ps_set {
	struct ps_obj obj;
};

/* The creation args [] or [members], built in a->buf. Returns 0, or -1
 * with the error on ctx (a->buf freed). */
static int set_args(ps_ctx *ctx, const void *members, size_t mlen, struct ps_req *a)
{
	ps_req_init(a, ctx);
	msgpack_pack_array(&a->pk, members != NULL ? 1 : 0);
	if (members != NULL)
		ps_req_value(a, "members", members, mlen);
	if (a->bad_what != NULL || a->buf.oom) {
		ps_buf_free(&a->buf);
		if (a->bad_what != NULL)
			return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: %s %s", a->bad_what, a->bad_why);
		return ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	}
	return 0;
}

/* Opens (name) or creates (name NULL) a set. */
static ps_set *set_take(ps_ctx *ctx, const char *name, const void *members, size_t mlen)
{
	struct ps_req a;
	ps_set *s;
	int r;

	if (ctx == NULL || set_args(ctx, members, mlen, &a) < 0)
		return NULL;
	s = malloc(sizeof *s);
	if (s == NULL) {
		ps_buf_free(&a.buf);
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (name != NULL)
		r = ps_obj_open_args(&s->obj, ctx, "set", name, a.buf.data, a.buf.len);
	else
		r = ps_obj_create_args(&s->obj, ctx, "set", a.buf.data, a.buf.len);
	ps_buf_free(&a.buf);
	if (r < 0) {
		free(s);
		return NULL;
	}
	return s;
}

ps_set *ps_set_open(ps_ctx *ctx, const char *name, const void *members, size_t mlen)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return set_take(ctx, name, members, mlen);
}

ps_set *ps_set_new(ps_ctx *ctx, const void *members, size_t mlen)
{
	return set_take(ctx, NULL, members, mlen);
}

/* A proxy for the existing object id (from a reference), with a handle
 * of its own. */
ps_set *ps_set_attach(ps_ctx *ctx, uint64_t id)
{
	ps_set *s;

	if (ctx == NULL)
		return NULL;
	s = malloc(sizeof *s);
	if (s == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (ps_obj_attach(&s->obj, ctx, "set", id) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void ps_set_free(ps_set *s)
{
	if (s == NULL)
		return;
	ps_obj_release(&s->obj);
	free(s);
}

uint64_t ps_set_id(const ps_set *s)
{
	return s != NULL ? s->obj.id : 0;
}

static int begin(struct ps_req *r, ps_set *s)
{
	return ps_req_begin(r, s != NULL ? &s->obj : NULL);
}

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

/* Methods that take one value (a member or an operand) and answer nil. */
static int call_value(ps_set *s, const char *method, const char *what, const void *val, size_t vlen)
{
	struct ps_req r;

	if (begin(&r, s) < 0)
		return -1;
	ps_req_value(&r, what, val, vlen);
	return ps_req_call(&r, method, NULL);
}

/* Methods that take one operand and answer an array. */
static int call_operand(ps_set *s, const char *method, const void *other, size_t olen, void **arr, size_t *alen)
{
	struct ps_req r;

	if (begin(&r, s) < 0)
		return -1;
	ps_req_value(&r, "operand", other, olen);
	return call_bytes(&r, method, arr, alen);
}

/* Methods that take one operand and answer a bool. */
static int call_test(ps_set *s, const char *method, const void *other, size_t olen, int *out)
{
	struct ps_req r;

	if (begin(&r, s) < 0)
		return -1;
	ps_req_value(&r, "operand", other, olen);
	return call_bool(&r, method, out);
}

/* ---- members ---------------------------------------------------------- */

int ps_set_add(ps_set *s, const void *val, size_t vlen)
{
	return call_value(s, "set.add", "member", val, vlen);
}

int ps_set_discard(ps_set *s, const void *val, size_t vlen)
{
	return call_value(s, "set.discard", "member", val, vlen);
}

int ps_set_remove(ps_set *s, const void *val, size_t vlen)
{
	return call_value(s, "set.remove", "member", val, vlen);
}

int ps_set_contains(ps_set *s, const void *val, size_t vlen, int *out)
{
	struct ps_req r;

	if (begin(&r, s) < 0)
		return -1;
	ps_req_value(&r, "member", val, vlen);
	return call_bool(&r, "set.contains", out);
}

int ps_set_pop(ps_set *s, void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, s) < 0)
		return -1;
	return call_bytes(&r, "set.pop", val, vlen);
}

int ps_set_clear(ps_set *s)
{
	struct ps_req r;

	if (begin(&r, s) < 0)
		return -1;
	return ps_req_call(&r, "set.clear", NULL);
}

int ps_set_len(ps_set *s, size_t *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, s) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "set.len", &rep) < 0)
		return -1;
	return ps_reply_size(r.ctx, &rep, out);
}

int ps_set_copy(ps_set *s, void **arr, size_t *alen)
{
	struct ps_req r;

	if (begin(&r, s) < 0)
		return -1;
	return call_bytes(&r, "set.copy", arr, alen);
}

/* ---- the algebra ------------------------------------------------------ */

int ps_set_update(ps_set *s, const void *other, size_t olen)
{
	return call_value(s, "set.update", "operand", other, olen);
}

int ps_set_union(ps_set *s, const void *other, size_t olen, void **arr, size_t *alen)
{
	return call_operand(s, "set.union", other, olen, arr, alen);
}

int ps_set_intersection(ps_set *s, const void *other, size_t olen, void **arr, size_t *alen)
{
	return call_operand(s, "set.intersection", other, olen, arr, alen);
}

int ps_set_difference(ps_set *s, const void *other, size_t olen, void **arr, size_t *alen)
{
	return call_operand(s, "set.difference", other, olen, arr, alen);
}

int ps_set_symmetric_difference(ps_set *s, const void *other, size_t olen, void **arr, size_t *alen)
{
	return call_operand(s, "set.symmetric_difference", other, olen, arr, alen);
}

int ps_set_intersection_update(ps_set *s, const void *other, size_t olen)
{
	return call_value(s, "set.intersection_update", "operand", other, olen);
}

int ps_set_difference_update(ps_set *s, const void *other, size_t olen)
{
	return call_value(s, "set.difference_update", "operand", other, olen);
}

int ps_set_symmetric_difference_update(ps_set *s, const void *other, size_t olen)
{
	return call_value(s, "set.symmetric_difference_update", "operand", other, olen);
}

int ps_set_isdisjoint(ps_set *s, const void *other, size_t olen, int *out)
{
	return call_test(s, "set.isdisjoint", other, olen, out);
}

int ps_set_issubset(ps_set *s, const void *other, size_t olen, int *out)
{
	return call_test(s, "set.issubset", other, olen, out);
}

int ps_set_issuperset(ps_set *s, const void *other, size_t olen, int *out)
{
	return call_test(s, "set.issuperset", other, olen, out);
}

/* ---- typed helpers ---------------------------------------------------- */

/* Starts a request whose one argument is a member given as a str or an
 * int. */
static int member_str(ps_set *s, const char *val, struct ps_req *r)
{
	if (begin(r, s) < 0)
		return -1;
	ps_req_str(r, "member", val);
	return 0;
}

static int member_int(ps_set *s, int64_t val, struct ps_req *r)
{
	if (begin(r, s) < 0)
		return -1;
	ps_req_int(r, val);
	return 0;
}

int ps_set_add_str(ps_set *s, const char *val)
{
	struct ps_req r;

	return member_str(s, val, &r) < 0 ? -1 : ps_req_call(&r, "set.add", NULL);
}

int ps_set_add_int(ps_set *s, int64_t val)
{
	struct ps_req r;

	return member_int(s, val, &r) < 0 ? -1 : ps_req_call(&r, "set.add", NULL);
}

int ps_set_discard_str(ps_set *s, const char *val)
{
	struct ps_req r;

	return member_str(s, val, &r) < 0 ? -1 : ps_req_call(&r, "set.discard", NULL);
}

int ps_set_discard_int(ps_set *s, int64_t val)
{
	struct ps_req r;

	return member_int(s, val, &r) < 0 ? -1 : ps_req_call(&r, "set.discard", NULL);
}

int ps_set_remove_str(ps_set *s, const char *val)
{
	struct ps_req r;

	return member_str(s, val, &r) < 0 ? -1 : ps_req_call(&r, "set.remove", NULL);
}

int ps_set_remove_int(ps_set *s, int64_t val)
{
	struct ps_req r;

	return member_int(s, val, &r) < 0 ? -1 : ps_req_call(&r, "set.remove", NULL);
}

int ps_set_contains_str(ps_set *s, const char *val, int *out)
{
	struct ps_req r;

	return member_str(s, val, &r) < 0 ? -1 : call_bool(&r, "set.contains", out);
}

int ps_set_contains_int(ps_set *s, int64_t val, int *out)
{
	struct ps_req r;

	return member_int(s, val, &r) < 0 ? -1 : call_bool(&r, "set.contains", out);
}
