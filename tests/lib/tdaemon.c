/*
 * Private daemons for tests. Waits are on conditions: the READY line on a
 * pipe (poll with a deadline) and the process's exit (pidfd).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "tdaemon.h"
#include "tutil.h"

#define MAX_ARGS 64

static const char *daemon_path(void)
{
	const char *p = getenv("PS_DAEMON");

	return p != NULL && *p != '\0' ? p : "build/procshared";
}

static int write_key(struct tdaemon *td)
{
	int fd;

	if (getrandom(td->key, sizeof td->key, 0) != (ssize_t)sizeof td->key)
		return -1;
	/* Binary keys are fine, but a trailing newline would be stripped. */
	td->key[sizeof td->key - 1] = 'k';
	td->keylen = sizeof td->key;
	fd = open(td->keyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, td->key, td->keylen) != (ssize_t)td->keylen) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Runs in the child: never returns. */
static void exec_daemon(struct tdaemon *td, int ready_w, const char *const *extra)
{
	const char *argv[MAX_ARGS];
	char fdbuf[16];
	int n = 0, log;

	/* The daemon dies with the test process, whatever happens to it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	log = open(td->logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log >= 0) {
		dup2(log, STDERR_FILENO);
		dup2(log, STDOUT_FILENO);
	}
	snprintf(fdbuf, sizeof fdbuf, "%d", ready_w);
	argv[n++] = daemon_path();
	/* The machine's own /etc/procshare/procshared.conf must not leak in. */
	argv[n++] = "--config";
	argv[n++] = "/dev/null";
	argv[n++] = "--listen";
	argv[n++] = td->addr;
	argv[n++] = "--authkey-file";
	argv[n++] = td->keyfile;
	argv[n++] = "--ready-fd";
	argv[n++] = fdbuf;
	argv[n++] = "--log-level";
	argv[n++] = "warn";
	for (int i = 0; extra != NULL && extra[i] != NULL && n < MAX_ARGS - 1; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	execv(argv[0], (char *const *)argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void remove_dir(struct tdaemon *td)
{
	char path[192];

	if (td->dir[0] == '\0')
		return;
	unlink(td->sock);
	unlink(td->keyfile);
	unlink(td->logfile);
	/* Anything a test left there (a copy of the key, a second socket). */
	snprintf(path, sizeof path, "%s/key2", td->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/s2.sock", td->dir);
	unlink(path);
	rmdir(td->dir);
	td->dir[0] = '\0';
}

/* Waits for "READY\n" on fd. 0, or -1 on EOF or at the deadline. */
static int wait_ready(int fd)
{
	int64_t deadline = tutil_now_ms() + TDAEMON_START_MS;
	char buf[16];
	size_t got = 0;

	while (got < 6) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - tutil_now_ms();
		ssize_t r;

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p.revents == 0)
			continue;
		r = read(fd, buf + got, sizeof buf - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return memcmp(buf, "READY\n", 6) == 0 ? 0 : -1;
}

int tdaemon_start(struct tdaemon *td, const char *const *extra)
{
	int pipefd[2];
	pid_t pid;
	char tmpl[] = "/tmp/ps-test.XXXXXX";

	memset(td, 0, sizeof *td);
	if (mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(td->dir, sizeof td->dir, "%s", tmpl);
	snprintf(td->sock, sizeof td->sock, "%s/s.sock", td->dir);
	snprintf(td->addr, sizeof td->addr, "unix:%s", td->sock);
	snprintf(td->keyfile, sizeof td->keyfile, "%s/key", td->dir);
	snprintf(td->logfile, sizeof td->logfile, "%s/daemon.log", td->dir);
	if (write_key(td) < 0) {
		fprintf(stderr, "writing %s: %s\n", td->keyfile, strerror(errno));
		remove_dir(td);
		return -1;
	}
	/* The write end is inherited by the daemon (no O_CLOEXEC there). */
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		remove_dir(td);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		remove_dir(td);
		return -1;
	}
	if (pid == 0) {
		int w;

		/* Nothing of the test's (client sockets above all) may stay
		 * open in the daemon: mark every fd close-on-exec, then make
		 * the one inheritable copy of the ready pipe. */
		close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
		w = fcntl(pipefd[1], F_DUPFD, 10);

		exec_daemon(td, w, extra);
	}
	td->pid = pid;
	close(pipefd[1]);
	if (wait_ready(pipefd[0]) < 0) {
		int status = 0;
		char why[64];

		close(pipefd[0]);
		if (tutil_wait_child(pid, 100, &status) < 0) {
			kill(pid, SIGKILL);
			tutil_wait_child(pid, TDAEMON_START_MS, &status);
			snprintf(why, sizeof why, "not ready within %d ms", TDAEMON_START_MS);
		} else {
			tutil_status_str(status, why, sizeof why);
		}
		fprintf(stderr, "procshared (%s) did not start: %s\n", daemon_path(), why);
		tdaemon_dump_log(td);
		td->pid = 0;
		remove_dir(td);
		return -1;
	}
	close(pipefd[0]);
	return 0;
}

int tdaemon_stop(struct tdaemon *td)
{
	int status = 0, ok = 0;
	char why[64];

	if (td->pid == 0) {
		remove_dir(td);
		return 0;
	}
	/* A stopped daemon cannot act on SIGTERM. */
	kill(td->pid, SIGCONT);
	if (kill(td->pid, SIGTERM) < 0) {
		fprintf(stderr, "kill procshared: %s\n", strerror(errno));
	}
	if (tutil_wait_child(td->pid, TDAEMON_STOP_MS, &status) < 0) {
		fprintf(stderr, "procshared did not exit within %d ms of SIGTERM\n", TDAEMON_STOP_MS);
		kill(td->pid, SIGKILL);
		tutil_wait_child(td->pid, TDAEMON_START_MS, &status);
		ok = -1;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "procshared stopped with %s\n", tutil_status_str(status, why, sizeof why));
		ok = -1;
	}
	if (ok < 0 || getenv("PS_TEST_DAEMON_LOG") != NULL)
		tdaemon_dump_log(td);
	td->pid = 0;
	remove_dir(td);
	return ok;
}

int tdaemon_signal(struct tdaemon *td, int sig)
{
	return td->pid > 0 ? kill(td->pid, sig) : -1;
}

int tdaemon_alive(struct tdaemon *td)
{
	int status;

	if (td->pid <= 0)
		return 0;
	return tutil_wait_child(td->pid, 0, &status) < 0;
}

ps_ctx *tdaemon_connect(const struct tdaemon *td)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);

	if (ctx == NULL)
		fail_msg("ps_connect: out of memory");
	if (ps_err(ctx) != PS_ERR_NONE) {
		char msg[512];

		snprintf(msg, sizeof msg, "%s", ps_errstr(ctx));
		ps_free(ctx);
		fail_msg("ps_connect(%s): %s", td->addr, msg);
	}
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	return ctx;
}

int tdaemon_free_port(const char *host)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, port = -1;

	memset(&ss, 0, sizeof ss);
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		len = sizeof *s4;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	return port;
}

void tdaemon_dump_log(const struct tdaemon *td)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(td->logfile, "r");

	if (f == NULL)
		return;
	fprintf(stderr, "---- procshared log (%s) ----\n", td->logfile);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end of log ----\n");
	fclose(f);
}
