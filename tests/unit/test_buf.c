/*
 * Unit tests of proto/ps_buf.c: append, consume, compact, reserve, and the
 * oom flag (reachable without exhausting memory: an impossible size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ps_buf.h"

static void test_init_empty(void **state)
{
	struct ps_buf b;

	(void)state;
	memset(&b, 0x5a, sizeof b);
	ps_buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.pos, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.oom, 0);
	assert_int_equal(ps_buf_avail(&b), 0);
	/* Appending nothing allocates nothing. */
	assert_int_equal(ps_buf_append(&b, "x", 0), 0);
	assert_null(b.data);
	/* Freeing an empty buffer is fine, twice. */
	ps_buf_free(&b);
	ps_buf_free(&b);
	assert_null(b.data);
}

static void test_append_grows(void **state)
{
	struct ps_buf b;
	uint8_t chunk[100];

	(void)state;
	ps_buf_init(&b);
	for (int k = 0; k < 1000; k++) {
		memset(chunk, k & 0xff, sizeof chunk);
		assert_int_equal(ps_buf_append(&b, chunk, sizeof chunk), 0);
		assert_true(b.cap >= b.len);
	}
	assert_int_equal(b.len, 100000);
	assert_int_equal(ps_buf_avail(&b), 100000);
	for (int k = 0; k < 1000; k++)
		for (int j = 0; j < 100; j++)
			if (b.data[k * 100 + j] != (k & 0xff))
				fail_msg("byte %d wrong", k * 100 + j);
	assert_int_equal(b.oom, 0);
	ps_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* Reusable after free. */
	assert_int_equal(ps_buf_append(&b, "abc", 3), 0);
	assert_memory_equal(b.data, "abc", 3);
	ps_buf_free(&b);
}

static void test_consume(void **state)
{
	struct ps_buf b;

	(void)state;
	ps_buf_init(&b);
	assert_int_equal(ps_buf_append(&b, "hello world", 11), 0);
	ps_buf_consume(&b, 6);
	assert_int_equal(b.pos, 6);
	assert_int_equal(ps_buf_avail(&b), 5);
	assert_memory_equal(b.data + b.pos, "world", 5);
	assert_int_equal(ps_buf_append(&b, "!", 1), 0);
	assert_int_equal(ps_buf_avail(&b), 6);
	assert_memory_equal(b.data + b.pos, "world!", 6);
	/* Consuming everything resets both positions. */
	ps_buf_consume(&b, 6);
	assert_int_equal(b.pos, 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(ps_buf_avail(&b), 0);
	ps_buf_free(&b);
}

static void test_compact(void **state)
{
	struct ps_buf b;
	size_t cap;

	(void)state;
	ps_buf_init(&b);
	assert_int_equal(ps_buf_append(&b, "0123456789", 10), 0);
	cap = b.cap;
	ps_buf_consume(&b, 4);
	ps_buf_compact(&b);
	assert_int_equal(b.pos, 0);
	assert_int_equal(b.len, 6);
	assert_int_equal(b.cap, cap);
	assert_memory_equal(b.data, "456789", 6);
	/* Nothing to do when nothing was consumed. */
	ps_buf_compact(&b);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "456789", 6);
	ps_buf_free(&b);
}

static void test_reserve(void **state)
{
	struct ps_buf b;
	uint8_t fill[300];
	size_t cap;

	(void)state;
	ps_buf_init(&b);
	assert_int_equal(ps_buf_reserve(&b, 10), 0);
	assert_non_null(b.data);
	assert_true(b.cap >= 10);
	assert_int_equal(b.len, 0);
	cap = b.cap;
	/* Room that is already there costs nothing. */
	assert_int_equal(ps_buf_reserve(&b, cap), 0);
	assert_int_equal(b.cap, cap);
	/* Fill, consume the front: reserving what fits after compaction
	 * compacts instead of growing. */
	memset(fill, 'f', sizeof fill);
	assert_int_equal(ps_buf_append(&b, fill, cap), 0);
	memcpy(b.data + cap - 3, "end", 3);
	ps_buf_consume(&b, cap - 3);
	assert_int_equal(ps_buf_reserve(&b, cap - 3), 0);
	assert_int_equal(b.cap, cap);
	assert_int_equal(b.pos, 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "end", 3);
	assert_true(b.cap - b.len >= cap - 3);
	/* More than fits: grows, keeping the unconsumed bytes. */
	ps_buf_consume(&b, 1);
	assert_int_equal(ps_buf_reserve(&b, 4 * cap), 0);
	assert_true(b.cap - b.len >= 4 * cap);
	assert_int_equal(ps_buf_avail(&b), 2);
	assert_memory_equal(b.data + b.pos, "nd", 2);
	ps_buf_free(&b);
}

/* An impossible size fails cleanly: -1, oom set, contents intact. */
static void test_oom_flag(void **state)
{
	struct ps_buf b;

	(void)state;
	ps_buf_init(&b);
	assert_int_equal(ps_buf_append(&b, "keep", 4), 0);
	assert_int_equal(ps_buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(ps_buf_reserve(&b, SIZE_MAX / 2 + 2), -1);
	assert_int_equal(b.oom, 0);
	/* The source pointer is never read: the size is refused first. */
	assert_int_equal(ps_buf_append(&b, "x", SIZE_MAX - 2), -1);
	assert_int_equal(b.oom, 1);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "keep", 4);
	/* The flag stays set across later successful appends, so a run of
	 * appends can be checked once; init clears it. */
	assert_int_equal(ps_buf_append(&b, "!", 1), 0);
	assert_int_equal(b.oom, 1);
	assert_memory_equal(b.data, "keep!", 5);
	ps_buf_free(&b);
	assert_int_equal(b.oom, 0);
}

static void test_write_cb(void **state)
{
	struct ps_buf b;

	(void)state;
	ps_buf_init(&b);
	assert_int_equal(ps_buf_write_cb(&b, "ab", 2), 0);
	assert_int_equal(ps_buf_write_cb(&b, "cd", 2), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "abcd", 4);
	assert_int_equal(ps_buf_write_cb(&b, "x", SIZE_MAX - 1), -1);
	ps_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_append_grows),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_oom_flag),
		cmocka_unit_test(test_write_cb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
