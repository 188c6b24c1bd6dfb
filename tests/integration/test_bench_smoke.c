/*
 * A short run of the benchmark load generator (bench/loadgen, built beside
 * the daemon: $(BUILD)/bench/) against a private daemon: every operation
 * of the mix, both engines, pipelining, the memory, connection and floor
 * modes. It checks that the generator works and reports sane figures
 * (counts add up, no error replies, percentiles in order); timings are
 * never asserted.
 */
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/tdaemon.h"
#include "../lib/tutil.h"

#define RUN_MS 60000
#define OUT_MAX 4096

/* The daemon's loopback TCP address ("tcp://127.0.0.1:PORT"), beside
 * its Unix socket. */
static char tcp_addr[64];

static int setup(void **state)
{
	struct tdaemon *td = calloc(1, sizeof *td);
	int port = tdaemon_free_port("127.0.0.1");
	const char *args[] = { "--listen", tcp_addr, NULL };

	snprintf(tcp_addr, sizeof tcp_addr, "tcp://127.0.0.1:%d", port);
	if (td == NULL || port < 0 || tdaemon_start(td, args) < 0) {
		free(td);
		return -1;
	}
	*state = td;
	return 0;
}

static int teardown(void **state)
{
	struct tdaemon *td = *state;
	int rc = tdaemon_stop(td);

	free(td);
	return rc;
}

static void loadgen_path(char *out, size_t len)
{
	const char *d = getenv("PS_DAEMON");
	char buf[512];

	snprintf(buf, sizeof buf, "%s", d != NULL && *d != '\0' ? d : "build/procshared");
	snprintf(out, len, "%s/bench/loadgen", dirname(buf));
}

/* Runs loadgen with the daemon's address, key and pid followed by the
 * NULL-terminated args; returns its exit code, its stdout in out. */
static int run_loadgen(const struct tdaemon *td, char *out, size_t cap, ...)
{
	const char *argv[32];
	char path[600], pid[16];
	int64_t deadline = tutil_now_ms() + RUN_MS;
	size_t n = 0;
	int argc = 0, p[2];
	va_list ap;
	pid_t child;

	loadgen_path(path, sizeof path);
	if (access(path, X_OK) != 0)
		fail_msg("%s is not built", path);
	snprintf(pid, sizeof pid, "%d", (int)td->pid);
	argv[argc++] = path;
	argv[argc++] = "-a";
	argv[argc++] = td->addr;
	argv[argc++] = "-k";
	argv[argc++] = td->keyfile;
	argv[argc++] = "-p";
	argv[argc++] = pid;
	va_start(ap, cap);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execv(path, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		int64_t left = deadline - tutil_now_ms();
		ssize_t k;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		k = read(p[0], out + n, cap - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	close(p[0]);
	return tutil_reap(child, (int)(deadline - tutil_now_ms() > 0 ? deadline - tutil_now_ms() : 1));
}

/* The number after " name=" in the report line; fails the test when the
 * field is missing. */
static double field(const char *out, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof key, " %s=", name);
	p = strstr(out, key);
	if (p == NULL)
		fail_msg("no %s in loadgen's report:\n%s", name, out);
	return strtod(p + strlen(key), NULL);
}

/* What every throughput report must say. */
static void check_ops_report(const char *out, double ops)
{
	double p50 = field(out, "p50_us"), p99 = field(out, "p99_us"), p999 = field(out, "p999_us");

	assert_true(field(out, "ops") == ops);
	assert_true(field(out, "errors") == 0);
	assert_true(field(out, "secs") > 0);
	assert_true(field(out, "ops_per_sec") > 0);
	assert_true(p50 > 0);
	assert_true(p99 >= p50);
	assert_true(p999 >= p99);
}

/* Every operation of the mix over several pipelined connections of the
 * event-loop engine. */
static void test_loop_engine_mix(void **state)
{
	struct tdaemon *td = *state;
	char out[OUT_MAX];
	int rc;

	rc = run_loadgen(td, out, sizeof out, "-t", "get,set,append,queue,lock,value,ping", "-c", "3", "-P", "4",
			 "-n", "420", (char *)NULL);
	if (rc != 0)
		fail_msg("loadgen exited with %d:\n%s", rc, out);
	check_ops_report(out, 420);
	assert_non_null(strstr(out, "engine=loop"));
	assert_true(field(out, "conns") == 3);
	assert_true(field(out, "depth") == 4);
	assert_true(field(out, "rss_before_kb") > 0);
	assert_true(field(out, "rss_after_kb") > 0);
}

/* The same operations through libprocshare's blocking API. */
static void test_lib_engine_mix(void **state)
{
	struct tdaemon *td = *state;
	char out[OUT_MAX];
	int rc;

	rc = run_loadgen(td, out, sizeof out, "--engine", "lib", "-t", "get=2,set,append,queue,lock,value", "-c", "2",
			 "-n", "300", (char *)NULL);
	if (rc != 0)
		fail_msg("loadgen exited with %d:\n%s", rc, out);
	check_ops_report(out, 300);
	assert_non_null(strstr(out, "engine=lib"));
}

/* The items the queue pairs put were all taken again, and the locks are
 * free: the mix leaves balanced state behind. */
static void test_pairs_balance(void **state)
{
	struct tdaemon *td = *state;
	char out[OUT_MAX];
	ps_ctx *ctx;
	ps_queue *q;
	ps_lock *l;
	size_t qsize = 1;
	int locked = 1;

	assert_int_equal(run_loadgen(td, out, sizeof out, "-t", "queue,lock", "-c", "2", "-P", "3", "-n", "200",
				     (char *)NULL), 0);
	check_ops_report(out, 200);
	ctx = tdaemon_connect(td);
	q = ps_queue_open(ctx, "bench.queue", 0);
	l = ps_lock_open(ctx, "bench.lock.1", PS_LOCK);
	assert_non_null(q);
	assert_non_null(l);
	assert_int_equal(ps_queue_qsize(q, &qsize), 0);
	assert_int_equal(qsize, 0);
	assert_int_equal(ps_lock_locked(l, &locked), 0);
	assert_int_equal(locked, 0);
	ps_queue_free(q);
	ps_lock_free(l);
	ps_free(ctx);
}

static void test_fill(void **state)
{
	struct tdaemon *td = *state;
	char out[OUT_MAX];
	int rc;

	rc = run_loadgen(td, out, sizeof out, "--fill", "3000", (char *)NULL);
	if (rc != 0)
		fail_msg("loadgen --fill exited with %d:\n%s", rc, out);
	assert_true(field(out, "entries") == 3000);
	assert_true(field(out, "len") == 3000);
	assert_true(field(out, "errors") == 0);
	assert_true(field(out, "rss_after_kb") >= field(out, "rss_before_kb"));
}

static void test_idle(void **state)
{
	struct tdaemon *td = *state;
	char out[OUT_MAX];
	int rc;

	rc = run_loadgen(td, out, sizeof out, "--idle", "50", (char *)NULL);
	if (rc != 0)
		fail_msg("loadgen --idle exited with %d:\n%s", rc, out);
	assert_true(field(out, "conns") == 50);
	assert_true(field(out, "rss_before_kb") > 0);
}

/* The ping-pong floor needs no daemon. */
static void test_floor(void **state)
{
	struct tdaemon *td = *state;
	char out[OUT_MAX];
	int rc;

	rc = run_loadgen(td, out, sizeof out, "--floor", "-c", "2", "-P", "2", "-n", "200", (char *)NULL);
	if (rc != 0)
		fail_msg("loadgen --floor exited with %d:\n%s", rc, out);
	check_ops_report(out, 200);
	assert_non_null(strstr(out, "mode=floor"));
}

/* Bad arguments are refused with the usage text, not run. */
static void test_bad_arguments(void **state)
{
	struct tdaemon *td = *state;
	char out[OUT_MAX];

	assert_int_equal(run_loadgen(td, out, sizeof out, "-t", "nosuchop", (char *)NULL), 2);
	assert_int_equal(run_loadgen(td, out, sizeof out, "-c", "0", (char *)NULL), 2);
	assert_int_equal(run_loadgen(td, out, sizeof out, "--engine", "lib", "-P", "2", (char *)NULL), 2);
}

/* Encrypted sessions in both engines: asked for over the Unix socket,
 * and by default over TCP (a later -a replaces the Unix address). */
static void test_encrypted_sessions(void **state)
{
	struct tdaemon *td = *state;
	char out[OUT_MAX];
	int rc;

	rc = run_loadgen(td, out, sizeof out, "--encryption", "on", "-t", "get,set,queue,lock", "-c", "2", "-P", "4",
			 "-n", "200", (char *)NULL);
	if (rc != 0)
		fail_msg("loadgen exited with %d:\n%s", rc, out);
	check_ops_report(out, 200);
	assert_true(field(out, "encrypted") == 1);
	rc = run_loadgen(td, out, sizeof out, "-a", tcp_addr, "--engine", "lib", "-t", "get,set", "-c", "2", "-n",
			 "100", (char *)NULL);
	if (rc != 0)
		fail_msg("loadgen exited with %d:\n%s", rc, out);
	check_ops_report(out, 100);
	assert_true(field(out, "encrypted") == 1);
	rc = run_loadgen(td, out, sizeof out, "-a", tcp_addr, "-t", "get", "-c", "2", "-P", "4", "-n", "100",
			 (char *)NULL);
	if (rc != 0)
		fail_msg("loadgen exited with %d:\n%s", rc, out);
	assert_true(field(out, "encrypted") == 1);
	/* Plaintext asked of a TCP listener that requires encryption. */
	assert_true(run_loadgen(td, out, sizeof out, "-a", tcp_addr, "--encryption", "off", "-t", "get", "-n", "10",
				(char *)NULL) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_engine_mix),
		cmocka_unit_test(test_lib_engine_mix),
		cmocka_unit_test(test_pairs_balance),
		cmocka_unit_test(test_encrypted_sessions),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_floor),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
