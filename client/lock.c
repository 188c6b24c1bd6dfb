/*
 * The Lock, RLock, Semaphore and BoundedSemaphore proxies (proto/PROTOCOL.md,
 * "lock, rlock, semaphore, boundedsemaphore"), and what the other
 * synchronisation proxies (condition.c, event.c, barrier.c) share with
 * them: the timeout param of a blocking call and the acquire result.
 *
 * A blocking call may legitimately wait in the daemon as long as its own
 * timeout says (forever without one), so its request carries that wait as
 * hold_ms: the context's timeout then only bounds the time beyond it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Longest timeout the daemon accepts, in seconds. */
#define LOCK_TIMEOUT_MAX 1e9

struct ps_lock {
	struct ps_obj obj;
	const char *type;       /* "lock" or "rlock" */
};

struct ps_semaphore {
	struct ps_obj obj;
	const char *type;       /* "semaphore" or "boundedsemaphore" */
};

/* ---- shared with condition.c, event.c, barrier.c ---- */

void ps_lock_req_timeout(struct ps_req *r, double timeout)
{
	if (timeout < 0) {
		ps_req_value(r, "timeout", "\xc0", 1);
		r->hold_ms = -1;
		return;
	}
	ps_req_double(r, timeout);
	/* A NaN or out-of-range timeout is refused by the daemon at once. */
	if (!(timeout <= LOCK_TIMEOUT_MAX)) {
		r->hold_ms = 0;
		return;
	}
	/* Rounded up as the daemon does (by hand: no libm). */
	r->hold_ms = (int64_t)(timeout * 1000.0);
	if ((double)r->hold_ms < timeout * 1000.0)
		r->hold_ms++;
}

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

int ps_lock_call_acquire(const struct ps_obj *o, const char *method, int blocking, double timeout,
			 struct ps_acquired *info)
{
	struct ps_reply rep;
	struct ps_req r;

	if (ps_req_begin(&r, o) < 0)
		return -1;
	ps_req_bool(&r, blocking != 0);
	if (blocking) {
		ps_lock_req_timeout(&r, timeout);
	} else {
		ps_req_value(&r, "timeout", "\xc0", 1);
		r.hold_ms = 0;
	}
	if (ps_req_call(&r, method, &rep) < 0)
		return -1;
	return lock_read_acquired(o->ctx, &rep, info);
}

/* ---- opening ---- */

/* Opens (name) or creates (NULL) an object of type with the creation
 * args args[0..alen) into o. */
static int lock_take(struct ps_obj *o, ps_ctx *ctx, const char *type, const char *name, const void *args,
		     size_t alen)
{
	if (name != NULL)
		return ps_obj_open_args(o, ctx, type, name, args, alen);
	return ps_obj_create_args(o, ctx, type, args, alen);
}

static ps_lock *lock_make(ps_ctx *ctx, const char *name, enum ps_lock_kind kind)
{
	ps_lock *l;

	if (ctx == NULL)
		return NULL;
	if (kind != PS_LOCK && kind != PS_RLOCK) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: kind is neither PS_LOCK nor PS_RLOCK");
		return NULL;
	}
	l = malloc(sizeof *l);
	if (l == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	l->type = kind == PS_RLOCK ? "rlock" : "lock";
	if (lock_take(&l->obj, ctx, l->type, name, "\x90", 1) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

ps_lock *ps_lock_open(ps_ctx *ctx, const char *name, enum ps_lock_kind kind)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return lock_make(ctx, name, kind);
}

ps_lock *ps_lock_new(ps_ctx *ctx, enum ps_lock_kind kind)
{
	return lock_make(ctx, NULL, kind);
}

void ps_lock_free(ps_lock *l)
{
	if (l == NULL)
		return;
	ps_obj_release(&l->obj);
	free(l);
}

uint64_t ps_lock_id(const ps_lock *l)
{
	return l != NULL ? l->obj.id : 0;
}

/* ---- Lock and RLock ---- */

/* "acquire" -> "lock.acquire" or "rlock.acquire". */
static const char *lock_method(char *buf, size_t len, const char *type, const char *name)
{
	size_t t = strlen(type), n = strlen(name);

	if (t + 1 + n + 1 > len)
		return name;    /* unreachable: callers pass short names */
	memcpy(buf, type, t);
	buf[t] = '.';
	memcpy(buf + t + 1, name, n + 1);
	return buf;
}

int ps_lock_acquire(ps_lock *l, int blocking, double timeout, struct ps_acquired *info)
{
	char m[32];

	if (l == NULL)
		return -1;
	return ps_lock_call_acquire(&l->obj, lock_method(m, sizeof m, l->type, "acquire"), blocking, timeout,
				    info);
}

int ps_lock_release(ps_lock *l)
{
	struct ps_req r;
	char m[32];

	if (l == NULL || ps_req_begin(&r, &l->obj) < 0)
		return -1;
	return ps_req_call(&r, lock_method(m, sizeof m, l->type, "release"), NULL);
}

int ps_lock_locked(ps_lock *l, int *out)
{
	struct ps_reply rep;
	struct ps_req r;
	char m[32];

	if (l == NULL || ps_req_begin(&r, &l->obj) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, lock_method(m, sizeof m, l->type, "locked"), &rep) < 0)
		return -1;
	return ps_reply_bool(r.ctx, &rep, out);
}

/* ---- Semaphore and BoundedSemaphore ---- */

static ps_semaphore *semaphore_make(ps_ctx *ctx, const char *name, int64_t value, int bounded)
{
	struct ps_buf b;
	msgpack_packer pk;
	ps_semaphore *s;
	int r;

	if (ctx == NULL)
		return NULL;
	s = malloc(sizeof *s);
	if (s == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	s->type = bounded ? "boundedsemaphore" : "semaphore";
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int64(&pk, value);
	if (b.oom)
		r = ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	else
		r = lock_take(&s->obj, ctx, s->type, name, b.data, b.len);
	ps_buf_free(&b);
	if (r < 0) {
		free(s);
		return NULL;
	}
	return s;
}

ps_semaphore *ps_semaphore_open(ps_ctx *ctx, const char *name, int64_t value, int bounded)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return semaphore_make(ctx, name, value, bounded);
}

ps_semaphore *ps_semaphore_new(ps_ctx *ctx, int64_t value, int bounded)
{
	return semaphore_make(ctx, NULL, value, bounded);
}

void ps_semaphore_free(ps_semaphore *s)
{
	if (s == NULL)
		return;
	ps_obj_release(&s->obj);
	free(s);
}

uint64_t ps_semaphore_id(const ps_semaphore *s)
{
	return s != NULL ? s->obj.id : 0;
}

int ps_semaphore_acquire(ps_semaphore *s, int blocking, double timeout, struct ps_acquired *info)
{
	char m[32];

	if (s == NULL)
		return -1;
	return ps_lock_call_acquire(&s->obj, lock_method(m, sizeof m, s->type, "acquire"), blocking, timeout,
				    info);
}

int ps_semaphore_release_n(ps_semaphore *s, int64_t n)
{
	struct ps_req r;
	char m[32];

	if (s == NULL || ps_req_begin(&r, &s->obj) < 0)
		return -1;
	ps_req_int(&r, n);
	return ps_req_call(&r, lock_method(m, sizeof m, s->type, "release"), NULL);
}

int ps_semaphore_release(ps_semaphore *s)
{
	return ps_semaphore_release_n(s, 1);
}
