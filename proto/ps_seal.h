/*
 * Encrypted sessions (proto/PROTOCOL.md, section 2.2): the keys both sides
 * derive from the authkey and the two hellos, and the records that carry
 * the message stream in XChaCha20-Poly1305 once the handshake is done.
 * Pure computation over buffers, like ps_hs: the daemon and the client do
 * their own I/O and feed the bytes through here.
 *
 * Each direction has its own key and its own record counter, which is the
 * nonce: a record tampered with, replayed, reordered or dropped fails to
 * open, and the session ends.
 */
#ifndef PS_SEAL_H
#define PS_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ps_buf.h"
#include "ps_hs.h"

/* Handshake flags (the u16 at offset 6 of both hellos). Bump
 * PS_PROTO_VERSION if their meaning changes. */
#define PS_HS_FLAG_ENC_OFFER 0x0001u    /* server: this listener can encrypt */
#define PS_HS_FLAG_ENC_REQUIRED 0x0002u /* server: it serves encrypted sessions only */
#define PS_HS_FLAG_ENC 0x0001u          /* client: this session is encrypted */

#define PS_SEAL_KEY 32
#define PS_SEAL_TAG 16
#define PS_SEAL_HEAD 4                  /* u32 big-endian length of the rest */
/* Most plaintext bytes one record carries; bigger writes are split. */
#define PS_SEAL_RECORD_MAX 65536
#define PS_SEAL_OVERHEAD (PS_SEAL_HEAD + PS_SEAL_TAG)

#define PS_SEAL_LABEL "procshare/1 session keys"
#define PS_SEAL_KDF_CTX "procshr1"     /* 8 bytes: the libsodium KDF context */
#define PS_SEAL_ID_C2S 1
#define PS_SEAL_ID_S2C 2

/* One direction of a session. */
struct ps_seal {
	uint8_t key[PS_SEAL_KEY];
	uint64_t seq;           /* number of the next record */
};

/* How a session may be set up, from one side's point of view. */
enum ps_enc_mode {
	PS_ENC_AUTO = 0,        /* client: on for TCP, else only when required */
	PS_ENC_ON = 1,          /* client: always; daemon: "required" */
	PS_ENC_OFF = 2,         /* never */
	PS_ENC_OPTIONAL = 3     /* daemon only: offered, not required */
};

/* Reads the flags of a hello record. */
static inline uint16_t ps_hs_flags(const uint8_t *hello) { return (uint16_t)(hello[6] << 8 | hello[7]); }
/* Sets the flags of a hello record (before its proof is computed). */
static inline void ps_hs_set_flags(uint8_t *hello, uint16_t flags)
{
	hello[6] = (uint8_t)(flags >> 8);
	hello[7] = (uint8_t)(flags & 0xff);
}

/* Derives both directions' keys from the authkey and the two hellos as
 * sent, and starts both counters at 0. */
void ps_seal_derive(struct ps_seal *c2s, struct ps_seal *s2c, const uint8_t *key, size_t keylen,
		    const uint8_t shello[PS_HS_SERVER_HELLO], const uint8_t chello[PS_HS_CLIENT_HELLO]);
/* Forgets a direction's key. */
void ps_seal_wipe(struct ps_seal *s);

/* Appends the plaintext p[0..n) to out as records of at most
 * PS_SEAL_RECORD_MAX bytes each (nothing when n is 0). Returns 0, or -1 on
 * OOM with out and s unchanged. */
int ps_seal_put(struct ps_seal *s, const uint8_t *p, size_t n, struct ps_buf *out);
/* The same for the concatenation of iov[0..cnt). */
int ps_seal_putv(struct ps_seal *s, const struct iovec *iov, int cnt, struct ps_buf *out);

/* Why a record could not be opened. */
enum ps_seal_err {
	PS_SEAL_OK = 0,
	PS_SEAL_NOMEM = -1,
	PS_SEAL_BADLEN = -2,    /* length field out of range */
	PS_SEAL_FORGED = -3     /* failed authentication: tampered, replayed, reordered, wrong key */
};

/* Opens every complete record at the front of in, appending its plaintext
 * to out and consuming it from in; a partial record stays in in. Returns
 * PS_SEAL_OK, or an error (the session is then over: nothing after the
 * bad record can be trusted). */
int ps_seal_open(struct ps_seal *s, struct ps_buf *in, struct ps_buf *out);
/* A sentence saying what an enum ps_seal_err means. */
const char *ps_seal_strerror(int err);

#endif
