/*
 * Runs the built examples against a private daemon and checks what they
 * print. The example binaries sit beside the daemon: $(BUILD)/examples/.
 */
#include <fcntl.h>
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
#include "../lib/tfix.h"
#include "../lib/tutil.h"

#define RUN_MS 30000

static void test_manager_example(void **state)
{
	struct tfix *f = *state;
	char out[4096];
	int rc;

	rc = tfix_run_example(&f->td, "manager", RUN_MS, out, sizeof out);
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
		void *res = NULL;
		size_t rlen = 0;

		assert_int_equal(ps_call(f->ctx, "objects", "\x90", 1, &res, &rlen), 0);
		assert_int_equal(rlen, 1);
		assert_int_equal(((uint8_t *)res)[0], 0x90);
		free(res);
	}
}

/* Without an address in the environment it fails cleanly. */
static void test_manager_without_env(void **state)
{
	char path[600];
	pid_t pid;

	(void)state;
	tfix_example_path("manager", path, sizeof path);
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
		cmocka_unit_test_setup_teardown(test_manager_example, tfix_setup, tfix_teardown),
		cmocka_unit_test(test_manager_without_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
