/*
 * Paged reads of big containers against a real daemon: a dict of one
 * million entries walked completely (every key exactly once), pages bounded
 * by count and by bytes, walks that survive concurrent changes (compaction
 * included: every entry present throughout is returned), list pages, and
 * the argument checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/tutil.h"
#include "../lib/tval.h"
#include "ps_buf.h"
#include "ps_mp.h"

#define BIG 1000000
#define BATCH 20000

/* Adds the integer keys [from, to) with value key * 2, in update batches
 * (one request per BATCH pairs). */
static void fill(ps_dict *d, int64_t from, int64_t to)
{
	struct ps_buf b;
	msgpack_packer pk;

	ps_buf_init(&b);
	for (int64_t k = from; k < to; k += BATCH) {
		int64_t end = k + BATCH < to ? k + BATCH : to;

		b.len = b.pos = 0;
		ps_mp_packer(&pk, &b);
		msgpack_pack_map(&pk, (uint32_t)(end - k));
		for (int64_t i = k; i < end; i++) {
			msgpack_pack_int64(&pk, i);
			msgpack_pack_int64(&pk, i * 2);
		}
		assert_false(b.oom);
		assert_int_equal(ps_dict_update(d, b.data, b.len), 0);
	}
	ps_buf_free(&b);
}

/* The int an encoded value holds (the test stores only ints). */
static int64_t int_of(const void *p, size_t len)
{
	struct ps_mp_tok t;

	assert_int_equal(ps_mp_token(p, len, &t), 1);
	assert_true(t.type == PS_MP_UINT);
	return (int64_t)t.v.u;
}

/* The entries of a page: its array header's count. */
static uint32_t page_entries(const void *page, size_t len)
{
	struct ps_mp_tok t;

	assert_int_equal(ps_mp_token(page, len, &t), 1);
	assert_true(t.type == PS_MP_ARRAY);
	return t.v.n;
}

/* ---- a million entries ----------------------------------------------- */

static void test_million(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "big");
	unsigned char *seen = calloc(BIG, 1);
	ps_dict_iter *it;
	const void *k, *v;
	size_t kl, vl, n = 0, total = 0;
	uint64_t cursor = 0, next;
	int pages = 0, r;
	void *page;
	size_t len;

	assert_non_null(d);
	assert_non_null(seen);
	fill(d, 0, BIG);
	assert_int_equal(ps_dict_len(d, &n), 0);
	assert_int_equal(n, BIG);
	/* By hand: every page holds at most the daemon's maximum. */
	do {
		assert_int_equal(ps_dict_scan(d, cursor, 0, PS_DICT_KEYS, &next, &page, &len), 0);
		n = page_entries(page, len);
		assert_true(n >= 1 && n <= 10000);
		assert_true(len <= 1024 * 1024 + 64);
		total += n;
		pages++;
		free(page);
		cursor = next;
	} while (cursor != 0);
	assert_int_equal(total, BIG);
	assert_int_equal(pages, BIG / 10000);
	/* With the iterator: every key exactly once, values right. */
	it = ps_dict_iter_new(d, PS_DICT_ITEMS, 0);
	assert_non_null(it);
	total = 0;
	while ((r = ps_dict_iter_next(it, &k, &kl, &v, &vl)) == 1) {
		int64_t key = int_of(k, kl);

		assert_true(key >= 0 && key < BIG);
		if (seen[key]++)
			fail_msg("key %lld returned twice", (long long)key);
		assert_int_equal(int_of(v, vl), key * 2);
		total++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(total, BIG);
	/* Past the end it stays at the end. */
	assert_int_equal(ps_dict_iter_next(it, &k, &kl, NULL, NULL), 0);
	ps_dict_iter_free(it);
	free(seen);
	ps_dict_free(d);
	assert_int_equal(ps_delete(f->ctx, "big"), 0);
}

/* Keys only and values only, in insertion order, with a small count. */
static void test_views_and_order(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_new(f->ctx);
	ps_dict_iter *it;
	const void *k, *v;
	size_t kl, vl;
	int64_t want = 0;

	assert_non_null(d);
	fill(d, 0, 1000);
	it = ps_dict_iter_new(d, PS_DICT_KEYS, 7);
	assert_non_null(it);
	while (ps_dict_iter_next(it, &k, &kl, &v, &vl) == 1) {
		assert_null(v);
		assert_int_equal(vl, 0);
		assert_int_equal(int_of(k, kl), want++);
	}
	assert_int_equal(want, 1000);
	ps_dict_iter_free(it);
	it = ps_dict_iter_new(d, PS_DICT_VALUES, 333);
	want = 0;
	while (ps_dict_iter_next(it, &k, &kl, &v, &vl) == 1) {
		assert_null(k);
		assert_int_equal(int_of(v, vl), 2 * want++);
	}
	assert_int_equal(want, 1000);
	ps_dict_iter_free(it);
	/* An empty dict: one empty page, then the end. */
	assert_int_equal(ps_dict_clear(d), 0);
	it = ps_dict_iter_new(d, PS_DICT_ITEMS, 0);
	assert_int_equal(ps_dict_iter_next(it, &k, &kl, &v, &vl), 0);
	ps_dict_iter_free(it);
	assert_null(ps_dict_iter_new(d, 3, 0));
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
	ps_dict_iter_free(NULL);
	ps_dict_free(d);
}

/* A page ends early once it passes 1 MiB, and holds at least one entry. */
static void test_byte_bound(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_new(f->ctx);
	ps_list *l = ps_list_new(f->ctx);
	size_t big = 300 * 1024, len, total = 0;
	char *blob = malloc(big);
	char key[16];
	uint64_t cursor = 0, next;
	void *page;

	assert_non_null(d);
	assert_non_null(l);
	assert_non_null(blob);
	memset(blob, 'x', big);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(ps_dict_set_bytes(d, key, blob, big), 0);
		assert_int_equal(ps_list_append_bytes(l, blob, big), 0);
	}
	do {
		assert_int_equal(ps_dict_scan(d, cursor, 1000, PS_DICT_VALUES, &next, &page, &len), 0);
		/* Four values pass 1 MiB: the page stops after the fourth. */
		assert_true(page_entries(page, len) <= 4);
		total += page_entries(page, len);
		free(page);
		cursor = next;
	} while (cursor != 0);
	assert_int_equal(total, 10);
	/* Keys are small: all in one page. */
	assert_int_equal(ps_dict_scan(d, 0, 1000, PS_DICT_KEYS, &next, &page, &len), 0);
	assert_int_equal(page_entries(page, len), 10);
	assert_true(next == 0);
	free(page);
	/* The list pages the same way. */
	total = 0;
	cursor = 0;
	do {
		assert_int_equal(ps_list_scan(l, cursor, 1000, &next, &page, &len), 0);
		assert_true(page_entries(page, len) >= 1 && page_entries(page, len) <= 4);
		total += page_entries(page, len);
		assert_true(next == 0 || next == cursor + page_entries(page, len));
		free(page);
		cursor = next;
	} while (cursor != 0);
	assert_int_equal(total, 10);
	free(blob);
	ps_list_free(l);
	ps_dict_free(d);
}

/* ---- walks under concurrent change ------------------------------------- */

#define CHURN 50000

/* Between pages, half the remaining "churn" keys go and new keys come, so
 * the entry array fills up and is compacted under the walk. Every stable
 * key (present throughout) must come at least once; no key may come that
 * never existed. */
static void test_scan_survives_compaction(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_new(f->ctx);
	unsigned char *seen = calloc(4 * CHURN, 1);
	int64_t fresh = 2 * CHURN, del = 1;
	uint64_t cursor = 0, next;
	size_t len, dups = 0;
	char kbuf[32];
	int pages = 0;
	void *page;

	assert_non_null(d);
	assert_non_null(seen);
	/* Even keys are stable, odd ones churn. */
	fill(d, 0, CHURN);
	do {
		struct ps_mp_tok t;
		const uint8_t *p;
		size_t off, n;

		assert_int_equal(ps_dict_scan(d, cursor, 997, PS_DICT_KEYS, &next, &page, &len), 0);
		p = page;
		assert_int_equal(ps_mp_token(p, len, &t), 1);
		off = t.size;
		n = t.v.n;
		for (size_t i = 0; i < n; i++) {
			size_t sz = ps_mp_skip(p + off, len - off);
			int64_t key = int_of(p + off, sz);

			assert_true(key >= 0 && key < 4 * CHURN);
			if (seen[key]++)
				dups++;
			off += sz;
		}
		free(page);
		cursor = next;
		pages++;
		/* Churn: delete some odd keys, add fresh ones. */
		for (int i = 0; i < 400 && del < CHURN; i++, del += 2) {
			const uint8_t *k;

			snprintf(kbuf, sizeof kbuf, "%lld", (long long)del);
			k = tval_enc(kbuf, &len);
			assert_int_equal(ps_dict_del(d, k, len), 0);
		}
		if (fresh < 2 * CHURN + 30000)
			fill(d, fresh, fresh + 600);
		fresh += 600;
	} while (cursor != 0);
	for (int64_t k = 0; k < CHURN; k += 2)
		if (!seen[k])
			fail_msg("stable key %lld was skipped (%d pages)", (long long)k, pages);
	/* Compaction happened (the fresh keys outgrew the array), and the
	 * walk still ended. */
	assert_true(fresh > 2 * CHURN + 30000);
	free(seen);
	ps_dict_free(d);
	(void)dups;
}

/* The same with a real concurrent writer: another process churns the dict
 * while this one walks it. */
static int churner(const struct tdaemon *td)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);
	ps_dict *d;
	char k[32];

	if (ps_err(ctx) != PS_ERR_NONE || (d = ps_dict_open(ctx, "churn")) == NULL)
		return 2;
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	for (int i = 0; i < 30000; i++) {
		snprintf(k, sizeof k, "tmp%d", i);
		if (ps_dict_set_int(d, k, i) < 0)
			return 3;
		if (i >= 10) {
			snprintf(k, sizeof k, "tmp%d", i - 10);
			if (ps_dict_del_str(d, k) < 0)
				return 4;
		}
	}
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

static void test_scan_with_concurrent_writer(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "churn");
	unsigned char *seen = calloc(CHURN, 1);
	ps_dict_iter *it;
	const void *k;
	size_t kl;
	int walks = 0;
	pid_t pid;
	int st = 0;

	assert_non_null(d);
	assert_non_null(seen);
	fill(d, 0, CHURN);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(churner(&f->td));
	/* Walk again and again while the writer runs. */
	do {
		memset(seen, 0, CHURN);
		it = ps_dict_iter_new(d, PS_DICT_KEYS, 500);
		assert_non_null(it);
		while (ps_dict_iter_next(it, &k, &kl, NULL, NULL) == 1) {
			struct ps_mp_tok t;

			assert_int_equal(ps_mp_token(k, kl, &t), 1);
			if (t.type == PS_MP_UINT) {
				assert_true(t.v.u < CHURN);
				seen[t.v.u] = 1;
			} else {
				assert_true(t.type == PS_MP_STR);
			}
		}
		ps_dict_iter_free(it);
		for (int i = 0; i < CHURN; i++)
			if (!seen[i])
				fail_msg("stable key %d skipped in walk %d", i, walks);
		walks++;
	} while (tutil_wait_child(pid, 0, &st) < 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(seen);
	ps_dict_free(d);
}

/* ---- lists and argument checks ------------------------------------------ */

static void test_list_pages(void **state)
{
	struct tfix *f = *state;
	ps_list *l = ps_list_new(f->ctx);
	struct ps_buf b;
	msgpack_packer pk;
	uint64_t next = 99;
	void *page;
	size_t len;

	assert_non_null(l);
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_array(&pk, 25000);
	for (int i = 0; i < 25000; i++)
		msgpack_pack_int(&pk, i);
	assert_int_equal(ps_list_extend(l, b.data, b.len), 0);
	ps_buf_free(&b);
	assert_int_equal(ps_list_scan(l, 0, 50000, &next, &page, &len), 0);
	assert_int_equal(page_entries(page, len), 10000);
	assert_true(next == 10000);
	free(page);
	assert_int_equal(ps_list_scan(l, next, 0, &next, &page, &len), 0);
	assert_true(next == 20000);
	free(page);
	assert_int_equal(ps_list_scan(l, next, 10000, &next, &page, &len), 0);
	assert_int_equal(page_entries(page, len), 5000);
	assert_true(next == 0);
	free(page);
	assert_int_equal(ps_list_scan(l, 24998, 10, &next, &page, &len), 0);
	assert_string_equal(tval_text(page, len), "[24998, 24999]");
	assert_true(next == 0);
	free(page);
	assert_int_equal(ps_list_scan(l, 1000000, 10, &next, &page, &len), 0);
	assert_string_equal(tval_text(page, len), "[]");
	assert_true(next == 0);
	free(page);
	ps_list_free(l);
}

static void test_scan_args(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_new(f->ctx);
	ps_list *l = ps_list_new(f->ctx);
	char params[96];
	uint64_t did, lid;

	assert_non_null(d);
	assert_non_null(l);
	did = ps_dict_id(d);
	lid = ps_list_id(l);
	assert_int_equal(ps_dict_set_int(d, "a", 1), 0);
	assert_int_equal(ps_dict_set_int(d, "b", 2), 0);
	assert_int_equal(ps_list_append_int(l, 1), 0);
#define CALL(method, fmt, id) \
	(snprintf(params, sizeof params, fmt, (unsigned long long)(id)), tfix_call(f->ctx, method, params))
	assert_string_equal(CALL("dict.scan", "[%llu, 0, 10]", did), "[0, [\"a\", \"b\"]]");
	assert_string_equal(CALL("dict.scan", "[%llu, 0, 10, \"items\"]", did), "[0, [[\"a\", 1], [\"b\", 2]]]");
	assert_string_equal(CALL("dict.scan", "[%llu, 0, 10, \"values\"]", did), "[0, [1, 2]]");
	assert_string_equal(CALL("dict.scan", "[%llu, 0, 1]", did), "[1, [\"a\"]]");
	assert_string_equal(CALL("dict.scan", "[%llu, 1, 1]", did), "[0, [\"b\"]]");
	assert_string_equal(CALL("dict.scan", "[%llu, 5000, 1]", did), "[0, []]");
	assert_string_equal(CALL("dict.scan", "[%llu, 0, 0]", did), "!ValueError");
	assert_string_equal(CALL("dict.scan", "[%llu, 0, -3]", did), "!ValueError");
	assert_string_equal(CALL("dict.scan", "[%llu, 0, 1, \"bogus\"]", did), "!ValueError");
	assert_string_equal(CALL("dict.scan", "[%llu, -1, 1]", did), "!TypeError");
	assert_string_equal(CALL("dict.scan", "[%llu, \"0\", 1]", did), "!TypeError");
	assert_string_equal(CALL("dict.scan", "[%llu, 0]", did), "!TypeError");
	assert_string_equal(CALL("dict.scan", "[%llu, 0, 1, \"keys\", 1]", did), "!TypeError");
	assert_string_equal(CALL("dict.scan", "[%llu, 18446744073709551615, 1]", did), "[0, []]");
	assert_string_equal(CALL("list.scan", "[%llu, 0, 5]", lid), "[0, [1]]");
	assert_string_equal(CALL("list.scan", "[%llu, -1, 5]", lid), "!ValueError");
	assert_string_equal(CALL("list.scan", "[%llu, 0, 0]", lid), "!ValueError");
	assert_string_equal(CALL("list.scan", "[%llu, 0]", lid), "!TypeError");
#undef CALL
	ps_list_free(l);
	ps_dict_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_million, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_views_and_order, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_byte_bound, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_scan_survives_compaction, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_scan_with_concurrent_writer, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_pages, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_scan_args, tfix_setup, tfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
