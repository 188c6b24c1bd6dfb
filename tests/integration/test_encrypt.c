/*
 * Encrypted sessions (PROTOCOL.md 2.1, 2.2) against a real daemon: the
 * negotiation for every combination of daemon and client modes, data of
 * every size through sealed records, and every way a record can go wrong
 * in either direction — each ends that session with a clear error, and
 * the daemon goes on serving everyone else.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "ps_hs.h"
#include "ps_seal.h"
#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"

struct fix {
	struct tdaemon td;
	int port;
	char tcp[64];           /* "tcp://127.0.0.1:PORT" */
};

/* A daemon on its Unix socket (tdaemon's) and on a loopback TCP port,
 * with the extra arguments given. */
static struct fix *start(void **state, const char *const *extra)
{
	struct fix *f = calloc(1, sizeof *f);
	const char *args[16];
	int n = 0;

	assert_non_null(f);
	*state = f;
	f->port = tdaemon_free_port("127.0.0.1");
	assert_true(f->port > 0);
	snprintf(f->tcp, sizeof f->tcp, "tcp://127.0.0.1:%d", f->port);
	args[n++] = "--listen";
	args[n++] = f->tcp;
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	if (tdaemon_start(&f->td, args) < 0)
		fail_msg("daemon did not start");
	return f;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	int rc = f != NULL ? tdaemon_stop(&f->td) : 0;

	free(f);
	return rc;
}

static ps_ctx *connect_mode(const struct fix *f, const char *addr, int mode)
{
	ps_ctx *ctx = ps_connect_mode(addr, f->td.key, f->td.keylen, mode);

	assert_non_null(ctx);
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	return ctx;
}

static ps_ctx *connect_ok(const struct fix *f, const char *addr, int mode)
{
	ps_ctx *ctx = connect_mode(f, addr, mode);

	if (ps_err(ctx) != PS_ERR_NONE)
		fail_msg("connect %s: %s", addr, ps_errstr(ctx));
	return ctx;
}

/* info's connections_encrypted, through a plain Unix context. */
static int64_t encrypted_now(const struct fix *f)
{
	ps_ctx *ctx = connect_ok(f, f->td.addr, PS_ENCRYPT_OFF);
	int64_t n = tfix_info_int(ctx, "connections_encrypted");

	ps_free(ctx);
	return n;
}

/* ---- negotiation ------------------------------------------------------------------ */

/* Defaults: TCP encrypted, Unix plaintext unless the client asks. Both
 * kinds of session share the same objects. */
static void test_defaults(void **state)
{
	struct fix *f = start(state, NULL);
	ps_ctx *tcp = connect_ok(f, f->tcp, PS_ENCRYPT_AUTO);
	ps_ctx *unx = connect_ok(f, f->td.addr, PS_ENCRYPT_AUTO);
	ps_ctx *unx_on = connect_ok(f, f->td.addr, PS_ENCRYPT_ON);
	ps_dict *a = ps_dict_open(tcp, "shared"), *b = ps_dict_open(unx, "shared"), *c = ps_dict_open(unx_on, "shared");
	int64_t v = 0;

	assert_int_equal(ps_encrypted(tcp), 1);
	assert_int_equal(ps_encrypted(unx), 0);
	assert_int_equal(ps_encrypted(unx_on), 1);
	/* Two encrypted sessions; the one asking is plaintext. */
	assert_int_equal(encrypted_now(f), 2);
	assert_int_equal(ps_dict_set_int(a, "n", 41), 0);
	assert_int_equal(ps_dict_incr_int(b, "n", 1, &v), 0);
	assert_int_equal(ps_dict_get_int(c, "n", &v), 0);
	assert_int_equal(v, 42);
	ps_dict_free(a);
	ps_dict_free(b);
	ps_dict_free(c);
	ps_free(tcp);
	ps_free(unx);
	ps_free(unx_on);
}

static void expect_refused(const struct fix *f, const char *addr, int mode, int kind, const char *code)
{
	ps_ctx *ctx = connect_mode(f, addr, mode);

	assert_int_equal(ps_err(ctx), kind);
	assert_string_equal(ps_errcode(ctx), code);
	assert_int_equal(ps_ping(ctx), -1);
	ps_free(ctx);
}

static void test_required_refuses_plaintext(void **state)
{
	static const char *const args[] = { "--unix-encryption", "required", NULL };
	struct fix *f = start(state, args);
	ps_ctx *ctx = connect_ok(f, f->td.addr, PS_ENCRYPT_AUTO);

	/* auto follows a daemon that requires it, even on a Unix socket. */
	assert_int_equal(ps_encrypted(ctx), 1);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
	expect_refused(f, f->td.addr, PS_ENCRYPT_OFF, PS_ERR_AUTH, "EncryptionRequired");
	expect_refused(f, f->tcp, PS_ENCRYPT_OFF, PS_ERR_AUTH, "EncryptionRequired");
	ctx = connect_mode(f, f->tcp, PS_ENCRYPT_OFF);
	assert_non_null(strstr(ps_errstr(ctx), "this listener serves encrypted sessions only"));
	ps_free(ctx);
}

static void test_off_and_optional(void **state)
{
	static const char *const args[] = { "--tcp-encryption", "off", "--unix-encryption", "off", NULL };
	struct fix *f = start(state, args);
	ps_ctx *ctx;

	/* A client that wants encryption does not settle for less. */
	expect_refused(f, f->tcp, PS_ENCRYPT_AUTO, PS_ERR_AUTH, "EncryptionUnavailable");
	expect_refused(f, f->td.addr, PS_ENCRYPT_ON, PS_ERR_AUTH, "EncryptionUnavailable");
	ctx = connect_mode(f, f->tcp, PS_ENCRYPT_ON);
	assert_non_null(strstr(ps_errstr(ctx), "does not offer encryption"));
	ps_free(ctx);
	ctx = connect_ok(f, f->tcp, PS_ENCRYPT_OFF);
	assert_int_equal(ps_encrypted(ctx), 0);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
	ctx = connect_ok(f, f->td.addr, PS_ENCRYPT_AUTO);
	assert_int_equal(ps_encrypted(ctx), 0);
	ps_free(ctx);
}

static void test_tcp_optional(void **state)
{
	static const char *const args[] = { "--tcp-encryption", "optional", NULL };
	struct fix *f = start(state, args);
	ps_ctx *plain = connect_ok(f, f->tcp, PS_ENCRYPT_OFF), *enc = connect_ok(f, f->tcp, PS_ENCRYPT_AUTO);

	assert_int_equal(ps_encrypted(plain), 0);
	assert_int_equal(ps_encrypted(enc), 1);
	assert_int_equal(ps_ping(plain), 0);
	assert_int_equal(ps_ping(enc), 0);
	ps_free(plain);
	ps_free(enc);
}

/* ps_connect takes its mode from PROCSHARE_ENCRYPTION. */
static void test_env_mode(void **state)
{
	struct fix *f = start(state, NULL);
	ps_ctx *ctx;

	setenv("PROCSHARE_ENCRYPTION", "off", 1);
	ctx = ps_connect(f->tcp, f->td.key, f->td.keylen);
	assert_int_equal(ps_err(ctx), PS_ERR_AUTH);
	assert_string_equal(ps_errcode(ctx), "EncryptionRequired");
	ps_free(ctx);
	setenv("PROCSHARE_ENCRYPTION", "on", 1);
	ctx = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	assert_int_equal(ps_encrypted(ctx), 1);
	ps_free(ctx);
	setenv("PROCSHARE_ENCRYPTION", "sometimes", 1);
	ctx = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	assert_int_equal(ps_err(ctx), PS_ERR_ARG);
	assert_non_null(strstr(ps_errstr(ctx), "PROCSHARE_ENCRYPTION"));
	ps_free(ctx);
	unsetenv("PROCSHARE_ENCRYPTION");
	ctx = connect_mode(f, f->tcp, 7);
	assert_int_equal(ps_err(ctx), PS_ERR_ARG);
	ps_free(ctx);
}

/* Flags a client may not set: ENC where it was not offered, unknown bits. */
static void test_bad_flags_refused(void **state)
{
	static const char *const args[] = { "--unix-encryption", "off", NULL };
	struct fix *f = start(state, args);
	struct traw r;
	char why[256];

	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	assert_int_equal(traw_handshake_flags(&r, f->td.key, f->td.keylen, PS_HS_FLAG_ENC, why, sizeof why), -2);
	assert_string_equal(why, "ProtocolError: unsupported handshake flags");
	traw_close(&r);
	assert_int_equal(traw_connect_tcp(&r, "127.0.0.1", f->port), 0);
	assert_int_equal(traw_handshake_flags(&r, f->td.key, f->td.keylen, PS_HS_FLAG_ENC | 0x0004, why, sizeof why),
			 -2);
	assert_string_equal(why, "ProtocolError: unsupported handshake flags");
	traw_close(&r);
}

/* A man in the middle strips ENC_REQUIRED and ENC_OFFER from the server
 * hello so that the client goes on in plaintext: the client's proof,
 * computed over the hello it saw, does not verify, and nothing is served. */
static void test_downgrade_detected(void **state)
{
	struct fix *f = start(state, NULL);
	uint8_t shello[PS_HS_SERVER_HELLO], seen[PS_HS_SERVER_HELLO], chello[PS_HS_CLIENT_HELLO];
	uint8_t nonce[PS_HS_NONCE];
	char why[256];
	struct traw r;

	assert_int_equal(traw_connect_tcp(&r, "127.0.0.1", f->port), 0);
	assert_int_equal(traw_recv(&r, shello, sizeof shello, TRAW_TIMEOUT_MS), (ssize_t)sizeof shello);
	assert_int_equal(ps_hs_flags(shello), PS_HS_FLAG_ENC_OFFER | PS_HS_FLAG_ENC_REQUIRED);
	memcpy(seen, shello, sizeof seen);
	ps_hs_set_flags(seen, 0);
	randombytes_buf(nonce, sizeof nonce);
	ps_hs_client_hello_flags(chello, seen, nonce, 0, f->td.key, f->td.keylen);
	assert_int_equal(traw_send(&r, chello, sizeof chello), 0);
	assert_int_equal(traw_read_greeting(&r, why, sizeof why, TRAW_TIMEOUT_MS), 1);
	assert_string_equal(why, "AuthFailed: wrong authkey");
	traw_close(&r);
	/* And one who clears the client's ENC after the proof was made. */
	assert_int_equal(traw_connect_tcp(&r, "127.0.0.1", f->port), 0);
	assert_int_equal(traw_recv(&r, shello, sizeof shello, TRAW_TIMEOUT_MS), (ssize_t)sizeof shello);
	ps_hs_client_hello_flags(chello, shello, nonce, PS_HS_FLAG_ENC, f->td.key, f->td.keylen);
	ps_hs_set_flags(chello, 0);
	assert_int_equal(traw_send(&r, chello, sizeof chello), 0);
	assert_int_equal(traw_read_greeting(&r, why, sizeof why, TRAW_TIMEOUT_MS), 1);
	assert_string_equal(why, "AuthFailed: wrong authkey");
	traw_close(&r);
}

/* ---- data through records ---------------------------------------------------------- */

/* Values of many records each way (and the record size N and N+1 as a
 * whole request) come back intact. */
static void test_big_values(void **state)
{
	struct fix *f = start(state, NULL);
	ps_ctx *ctx = connect_ok(f, f->tcp, PS_ENCRYPT_AUTO);
	ps_dict *d = ps_dict_open(ctx, "big");
	static const size_t sizes[] = { 0, 1, PS_SEAL_RECORD_MAX - 40, PS_SEAL_RECORD_MAX, PS_SEAL_RECORD_MAX + 1,
					3 * 1024 * 1024 + 7 };
	uint8_t *p = malloc(sizes[5]);

	assert_non_null(p);
	randombytes_buf(p, sizes[5]);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *back = NULL;
		size_t len = 0;

		assert_int_equal(ps_dict_set_bytes(d, "v", p, sizes[i]), 0);
		assert_int_equal(ps_dict_get_bytes(d, "v", &back, &len), 0);
		assert_int_equal(len, sizes[i]);
		if (len > 0)
			assert_memory_equal(back, p, len);
		free(back);
	}
	free(p);
	ps_dict_free(d);
	ps_free(ctx);
}

/* Requests sealed right behind the client hello, in the same write, are
 * answered once the hello checks out. */
static void test_records_behind_hello(void **state)
{
	struct fix *f = start(state, NULL);
	uint8_t nonce[PS_HS_NONCE], acc[PS_HS_ACCEPT];
	struct ps_buf out;
	struct traw r;

	assert_int_equal(traw_connect_tcp(&r, "127.0.0.1", f->port), 0);
	assert_int_equal(traw_recv(&r, r.shello, PS_HS_SERVER_HELLO, TRAW_TIMEOUT_MS), PS_HS_SERVER_HELLO);
	randombytes_buf(nonce, sizeof nonce);
	ps_hs_client_hello_flags(r.chello, r.shello, nonce, PS_HS_FLAG_ENC, f->td.key, f->td.keylen);
	ps_seal_derive(&r.tx, &r.rx, f->td.key, f->td.keylen, r.shello, r.chello);
	r.sealed = true;
	ps_buf_init(&out);
	ps_buf_append(&out, r.chello, PS_HS_CLIENT_HELLO);
	assert_int_equal(traw_build_request(&r, 1, "ping", "\x90", 1, &out), 0);
	assert_int_equal(traw_build_request(&r, 2, "ping", "\x90", 1, &out), 0);
	assert_int_equal(traw_send(&r, out.data, out.len), 0);
	ps_buf_free(&out);
	/* The accept is plaintext: read it past the sealed reader. */
	r.sealed = false;
	assert_int_equal(traw_recv(&r, acc, sizeof acc, TRAW_TIMEOUT_MS), (ssize_t)sizeof acc);
	assert_int_equal(ps_hs_check_accept(acc, r.shello, r.chello, f->td.key, f->td.keylen), 0);
	r.sealed = true;
	if (ps_buf_avail(&r.in) > 0) {
		ps_buf_append(&r.cin, r.in.data + r.in.pos, ps_buf_avail(&r.in));
		ps_buf_consume(&r.in, ps_buf_avail(&r.in));
		assert_int_equal(ps_seal_open(&r.rx, &r.cin, &r.in), PS_SEAL_OK);
	}
	assert_int_equal(traw_response(&r, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(traw_response(&r, 2, NULL, 0, NULL, 0), 0);
	traw_close(&r);
}

/* ---- records that go wrong ------------------------------------------------------- */

/* An encrypted raw session that has made one round trip. */
static void raw_session(const struct fix *f, struct traw *r)
{
	assert_int_equal(traw_connect_tcp(r, "127.0.0.1", f->port), 0);
	assert_int_equal(traw_handshake_flags(r, f->td.key, f->td.keylen, PS_HS_FLAG_ENC, NULL, 0), 0);
	assert_int_equal(traw_request(r, 1, "ping", "\x90", 1), 0);
	assert_int_equal(traw_response(r, 1, NULL, 0, NULL, 0), 0);
}

/* The daemon's verdict on a bad record: an encrypted error notification
 * naming it, then EOF; another client is served all along. */
static void expect_session_ended(const struct fix *f, struct traw *r, const char *what)
{
	char code[64], msg[256];
	ps_ctx *other;

	assert_int_equal(traw_error_notification(r, code, sizeof code, msg, sizeof msg), 0);
	assert_string_equal(code, "ProtocolError");
	assert_non_null(strstr(msg, what));
	assert_int_equal(traw_wait_eof(r, TRAW_TIMEOUT_MS), 0);
	traw_close(r);
	other = connect_ok(f, f->tcp, PS_ENCRYPT_AUTO);
	assert_int_equal(ps_ping(other), 0);
	ps_free(other);
	assert_true(tdaemon_alive((struct tdaemon *)&f->td));
}

static void test_tampered_record(void **state)
{
	struct fix *f = start(state, NULL);
	struct ps_buf rec;
	struct traw r;

	raw_session(f, &r);
	ps_buf_init(&rec);
	assert_int_equal(traw_build_request(&r, 2, "ping", "\x90", 1, &rec), 0);
	rec.data[PS_SEAL_HEAD + 2] ^= 0x20;
	assert_int_equal(traw_send(&r, rec.data, rec.len), 0);
	ps_buf_free(&rec);
	expect_session_ended(f, &r, "failed authentication");
}

#define MAX_RECORDS 2       /* records one send_out_of_turn seals */

/* Seals nrec pings (msgids 2, 3, ...) as records in that order, then
 * sends them in the order the nsend indexes of sends give. Each record
 * sent in its turn is answered; the first sent out of its turn (again,
 * or ahead of one not sent yet) must end the session like a forged one,
 * whatever follows it. */
static void send_out_of_turn(void **state, int nrec, const int *sends, int nsend)
{
	struct fix *f = start(state, NULL);
	struct ps_buf rec[MAX_RECORDS];
	struct traw r;
	int next = 0;   /* the record whose turn it is; -1 once one broke it */

	assert_true(nrec > 0 && nrec <= MAX_RECORDS);
	raw_session(f, &r);
	for (int i = 0; i < nrec; i++) {
		ps_buf_init(&rec[i]);
		assert_int_equal(traw_build_request(&r, (uint32_t)(2 + i), "ping", "\x90", 1, &rec[i]), 0);
	}
	for (int k = 0; k < nsend; k++) {
		int i = sends[k];

		assert_int_equal(traw_send(&r, rec[i].data, rec[i].len), 0);
		if (i == next) {
			assert_int_equal(traw_response(&r, (uint32_t)(2 + i), NULL, 0, NULL, 0), 0);
			next++;
		} else {
			next = -1;
		}
	}
	assert_int_equal(next, -1);
	for (int i = 0; i < nrec; i++)
		ps_buf_free(&rec[i]);
	expect_session_ended(f, &r, "failed authentication");
}

/* The same bytes again: a record an eavesdropper recorded. */
static void test_replayed_record(void **state)
{
	static const int sends[] = { 0, 0 };

	send_out_of_turn(state, 1, sends, 2);
}

static void test_reordered_records(void **state)
{
	static const int sends[] = { 1, 0 };

	send_out_of_turn(state, 2, sends, 2);
}

/* A length over the limit is refused from its 4 bytes, without the daemon
 * waiting for (or buffering) the 64 KiB it announces. */
static void test_record_length_limit(void **state)
{
	struct fix *f = start(state, NULL);
	static const uint8_t too_long[4] = { 0, 1, 0, 0x11 };
	struct traw r;

	raw_session(f, &r);
	assert_int_equal(traw_send(&r, too_long, sizeof too_long), 0);
	expect_session_ended(f, &r, "length out of range");
}

/* A session cut inside a record is a lost connection: what the client
 * held is released, as for any client that goes away. */
static void test_truncated_record_releases(void **state)
{
	struct fix *f = start(state, NULL);
	ps_ctx *ctx = connect_ok(f, f->tcp, PS_ENCRYPT_AUTO);
	ps_lock *l = ps_lock_open(ctx, "held", PS_LOCK);
	struct ps_buf rec;
	struct traw r;
	char params[32];
	uint64_t id;

	assert_non_null(l);
	id = ps_lock_id(l);
	assert_true(id < 128);
	raw_session(f, &r);
	params[0] = (char)0x91;
	params[1] = (char)id;
	assert_int_equal(traw_request(&r, 2, "retain", params, 2), 0);
	assert_int_equal(traw_response(&r, 2, NULL, 0, NULL, 0), 0);
	assert_int_equal(traw_request(&r, 3, "lock.acquire", params, 2), 0);
	assert_int_equal(traw_response(&r, 3, NULL, 0, NULL, 0), 0);
	assert_int_equal(ps_lock_acquire(l, 0, -1, NULL), 0);
	ps_buf_init(&rec);
	assert_int_equal(traw_build_request(&r, 4, "lock.release", params, 2, &rec), 0);
	/* Half the record, then the connection goes: the release never
	 * happens, the close does it. */
	assert_int_equal(traw_send(&r, rec.data, rec.len / 2), 0);
	ps_buf_free(&rec);
	traw_close(&r);
	assert_int_equal(ps_lock_acquire(l, 1, 10.0, NULL), 1);
	assert_int_equal(ps_lock_release(l), 0);
	ps_lock_free(l);
	ps_free(ctx);
}

/* ---- the client's side ------------------------------------------------------------ */

/* A man in the middle on a Unix socket that forwards both ways and flips
 * one bit of the daemon's stream at byte flip_at (past the handshake). */
struct mitm {
	int lfd;
	char path[160];
	const char *upstream;
	size_t flip_at;
	pthread_t thread;
};

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof sun.sun_path) {
		close(fd);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copies what is readable from one side to the other. Returns the bytes
 * moved, 0 at EOF, -1 on an error. */
static ssize_t pass(int from, int to, size_t *count, size_t flip_at)
{
	uint8_t buf[65536];
	ssize_t n = recv(from, buf, sizeof buf, 0);

	if (n <= 0)
		return n;
	if (count != NULL) {
		if (flip_at >= *count && flip_at < *count + (size_t)n)
			buf[flip_at - *count] ^= 0x01;
		*count += (size_t)n;
	}
	return send(to, buf, (size_t)n, MSG_NOSIGNAL) == n ? n : -1;
}

static void *mitm_cb(void *arg)
{
	struct mitm *m = arg;
	int c = accept(m->lfd, NULL, NULL), u = connect_unix(m->upstream);
	size_t down = 0;

	while (c >= 0 && u >= 0) {
		struct pollfd p[2] = { { .fd = c, .events = POLLIN }, { .fd = u, .events = POLLIN } };

		if (poll(p, 2, TRAW_TIMEOUT_MS) <= 0)
			break;
		if (p[0].revents && pass(c, u, NULL, 0) <= 0)
			break;
		if (p[1].revents && pass(u, c, &down, m->flip_at) <= 0)
			break;
	}
	if (c >= 0)
		close(c);
	if (u >= 0)
		close(u);
	return NULL;
}

static void mitm_start(struct mitm *m, const struct tdaemon *td, size_t flip_at)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(m->path, sizeof m->path, "%s/mitm.sock", td->dir);
	assert_true(strlen(m->path) < sizeof sun.sun_path);
	memcpy(sun.sun_path, m->path, strlen(m->path) + 1);
	m->upstream = td->sock;
	m->flip_at = flip_at;
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(m->lfd >= 0);
	assert_int_equal(bind(m->lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(m->lfd, 1), 0);
	assert_int_equal(pthread_create(&m->thread, NULL, mitm_cb, m), 0);
}

static void mitm_stop(struct mitm *m)
{
	pthread_join(m->thread, NULL);
	close(m->lfd);
	unlink(m->path);
}

/* A record from the daemon that fails to open breaks the client's
 * connection with a protocol error saying so. */
static void test_client_detects_tampering(void **state)
{
	struct fix *f = start(state, NULL);
	struct mitm m;
	ps_ctx *ctx;

	/* Server hello, accept, then the first record's length: the bit
	 * flipped is its first byte of ciphertext. */
	mitm_start(&m, &f->td, PS_HS_SERVER_HELLO + PS_HS_ACCEPT + PS_SEAL_HEAD);
	ctx = connect_ok(f, m.path, PS_ENCRYPT_ON);
	assert_int_equal(ps_encrypted(ctx), 1);
	assert_int_equal(ps_ping(ctx), -1);
	assert_int_equal(ps_err(ctx), PS_ERR_PROTOCOL);
	assert_non_null(strstr(ps_errstr(ctx), "failed authentication"));
	/* The error sticks: nothing after a bad record is trusted. */
	assert_int_equal(ps_ping(ctx), -1);
	ps_free(ctx);
	mitm_stop(&m);
}

/* A fork() child reconnects with its parent's mode. */
static void test_fork_keeps_mode(void **state)
{
	struct fix *f = start(state, NULL);
	ps_ctx *ctx = connect_ok(f, f->td.addr, PS_ENCRYPT_ON);
	int status = -1;
	pid_t pid;

	assert_int_equal(ps_encrypted(ctx), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(ps_ping(ctx) == 0 && ps_encrypted(ctx) == 1 ? 0 : 1);
	assert_int_equal(tutil_wait_child(pid, TDAEMON_CALL_MS, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(ps_ping(ctx), 0);
	ps_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_required_refuses_plaintext, teardown),
		cmocka_unit_test_teardown(test_off_and_optional, teardown),
		cmocka_unit_test_teardown(test_tcp_optional, teardown),
		cmocka_unit_test_teardown(test_env_mode, teardown),
		cmocka_unit_test_teardown(test_bad_flags_refused, teardown),
		cmocka_unit_test_teardown(test_downgrade_detected, teardown),
		cmocka_unit_test_teardown(test_big_values, teardown),
		cmocka_unit_test_teardown(test_records_behind_hello, teardown),
		cmocka_unit_test_teardown(test_tampered_record, teardown),
		cmocka_unit_test_teardown(test_replayed_record, teardown),
		cmocka_unit_test_teardown(test_reordered_records, teardown),
		cmocka_unit_test_teardown(test_record_length_limit, teardown),
		cmocka_unit_test_teardown(test_truncated_record_releases, teardown),
		cmocka_unit_test_teardown(test_client_detects_tampering, teardown),
		cmocka_unit_test_teardown(test_fork_keeps_mode, teardown),
	};

	unsetenv("PROCSHARE_ENCRYPTION");
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
