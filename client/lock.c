/*
 * The Lock, RLock, Semaphore and BoundedSemaphore proxies (proto/PROTOCOL.md,
 * "lock, rlock, semaphore, boundedsemaphore"), and the acquire call and
 * its result, which the Condition proxy (condition.c) shares with them.
 *
 * A blocking call may legitimately wait in the daemon as long as its own
 * timeout says (forever without one), so its request carries that wait as
 * hold_ms (ps_req_timeout): the context's timeout then only bounds the
 * time beyond it.
 */
#include <string.h>

#include "internal.h"

struct ps_lock {
	struct ps_obj obj;      /* type "lock" or "rlock" */
};

struct ps_semaphore {
	struct ps_obj obj;      /* type "semaphore" or "boundedsemaphore" */
};

/* ---- shared with condition.c ---- */

/* Reads {"acquired": bool, "token": uint, "abandoned": bool}; frees rep. */
static int lock_read_acquired(ps_ctx *ctx, struct ps_reply *rep, struct ps_acquired *out)
{
	struct ps_mp_tok t, k, v;
	const uint8_t *p = rep->data, *end = rep->data + rep->len;
	struct ps_acquired a = { 0, 0, 0 };
	size_t n;

	if (ps_mp_token(p, rep->len, &t) != 1 || t.type != PS_MP_MAP)
		goto bad;
	p += t.size;
	for (n = t.v.n; n > 0; n--) {
		if (ps_mp_token(p, (size_t)(end - p), &k) != 1 || k.type != PS_MP_STR)
			goto bad;
		p += k.size;
		if (ps_mp_token(p, (size_t)(end - p), &v) != 1)
			goto bad;
		p += v.size;
		if (k.v.n == 8 && memcmp(k.data, "acquired", 8) == 0 && v.type == PS_MP_BOOL)
			a.acquired = v.v.b;
		else if (k.v.n == 9 && memcmp(k.data, "abandoned", 9) == 0 && v.type == PS_MP_BOOL)
			a.abandoned = v.v.b;
		else if (k.v.n == 5 && memcmp(k.data, "token", 5) == 0 && v.type == PS_MP_UINT)
			a.token = v.v.u;
	}
	ps_reply_free(rep);
	if (out != NULL)
		*out = a;
	return a.acquired ? 1 : 0;
bad:
	ps_reply_free(rep);
	return ps_fail_stick(ctx, PS_ERR_PROTOCOL, "", "daemon sent a malformed acquire result");
}

int ps_lock_call_acquire(const void *proxy, int blocking, double timeout, struct ps_acquired *info)
{
	struct ps_reply rep;
	struct ps_req r;
	char m[PS_METHOD_MAX];

	if (ps_req_begin(&r, proxy) < 0)
		return -1;
	ps_req_bool(&r, blocking != 0);
	if (blocking) {
		ps_req_timeout(&r, timeout);
	} else {
		ps_req_value(&r, "timeout", "\xc0", 1);
		r.hold_ms = 0;
	}
	if (ps_req_call(&r, ps_obj_method(proxy, "acquire", m), &rep) < 0)
		return -1;
	return lock_read_acquired(r.ctx, &rep, info);
}

/* ---- Lock and RLock ---- */

/* Starts the creation args [], refusing a kind other than PS_LOCK and
 * PS_RLOCK, and returns the type the kind names. */
static const char *lock_args(struct ps_req *a, ps_ctx *ctx, enum ps_lock_kind kind)
{
	ps_args_init(a, ctx, 0);
	if (kind != PS_LOCK && kind != PS_RLOCK)
		ps_req_refuse(a, "kind", "is neither PS_LOCK nor PS_RLOCK");
	return kind == PS_RLOCK ? "rlock" : "lock";
}

ps_lock *ps_lock_open(ps_ctx *ctx, const char *name, enum ps_lock_kind kind)
{
	struct ps_req a;
	const char *type = lock_args(&a, ctx, kind);

	return ps_proxy_open(ctx, sizeof(ps_lock), type, name, &a);
}

ps_lock *ps_lock_new(ps_ctx *ctx, enum ps_lock_kind kind)
{
	struct ps_req a;
	const char *type = lock_args(&a, ctx, kind);

	return ps_proxy_new(ctx, sizeof(ps_lock), type, &a);
}

void ps_lock_free(ps_lock *l)
{
	ps_proxy_free(l);
}

uint64_t ps_lock_id(const ps_lock *l)
{
	return l != NULL ? l->obj.id : 0;
}

int ps_lock_acquire(ps_lock *l, int blocking, double timeout, struct ps_acquired *info)
{
	return ps_lock_call_acquire(l, blocking, timeout, info);
}

int ps_lock_release(ps_lock *l)
{
	char m[PS_METHOD_MAX];

	return l == NULL ? -1 : ps_proxy_call(l, ps_obj_method(&l->obj, "release", m));
}

int ps_lock_locked(ps_lock *l, int *out)
{
	struct ps_req r;
	char m[PS_METHOD_MAX];

	if (ps_req_begin(&r, l) < 0)
		return -1;
	return ps_req_call_bool(&r, ps_obj_method(&l->obj, "locked", m), out);
}

/* ---- Semaphore and BoundedSemaphore ---- */

/* Starts the creation args [value] and returns the type. */
static const char *semaphore_args(struct ps_req *a, ps_ctx *ctx, int64_t value, int bounded)
{
	ps_args_init(a, ctx, 1);
	ps_req_int(a, value);
	return bounded ? "boundedsemaphore" : "semaphore";
}

ps_semaphore *ps_semaphore_open(ps_ctx *ctx, const char *name, int64_t value, int bounded)
{
	struct ps_req a;
	const char *type = semaphore_args(&a, ctx, value, bounded);

	return ps_proxy_open(ctx, sizeof(ps_semaphore), type, name, &a);
}

ps_semaphore *ps_semaphore_new(ps_ctx *ctx, int64_t value, int bounded)
{
	struct ps_req a;
	const char *type = semaphore_args(&a, ctx, value, bounded);

	return ps_proxy_new(ctx, sizeof(ps_semaphore), type, &a);
}

void ps_semaphore_free(ps_semaphore *s)
{
	ps_proxy_free(s);
}

uint64_t ps_semaphore_id(const ps_semaphore *s)
{
	return s != NULL ? s->obj.id : 0;
}

int ps_semaphore_acquire(ps_semaphore *s, int blocking, double timeout, struct ps_acquired *info)
{
	return ps_lock_call_acquire(s, blocking, timeout, info);
}

int ps_semaphore_release_n(ps_semaphore *s, int64_t n)
{
	struct ps_req r;
	char m[PS_METHOD_MAX];

	if (ps_req_begin(&r, s) < 0)
		return -1;
	ps_req_int(&r, n);
	return ps_req_call(&r, ps_obj_method(&s->obj, "release", m), NULL);
}

int ps_semaphore_release(ps_semaphore *s)
{
	return ps_semaphore_release_n(s, 1);
}
