/*
 * Unit tests of daemon/dtab.c, the dict's dense table: records (key and
 * value in one allocation, lengths of every size, in-place and new-record
 * value changes, the stored-bytes charge), and the table (lookup, order,
 * growth, removal, compaction with the swept count, forced collisions,
 * churn). Keys are raw bytes with hashes chosen here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dtab.h"
#include "registry.h"
#include "val.h"

static uint64_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static struct registry reg;

static int setup(void **state)
{
	(void)state;
	return registry_init(&reg);
}

static int teardown(void **state)
{
	(void)state;
	registry_free(&reg);
	return 0;
}

static struct dtab_rec *rec(const char *k, const char *v)
{
	struct dtab_rec *r = dtab_rec_new(&reg, (const uint8_t *)k, strlen(k), false, (const uint8_t *)v, strlen(v),
					  false, fnv(k, strlen(k)));

	assert_non_null(r);
	return r;
}

static struct dtab_rec **find(const struct dtab *t, const char *k)
{
	return dtab_find(t, (const uint8_t *)k, strlen(k), fnv(k, strlen(k)));
}

static void assert_value(const struct dtab_rec *r, const char *v)
{
	size_t len;
	const uint8_t *p = dtab_value(r, &len);

	assert_int_equal(len, strlen(v));
	assert_memory_equal(p, v, len);
}

static void clear(struct dtab *t)
{
	struct dtab_rec **e;
	size_t pos = 0;

	while ((e = dtab_next(t, &pos)) != NULL)
		dtab_rec_free(&reg, *e);
	dtab_free(t);
}

/* Keys and values of every length class of the varint header, and the
 * charge: two stored values of 16-byte header each. */
static void test_record_layout(void **state)
{
	size_t sizes[] = { 0, 1, 127, 128, 300, 16383, 16384, 70000 };
	size_t held = reg.held_bytes;

	(void)state;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
			uint8_t *k = malloc(sizes[i] + 1), *v = malloc(sizes[j] + 1);
			const uint8_t *p;
			size_t len;
			struct dtab_rec *r;

			memset(k, 'k', sizes[i]);
			memset(v, 'v', sizes[j]);
			r = dtab_rec_new(&reg, k, sizes[i], false, v, sizes[j], false, 42);
			assert_non_null(r);
			assert_int_equal(reg.held_bytes, held + 32 + sizes[i] + sizes[j]);
			p = dtab_key(r, &len);
			assert_int_equal(len, sizes[i]);
			assert_memory_equal(p, k, len);
			p = dtab_value(r, &len);
			assert_int_equal(len, sizes[j]);
			assert_memory_equal(p, v, len);
			assert_int_equal(dtab_rec_hash(r), 42);
			dtab_rec_free(&reg, r);
			assert_int_equal(reg.held_bytes, held);
			free(k);
			free(v);
		}
	}
	/* An int key and an 8-character str fit malloc's 32-byte chunk. */
	assert_true(dtab_rec_size(5, 9) <= 24);
	dtab_rec_free(&reg, NULL);
}

static void test_set_value(void **state)
{
	struct dtab_rec *r = rec("key", "abc"), *r2;

	(void)state;
	assert_int_equal(dtab_rec_set_value(&reg, r, (const uint8_t *)"xyz", 3, false), 0);
	assert_value(r, "xyz");
	assert_int_equal(dtab_rec_set_value(&reg, r, (const uint8_t *)"long", 4, false), -1);
	assert_value(r, "xyz");
	r2 = dtab_rec_with_value(&reg, r, (const uint8_t *)"longer", 6, false);
	assert_non_null(r2);
	assert_value(r2, "longer");
	assert_int_equal(dtab_rec_hash(r2), dtab_rec_hash(r));
	dtab_rec_free(&reg, r);
	dtab_rec_free(&reg, r2);
}

static void test_insert_find_order(void **state)
{
	struct dtab t;
	struct dtab_rec **e;
	char k[32], v[32];
	size_t pos = 0, n = 0;

	(void)state;
	dtab_init(&t);
	assert_null(find(&t, "absent"));
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "k%d", i);
		snprintf(v, sizeof v, "v%d", i);
		assert_non_null(dtab_insert(&t, rec(k, v)));
	}
	assert_int_equal(t.count, 5000);
	assert_true(t.count * 4 <= t.nslots * 3);
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "k%d", i);
		snprintf(v, sizeof v, "v%d", i);
		e = find(&t, k);
		assert_non_null(e);
		assert_value(*e, v);
	}
	assert_null(find(&t, "k5000"));
	while ((e = dtab_next(&t, &pos)) != NULL) {
		snprintf(v, sizeof v, "v%zu", n++);
		assert_value(*e, v);
	}
	assert_int_equal(n, 5000);
	assert_value(*dtab_last(&t), "v4999");
	clear(&t);
}

/* Removing leaves holes that compaction sweeps, counted in swept, and
 * never disturbs the order of what is left. */
static void test_remove_compact(void **state)
{
	struct dtab t;
	struct dtab_rec **e, *r;
	char k[32], v[32];
	size_t pos = 0, n = 0;

	(void)state;
	dtab_init(&t);
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof k, "k%d", i);
		dtab_insert(&t, rec(k, k));
	}
	for (int i = 0; i < 1000; i += 2) {
		snprintf(k, sizeof k, "k%d", i);
		e = find(&t, k);
		r = *e;
		dtab_remove(&t, e);
		dtab_rec_free(&reg, r);
		assert_null(find(&t, k));
	}
	assert_int_equal(t.count, 500);
	assert_int_equal(t.swept, 0);
	for (int i = 1000; i < 3000; i++) {
		snprintf(k, sizeof k, "k%d", i);
		dtab_insert(&t, rec(k, k));
	}
	assert_true(t.swept >= 500);
	for (int i = 1; i < 3000; i = i < 999 ? i + 2 : i == 999 ? 1000 : i + 1) {
		e = dtab_next(&t, &pos);
		assert_non_null(e);
		snprintf(v, sizeof v, "k%d", i);
		assert_value(*e, v);
		n++;
	}
	assert_null(dtab_next(&t, &pos));
	assert_int_equal(n, t.count);
	/* popitem's way: the last entry, again and again. */
	while ((e = dtab_last(&t)) != NULL) {
		r = *e;
		dtab_remove(&t, e);
		dtab_rec_free(&reg, r);
	}
	assert_int_equal(t.count, 0);
	assert_int_equal(t.used, 0);
	clear(&t);
}

/* Every key on one hash: probing and removal still find the right one. */
static void test_collisions(void **state)
{
	struct dtab t;
	struct dtab_rec **e, *r;
	char k[32];

	(void)state;
	dtab_init(&t);
	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof k, "c%d", i);
		r = dtab_rec_new(&reg, (const uint8_t *)k, strlen(k), false, (const uint8_t *)k, strlen(k), false, 7);
		assert_non_null(dtab_insert(&t, r));
	}
	for (int i = 0; i < 200; i += 3) {
		snprintf(k, sizeof k, "c%d", i);
		e = dtab_find(&t, (const uint8_t *)k, strlen(k), 7);
		assert_non_null(e);
		r = *e;
		dtab_remove(&t, e);
		dtab_rec_free(&reg, r);
	}
	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof k, "c%d", i);
		e = dtab_find(&t, (const uint8_t *)k, strlen(k), 7);
		if (i % 3 == 0) {
			assert_null(e);
		} else {
			assert_non_null(e);
			assert_value(*e, k);
		}
	}
	clear(&t);
}

/* Insert and remove forever on a small live set: the table neither grows
 * without bound nor loses its empty slots (a probe must end). */
static void test_churn(void **state)
{
	struct dtab t;
	struct dtab_rec **e, *r;
	char k[32];

	(void)state;
	dtab_init(&t);
	for (int i = 0; i < 200000; i++) {
		snprintf(k, sizeof k, "x%d", i);
		assert_non_null(dtab_insert(&t, rec(k, "v")));
		if (i >= 10) {
			snprintf(k, sizeof k, "x%d", i - 10);
			e = find(&t, k);
			assert_non_null(e);
			r = *e;
			dtab_remove(&t, e);
			dtab_rec_free(&reg, r);
		}
	}
	assert_int_equal(t.count, 10);
	assert_true(t.cap <= 64);
	assert_true(t.nslots <= 64);
	assert_null(find(&t, "never"));
	clear(&t);
}

/* reserve makes room so that the inserts after it cannot fail. */
static void test_reserve(void **state)
{
	struct dtab t;
	char k[32];

	(void)state;
	dtab_init(&t);
	assert_int_equal(dtab_reserve(&t, 1000), 0);
	assert_true(t.cap >= 1000);
	assert_true(1000 * 4 <= t.nslots * 3);
	for (int i = 0; i < 1000; i++) {
		size_t cap = t.cap, nslots = t.nslots;
		snprintf(k, sizeof k, "r%d", i);
		assert_non_null(dtab_insert(&t, rec(k, k)));
		assert_int_equal(t.cap, cap);
		assert_int_equal(t.nslots, nslots);
	}
	clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_layout),
		cmocka_unit_test(test_set_value),
		cmocka_unit_test(test_insert_find_order),
		cmocka_unit_test(test_remove_compact),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
