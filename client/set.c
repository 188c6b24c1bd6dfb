/*
 * The set proxy: one "set.*" request per call (proto/PROTOCOL.md, "set").
 * An operand of the algebra is an encoded array of members or an encoded
 * reference to another shared set (ps_ref_pack(ps_set_id(other), buf)).
 */
#include "internal.h"

struct ps_set {
	struct ps_obj obj;
};

ps_set *ps_set_open(ps_ctx *ctx, const char *name, const void *members, size_t mlen)
{
	struct ps_req a;

	ps_args_value(&a, ctx, "members", members, mlen);
	return ps_proxy_open(ctx, sizeof(ps_set), "set", name, &a);
}

ps_set *ps_set_new(ps_ctx *ctx, const void *members, size_t mlen)
{
	struct ps_req a;

	ps_args_value(&a, ctx, "members", members, mlen);
	return ps_proxy_new(ctx, sizeof(ps_set), "set", &a);
}

/* A proxy for the existing object id (from a reference), with a handle
 * of its own. */
ps_set *ps_set_attach(ps_ctx *ctx, uint64_t id)
{
	return ps_proxy_attach(ctx, sizeof(ps_set), "set", id);
}

void ps_set_free(ps_set *s)
{
	ps_proxy_free(s);
}

uint64_t ps_set_id(const ps_set *s)
{
	return s != NULL ? s->obj.id : 0;
}

/* Starts a request on s whose one argument is a value: a member or an
 * operand. */
static int value_begin(struct ps_req *r, ps_set *s, const char *what, const void *val, size_t vlen)
{
	if (ps_req_begin(r, s) < 0)
		return -1;
	ps_req_value(r, what, val, vlen);
	return 0;
}

/* Methods that take one value and answer nil. */
static int call_value(ps_set *s, const char *method, const char *what, const void *val, size_t vlen)
{
	struct ps_req r;

	return value_begin(&r, s, what, val, vlen) < 0 ? -1 : ps_req_call(&r, method, NULL);
}

/* Methods that take one operand and answer an array. */
static int call_operand(ps_set *s, const char *method, const void *other, size_t olen, void **arr, size_t *alen)
{
	struct ps_req r;

	return value_begin(&r, s, "operand", other, olen) < 0 ? -1 : ps_req_call_bytes(&r, method, arr, alen);
}

/* Methods that take one operand and answer a bool. */
static int call_test(ps_set *s, const char *method, const void *other, size_t olen, int *out)
{
	struct ps_req r;

	return value_begin(&r, s, "operand", other, olen) < 0 ? -1 : ps_req_call_bool(&r, method, out);
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

	return value_begin(&r, s, "member", val, vlen) < 0 ? -1 : ps_req_call_bool(&r, "set.contains", out);
}

int ps_set_pop(ps_set *s, void **val, size_t *vlen)
{
	struct ps_req r;

	if (ps_req_begin(&r, s) < 0)
		return -1;
	return ps_req_call_bytes(&r, "set.pop", val, vlen);
}

int ps_set_clear(ps_set *s)
{
	return ps_proxy_call(s, "set.clear");
}

int ps_set_len(ps_set *s, size_t *out)
{
	struct ps_req r;

	if (ps_req_begin(&r, s) < 0)
		return -1;
	return ps_req_call_size(&r, "set.len", out);
}

int ps_set_copy(ps_set *s, void **arr, size_t *alen)
{
	struct ps_req r;

	if (ps_req_begin(&r, s) < 0)
		return -1;
	return ps_req_call_bytes(&r, "set.copy", arr, alen);
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
	if (ps_req_begin(r, s) < 0)
		return -1;
	ps_req_str(r, "member", val);
	return 0;
}

static int member_int(ps_set *s, int64_t val, struct ps_req *r)
{
	if (ps_req_begin(r, s) < 0)
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

	return member_str(s, val, &r) < 0 ? -1 : ps_req_call_bool(&r, "set.contains", out);
}

int ps_set_contains_int(ps_set *s, int64_t val, int *out)
{
	struct ps_req r;

	return member_int(s, val, &r) < 0 ? -1 : ps_req_call_bool(&r, "set.contains", out);
}
