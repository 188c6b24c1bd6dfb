/*
 * Runs the built examples against a private daemon and checks what they
 * print. The example binaries sit beside the daemon: $(BUILD)/examples/.
 */
#include <errno.h>
#include <fcntl.h>
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

#define RUN_MS 30000

static int setup(void **state)
{
	struct tdaemon *td = calloc(1, sizeof *td);

	if (td == NULL || tdaemon_start(td, NULL) < 0) {
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

static void example_path(const char *name, char *out, size_t len)
{
	const char *d = getenv("PS_DAEMON");
	char buf[512];

	snprintf(buf, sizeof buf, "%s", d != NULL && *d != '\0' ? d : "build/procshared");
	snprintf(out, len, "%s/examples/%s", dirname(buf), name);
}

/* Runs path with the daemon's address and key file in the environment;
 * returns its exit code, its stdout in out. */
static int run(const struct tdaemon *td, const char *path, char *out, size_t cap)
{
	int p[2], rc;
	size_t n = 0;
	int64_t deadline = tutil_now_ms() + RUN_MS;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		setenv("PROCSHARE_ADDRESS", td->addr, 1);
		setenv("PROCSHARE_AUTHKEY_FILE", td->keyfile, 1);
		unsetenv("PROCSHARE_AUTHKEY");
		execl(path, path, (char *)NULL);
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
	rc = tutil_reap(pid, (int)(deadline - tutil_now_ms() > 0 ? deadline - tutil_now_ms() : 1));
	return rc;
}

static void test_manager_example(void **state)
{
	struct tdaemon *td = *state;
	char path[600], out[4096];
	int rc;

	example_path("manager", path, sizeof path);
	if (access(path, X_OK) != 0)
		fail_msg("%s is not built", path);
	rc = run(td, path, out, sizeof out);
	if (rc != 0)
		fail_msg("manager exited with %d; output:\n%s", rc, out);
	if (strncmp(out, "list: 0 1 4 9 16\n", 17) != 0)
		fail_msg("unexpected output:\n%s", out);
	for (int i = 0; i < 5; i++) {
		char line[64];

		snprintf(line, sizeof line, "dict: worker %d: done by pid ", i);
		if (strstr(out, line) == NULL)
			fail_msg("no \"%s\" in:\n%s", line, out);
	}
	/* Its anonymous objects went with it: nothing named is left behind. */
	{
		ps_ctx *ctx = tdaemon_connect(td);
		void *res = NULL;
		size_t rlen = 0;

		assert_int_equal(ps_call(ctx, "objects", "\x90", 1, &res, &rlen), 0);
		assert_int_equal(rlen, 1);
		assert_int_equal(((uint8_t *)res)[0], 0x90);
		free(res);
		ps_free(ctx);
	}
}

/* Without an address in the environment it fails cleanly. */
static void test_manager_without_env(void **state)
{
	char path[600];
	pid_t pid;

	(void)state;
	example_path("manager", path, sizeof path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		unsetenv("PROCSHARE_ADDRESS");
		unsetenv("PROCSHARE_AUTHKEY_FILE");
		unsetenv("PROCSHARE_AUTHKEY");
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(tutil_reap(pid, RUN_MS), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_manager_example, setup, teardown),
		cmocka_unit_test(test_manager_without_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
