/*
 * The libprocshare engine: each connection is a context of its own, driven
 * by its own thread through the public blocking API (ps_dict_get,
 * ps_queue_put, ...), one call at a time. This is what a program linking
 * the library gets, client-side costs included.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"
#include "procshare.h"

struct worker {
	const struct lg_opts *o;
	const uint8_t *key;
	size_t keylen;
	int idx;
	pthread_barrier_t *start;
	uint64_t *issued;       /* shared budget when counting operations */
	pthread_mutex_t *mu;
	uint64_t deadline;
	ps_ctx *ctx;
	ps_dict *dict;
	ps_list *list;
	ps_queue *queue;
	ps_lock *lock;
	ps_value *value;
	struct lg_result res;
	uint64_t t_end;         /* when its last operation was answered */
	int failed;
	int encrypted;          /* ps_encrypted() of its context */
};

static const uint8_t one_enc[] = { 0x01 };

static int open_proxies(struct worker *w)
{
	char name[32];

	w->ctx = ps_connect_mode(w->o->addr, w->key, w->keylen, w->o->enc);
	if (w->ctx == NULL || ps_err(w->ctx) != 0)
		return -1;
	w->dict = ps_dict_open(w->ctx, "bench.dict");
	w->list = ps_list_open(w->ctx, "bench.list");
	w->queue = ps_queue_open(w->ctx, "bench.queue", 0);
	w->value = ps_value_open_int(w->ctx, "bench.value", 'q', 0);
	snprintf(name, sizeof name, "bench.lock.%d", w->idx);
	w->lock = ps_lock_open(w->ctx, name, PS_LOCK);
	if (w->dict == NULL || w->list == NULL || w->queue == NULL || w->value == NULL || w->lock == NULL)
		return -1;
	return 0;
}

static void close_proxies(struct worker *w)
{
	ps_dict_free(w->dict);
	ps_list_free(w->list);
	ps_queue_free(w->queue);
	ps_value_free(w->value);
	ps_lock_free(w->lock);
	ps_free(w->ctx);
}

static int one_op(struct worker *w, enum lg_op op, uint64_t *rng)
{
	const uint8_t *value = w->o->value;
	size_t value_len = w->o->value_len, vlen;
	uint8_t k[17] = { 0xb0 };       /* fixstr of 16 bytes */
	void *val = NULL;
	int r;

	*rng ^= *rng >> 12;
	*rng ^= *rng << 25;
	*rng ^= *rng >> 27;
	wire_key((char *)k + 1, (*rng * 2685821657736338717ULL) % (uint64_t)w->o->keys);
	switch (op) {
	case OP_GET:
		r = ps_dict_get(w->dict, k, sizeof k, &val, &vlen);
		break;
	case OP_SET:
		r = ps_dict_set(w->dict, k, sizeof k, value, value_len);
		break;
	case OP_APPEND:
		r = ps_list_append(w->list, value, value_len);
		break;
	case OP_QUEUE:
		r = ps_queue_put(w->queue, value, value_len, 1, -1);
		if (r == 0)
			r = ps_queue_get(w->queue, 1, -1, &val, &vlen);
		break;
	case OP_LOCK:
		r = ps_lock_acquire(w->lock, 1, -1, NULL) < 0 ? -1 : ps_lock_release(w->lock);
		break;
	case OP_VALUE:
		r = ps_value_add(w->value, one_enc, sizeof one_enc, NULL, NULL);
		break;
	default:
		r = ps_ping(w->ctx);
		break;
	}
	free(val);
	return r;
}

static bool take_one(struct worker *w, uint64_t now)
{
	bool ok;

	if (w->o->ops == 0)
		return now < w->deadline;
	pthread_mutex_lock(w->mu);
	ok = *w->issued < w->o->ops;
	if (ok)
		(*w->issued)++;
	pthread_mutex_unlock(w->mu);
	return ok;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->idx + 1), t, now;
	int pos = w->idx;
	bool ok = open_proxies(w) == 0;

	if (!ok)
		fprintf(stderr, "loadgen: connection %d: %s\n", w->idx, w->ctx ? ps_errstr(w->ctx) : "out of memory");
	pthread_barrier_wait(w->start);
	w->deadline = wire_now_ns() + (uint64_t)(w->o->secs * 1e9);
	t = wire_now_ns();
	while (ok && take_one(w, t)) {
		if (one_op(w, w->o->sched[pos++ % w->o->nsched], &rng) < 0) {
			w->res.errors++;
			if (w->res.errors == 1)
				fprintf(stderr, "loadgen: error: %s\n", ps_errstr(w->ctx));
			if (ps_err(w->ctx) != PS_ERR_REMOTE)
				break;
		}
		now = wire_now_ns();
		hist_add(&w->res.lat, now - t);
		w->res.ops++;
		t = now;
	}
	w->t_end = wire_now_ns();
	w->failed = !ok;
	w->encrypted = ok ? ps_encrypted(w->ctx) : -1;
	close_proxies(w);
	return NULL;
}

int lib_run(const struct lg_opts *o, const uint8_t *key, size_t keylen, struct lg_result *res)
{
	struct worker *w = calloc((size_t)o->conns, sizeof *w);
	pthread_t *th = calloc((size_t)o->conns, sizeof *th);
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_barrier_t start;
	uint64_t issued = 0, t0, t_end = 0;
	int r = 0;

	if (w == NULL || th == NULL) {
		free(w);
		free(th);
		return -1;
	}
	pthread_barrier_init(&start, NULL, (unsigned)o->conns + 1);
	for (int i = 0; i < o->conns; i++) {
		w[i] = (struct worker){ .o = o, .key = key, .keylen = keylen, .idx = i, .start = &start,
					.issued = &issued, .mu = &mu };
		if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "loadgen: cannot start thread %d\n", i);
			exit(1);
		}
	}
	pthread_barrier_wait(&start);
	t0 = wire_now_ns();
	for (int i = 0; i < o->conns; i++) {
		pthread_join(th[i], NULL);
		res->ops += w[i].res.ops;
		res->errors += w[i].res.errors;
		hist_merge(&res->lat, &w[i].res.lat);
		if (w[i].failed)
			r = -1;
		if (i == 0)
			res->encrypted = w[i].encrypted;
		else if (res->encrypted != w[i].encrypted)
			res->encrypted = -1;
		if (w[i].t_end > t_end)
			t_end = w[i].t_end;
	}
	res->secs = (double)(t_end - t0) / 1e9;
	pthread_barrier_destroy(&start);
	free(w);
	free(th);
	return r;
}
