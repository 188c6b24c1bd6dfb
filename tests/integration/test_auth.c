/*
 * Authentication and the unauthenticated phase: wrong keys are refused
 * with a clear error, stalled handshakes are cut off after
 * --handshake-timeout, --max-connections refuses the extra peer, and the
 * daemon keeps serving through all of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_hs.h"
#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"

#define HS_TIMEOUT_MS 300

/* No fixture context: these tests count the connections themselves. */
static int setup(void **state)
{
	static const char *const args[] = { "--handshake-timeout", "300", NULL };

	return tfix_setup_daemon(state, args);
}

static int setup_maxconn(void **state)
{
	static const char *const args[] = { "--max-connections", "2", NULL };

	return tfix_setup_daemon(state, args);
}

static void still_serving(struct tfix *f)
{
	ps_ctx *ctx = tdaemon_connect(&f->td);

	if (ps_ping(ctx) != 0)
		fail_msg("ping after the bad peer: %s", ps_errstr(ctx));
	ps_free(ctx);
}

static void test_right_key(void **state)
{
	struct tfix *f = *state;
	ps_ctx *ctx = ps_connect(f->td.addr, f->td.key, f->td.keylen);

	assert_non_null(ctx);
	assert_int_equal(ps_err(ctx), PS_ERR_NONE);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
}

static void test_wrong_key(void **state)
{
	struct tfix *f = *state;
	uint8_t key[TDAEMON_KEYLEN];
	ps_ctx *ctx;

	memcpy(key, f->td.key, sizeof key);
	key[0] ^= 1;
	ctx = ps_connect(f->td.addr, key, f->td.keylen);
	assert_non_null(ctx);
	assert_int_equal(ps_err(ctx), PS_ERR_AUTH);
	if (strstr(ps_errstr(ctx), "AuthFailed") == NULL && strstr(ps_errstr(ctx), "authkey") == NULL)
		fail_msg("unclear auth error text: \"%s\"", ps_errstr(ctx));
	/* The error sticks. */
	assert_int_equal(ps_ping(ctx), -1);
	assert_int_equal(ps_err(ctx), PS_ERR_AUTH);
	ps_free(ctx);
	/* A prefix of the key, and the empty key, are wrong keys too. */
	ctx = ps_connect(f->td.addr, f->td.key, f->td.keylen - 1);
	assert_int_equal(ps_err(ctx), PS_ERR_AUTH);
	ps_free(ctx);
	ctx = ps_connect(f->td.addr, "", 0);
	assert_true(ps_err(ctx) == PS_ERR_AUTH || ps_err(ctx) == PS_ERR_ARG);
	ps_free(ctx);
	still_serving(f);
}

/* The raw view of a wrong key: a refusal record naming AuthFailed, then
 * the daemon closes. */
static void test_wrong_key_raw(void **state)
{
	struct tfix *f = *state;
	struct traw r;
	char refusal[256];

	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	assert_int_equal(traw_handshake(&r, "nope", 4, refusal, sizeof refusal), -2);
	if (strncmp(refusal, "AuthFailed: ", 12) != 0)
		fail_msg("refusal text \"%s\" does not start with \"AuthFailed: \"", refusal);
	assert_int_equal(traw_wait_eof(&r, TRAW_TIMEOUT_MS), 0);
	traw_close(&r);
	still_serving(f);
}

/* A client hello with the wrong magic or version is refused too. */
static void test_bad_client_hello(void **state)
{
	struct tfix *f = *state;

	for (int k = 0; k < 2; k++) {
		struct traw r;
		uint8_t shello[PS_HS_SERVER_HELLO], chello[PS_HS_CLIENT_HELLO], nonce[PS_HS_NONCE] = { 0 };

		assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
		assert_int_equal(traw_recv(&r, shello, sizeof shello, TRAW_TIMEOUT_MS), (ssize_t)sizeof shello);
		assert_int_equal(ps_hs_check_server_hello(shello, NULL), 0);
		ps_hs_client_hello(chello, shello, nonce, f->td.key, f->td.keylen);
		if (k == 0)
			memcpy(chello, "XXXX", 4);
		else
			chello[5] = 99;
		assert_int_equal(traw_send(&r, chello, sizeof chello), 0);
		/* No accept: a refusal or a plain close. */
		{
			uint8_t head[4];
			ssize_t n = traw_recv(&r, head, 4, TRAW_TIMEOUT_MS);

			assert_true(n == 0 || n < 0 || (n == 4 && memcmp(head, "PSNO", 4) == 0));
		}
		assert_int_equal(traw_wait_eof(&r, TRAW_TIMEOUT_MS), 0);
		traw_close(&r);
	}
	still_serving(f);
}

/* A peer that connects and says nothing is cut off after the handshake
 * timeout (and not long before it). */
static void test_silent_peer_cut_off(void **state)
{
	struct tfix *f = *state;
	struct traw r;
	int64_t t0 = tutil_now_ms(), took;

	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	assert_int_equal(traw_wait_eof(&r, 10 * HS_TIMEOUT_MS + 5000), 0);
	took = tutil_now_ms() - t0;
	if (took < HS_TIMEOUT_MS - 50)
		fail_msg("cut off after %lld ms, before the %d ms timeout", (long long)took, HS_TIMEOUT_MS);
	traw_close(&r);
	still_serving(f);
}

/* Half a client hello then silence: cut off the same way. */
static void test_half_hello_cut_off(void **state)
{
	struct tfix *f = *state;
	struct traw r;
	uint8_t shello[PS_HS_SERVER_HELLO], chello[PS_HS_CLIENT_HELLO], nonce[PS_HS_NONCE] = { 0 };
	int64_t t0;

	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	assert_int_equal(traw_recv(&r, shello, sizeof shello, TRAW_TIMEOUT_MS), (ssize_t)sizeof shello);
	ps_hs_client_hello(chello, shello, nonce, f->td.key, f->td.keylen);
	t0 = tutil_now_ms();
	assert_int_equal(traw_send(&r, chello, 30), 0);
	assert_int_equal(traw_wait_eof(&r, 10 * HS_TIMEOUT_MS + 5000), 0);
	assert_true(tutil_now_ms() - t0 >= HS_TIMEOUT_MS - 50);
	traw_close(&r);
	still_serving(f);
}

/* Stalled peers do not hold up others: many silent ones at once while a
 * real client works. */
static void test_many_stalled_peers(void **state)
{
	struct tfix *f = *state;
	enum { K = 20 };
	struct traw r[K];

	for (int i = 0; i < K; i++)
		assert_int_equal(traw_connect_unix(&r[i], f->td.sock), 0);
	still_serving(f);
	for (int i = 0; i < K; i++) {
		assert_int_equal(traw_wait_eof(&r[i], 10 * HS_TIMEOUT_MS + 5000), 0);
		traw_close(&r[i]);
	}
	still_serving(f);
}

/* An authenticated connection is not subject to the handshake timeout. */
static void test_authenticated_idle_stays(void **state)
{
	struct tfix *f = *state;
	ps_ctx *ctx = tdaemon_connect(&f->td);
	struct traw r;

	/* Wait for a silent raw peer to be cut off: by then the handshake
	 * timer has had its chance on the older, authenticated connection. */
	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	assert_int_equal(traw_wait_eof(&r, 10 * HS_TIMEOUT_MS + 5000), 0);
	traw_close(&r);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
}

/* --max-connections 2: the third peer gets "PSNO" LimitExceeded and is
 * closed; after one leaves, a new one gets in. */
static void test_max_connections(void **state)
{
	struct tfix *f = *state;
	ps_ctx *a = tdaemon_connect(&f->td), *b = tdaemon_connect(&f->td), *c;
	struct traw r;
	char refusal[256];
	int rc;

	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	rc = traw_read_greeting(&r, refusal, sizeof refusal, TRAW_TIMEOUT_MS);
	assert_int_equal(rc, 1);
	assert_string_equal(refusal, "LimitExceeded: too many connections");
	assert_int_equal(traw_wait_eof(&r, TRAW_TIMEOUT_MS), 0);
	traw_close(&r);
	/* The C client reports it as an error on connect. */
	c = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	assert_int_not_equal(ps_err(c), PS_ERR_NONE);
	if (strstr(ps_errstr(c), "LimitExceeded") == NULL)
		fail_msg("refusal not reported clearly: \"%s\"", ps_errstr(c));
	ps_free(c);
	assert_int_equal(ps_ping(a), 0);
	assert_int_equal(ps_ping(b), 0);
	ps_free(b);
	/* b's slot frees once the daemon has seen it close: retry until then
	 * (a condition wait with a deadline). */
	{
		int64_t deadline = tutil_now_ms() + 10000;

		for (;;) {
			c = ps_connect(f->td.addr, f->td.key, f->td.keylen);
			if (ps_err(c) == PS_ERR_NONE)
				break;
			ps_free(c);
			if (tutil_now_ms() > deadline)
				fail_msg("no slot freed after a client left");
		}
	}
	assert_int_equal(ps_ping(c), 0);
	ps_free(c);
	ps_free(a);
}

/* The daemon refuses a key file that others can read. */
static void test_keyfile_mode_refused(void **state)
{
	struct tdaemon td;
	char path[160];
	int fd;

	(void)state;
	assert_int_equal(tdaemon_start(&td, NULL), 0);
	snprintf(path, sizeof path, "%s/key2", td.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "k", 1), 1);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	{
		struct tdaemon bad;
		const char *const args[] = { "--authkey-file", path, NULL };

		/* The later --authkey-file wins; the daemon must not start. */
		if (tdaemon_start(&bad, args) == 0) {
			tdaemon_stop(&bad);
			tdaemon_stop(&td);
			fail_msg("procshared started with a group/world-readable key file");
		}
	}
	assert_int_equal(tdaemon_stop(&td), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_right_key, setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_raw, setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_bad_client_hello, setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_silent_peer_cut_off, setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_half_hello_cut_off, setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_many_stalled_peers, setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_authenticated_idle_stays, setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_max_connections, setup_maxconn, tfix_teardown),
		cmocka_unit_test(test_keyfile_mode_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
