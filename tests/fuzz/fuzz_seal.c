/*
 * Fuzzer for the encrypted-record opener (proto/ps_seal.c): the bytes a
 * peer sends in an encrypted session. The input is used three ways:
 *
 * - as a stream of records from a peer, opened in one go and again fed a
 *   few bytes at a time: both must give the same plaintext and the same
 *   verdict (a record is opened only when whole, lengths are judged from
 *   their 4 bytes alone);
 * - as plaintext, sealed and opened again: it must come back unchanged,
 *   in records of at most PS_SEAL_RECORD_MAX bytes;
 * - that sealed stream with one bit flipped (the position taken from the
 *   input): it must never open past the damaged record.
 *
 * A violation aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ps_buf.h"
#include "ps_hs.h"
#include "ps_seal.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, \
			__FILE__, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The keys of a fixed session (any will do: the fuzzer cannot forge tags). */
static void session(struct ps_seal *c2s, struct ps_seal *s2c)
{
	uint8_t sh[PS_HS_SERVER_HELLO] = "PSRV", ch[PS_HS_CLIENT_HELLO] = "PCLI";

	ps_seal_derive(c2s, s2c, (const uint8_t *)"fuzz-key", 8, sh, ch);
}

/* Opens p[0..n) fed step bytes at a time (0: all at once). */
static int open_stream(const uint8_t *p, size_t n, size_t step, struct ps_buf *out, uint64_t *seq)
{
	struct ps_seal c2s, s2c;
	struct ps_buf in;
	size_t off = 0;
	int r = PS_SEAL_OK;

	session(&c2s, &s2c);
	ps_buf_init(&in);
	while (off < n && r == PS_SEAL_OK) {
		size_t k = step == 0 || n - off < step ? n - off : step;
		CHECK(ps_buf_append(&in, p + off, k) == 0);
		off += k;
		r = ps_seal_open(&c2s, &in, out);
		/* Never more than one partial record waits. */
		CHECK(r != PS_SEAL_OK || ps_buf_avail(&in) < PS_SEAL_HEAD + PS_SEAL_RECORD_MAX + PS_SEAL_TAG);
	}
	*seq = c2s.seq;
	ps_buf_free(&in);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_buf whole, bits, sealed, back;
	struct ps_seal c2s, s2c, r2c, r2s;
	uint64_t seq1, seq2;
	size_t step = size > 0 ? 1 + data[0] % 37 : 1;
	int r1, r2;

	if (sodium_init() < 0)
		abort();
	ps_buf_init(&whole);
	ps_buf_init(&bits);
	r1 = open_stream(data, size, 0, &whole, &seq1);
	r2 = open_stream(data, size, step, &bits, &seq2);
	CHECK(r1 == r2 && seq1 == seq2);
	CHECK(whole.len == bits.len && (whole.len == 0 || memcmp(whole.data, bits.data, whole.len) == 0));
	ps_buf_free(&whole);
	ps_buf_free(&bits);

	/* Round trip of the input as plaintext. */
	session(&c2s, &s2c);
	session(&r2c, &r2s);
	ps_buf_init(&sealed);
	ps_buf_init(&back);
	CHECK(ps_seal_put(&c2s, data, size, &sealed) == 0);
	CHECK(c2s.seq == (size + PS_SEAL_RECORD_MAX - 1) / PS_SEAL_RECORD_MAX);
	{
		struct ps_buf in = sealed;
		in.pos = 0;
		CHECK(ps_seal_open(&r2c, &in, &back) == PS_SEAL_OK);
		CHECK(ps_buf_avail(&in) == 0);
		CHECK(back.len == size && (size == 0 || memcmp(back.data, data, size) == 0));
	}
	/* One flipped bit stops the stream at the damaged record. */
	if (sealed.len > 0) {
		size_t at = size >= 3 ? ((size_t)data[1] << 8 | data[2]) % sealed.len : 0;
		size_t rec = at / (PS_SEAL_RECORD_MAX + PS_SEAL_OVERHEAD);
		struct ps_seal x, y;
		struct ps_buf in = sealed, out;

		in.pos = 0;
		sealed.data[at] ^= (uint8_t)(1u << (size > 3 ? data[3] % 8 : 0));
		session(&x, &y);
		ps_buf_init(&out);
		CHECK(ps_seal_open(&x, &in, &out) != PS_SEAL_OK || ps_buf_avail(&in) > 0);
		CHECK(x.seq <= rec);
		ps_buf_free(&out);
	}
	ps_buf_free(&sealed);
	ps_buf_free(&back);
	return 0;
}
