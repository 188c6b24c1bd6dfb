/*
 * Raw connections for protocol tests: a socket driven byte by byte, the
 * handshake done by hand with proto/ps_hs.h, messages built with the
 * proto encoders and read back with a deadline. Test-only code.
 */
#ifndef TRAW_H
#define TRAW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ps_buf.h"
#include "ps_rpc.h"
#include "ps_seal.h"

#define TRAW_TIMEOUT_MS 10000   /* default deadline for an expected reply */

struct traw {
	int fd;
	struct ps_buf in;       /* bytes read and not yet returned */
	uint8_t *msg;           /* the last message read (in a malloc'd copy) */
	size_t msg_len;
	struct ps_rpc_msg m;    /* it, decoded */
	/* An encrypted session: requests are sealed with tx; what is read
	 * goes to cin and is opened with rx into in. */
	bool sealed;
	struct ps_seal tx, rx;
	struct ps_buf cin;
	int open_err;           /* enum ps_seal_err of the last failed open */
	uint8_t shello[PS_HS_SERVER_HELLO];
	uint8_t chello[PS_HS_CLIENT_HELLO];
};

/* Connects to a Unix socket path. Returns 0, or -1 with errno set. */
int traw_connect_unix(struct traw *r, const char *path);
/* Connects to host:port over TCP. Returns 0 or -1. */
int traw_connect_tcp(struct traw *r, const char *host, int port);
/* Closes the socket and frees the buffers. */
void traw_close(struct traw *r);

/* Writes all of p (MSG_NOSIGNAL) as it is, sealed session or not. Returns 0, or -1 with errno set (EPIPE,
 * ECONNRESET once the daemon has closed). */
int traw_send(struct traw *r, const void *p, size_t n);
/* Reads exactly n bytes within timeout_ms. Returns n, fewer at EOF, or -1
 * on an error or at the deadline (errno ETIMEDOUT). */
ssize_t traw_recv(struct traw *r, void *p, size_t n, int timeout_ms);

/* The client side of the handshake with key. Returns 0 when the server
 * accepted; -1 on I/O errors; -2 when the server sent a refusal record,
 * whose text goes to refusal. */
int traw_handshake(struct traw *r, const void *key, size_t keylen, char *refusal, size_t rlen);
/* The same with the client hello's flags (PS_HS_FLAG_ENC: an encrypted
 * session, after which requests are sealed and replies opened). The
 * hellos stay in r->shello and r->chello. */
int traw_handshake_flags(struct traw *r, const void *key, size_t keylen, uint16_t flags, char *refusal,
			 size_t rlen);
/* Builds a request and, in an encrypted session, seals it as the next
 * record (advancing the counter), appending the bytes to out without
 * sending them: tests then send records out of order or twice. Returns 0
 * or -1. */
int traw_build_request(struct traw *r, uint32_t msgid, const char *method, const void *params, size_t plen,
		       struct ps_buf *out);
/* Reads the first 4 bytes the server sends and, if they start a refusal
 * record, its text. Returns 1 for a refusal (text in refusal), 0 for a
 * server hello (its remaining 36 bytes are consumed), -1 otherwise. */
int traw_read_greeting(struct traw *r, char *refusal, size_t rlen, int timeout_ms);

/* Reads the next complete MessagePack message within timeout_ms and
 * decodes it into r->m. Returns 0; -1 at EOF, on an error, at the
 * deadline or when it does not decode (r->msg still holds it then). */
int traw_read_msg(struct traw *r, int timeout_ms);

/* Waits for the peer to close: reads and drops bytes until EOF. Returns 0
 * at EOF (or a reset), -1 at the deadline. */
int traw_wait_eof(struct traw *r, int timeout_ms);

/* Sends a request whose params are the encoded array params[0..plen). */
int traw_request(struct traw *r, uint32_t msgid, const char *method, const void *params, size_t plen);

/* Reads a message and checks that it is the response to msgid. Returns 0
 * when it carries no error; 1 when it carries one (code name in code,
 * message in msg); -1 when no such response came. */
int traw_response(struct traw *r, uint32_t msgid, char *code, size_t clen, char *msg, size_t mlen);

/* Reads a message and checks it is the notification [2, "error",
 * [code, msg]]. Returns 0 with the code name and message, or -1. */
int traw_error_notification(struct traw *r, char *code, size_t clen, char *msg, size_t mlen);

#endif
