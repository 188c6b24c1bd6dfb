/*
 * Unit tests of proto/ps_hs.c against proto/vectors/handshake.txt (a
 * transcript computed independently with Python's hmac), and of every way
 * a record can be wrong: key, proofs, reflection, magic, version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_hs.h"
#include "ps_proto.h"
#include "../lib/tvec.h"

struct hs_vec {
	struct tvec *v;
	const uint8_t *key, *snonce, *cnonce, *shello, *chello, *accept, *refuse;
	size_t keylen, refuse_len;
};

static const uint8_t *need(struct tvec *v, const char *name, size_t want)
{
	size_t n;
	const uint8_t *p = tvec_get(v, name, &n);

	if (p == NULL)
		fail_msg("handshake.txt has no %s", name);
	if (want != 0 && n != want)
		fail_msg("handshake.txt: %s has %zu bytes, want %zu", name, n, want);
	return p;
}

static int setup(void **state)
{
	struct hs_vec *h = calloc(1, sizeof *h);

	if (h == NULL)
		return -1;
	h->v = tvec_load("handshake.txt");
	if (h->v == NULL) {
		free(h);
		return -1;
	}
	h->key = tvec_get(h->v, "key", &h->keylen);
	h->refuse = tvec_get(h->v, "refuse", &h->refuse_len);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct hs_vec *h = *state;

	tvec_free(h->v);
	free(h);
	return 0;
}

/* Resolves the fixed-size entries (inside a test, so a bad file fails it). */
static struct hs_vec *vec(void **state)
{
	struct hs_vec *h = *state;

	assert_non_null(h->key);
	assert_int_equal(h->keylen, 9);
	assert_memory_equal(h->key, "test-key!", 9);
	h->snonce = need(h->v, "server_nonce", PS_HS_NONCE);
	h->cnonce = need(h->v, "client_nonce", PS_HS_NONCE);
	h->shello = need(h->v, "server_hello", PS_HS_SERVER_HELLO);
	h->chello = need(h->v, "client_hello", PS_HS_CLIENT_HELLO);
	h->accept = need(h->v, "accept", PS_HS_ACCEPT);
	assert_non_null(h->refuse);
	return h;
}

/* ---- the transcript ---------------------------------------------------------- */

static void test_server_hello_bytes(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t out[PS_HS_SERVER_HELLO];
	uint16_t version = 0;

	ps_hs_server_hello(out, h->snonce);
	assert_memory_equal(out, h->shello, PS_HS_SERVER_HELLO);
	assert_int_equal(ps_hs_check_server_hello(h->shello, &version), 0);
	assert_int_equal(version, PS_PROTO_VERSION);
	assert_int_equal(ps_hs_check_server_hello(h->shello, NULL), 0);
}

static void test_client_hello_bytes(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t out[PS_HS_CLIENT_HELLO];

	ps_hs_client_hello(out, h->shello, h->cnonce, h->key, h->keylen);
	assert_memory_equal(out, h->chello, PS_HS_CLIENT_HELLO);
	assert_int_equal(ps_hs_check_client_hello(h->chello, h->shello, h->key, h->keylen), 0);
}

static void test_accept_bytes(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t out[PS_HS_ACCEPT];

	ps_hs_accept(out, h->shello, h->chello, h->key, h->keylen);
	assert_memory_equal(out, h->accept, PS_HS_ACCEPT);
	assert_int_equal(ps_hs_check_accept(h->accept, h->shello, h->chello, h->key, h->keylen), 0);
}

static void test_refuse_bytes(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t out[PS_HS_REFUSE_MAX];
	size_t n = ps_hs_refuse(out, "AuthFailed", "wrong authkey");

	assert_int_equal(n, h->refuse_len);
	assert_memory_equal(out, h->refuse, n);
}

/* A text over the limit is cut to PS_HS_REFUSE_TEXT_MAX, length included. */
static void test_refuse_long_text(void **state)
{
	uint8_t out[PS_HS_REFUSE_MAX + 16];
	char text[2000];
	size_t n;

	(void)state;
	memset(text, 'a', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	memset(out, 0xee, sizeof out);
	n = ps_hs_refuse(out, "LimitExceeded", text);
	assert_int_equal(n, PS_HS_REFUSE_MAX);
	assert_int_equal(out[4] << 8 | out[5], PS_HS_REFUSE_TEXT_MAX);
	assert_memory_equal(out + 6, "LimitExceeded: aaa", 18);
	/* Nothing written past the record's maximum size. */
	for (size_t k = PS_HS_REFUSE_MAX; k < sizeof out; k++)
		assert_int_equal(out[k], 0xee);
}

/* ---- wrong key --------------------------------------------------------------- */

static void test_wrong_key(void **state)
{
	struct hs_vec *h = vec(state);
	static const uint8_t other[] = "test-key?";
	uint8_t chello[PS_HS_CLIENT_HELLO], accept[PS_HS_ACCEPT];

	/* The server checking the right client hello with another key. */
	assert_int_equal(ps_hs_check_client_hello(h->chello, h->shello, other, 9), -3);
	assert_int_equal(ps_hs_check_client_hello(h->chello, h->shello, h->key, 8), -3);
	assert_int_equal(ps_hs_check_client_hello(h->chello, h->shello, (const uint8_t *)"", 0), -3);
	/* A client with another key: its hello is refused by the real key. */
	ps_hs_client_hello(chello, h->shello, h->cnonce, other, 9);
	assert_int_equal(ps_hs_check_client_hello(chello, h->shello, h->key, h->keylen), -3);
	/* A server with another key: its accept is refused by the client. */
	ps_hs_accept(accept, h->shello, h->chello, other, 9);
	assert_int_equal(ps_hs_check_accept(accept, h->shello, h->chello, h->key, h->keylen), -3);
	assert_int_equal(ps_hs_check_accept(h->accept, h->shello, h->chello, other, 9), -3);
}

/* ---- tampering ---------------------------------------------------------------- */

/* Every bit of the client proof, nonce and flags is covered by the proof. */
static void test_client_hello_bit_flips(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t c[PS_HS_CLIENT_HELLO];

	for (size_t byte = 6; byte < PS_HS_CLIENT_HELLO; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(c, h->chello, sizeof c);
			c[byte] ^= (uint8_t)(1u << bit);
			if (ps_hs_check_client_hello(c, h->shello, h->key, h->keylen) != -3)
				fail_msg("client hello with byte %zu bit %d flipped was not refused as -3", byte, bit);
		}
	}
}

static void test_accept_bit_flips(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t a[PS_HS_ACCEPT];

	for (size_t byte = 4; byte < PS_HS_ACCEPT; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(a, h->accept, sizeof a);
			a[byte] ^= (uint8_t)(1u << bit);
			if (ps_hs_check_accept(a, h->shello, h->chello, h->key, h->keylen) != -3)
				fail_msg("accept with byte %zu bit %d flipped was not refused as -3", byte, bit);
		}
	}
}

/* The proofs bind both hellos: a recorded client hello does not pass
 * against another server nonce, nor an accept against another client
 * hello or server hello. */
static void test_proofs_bind_the_session(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t s2[PS_HS_SERVER_HELLO], c2[PS_HS_CLIENT_HELLO], nonce[PS_HS_NONCE];

	memcpy(nonce, h->snonce, sizeof nonce);
	nonce[31] ^= 1;
	ps_hs_server_hello(s2, nonce);
	assert_int_equal(ps_hs_check_client_hello(h->chello, s2, h->key, h->keylen), -3);
	assert_int_equal(ps_hs_check_accept(h->accept, s2, h->chello, h->key, h->keylen), -3);
	memcpy(nonce, h->cnonce, sizeof nonce);
	nonce[0] ^= 0x80;
	ps_hs_client_hello(c2, h->shello, nonce, h->key, h->keylen);
	assert_int_equal(ps_hs_check_client_hello(c2, h->shello, h->key, h->keylen), 0);
	assert_int_equal(ps_hs_check_accept(h->accept, h->shello, c2, h->key, h->keylen), -3);
}

/* A proof reflected to the other side never passes: the labels differ. */
static void test_reflected_proofs(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t c[PS_HS_CLIENT_HELLO], a[PS_HS_ACCEPT];

	/* A "client" that echoes the server's proof as its own. */
	memcpy(c, h->chello, 40);
	memcpy(c + 40, h->accept + 4, PS_HS_MAC);
	assert_int_equal(ps_hs_check_client_hello(c, h->shello, h->key, h->keylen), -3);
	/* A "server" that echoes the client's proof as its accept. */
	memcpy(a, "PSOK", 4);
	memcpy(a + 4, h->chello + 40, PS_HS_MAC);
	assert_int_equal(ps_hs_check_accept(a, h->shello, h->chello, h->key, h->keylen), -3);
}

/* ---- magic and version --------------------------------------------------------- */

static void test_wrong_magic(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t s[PS_HS_SERVER_HELLO], c[PS_HS_CLIENT_HELLO], a[PS_HS_ACCEPT];

	for (int k = 0; k < 4; k++) {
		memcpy(s, h->shello, sizeof s);
		s[k] ^= 0x20;
		assert_int_equal(ps_hs_check_server_hello(s, NULL), -1);
		memcpy(c, h->chello, sizeof c);
		c[k] ^= 0x20;
		assert_int_equal(ps_hs_check_client_hello(c, h->shello, h->key, h->keylen), -1);
		memcpy(a, h->accept, sizeof a);
		a[k] ^= 0x20;
		assert_int_equal(ps_hs_check_accept(a, h->shello, h->chello, h->key, h->keylen), -1);
	}
	/* One kind of record is not another. */
	memcpy(s, h->chello, sizeof s);
	assert_int_equal(ps_hs_check_server_hello(s, NULL), -1);
	memcpy(c, h->chello, sizeof c);
	memcpy(c, "PSRV", 4);
	assert_int_equal(ps_hs_check_client_hello(c, h->shello, h->key, h->keylen), -1);
	memcpy(a, h->accept, sizeof a);
	memcpy(a, "PSNO", 4);
	assert_int_equal(ps_hs_check_accept(a, h->shello, h->chello, h->key, h->keylen), -1);
}

static void test_wrong_version(void **state)
{
	struct hs_vec *h = vec(state);
	uint8_t s[PS_HS_SERVER_HELLO], c[PS_HS_CLIENT_HELLO];
	static const uint16_t versions[] = { 0, 2, 0x0101, 0xffff };

	for (size_t k = 0; k < sizeof versions / sizeof versions[0]; k++) {
		uint16_t got = 12345;

		memcpy(s, h->shello, sizeof s);
		s[4] = (uint8_t)(versions[k] >> 8);
		s[5] = (uint8_t)versions[k];
		assert_int_equal(ps_hs_check_server_hello(s, &got), -2);
		assert_int_equal(got, versions[k]);
		memcpy(c, h->chello, sizeof c);
		c[4] = s[4];
		c[5] = s[5];
		assert_int_equal(ps_hs_check_client_hello(c, h->shello, h->key, h->keylen), -2);
	}
}

/* A fresh run with other nonces and an empty or long key still agrees with
 * itself (the vectors pin the format; this pins the round trip). */
static void test_round_trip_keys(void **state)
{
	static const size_t keylens[] = { 0, 1, 32, 64, 65, 200 };
	uint8_t key[200], sn[PS_HS_NONCE], cn[PS_HS_NONCE];
	uint8_t s[PS_HS_SERVER_HELLO], c[PS_HS_CLIENT_HELLO], a[PS_HS_ACCEPT];

	(void)state;
	for (size_t k = 0; k < sizeof key; k++)
		key[k] = (uint8_t)(k * 7 + 3);
	memset(sn, 0xab, sizeof sn);
	memset(cn, 0xcd, sizeof cn);
	for (size_t k = 0; k < sizeof keylens / sizeof keylens[0]; k++) {
		size_t kl = keylens[k];

		ps_hs_server_hello(s, sn);
		ps_hs_client_hello(c, s, cn, key, kl);
		assert_int_equal(ps_hs_check_client_hello(c, s, key, kl), 0);
		ps_hs_accept(a, s, c, key, kl);
		assert_int_equal(ps_hs_check_accept(a, s, c, key, kl), 0);
		if (kl > 0) {
			key[kl - 1] ^= 1;
			assert_int_equal(ps_hs_check_client_hello(c, s, key, kl), -3);
			assert_int_equal(ps_hs_check_accept(a, s, c, key, kl), -3);
			key[kl - 1] ^= 1;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_hello_bytes),
		cmocka_unit_test(test_client_hello_bytes),
		cmocka_unit_test(test_accept_bytes),
		cmocka_unit_test(test_refuse_bytes),
		cmocka_unit_test(test_refuse_long_text),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_client_hello_bit_flips),
		cmocka_unit_test(test_accept_bit_flips),
		cmocka_unit_test(test_proofs_bind_the_session),
		cmocka_unit_test(test_reflected_proofs),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_round_trip_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
