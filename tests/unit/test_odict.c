/*
 * Unit tests of daemon/odict.c, the insertion-ordered hash table: insert,
 * lookup, delete, order, growth, tombstones and churn. Keys are built
 * here with chosen hashes, so collisions can be forced.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "odict.h"
#include "val.h"

/* FNV-1a: any decent spread will do for the ordinary cases. */
static uint64_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static struct val *key_hash(const char *s, uint64_t hash)
{
	size_t n = strlen(s);
	struct val *v = malloc(sizeof *v + n);

	assert_non_null(v);
	v->len = (uint32_t)n;
	v->nrefs = 0;
	v->hash = hash;
	memcpy(v->data, s, n);
	return v;
}

static struct val *key(const char *s)
{
	return key_hash(s, fnv(s, strlen(s)));
}

static struct odict_entry *find(const struct odict *d, const char *s)
{
	return odict_find(d, (const uint8_t *)s, strlen(s), fnv(s, strlen(s)));
}

static struct odict_entry *find_hash(const struct odict *d, const char *s, uint64_t hash)
{
	return odict_find(d, (const uint8_t *)s, strlen(s), hash);
}

/* Removes e and frees its key (after the call, as the contract says). */
static void remove_entry(struct odict *d, struct odict_entry *e)
{
	struct val *k = e->key;

	odict_remove(d, e);
	free(k);
}

static void free_all(struct odict *d)
{
	size_t pos = 0;
	struct odict_entry *e;

	while ((e = odict_next(d, &pos)) != NULL)
		free(e->key);
	odict_free(d);
}

/* The live keys in iteration order, joined by ",". */
static void order(const struct odict *d, char *out, size_t cap)
{
	size_t pos = 0, n = 0;
	struct odict_entry *e;

	out[0] = '\0';
	while ((e = odict_next(d, &pos)) != NULL)
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)e->key->len, (const char *)e->key->data);
}

static void test_empty(void **state)
{
	struct odict d;
	size_t pos = 0;

	(void)state;
	odict_init(&d);
	assert_int_equal(d.count, 0);
	assert_null(find(&d, "x"));
	assert_null(odict_next(&d, &pos));
	assert_null(odict_last(&d));
	odict_free(&d);
	odict_free(&d);
	assert_null(d.entries);
	assert_null(d.slots);
}

static void test_insert_find(void **state)
{
	struct odict d;
	struct odict_entry *e;
	int a = 1, b = 2;

	(void)state;
	odict_init(&d);
	e = odict_insert(&d, key("alpha"), &a);
	assert_non_null(e);
	assert_ptr_equal(e->value, &a);
	assert_non_null(odict_insert(&d, key("beta"), &b));
	assert_int_equal(d.count, 2);
	e = find(&d, "alpha");
	assert_non_null(e);
	assert_ptr_equal(e->value, &a);
	assert_memory_equal(e->key->data, "alpha", 5);
	e = find(&d, "beta");
	assert_non_null(e);
	assert_ptr_equal(e->value, &b);
	assert_null(find(&d, "gamma"));
	assert_null(find(&d, "alph"));
	/* Same hash, other bytes: not a match. */
	assert_null(find_hash(&d, "alphb", fnv("alpha", 5)));
	free_all(&d);
}

static void test_order_and_last(void **state)
{
	struct odict d;
	char buf[256];
	struct odict_entry *e;

	(void)state;
	odict_init(&d);
	odict_insert(&d, key("c"), NULL);
	odict_insert(&d, key("a"), NULL);
	odict_insert(&d, key("b"), NULL);
	odict_insert(&d, key("d"), NULL);
	order(&d, buf, sizeof buf);
	assert_string_equal(buf, "c,a,b,d");
	assert_memory_equal(odict_last(&d)->key->data, "d", 1);
	/* Removing from the middle keeps the others' order. */
	remove_entry(&d, find(&d, "a"));
	order(&d, buf, sizeof buf);
	assert_string_equal(buf, "c,b,d");
	assert_int_equal(d.count, 3);
	/* A key inserted again goes to the end (Python dict semantics). */
	odict_insert(&d, key("a"), NULL);
	order(&d, buf, sizeof buf);
	assert_string_equal(buf, "c,b,d,a");
	/* popitem order: the last live entry, each time. */
	remove_entry(&d, odict_last(&d));
	assert_memory_equal(odict_last(&d)->key->data, "d", 1);
	remove_entry(&d, odict_last(&d));
	assert_memory_equal(odict_last(&d)->key->data, "b", 1);
	remove_entry(&d, find(&d, "c"));
	e = odict_last(&d);
	assert_non_null(e);
	assert_memory_equal(e->key->data, "b", 1);
	remove_entry(&d, e);
	assert_null(odict_last(&d));
	assert_int_equal(d.count, 0);
	assert_null(find(&d, "b"));
	free_all(&d);
}

/* Growth across many entries: every key stays findable, in order. */
static void test_growth(void **state)
{
	enum { N = 20000 };
	struct odict d;
	char s[32];
	size_t pos = 0, k = 0;
	struct odict_entry *e;

	(void)state;
	odict_init(&d);
	for (size_t i = 0; i < N; i++) {
		snprintf(s, sizeof s, "key-%zu", i);
		e = odict_insert(&d, key(s), (void *)(uintptr_t)(i + 1));
		assert_non_null(e);
		/* Spot checks while growing. */
		if (i % 997 == 0)
			for (size_t j = 0; j <= i; j += 101) {
				snprintf(s, sizeof s, "key-%zu", j);
				assert_non_null(find(&d, s));
			}
	}
	assert_int_equal(d.count, N);
	assert_true(d.nslots >= 2 * d.cap);
	assert_true(d.cap >= N);
	for (size_t i = 0; i < N; i++) {
		snprintf(s, sizeof s, "key-%zu", i);
		e = find(&d, s);
		assert_non_null(e);
		assert_int_equal((uintptr_t)e->value, i + 1);
	}
	while ((e = odict_next(&d, &pos)) != NULL) {
		assert_int_equal((uintptr_t)e->value, k + 1);
		k++;
	}
	assert_int_equal(k, N);
	free_all(&d);
}

/* All keys in one probe chain: lookups walk past other keys and past
 * tombstones, and a freed slot is taken again. */
static void test_collisions_and_tombstones(void **state)
{
	enum { N = 60 };
	struct odict d;
	char s[16];

	(void)state;
	odict_init(&d);
	for (int i = 0; i < N; i++) {
		snprintf(s, sizeof s, "c%d", i);
		assert_non_null(odict_insert(&d, key_hash(s, 42), (void *)(intptr_t)i));
	}
	for (int i = 0; i < N; i += 2) {
		snprintf(s, sizeof s, "c%d", i);
		remove_entry(&d, find_hash(&d, s, 42));
	}
	assert_int_equal(d.count, N / 2);
	for (int i = 0; i < N; i++) {
		struct odict_entry *e;

		snprintf(s, sizeof s, "c%d", i);
		e = find_hash(&d, s, 42);
		if (i % 2 == 0) {
			assert_null(e);
		} else {
			assert_non_null(e);
			assert_int_equal((intptr_t)e->value, i);
		}
	}
	/* Put the removed ones back: all findable once each. */
	for (int i = 0; i < N; i += 2) {
		snprintf(s, sizeof s, "c%d", i);
		assert_null(find_hash(&d, s, 42));
		assert_non_null(odict_insert(&d, key_hash(s, 42), (void *)(intptr_t)i));
	}
	assert_int_equal(d.count, N);
	for (int i = 0; i < N; i++) {
		struct odict_entry *e;

		snprintf(s, sizeof s, "c%d", i);
		e = find_hash(&d, s, 42);
		assert_non_null(e);
		assert_int_equal((intptr_t)e->value, i);
	}
	free_all(&d);
}

/* Removing every entry while iterating visits each one once. */
static void test_remove_while_iterating(void **state)
{
	struct odict d;
	char s[16];
	size_t pos = 0, seen = 0;
	struct odict_entry *e;

	(void)state;
	odict_init(&d);
	for (int i = 0; i < 100; i++) {
		snprintf(s, sizeof s, "i%d", i);
		odict_insert(&d, key(s), (void *)(intptr_t)i);
	}
	while ((e = odict_next(&d, &pos)) != NULL) {
		assert_int_equal((intptr_t)e->value, (intptr_t)seen);
		seen++;
		remove_entry(&d, e);
	}
	assert_int_equal(seen, 100);
	assert_int_equal(d.count, 0);
	free_all(&d);
}

/* After odict_reserve(n), n inserts do not move the entries (so they
 * cannot fail). */
static void test_reserve(void **state)
{
	struct odict d;
	struct odict_entry *before;
	char s[16];

	(void)state;
	odict_init(&d);
	odict_insert(&d, key("first"), NULL);
	assert_int_equal(odict_reserve(&d, 500), 0);
	before = d.entries;
	for (int i = 0; i < 500; i++) {
		snprintf(s, sizeof s, "r%d", i);
		assert_non_null(odict_insert(&d, key(s), NULL));
	}
	assert_ptr_equal(d.entries, before);
	assert_int_equal(d.count, 501);
	free_all(&d);
}

/* Churn runs in a child: a table that never finds an empty probe slot
 * loops forever, and the child's alarm turns that into a failure. The
 * child reports 0 when the table held up, else a step number. */
static int churn_child(int pattern)
{
	struct odict d;
	char s[32];

	alarm(5);
	odict_init(&d);
	for (int i = 0; i < 100000; i++) {
		struct odict_entry *e;
		struct val *k;

		snprintf(s, sizeof s, "churn-%d", i);
		k = key(s);
		if (odict_insert(&d, k, NULL) == NULL)
			return 1;
		if (pattern == 0) {
			/* stack: insert, pop the last */
			e = odict_last(&d);
		} else {
			/* queue with a few live keys: drop the oldest */
			size_t pos = 0;

			if (d.count < 8)
				continue;
			e = odict_next(&d, &pos);
		}
		if (e == NULL)
			return 2;
		remove_entry(&d, e);
		if (d.cap > 1024 || d.nslots > 4096)
			return 3;   /* grew without bound */
	}
	/* Still consistent at the end. */
	for (int i = 0; i < 100; i++) {
		snprintf(s, sizeof s, "after-%d", i);
		if (odict_insert(&d, key(s), NULL) == NULL)
			return 4;
	}
	for (int i = 0; i < 100; i++) {
		snprintf(s, sizeof s, "after-%d", i);
		if (find(&d, s) == NULL)
			return 5;
	}
	free_all(&d);
	return 0;
}

static void run_churn(int pattern)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(churn_child(pattern));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("churn pattern %d: killed by signal %d%s", pattern, WTERMSIG(status),
			 WTERMSIG(status) == SIGALRM ? " (hung: no empty slot left to end a probe)" : "");
	if (WEXITSTATUS(status) != 0)
		fail_msg("churn pattern %d: failed at check %d", pattern, WEXITSTATUS(status));
}

/* Insert then pop, 100000 distinct keys (a dict used as a stack). */
static void test_churn_stack(void **state)
{
	(void)state;
	run_churn(0);
}

/* A sliding window of 8 live keys over 100000 distinct keys. */
static void test_churn_window(void **state)
{
	(void)state;
	run_churn(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_insert_find),
		cmocka_unit_test(test_order_and_last),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_collisions_and_tombstones),
		cmocka_unit_test(test_remove_while_iterating),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_churn_stack),
		cmocka_unit_test(test_churn_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
