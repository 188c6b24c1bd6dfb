/*
 * TCP on 127.0.0.1 and [::1] (every address form), and call timeouts
 * against a daemon frozen with SIGSTOP.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/tdaemon.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"

struct fix {
	struct tdaemon td;
	int port;
	const char *host;
};

/* Listens on tcp://host:PORT; v6 hosts are written in brackets. */
static int start_tcp(void **state, const char *host, int v6)
{
	struct fix *f = calloc(1, sizeof *f);
	char listen[128];
	const char *args[] = { "--listen", listen, NULL };

	if (f == NULL)
		return -1;
	f->host = host;
	f->port = tdaemon_free_port(host);
	if (f->port < 0) {
		/* No such loopback here: the test itself will skip. */
		*state = f;
		return 0;
	}
	if (v6)
		snprintf(listen, sizeof listen, "[%s]:%d", host, f->port);
	else
		snprintf(listen, sizeof listen, "tcp://%s:%d", host, f->port);
	if (tdaemon_start(&f->td, args) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_v4(void **state)
{
	return start_tcp(state, "127.0.0.1", 0);
}

static int setup_v6(void **state)
{
	return start_tcp(state, "::1", 1);
}

static int setup_unix(void **state)
{
	struct fix *f = calloc(1, sizeof *f);

	if (f == NULL || tdaemon_start(&f->td, NULL) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	int rc = tdaemon_stop(&f->td);

	free(f);
	return rc;
}

static void use(const struct fix *f, const char *addr)
{
	ps_ctx *ctx = ps_connect(addr, f->td.key, f->td.keylen);
	ps_dict *d;
	int64_t v = 0;

	if (ps_err(ctx) != PS_ERR_NONE)
		fail_msg("connect %s: %s", addr, ps_errstr(ctx));
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	assert_int_equal(ps_ping(ctx), 0);
	d = ps_dict_open(ctx, "over-tcp");
	assert_non_null(d);
	assert_int_equal(ps_dict_incr_int(d, "n", 1, &v), 0);
	assert_true(v >= 1);
	ps_dict_free(d);
	ps_free(ctx);
}

static void wrong_key(const char *addr)
{
	ps_ctx *ctx = ps_connect(addr, "wrong", 5);

	assert_int_equal(ps_err(ctx), PS_ERR_AUTH);
	ps_free(ctx);
}

static void test_tcp_v4(void **state)
{
	struct fix *f = *state;
	char addr[64];

	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", f->port);
	use(f, addr);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", f->port);
	use(f, addr);
	snprintf(addr, sizeof addr, "localhost:%d", f->port);
	use(f, addr);
	wrong_key(addr);
	/* The Unix socket is served too. */
	use(f, f->td.addr);
}

static void test_tcp_v6(void **state)
{
	struct fix *f = *state;
	char addr[64];

	if (f->port < 0) {
		fprintf(stderr, "skipping: IPv6 loopback [::1] is not available here\n");
		skip();
	}
	snprintf(addr, sizeof addr, "tcp://[::1]:%d", f->port);
	use(f, addr);
	snprintf(addr, sizeof addr, "[::1]:%d", f->port);
	use(f, addr);
	wrong_key(addr);
}

/* A raw TCP peer gets the same server hello as a Unix one. */
static void test_tcp_raw_handshake(void **state)
{
	struct fix *f = *state;
	struct traw r;
	char why[256];

	/* TCP listeners require encryption by default (PROTOCOL.md 2.1). */
	assert_int_equal(traw_connect_tcp(&r, f->host, f->port), 0);
	assert_int_equal(traw_handshake(&r, f->td.key, f->td.keylen, why, sizeof why), -2);
	assert_string_equal(why, "EncryptionRequired: this listener serves encrypted sessions only");
	traw_close(&r);
	assert_int_equal(traw_connect_tcp(&r, f->host, f->port), 0);
	assert_int_equal(traw_handshake_flags(&r, f->td.key, f->td.keylen, PS_HS_FLAG_ENC, NULL, 0), 0);
	assert_int_equal(ps_hs_flags(r.shello), PS_HS_FLAG_ENC_OFFER | PS_HS_FLAG_ENC_REQUIRED);
	assert_int_equal(traw_request(&r, 1, "ping", "\x90", 1), 0);
	assert_int_equal(traw_response(&r, 1, NULL, 0, NULL, 0), 0);
	traw_close(&r);
}

/* ---- timeouts ----------------------------------------------------------------- */

#define CALL_TIMEOUT_MS 300

static void test_timeout_stopped_daemon(void **state)
{
	struct fix *f = *state;
	ps_ctx *ctx = tdaemon_connect(&f->td);
	ps_dict *d = ps_dict_open(ctx, "t");
	int64_t v = 0, t0, took;

	assert_non_null(d);
	assert_int_equal(ps_dict_set_int(d, "a", 111), 0);
	assert_int_equal(ps_dict_set_int(d, "b", 222), 0);
	ps_set_timeout(ctx, CALL_TIMEOUT_MS);
	assert_int_equal(tdaemon_signal(&f->td, SIGSTOP), 0);
	t0 = tutil_now_ms();
	assert_int_equal(ps_dict_get_int(d, "a", &v), -1);
	took = tutil_now_ms() - t0;
	assert_int_equal(ps_err(ctx), PS_ERR_TIMEOUT);
	if (took < CALL_TIMEOUT_MS - 20 || took > CALL_TIMEOUT_MS + 2000)
		fail_msg("timed out after %lld ms with a %d ms timeout", (long long)took, CALL_TIMEOUT_MS);
	/* Another call times out too, not sticky in the other direction. */
	assert_int_equal(ps_ping(ctx), -1);
	assert_int_equal(ps_err(ctx), PS_ERR_TIMEOUT);
	assert_int_equal(tdaemon_signal(&f->td, SIGCONT), 0);
	/* Timeouts do not stick: the context works, and the late answers
	 * (111 for "a", the ping's "pong") are discarded, not mistaken for
	 * this call's answer. */
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	assert_int_equal(ps_dict_get_int(d, "b", &v), 0);
	assert_int_equal(v, 222);
	assert_int_equal(ps_ping(ctx), 0);
	assert_int_equal(ps_dict_get_int(d, "a", &v), 0);
	assert_int_equal(v, 111);
	ps_dict_free(d);
	ps_free(ctx);
}

/* Timeout 0 or more on a live daemon does not disturb normal calls. */
static void test_timeout_not_hit(void **state)
{
	struct fix *f = *state;
	ps_ctx *ctx = tdaemon_connect(&f->td);

	ps_set_timeout(ctx, 5000);
	for (int i = 0; i < 100; i++)
		assert_int_equal(ps_ping(ctx), 0);
	ps_set_timeout(ctx, -1);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp_v4, setup_v4, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_raw_handshake, setup_v4, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_v6, setup_v6, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_stopped_daemon, setup_unix, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_not_hit, setup_unix, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
