/*
 * Fuzzer for the connection state machine as a peer drives it: the
 * daemon's real conn.c (conn_accept, the handshake, splitting requests,
 * fatal errors, draining) over a socketpair, fed the input in chunks the
 * way a socket delivers it; plus the client's parsers of the records a
 * server sends (ps_hs_check_server_hello, ps_hs_check_accept).
 *
 * Input: byte 0 holds flags, the rest is what the peer sends.
 *   bit 0  prefix the stream with a correct client hello (so the fuzzer
 *          reaches the request path behind a valid handshake)
 *   bits 1-3  chunk size selector (1 to 4096 bytes per write)
 *   bit 4  with bit 0: the hello asks for an encrypted session
 *   bit 5  with bit 4: the rest goes raw, not sealed into records (the
 *          daemon must end the session with a sealed error)
 *
 * Invariants, checked per input:
 * - the daemon first sends a server hello, then either an accept whose
 *   proof verifies (only when the client hello was correct) or a refusal;
 * - nothing a peer sends before being accepted reaches the registry: no
 *   object is created and no request is counted;
 * - after the accept, every byte the daemon sends is a well-formed
 *   response or error notification (in an encrypted session, inside
 *   records that open with the session's keys);
 * - nothing leaks once the connection is gone (libFuzzer's leak check).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "fuzz_common.h"
#include "ps_hs.h"
#include "ps_seal.h"

struct peer {
	int fd;
	struct ps_buf in;               /* bytes from the daemon */
	uint8_t shello[PS_HS_SERVER_HELLO];
	int stage;                      /* 0 greeting, 1 verdict, 2 messages, 3 refused */
	bool good_hello;
	uint8_t chello[PS_HS_CLIENT_HELLO];
	bool enc;                       /* an encrypted session */
	struct ps_seal tx, rx;
	struct ps_buf plain;            /* the daemon's records, opened */
};

static void reply_cb(void *arg, int kind, uint32_t msgid, bool error)
{
	(void)arg;
	(void)kind;
	(void)msgid;
	(void)error;
}

/* Reads what the daemon sent and checks it against the stage we are at. */
static void peer_read(struct peer *pr)
{
	uint8_t buf[8192];
	ssize_t r;

	while ((r = read(pr->fd, buf, sizeof buf)) > 0)
		FUZZ_CHECK(ps_buf_append(&pr->in, buf, (size_t)r) == 0);
	for (;;) {
		const uint8_t *p = pr->in.data + pr->in.pos;
		size_t n = ps_buf_avail(&pr->in);

		if (pr->stage == 0) {
			if (n < PS_HS_SERVER_HELLO)
				return;
			uint16_t version;
			FUZZ_CHECK(ps_hs_check_server_hello(p, &version) == 0);
			memcpy(pr->shello, p, PS_HS_SERVER_HELLO);
			ps_buf_consume(&pr->in, PS_HS_SERVER_HELLO);
			pr->stage = 1;
		} else if (pr->stage == 1) {
			if (n < 6)
				return;
			if (memcmp(p, "PSNO", 4) == 0) {
				size_t len = (size_t)p[4] << 8 | p[5];
				FUZZ_CHECK(len <= PS_HS_REFUSE_TEXT_MAX);
				if (n < 6 + len)
					return;
				ps_buf_consume(&pr->in, 6 + len);
				pr->stage = 3;
				continue;
			}
			/* Accepted: only a correct client hello earns it. */
			FUZZ_CHECK(pr->good_hello);
			if (n < PS_HS_ACCEPT)
				return;
			FUZZ_CHECK(ps_hs_check_accept(p, pr->shello, pr->chello, (const uint8_t *)FUZZ_KEY,
						      strlen(FUZZ_KEY)) == 0);
			ps_buf_consume(&pr->in, PS_HS_ACCEPT);
			pr->stage = 2;
		} else if (pr->stage == 2 && pr->enc) {
			/* The daemon's records always open. */
			FUZZ_CHECK(ps_seal_open(&pr->rx, &pr->in, &pr->plain) == PS_SEAL_OK);
			if (ps_buf_avail(&pr->plain) > 0)
				ps_buf_consume(&pr->plain, fuzz_check_replies(pr->plain.data + pr->plain.pos,
									      ps_buf_avail(&pr->plain), reply_cb, NULL));
			return;
		} else if (pr->stage == 2) {
			ps_buf_consume(&pr->in, fuzz_check_replies(p, n, reply_cb, NULL));
			return;
		} else {
			/* Nothing follows a refusal. */
			FUZZ_CHECK(n == 0);
			return;
		}
	}
}

/* Writes p[0..n) in chunks, letting the daemon run between them. */
static void peer_send(struct daemon *d, struct peer *pr, const uint8_t *p, size_t n, size_t chunk)
{
	size_t off = 0;
	int idle = 0;

	while (off < n && idle < 3) {
		size_t k = n - off < chunk ? n - off : chunk;
		ssize_t w = send(pr->fd, p + off, k, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			off += (size_t)w;
			idle = 0;
		} else {
			/* Full socket (the daemon stopped reading) or closed. */
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				break;
			idle++;
		}
		/* One pass reads the chunk; more only when nothing was sent. */
		if (idle > 0)
			fuzz_daemon_run(d);
		else
			event_base_loop(d->base, EVLOOP_NONBLOCK);
		peer_read(pr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct daemon d;
	struct peer pr;
	struct ps_buf sealed;
	size_t chunk;
	int sv[2];

	if (size == 0)
		return 0;
	/* The client's parsers of server records, on the raw bytes. */
	if (size > PS_HS_SERVER_HELLO) {
		uint16_t version;
		uint8_t chello[PS_HS_CLIENT_HELLO] = { 0 };
		ps_hs_check_server_hello(data + 1, &version);
		if (size > PS_HS_ACCEPT)
			ps_hs_check_accept(data + 1, data + 1, chello, data, size > 64 ? 64 : size);
	}
	memset(&pr, 0, sizeof pr);
	pr.good_hello = (data[0] & 1) != 0;
	pr.enc = pr.good_hello && (data[0] & 0x10) != 0;
	chunk = (size_t)1 << (((data[0] >> 1) & 7) + ((data[0] >> 1 & 7) > 3 ? 5 : 0));
	fuzz_daemon_init(&d);
	ps_buf_init(&pr.in);
	ps_buf_init(&pr.plain);
	ps_buf_init(&sealed);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	pr.fd = sv[0];
	conn_accept(&d, sv[1], "fuzz", PS_ENC_OPTIONAL);
	fuzz_daemon_run(&d);
	peer_read(&pr);
	FUZZ_CHECK(pr.stage == 1);
	if (pr.good_hello) {
		uint8_t nonce[PS_HS_NONCE];
		memset(nonce, 0x5a, sizeof nonce);
		ps_hs_client_hello_flags(pr.chello, pr.shello, nonce, pr.enc ? PS_HS_FLAG_ENC : 0,
					 (const uint8_t *)FUZZ_KEY, strlen(FUZZ_KEY));
		if (pr.enc)
			ps_seal_derive(&pr.tx, &pr.rx, (const uint8_t *)FUZZ_KEY, strlen(FUZZ_KEY), pr.shello,
				       pr.chello);
		peer_send(&d, &pr, pr.chello, sizeof pr.chello, chunk);
	} else if (size - 1 >= PS_HS_CLIENT_HELLO) {
		memcpy(pr.chello, data + 1, PS_HS_CLIENT_HELLO);
	}
	if (pr.enc && (data[0] & 0x20) == 0) {
		FUZZ_CHECK(ps_seal_put(&pr.tx, data + 1, size - 1, &sealed) == 0);
		peer_send(&d, &pr, sealed.data, sealed.len, chunk);
	} else {
		peer_send(&d, &pr, data + 1, size - 1, chunk);
	}
	fuzz_daemon_run(&d);
	peer_read(&pr);
	if (!pr.good_hello) {
		FUZZ_CHECK(pr.stage != 2);
		FUZZ_CHECK(d.reg.by_id.count == 0 && d.stats.requests == 0);
	}
	/* The peer hangs up: the daemon reads the EOF and frees it. */
	close(pr.fd);
	fuzz_daemon_run(&d);
	ps_buf_free(&pr.in);
	ps_buf_free(&pr.plain);
	ps_buf_free(&sealed);
	fuzz_daemon_free(&d);
	return 0;
}
