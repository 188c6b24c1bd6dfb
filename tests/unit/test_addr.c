/*
 * Unit tests of proto/ps_addr.c: every accepted address form and the
 * errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ps_addr.h"

static void expect_unix(const char *s, const char *path)
{
	struct ps_addr a;
	char err[256] = "";

	if (ps_addr_parse(s, &a, err, sizeof err) != 0)
		fail_msg("\"%s\" refused: %s", s, err);
	assert_int_equal(a.kind, PS_ADDR_UNIX);
	assert_string_equal(a.path, path);
}

static void expect_tcp(const char *s, const char *host, const char *port)
{
	struct ps_addr a;
	char err[256] = "";

	if (ps_addr_parse(s, &a, err, sizeof err) != 0)
		fail_msg("\"%s\" refused: %s", s, err);
	assert_int_equal(a.kind, PS_ADDR_TCP);
	assert_string_equal(a.host, host);
	assert_string_equal(a.port, port);
}

static void expect_error(const char *s)
{
	struct ps_addr a;
	char err[256] = "";

	if (ps_addr_parse(s, &a, err, sizeof err) != -1)
		fail_msg("\"%s\" accepted (kind %d host \"%s\" port \"%s\" path \"%s\")",
			 s ? s : "(null)", a.kind, a.host, a.port, a.path);
	assert_true(err[0] != '\0');
}

static void test_unix_forms(void **state)
{
	(void)state;
	expect_unix("unix:/run/procshare/s.sock", "/run/procshare/s.sock");
	expect_unix("unix:relative.sock", "relative.sock");
	expect_unix("/tmp/s", "/tmp/s");
	expect_unix("./s.sock", "./s.sock");
	expect_unix("../d/s.sock", "../d/s.sock");
	/* A path may contain colons; it is still a path. */
	expect_unix("/tmp/a:1", "/tmp/a:1");
	expect_unix("unix:/tmp/[::1]:5", "/tmp/[::1]:5");
}

static void test_unix_path_length(void **state)
{
	char s[300], path[200];

	(void)state;
	/* sun_path holds 108 bytes including the NUL: 107 fit. */
	memset(path, 'p', sizeof path);
	path[0] = '/';
	path[107] = '\0';
	expect_unix(path, path);
	snprintf(s, sizeof s, "unix:%s", path);
	expect_unix(s, path);
	path[107] = 'p';
	path[108] = '\0';
	expect_error(path);
	snprintf(s, sizeof s, "unix:%s", path);
	expect_error(s);
}

static void test_tcp_forms(void **state)
{
	(void)state;
	expect_tcp("tcp://127.0.0.1:7070", "127.0.0.1", "7070");
	expect_tcp("tcp://example.org:1", "example.org", "1");
	expect_tcp("localhost:65535", "localhost", "65535");
	expect_tcp("10.0.0.1:0", "10.0.0.1", "0");
	expect_tcp("[::1]:7070", "::1", "7070");
	expect_tcp("tcp://[::1]:7070", "::1", "7070");
	expect_tcp("[fe80::1%eth0]:80", "fe80::1%eth0", "80");
	expect_tcp("tcp://[2001:db8::42]:443", "2001:db8::42", "443");
	/* Leading zeros are allowed; the port comes back in decimal. */
	expect_tcp("h:007", "h", "7");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("");
	expect_error(NULL);
	expect_error("unix:");
	expect_error("localhost");              /* missing port */
	expect_error("tcp://localhost");
	expect_error("localhost:");             /* empty port */
	expect_error("tcp://h:");
	expect_error(":7070");                  /* missing host */
	expect_error("tcp://:7070");
	expect_error("h:65536");                /* bad ports */
	expect_error("h:99999999999999999999");
	expect_error("h:-1");
	expect_error("h:80x");
	expect_error("h:x80");
	expect_error("h:8 0");
	expect_error("::1:7070");               /* unbracketed IPv6 */
	expect_error("tcp://fe80::1:80");
	expect_error("[::1]");                  /* bracketed, no port */
	expect_error("[::1]7070");
	expect_error("[::1:7070");
	expect_error("tcp://[::1]:");
	expect_error("[]:80");
}

/* A port is decimal digits only: no sign, no blanks (strtol would take
 * both). */
static void test_port_digits_only(void **state)
{
	(void)state;
	expect_error("h:+80");
	expect_error("h: 80");
	expect_error("tcp://[::1]:+80");
	expect_error("h:\t80");
}

/* host[] holds 255 bytes and the NUL. */
static void test_host_length(void **state)
{
	char s[400], host[300];

	(void)state;
	memset(host, 'h', sizeof host);
	host[255] = '\0';
	snprintf(s, sizeof s, "%s:80", host);
	expect_tcp(s, host, "80");
	host[255] = 'h';
	host[256] = '\0';
	snprintf(s, sizeof s, "%s:80", host);
	expect_error(s);
	snprintf(s, sizeof s, "[%s]:80", host);
	expect_error(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix_forms),
		cmocka_unit_test(test_unix_path_length),
		cmocka_unit_test(test_tcp_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_port_digits_only),
		cmocka_unit_test(test_host_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
