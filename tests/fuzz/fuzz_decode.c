/*
 * Fuzzer for the frame and message decoder: the bytes a peer sends after
 * the handshake. The input is a stream; it is split into messages by
 * ps_mp_scan, once in one go and once fed a few bytes at a time the way a
 * socket delivers it, and each message is taken apart with ps_rpc_decode,
 * its params read one by one and canonicalised with ps_mp_canon.
 *
 * Invariants checked on every input (a violation aborts, which libFuzzer
 * reports as a crash):
 * - the scanner finds the same message boundaries however the stream is
 *   split (it keeps its state at token boundaries);
 * - a complete message's length is what ps_mp_skip says;
 * - a canonical encoding is one complete value of exactly its length,
 *   canonicalising it again changes nothing (idempotence), and walking
 *   it finds as many references as ps_mp_canon counted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_mp.h"
#include "ps_proto.h"
#include "ps_rpc.h"

#define FUZZ_MAX_MSGS 256

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, \
			__FILE__, __LINE__); abort(); } } while (0)

/* Message lengths of the stream p[0..n), scanned in one go. Returns how
 * many were found; *end gets the scanner's verdict on what follows them. */
static size_t split_whole(const uint8_t *p, size_t n, size_t *lens, int *end)
{
	struct ps_mp_scan s;
	size_t off = 0, k = 0, size;
	int r = PS_SCAN_MORE;

	ps_mp_scan_reset(&s);
	while (k < FUZZ_MAX_MSGS && off < n) {
		r = ps_mp_scan(&s, p + off, n - off, PS_MAX_DEPTH, &size);
		if (r != PS_SCAN_DONE)
			break;
		CHECK(size > 0 && size <= n - off);
		lens[k++] = size;
		off += size;
	}
	*end = off == n ? PS_SCAN_MORE : r;
	return k;
}

/* The same, with the buffer growing by step bytes at a time. */
static size_t split_trickle(const uint8_t *p, size_t n, size_t step, size_t *lens, int *end)
{
	struct ps_mp_scan s;
	size_t off = 0, have = 0, k = 0, size;
	int r = PS_SCAN_MORE;

	ps_mp_scan_reset(&s);
	while (k < FUZZ_MAX_MSGS && off < n) {
		if (have < n)
			have = have + step < n ? have + step : n;
		r = ps_mp_scan(&s, p + off, have - off, PS_MAX_DEPTH, &size);
		if (r == PS_SCAN_MORE && have < n)
			continue;
		if (r != PS_SCAN_DONE)
			break;
		lens[k++] = size;
		off += size;
		if (have < off)
			have = off;
	}
	*end = off == n ? PS_SCAN_MORE : r;
	return k;
}

static void count_ref(uint64_t id, void *arg)
{
	(void)id;
	(*(uint32_t *)arg)++;
}

/* Canonicalises one value and checks what the result must satisfy. */
static void check_canon(const uint8_t *v, size_t len, int flags)
{
	struct ps_buf a, b;
	struct ps_canon_info ia, ib;
	uint32_t refs = 0;

	ps_buf_init(&a);
	ps_buf_init(&b);
	if (ps_mp_canon(v, len, flags, &a, &ia) == 0) {
		CHECK(a.len > 0);
		CHECK(ps_mp_skip(a.data, a.len) == a.len);
		CHECK(ps_mp_canon(a.data, a.len, flags, &b, &ib) == 0);
		CHECK(b.len == a.len && memcmp(a.data, b.data, a.len) == 0);
		CHECK(ib.nrefs == ia.nrefs);
		ps_mp_foreach_ref(a.data, a.len, count_ref, &refs);
		CHECK(refs == ia.nrefs);
	} else {
		CHECK(ia.code != PS_OK && ia.msg[0] != '\0');
		CHECK(a.len == 0);
	}
	ps_buf_free(&a);
	ps_buf_free(&b);
}

static void check_message(const uint8_t *p, size_t n)
{
	struct ps_rpc_msg m;
	struct ps_mp_tok t;
	char err[128], code[64], text[256];
	const uint8_t *v;
	size_t len;
	bool msgid_ok;
	int c;

	CHECK(ps_mp_skip(p, n) == n);
	if (ps_rpc_decode(p, n, &m, &msgid_ok, err, sizeof err) < 0) {
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(m.type >= PS_MSG_REQUEST && m.type <= PS_MSG_NOTIFY);
	if (m.type == PS_MSG_RESPONSE) {
		CHECK(m.error >= p && m.error + m.error_len <= p + n);
		CHECK(m.result >= p && m.result + m.result_len <= p + n);
		if (ps_rpc_read_error(m.error, m.error_len, &c, code, sizeof code, text, sizeof text) == 0)
			CHECK(strlen(code) < sizeof code && strlen(text) < sizeof text);
		check_canon(m.result, m.result_len, 0);
		return;
	}
	CHECK(m.method >= p && m.method + m.method_len <= p + n);
	ps_utf8_valid(m.method, m.method_len);
	while (ps_args_next(&m.params, &v, &len) == 0) {
		CHECK(v >= p && v + len <= p + n);
		CHECK(ps_mp_token(v, len, &t) == 1 && t.size <= len);
		check_canon(v, len, 0);
		check_canon(v, len, PS_CANON_KEY);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t whole[FUZZ_MAX_MSGS], trickle[FUZZ_MAX_MSGS];
	size_t nw, nt, off = 0, step;
	int ew, et;

	/* The last byte picks how the trickled copy is split; the rest is
	 * the stream. A copy of exactly the stream's length lets ASan see
	 * any read past its end. */
	if (size == 0)
		return 0;
	step = 1 + data[size - 1] % 16;
	size--;
	uint8_t *p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	nw = split_whole(p, size, whole, &ew);
	nt = split_trickle(p, size, step, trickle, &et);
	CHECK(nw == nt);
	CHECK(ew == et);
	for (size_t i = 0; i < nw; i++) {
		CHECK(whole[i] == trickle[i]);
		check_message(p + off, whole[i]);
		off += whole[i];
	}
	free(p);
	return 0;
}
