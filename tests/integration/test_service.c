/*
 * procshared as a service: configuration errors and the authkey rules,
 * systemd's protocols (the units verify, socket activation, readiness and
 * stopping notifications), signals (SIGHUP reloads, SIGTERM with parked
 * calls), the info and describe globals, the memory limit, and the
 * procshare command line tool against a live daemon.
 *
 * Every daemon here is a real procshared process started by this file's
 * own helpers (they need control of its environment and arguments), and
 * every tool run is a real procshare process. Waits are on conditions: a
 * ready pipe, a notification datagram, a process exit, or the daemon's
 * own answers, each with a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <msgpack.h>

#include "procshare.h"
#include "../lib/tdaemon.h"
#include "../lib/tutil.h"
#include "../lib/tval.h"

#define WAIT_MS 10000           /* deadline of every wait */
#define READY_FD 10             /* where a spawned daemon finds its ready pipe */
#define MAX_ARGV 48

/* ---- paths ---------------------------------------------------------------- */

static const char *daemon_path(void)
{
	const char *p = getenv("PS_DAEMON");

	return p != NULL && *p != '\0' ? p : "build/procshared";
}

/* The directory holding the daemon (and the tool beside it), absolute. */
static void build_dir(char *out, size_t len)
{
	char real[PATH_MAX];
	char *slash;

	if (realpath(daemon_path(), real) == NULL)
		fail_msg("daemon %s: %s", daemon_path(), strerror(errno));
	slash = strrchr(real, '/');
	*slash = '\0';
	snprintf(out, len, "%s", real);
}

static void cli_path(char *out, size_t len)
{
	build_dir(out, len);
	if (strlen(out) + sizeof "/procshare" > len)
		fail_msg("path too long: %s", out);
	strcat(out, "/procshare");
}

static const char *srcdir(void)
{
	const char *p = getenv("PS_SRCDIR");

	return p != NULL && *p != '\0' ? p : ".";
}

/* Finds an executable on $PATH; 0 when found. */
static int find_tool(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096], *save = NULL;

	snprintf(dirs, sizeof dirs, "%s", path != NULL ? path : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* ---- files ---------------------------------------------------------------- */

struct tdir {
	char path[64];
};

static void tdir_make(struct tdir *t)
{
	snprintf(t->path, sizeof t->path, "/tmp/ps-svc.XXXXXX");
	if (mkdtemp(t->path) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
}

static int remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void tdir_remove(struct tdir *t)
{
	if (t->path[0] != '\0')
		nftw(t->path, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
	t->path[0] = '\0';
}

static const char *tpath(const struct tdir *t, const char *name)
{
	static char ring[8][256];
	static int next;
	char *out = ring[next++ % 8];

	snprintf(out, sizeof ring[0], "%s/%s", t->path, name);
	return out;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode) < 0)
		fail_msg("writing %s: %s", path, strerror(errno));
	close(fd);
}

/* The file's contents, malloc'd ("" when it cannot be read). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];

	while (f != NULL && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf = realloc(buf, len + n + 1);
		memcpy(buf + len, chunk, n);
		len += n;
	}
	if (f != NULL)
		fclose(f);
	if (buf == NULL)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---- processes ------------------------------------------------------------ */

struct spawn {
	const char *argv[MAX_ARGV];
	int argc;
	const char *env[16];    /* "NAME=value" sets, "NAME" unsets */
	int nenv;
	const char *out;        /* stdout file, NULL: /dev/null */
	const char *err;        /* stderr file, NULL: /dev/null */
	int ready_fd;           /* passed on as READY_FD, or -1 */
};

static void spawn_init(struct spawn *sp, const char *prog)
{
	memset(sp, 0, sizeof *sp);
	sp->ready_fd = -1;
	sp->argv[sp->argc++] = prog;
}

static void spawn_args(struct spawn *sp, const char *const *args)
{
	for (int i = 0; args != NULL && args[i] != NULL && sp->argc < MAX_ARGV - 1; i++)
		sp->argv[sp->argc++] = args[i];
}

static void spawn_env(struct spawn *sp, const char *kv)
{
	sp->env[sp->nenv++] = kv;
}

static void redirect(const char *path, int fd)
{
	int f = open(path != NULL ? path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (f >= 0)
		dup2(f, fd);
}

/* Runs in the child: never returns. */
static void child_exec(const struct spawn *sp)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0; i < sp->nenv; i++) {
		char name[128];
		const char *eq = strchr(sp->env[i], '=');
		if (eq == NULL) {
			unsetenv(sp->env[i]);
			continue;
		}
		snprintf(name, sizeof name, "%.*s", (int)(eq - sp->env[i]), sp->env[i]);
		setenv(name, eq + 1, 1);
	}
	redirect(sp->out, STDOUT_FILENO);
	redirect(sp->err, STDERR_FILENO);
	/* Nothing of the test's may stay open in the child but the ready pipe. */
	close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
	if (sp->ready_fd >= 0) {
		if (sp->ready_fd == READY_FD)
			fcntl(READY_FD, F_SETFD, 0);
		else
			dup2(sp->ready_fd, READY_FD);
	}
	execv(sp->argv[0], (char *const *)sp->argv);
	fprintf(stderr, "exec %s: %s\n", sp->argv[0], strerror(errno));
	_exit(127);
}

static pid_t spawn_start(struct spawn *sp)
{
	pid_t pid;

	sp->argv[sp->argc] = NULL;
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0)
		child_exec(sp);
	return pid;
}

/* Runs to completion: the exit code, 128 + signal, or -1 at the deadline. */
static int spawn_run(struct spawn *sp)
{
	return tutil_reap(spawn_start(sp), WAIT_MS);
}

/* Waits for "READY\n" on fd. */
static int wait_ready(int fd)
{
	int64_t deadline = tutil_now_ms() + WAIT_MS;
	char buf[8];
	size_t got = 0;

	while (got < 6) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - tutil_now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) < 0)
			return -1;
		if (p.revents == 0)
			continue;
		r = read(fd, buf + got, sizeof buf - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return memcmp(buf, "READY\n", 6) == 0 ? 0 : -1;
}

/* ---- private daemons ------------------------------------------------------ */

struct svc {
	struct tdir dir;
	char sock[128], addr[160], keyfile[128], log[128];
	char key[65];           /* hex text, the file's contents */
	pid_t pid;
};

static void make_key(char out[65])
{
	uint8_t raw[32];

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		fail_msg("getrandom: %s", strerror(errno));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* A temporary directory with a key file (mode 0600). */
static void svc_init(struct svc *s)
{
	memset(s, 0, sizeof *s);
	tdir_make(&s->dir);
	snprintf(s->sock, sizeof s->sock, "%s/s.sock", s->dir.path);
	snprintf(s->addr, sizeof s->addr, "unix:%s", s->sock);
	snprintf(s->keyfile, sizeof s->keyfile, "%s/key", s->dir.path);
	snprintf(s->log, sizeof s->log, "%s/daemon.log", s->dir.path);
	make_key(s->key);
	write_file(s->keyfile, s->key, 0600);
}

/* The daemon with its standard arguments, the extra ones, and env. */
static void svc_spawn(struct svc *s, struct spawn *sp, const char *const *args, const char *const *env)
{
	static const char *const std_args[] = { "--log-level", "info", NULL };

	spawn_init(sp, daemon_path());
	/* An empty file: no /etc/procshare/procshared.conf of this machine
	 * may change the test. */
	write_file(tpath(&s->dir, "empty.conf"), "", 0600);
	sp->argv[sp->argc++] = "--config";
	sp->argv[sp->argc++] = tpath(&s->dir, "empty.conf");
	sp->argv[sp->argc++] = "--listen";
	sp->argv[sp->argc++] = s->addr;
	sp->argv[sp->argc++] = "--authkey-file";
	sp->argv[sp->argc++] = s->keyfile;
	spawn_args(sp, std_args);
	spawn_args(sp, args);
	for (int i = 0; env != NULL && env[i] != NULL; i++)
		spawn_env(sp, env[i]);
	sp->err = s->log;
	sp->out = s->log;
}

static void dump_log(const struct svc *s)
{
	char *log = slurp(s->log);

	fprintf(stderr, "---- daemon log ----\n%s---- end ----\n", log);
	free(log);
}

/* Starts and waits for its READY line. */
static void svc_start(struct svc *s, const char *const *args, const char *const *env)
{
	struct spawn sp;
	int fds[2];

	svc_spawn(s, &sp, args, env);
	if (pipe2(fds, O_CLOEXEC) < 0)
		fail_msg("pipe: %s", strerror(errno));
	sp.argv[sp.argc++] = "--ready-fd";
	sp.argv[sp.argc++] = "10";
	sp.ready_fd = fds[1];
	s->pid = spawn_start(&sp);
	close(fds[1]);
	if (wait_ready(fds[0]) < 0) {
		close(fds[0]);
		dump_log(s);
		fail_msg("procshared did not become ready");
	}
	close(fds[0]);
}

/* SIGTERM; the exit code (0 expected), or -1 when it did not exit. */
static int svc_stop(struct svc *s)
{
	int code;

	if (s->pid <= 0)
		return 0;
	kill(s->pid, SIGTERM);
	code = tutil_reap(s->pid, WAIT_MS);
	s->pid = 0;
	if (code != 0)
		dump_log(s);
	return code;
}

static void svc_cleanup(struct svc *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		tutil_reap(s->pid, WAIT_MS);
		s->pid = 0;
	}
	tdir_remove(&s->dir);
}

static ps_ctx *connect_key(const char *addr, const char *key)
{
	ps_ctx *ctx = ps_connect(addr, key, strlen(key));

	if (ctx == NULL)
		fail_msg("ps_connect: out of memory");
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	return ctx;
}

static ps_ctx *svc_connect(const struct svc *s)
{
	ps_ctx *ctx = connect_key(s->addr, s->key);

	if (ps_err(ctx) != PS_ERR_NONE)
		fail_msg("connect %s: %s", s->addr, ps_errstr(ctx));
	return ctx;
}

/* ---- calls ---------------------------------------------------------------- */

/* method with params written as tval text; the result as text, or "!Code". */
static const char *call_text(ps_ctx *ctx, const char *method, const char *params)
{
	const uint8_t *p;
	void *res = NULL;
	size_t n, rlen = 0;
	int rc;

	p = tval_enc(params, &n);
	rc = ps_call(ctx, method, p, n, &res, &rlen);
	return tval_res(ctx, rc, res, rlen);
}

/* Opens (creating) a named object of type: its id. */
static uint64_t open_obj(ps_ctx *ctx, const char *type, const char *name, const char *args)
{
	char params[256];
	const char *r;

	snprintf(params, sizeof params, "[\"%s\", \"%s\", true, %s]", type, name, args != NULL ? args : "[]");
	r = call_text(ctx, "open", params);
	if (r[0] == '!')
		fail_msg("open %s %s: %s", type, name, r);
	return strtoull(r, NULL, 10);
}

/* A decoded map answer. */
struct answer {
	void *data;
	size_t len;
	msgpack_unpacked u;
};

static const msgpack_object *answer_get(struct answer *a, ps_ctx *ctx, const char *method, const char *params)
{
	const uint8_t *p;
	size_t n, off = 0;

	p = tval_enc(params, &n);
	if (ps_call(ctx, method, p, n, &a->data, &a->len) < 0)
		fail_msg("%s %s: %s", method, params, ps_errstr(ctx));
	msgpack_unpacked_init(&a->u);
	assert_int_equal(msgpack_unpack_next(&a->u, a->data, a->len, &off), MSGPACK_UNPACK_SUCCESS);
	return &a->u.data;
}

static void answer_free(struct answer *a)
{
	msgpack_unpacked_destroy(&a->u);
	free(a->data);
}

static const msgpack_object *field(const msgpack_object *m, const char *key)
{
	size_t n = strlen(key);

	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0)
			return &m->via.map.ptr[i].val;
	}
	fail_msg("no field '%s'", key);
	return NULL;
}

static uint64_t field_u64(const msgpack_object *m, const char *key)
{
	const msgpack_object *v = field(m, key);

	assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	return v->via.u64;
}

/* The number of calls parked on the object, from describe. */
static uint32_t parked(ps_ctx *ctx, uint64_t id)
{
	struct answer a;
	char params[64];
	uint32_t n;
	const msgpack_object *d;

	snprintf(params, sizeof params, "[%llu]", (unsigned long long)id);
	d = answer_get(&a, ctx, "describe", params);
	n = field(d, "waiters")->via.array.size;
	answer_free(&a);
	return n;
}

/* Waits until n calls are parked on the object: the daemon's own answer. */
static void wait_parked(ps_ctx *ctx, uint64_t id, uint32_t n)
{
	int64_t deadline = tutil_now_ms() + WAIT_MS;

	char params[64];

	while (parked(ctx, id) != n) {
		if (tutil_now_ms() > deadline) {
			snprintf(params, sizeof params, "[%llu]", (unsigned long long)id);
			fail_msg("object %llu: %u calls not parked within %d ms; describe: %s", (unsigned long long)id, n,
				 WAIT_MS, call_text(ctx, "describe", params));
		}
	}
}

/* ---- notifications -------------------------------------------------------- */

static int notify_open(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof sun;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (path[0] == '@') {
		/* Abstract: a leading NUL, the length counts the name only. */
		memcpy(sun.sun_path + 1, path + 1, strlen(path) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	} else {
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	}
	if (bind(fd, (struct sockaddr *)&sun, len) < 0)
		fail_msg("bind %s: %s", path, strerror(errno));
	return fd;
}

/* Reads datagrams until one contains needle. 0, or -1 at the deadline;
 * what came is in seen. */
static int notify_wait(int fd, const char *needle, char *seen, size_t len)
{
	int64_t deadline = tutil_now_ms() + WAIT_MS;
	char buf[1024];

	seen[0] = '\0';
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - tutil_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		n = recv(fd, buf, sizeof buf - 1, 0);
		if (n < 0)
			return -1;
		buf[n] = '\0';
		snprintf(seen + strlen(seen), len - strlen(seen), "[%s]", buf);
		if (strstr(buf, needle) != NULL)
			return 0;
	}
}

/* ---- systemd ---------------------------------------------------------------- */

/* Writes the unit files as `make install` would, naming the daemon under
 * test, and a man tree for their Documentation= lines. */
static void write_units(const struct tdir *t)
{
	char dir[PATH_MAX - 64], src[PATH_MAX], cmd[PATH_MAX * 3];
	static const char *const pages[][2] = {
		{ "man8", "procshared.8" }, { "man1", "procshare.1" }, { "man3", "libprocshare.3" },
	};

	build_dir(dir, sizeof dir);
	snprintf(cmd, sizeof cmd, "sed -e 's|@SBINDIR@|%s|' %s/systemd/procshared.service > %s", dir, srcdir(),
		 tpath(t, "procshared.service"));
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "cp %s/systemd/procshared.socket %s", srcdir(), tpath(t, "procshared.socket"));
	assert_int_equal(system(cmd), 0);
	mkdir(tpath(t, "man"), 0700);
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		char sect[200], page[300];
		snprintf(sect, sizeof sect, "%s/man/%s", t->path, pages[i][0]);
		mkdir(sect, 0700);
		snprintf(page, sizeof page, "%s/%s", sect, pages[i][1]);
		if (realpath(srcdir(), src) == NULL)
			fail_msg("realpath %s", srcdir());
		snprintf(src + strlen(src), sizeof src - strlen(src), "/man/%s", pages[i][1]);
		assert_true(exists(src));
		assert_int_equal(symlink(src, page), 0);
	}
}

/* systemd-analyze verify on the units: exit status and what it printed. */
static int verify_units(const struct tdir *t, const char *tool, const char *service, char **out)
{
	char man[PATH_MAX], env[PATH_MAX + 16];
	struct spawn sp;
	int code;

	spawn_init(&sp, tool);
	sp.argv[sp.argc++] = "verify";
	/* With man(1) present, Documentation= must name pages that exist. */
	if (find_tool("man", man, sizeof man) == 0) {
		snprintf(env, sizeof env, "MANPATH=%s/man", t->path);
		spawn_env(&sp, env);
	} else {
		sp.argv[sp.argc++] = "--man=no";
	}
	sp.argv[sp.argc++] = service;
	sp.argv[sp.argc++] = tpath(t, "procshared.socket");
	unlink(tpath(t, "verify.out"));
	sp.out = sp.err = tpath(t, "verify.out");
	code = spawn_run(&sp);
	*out = slurp(tpath(t, "verify.out"));
	return code;
}

static void test_units_verify(void **state)
{
	char tool[PATH_MAX], *out, *unit;
	struct tdir t;
	int code;

	(void)state;
	if (find_tool("systemd-analyze", tool, sizeof tool) < 0) {
		print_message("systemd-analyze not found (Debian package systemd): skipped\n");
		skip();
	}
	tdir_make(&t);
	write_units(&t);
	code = verify_units(&t, tool, tpath(&t, "procshared.service"), &out);
	if (code != 0 || out[0] != '\0')
		fail_msg("systemd-analyze verify: exit %d, said:\n%s", code, out);
	free(out);
	unit = slurp(tpath(&t, "procshared.service"));
	assert_non_null(strstr(unit, "\nType=notify\n"));
	assert_non_null(strstr(unit, "\nLoadCredential=authkey:"));
	assert_non_null(strstr(unit, "\nDynamicUser=yes\n"));
	assert_non_null(strstr(unit, "\nRuntimeDirectory=procshare\n"));
	assert_non_null(strstr(unit, "\nStateDirectory=procshare\n"));
	assert_non_null(strstr(unit, "\nProtectSystem=strict\n"));
	free(unit);
	/* The check has teeth: a broken unit is reported. */
	write_file(tpath(&t, "broken.service"), "[Service]\nType=notify\nExecStart=relative/path\nBogusKey=1\n", 0600);
	code = verify_units(&t, tool, tpath(&t, "broken.service"), &out);
	if (code == 0 && out[0] == '\0')
		fail_msg("systemd-analyze verify accepted a broken unit");
	free(out);
	tdir_remove(&t);
}

/* The socket was made and passed by systemd-socket-activate; the daemon
 * serves it, and leaves the file to its owner at exit. */
static void test_socket_activation(void **state)
{
	char tool[PATH_MAX], listen_arg[200], *log;
	static char asan[] = "ASAN_OPTIONS", ubsan[] = "UBSAN_OPTIONS";
	struct spawn sp;
	struct svc s;
	ps_ctx *ctx;
	int code;

	(void)state;
	if (find_tool("systemd-socket-activate", tool, sizeof tool) < 0) {
		print_message("systemd-socket-activate not found (Debian package systemd): skipped\n");
		skip();
	}
	svc_init(&s);
	snprintf(listen_arg, sizeof listen_arg, "--listen=%s", s.sock);
	spawn_init(&sp, tool);
	sp.argv[sp.argc++] = listen_arg;
	/* It passes on only the variables it is told to. */
	sp.argv[sp.argc++] = "-E";
	sp.argv[sp.argc++] = asan;
	sp.argv[sp.argc++] = "-E";
	sp.argv[sp.argc++] = ubsan;
	sp.argv[sp.argc++] = daemon_path();
	sp.argv[sp.argc++] = "--authkey-file";
	sp.argv[sp.argc++] = s.keyfile;
	/* Would be used without the passed socket: proves it is not. */
	sp.argv[sp.argc++] = "--listen";
	sp.argv[sp.argc++] = tpath(&s.dir, "configured.sock");
	sp.out = s.log;
	sp.err = s.log;
	s.pid = spawn_start(&sp);
	/* It says "Listening on ..." once the socket exists: a condition
	 * polled with a deadline. */
	{
		int64_t deadline = tutil_now_ms() + WAIT_MS;
		char *seen = slurp(s.log);

		while (strstr(seen, "Listening on") == NULL) {
			free(seen);
			if (tutil_now_ms() > deadline)
				fail_msg("systemd-socket-activate did not listen");
			poll(NULL, 0, 5);
			seen = slurp(s.log);
		}
		free(seen);
	}
	/* The first connection starts the daemon, which takes the socket. */
	ctx = svc_connect(&s);
	assert_int_equal(ps_ping(ctx), 0);
	assert_string_equal(call_text(ctx, "open", "[\"dict\", \"d\"]"), "1");
	assert_string_equal(call_text(ctx, "dict.set", "[1, \"k\", 7]"), "nil");
	assert_string_equal(call_text(ctx, "dict.get", "[1, \"k\"]"), "7");
	ps_free(ctx);
	assert_false(exists(tpath(&s.dir, "configured.sock")));
	code = svc_stop(&s);
	assert_int_equal(code, 0);
	log = slurp(s.log);
	assert_non_null(strstr(log, "(passed fd 3)"));
	free(log);
	/* Not the daemon's to remove. */
	assert_true(exists(s.sock));
	svc_cleanup(&s);
}

static void notify_ready_stopping(const char *notify_path)
{
	char env[200], seen[2048];
	const char *envs[] = { env, NULL };
	struct svc s;
	ps_ctx *ctx;
	int fd;

	svc_init(&s);
	fd = notify_open(notify_path[0] == '@' ? notify_path : tpath(&s.dir, notify_path));
	snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", notify_path[0] == '@' ? notify_path : tpath(&s.dir, notify_path));
	svc_start(&s, NULL, envs);
	if (notify_wait(fd, "READY=1", seen, sizeof seen) < 0)
		fail_msg("no READY=1 (got %s)", seen);
	assert_non_null(strstr(seen, "STATUS="));
	/* Ready means serving. */
	ctx = svc_connect(&s);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
	assert_int_equal(svc_stop(&s), 0);
	if (notify_wait(fd, "STOPPING=1", seen, sizeof seen) < 0)
		fail_msg("no STOPPING=1 (got %s)", seen);
	close(fd);
	svc_cleanup(&s);
}

static void test_notify_ready_stopping(void **state)
{
	(void)state;
	notify_ready_stopping("notify");
}

static void test_notify_abstract(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof name, "@ps-test-notify-%ld", (long)getpid());
	notify_ready_stopping(name);
}

/* What the unit gives the daemon, without systemd: $RUNTIME_DIRECTORY
 * (mode 0755), the key as a credential, a notify socket, no settings. The
 * daemon listens on RUNTIME_DIRECTORY/procshared.sock with the
 * credential's key and says so. */
static void test_service_environment(void **state)
{
	char run[200], cred[200], notify[200], sock[200], addr[220], seen[1024], *out;
	struct spawn sp;
	struct tdir t;
	ps_ctx *ctx;
	pid_t pid;
	int fd;

	(void)state;
	tdir_make(&t);
	mkdir(tpath(&t, "run"), 0755);
	chmod(tpath(&t, "run"), 0755);
	mkdir(tpath(&t, "creds"), 0500);
	write_file(tpath(&t, "creds/authkey"), "credential key\n", 0400);
	write_file(tpath(&t, "empty.conf"), "", 0600);
	fd = notify_open(tpath(&t, "notify"));
	snprintf(run, sizeof run, "RUNTIME_DIRECTORY=%s", tpath(&t, "run"));
	snprintf(cred, sizeof cred, "CREDENTIALS_DIRECTORY=%s", tpath(&t, "creds"));
	snprintf(notify, sizeof notify, "NOTIFY_SOCKET=%s", tpath(&t, "notify"));
	spawn_init(&sp, daemon_path());
	spawn_args(&sp, (const char *const[]){ "--config", tpath(&t, "empty.conf"), NULL });
	spawn_env(&sp, run);
	spawn_env(&sp, cred);
	spawn_env(&sp, notify);
	spawn_env(&sp, "PROCSHARE_AUTHKEY");
	spawn_env(&sp, "JOURNAL_STREAM=8:1234");
	sp.out = sp.err = tpath(&t, "out");
	pid = spawn_start(&sp);
	if (notify_wait(fd, "READY=1", seen, sizeof seen) < 0) {
		out = slurp(tpath(&t, "out"));
		fail_msg("no READY=1 (%s); daemon said: %s", seen, out);
	}
	snprintf(sock, sizeof sock, "%s/procshared.sock", tpath(&t, "run"));
	snprintf(addr, sizeof addr, "unix:%s", sock);
	ctx = connect_key(addr, "credential key");
	assert_int_equal(ps_err(ctx), PS_ERR_NONE);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
	kill(pid, SIGTERM);
	assert_int_equal(tutil_reap(pid, WAIT_MS), 0);
	out = slurp(tpath(&t, "out"));
	if (strstr(out, "export PROCSHARE_ADDRESS=") == NULL || strstr(out, sock) == NULL)
		fail_msg("daemon said: %s", out);
	/* Under the journal, lines carry their syslog priority. */
	assert_non_null(strstr(out, "<6>procshared " PS_LIB_VERSION " ready"));
	free(out);
	assert_false(exists(sock));
	close(fd);
	chmod(tpath(&t, "creds"), 0700);
	tdir_remove(&t);
}

/* A child connects and makes a call that parks; it reports the error code
 * the call ended with on the pipe. */
static pid_t park_child(const struct svc *s, const char *method, const char *params, int report)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	{
		ps_ctx *ctx = connect_key(s->addr, s->key);
		const char *r = call_text(ctx, method, params);
		ssize_t w = write(report, r, strlen(r));

		(void)w;
		ps_free(ctx);
		_exit(0);
	}
}

static void read_report(int fd, char *out, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	n = read(fd, out, len - 1);
	assert_true(n > 0);
	out[n] = '\0';
}

/* SIGTERM while clients wait in a blocking get and a blocking put: both
 * are answered Shutdown, and the daemon exits 0 (under the sanitizer
 * build: having freed the parked put's item). */
static void test_shutdown_answers_parked(void **state)
{
	char params[64], got[256];
	int pipes[2][2];
	pid_t kids[2];
	uint64_t q, full;
	struct svc s;
	ps_ctx *ctx;

	(void)state;
	svc_init(&s);
	svc_start(&s, NULL, NULL);
	ctx = svc_connect(&s);
	if (strcmp(call_text(ctx, "create", "[\"queue\"]"), "!TypeError") == 0) {
		print_message("no queue type in this daemon: skipped\n");
		ps_free(ctx);
		svc_stop(&s);
		svc_cleanup(&s);
		skip();
	}
	q = open_obj(ctx, "queue", "q", NULL);
	full = open_obj(ctx, "queue", "full", "[1]");
	snprintf(params, sizeof params, "[%llu, \"first\"]", (unsigned long long)full);
	assert_string_equal(call_text(ctx, "queue.put", params), "nil");
	for (int i = 0; i < 2; i++)
		assert_int_equal(pipe(pipes[i]), 0);
	snprintf(params, sizeof params, "[%llu]", (unsigned long long)q);
	kids[0] = park_child(&s, "queue.get", params, pipes[0][1]);
	snprintf(params, sizeof params, "[%llu, [\"second\", 2]]", (unsigned long long)full);
	kids[1] = park_child(&s, "queue.put", params, pipes[1][1]);
	wait_parked(ctx, q, 1);
	wait_parked(ctx, full, 1);
	ps_free(ctx);
	assert_int_equal(svc_stop(&s), 0);
	for (int i = 0; i < 2; i++) {
		read_report(pipes[i][0], got, sizeof got);
		assert_string_equal(got, "!Shutdown");
		assert_int_equal(tutil_reap(kids[i], WAIT_MS), 0);
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
	svc_cleanup(&s);
}

/* ---- configuration -------------------------------------------------------- */

/* "@/" in an argument stands for the test's directory. */
static const char *expand(const struct tdir *t, const char *arg)
{
	return strncmp(arg, "@/", 2) == 0 ? tpath(t, arg + 2) : arg;
}

/* Runs the daemon with args and env (NULL-terminated lists, may be NULL)
 * after --config DIR/c.conf holding conf; returns its exit code, and what
 * it printed in *out (free it). */
static int run_daemon(const struct tdir *t, const char *conf, const char *const *args, const char *const *env,
		      char **out)
{
	struct spawn sp;
	int code;

	write_file(tpath(t, "c.conf"), conf != NULL ? conf : "", 0600);
	spawn_init(&sp, daemon_path());
	sp.argv[sp.argc++] = "--config";
	sp.argv[sp.argc++] = tpath(t, "c.conf");
	for (int i = 0; args != NULL && args[i] != NULL; i++)
		sp.argv[sp.argc++] = expand(t, args[i]);
	for (int i = 0; env != NULL && env[i] != NULL; i++)
		spawn_env(&sp, env[i]);
	unlink(tpath(t, "out"));
	sp.out = sp.err = tpath(t, "out");
	code = spawn_run(&sp);
	*out = slurp(tpath(t, "out"));
	return code;
}

struct bad_case {
	const char *conf;               /* the file's contents, or NULL */
	const char *args[6];
	const char *message;            /* part of what it must say */
};

static const struct bad_case bad_cases[] = {
	{ NULL, { "--max-message", "12" }, "--max-message: '12' is not a number of bytes between 1024 and" },
	{ NULL, { "--max-message", "5G" }, "--max-message: '5G' is not a number of bytes" },
	{ NULL, { "--max-connections", "0" }, "--max-connections: '0' is not a number between 1 and 1000000" },
	{ NULL, { "--handshake-timeout", "soon" }, "--handshake-timeout: 'soon' is not a number of milliseconds" },
	{ NULL, { "--log-level", "loud" }, "--log-level: 'loud' is not error, warn, info or debug" },
	{ NULL, { "--socket-mode", "0400" }, "--socket-mode: '0400' is not an octal mode between 0600 and 0777" },
	{ NULL, { "--socket-mode", "rw" }, "--socket-mode: 'rw' is not an octal mode" },
	{ NULL, { "--max-memory", "12X" }, "--max-memory: '12X' is not a number of bytes" },
	{ NULL, { "--listen", "tcp://nohost" }, "--listen: bad address \"tcp://nohost\": missing :port" },
	{ NULL, { "--ready-fd", "-1" }, "--ready-fd: '-1' is not a file descriptor number" },
	{ NULL, { "--tcp-encryption", "yes" }, "--tcp-encryption: 'yes' is not required, optional or off" },
	{ NULL, { "--unix-encryption", "" }, "--unix-encryption: '' is not required, optional or off" },
	{ NULL, { "--tcp-keepalive", "10,5" }, "--tcp-keepalive: '10,5' is not IDLE,INTERVAL,COUNT" },
	{ NULL, { "--tcp-keepalive", "10,5,3,1" }, "--tcp-keepalive: '10,5,3,1' is not IDLE,INTERVAL,COUNT" },
	{ NULL, { "--tcp-keepalive", "0,5,3" }, "--tcp-keepalive: '0,5,3' is not IDLE,INTERVAL,COUNT" },
	{ NULL, { "--tcp-keepalive", "10,5,128" }, "--tcp-keepalive: '10,5,128' is not IDLE,INTERVAL,COUNT" },
	{ NULL, { "--tcp-keepalive", "10,,3" }, "--tcp-keepalive: '10,,3' is not IDLE,INTERVAL,COUNT" },
	{ "unix-encryption = sometimes\n", { NULL }, "c.conf:1: unix-encryption: 'sometimes' is not required" },
	{ NULL, { "--bogus" }, "unknown option '--bogus' (see procshared --help)" },
	{ NULL, { "-x" }, "unknown option '-x'" },
	{ NULL, { "--max-message" }, "--max-message needs a value" },
	{ NULL, { "extra" }, "unexpected argument 'extra'" },
	{ NULL, { "--config", "@/missing.conf" }, "missing.conf: No such file or directory" },
	{ NULL, { "--authkey-file", "@/nokey" }, "authkey file " },
	{ NULL, { "--log-file", "@/no/such/dir/log" }, "log-file " },
	{ "max-connections = many\n", { NULL }, "c.conf:1: max-connections: 'many' is not a number" },
	{ "# a comment\n\nlisten unix:/x\n", { NULL }, "c.conf:3: expected 'setting = value'" },
	{ "colour = blue\n", { NULL }, "c.conf:1: unknown setting 'colour'" },
	{ "ready-fd = 3\n", { NULL }, "c.conf:1: ready-fd can only be given on the command line" },
	{ "log-level = info\nmax-message = 100\n", { NULL }, "c.conf:2: max-message: '100' is not a number of bytes" },
	{ "listen = tcp://[::1\n", { NULL }, "c.conf:1: listen: bad address" },
};

/* Each bad setting: its message, exit status 2, and nothing started. */
static void test_config_errors(void **state)
{
	struct tdir t;

	(void)state;
	tdir_make(&t);
	write_file(tpath(&t, "key"), "0123456789abcdef", 0600);
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *bc = &bad_cases[i];
		const char *args[12] = { "--listen", "@/s.sock", "--authkey-file", "@/key" };
		int n = 4, code;
		char *out;

		for (int j = 0; bc->args[j] != NULL; j++)
			args[n++] = bc->args[j];
		code = run_daemon(&t, bc->conf, args, NULL, &out);
		if (code != 2 || strstr(out, bc->message) == NULL)
			fail_msg("case %zu (%s): exit %d, said \"%s\"; want exit 2 and \"%s\"", i,
				 bc->conf != NULL ? bc->conf : bc->args[0], code, out, bc->message);
		if (exists(tpath(&t, "s.sock")))
			fail_msg("case %zu: the socket was made", i);
		free(out);
	}
	tdir_remove(&t);
}

/* A key file that group or others may read is refused, as ssh refuses a
 * loose private key: from a file, and from a systemd credential. */
static void test_loose_authkey_refused(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0660 };
	struct tdir t;
	char env[200], *out;
	const char *args[] = { "--listen", "@/s.sock", "--authkey-file", "@/key", NULL };
	const char *cred_args[] = { "--listen", "@/s.sock", NULL };
	const char *cred_env[] = { env, "PROCSHARE_AUTHKEY", NULL };

	(void)state;
	tdir_make(&t);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		write_file(tpath(&t, "key"), "secret", modes[i]);
		assert_int_equal(run_daemon(&t, NULL, args, NULL, &out), 2);
		if (strstr(out, "is accessible by group or others; chmod 600 it") == NULL)
			fail_msg("mode %o: said \"%s\"", (unsigned)modes[i], out);
		assert_false(exists(tpath(&t, "s.sock")));
		free(out);
	}
	mkdir(tpath(&t, "creds"), 0700);
	write_file(tpath(&t, "creds/authkey"), "secret", 0644);
	snprintf(env, sizeof env, "CREDENTIALS_DIRECTORY=%s", tpath(&t, "creds"));
	assert_int_equal(run_daemon(&t, NULL, cred_args, cred_env, &out), 2);
	assert_non_null(strstr(out, "creds/authkey is accessible by group or others"));
	free(out);
	tdir_remove(&t);
}

/* Starts a daemon listening on TCP with the key from env; connects over
 * 127.0.0.1 with key and pings. */
static void serve_tcp(const char *host, const char *const *env, const char *key)
{
	struct spawn sp;
	struct svc s;
	char addr[64], port[8];
	ps_ctx *ctx;
	int fds[2], p = tdaemon_free_port("127.0.0.1");

	svc_init(&s);
	snprintf(port, sizeof port, "%d", p);
	snprintf(addr, sizeof addr, "%s:%d", host, p);
	spawn_init(&sp, daemon_path());
	write_file(tpath(&s.dir, "empty.conf"), "", 0600);
	sp.argv[sp.argc++] = "--config";
	sp.argv[sp.argc++] = tpath(&s.dir, "empty.conf");
	sp.argv[sp.argc++] = "--listen";
	sp.argv[sp.argc++] = addr;
	sp.argv[sp.argc++] = "--ready-fd";
	sp.argv[sp.argc++] = "10";
	for (int i = 0; env[i] != NULL; i++)
		spawn_env(&sp, env[i]);
	sp.out = sp.err = s.log;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	sp.ready_fd = fds[1];
	s.pid = spawn_start(&sp);
	close(fds[1]);
	if (wait_ready(fds[0]) < 0) {
		dump_log(&s);
		fail_msg("procshared on %s did not start", addr);
	}
	close(fds[0]);
	snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", p);
	ctx = connect_key(addr, key);
	if (ps_err(ctx) != PS_ERR_NONE || ps_ping(ctx) < 0)
		fail_msg("%s: %s", addr, ps_errstr(ctx));
	ps_free(ctx);
	assert_int_equal(svc_stop(&s), 0);
	svc_cleanup(&s);
}

/* Listening where other machines reach it needs an explicit key; the
 * loopback does not. */
static void test_tcp_needs_explicit_key(void **state)
{
	static const char *const exposed[] = { "tcp://0.0.0.0", "[::]" };
	static const char *const loopback[] = { "tcp://127.0.0.1", "[::1]", "localhost" };
	char xdg[200], cred[200], listen[64], *out;
	const char *env[] = { xdg, "PROCSHARE_AUTHKEY", "CREDENTIALS_DIRECTORY", NULL };
	const char *args[] = { "--listen", listen, NULL, NULL };
	const char *check[] = { "--listen", listen, "--check-config", NULL };
	struct tdir t;
	int port = tdaemon_free_port("127.0.0.1");

	(void)state;
	tdir_make(&t);
	/* The generated key goes to a private runtime directory. */
	mkdir(tpath(&t, "run"), 0700);
	snprintf(xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", tpath(&t, "run"));
	for (size_t i = 0; i < sizeof exposed / sizeof exposed[0]; i++) {
		snprintf(listen, sizeof listen, "%s:%d", exposed[i], port);
		assert_int_equal(run_daemon(&t, NULL, args, env, &out), 2);
		if (strstr(out, "needs an explicit authkey") == NULL)
			fail_msg("%s: said \"%s\"", listen, out);
		free(out);
		assert_int_equal(run_daemon(&t, NULL, check, env, &out), 2);
		free(out);
	}
	for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
		snprintf(listen, sizeof listen, "%s:%d", loopback[i], port);
		if (run_daemon(&t, NULL, check, env, &out) != 0)
			fail_msg("%s refused: %s", listen, out);
		free(out);
	}
	/* In the file as on the command line. */
	snprintf(listen, sizeof listen, "listen = tcp://0.0.0.0:%d\n", port);
	assert_int_equal(run_daemon(&t, listen, (const char *[]){ "--check-config", NULL }, env, &out), 2);
	assert_non_null(strstr(out, "needs an explicit authkey"));
	free(out);
	/* An explicit key allows it: the environment, a credential. */
	snprintf(listen, sizeof listen, "tcp://0.0.0.0:%d", port);
	assert_int_equal(run_daemon(&t, NULL, check, (const char *[]){ xdg, "PROCSHARE_AUTHKEY=k3y", NULL }, &out), 0);
	assert_non_null(strstr(out, "authkey: PROCSHARE_AUTHKEY"));
	free(out);
	mkdir(tpath(&t, "creds"), 0700);
	write_file(tpath(&t, "creds/authkey"), "cr3d\n", 0400);
	snprintf(cred, sizeof cred, "CREDENTIALS_DIRECTORY=%s", tpath(&t, "creds"));
	assert_int_equal(run_daemon(&t, NULL, check, (const char *[]){ xdg, cred, "PROCSHARE_AUTHKEY", NULL }, &out), 0);
	assert_non_null(strstr(out, "authkey: systemd credential "));
	free(out);
	serve_tcp("tcp://0.0.0.0", (const char *[]){ xdg, "PROCSHARE_AUTHKEY=k3y", NULL }, "k3y");
	serve_tcp("tcp://0.0.0.0", (const char *[]){ xdg, cred, "PROCSHARE_AUTHKEY", NULL }, "cr3d");
	tdir_remove(&t);
}

/* --check-config, --help, --version; flags override the file. */
static void test_check_config_help_version(void **state)
{
	static const char conf[] = "# procshared.conf\nlisten = unix:/nonexistent/a.sock\nlisten = tcp://127.0.0.1:7\n"
				   "max-connections = 5\nmax-memory = 2M\nmax-message = 64k\nsocket-mode = 0660\n"
				   "log-level = debug\nunix-encryption = required\ntcp-keepalive = 1,2,3\n";
	const char *args[] = { "--authkey-file", "@/key", "--check-config", NULL, NULL, NULL };
	struct tdir t;
	char *out;

	(void)state;
	tdir_make(&t);
	write_file(tpath(&t, "key"), "secret\n", 0600);
	assert_int_equal(run_daemon(&t, conf, args, NULL, &out), 0);
	assert_non_null(strstr(out, "procshared: configuration OK\n"));
	assert_non_null(strstr(out, "listen: unix:/nonexistent/a.sock\nlisten: tcp://127.0.0.1:7\n"));
	assert_non_null(strstr(out, "max-connections: 5\n"));
	assert_non_null(strstr(out, "max-memory: 2097152\n"));
	assert_non_null(strstr(out, "max-message: 65536\n"));
	assert_non_null(strstr(out, "socket-mode: 0660\n"));
	assert_non_null(strstr(out, "tcp-encryption: required\nunix-encryption: required\n"));
	assert_non_null(strstr(out, "tcp-keepalive: 1,2,3\n"));
	assert_non_null(strstr(out, "/key\n"));
	free(out);
	/* A flag wins over the file; --listen replaces the file's list. */
	args[3] = "--max-connections=7";
	args[4] = "--listen=unix:/nonexistent/b.sock";
	assert_int_equal(run_daemon(&t, conf, args, NULL, &out), 0);
	assert_non_null(strstr(out, "max-connections: 7\n"));
	assert_non_null(strstr(out, "listen: unix:/nonexistent/b.sock\n"));
	assert_null(strstr(out, "a.sock"));
	free(out);
	assert_int_equal(run_daemon(&t, NULL, (const char *[]){ "--help", NULL }, NULL, &out), 0);
	assert_non_null(strstr(out, "usage: procshared [options]"));
	assert_non_null(strstr(out, "--check-config"));
	free(out);
	assert_int_equal(run_daemon(&t, NULL, (const char *[]){ "--version", NULL }, NULL, &out), 0);
	assert_non_null(strstr(out, "procshared " PS_LIB_VERSION " (protocol 1)"));
	free(out);
	tdir_remove(&t);
}

/* ---- signals ---------------------------------------------------------------- */

/* Starts s with a notify socket, to learn when a SIGHUP was handled. */
static int start_notified(struct svc *s, const char *const *args, char *env, size_t len)
{
	const char *envs[] = { env, NULL };
	char seen[1024];
	int fd = notify_open(tpath(&s->dir, "notify"));

	snprintf(env, len, "NOTIFY_SOCKET=%s", tpath(&s->dir, "notify"));
	svc_start(s, args, envs);
	if (notify_wait(fd, "READY=1", seen, sizeof seen) < 0)
		fail_msg("no READY=1: %s", seen);
	return fd;
}

static void hup_and_wait(struct svc *s, int fd, const char *status)
{
	char seen[1024];

	assert_int_equal(kill(s->pid, SIGHUP), 0);
	if (notify_wait(fd, status, seen, sizeof seen) < 0)
		fail_msg("after SIGHUP, no \"%s\": %s", status, seen);
}

/* SIGHUP reads the key again: new connections need the new key, old ones
 * stay; a key file that went bad is refused and the old key kept. */
static void test_sighup_reloads_authkey(void **state)
{
	char env[200], newkey[65];
	struct svc s;
	ps_ctx *before, *c;
	int fd;

	(void)state;
	svc_init(&s);
	fd = start_notified(&s, NULL, env, sizeof env);
	before = svc_connect(&s);
	make_key(newkey);
	write_file(tpath(&s.dir, "key.new"), newkey, 0600);
	assert_int_equal(rename(tpath(&s.dir, "key.new"), s.keyfile), 0);
	hup_and_wait(&s, fd, "STATUS=serving; authkey reloaded");
	c = connect_key(s.addr, newkey);
	assert_int_equal(ps_err(c), PS_ERR_NONE);
	assert_int_equal(ps_ping(c), 0);
	ps_free(c);
	c = connect_key(s.addr, s.key);
	assert_int_equal(ps_err(c), PS_ERR_AUTH);
	ps_free(c);
	assert_int_equal(ps_ping(before), 0);
	/* Loose now: refused, the key in use stays. */
	assert_int_equal(chmod(s.keyfile, 0644), 0);
	hup_and_wait(&s, fd, "authkey reload failed, previous key kept");
	c = connect_key(s.addr, newkey);
	assert_int_equal(ps_err(c), PS_ERR_NONE);
	ps_free(c);
	ps_free(before);
	assert_int_equal(svc_stop(&s), 0);
	close(fd);
	svc_cleanup(&s);
}

/* SIGHUP reopens the log file, as logrotate needs after moving it. */
static void test_sighup_reopens_log(void **state)
{
	char env[200], logarg[200], *old, *fresh;
	const char *args[] = { logarg, NULL };
	struct svc s;
	int fd;

	(void)state;
	svc_init(&s);
	snprintf(logarg, sizeof logarg, "--log-file=%s", tpath(&s.dir, "d.log"));
	fd = start_notified(&s, args, env, sizeof env);
	assert_int_equal(rename(tpath(&s.dir, "d.log"), tpath(&s.dir, "d.log.1")), 0);
	hup_and_wait(&s, fd, "authkey reloaded");
	assert_int_equal(svc_stop(&s), 0);
	old = slurp(tpath(&s.dir, "d.log.1"));
	fresh = slurp(tpath(&s.dir, "d.log"));
	assert_non_null(strstr(old, "procshared[") );
	assert_non_null(strstr(old, "]: info: procshared " PS_LIB_VERSION " ready"));
	assert_null(strstr(old, "SIGHUP"));
	assert_non_null(strstr(fresh, "info: SIGHUP: log reopened"));
	assert_non_null(strstr(fresh, "info: stopped"));
	free(old);
	free(fresh);
	close(fd);
	svc_cleanup(&s);
}

/* ---- statistics and introspection ------------------------------------------- */

/* The daemon's "info" as text, for a field or two. */
static const char *info_field(ps_ctx *ctx, const char *name)
{
	static char out[256];
	struct answer a;
	const msgpack_object *v = field(answer_get(&a, ctx, "info", "[]"), name);
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	msgpack_object_print(m, *v);
	fclose(m);
	snprintf(out, sizeof out, "%s", text);
	free(text);
	answer_free(&a);
	return out;
}

static void test_info(void **state)
{
	static const char *const args[] = { "--max-connections", "3", NULL };
	const msgpack_object *m, *v;
	struct answer a;
	struct svc s;
	ps_ctx *ctx, *c2, *c3, *c4;

	(void)state;
	svc_init(&s);
	svc_start(&s, args, NULL);
	ctx = svc_connect(&s);
	assert_string_equal(call_text(ctx, "open", "[\"dict\", \"d\"]"), "1");
	assert_string_equal(call_text(ctx, "create", "[\"list\"]"), "2");
	assert_string_equal(call_text(ctx, "dict.set", "[1, \"k\", \"v\"]"), "nil");
	assert_string_equal(call_text(ctx, "list.append", "[2, 1]"), "nil");
	m = answer_get(&a, ctx, "info", "[]");
	v = field(m, "version");
	assert_int_equal(v->type, MSGPACK_OBJECT_STR);
	assert_memory_equal(v->via.str.ptr, PS_LIB_VERSION, strlen(PS_LIB_VERSION));
	assert_int_equal(field_u64(m, "protocol"), 1);
	assert_int_equal(field_u64(m, "pid"), (uint64_t)s.pid);
	assert_int_equal(field(m, "uptime")->type, MSGPACK_OBJECT_FLOAT64);
	assert_true(field(m, "uptime")->via.f64 >= 0);
	assert_int_equal(field_u64(m, "connections"), 1);
	assert_int_equal(field_u64(m, "connections_total"), 1);
	assert_int_equal(field_u64(m, "objects"), 2);
	assert_int_equal(field_u64(m, "named_objects"), 1);
	/* Two values of 2 bytes for the dict, one of 1 for the list, each
	 * with its 16-byte header. */
	assert_int_equal(field_u64(m, "memory_values"), 2 * (16 + 2) + 16 + 1);
	assert_int_equal(field_u64(m, "memory_limit"), 0);
	assert_true(field_u64(m, "memory_rss") > 0);
	/* open, create, set, append and this info. */
	assert_int_equal(field_u64(m, "requests"), 5);
	assert_int_equal(field(m, "requests_per_second")->type, MSGPACK_OBJECT_FLOAT64);
	assert_true(field(m, "requests_per_second")->via.f64 >= 0);
	assert_true(field_u64(m, "bytes_in") > 0 && field_u64(m, "bytes_out") > 0);
	answer_free(&a);
	assert_string_equal(info_field(ctx, "objects_by_type"), "{\"dict\"=>1, \"list\"=>1}");
	/* Connections: the limit turns the fourth away. */
	c2 = svc_connect(&s);
	c3 = svc_connect(&s);
	c4 = connect_key(s.addr, s.key);
	assert_int_equal(ps_err(c4), PS_ERR_AUTH);
	assert_string_equal(ps_errcode(c4), "LimitExceeded");
	ps_free(c4);
	assert_string_equal(info_field(ctx, "connections"), "3");
	assert_string_equal(info_field(ctx, "connections_refused"), "1");
	ps_free(c2);
	ps_free(c3);
	/* A wrong key is counted before the refusal is sent. */
	c4 = connect_key(s.addr, "wrong key");
	assert_int_equal(ps_err(c4), PS_ERR_AUTH);
	ps_free(c4);
	assert_string_equal(info_field(ctx, "auth_failures"), "1");
	/* Bytes held follow what is stored. */
	assert_string_equal(call_text(ctx, "dict.del", "[1, \"k\"]"), "nil");
	assert_string_equal(info_field(ctx, "memory_values"), "17");
	ps_free(ctx);
	assert_int_equal(svc_stop(&s), 0);
	svc_cleanup(&s);
}

static void test_describe(void **state)
{
	char params[64], want[256], got[256], peer[64];
	struct svc s;
	ps_ctx *ctx;
	uint64_t q;
	int report[2];
	pid_t kid;

	(void)state;
	svc_init(&s);
	svc_start(&s, NULL, NULL);
	ctx = svc_connect(&s);
	assert_string_equal(call_text(ctx, "open", "[\"dict\", \"d\"]"), "1");
	assert_string_equal(call_text(ctx, "dict.set", "[1, \"a\", 1]"), "nil");
	assert_string_equal(call_text(ctx, "dict.set", "[1, \"b\", \"x\"]"), "nil");
	/* refs: this connection's handle and the name. bytes: a1 61 01, a1 62 a1 78. */
	snprintf(want, sizeof want, "{\"id\": 1, \"type\": \"dict\", \"name\": \"d\", \"size\": 2, \"refs\": 2, "
		 "\"waiters\": [], \"state\": {\"bytes\": 7}}");
	assert_string_equal(call_text(ctx, "describe", "[1]"), want);
	assert_string_equal(call_text(ctx, "describe", "[\"d\"]"), want);
	assert_string_equal(call_text(ctx, "create", "[\"list\", [[1, 2]]]"), "2");
	assert_string_equal(call_text(ctx, "describe", "[2]"),
			    "{\"id\": 2, \"type\": \"list\", \"name\": nil, \"size\": 2, \"refs\": 1, \"waiters\": [], "
			    "\"state\": {\"bytes\": 2}}");
	assert_string_equal(call_text(ctx, "describe", "[99]"), "!NoSuchObject");
	assert_string_equal(call_text(ctx, "describe", "[\"nope\"]"), "!NoSuchObject");
	assert_string_equal(call_text(ctx, "describe", "[1.5]"), "!TypeError");
	assert_string_equal(call_text(ctx, "describe", "[]"), "!TypeError");
	assert_string_equal(call_text(ctx, "describe", "[1, 2]"), "!TypeError");
	/* A parked call shows, naming the process that waits. */
	if (strcmp(call_text(ctx, "create", "[\"queue\"]"), "!TypeError") != 0) {
		q = open_obj(ctx, "queue", "q", NULL);
		assert_int_equal(pipe(report), 0);
		snprintf(params, sizeof params, "[%llu]", (unsigned long long)q);
		kid = park_child(&s, "queue.get", params, report[1]);
		wait_parked(ctx, q, 1);
		snprintf(params, sizeof params, "[%llu]", (unsigned long long)q);
		snprintf(peer, sizeof peer, "\"peer\": \"unix pid %ld uid %lu\"}]", (long)kid, (unsigned long)getuid());
		if (strstr(call_text(ctx, "describe", params), peer) == NULL)
			fail_msg("describe %s: %s, want %s", params, call_text(ctx, "describe", params), peer);
		snprintf(params, sizeof params, "[%llu, \"item\"]", (unsigned long long)q);
		assert_string_equal(call_text(ctx, "queue.put", params), "nil");
		read_report(report[0], got, sizeof got);
		assert_string_equal(got, "\"item\"");
		assert_int_equal(tutil_reap(kid, WAIT_MS), 0);
		close(report[0]);
		close(report[1]);
	}
	ps_free(ctx);
	assert_int_equal(svc_stop(&s), 0);
	svc_cleanup(&s);
}

/* dict.set [1, key, b"<n zero bytes>"]: the result as text. */
static const char *set_bin(ps_ctx *ctx, const char *key, size_t n)
{
	msgpack_sbuffer b;
	msgpack_packer pk;
	char *zeros = calloc(1, n + 1);
	void *res = NULL;
	size_t rlen = 0;
	int rc;

	msgpack_sbuffer_init(&b);
	msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_str_with_body(&pk, key, strlen(key));
	msgpack_pack_bin_with_body(&pk, zeros, n);
	rc = ps_call(ctx, "dict.set", b.data, b.size, &res, &rlen);
	msgpack_sbuffer_destroy(&b);
	free(zeros);
	return tval_res(ctx, rc, res, rlen);
}

/* What max-memory has left: limit - stored values - buffers. */
static int64_t memory_left(ps_ctx *ctx)
{
	struct answer a;
	const msgpack_object *m = answer_get(&a, ctx, "info", "[]");
	int64_t left = (int64_t)field_u64(m, "memory_limit") - (int64_t)field_u64(m, "memory_values") -
		       (int64_t)field_u64(m, "memory_buffers");

	answer_free(&a);
	return left;
}

/* max-memory: a value that takes exactly what is left is stored; one byte
 * more is OutOfMemory and changes nothing. The requests at the boundary
 * are kept under 4 KiB, so each arrives in one read however loaded the
 * machine is, and the connection's buffers keep their size (a request
 * read in two parts would be copied into a buffer of its own). */
static void test_memory_limit(void **state)
{
	static const char *const args[] = { "--max-memory", "1M", NULL };
	char key[16];
	struct svc s;
	ps_ctx *ctx;
	int64_t left;
	int k = 0;

	(void)state;
	svc_init(&s);
	svc_start(&s, args, NULL);
	ctx = svc_connect(&s);
	assert_string_equal(call_text(ctx, "open", "[\"dict\", \"d\"]"), "1");
	assert_string_equal(info_field(ctx, "memory_limit"), "1048576");
	assert_true(strtoull(info_field(ctx, "memory_buffers"), NULL, 10) > 0);
	/* Fill with 40 KB values until less than one is left, then with 2 KB
	 * ones. */
	while ((left = memory_left(ctx)) > 50000) {
		snprintf(key, sizeof key, "k%03d", k++);
		assert_string_equal(set_bin(ctx, key, 40000), "nil");
	}
	while ((left = memory_left(ctx)) > 3000) {
		snprintf(key, sizeof key, "k%03d", k++);
		assert_string_equal(set_bin(ctx, key, 2000), "nil");
	}
	/* key "last": 16 + 5 bytes; a bin of n bytes: 16 + 3 + n. */
	assert_true(left >= 40 + 256);
	assert_string_equal(set_bin(ctx, "last", (size_t)(left - 40 + 1)), "!OutOfMemory");
	assert_int_equal(memory_left(ctx), left);
	assert_string_equal(call_text(ctx, "dict.contains", "[1, \"last\"]"), "false");
	assert_string_equal(set_bin(ctx, "last", (size_t)(left - 40)), "nil");
	assert_int_equal(memory_left(ctx), 0);
	assert_string_equal(call_text(ctx, "dict.set", "[1, \"x\", 0]"), "!OutOfMemory");
	/* Freeing makes room again. */
	assert_string_equal(call_text(ctx, "dict.del", "[1, \"last\"]"), "nil");
	assert_int_equal(memory_left(ctx), left);
	assert_string_equal(call_text(ctx, "dict.set", "[1, \"x\", 0]"), "nil");
	ps_free(ctx);
	assert_int_equal(svc_stop(&s), 0);
	svc_cleanup(&s);
}

/* ---- the procshare tool ------------------------------------------------------ */

struct clifix {
	struct svc s;
	ps_ctx *ctx;
	char *out, *err;        /* of the last run */
};

static int cli_setup(void **state)
{
	struct clifix *f = calloc(1, sizeof *f);

	svc_init(&f->s);
	svc_start(&f->s, NULL, NULL);
	f->ctx = svc_connect(&f->s);
	*state = f;
	return 0;
}

static int cli_teardown(void **state)
{
	struct clifix *f = *state;
	int code;

	ps_free(f->ctx);
	code = svc_stop(&f->s);
	svc_cleanup(&f->s);
	free(f->out);
	free(f->err);
	free(f);
	return code == 0 ? 0 : -1;
}

/* Runs procshare with args (NULL-terminated) and env extra (may be NULL)
 * against f's daemon: its exit code; output in f->out and f->err. */
static int cli_env(struct clifix *f, const char *const *env, const char *const *args)
{
	char path[PATH_MAX], addr[200], key[200];
	struct spawn sp;
	int code;

	cli_path(path, sizeof path);
	spawn_init(&sp, strdup(path));
	spawn_args(&sp, args);
	snprintf(addr, sizeof addr, "PROCSHARE_ADDRESS=%s", f->s.addr);
	snprintf(key, sizeof key, "PROCSHARE_AUTHKEY_FILE=%s", f->s.keyfile);
	spawn_env(&sp, addr);
	spawn_env(&sp, key);
	spawn_env(&sp, "PROCSHARE_AUTHKEY");
	for (int i = 0; env != NULL && env[i] != NULL; i++)
		spawn_env(&sp, env[i]);
	unlink(tpath(&f->s.dir, "cli.out"));
	unlink(tpath(&f->s.dir, "cli.err"));
	sp.out = tpath(&f->s.dir, "cli.out");
	sp.err = tpath(&f->s.dir, "cli.err");
	code = spawn_run(&sp);
	free((char *)sp.argv[0]);
	free(f->out);
	free(f->err);
	f->out = slurp(tpath(&f->s.dir, "cli.out"));
	f->err = slurp(tpath(&f->s.dir, "cli.err"));
	return code;
}

#define CLI(f, ...) cli_env((f), NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* Runs and checks exit code and standard output exactly. */
#define CLI_OK(f, want, ...)                                                                        \
	do {                                                                                        \
		int code_ = CLI((f), __VA_ARGS__);                                                  \
		if (code_ != 0 || strcmp((f)->out, (want)) != 0)                                    \
			fail_msg("procshare %s: exit %d\nout: %s\nerr: %s\nwant: %s", #__VA_ARGS__, \
				 code_, (f)->out, (f)->err, (want));                                \
	} while (0)

/* Runs and checks the exit code and that the error says what is wanted. */
#define CLI_FAIL(f, status, msg, ...)                                                               \
	do {                                                                                        \
		int code_ = CLI((f), __VA_ARGS__);                                                  \
		if (code_ != (status) || strstr((f)->err, (msg)) == NULL || (f)->out[0] != '\0')   \
			fail_msg("procshare %s: exit %d (want %d)\nout: %s\nerr: %s\nwant: %s",     \
				 #__VA_ARGS__, code_, (status), (f)->out, (f)->err, (msg));         \
	} while (0)

static void call_ok(ps_ctx *ctx, const char *method, const char *params)
{
	const char *r = call_text(ctx, method, params);

	if (r[0] == '!')
		fail_msg("%s %s: %s", method, params, r);
}

static void test_cli_ls_show(void **state)
{
	struct clifix *f = *state;

	CLI_OK(f, "NAME  TYPE                   ID       SIZE\n", "ls");
	CLI_OK(f, "[]\n", "ls", "--json");
	assert_string_equal(call_text(f->ctx, "open", "[\"list\", \"l\"]"), "1");
	assert_string_equal(call_text(f->ctx, "open", "[\"dict\", \"d\"]"), "2");
	call_ok(f->ctx, "dict.set", "[2, \"a\", 1]");
	call_ok(f->ctx, "dict.set", "[2, \"b\", [1, 2.5, \"x y\"]]");
	call_ok(f->ctx, "dict.set", "[2, 3, {\"k\": nil}]");
	call_ok(f->ctx, "list.extend", "[1, [5, b\"00ff\", true, ref(2), -0.5]]");
	/* Sorted by name. */
	CLI_OK(f,
	       "NAME  TYPE                   ID       SIZE\n"
	       "d     dict                    2          3\n"
	       "l     list                    1          5\n",
	       "ls");
	CLI_OK(f, "[{\"name\": \"d\", \"type\": \"dict\", \"id\": 2, \"size\": 3}, "
		  "{\"name\": \"l\", \"type\": \"list\", \"id\": 1, \"size\": 5}]\n",
	       "--json", "ls");
	CLI_OK(f,
	       "d: dict, 3 items, id 2\n"
	       "  \"a\": 1\n"
	       "  \"b\": [1, 2.5, \"x y\"]\n"
	       "  3: {\"k\": null}\n",
	       "show", "d");
	CLI_OK(f, "{\"name\": \"d\", \"type\": \"dict\", \"id\": 2, \"size\": 3, \"value\": "
		  "{\"a\": 1, \"b\": [1, 2.5, \"x y\"], \"3\": {\"k\": null}}}\n",
	       "show", "d", "--json");
	CLI_OK(f,
	       "l: list, 5 items, id 1\n"
	       "  [0] 5\n"
	       "  [1] b\"00ff\"\n"
	       "  [2] true\n"
	       "  [3] ref(2)\n"
	       "  [4] -0.5\n",
	       "show", "l");
	CLI_OK(f, "{\"name\": \"l\", \"type\": \"list\", \"id\": 1, \"size\": 5, \"value\": "
		  "[5, {\"$bin\": \"00ff\"}, true, {\"$ref\": 2}, -0.5]}\n",
	       "show", "--json", "l");
	/* An object by id, as a reference names it. */
	CLI_OK(f, "@2: dict, 3 items, id 2\n  \"a\": 1\n  \"b\": [1, 2.5, \"x y\"]\n  3: {\"k\": null}\n", "show", "@2");
	CLI_FAIL(f, 1, "procshare: NoSuchObject: no object named 'nope'\n", "show", "nope");
	CLI_FAIL(f, 1, "NoSuchObject: no object with id 77", "show", "@77");
	CLI_FAIL(f, 2, "usage: procshare show NAME", "show");
}

/* The value a dict holds at key, as text. */
static const char *dict_at(ps_ctx *ctx, const char *key)
{
	char params[128];

	snprintf(params, sizeof params, "[1, %s]", key);
	return call_text(ctx, "dict.getitem", params);
}

static void test_cli_edit(void **state)
{
	struct clifix *f = *state;

	assert_string_equal(call_text(f->ctx, "open", "[\"dict\", \"d\"]"), "1");
	assert_string_equal(call_text(f->ctx, "open", "[\"list\", \"l\"]"), "2");
	CLI_OK(f, "", "set", "d", "a", "42");
	assert_string_equal(dict_at(f->ctx, "\"a\""), "42");
	CLI_OK(f, "", "set", "d", "s", "hello world");
	assert_string_equal(dict_at(f->ctx, "\"s\""), "\"hello world\"");
	CLI_OK(f, "", "set", "d", "\"7\"", "[1, {\"x\": b\"ff\"}, \"\\u00e9\"]");
	assert_string_equal(dict_at(f->ctx, "\"7\""), "[1, {\"x\": b\"ff\"}, \"\xc3\xa9\"]");
	CLI_OK(f, "", "set", "d", "7", "-1.5e3");
	assert_string_equal(dict_at(f->ctx, "7"), "-1.5e+03");
	CLI_OK(f, "", "set", "d", "t", "true");
	assert_string_equal(dict_at(f->ctx, "\"t\""), "true");
	CLI_OK(f, "", "set", "d", "n", "null");
	assert_string_equal(dict_at(f->ctx, "\"n\""), "nil");
	CLI_FAIL(f, 2, "VALUE '[a, b c]': expected ',' or ']'", "set", "d", "bad", "[a, b c]");
	CLI_OK(f, "", "set", "d", "words", "[a, b, {c: d}]");
	assert_string_equal(dict_at(f->ctx, "\"words\""), "[\"a\", \"b\", {\"c\": \"d\"}]");
	CLI_FAIL(f, 2, "VALUE '[1,': a value is missing", "set", "d", "x", "[1,");
	CLI_FAIL(f, 2, "KEY '\"open': a string is missing its closing quote", "set", "d", "\"open", "1");
	CLI_OK(f, "", "del", "d", "a");
	assert_string_equal(dict_at(f->ctx, "\"a\""), "!KeyError");
	CLI_FAIL(f, 1, "procshare: KeyError", "del", "d", "a");
	CLI_FAIL(f, 2, "set: a dict needs a KEY and a VALUE", "set", "d", "lonely");
	CLI_FAIL(f, 2, "append: not possible on a dict", "append", "d", "1");
	CLI_FAIL(f, 1, "NoSuchObject: no object named 'nope'", "set", "nope", "a", "1");
	CLI_FAIL(f, 1, "NoSuchObject: no object named 'nope'", "del", "nope", "a");
	CLI_FAIL(f, 1, "NoSuchObject: no object named 'nope'", "append", "nope", "1");
	/* Lists: append, set and del by index. */
	CLI_OK(f, "", "append", "l", "9");
	CLI_OK(f, "", "append", "l", "-3");
	CLI_OK(f, "", "set", "l", "0", "x");
	CLI_OK(f, "l: list, 2 items, id 2\n  [0] \"x\"\n  [1] -3\n", "show", "l");
	CLI_OK(f, "", "del", "l", "0");
	CLI_OK(f, "{\"name\": \"l\", \"type\": \"list\", \"id\": 2, \"size\": 1, \"value\": [-3]}\n", "show", "l", "--json");
	CLI_FAIL(f, 1, "IndexError", "set", "l", "5", "1");
	CLI_FAIL(f, 1, "TypeError", "set", "l", "one", "1");
	/* create and rm. */
	CLI_OK(f, "made: dict, id 3\n", "create", "dict", "made");
	CLI_OK(f, "{\"name\": \"jobs\", \"type\": \"list\", \"id\": 4}\n", "create", "--json", "list", "jobs", "[1, 2]");
	CLI_OK(f, "jobs: list, 2 items, id 4\n  [0] 1\n  [1] 2\n", "show", "jobs");
	CLI_FAIL(f, 1, "'jobs' is a list, not a dict", "create", "dict", "jobs");
	CLI_FAIL(f, 1, "TypeError", "create", "nosuchtype", "x");
	CLI_OK(f, "", "rm", "made");
	CLI_FAIL(f, 1, "NoSuchObject", "rm", "made");
	CLI_FAIL(f, 1, "NoSuchObject: no object named 'made'", "show", "made");
}

static bool have_type(ps_ctx *ctx, const char *type, const char *args)
{
	char params[128];

	snprintf(params, sizeof params, "[\"%s\", %s]", type, args);
	return call_text(ctx, "create", params)[0] != '!';
}

static void test_cli_queue(void **state)
{
	struct clifix *f = *state;
	char path[PATH_MAX], addr[200], key[200], params[64], *out;
	struct spawn sp;
	pid_t kid;

	if (!have_type(f->ctx, "queue", "[]")) {
		print_message("no queue type in this daemon: skipped\n");
		skip();
	}
	CLI_OK(f, "q: queue, id 2\n", "create", "queue", "q");
	CLI_OK(f, "", "put", "q", "{\"job\": 1}");
	CLI_OK(f, "", "put", "q", "2");
	CLI_OK(f, "q: queue, 2 items, id 2\n  waiting: none\n", "show", "q");
	CLI_OK(f, "{\"job\": 1}\n", "get", "q");
	CLI_OK(f, "2\n", "get", "q", "--json");
	CLI_FAIL(f, 1, "procshare: Empty", "get", "q", "--timeout", "0.05");
	CLI_FAIL(f, 1, "procshare: Empty", "get", "q", "--nowait");
	CLI_FAIL(f, 2, "--timeout: 'soon' is not a number of seconds", "get", "q", "--timeout", "soon");
	CLI_OK(f, "small: queue, id 3\n", "create", "queue", "small", "1");
	CLI_OK(f, "", "put", "small", "a");
	CLI_FAIL(f, 1, "procshare: Full", "put", "small", "b", "--nowait");
	CLI_FAIL(f, 1, "procshare: Full", "put", "small", "b", "--timeout", "0");
	CLI_OK(f, "d: dict, id 4\n", "create", "dict", "d");
	CLI_FAIL(f, 2, "get: 'd' is a dict, not a queue", "get", "d");
	CLI_FAIL(f, 1, "NoSuchObject: no object named 'nope'", "get", "nope");
	/* A get that waits: answered when another client puts. */
	cli_path(path, sizeof path);
	spawn_init(&sp, path);
	spawn_args(&sp, (const char *const[]){ "get", "q", NULL });
	snprintf(addr, sizeof addr, "PROCSHARE_ADDRESS=%s", f->s.addr);
	snprintf(key, sizeof key, "PROCSHARE_AUTHKEY_FILE=%s", f->s.keyfile);
	spawn_env(&sp, addr);
	spawn_env(&sp, key);
	sp.out = tpath(&f->s.dir, "get.out");
	kid = spawn_start(&sp);
	wait_parked(f->ctx, 2, 1);
	snprintf(params, sizeof params, "[2, \"late\"]");
	call_ok(f->ctx, "queue.put", params);
	assert_int_equal(tutil_reap(kid, WAIT_MS), 0);
	out = slurp(tpath(&f->s.dir, "get.out"));
	assert_string_equal(out, "\"late\"\n");
	free(out);
}

static void test_cli_other_types(void **state)
{
	struct clifix *f = *state;

	if (have_type(f->ctx, "namespace", "[]")) {
		CLI_OK(f, "ns: namespace, id 2\n", "create", "namespace", "ns");
		CLI_OK(f, "", "set", "ns", "x", "1");
		CLI_OK(f, "", "set", "ns", "y", "two");
		CLI_OK(f, "ns: namespace, 2 items, id 2\n  \"x\": 1\n  \"y\": \"two\"\n", "show", "ns");
		CLI_OK(f, "", "del", "ns", "x");
		CLI_OK(f, "{\"name\": \"ns\", \"type\": \"namespace\", \"id\": 2, \"size\": 1, \"value\": {\"y\": \"two\"}}\n",
		       "show", "--json", "ns");
		CLI_FAIL(f, 1, "AttributeError", "del", "ns", "x");
	}
	if (have_type(f->ctx, "value", "[\"i\"]")) {
		CLI_OK(f, "v: value, id 4\n", "create", "value", "v", "i", "5");
		CLI_OK(f, "", "set", "v", "7");
		CLI_OK(f, "v: value, 1 item, id 4\n  7\n", "show", "v");
		CLI_FAIL(f, 2, "set: a value takes one VALUE, no KEY", "set", "v", "k", "1");
		CLI_FAIL(f, 1, "TypeError", "set", "v", "seven");
	}
	if (have_type(f->ctx, "array", "[\"d\", 1]")) {
		CLI_OK(f, "a: array, id 6\n", "create", "array", "a", "d", "[1.5, 2]");
		CLI_OK(f, "", "set", "a", "1", "4.25");
		CLI_OK(f, "a: array, 2 items, id 6\n  [0] 1.5\n  [1] 4.25\n", "show", "a");
	}
	if (have_type(f->ctx, "set", "[]")) {
		CLI_OK(f, "s: set, id 8\n", "create", "set", "s");
		CLI_OK(f, "", "append", "s", "x");
		CLI_OK(f, "", "append", "s", "x");
		CLI_OK(f, "", "append", "s", "3");
		CLI_OK(f, "s: set, 2 items, id 8\n  \"x\"\n  3\n", "show", "s");
		CLI_OK(f, "", "del", "s", "x");
		CLI_FAIL(f, 1, "KeyError", "del", "s", "x");
	}
}

static void test_cli_locks(void **state)
{
	struct clifix *f = *state;
	char params[64], want[256], got[256];
	int report[2];
	uint64_t id;
	pid_t kid;

	CLI_OK(f, "no named locks\n", "locks");
	CLI_OK(f, "[]\n", "locks", "--json");
	if (!have_type(f->ctx, "lock", "[]")) {
		print_message("no lock type in this daemon: skipped\n");
		skip();
	}
	id = open_obj(f->ctx, "lock", "mx", NULL);
	snprintf(params, sizeof params, "[%llu]", (unsigned long long)id);
	call_ok(f->ctx, "lock.acquire", params);
	assert_int_equal(pipe(report), 0);
	kid = park_child(&f->s, "lock.acquire", params, report[1]);
	wait_parked(f->ctx, id, 1);
	assert_int_equal(CLI(f, "locks"), 0);
	snprintf(want, sizeof want, "mx: lock, id %llu\n", (unsigned long long)id);
	assert_non_null(strstr(f->out, want));
	snprintf(want, sizeof want, " (unix pid %ld uid %lu)\n", (long)kid, (unsigned long)getuid());
	if (strstr(f->out, "  waiting: conn ") == NULL || strstr(f->out, want) == NULL)
		fail_msg("locks said:\n%s\nwant: %s", f->out, want);
	assert_int_equal(CLI(f, "--json", "locks"), 0);
	snprintf(want, sizeof want, ", \"peer\": \"unix pid %ld uid %lu\"}]", (long)kid, (unsigned long)getuid());
	if (strstr(f->out, "\"waiters\": [{\"conn\": ") == NULL || strstr(f->out, want) == NULL)
		fail_msg("locks --json said:\n%s\nwant: %s", f->out, want);
	assert_true(strncmp(f->out, "[{\"name\": \"mx\", \"type\": \"lock\"", 30) == 0);
	/* The holder lets go: the waiter gets it. */
	call_ok(f->ctx, "lock.release", params);
	read_report(report[0], got, sizeof got);
	assert_true(got[0] != '!');
	assert_int_equal(tutil_reap(kid, WAIT_MS), 0);
	close(report[0]);
	close(report[1]);
}

static void test_cli_info(void **state)
{
	struct clifix *f = *state;
	char want[128];

	assert_int_equal(CLI(f, "info"), 0);
	snprintf(want, sizeof want, "procshared %s (protocol 1), pid %ld\n", PS_LIB_VERSION, (long)f->s.pid);
	assert_true(strncmp(f->out, want, strlen(want)) == 0);
	assert_non_null(strstr(f->out, "\nuptime:       00:00:"));
	assert_non_null(strstr(f->out, "\nconnections:  2 open (0 encrypted), 2 since start, 0 refused, 0 failed authentication\n"));
	assert_non_null(strstr(f->out, "\nobjects:      0 (0 named)\n"));
	assert_non_null(strstr(f->out, "\nmemory:       resident "));
	assert_non_null(strstr(f->out, ", values 0 B (no limit)\n"));
	assert_non_null(strstr(f->out, "\nrequests:     "));
	assert_non_null(strstr(f->out, "\ntraffic:      in "));
	call_ok(f->ctx, "open", "[\"dict\", \"d\"]");
	assert_int_equal(CLI(f, "info"), 0);
	assert_non_null(strstr(f->out, "\nobjects:      1 (1 named): dict 1\n"));
	assert_int_equal(CLI(f, "info", "--json"), 0);
	snprintf(want, sizeof want, "{\"version\": \"%s\", \"protocol\": 1, \"pid\": %ld, \"uptime\": ", PS_LIB_VERSION,
		 (long)f->s.pid);
	assert_true(strncmp(f->out, want, strlen(want)) == 0);
	assert_non_null(strstr(f->out, "\"objects_by_type\": {\"dict\": 1}"));
	assert_non_null(strstr(f->out, "\"memory_limit\": 0"));
}

static void test_cli_connection(void **state)
{
	struct clifix *f = *state;
	char env1[200], env2[200];

	write_file(tpath(&f->s.dir, "otherkey"), "not the key", 0600);
	snprintf(env1, sizeof env1, "PROCSHARE_AUTHKEY_FILE=%s", tpath(&f->s.dir, "otherkey"));
	assert_int_equal(cli_env(f, (const char *const[]){ env1, NULL }, (const char *const[]){ "ls", NULL }), 3);
	assert_non_null(strstr(f->err, "AuthFailed"));
	assert_int_equal(cli_env(f, NULL, (const char *const[]){ "-a", "unix:/nonexistent/s.sock", "ls", NULL }), 3);
	assert_non_null(strstr(f->err, "procshare: unix:/nonexistent/s.sock: "));
	/* The key from the environment, and from -k. */
	snprintf(env2, sizeof env2, "PROCSHARE_AUTHKEY=%s", f->s.key);
	assert_int_equal(cli_env(f, (const char *const[]){ "PROCSHARE_AUTHKEY_FILE", env2, NULL },
				 (const char *const[]){ "ls", NULL }), 0);
	assert_int_equal(cli_env(f, (const char *const[]){ env1, NULL },
				 (const char *const[]){ "-k", f->s.keyfile, "ls", NULL }), 0);
	CLI_FAIL(f, 2, "unknown command 'frob'", "frob");
	CLI_FAIL(f, 2, "usage: procshare ls", "ls", "extra");
	CLI_OK(f, "procshare " PS_LIB_VERSION "\n", "--version");
	assert_int_equal(CLI(f, "--help"), 0);
	assert_non_null(strstr(f->out, "usage: procshare [options] command"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_verify),
		cmocka_unit_test(test_socket_activation),
		cmocka_unit_test(test_notify_ready_stopping),
		cmocka_unit_test(test_notify_abstract),
		cmocka_unit_test(test_service_environment),
		cmocka_unit_test(test_shutdown_answers_parked),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_loose_authkey_refused),
		cmocka_unit_test(test_tcp_needs_explicit_key),
		cmocka_unit_test(test_check_config_help_version),
		cmocka_unit_test(test_sighup_reloads_authkey),
		cmocka_unit_test(test_sighup_reopens_log),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test_setup_teardown(test_cli_ls_show, cli_setup, cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_edit, cli_setup, cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_queue, cli_setup, cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_other_types, cli_setup, cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_locks, cli_setup, cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_info, cli_setup, cli_teardown),
		cmocka_unit_test_setup_teardown(test_cli_connection, cli_setup, cli_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
