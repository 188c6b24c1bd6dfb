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
static int drain(int fd, struct ps_buf *in, struct ps_mp_scan *scan, int n, uint64_t *errors)
{
	for (int i = 0; i < n; i++) {
		size_t size;
		uint32_t msgid;
		bool is_error;

		if (wire_next_msg(fd, in, scan, true, &size) < 0 ||
		    wire_reply(in->data + in->pos, size, &is_error, &msgid, NULL, NULL) < 0)
			return -1;
		*errors += is_error;
		ps_buf_consume(in, size);
	}
	return 0;
}

static int fill_entries(int fd, uint64_t dict, uint64_t n, uint64_t *errors)
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
		if (out.oom || wire_write_all(fd, out.data, out.len) < 0 || drain(fd, &in, &scan, batch, errors) < 0)
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
	int fd = wire_connect(o->addr, key, keylen), r = -1;

	if (fd < 0)
		return -1;
	/* Anonymous: it dies with this connection, so rounds do not add up. */
	if (wire_call(fd, "create", dict_type, sizeof dict_type, 1, &dict) < 0)
		goto out;
	idp[0] = 0xcf;
	for (int i = 0; i < 8; i++)
		idp[1 + i] = (uint8_t)(dict >> (56 - 8 * i));
	before = wire_rss_kb(o->pid);
	if (fill_entries(fd, dict, o->fill, &errors) < 0 || wire_call(fd, "dict.len", idp, sizeof idp, 1, &len) < 0)
		goto out;
	after = wire_rss_kb(o->pid);
	printf("loadgen: mode=fill entries=%llu len=%llu errors=%llu rss_before_kb=%ld rss_after_kb=%ld "
	       "bytes_per_entry=%.1f\n", (unsigned long long)o->fill, (unsigned long long)len,
	       (unsigned long long)errors, before, after,
	       before > 0 && after > 0 ? (double)(after - before) * 1024.0 / (double)o->fill : 0.0);
	r = errors == 0 && len == o->fill ? 0 : -1;
out:
	close(fd);
	return r;
}

int mem_idle(const struct lg_opts *o, const uint8_t *key, size_t keylen)
{
	int *fds = calloc((size_t)o->idle, sizeof *fds);
	long before, after;
	int n = 0, r = -1;

	if (fds == NULL)
		return -1;
	before = wire_rss_kb(o->pid);
	for (; n < o->idle; n++) {
		fds[n] = wire_connect(o->addr, key, keylen);
		if (fds[n] < 0 || wire_call(fds[n], "ping", NULL, 0, 0, NULL) < 0) {
			fprintf(stderr, "loadgen: connection %d of %d failed\n", n + 1, o->idle);
			if (fds[n] >= 0)
				close(fds[n]);
			goto out;
		}
	}
	after = wire_rss_kb(o->pid);
	printf("loadgen: mode=idle conns=%d rss_before_kb=%ld rss_after_kb=%ld bytes_per_conn=%.1f\n", o->idle,
	       before, after, before > 0 && after > 0 ? (double)(after - before) * 1024.0 / (double)o->idle : 0.0);
	r = 0;
out:
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return r;
}
