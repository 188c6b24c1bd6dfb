/*
 * Opening a connection: the socket (Unix or TCP) and the authkey handshake
 * of proto/ps_hs.h. Everything here runs with ctx->mu held, before the
 * connection carries any request, and reports failures as sticky errors:
 * a context that could not connect has nothing to use.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"
#include "ps_addr.h"
#include "ps_hs.h"

#define SOCK_FLAGS (SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK)
/* Pause before retrying a Unix connect refused with EAGAIN. */
#define UNIX_RETRY_MS 10

/* Waits for a non-blocking connect to finish. Returns 0, or -1 with errno. */
static int connect_finish(int fd, const struct ps_deadline *d)
{
	socklen_t len = sizeof(int);
	int r, err = 0;

	r = ps_io_wait(fd, POLLOUT, d);
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Connects fd to sa. Returns 0, or -1 with errno. */
static int connect_to(int fd, const struct sockaddr *sa, socklen_t salen, const struct ps_deadline *d)
{
	for (;;) {
		if (connect(fd, sa, salen) == 0)
			return 0;
		if (errno == EINPROGRESS || errno == EINTR)
			return connect_finish(fd, d);
		/* A Unix socket says EAGAIN when the daemon's accept backlog is
		 * full: the daemon is busy, not gone, so try again. */
		if (errno != EAGAIN || ps_deadline_passed(d))
			return -1;
		poll(NULL, 0, UNIX_RETRY_MS);
	}
}

static int connect_fail(ps_ctx *ctx, int err)
{
	char buf[128];

	if (err == ETIMEDOUT)
		return ps_err_stick(ctx, PS_ERR_TIMEOUT, "", "cannot connect to %s: timed out", ctx->addr);
	return ps_err_stick(ctx, PS_ERR_IO, "", "cannot connect to %s: %s", ctx->addr,
			    ps_io_strerror(err, buf, sizeof buf));
}

static int open_unix(ps_ctx *ctx, const struct ps_addr *a, const struct ps_deadline *d)
{
	struct sockaddr_un sun;
	int fd, err;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
	fd = socket(AF_UNIX, SOCK_FLAGS, 0);
	if (fd < 0)
		return connect_fail(ctx, errno);
	if (connect_to(fd, (const struct sockaddr *)&sun, sizeof sun, d) < 0) {
		err = errno;
		close(fd);
		return connect_fail(ctx, err);
	}
	return fd;
}

/* Tries one address getaddrinfo gave. Returns the socket, or -1 with errno. */
static int open_tcp_one(const struct addrinfo *ai, const struct ps_deadline *d)
{
	int fd, err, one = 1;

	fd = socket(ai->ai_family, SOCK_FLAGS, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect_to(fd, ai->ai_addr, ai->ai_addrlen, d) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	/* Requests are written whole; Nagle would only hold them back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int open_tcp(ps_ctx *ctx, const struct ps_addr *a, const struct ps_deadline *d)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, err = ECONNREFUSED, r;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(a->host, a->port, &hints, &res);
	if (r != 0) {
		if (r == EAI_SYSTEM)
			return connect_fail(ctx, errno);
		return ps_err_stick(ctx, PS_ERR_IO, "", "cannot resolve %s: %s", a->host, gai_strerror(r));
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = open_tcp_one(ai, d);
		if (fd < 0)
			err = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return connect_fail(ctx, err);
	return fd;
}

/* Reports a handshake read or write that came up short: got >= 0 is an
 * early EOF, else err says what went wrong. */
static int hs_io_fail(ps_ctx *ctx, ssize_t got, int err, const char *doing)
{
	char buf[128];

	if (got >= 0)
		return ps_err_stick(ctx, PS_ERR_EOF, "", "daemon at %s closed the connection during the handshake (%s)",
				    ctx->addr, doing);
	if (err == ETIMEDOUT)
		return ps_err_stick(ctx, PS_ERR_TIMEOUT, "", "handshake with %s timed out (%s)", ctx->addr, doing);
	return ps_err_stick(ctx, PS_ERR_IO, "", "handshake with %s failed (%s): %s", ctx->addr, doing,
			    ps_io_strerror(err, buf, sizeof buf));
}

static int hs_read(ps_ctx *ctx, int fd, uint8_t *p, size_t n, const struct ps_deadline *d, const char *doing)
{
	ssize_t got = ps_io_read_full(fd, p, n, d);

	if (got == (ssize_t)n)
		return 0;
	return hs_io_fail(ctx, got, errno, doing);
}

/* The code of a refusal's "Code: text", or "" when the text does not
 * start with one. */
static void refusal_code(const char *text, char code[PS_ERRCODE_MAX])
{
	size_t n = strcspn(text, ": ");

	code[0] = '\0';
	if (text[n] == ':' && n > 0 && n < PS_ERRCODE_MAX) {
		memcpy(code, text, n);
		code[n] = '\0';
	}
}

/* The daemon refused us with "PSNO" len16 "Code: text"; head holds the
 * first 6 bytes. Reads the text and reports it as an auth error whose code
 * is the refusal's ("AuthFailed", "LimitExceeded", ...). */
static int hs_refused(ps_ctx *ctx, int fd, const uint8_t head[6], const struct ps_deadline *d)
{
	char text[PS_HS_REFUSE_TEXT_MAX + 1], code[PS_ERRCODE_MAX];
	size_t len = (size_t)head[4] << 8 | head[5];

	if (len > PS_HS_REFUSE_TEXT_MAX)
		return ps_err_stick(ctx, PS_ERR_PROTOCOL, "", "daemon at %s sent an oversized refusal", ctx->addr);
	if (hs_read(ctx, fd, (uint8_t *)text, len, d, "reading the refusal") < 0)
		return -1;
	text[len] = '\0';
	refusal_code(text, code);
	return ps_err_stick(ctx, PS_ERR_AUTH, code, "%s", text);
}

/* Reads the server hello (or a refusal in its place) into shello. */
static int hs_server_hello(ps_ctx *ctx, int fd, uint8_t shello[PS_HS_SERVER_HELLO], const struct ps_deadline *d)
{
	uint16_t version = 0;
	int r;

	/* Six bytes tell a hello from a refusal; read no further than the
	 * record goes. */
	if (hs_read(ctx, fd, shello, 6, d, "waiting for the server hello") < 0)
		return -1;
	if (memcmp(shello, "PSNO", 4) == 0)
		return hs_refused(ctx, fd, shello, d);
	if (hs_read(ctx, fd, shello + 6, PS_HS_SERVER_HELLO - 6, d, "reading the server hello") < 0)
		return -1;
	r = ps_hs_check_server_hello(shello, &version);
	if (r == -2)
		return ps_err_stick(ctx, PS_ERR_PROTOCOL, "", "daemon at %s speaks protocol version %u, this library %u",
				    ctx->addr, (unsigned)version, (unsigned)PS_PROTO_VERSION);
	if (r < 0)
		return ps_err_stick(ctx, PS_ERR_PROTOCOL, "", "%s is not a procshare daemon", ctx->addr);
	return 0;
}

/* Reads the daemon's verdict on our hello and checks its own proof. */
static int hs_verdict(ps_ctx *ctx, int fd, const uint8_t shello[PS_HS_SERVER_HELLO],
		      const uint8_t chello[PS_HS_CLIENT_HELLO], const struct ps_deadline *d)
{
	uint8_t rec[PS_HS_ACCEPT];
	int r;

	if (hs_read(ctx, fd, rec, 6, d, "waiting for the daemon's verdict") < 0)
		return -1;
	if (memcmp(rec, "PSNO", 4) == 0)
		return hs_refused(ctx, fd, rec, d);
	if (hs_read(ctx, fd, rec + 6, sizeof rec - 6, d, "reading the accept record") < 0)
		return -1;
	r = ps_hs_check_accept(rec, shello, chello, ctx->key, ctx->keylen);
	if (r == -3)
		return ps_err_stick(ctx, PS_ERR_AUTH, "AuthFailed", "daemon at %s failed to prove it knows the authkey",
				    ctx->addr);
	if (r < 0)
		return ps_err_stick(ctx, PS_ERR_PROTOCOL, "", "daemon at %s sent a malformed handshake record",
				    ctx->addr);
	return 0;
}

/* Decides from our mode and the daemon's offer whether this session is
 * encrypted (PROTOCOL.md 2.1). Returns 1 or 0, or -1 when our mode cannot
 * be met. */
static int hs_want_encryption(ps_ctx *ctx, const struct ps_addr *a, const uint8_t shello[PS_HS_SERVER_HELLO])
{
	uint16_t offer = ps_hs_flags(shello);
	bool want;

	if (ctx->enc_mode == PS_ENCRYPT_OFF)
		return 0;
	want = ctx->enc_mode == PS_ENCRYPT_ON || a->kind != PS_ADDR_UNIX || (offer & PS_HS_FLAG_ENC_REQUIRED);
	if (!want)
		return 0;
	if (!(offer & PS_HS_FLAG_ENC_OFFER))
		return ps_err_stick(ctx, PS_ERR_AUTH, "EncryptionUnavailable",
				    "daemon at %s does not offer encryption (PROCSHARE_ENCRYPTION=off allows a "
				    "plaintext session)", ctx->addr);
	return 1;
}

static int handshake(ps_ctx *ctx, const struct ps_addr *a, int fd, const struct ps_deadline *d)
{
	uint8_t shello[PS_HS_SERVER_HELLO], chello[PS_HS_CLIENT_HELLO], nonce[PS_HS_NONCE];
	struct iovec iov;
	size_t sent;
	int enc;

	if (hs_server_hello(ctx, fd, shello, d) < 0)
		return -1;
	enc = hs_want_encryption(ctx, a, shello);
	if (enc < 0)
		return -1;
	randombytes_buf(nonce, sizeof nonce);
	ps_hs_client_hello_flags(chello, shello, nonce, enc ? PS_HS_FLAG_ENC : 0, ctx->key, ctx->keylen);
	iov.iov_base = chello;
	iov.iov_len = sizeof chello;
	if (ps_io_send(fd, &iov, 1, d, &sent) < 0)
		return hs_io_fail(ctx, -1, errno, "sending the client hello");
	/* Even an encrypted session waits for the daemon's proof: a request is
	 * never sent to a peer that has not shown it holds the key. */
	if (hs_verdict(ctx, fd, shello, chello, d) < 0)
		return -1;
	ctx->sealed = enc == 1;
	if (ctx->sealed)
		ps_seal_derive(&ctx->tx, &ctx->rx, ctx->key, ctx->keylen, shello, chello);
	return 0;
}

/* Connecting needed a non-blocking socket to keep to its deadline; from
 * now on a reader with no deadline blocks in read() instead of paying for
 * a poll() before every read. */
static int set_blocking(ps_ctx *ctx, int fd)
{
	char buf[128];
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return ps_err_stick(ctx, PS_ERR_IO, "", "cannot set up the socket: %s",
				    ps_io_strerror(errno, buf, sizeof buf));
	return 0;
}

int ps_net_open(ps_ctx *ctx, const struct ps_deadline *d)
{
	struct ps_addr a;
	char why[256];
	int fd;

	if (ps_addr_parse(ctx->addr, &a, why, sizeof why) < 0)
		return ps_err_stick(ctx, PS_ERR_ARG, "", "%s", why);
	if (sodium_init() < 0)
		return ps_err_stick(ctx, PS_ERR_AUTH, "", "libsodium failed to initialise");
	fd = a.kind == PS_ADDR_UNIX ? open_unix(ctx, &a, d) : open_tcp(ctx, &a, d);
	if (fd < 0)
		return -1;
	if (handshake(ctx, &a, fd, d) < 0 || set_blocking(ctx, fd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
