/*
 * Memory benchmarks. Fill: one dict loaded with N entries, int key ->
 * short str ("v0000042"), sent pipelined; the daemon's RSS growth per
 * entry. Idle: N connections authenticated, each used once (a ping) and
 * then held open doing nothing; the daemon's RSS growth per connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadgen.h"
#include "ps_rpc.h"

#define MEM_WINDOW 1024         /* requests in flight while filling */

/* Reads n answers; counts the errors. */
static int drain(struct wire *w, struct ps_buf *in, struct ps_mp_scan *scan, int n, uint64_t *errors)
{
	for (int i = 0; i < n; i++) {
		size_t size;
		uint32_t msgid;
		bool is_error;

		if (wire_next_msg(w, in, scan, true, &size) < 0 ||
		    wire_reply(in->data + in->pos, size, &is_error, &msgid, NULL, NULL) < 0)
			return -1;
		*errors += is_error;
		ps_buf_consume(in, size);
	}
	return 0;
}

static int fill_entries(struct wire *w, uint64_t dict, uint64_t n, uint64_t *errors)
{
	struct ps_buf out, in;
	struct ps_mp_scan scan;
	msgpack_packer pk;
	uint32_t msgid = 1;
	uint64_t i = 0;
	int r = 0;

	ps_buf_init(&out);
	ps_buf_init(&in);
	ps_mp_scan_reset(&scan);
	ps_mp_packer(&pk, &out);
	while (r == 0 && i < n) {
		int batch = 0;
		out.len = out.pos = 0;
		for (; i < n && batch < MEM_WINDOW; i++, batch++) {
			char v[16];
			int vl = snprintf(v, sizeof v, "v%07llu", (unsigned long long)i);
			ps_rpc_put_request(&pk, msgid++, "dict.set", 3);
			msgpack_pack_uint64(&pk, dict);
			msgpack_pack_uint64(&pk, i);
			msgpack_pack_str(&pk, (size_t)vl);
			msgpack_pack_str_body(&pk, v, (size_t)vl);
		}
		if (out.oom || wire_send_all(w, &out) < 0 || drain(w, &in, &scan, batch, errors) < 0)
			r = -1;
	}
	ps_buf_free(&out);
	ps_buf_free(&in);
	return r;
}

int mem_fill(const struct lg_opts *o, const uint8_t *key, size_t keylen)
{
	static const uint8_t dict_type[] = { 0xa4, 'd', 'i', 'c', 't' };
	uint8_t idp[9];
	uint64_t dict, len = 0, errors = 0;
	long before, after;
	struct wire w;
	int r = -1;

	if (wire_connect(&w, o->addr, key, keylen, o->enc) < 0)
		return -1;
	/* Anonymous: it dies with this connection, so rounds do not add up. */
	if (wire_call(&w, "create", dict_type, sizeof dict_type, 1, &dict) < 0)
		goto out;
	idp[0] = 0xcf;
	for (int i = 0; i < 8; i++)
		idp[1 + i] = (uint8_t)(dict >> (56 - 8 * i));
	before = wire_rss_kb(o->pid);
	if (fill_entries(&w, dict, o->fill, &errors) < 0 || wire_call(&w, "dict.len", idp, sizeof idp, 1, &len) < 0)
		goto out;
	after = wire_rss_kb(o->pid);
	printf("loadgen: mode=fill entries=%llu len=%llu errors=%llu rss_before_kb=%ld rss_after_kb=%ld "
	       "bytes_per_entry=%.1f\n", (unsigned long long)o->fill, (unsigned long long)len,
	       (unsigned long long)errors, before, after,
	       before > 0 && after > 0 ? (double)(after - before) * 1024.0 / (double)o->fill : 0.0);
	r = errors == 0 && len == o->fill ? 0 : -1;
out:
	wire_close(&w);
	return r;
}

int mem_idle(const struct lg_opts *o, const uint8_t *key, size_t keylen)
{
	struct wire *ws = calloc((size_t)o->idle, sizeof *ws);
	long before, after;
	int n = 0, r = -1;

	if (ws == NULL)
		return -1;
	before = wire_rss_kb(o->pid);
	for (; n < o->idle; n++) {
		if (wire_connect(&ws[n], o->addr, key, keylen, o->enc) < 0 ||
		    wire_call(&ws[n], "ping", NULL, 0, 0, NULL) < 0) {
			fprintf(stderr, "loadgen: connection %d of %d failed\n", n + 1, o->idle);
			wire_close(&ws[n]);
			goto out;
		}
	}
	after = wire_rss_kb(o->pid);
	printf("loadgen: mode=idle conns=%d encrypted=%d rss_before_kb=%ld rss_after_kb=%ld bytes_per_conn=%.1f\n",
	       o->idle, ws[0].sealed, before, after, before > 0 && after > 0 ? (double)(after - before) * 1024.0 / (double)o->idle : 0.0);
	r = 0;
out:
	for (int i = 0; i < n; i++)
		wire_close(&ws[i]);
	free(ws);
	return r;
}
