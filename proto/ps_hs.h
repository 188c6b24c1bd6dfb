/*
 * The authkey handshake (proto/PROTOCOL.md, "Handshake"): fixed-size binary
 * records exchanged before any MessagePack-RPC message. Mutual
 * challenge-response with HMAC-SHA256 over the authkey: fresh nonces from
 * both sides, a direction label in each proof so one side's proof can never
 * pass as the other's, the protocol version inside the MACed bytes, and
 * constant-time comparison. The key never travels.
 */
#ifndef PS_HS_H
#define PS_HS_H

#include <stddef.h>
#include <stdint.h>

#define PS_HS_NONCE 32
#define PS_HS_MAC 32
#define PS_HS_SERVER_HELLO 40   /* "PSRV" version flags nonce */
#define PS_HS_CLIENT_HELLO 72   /* "PCLI" version flags nonce proof */
#define PS_HS_ACCEPT 36         /* "PSOK" proof */
#define PS_HS_REFUSE_MAX 1030   /* "PSNO" len16 text */
#define PS_HS_REFUSE_TEXT_MAX 1024

#define PS_HS_LABEL_CLIENT "procshare/1 client proof"
#define PS_HS_LABEL_SERVER "procshare/1 server proof"

/* Builds the server hello with the given fresh nonce. */
void ps_hs_server_hello(uint8_t out[PS_HS_SERVER_HELLO], const uint8_t nonce[PS_HS_NONCE]);
/* Checks magic and version of a server hello. Returns 0, or -1 when it is
 * not a procshare server hello, -2 when its version differs from ours
 * (*version gets the server's). */
int ps_hs_check_server_hello(const uint8_t in[PS_HS_SERVER_HELLO], uint16_t *version);

/* Builds the client hello answering shello: client nonce and client proof,
 * with flags 0 (a plaintext session). */
void ps_hs_client_hello(uint8_t out[PS_HS_CLIENT_HELLO], const uint8_t shello[PS_HS_SERVER_HELLO],
			const uint8_t nonce[PS_HS_NONCE], const uint8_t *key, size_t keylen);
/* The same with the given flags (ps_seal.h: PS_HS_FLAG_ENC), which the
 * proof covers. */
void ps_hs_client_hello_flags(uint8_t out[PS_HS_CLIENT_HELLO], const uint8_t shello[PS_HS_SERVER_HELLO],
			      const uint8_t nonce[PS_HS_NONCE], uint16_t flags, const uint8_t *key, size_t keylen);
/* Verifies a client hello against the server hello we sent. Returns 0 when
 * the proof is right, -1 when the record is not a client hello, -2 on a
 * version mismatch, -3 when the proof is wrong (wrong authkey). */
int ps_hs_check_client_hello(const uint8_t chello[PS_HS_CLIENT_HELLO], const uint8_t shello[PS_HS_SERVER_HELLO],
			     const uint8_t *key, size_t keylen);

/* Builds the server's accept record proving the server knows the key too. */
void ps_hs_accept(uint8_t out[PS_HS_ACCEPT], const uint8_t shello[PS_HS_SERVER_HELLO],
		  const uint8_t chello[PS_HS_CLIENT_HELLO], const uint8_t *key, size_t keylen);
/* Verifies an accept record. Returns 0, or -1 when it is not an accept
 * record, -3 when the server's proof is wrong. */
int ps_hs_check_accept(const uint8_t in[PS_HS_ACCEPT], const uint8_t shello[PS_HS_SERVER_HELLO],
		       const uint8_t chello[PS_HS_CLIENT_HELLO], const uint8_t *key, size_t keylen);

/* Builds a refusal record "PSNO" len16 "Code: text"; returns its length. */
size_t ps_hs_refuse(uint8_t out[PS_HS_REFUSE_MAX], const char *code, const char *text);

#endif
