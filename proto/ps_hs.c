/*
 * Handshake record building and checking. Pure computation over byte
 * arrays: the daemon and the client do their own I/O.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ps_hs.h"
#include "ps_proto.h"

static void put_head(uint8_t *out, const char magic[4])
{
	memcpy(out, magic, 4);
	out[4] = (uint8_t)(PS_PROTO_VERSION >> 8);
	out[5] = (uint8_t)(PS_PROTO_VERSION & 0xff);
	out[6] = 0; /* flags: set by the caller where it has any */
	out[7] = 0;
}

static int check_head(const uint8_t *in, const char magic[4], uint16_t *version)
{
	uint16_t v;

	if (memcmp(in, magic, 4) != 0)
		return -1;
	v = (uint16_t)(in[4] << 8 | in[5]);
	if (version)
		*version = v;
	if (v != PS_PROTO_VERSION)
		return -2;
	return 0;
}

/* HMAC-SHA256(key, label || a || b). */
static void proof(uint8_t mac[PS_HS_MAC], const char *label, const uint8_t *a, size_t alen,
		  const uint8_t *b, size_t blen, const uint8_t *key, size_t keylen)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, strlen(label));
	crypto_auth_hmacsha256_update(&st, a, alen);
	crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
}

void ps_hs_server_hello(uint8_t out[PS_HS_SERVER_HELLO], const uint8_t nonce[PS_HS_NONCE])
{
	put_head(out, "PSRV");
	memcpy(out + 8, nonce, PS_HS_NONCE);
}

int ps_hs_check_server_hello(const uint8_t in[PS_HS_SERVER_HELLO], uint16_t *version)
{
	return check_head(in, "PSRV", version);
}

void ps_hs_client_hello(uint8_t out[PS_HS_CLIENT_HELLO], const uint8_t shello[PS_HS_SERVER_HELLO],
			const uint8_t nonce[PS_HS_NONCE], const uint8_t *key, size_t keylen)
{
	ps_hs_client_hello_flags(out, shello, nonce, 0, key, keylen);
}

void ps_hs_client_hello_flags(uint8_t out[PS_HS_CLIENT_HELLO], const uint8_t shello[PS_HS_SERVER_HELLO],
			      const uint8_t nonce[PS_HS_NONCE], uint16_t flags, const uint8_t *key, size_t keylen)
{
	put_head(out, "PCLI");
	out[6] = (uint8_t)(flags >> 8);
	out[7] = (uint8_t)(flags & 0xff);
	memcpy(out + 8, nonce, PS_HS_NONCE);
	proof(out + 40, PS_HS_LABEL_CLIENT, shello, PS_HS_SERVER_HELLO, out, 40, key, keylen);
}

int ps_hs_check_client_hello(const uint8_t chello[PS_HS_CLIENT_HELLO], const uint8_t shello[PS_HS_SERVER_HELLO],
			     const uint8_t *key, size_t keylen)
{
	uint8_t mac[PS_HS_MAC];
	int r = check_head(chello, "PCLI", NULL);

	if (r < 0)
		return r;
	proof(mac, PS_HS_LABEL_CLIENT, shello, PS_HS_SERVER_HELLO, chello, 40, key, keylen);
	r = crypto_verify_32(mac, chello + 40) == 0 ? 0 : -3;
	sodium_memzero(mac, sizeof mac);
	return r;
}

void ps_hs_accept(uint8_t out[PS_HS_ACCEPT], const uint8_t shello[PS_HS_SERVER_HELLO],
		  const uint8_t chello[PS_HS_CLIENT_HELLO], const uint8_t *key, size_t keylen)
{
	memcpy(out, "PSOK", 4);
	proof(out + 4, PS_HS_LABEL_SERVER, shello, PS_HS_SERVER_HELLO, chello, PS_HS_CLIENT_HELLO, key, keylen);
}

int ps_hs_check_accept(const uint8_t in[PS_HS_ACCEPT], const uint8_t shello[PS_HS_SERVER_HELLO],
		       const uint8_t chello[PS_HS_CLIENT_HELLO], const uint8_t *key, size_t keylen)
{
	uint8_t mac[PS_HS_MAC];
	int r;

	if (memcmp(in, "PSOK", 4) != 0)
		return -1;
	proof(mac, PS_HS_LABEL_SERVER, shello, PS_HS_SERVER_HELLO, chello, PS_HS_CLIENT_HELLO, key, keylen);
	r = crypto_verify_32(mac, in + 4) == 0 ? 0 : -3;
	sodium_memzero(mac, sizeof mac);
	return r;
}

size_t ps_hs_refuse(uint8_t out[PS_HS_REFUSE_MAX], const char *code, const char *text)
{
	char tmp[PS_HS_REFUSE_TEXT_MAX + 1];
	int n = snprintf(tmp, sizeof tmp, "%s: %s", code, text);
	size_t len = n < 0 ? 0 : (size_t)n > PS_HS_REFUSE_TEXT_MAX ? PS_HS_REFUSE_TEXT_MAX : (size_t)n;

	memcpy(out, "PSNO", 4);
	out[4] = (uint8_t)(len >> 8);
	out[5] = (uint8_t)(len & 0xff);
	memcpy(out + 6, tmp, len);
	return 6 + len;
}
