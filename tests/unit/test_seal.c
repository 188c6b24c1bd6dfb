/*
 * Unit tests of proto/ps_seal.c against proto/vectors/session.txt (keys
 * and records computed independently with Python's hmac and hashlib and
 * libsodium through ctypes), and of every way a record can be wrong:
 * tampered, replayed, reordered, reflected, cut short, mis-sized.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ps_hs.h"
#include "ps_seal.h"
#include "../lib/tvec.h"

static const uint8_t *need(const struct tvec *v, const char *name, size_t *len)
{
	const uint8_t *p = tvec_get(v, name, len);

	if (p == NULL)
		fail_msg("session.txt has no %s", name);
	return p;
}

static int setup(void **state)
{
	struct tvec *v = tvec_load("session.txt");

	if (v == NULL || sodium_init() < 0)
		return -1;
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	tvec_free(*state);
	return 0;
}

/* Both directions' keys from the vectors' key and hellos. */
static void derive(const struct tvec *v, struct ps_seal *c2s, struct ps_seal *s2c)
{
	size_t kl, n;
	const uint8_t *key = need(v, "key", &kl);
	const uint8_t *sh = need(v, "server_hello", &n);
	const uint8_t *ch = need(v, "client_hello", &n);

	ps_seal_derive(c2s, s2c, key, kl, sh, ch);
}

/* ---- the vectors --------------------------------------------------------------- */

/* The client hello with the ENC flag and its accept, byte for byte: the
 * flags are inside both proofs. */
static void test_hellos_with_flags(void **state)
{
	const struct tvec *v = *state;
	size_t kl, n;
	const uint8_t *key = need(v, "key", &kl), *sh = need(v, "server_hello", &n);
	const uint8_t *ch = need(v, "client_hello", &n), *cn = need(v, "client_nonce", &n);
	const uint8_t *acc = need(v, "accept", &n), *sn = need(v, "server_nonce", &n);
	uint8_t s[PS_HS_SERVER_HELLO], c[PS_HS_CLIENT_HELLO], a[PS_HS_ACCEPT];

	ps_hs_server_hello(s, sn);
	ps_hs_set_flags(s, PS_HS_FLAG_ENC_OFFER | PS_HS_FLAG_ENC_REQUIRED);
	assert_memory_equal(s, sh, PS_HS_SERVER_HELLO);
	assert_int_equal(ps_hs_flags(sh), 3);
	ps_hs_client_hello_flags(c, sh, cn, PS_HS_FLAG_ENC, key, kl);
	assert_memory_equal(c, ch, PS_HS_CLIENT_HELLO);
	assert_int_equal(ps_hs_check_client_hello(ch, sh, key, kl), 0);
	ps_hs_accept(a, sh, ch, key, kl);
	assert_memory_equal(a, acc, PS_HS_ACCEPT);
	/* A man in the middle who strips the server's flags: the proof the
	 * client computes over what it saw does not verify against the
	 * hello the server sent. */
	ps_hs_set_flags(s, 0);
	ps_hs_client_hello_flags(c, s, cn, 0, key, kl);
	assert_int_equal(ps_hs_check_client_hello(c, sh, key, kl), -3);
	/* One who clears the client's flag after the proof was made. */
	memcpy(c, ch, sizeof c);
	ps_hs_set_flags(c, 0);
	assert_int_equal(ps_hs_check_client_hello(c, sh, key, kl), -3);
}

static void test_keys(void **state)
{
	const struct tvec *v = *state;
	struct ps_seal c2s, s2c;
	size_t n;

	derive(v, &c2s, &s2c);
	assert_memory_equal(c2s.key, need(v, "key_c2s", &n), PS_SEAL_KEY);
	assert_int_equal(n, PS_SEAL_KEY);
	assert_memory_equal(s2c.key, need(v, "key_s2c", &n), PS_SEAL_KEY);
	assert_int_equal(c2s.seq, 0);
	assert_int_equal(s2c.seq, 0);
}

static void check_sealed(const struct tvec *v, struct ps_seal *s, const char *plain, const char *rec)
{
	struct ps_buf out;
	size_t pl = 0, rl;
	const uint8_t *p = plain != NULL ? need(v, plain, &pl) : (const uint8_t *)"";
	const uint8_t *r = need(v, rec, &rl);

	ps_buf_init(&out);
	assert_int_equal(ps_seal_put(s, p, pl, &out), 0);
	if (pl == 0) {
		/* Nothing to seal makes no record; the vector's empty record
		 * is built by hand to check that it opens. */
		assert_int_equal(out.len, 0);
	} else {
		assert_int_equal(out.len, rl);
		assert_memory_equal(out.data, r, rl);
	}
	ps_buf_free(&out);
}

static void test_records_sealed(void **state)
{
	const struct tvec *v = *state;
	struct ps_seal c2s, s2c;

	derive(v, &c2s, &s2c);
	check_sealed(v, &c2s, "plain_c2s_0", "c2s_0");
	check_sealed(v, &c2s, "plain_c2s_1", "c2s_1");
	assert_int_equal(c2s.seq, 2);
	check_sealed(v, &s2c, "plain_s2c_0", "s2c_0");
	assert_int_equal(s2c.seq, 1);
}

/* Opens rec with s into out; returns what ps_seal_open says. */
static int open_rec(struct ps_seal *s, const uint8_t *rec, size_t n, struct ps_buf *out)
{
	struct ps_buf in;
	int r;

	ps_buf_init(&in);
	assert_int_equal(ps_buf_append(&in, rec, n), 0);
	r = ps_seal_open(s, &in, out);
	ps_buf_free(&in);
	return r;
}

static void test_records_opened(void **state)
{
	const struct tvec *v = *state;
	struct ps_seal c2s, s2c;
	struct ps_buf in, out;
	size_t n0, n1, n2, p0, p1;
	const uint8_t *r0 = need(v, "c2s_0", &n0), *r1 = need(v, "c2s_1", &n1), *r2 = need(v, "c2s_2", &n2);
	const uint8_t *pl0 = need(v, "plain_c2s_0", &p0), *pl1 = need(v, "plain_c2s_1", &p1);

	derive(v, &c2s, &s2c);
	/* Three records arriving together, the last one empty. */
	ps_buf_init(&in);
	ps_buf_init(&out);
	ps_buf_append(&in, r0, n0);
	ps_buf_append(&in, r1, n1);
	ps_buf_append(&in, r2, n2);
	assert_int_equal(ps_seal_open(&c2s, &in, &out), PS_SEAL_OK);
	assert_int_equal(ps_buf_avail(&in), 0);
	assert_int_equal(c2s.seq, 3);
	assert_int_equal(out.len, p0 + p1);
	assert_memory_equal(out.data, pl0, p0);
	assert_memory_equal(out.data + p0, pl1, p1);
	ps_buf_free(&in);
	ps_buf_free(&out);
}

/* A record comes in pieces: nothing is opened until it is whole. */
static void test_partial_record_waits(void **state)
{
	const struct tvec *v = *state;
	struct ps_seal c2s, s2c;
	struct ps_buf in, out;
	size_t n, p;
	const uint8_t *r = need(v, "c2s_0", &n), *pl = need(v, "plain_c2s_0", &p);

	derive(v, &c2s, &s2c);
	ps_buf_init(&in);
	ps_buf_init(&out);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ps_buf_avail(&in), i);
		ps_buf_append(&in, r + i, 1);
		assert_int_equal(ps_seal_open(&c2s, &in, &out), PS_SEAL_OK);
		assert_int_equal(out.len, i + 1 == n ? p : 0);
	}
	assert_memory_equal(out.data, pl, p);
	assert_int_equal(ps_buf_avail(&in), 0);
	ps_buf_free(&in);
	ps_buf_free(&out);
}

static void test_tampered_replayed_reordered_reflected(void **state)
{
	const struct tvec *v = *state;
	struct ps_seal c2s, s2c;
	struct ps_buf out;
	size_t n0, n1, nt;
	const uint8_t *r0 = need(v, "c2s_0", &n0), *r1 = need(v, "c2s_1", &n1), *t = need(v, "tampered", &nt);

	ps_buf_init(&out);
	/* Tampered: one flipped bit of the ciphertext. */
	derive(v, &c2s, &s2c);
	assert_int_equal(open_rec(&c2s, r0, n0, &out), PS_SEAL_OK);
	assert_int_equal(open_rec(&c2s, t, nt, &out), PS_SEAL_FORGED);
	assert_int_equal(c2s.seq, 1);
	/* Replayed: record 0 again where record 1 is due. */
	derive(v, &c2s, &s2c);
	assert_int_equal(open_rec(&c2s, r0, n0, &out), PS_SEAL_OK);
	assert_int_equal(open_rec(&c2s, r0, n0, &out), PS_SEAL_FORGED);
	/* Reordered: record 1 first. */
	derive(v, &c2s, &s2c);
	assert_int_equal(open_rec(&c2s, r1, n1, &out), PS_SEAL_FORGED);
	/* Reflected: the client's record fed back to it as the daemon's. */
	derive(v, &c2s, &s2c);
	assert_int_equal(open_rec(&s2c, r0, n0, &out), PS_SEAL_FORGED);
	/* Tampered length field: the length is authenticated data. */
	{
		uint8_t copy[64];
		assert_true(n1 <= sizeof copy);
		memcpy(copy, r1, n1);
		copy[3]--;
		derive(v, &c2s, &s2c);
		assert_int_equal(open_rec(&c2s, r0, n0, &out), PS_SEAL_OK);
		assert_int_equal(open_rec(&c2s, copy, n1 - 1, &out), PS_SEAL_FORGED);
	}
	/* A wrong authkey derives other keys. */
	{
		size_t n;
		struct ps_seal w1, w2;
		ps_seal_derive(&w1, &w2, (const uint8_t *)"other-key", 9, need(v, "server_hello", &n),
			       need(v, "client_hello", &n));
		assert_int_equal(open_rec(&w1, r0, n0, &out), PS_SEAL_FORGED);
	}
	ps_buf_free(&out);
}

/* Lengths out of range are refused from the 4 length bytes alone, before
 * anything waits for (or buffers) the rest. */
static void test_length_limits(void **state)
{
	struct ps_seal s;
	struct ps_buf out;
	static const uint8_t too_short[4] = { 0, 0, 0, 15 };
	static const uint8_t too_long[4] = { 0, 1, 0, 0x11 };   /* 65,553 */
	static const uint8_t longest[4] = { 0, 1, 0, 0x10 };    /* 65,552: waits for the rest */

	(void)state;
	memset(&s, 0, sizeof s);
	ps_buf_init(&out);
	assert_int_equal(open_rec(&s, too_short, 4, &out), PS_SEAL_BADLEN);
	assert_int_equal(open_rec(&s, too_long, 4, &out), PS_SEAL_BADLEN);
	assert_int_equal(open_rec(&s, longest, 4, &out), PS_SEAL_OK);
	assert_int_equal(out.len, 0);
	assert_non_null(strstr(ps_seal_strerror(PS_SEAL_BADLEN), "length"));
	assert_non_null(strstr(ps_seal_strerror(PS_SEAL_FORGED), "authentication"));
	ps_buf_free(&out);
}

/* Big writes split into records of PS_SEAL_RECORD_MAX bytes (N and N+1),
 * and iovecs are gathered across record boundaries. */
static void test_split_and_gather(void **state)
{
	const struct tvec *v = *state;
	static const size_t sizes[] = { 1, PS_SEAL_RECORD_MAX - 1, PS_SEAL_RECORD_MAX, PS_SEAL_RECORD_MAX + 1,
					3 * PS_SEAL_RECORD_MAX + 17 };
	size_t big = 3 * PS_SEAL_RECORD_MAX + 17;
	uint8_t *p = malloc(big);

	assert_non_null(p);
	for (size_t i = 0; i < big; i++)
		p[i] = (uint8_t)(i * 7 + i / 251);
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k], records = (n + PS_SEAL_RECORD_MAX - 1) / PS_SEAL_RECORD_MAX;
		struct ps_seal c2s, s2c, r2, r3;
		struct ps_buf sealed, in, out;
		struct iovec iov[3] = { { p, n / 3 }, { p + n / 3, n / 2 - n / 3 }, { p + n / 2, n - n / 2 } };

		derive(v, &c2s, &s2c);
		derive(v, &r2, &r3);
		ps_buf_init(&sealed);
		ps_buf_init(&out);
		assert_int_equal(ps_seal_putv(&c2s, iov, 3, &sealed), 0);
		assert_int_equal(c2s.seq, records);
		assert_int_equal(sealed.len, n + records * PS_SEAL_OVERHEAD);
		in = sealed;
		assert_int_equal(ps_seal_open(&r2, &in, &out), PS_SEAL_OK);
		assert_int_equal(out.len, n);
		assert_memory_equal(out.data, p, n);
		ps_buf_free(&in);
		ps_buf_free(&out);
	}
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hellos_with_flags),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_records_sealed),
		cmocka_unit_test(test_records_opened),
		cmocka_unit_test(test_partial_record_waits),
		cmocka_unit_test(test_tampered_replayed_reordered_reflected),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_split_and_gather),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
