/*
 * Daemon statistics and object introspection. Counters are kept where
 * things happen (conn.c counts connections and bytes, dispatch.c
 * requests, val.c the bytes of stored values); this file samples the
 * request count once a second for the rate, and packs the answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "call.h"
#include "conn.h"
#include "daemon.h"
#include "registry.h"
#include "stats.h"
#include "types.h"
#include "val.h"
#include "wait.h"

/* Distinct types counted by "info"; there are far fewer. */
#define STATS_MAX_TYPES 64
#define STATS_RING (STATS_WINDOW + 1)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stats *s = arg;

	(void)fd;
	(void)what;
	s->samples[s->next] = s->requests;
	s->next = (s->next + 1) % STATS_RING;
	if (s->nsamples < STATS_RING)
		s->nsamples++;
}

int stats_start(struct daemon *d)
{
	struct timeval second = { 1, 0 };

	d->stats.started_ms = now_ms();
	d->stats.tick = event_new(d->base, -1, EV_PERSIST, tick_cb, &d->stats);
	if (d->stats.tick == NULL || event_add(d->stats.tick, &second) < 0)
		return -1;
	return 0;
}

void stats_stop(struct daemon *d)
{
	if (d->stats.tick != NULL)
		event_free(d->stats.tick);
	d->stats.tick = NULL;
}

/* Requests per second over the last STATS_WINDOW whole seconds; since
 * start-up while fewer than two samples exist. */
static double request_rate(const struct stats *s, double uptime)
{
	uint64_t newest, oldest;

	if (s->nsamples < 2)
		return uptime > 0 ? (double)s->requests / uptime : 0.0;
	newest = s->samples[(s->next + STATS_RING - 1) % STATS_RING];
	oldest = s->samples[s->nsamples < STATS_RING ? 0 : s->next];
	return (double)(newest - oldest) / (double)(s->nsamples - 1);
}

/* Resident memory from /proc/self/statm; -1 when unavailable. */
static int64_t rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	if (n != 2)
		return -1;
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

static void pack_key(msgpack_packer *pk, const char *key)
{
	ps_mp_pack_cstr(pk, key);
}

static void kv_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
	pack_key(pk, key);
	msgpack_pack_uint64(pk, v);
}

static void kv_double(msgpack_packer *pk, const char *key, double v)
{
	pack_key(pk, key);
	msgpack_pack_double(pk, v);
}

/* {"dict": 3, "list": 1}: live objects by type, in order of first sight. */
static void pack_by_type(msgpack_packer *pk, const struct registry *reg)
{
	const struct type *types[STATS_MAX_TYPES];
	uint64_t counts[STATS_MAX_TYPES];
	struct odict_entry *e;
	size_t pos = 0, n = 0, i;

	while ((e = odict_next(&reg->by_id, &pos)) != NULL) {
		const struct object *obj = e->value;
		for (i = 0; i < n && types[i] != obj->type; i++)
			;
		if (i == n && n < STATS_MAX_TYPES) {
			types[n] = obj->type;
			counts[n++] = 0;
		}
		if (i < n)
			counts[i]++;
	}
	msgpack_pack_map(pk, (uint32_t)n);
	for (i = 0; i < n; i++)
		kv_uint(pk, types[i]->name, counts[i]);
}

int stats_info(struct call *c)
{
	const struct daemon *d = c->d;
	const struct stats *s = &d->stats;
	double uptime = (double)(now_ms() - s->started_ms) / 1000.0;
	int64_t rss = rss_bytes();
	msgpack_packer *pk = &c->pk;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_map(pk, 20);
	pack_key(pk, "version");
	ps_mp_pack_cstr(pk, PS_VERSION);
	kv_uint(pk, "protocol", PS_PROTO_VERSION);
	kv_uint(pk, "pid", (uint64_t)getpid());
	kv_double(pk, "uptime", uptime);
	kv_uint(pk, "connections", d->nconns);
	kv_uint(pk, "connections_encrypted", d->nsealed);
	kv_uint(pk, "connections_total", s->conns_total);
	kv_uint(pk, "connections_refused", s->conns_refused);
	kv_uint(pk, "auth_failures", s->auth_failures);
	kv_uint(pk, "objects", d->reg.by_id.count);
	kv_uint(pk, "named_objects", d->reg.by_name.count);
	pack_key(pk, "objects_by_type");
	pack_by_type(pk, &d->reg);
	pack_key(pk, "memory_rss");
	if (rss < 0)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_uint64(pk, (uint64_t)rss);
	kv_uint(pk, "memory_values", d->reg.held_bytes);
	kv_uint(pk, "memory_buffers", d->reg.other_bytes);
	kv_uint(pk, "memory_limit", d->reg.max_bytes);
	kv_uint(pk, "requests", s->requests);
	kv_double(pk, "requests_per_second", request_rate(s, uptime));
	kv_uint(pk, "bytes_in", s->bytes_in);
	kv_uint(pk, "bytes_out", s->bytes_out);
	return 0;
}

void stats_pack_conn(msgpack_packer *pk, const struct conn *c)
{
	msgpack_pack_map(pk, 2);
	kv_uint(pk, "conn", c->id);
	pack_key(pk, "peer");
	ps_mp_pack_cstr(pk, c->peer);
}

/* ---- describe ---- */

/* The wait queues holding parked calls on obj, found through the
 * connections' lists of parked calls: types keep their queues to
 * themselves. */
static size_t find_queues(const struct daemon *d, const struct object *obj, struct waitq ***qs)
{
	const struct conn *conn;
	const struct waiter *w;
	struct waitq **q = NULL, **bigger;
	size_t n = 0, cap = 0, i;

	TAILQ_FOREACH(conn, &d->conns, entry) {
		TAILQ_FOREACH(w, &conn->waiters, clink) {
			if (w->obj != obj)
				continue;
			for (i = 0; i < n && q[i] != w->q; i++)
				;
			if (i < n)
				continue;
			if (n == cap) {
				/* Out of memory: the listing misses this queue. */
				size_t ncap = cap ? 2 * cap : 4;
				bigger = realloc(q, ncap * sizeof *q);
				if (bigger == NULL)
					continue;
				q = bigger;
				cap = ncap;
			}
			q[n++] = w->q;
		}
	}
	*qs = q;
	return n;
}

/* Every call parked on obj, each queue in the order it will be served. */
static void pack_waiters(struct call *c, const struct object *obj)
{
	struct waitq **qs;
	const struct waiter *w;
	size_t nq = find_queues(c->d, obj, &qs);
	uint32_t n = 0;

	for (size_t i = 0; i < nq; i++)
		TAILQ_FOREACH(w, &qs[i]->head, qlink)
			n += w->obj == obj;
	msgpack_pack_array(&c->pk, n);
	for (size_t i = 0; i < nq; i++)
		TAILQ_FOREACH(w, &qs[i]->head, qlink)
			if (w->obj == obj)
				stats_pack_conn(&c->pk, w->conn);
	free(qs);
}

/* The object named by an id or a name. */
static int arg_object(struct call *c, struct object **obj)
{
	struct ps_mp_tok t;
	const uint8_t *v;
	size_t len;

	if (call_arg_raw(c, "id or name", &v, &len) < 0)
		return -1;
	if (ps_mp_token(v, len, &t) != 1 || (t.type != PS_MP_UINT && t.type != PS_MP_STR))
		return call_error(c, PS_E_TYPE, "describe takes an object id or name");
	if (t.type == PS_MP_STR) {
		*obj = registry_find(c->reg, (const char *)t.data, t.v.n);
		if (*obj == NULL)
			return call_error(c, PS_E_NOSUCHOBJECT, "no object named '%.*s'", (int)(t.v.n > 64 ? 64 : t.v.n),
					  (const char *)t.data);
		return 0;
	}
	*obj = registry_get(c->reg, t.v.u);
	if (*obj == NULL)
		return call_error(c, PS_E_NOSUCHOBJECT, "no object with id %llu", (unsigned long long)t.v.u);
	return 0;
}

int stats_describe(struct call *c)
{
	struct object *obj;
	msgpack_packer *pk = &c->pk;

	if (arg_object(c, &obj) < 0 || call_no_more(c) < 0)
		return -1;
	msgpack_pack_map(pk, 7);
	kv_uint(pk, "id", obj->id);
	pack_key(pk, "type");
	ps_mp_pack_cstr(pk, obj->type->name);
	pack_key(pk, "name");
	if (obj->name != NULL) {
		msgpack_pack_str(pk, obj->name->len);
		msgpack_pack_str_body(pk, obj->name->data, obj->name->len);
	} else {
		msgpack_pack_nil(pk);
	}
	kv_uint(pk, "size", obj->type->size(obj->data));
	kv_uint(pk, "refs", obj->refs);
	pack_key(pk, "waiters");
	pack_waiters(c, obj);
	pack_key(pk, "state");
	if (obj->type->describe != NULL) {
		c->obj = obj;
		obj->type->describe(c, obj->data);
	} else {
		msgpack_pack_nil(pk);
	}
	return 0;
}
