/*
 * Faults: clients killed with SIGKILL at random points of random
 * operations while others keep working (then counts, queue contents and
 * the lock's state are checked exactly); clients that send half a frame
 * and stall; the daemon killed under its clients (every call returns a
 * clear error promptly, and the clients reconnect to a restarted daemon);
 * the daemon out of file descriptors (it refuses with a reason, does not
 * spin, and recovers).
 *
 * Children report through shared memory and their exit status, never
 * through cmocka asserts (which would unwind into the child's copy of the
 * test runner).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_hs.h"
#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"

#define WAIT_MS 10000
#define CHILD_MS 60000

static void *shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	memset(p, 0, n);
	return p;
}

static ps_ctx *child_connect(const char *addr, const void *key, size_t keylen)
{
	ps_ctx *ctx = ps_connect(addr, key, keylen);

	if (ps_err(ctx) != PS_ERR_NONE) {
		fprintf(stderr, "child connect: %s\n", ps_errstr(ctx));
		_exit(2);
	}
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	return ctx;
}

/* ---- SIGKILL at random points ----------------------------------------------- */

#define KW_SLOTS 48             /* workers over the test's life */
#define KW_LIVE 6               /* alive at once */
#define KW_KILLS 16
#define KW_MAX_GETS 4096

/* What one worker did, written before and after each call so that the
 * parent knows what a killed worker may have left half done. */
struct kslot {
	volatile uint64_t incr_sent, incr_acked;        /* dict.incr "n" +1 */
	volatile uint64_t cs_sent, cs_acked;            /* x = x + 1 under the lock */
	volatile uint64_t put_sent, put_acked;          /* queue items slot<<32 | seq */
	volatile uint64_t get_sent;                     /* gets that may have taken an item */
	volatile uint64_t ngot;
	volatile uint64_t got[KW_MAX_GETS];
};

struct kshared {
	volatile int stop;
	struct kslot slot[KW_SLOTS];
};

static int kill_worker(const struct tdaemon *td, struct kshared *sh, int s)
{
	struct kslot *me = &sh->slot[s];
	ps_ctx *ctx = child_connect(td->addr, td->key, td->keylen);
	ps_dict *d = ps_dict_open(ctx, "counters");
	ps_queue *q = ps_queue_open(ctx, "items", 0);
	ps_lock *lk = ps_lock_open(ctx, "lock", PS_LOCK);
	uint32_t rnd;

	if (d == NULL || q == NULL || lk == NULL)
		return 3;
	getrandom(&rnd, sizeof rnd, 0);
	srandom(rnd);
	while (!sh->stop) {
		int op = (int)(random() % 4);

		if (op == 0) {
			me->incr_sent++;
			if (ps_dict_incr_int(d, "n", 1, NULL) < 0)
				return 4;
			me->incr_acked++;
		} else if (op == 1) {
			int64_t x = 0;

			if (ps_lock_acquire(lk, 1, -1, NULL) != 1)
				return 5;
			if (ps_dict_get_int(d, "x", &x) < 0 && strcmp(ps_errcode(ctx), "KeyError") != 0)
				return 6;
			me->cs_sent++;
			if (ps_dict_set_int(d, "x", x + 1) < 0)
				return 7;
			me->cs_acked++;
			if (ps_lock_release(lk) < 0) {
				fprintf(stderr, "worker %d: release: %s: %s\n", s, ps_errcode(ctx), ps_errstr(ctx));
				return 8;
			}
		} else if (op == 2) {
			me->put_sent++;
			if (ps_queue_put_int(q, (int64_t)((uint64_t)s << 32 | (me->put_sent - 1)), 1, -1) < 0)
				return 9;
			me->put_acked++;
		} else if (me->ngot < KW_MAX_GETS) {
			int64_t v;

			me->get_sent++;
			if (ps_queue_get_int(q, 1, 0.01, &v) == 0)
				me->got[me->ngot++] = (uint64_t)v;
			else if (strcmp(ps_errcode(ctx), "Empty") != 0)
				return 10;
		}
	}
	ps_dict_free(d);
	ps_queue_free(q);
	ps_lock_free(lk);
	ps_free(ctx);
	return 0;
}

static pid_t spawn_worker(struct tfix *f, struct kshared *sh, int s)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(kill_worker(&f->td, sh, s));
	}
	return pid;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Counters, the lock-protected read-modify-write, the queue's items and
 * the lock itself after KW_KILLS workers were killed mid-flight. */
static void test_sigkill_clients(void **state)
{
	struct tfix *f = *state;
	struct kshared *sh = shared(sizeof *sh);
	pid_t live[KW_LIVE];
	int slot[KW_LIVE], next = 0, kills = 0;
	uint64_t incr_sent = 0, incr_acked = 0, cs_sent = 0, cs_acked = 0, gets_lost = 0;
	uint64_t *seen, nseen = 0;
	int64_t n = 0, x = 0, v;
	uint32_t rnd;
	ps_ctx *ctx;
	ps_dict *d;
	ps_queue *q;
	ps_lock *lk;
	int locked = 1;

	if (tdaemon_start(&f->td, NULL) < 0)
		fail_msg("daemon did not start");
	for (int i = 0; i < KW_LIVE; i++) {
		slot[i] = next++;
		live[i] = spawn_worker(f, sh, slot[i]);
	}
	/* Kill a random worker at a random moment, start another. */
	while (kills < KW_KILLS) {
		struct pollfd none = { .fd = -1 };
		int i;

		getrandom(&rnd, sizeof rnd, 0);
		poll(&none, 0, 20 + (int)(rnd % 120));
		i = (int)((rnd >> 8) % KW_LIVE);
		kill(live[i], SIGKILL);
		assert_int_equal(tutil_reap(live[i], CHILD_MS), 128 + SIGKILL);
		kills++;
		slot[i] = next++;
		live[i] = spawn_worker(f, sh, slot[i]);
	}
	sh->stop = 1;
	for (int i = 0; i < KW_LIVE; i++) {
		int rc = tutil_reap(live[i], CHILD_MS);
		if (rc != 0)
			fail_msg("worker %d failed: %d", slot[i], rc);
	}
	ctx = tdaemon_connect(&f->td);
	d = ps_dict_open(ctx, "counters");
	q = ps_queue_open(ctx, "items", 0);
	lk = ps_lock_open(ctx, "lock", PS_LOCK);
	assert_true(d != NULL && q != NULL && lk != NULL);
	for (int s = 0; s < next; s++) {
		struct kslot *k = &sh->slot[s];
		incr_sent += k->incr_sent;
		incr_acked += k->incr_acked;
		cs_sent += k->cs_sent;
		cs_acked += k->cs_acked;
		gets_lost += k->get_sent - k->ngot;
	}
	/* Counts: every acknowledged increment is there; at most one per
	 * killed worker is there unacknowledged. */
	assert_int_equal(ps_dict_get_int(d, "n", &n), 0);
	assert_true((uint64_t)n >= incr_acked && (uint64_t)n <= incr_sent);
	assert_true(incr_sent - incr_acked <= (uint64_t)kills);
	/* The lock excluded: no update lost (a lost one would leave x below
	 * the acknowledged count). */
	if (ps_dict_get_int(d, "x", &x) < 0)
		x = 0;
	assert_true((uint64_t)x >= cs_acked && (uint64_t)x <= cs_sent);
	/* Nobody holds the lock: its holders that died released it. */
	assert_int_equal(ps_lock_locked(lk, &locked), 0);
	assert_int_equal(locked, 0);
	assert_int_equal(ps_lock_acquire(lk, 0, 0, NULL), 1);
	assert_int_equal(ps_lock_release(lk), 0);
	/* Queue: items got plus items left are each an item put, none twice;
	 * every acknowledged put is there, except items handed to a get of a
	 * worker killed before it could record it (at most one per kill). */
	seen = calloc(KW_SLOTS * KW_MAX_GETS + 100000, sizeof *seen);
	assert_non_null(seen);
	for (int s = 0; s < next; s++)
		for (uint64_t i = 0; i < sh->slot[s].ngot; i++)
			seen[nseen++] = sh->slot[s].got[i];
	while (ps_queue_get_int(q, 0, 0, &v) == 0)
		seen[nseen++] = (uint64_t)v;
	assert_string_equal(ps_errcode(ctx), "Empty");
	qsort(seen, nseen, sizeof *seen, cmp_u64);
	for (uint64_t i = 0; i < nseen; i++) {
		uint64_t s = seen[i] >> 32, seq = seen[i] & 0xffffffffu;
		if (i > 0 && seen[i] == seen[i - 1])
			fail_msg("item %llu:%llu consumed twice", (unsigned long long)s, (unsigned long long)seq);
		if (s >= (uint64_t)next || seq >= sh->slot[s].put_sent)
			fail_msg("item %llu:%llu was never put", (unsigned long long)s, (unsigned long long)seq);
	}
	{
		uint64_t acked = 0, missing = 0, k = 0;
		for (int s = 0; s < next; s++) {
			acked += sh->slot[s].put_acked;
			for (uint64_t seq = 0; seq < sh->slot[s].put_acked; seq++) {
				uint64_t want = (uint64_t)s << 32 | seq;
				while (k < nseen && seen[k] < want)
					k++;
				if (k == nseen || seen[k] != want)
					missing++;
			}
		}
		if (missing > (uint64_t)kills || missing > gets_lost)
			fail_msg("%llu of %llu acknowledged items lost", (unsigned long long)missing,
				 (unsigned long long)acked);
	}
	free(seen);
	munmap(sh, sizeof *sh);
	ps_dict_free(d);
	ps_queue_free(q);
	ps_lock_free(lk);
	ps_free(ctx);
}

/* ---- half frames --------------------------------------------------------------- */

/* A client that sends half a request and stalls holds nothing up: others
 * are served, and the rest of its request, when it comes, is answered. A
 * peer stalling half-way through its client hello is refused at the
 * handshake timeout. One that sends half a frame and hangs up is freed. */
static void test_half_frame_stall(void **state)
{
	static const char *const args[] = { "--handshake-timeout", "500", NULL };
	struct tfix *f = *state;
	static const uint8_t ping[] = { 0x94, 0x00, 0x07, 0xa4, 'p', 'i', 'n', 'g', 0x90 };
	struct traw half, hs, gone;
	uint8_t shello[PS_HS_SERVER_HELLO], chello[PS_HS_CLIENT_HELLO], nonce[PS_HS_NONCE] = { 3 };
	char refusal[256], code[64], msg[128];
	ps_ctx *ctx;
	int64_t base, deadline;

	if (tdaemon_start(&f->td, args) < 0)
		fail_msg("daemon did not start");
	ctx = tdaemon_connect(&f->td);
	base = tfix_info_int(ctx, "connections");
	/* Authenticated, then half a ping. */
	assert_int_equal(traw_connect_unix(&half, f->td.sock), 0);
	assert_int_equal(traw_handshake(&half, f->td.key, f->td.keylen, refusal, sizeof refusal), 0);
	assert_int_equal(traw_send(&half, ping, 5), 0);
	/* Half a client hello. */
	assert_int_equal(traw_connect_unix(&hs, f->td.sock), 0);
	assert_int_equal(traw_recv(&hs, shello, sizeof shello, WAIT_MS), (ssize_t)sizeof shello);
	ps_hs_client_hello(chello, shello, nonce, f->td.key, f->td.keylen);
	assert_int_equal(traw_send(&hs, chello, 30), 0);
	/* Half a frame, then gone. */
	assert_int_equal(traw_connect_unix(&gone, f->td.sock), 0);
	assert_int_equal(traw_handshake(&gone, f->td.key, f->td.keylen, refusal, sizeof refusal), 0);
	assert_int_equal(traw_send(&gone, ping, 4), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ps_ping(ctx), 0);
	traw_close(&gone);
	/* The stalled hello: refused at the timeout. */
	assert_int_equal(traw_read_greeting(&hs, refusal, sizeof refusal, WAIT_MS), 1);
	assert_string_equal(refusal, "Timeout: handshake not completed in time");
	traw_close(&hs);
	/* The stalled request completes and is answered. */
	assert_int_equal(traw_send(&half, ping + 5, sizeof ping - 5), 0);
	assert_int_equal(traw_response(&half, 7, code, sizeof code, msg, sizeof msg), 0);
	/* The one that hung up mid-frame is gone from the daemon. */
	deadline = tutil_now_ms() + WAIT_MS;
	while (tfix_info_int(ctx, "connections") != base + 1 && tutil_now_ms() < deadline)
		poll(NULL, 0, 10);
	assert_int_equal(tfix_info_int(ctx, "connections"), base + 1);
	traw_close(&half);
	ps_free(ctx);
}

/* Clients that connect and vanish before the daemon accepts them: the
 * server hello cannot be sent, and the daemon frees the connection at
 * once. Regression: conn_accept went on using the freed connection
 * (found by make valgrind; the sanitizer build reports it as a
 * use-after-free and the daemon's exit status fails the test). */
static void test_client_gone_before_accept(void **state)
{
	struct tfix *f = *state;
	ps_ctx *ctx;

	if (tdaemon_start(&f->td, NULL) < 0)
		fail_msg("daemon did not start");
	/* Stopped, the daemon cannot accept: the clients are gone first. */
	assert_int_equal(tdaemon_signal(&f->td, SIGSTOP), 0);
	for (int i = 0; i < 20; i++) {
		struct traw r;
		assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
		traw_close(&r);
	}
	assert_int_equal(tdaemon_signal(&f->td, SIGCONT), 0);
	ctx = tdaemon_connect(&f->td);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
}

/* ---- the daemon killed --------------------------------------------------------- */

/* A daemon of our own, so it can be killed and started again on the same
 * socket with the same key. */
struct own {
	pid_t pid;
	char dir[64], sock[128], addr[160], keyfile[128], log[128];
	uint8_t key[32];
};

static void own_start(struct own *o)
{
	int p[2];
	char fdbuf[16], buf[8];
	const char *daemon = getenv("PS_DAEMON");
	int64_t deadline = tutil_now_ms() + TDAEMON_START_MS;
	size_t got = 0;

	assert_int_equal(pipe(p), 0);
	o->pid = fork();
	assert_true(o->pid >= 0);
	if (o->pid == 0) {
		int logfd = open(o->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (logfd >= 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		snprintf(fdbuf, sizeof fdbuf, "%d", p[1]);
		execl(daemon != NULL && *daemon ? daemon : "build/procshared", "procshared", "--listen", o->addr,
		      "--authkey-file", o->keyfile, "--ready-fd", fdbuf, "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (got < 6 && tutil_now_ms() < deadline) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		if (poll(&pf, 1, 100) > 0) {
			ssize_t r = read(p[0], buf + got, sizeof buf - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
	}
	close(p[0]);
	assert_int_equal(got, 6);
}

static void own_init(struct own *o)
{
	char tmpl[] = "/tmp/ps-faults.XXXXXX";
	int fd;

	memset(o, 0, sizeof *o);
	assert_non_null(mkdtemp(tmpl));
	snprintf(o->dir, sizeof o->dir, "%s", tmpl);
	snprintf(o->sock, sizeof o->sock, "%s/s.sock", o->dir);
	snprintf(o->addr, sizeof o->addr, "unix:%s", o->sock);
	snprintf(o->keyfile, sizeof o->keyfile, "%s/key", o->dir);
	snprintf(o->log, sizeof o->log, "%s/daemon.log", o->dir);
	assert_int_equal(getrandom(o->key, sizeof o->key, 0), (ssize_t)sizeof o->key);
	o->key[sizeof o->key - 1] = 'k';
	fd = open(o->keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, o->key, sizeof o->key), (ssize_t)sizeof o->key);
	close(fd);
}

static void own_cleanup(struct own *o)
{
	unlink(o->sock);
	unlink(o->keyfile);
	unlink(o->log);
	rmdir(o->dir);
}

#define DK_CLIENTS 6
#define DK_PROMPT_MS 2000       /* a call must fail this soon after the kill */

struct dkshared {
	volatile int64_t killed_at;     /* CLOCK_MONOTONIC ms */
	volatile int64_t failed_at[DK_CLIENTS];
	volatile int kind[DK_CLIENTS];
	volatile int64_t again_ms[DK_CLIENTS];  /* the next call's duration */
	volatile int ready[DK_CLIENTS];
};

/* Client i: parked forever (even i: a queue get with no timeout) or
 * calling in a loop (odd i) when the daemon dies; then waits for the
 * restart (a byte on go) and connects again. */
static int dk_client(struct own *o, struct dkshared *sh, int i, int go)
{
	ps_ctx *ctx = child_connect(o->addr, o->key, sizeof o->key);
	ps_queue *q = ps_queue_open(ctx, "q", 0);
	ps_dict *d = ps_dict_open(ctx, "d");
	char byte;
	int rc;

	if (q == NULL || d == NULL)
		return 3;
	sh->ready[i] = 1;
	if (i % 2 == 0) {
		int64_t v;
		rc = ps_queue_get_int(q, 1, -1, &v);
	} else {
		while ((rc = ps_dict_incr_int(d, "n", 1, NULL)) == 0)
			;
	}
	sh->failed_at[i] = tutil_now_ms();
	sh->kind[i] = ps_err(ctx);
	/* The error sticks: the next call fails at once. */
	int64_t t0 = tutil_now_ms();
	if (ps_ping(ctx) == 0)
		return 4;
	sh->again_ms[i] = tutil_now_ms() - t0;
	ps_queue_free(q);
	ps_dict_free(d);
	ps_free(ctx);
	if (read(go, &byte, 1) != 1)
		return 5;
	ctx = child_connect(o->addr, o->key, sizeof o->key);
	d = ps_dict_open(ctx, "d");
	if (d == NULL || ps_dict_incr_int(d, "n", 1, NULL) < 0)
		return 6;
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

/* SIGKILL to the daemon: parked and busy clients all get an I/O or EOF
 * error within DK_PROMPT_MS, later calls fail at once, and every client
 * connects to the daemon started again on the same address. */
static void test_daemon_killed(void **state)
{
	struct own o;
	struct dkshared *sh = shared(sizeof *sh);
	pid_t pids[DK_CLIENTS];
	int go[2], status;
	int64_t deadline;

	(void)state;
	own_init(&o);
	own_start(&o);
	assert_int_equal(pipe(go), 0);
	for (int i = 0; i < DK_CLIENTS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(go[1]);
			_exit(dk_client(&o, sh, i, go[0]));
		}
	}
	close(go[0]);
	deadline = tutil_now_ms() + WAIT_MS;
	for (int i = 0; i < DK_CLIENTS; i++)
		while (!sh->ready[i] && tutil_now_ms() < deadline)
			poll(NULL, 0, 5);
	/* Give the parked gets time to reach the daemon: wait until it has
	 * answered a few hundred increments from the busy ones. */
	{
		ps_ctx *ctx = child_connect(o.addr, o.key, sizeof o.key);
		ps_dict *d = ps_dict_open(ctx, "d");
		int64_t n = 0;
		while (n < 300 && tutil_now_ms() < deadline)
			ps_dict_get_int(d, "n", &n);
		ps_dict_free(d);
		ps_free(ctx);
	}
	sh->killed_at = tutil_now_ms();
	kill(o.pid, SIGKILL);
	assert_int_equal(tutil_wait_child(o.pid, WAIT_MS, &status), 0);
	for (int i = 0; i < DK_CLIENTS; i++) {
		deadline = tutil_now_ms() + WAIT_MS;
		while (sh->again_ms[i] == 0 && sh->failed_at[i] == 0 && tutil_now_ms() < deadline)
			poll(NULL, 0, 5);
	}
	own_start(&o);
	for (int i = 0; i < DK_CLIENTS; i++)
		assert_int_equal(write(go[1], "g", 1), 1);
	for (int i = 0; i < DK_CLIENTS; i++) {
		int rc = tutil_reap(pids[i], CHILD_MS);
		if (rc != 0)
			fail_msg("client %d failed: %d", i, rc);
		if (sh->failed_at[i] - sh->killed_at > DK_PROMPT_MS)
			fail_msg("client %d noticed after %lld ms", i, (long long)(sh->failed_at[i] - sh->killed_at));
		if (sh->kind[i] != PS_ERR_EOF && sh->kind[i] != PS_ERR_IO)
			fail_msg("client %d: error kind %d", i, sh->kind[i]);
		if (sh->again_ms[i] > 100)
			fail_msg("client %d: second call took %lld ms", i, (long long)sh->again_ms[i]);
	}
	close(go[1]);
	kill(o.pid, SIGTERM);
	assert_int_equal(tutil_wait_child(o.pid, TDAEMON_STOP_MS, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	own_cleanup(&o);
	munmap(sh, sizeof *sh);
}

/* ---- file descriptors exhausted ------------------------------------------------ */

static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	long utime = 0, stime = 0;
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL || fgets(buf, sizeof buf, fp) == NULL) {
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	p = strrchr(buf, ')');
	/* Fields after the name: state is 3rd; utime 14th, stime 15th. */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2)
		return -1;
	return utime + stime;
}

#define FD_LIMIT 40

/* With RLIMIT_NOFILE at FD_LIMIT: clients beyond what fits are refused
 * with "LimitExceeded: the daemon is out of file descriptors" (not left
 * hanging), the daemon does not spin while refusing, connected clients
 * keep working, and once some leave new ones are served again. */
static void test_fd_exhaustion(void **state)
{
	struct tfix *f = *state;
	struct rlimit old, low;
	ps_ctx *c[FD_LIMIT];
	ps_ctx *extra = NULL;
	int n = 0;
	long t0;

	/* Lowered from outside once it runs: the daemon raises its soft
	 * limit to the hard one at start-up, so both are set. */
	if (tdaemon_start(&f->td, NULL) < 0)
		fail_msg("daemon did not start");
	low.rlim_cur = low.rlim_max = FD_LIMIT;
	assert_int_equal(prlimit(f->td.pid, RLIMIT_NOFILE, &low, &old), 0);
	for (n = 0; n < FD_LIMIT; n++) {
		c[n] = ps_connect(f->td.addr, f->td.key, f->td.keylen);
		if (ps_err(c[n]) != PS_ERR_NONE)
			break;
		ps_set_timeout(c[n], TDAEMON_CALL_MS);
	}
	if (n <= 5 || n >= FD_LIMIT)
		fail_msg("%d clients connected; the last: %s", n, n < FD_LIMIT ? ps_errstr(c[n]) : "");
	assert_int_equal(ps_err(c[n]), PS_ERR_AUTH);
	assert_string_equal(ps_errcode(c[n]), "LimitExceeded");
	assert_non_null(strstr(ps_errstr(c[n]), "out of file descriptors"));
	ps_free(c[n]);
	/* Refusing 200 clients costs little CPU: no busy loop. */
	t0 = cpu_ticks(f->td.pid);
	for (int i = 0; i < 200; i++) {
		extra = ps_connect(f->td.addr, f->td.key, f->td.keylen);
		assert_int_equal(ps_err(extra), PS_ERR_AUTH);
		ps_free(extra);
	}
	{
		struct pollfd none = { .fd = -1 };
		int64_t w0 = tutil_now_ms();
		long t1;

		poll(&none, 0, 1000);   /* a window to catch a spinning loop */
		t1 = cpu_ticks(f->td.pid);
		if (t1 - t0 > sysconf(_SC_CLK_TCK) * (tutil_now_ms() - w0) / 2000 + 20)
			fail_msg("daemon used %ld ticks in %lld ms", t1 - t0, (long long)(tutil_now_ms() - w0));
	}
	for (int i = 0; i < n; i++)
		assert_int_equal(ps_ping(c[i]), 0);
	/* Descriptors free up: new clients are served again. */
	ps_free(c[0]);
	ps_free(c[1]);
	extra = tfix_connect_retry(&f->td, WAIT_MS);
	assert_int_equal(ps_ping(extra), 0);
	ps_free(extra);
	for (int i = 2; i < n; i++)
		ps_free(c[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sigkill_clients, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_half_frame_stall, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_client_gone_before_accept, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_killed, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_fd_exhaustion, tfix_setup_bare, tfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
