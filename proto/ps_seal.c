/*
 * Session keys and sealed records. See ps_seal.h and PROTOCOL.md 2.2.
 */
#include <string.h>

#include <sodium.h>

#include "ps_seal.h"

#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

void ps_seal_derive(struct ps_seal *c2s, struct ps_seal *s2c, const uint8_t *key, size_t keylen,
		    const uint8_t shello[PS_HS_SERVER_HELLO], const uint8_t chello[PS_HS_CLIENT_HELLO])
{
	crypto_auth_hmacsha256_state st;
	uint8_t secret[crypto_auth_hmacsha256_BYTES];

	/* The secret depends on the key and on both fresh nonces, so no two
	 * sessions share keys; both hellos' flags are in it too. */
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)PS_SEAL_LABEL, strlen(PS_SEAL_LABEL));
	crypto_auth_hmacsha256_update(&st, shello, PS_HS_SERVER_HELLO);
	crypto_auth_hmacsha256_update(&st, chello, PS_HS_CLIENT_HELLO);
	crypto_auth_hmacsha256_final(&st, secret);
	crypto_kdf_derive_from_key(c2s->key, PS_SEAL_KEY, PS_SEAL_ID_C2S, PS_SEAL_KDF_CTX, secret);
	crypto_kdf_derive_from_key(s2c->key, PS_SEAL_KEY, PS_SEAL_ID_S2C, PS_SEAL_KDF_CTX, secret);
	c2s->seq = s2c->seq = 0;
	sodium_memzero(&st, sizeof st);
	sodium_memzero(secret, sizeof secret);
}

void ps_seal_wipe(struct ps_seal *s)
{
	sodium_memzero(s, sizeof *s);
}

/* The nonce of record seq: seq as u64 little-endian, then zeros. */
static void seal_nonce(uint8_t nonce[SEAL_NONCE], uint64_t seq)
{
	memset(nonce, 0, SEAL_NONCE);
	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(seq >> (8 * i));
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Seals the n plaintext bytes already copied to rec + PS_SEAL_HEAD, in
 * place, and writes the record's length field. */
static void seal_in_place(struct ps_seal *s, uint8_t *rec, size_t n)
{
	uint8_t nonce[SEAL_NONCE];
	unsigned long long clen;

	put_u32(rec, (uint32_t)(n + PS_SEAL_TAG));
	seal_nonce(nonce, s->seq++);
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + PS_SEAL_HEAD, &clen, rec + PS_SEAL_HEAD, n, rec,
						   PS_SEAL_HEAD, NULL, nonce, s->key);
}

/* Room for the records carrying n plaintext bytes. */
static size_t sealed_size(size_t n)
{
	size_t records = (n + PS_SEAL_RECORD_MAX - 1) / PS_SEAL_RECORD_MAX;

	return n + records * PS_SEAL_OVERHEAD;
}

int ps_seal_putv(struct ps_seal *s, const struct iovec *iov, int cnt, struct ps_buf *out)
{
	size_t total = 0, vi_off = 0;
	int vi = 0;

	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if (total == 0)
		return 0;
	if (ps_buf_reserve(out, sealed_size(total)) < 0)
		return -1;
	while (total > 0) {
		size_t n = total < PS_SEAL_RECORD_MAX ? total : PS_SEAL_RECORD_MAX, got = 0;
		uint8_t *rec = out->data + out->len;

		/* Gather this record's share of the pieces behind its head. */
		while (got < n) {
			size_t take = iov[vi].iov_len - vi_off;
			if (take > n - got)
				take = n - got;
			memcpy(rec + PS_SEAL_HEAD + got, (const uint8_t *)iov[vi].iov_base + vi_off, take);
			got += take;
			vi_off += take;
			if (vi_off == iov[vi].iov_len) {
				vi++;
				vi_off = 0;
			}
		}
		seal_in_place(s, rec, n);
		out->len += n + PS_SEAL_OVERHEAD;
		total -= n;
	}
	return 0;
}

int ps_seal_put(struct ps_seal *s, const uint8_t *p, size_t n, struct ps_buf *out)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };

	return ps_seal_putv(s, &iov, 1, out);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int ps_seal_open(struct ps_seal *s, struct ps_buf *in, struct ps_buf *out)
{
	uint8_t nonce[SEAL_NONCE];
	unsigned long long mlen;

	while (ps_buf_avail(in) >= PS_SEAL_HEAD) {
		const uint8_t *rec = in->data + in->pos;
		uint32_t len = get_u32(rec);

		/* The length is checked before anything waits for the rest, so
		 * a forged one cannot make us buffer more than one record. */
		if (len < PS_SEAL_TAG || len > PS_SEAL_RECORD_MAX + PS_SEAL_TAG)
			return PS_SEAL_BADLEN;
		if (ps_buf_avail(in) < PS_SEAL_HEAD + (size_t)len)
			break;
		/* One byte more, so that an empty record has somewhere to go
		 * too (no arithmetic on a NULL buffer). */
		if (ps_buf_reserve(out, len - PS_SEAL_TAG + 1) < 0)
			return PS_SEAL_NOMEM;
		seal_nonce(nonce, s->seq);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(out->data + out->len, &mlen, NULL, rec + PS_SEAL_HEAD,
							       len, rec, PS_SEAL_HEAD, nonce, s->key) != 0)
			return PS_SEAL_FORGED;
		s->seq++;
		out->len += (size_t)mlen;
		ps_buf_consume(in, PS_SEAL_HEAD + (size_t)len);
	}
	return PS_SEAL_OK;
}

const char *ps_seal_strerror(int err)
{
	switch (err) {
	case PS_SEAL_OK:
		return "no error";
	case PS_SEAL_NOMEM:
		return "out of memory opening a record";
	case PS_SEAL_BADLEN:
		return "encrypted record length out of range";
	case PS_SEAL_FORGED:
		return "encrypted record failed authentication (tampered, replayed, reordered or corrupted)";
	default:
		return "unknown record error";
	}
}
