/*
 * Raw procshare connections for the load generator: the socket and the
 * handshake (proto/ps_hs.h), encrypted sessions (proto/ps_seal.h: keys
 * derived from both hellos, output sealed into records, input opened),
 * requests encoded with proto/'s packer, and answers cut out of the stream
 * with the same scanner the library uses.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "loadgen.h"
#include "procshare.h"
#include "ps_addr.h"
#include "ps_hs.h"
#include "ps_rpc.h"
#include "ps_seal.h"

#define WIRE_READ_CHUNK (64 * 1024)

uint64_t wire_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int open_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_tcp(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int read_all(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, (uint8_t *)p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

int wire_write_all(int fd, const void *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = send(fd, (const uint8_t *)p + done, n - done, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

/* A refusal record is "PSNO" len16 text: print its text. */
static void print_refusal(int fd, const uint8_t *head, size_t have)
{
	uint8_t rec[PS_HS_REFUSE_MAX];
	size_t len;

	memcpy(rec, head, have);
	if (have < 6 && read_all(fd, rec + have, 6 - have) < 0)
		len = 0;
	else
		len = (size_t)rec[4] << 8 | rec[5];
	if (len > PS_HS_REFUSE_TEXT_MAX)
		len = PS_HS_REFUSE_TEXT_MAX;
	if (len > 0 && have < 6 + len && read_all(fd, rec + (have > 6 ? have : 6), 6 + len - (have > 6 ? have : 6)) < 0)
		len = 0;
	fprintf(stderr, "loadgen: daemon refused the connection: %.*s\n", (int)len, (const char *)rec + 6);
}

/* Whether to encrypt, from our mode and the daemon's offer (PROTOCOL.md
 * 2.1, as the library decides). Returns 1 or 0, or -1 when the mode cannot
 * be met. */
static int want_encryption(int enc, const struct ps_addr *a, const uint8_t shello[PS_HS_SERVER_HELLO])
{
	uint16_t offer = ps_hs_flags(shello);

	if (enc == PS_ENCRYPT_OFF)
		return 0;
	if (enc != PS_ENCRYPT_ON && a->kind == PS_ADDR_UNIX && !(offer & PS_HS_FLAG_ENC_REQUIRED))
		return 0;
	if (!(offer & PS_HS_FLAG_ENC_OFFER)) {
		fprintf(stderr, "loadgen: the daemon does not offer encryption on this listener\n");
		return -1;
	}
	return 1;
}

static int handshake(struct wire *w, const struct ps_addr *a, const uint8_t *key, size_t keylen, int enc)
{
	uint8_t shello[PS_HS_SERVER_HELLO], chello[PS_HS_CLIENT_HELLO], acc[PS_HS_ACCEPT];
	uint8_t nonce[PS_HS_NONCE];
	uint16_t version;
	int fd = w->fd, on;

	if (read_all(fd, shello, 4) < 0)
		goto io;
	if (memcmp(shello, "PSNO", 4) == 0) {
		print_refusal(fd, shello, 4);
		return -1;
	}
	if (read_all(fd, shello + 4, sizeof shello - 4) < 0)
		goto io;
	if (ps_hs_check_server_hello(shello, &version) < 0) {
		fprintf(stderr, "loadgen: not a procshare daemon (or version %u)\n", version);
		return -1;
	}
	on = want_encryption(enc, a, shello);
	if (on < 0)
		return -1;
	randombytes_buf(nonce, sizeof nonce);
	ps_hs_client_hello_flags(chello, shello, nonce, on ? PS_HS_FLAG_ENC : 0, key, keylen);
	if (wire_write_all(fd, chello, sizeof chello) < 0 || read_all(fd, acc, 4) < 0)
		goto io;
	if (memcmp(acc, "PSNO", 4) == 0) {
		print_refusal(fd, acc, 4);
		return -1;
	}
	if (read_all(fd, acc + 4, sizeof acc - 4) < 0)
		goto io;
	if (ps_hs_check_accept(acc, shello, chello, key, keylen) < 0) {
		fprintf(stderr, "loadgen: the daemon's handshake proof is wrong\n");
		return -1;
	}
	w->sealed = on == 1;
	if (w->sealed)
		ps_seal_derive(&w->tx, &w->rx, key, keylen, shello, chello);
	return 0;
io:
	fprintf(stderr, "loadgen: handshake: %s\n", errno ? strerror(errno) : "connection closed");
	return -1;
}

int wire_connect(struct wire *w, const char *addr, const uint8_t *key, size_t keylen, int enc)
{
	struct ps_addr a;
	char err[128];

	memset(w, 0, sizeof *w);
	w->fd = -1;
	ps_buf_init(&w->cin);
	ps_buf_init(&w->cout);
	if (ps_addr_parse(addr, &a, err, sizeof err) < 0) {
		fprintf(stderr, "loadgen: %s: %s\n", addr, err);
		return -1;
	}
	w->fd = a.kind == PS_ADDR_UNIX ? open_unix(a.path) : open_tcp(a.host, a.port);
	if (w->fd < 0) {
		fprintf(stderr, "loadgen: cannot connect to %s: %s\n", addr, strerror(errno));
		return -1;
	}
	errno = 0;
	if (handshake(w, &a, key, keylen, enc) < 0) {
		wire_close(w);
		return -1;
	}
	return 0;
}

void wire_close(struct wire *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	ps_buf_free(&w->cin);
	ps_buf_free(&w->cout);
	ps_seal_wipe(&w->tx);
	ps_seal_wipe(&w->rx);
	w->sealed = false;
}

struct ps_buf *wire_pending(struct wire *w, struct ps_buf *out)
{
	if (!w->sealed)
		return out;
	/* Everything queued since the last write goes in one record, as the
	 * library and the daemon send a batch. */
	if (ps_buf_avail(out) > 0) {
		if (ps_seal_put(&w->tx, out->data + out->pos, ps_buf_avail(out), &w->cout) < 0)
			return NULL;
		ps_buf_consume(out, ps_buf_avail(out));
	}
	return &w->cout;
}

int wire_send_all(struct wire *w, struct ps_buf *out)
{
	struct ps_buf *b = wire_pending(w, out);

	if (b == NULL || wire_write_all(w->fd, b->data + b->pos, ps_buf_avail(b)) < 0)
		return -1;
	ps_buf_consume(b, ps_buf_avail(b));
	return 0;
}

ssize_t wire_read(struct wire *w, struct ps_buf *in)
{
	struct ps_buf *dst = w->sealed ? &w->cin : in;
	ssize_t n;
	int r;

	if (ps_buf_reserve(dst, WIRE_READ_CHUNK) < 0) {
		errno = ENOMEM;
		return -1;
	}
	do
		n = read(w->fd, dst->data + dst->len, dst->cap - dst->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || !w->sealed) {
		if (n > 0)
			dst->len += (size_t)n;
		return n;
	}
	dst->len += (size_t)n;
	r = ps_seal_open(&w->rx, &w->cin, in);
	if (r != PS_SEAL_OK) {
		fprintf(stderr, "loadgen: %s\n", ps_seal_strerror(r));
		errno = EPROTO;
		return -1;
	}
	return n;
}

long wire_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long wire_cpu_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15 (utime, stime), counted after the command name,
	 * which ends at the last ')' and may hold spaces. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* ---- requests ---- */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: cheap, and good enough to spread keys. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

void wire_key(char k[16], uint64_t n)
{
	memcpy(k, "key:000000000000", 16);
	for (int i = 15; i >= 4 && n > 0; i--, n /= 10)
		k[i] = (char)('0' + n % 10);
}

/* A random key of the keyspace, as redis-benchmark's key:__rand_int__. */
static void pack_key(msgpack_packer *pk, const struct lg_opts *o, uint64_t *rng)
{
	char k[16];

	wire_key(k, rng_next(rng) % (uint64_t)o->keys);
	msgpack_pack_str(pk, sizeof k);
	msgpack_pack_str_body(pk, k, sizeof k);
}

/* The value is encoded once (loadgen.c): a copy, whatever its size. */
static void pack_value(msgpack_packer *pk, const struct lg_opts *o)
{
	pk->callback(pk->data, (const char *)o->value, o->value_len);
}

static void req(msgpack_packer *pk, uint32_t *msgid, const char *method, uint32_t nparams, uint64_t id)
{
	ps_rpc_put_request(pk, (*msgid)++, method, nparams);
	if (nparams > 0)
		msgpack_pack_uint64(pk, id);
}

int wire_put_op(struct ps_buf *out, const struct lg_opts *o, enum lg_op op, const struct lg_objs *objs, int conn,
		uint32_t *msgid, uint64_t *rng)
{
	msgpack_packer pk;

	ps_mp_packer(&pk, out);
	switch (op) {
	case OP_GET:
		req(&pk, msgid, "dict.get", 2, objs->dict);
		pack_key(&pk, o, rng);
		return 1;
	case OP_SET:
		req(&pk, msgid, "dict.set", 3, objs->dict);
		pack_key(&pk, o, rng);
		pack_value(&pk, o);
		return 1;
	case OP_APPEND:
		req(&pk, msgid, "list.append", 2, objs->list);
		pack_value(&pk, o);
		return 1;
	case OP_QUEUE:
		/* Each connection's get follows its own put, so the queue is
		 * never empty when a get runs and no get parks. */
		req(&pk, msgid, "queue.put", 2, objs->queue);
		pack_value(&pk, o);
		req(&pk, msgid, "queue.get", 1, objs->queue);
		return 2;
	case OP_LOCK:
		req(&pk, msgid, "lock.acquire", 1, objs->locks[conn]);
		req(&pk, msgid, "lock.release", 1, objs->locks[conn]);
		return 2;
	case OP_VALUE:
		req(&pk, msgid, "value.add", 2, objs->value);
		msgpack_pack_uint8(&pk, 1);
		return 1;
	case OP_PING:
	default:
		req(&pk, msgid, "ping", 0, 0);
		return 1;
	}
}

/* ---- answers ---- */

int wire_next_msg(struct wire *w, struct ps_buf *in, struct ps_mp_scan *scan, bool block, size_t *size)
{
	for (;;) {
		if (ps_buf_avail(in) > 0) {
			int r = ps_mp_scan(scan, in->data + in->pos, ps_buf_avail(in), PS_MAX_DEPTH, size);
			if (r == PS_SCAN_DONE)
				return 1;
			if (r != PS_SCAN_MORE) {
				fprintf(stderr, "loadgen: the daemon sent invalid MessagePack\n");
				return -1;
			}
		}
		if (!block)
			return 0;
		ssize_t n = wire_read(w, in);
		if (n <= 0) {
			if (errno != EPROTO)
				fprintf(stderr, "loadgen: reading from the daemon: %s\n",
					n == 0 ? "connection closed" : strerror(errno));
			return -1;
		}
	}
}

int wire_reply(const uint8_t *p, size_t n, bool *is_error, uint32_t *msgid, const uint8_t **result, size_t *rlen)
{
	struct ps_rpc_msg m;
	bool msgid_ok;
	char why[128];

	if (ps_rpc_decode(p, n, &m, &msgid_ok, why, sizeof why) < 0 || m.type != PS_MSG_RESPONSE) {
		if (m.type == PS_MSG_NOTIFY)
			fprintf(stderr, "loadgen: the daemon closes the connection: %.*s\n", (int)m.params.n,
				(const char *)m.params.p);
		else
			fprintf(stderr, "loadgen: unexpected message from the daemon\n");
		return -1;
	}
	*is_error = !(m.error_len == 1 && m.error[0] == 0xc0);
	*msgid = m.msgid;
	if (result != NULL) {
		*result = *is_error ? m.error : m.result;
		*rlen = *is_error ? m.error_len : m.result_len;
	}
	return 0;
}

int wire_call(struct wire *w, const char *method, const uint8_t *params, size_t plen, uint32_t nparams, uint64_t *result)
{
	struct ps_buf out, in;
	struct ps_mp_scan scan;
	msgpack_packer pk;
	const uint8_t *res;
	size_t size, rlen;
	uint32_t msgid;
	bool is_error;
	int r = -1;

	ps_buf_init(&out);
	ps_buf_init(&in);
	ps_mp_scan_reset(&scan);
	ps_mp_packer(&pk, &out);
	ps_rpc_put_request(&pk, 1, method, nparams);
	if (plen > 0)
		ps_buf_append(&out, params, plen);
	if (out.oom || wire_send_all(w, &out) < 0 || wire_next_msg(w, &in, &scan, true, &size) < 0 ||
	    wire_reply(in.data + in.pos, size, &is_error, &msgid, &res, &rlen) < 0)
		goto out;
	if (is_error) {
		fprintf(stderr, "loadgen: %s failed: %.*s\n", method, (int)rlen, (const char *)res);
		goto out;
	}
	if (result != NULL) {
		struct ps_mp_tok t;
		if (ps_mp_token(res, rlen, &t) != 1 || t.type != PS_MP_UINT) {
			fprintf(stderr, "loadgen: %s: unexpected result\n", method);
			goto out;
		}
		*result = t.v.u;
	}
	r = 0;
out:
	ps_buf_free(&out);
	ps_buf_free(&in);
	return r;
}
