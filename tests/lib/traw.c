/*
 * Raw protocol connections for tests.
 */
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ps_hs.h"
#include "ps_mp.h"
#include "ps_seal.h"
#include "traw.h"
#include "tutil.h"

static void traw_init(struct traw *r, int fd)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	ps_buf_init(&r->in);
	ps_buf_init(&r->cin);
}

int traw_connect_unix(struct traw *r, const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	traw_init(r, fd);
	return 0;
}

int traw_connect_tcp(struct traw *r, const char *host, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof ss);
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		len = sizeof *s4;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	traw_init(r, fd);
	return 0;
}

void traw_close(struct traw *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	ps_buf_free(&r->in);
	ps_buf_free(&r->cin);
	free(r->msg);
	r->msg = NULL;
	r->sealed = false;
}

int traw_send(struct traw *r, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t k = send(r->fd, b, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads what is available into r->in, waiting until the deadline.
 * Returns bytes read, 0 at EOF, -1 on error or timeout. */
static ssize_t fill(struct traw *r, int64_t deadline)
{
	struct ps_buf *dst = r->sealed ? &r->cin : &r->in;

	for (;;) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int64_t left = deadline - tutil_now_ms();
		ssize_t k;

		if (left < 0)
			left = 0;
		k = poll(&p, 1, (int)left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (ps_buf_reserve(dst, 65536) < 0)
			return -1;
		k = recv(r->fd, dst->data + dst->len, dst->cap - dst->len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		dst->len += (size_t)k;
		if (r->sealed && k > 0) {
			r->open_err = ps_seal_open(&r->rx, &r->cin, &r->in);
			if (r->open_err != PS_SEAL_OK) {
				errno = EBADMSG;
				return -1;
			}
		}
		return k;
	}
}

ssize_t traw_recv(struct traw *r, void *p, size_t n, int timeout_ms)
{
	int64_t deadline = tutil_now_ms() + timeout_ms;
	size_t take;

	while (ps_buf_avail(&r->in) < n) {
		ssize_t k = fill(r, deadline);

		if (k < 0)
			return -1;
		if (k == 0)
			break;
	}
	take = ps_buf_avail(&r->in) < n ? ps_buf_avail(&r->in) : n;
	memcpy(p, r->in.data + r->in.pos, take);
	ps_buf_consume(&r->in, take);
	return (ssize_t)take;
}

/* After "PSNO": reads the length and text of a refusal record. */
static int read_refusal(struct traw *r, char *refusal, size_t rlen, int timeout_ms)
{
	uint8_t lenb[2];
	char text[PS_HS_REFUSE_TEXT_MAX + 1];
	size_t tlen;

	if (traw_recv(r, lenb, 2, timeout_ms) != 2)
		return -1;
	tlen = (size_t)lenb[0] << 8 | lenb[1];
	if (tlen > PS_HS_REFUSE_TEXT_MAX || traw_recv(r, text, tlen, timeout_ms) != (ssize_t)tlen)
		return -1;
	text[tlen] = '\0';
	if (refusal != NULL && rlen > 0)
		snprintf(refusal, rlen, "%s", text);
	return 0;
}

int traw_read_greeting(struct traw *r, char *refusal, size_t rlen, int timeout_ms)
{
	uint8_t hello[PS_HS_SERVER_HELLO];

	if (refusal != NULL && rlen > 0)
		refusal[0] = '\0';
	if (traw_recv(r, hello, 4, timeout_ms) != 4)
		return -1;
	if (memcmp(hello, "PSNO", 4) == 0)
		return read_refusal(r, refusal, rlen, timeout_ms) == 0 ? 1 : -1;
	if (memcmp(hello, "PSRV", 4) != 0)
		return -1;
	if (traw_recv(r, hello + 4, sizeof hello - 4, timeout_ms) != (ssize_t)sizeof hello - 4)
		return -1;
	return 0;
}

int traw_handshake(struct traw *r, const void *key, size_t keylen, char *refusal, size_t rlen)
{
	return traw_handshake_flags(r, key, keylen, 0, refusal, rlen);
}

int traw_handshake_flags(struct traw *r, const void *key, size_t keylen, uint16_t flags, char *refusal,
			 size_t rlen)
{
	uint8_t *shello = r->shello, *chello = r->chello, acc[PS_HS_ACCEPT];
	uint8_t nonce[PS_HS_NONCE];
	uint16_t version;

	if (refusal != NULL && rlen > 0)
		refusal[0] = '\0';
	if (traw_recv(r, shello, 4, TRAW_TIMEOUT_MS) != 4)
		return -1;
	if (memcmp(shello, "PSNO", 4) == 0)
		return read_refusal(r, refusal, rlen, TRAW_TIMEOUT_MS) == 0 ? -2 : -1;
	if (traw_recv(r, shello + 4, PS_HS_SERVER_HELLO - 4, TRAW_TIMEOUT_MS) != PS_HS_SERVER_HELLO - 4)
		return -1;
	if (ps_hs_check_server_hello(shello, &version) != 0)
		return -1;
	if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
		return -1;
	ps_hs_client_hello_flags(chello, shello, nonce, flags, key, keylen);
	if (traw_send(r, chello, PS_HS_CLIENT_HELLO) < 0)
		return -1;
	if (traw_recv(r, acc, 4, TRAW_TIMEOUT_MS) != 4)
		return -1;
	if (memcmp(acc, "PSNO", 4) == 0)
		return read_refusal(r, refusal, rlen, TRAW_TIMEOUT_MS) == 0 ? -2 : -1;
	if (traw_recv(r, acc + 4, sizeof acc - 4, TRAW_TIMEOUT_MS) != (ssize_t)sizeof acc - 4)
		return -1;
	if (ps_hs_check_accept(acc, shello, chello, key, keylen) != 0)
		return -1;
	if (flags & PS_HS_FLAG_ENC) {
		ps_seal_derive(&r->tx, &r->rx, key, keylen, shello, chello);
		r->sealed = true;
		/* Whatever came behind the accept is records already. */
		if (ps_buf_avail(&r->in) > 0) {
			ps_buf_append(&r->cin, r->in.data + r->in.pos, ps_buf_avail(&r->in));
			ps_buf_consume(&r->in, ps_buf_avail(&r->in));
			r->open_err = ps_seal_open(&r->rx, &r->cin, &r->in);
		}
	}
	return 0;
}

int traw_read_msg(struct traw *r, int timeout_ms)
{
	int64_t deadline = tutil_now_ms() + timeout_ms;
	struct ps_mp_scan s;
	size_t size = 0;
	bool ok;
	char err[128];

	free(r->msg);
	r->msg = NULL;
	r->msg_len = 0;
	ps_mp_scan_reset(&s);
	for (;;) {
		int st = ps_mp_scan(&s, r->in.data + r->in.pos, ps_buf_avail(&r->in), PS_MAX_DEPTH, &size);
		ssize_t k;

		if (st == PS_SCAN_DONE)
			break;
		if (st != PS_SCAN_MORE)
			return -1;
		/* fill() may move the buffer: the scanner keeps offsets only. */
		k = fill(r, deadline);
		if (k <= 0)
			return -1;
	}
	r->msg = malloc(size);
	if (r->msg == NULL)
		return -1;
	memcpy(r->msg, r->in.data + r->in.pos, size);
	r->msg_len = size;
	ps_buf_consume(&r->in, size);
	return ps_rpc_decode(r->msg, r->msg_len, &r->m, &ok, err, sizeof err);
}

int traw_wait_eof(struct traw *r, int timeout_ms)
{
	int64_t deadline = tutil_now_ms() + timeout_ms;

	ps_buf_consume(&r->in, ps_buf_avail(&r->in));
	for (;;) {
		ssize_t k = fill(r, deadline);

		if (k == 0)
			return 0;
		if (k < 0)
			return errno == ECONNRESET ? 0 : -1;
		ps_buf_consume(&r->in, ps_buf_avail(&r->in));
	}
}

int traw_build_request(struct traw *r, uint32_t msgid, const char *method, const void *params, size_t plen,
		       struct ps_buf *out)
{
	struct ps_buf b;
	msgpack_packer pk;
	int rc;

	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, PS_MSG_REQUEST);
	msgpack_pack_uint32(&pk, msgid);
	ps_mp_pack_cstr(&pk, method);
	ps_buf_append(&b, params, plen);
	if (b.oom)
		rc = -1;
	else if (r->sealed)
		rc = ps_seal_put(&r->tx, b.data, b.len, out);
	else
		rc = ps_buf_append(out, b.data, b.len);
	ps_buf_free(&b);
	return rc;
}

int traw_request(struct traw *r, uint32_t msgid, const char *method, const void *params, size_t plen)
{
	struct ps_buf b;
	int rc;

	ps_buf_init(&b);
	rc = traw_build_request(r, msgid, method, params, plen, &b);
	if (rc == 0)
		rc = traw_send(r, b.data, b.len);
	ps_buf_free(&b);
	return rc;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	if (dst != NULL && cap > 0)
		snprintf(dst, cap, "%s", src);
}

int traw_response(struct traw *r, uint32_t msgid, char *code, size_t clen, char *msg, size_t mlen)
{
	int c;
	char name[64], text[512];

	copy_str(code, clen, "");
	copy_str(msg, mlen, "");
	if (traw_read_msg(r, TRAW_TIMEOUT_MS) < 0)
		return -1;
	if (r->m.type != PS_MSG_RESPONSE || r->m.msgid != msgid)
		return -1;
	if (r->m.error_len == 1 && r->m.error[0] == 0xc0)
		return 0;
	if (ps_rpc_read_error(r->m.error, r->m.error_len, &c, name, sizeof name, text, sizeof text) < 0)
		return -1;
	copy_str(code, clen, name);
	copy_str(msg, mlen, text);
	return 1;
}

int traw_error_notification(struct traw *r, char *code, size_t clen, char *msg, size_t mlen)
{
	struct ps_mp_tok t;
	char name[64], text[512];

	copy_str(code, clen, "");
	copy_str(msg, mlen, "");
	if (traw_read_msg(r, TRAW_TIMEOUT_MS) < 0)
		return -1;
	if (r->m.type != PS_MSG_NOTIFY || r->m.method_len != 5 || memcmp(r->m.method, "error", 5) != 0)
		return -1;
	if (r->m.params.left != 2)
		return -1;
	if (ps_args_tok(&r->m.params, &t) < 0 || t.type != PS_MP_STR || t.v.n >= sizeof name)
		return -1;
	memcpy(name, t.data, t.v.n);
	name[t.v.n] = '\0';
	if (ps_args_tok(&r->m.params, &t) < 0 || t.type != PS_MP_STR)
		return -1;
	snprintf(text, sizeof text, "%.*s", (int)t.v.n, (const char *)t.data);
	copy_str(code, clen, name);
	copy_str(msg, mlen, text);
	return 0;
}
