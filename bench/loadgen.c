/*
 * loadgen: drives a procshare daemon (or, with --floor, a bare echo
 * server) and prints one line of key=value results:
 *
 *   loadgen -a unix:/run/x.sock -k keyfile -c 16 -P 1 -t get -d 2 -p PID
 *   loadgen: mode=ops engine=loop mix=get conns=16 depth=1 vsize=3 keys=10000
 *            encrypted=0 ops=... secs=... ops_per_sec=... p50_us=... p99_us=...
 *            p999_us=... errors=0 rss_before_kb=... rss_after_kb=...
 *
 * An operation is one request, or a pair for queue (put+get) and lock
 * (acquire+release); its latency runs from its first request's write to
 * its last answer. See bench/README.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "loadgen.h"
#include "procshare.h"

static const char *const op_names[OP_COUNT] = { "get", "set", "append", "queue", "lock", "value", "ping" };

const char *lg_op_name(enum lg_op op)
{
	return op < OP_COUNT ? op_names[op] : "?";
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen [options]\n"
		"  -a, --addr ADDR        daemon address (default $PROCSHARE_ADDRESS)\n"
		"  -k, --keyfile PATH     authkey file (default $PROCSHARE_AUTHKEY_FILE)\n"
		"  -c, --conns N          connections, 1 to %d (default 1)\n"
		"  -P, --depth N          operations in flight per connection, 1 to %d (default 1)\n"
		"  -n, --ops N            run N operations in all ...\n"
		"  -d, --duration SECS    ... or run for SECS seconds (default 2)\n"
		"  -t, --mix LIST         operations: get,set,append,queue,lock,value,ping, each\n"
		"                         with an optional weight (get=9,set=1); default get\n"
		"      --engine E         loop (one epoll loop, default) or lib (libprocshare's\n"
		"                         blocking API, a thread per connection, depth 1)\n"
		"      --encryption M     auto (default: encrypted over TCP; over a Unix socket\n"
		"                         only when the daemon requires it), on or off\n"
		"      --value-size N     bytes of the str value set/appended/put (default %d)\n"
		"      --keys N           keys get and set pick from (default %d)\n"
		"  -p, --pid PID          the daemon's pid, for its RSS before and after\n"
		"      --fill N           memory benchmark: N int->str entries in one dict\n"
		"      --idle N           connection benchmark: N idle connections held open\n"
		"      --floor            bare ping-pong over Unix sockets (no daemon)\n"
		"      --msgsize BYTES    ping-pong message size (default 36)\n",
		LG_MAX_CONNS, LG_MAX_DEPTH, LG_VSIZE, LG_KEYSPACE);
}

static int parse_mix(struct lg_opts *o, const char *s)
{
	char buf[128], *save = NULL;

	snprintf(o->mix, sizeof o->mix, "%s", s);
	snprintf(buf, sizeof buf, "%s", s);
	o->nsched = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int w = 1, op;
		if (eq != NULL) {
			*eq = '\0';
			w = atoi(eq + 1);
		}
		for (op = 0; op < OP_COUNT && strcmp(tok, op_names[op]) != 0; op++)
			;
		if (op == OP_COUNT || w < 1 || o->nsched + w > LG_SCHED) {
			fprintf(stderr, "loadgen: bad operation mix '%s'\n", s);
			return -1;
		}
		while (w-- > 0)
			o->sched[o->nsched++] = (enum lg_op)op;
	}
	return o->nsched > 0 ? 0 : -1;
}

static int parse(int argc, char **argv, struct lg_opts *o)
{
	enum { O_ENGINE = 256, O_FILL, O_IDLE, O_FLOOR, O_MSGSIZE, O_ENC, O_VSIZE, O_KEYS };
	static const struct option lopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "keyfile", required_argument, NULL, 'k' },
		{ "conns", required_argument, NULL, 'c' },
		{ "depth", required_argument, NULL, 'P' },
		{ "ops", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "mix", required_argument, NULL, 't' },
		{ "pid", required_argument, NULL, 'p' },
		{ "engine", required_argument, NULL, O_ENGINE },
		{ "fill", required_argument, NULL, O_FILL },
		{ "idle", required_argument, NULL, O_IDLE },
		{ "floor", no_argument, NULL, O_FLOOR },
		{ "msgsize", required_argument, NULL, O_MSGSIZE },
		{ "encryption", required_argument, NULL, O_ENC },
		{ "value-size", required_argument, NULL, O_VSIZE },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*o = (struct lg_opts){ .addr = getenv("PROCSHARE_ADDRESS"), .keyfile = getenv("PROCSHARE_AUTHKEY_FILE"),
			       .conns = 1, .depth = 1, .secs = 2, .msgsize = 36, .enc = PS_ENCRYPT_AUTO,
			       .keys = LG_KEYSPACE, .vsize = LG_VSIZE };
	parse_mix(o, "get");
	while ((ch = getopt_long(argc, argv, "a:k:c:P:n:d:t:p:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o->addr = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'c': o->conns = atoi(optarg); break;
		case 'P': o->depth = atoi(optarg); break;
		case 'n': o->ops = strtoull(optarg, NULL, 10); break;
		case 'd': o->secs = atof(optarg); break;
		case 't': if (parse_mix(o, optarg) < 0) return -1; break;
		case 'p': o->pid = atoi(optarg); break;
		case O_ENGINE:
			if (strcmp(optarg, "lib") != 0 && strcmp(optarg, "loop") != 0)
				return -1;
			o->lib = strcmp(optarg, "lib") == 0;
			break;
		case O_FILL: o->fill = strtoull(optarg, NULL, 10); break;
		case O_IDLE: o->idle = atoi(optarg); break;
		case O_FLOOR: o->floor = true; break;
		case O_MSGSIZE: o->msgsize = atoi(optarg); break;
		case O_ENC:
			if (strcmp(optarg, "auto") == 0)
				o->enc = PS_ENCRYPT_AUTO;
			else if (strcmp(optarg, "on") == 0)
				o->enc = PS_ENCRYPT_ON;
			else if (strcmp(optarg, "off") == 0)
				o->enc = PS_ENCRYPT_OFF;
			else
				return -1;
			break;
		case O_VSIZE: o->vsize = strtoul(optarg, NULL, 10); break;
		case O_KEYS: o->keys = atoi(optarg); break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (o->conns < 1 || o->conns > LG_MAX_CONNS || o->depth < 1 || o->depth > LG_MAX_DEPTH ||
	    o->secs <= 0 || o->msgsize < 1 || o->idle < 0 || o->idle > LG_MAX_CONNS || optind != argc ||
	    o->keys < 1 || o->vsize > LG_VSIZE_MAX ||
	    (o->lib && o->depth != 1)) {
		fprintf(stderr, "loadgen: invalid arguments\n");
		return -1;
	}
	if (!o->floor && (o->addr == NULL || o->keyfile == NULL)) {
		fprintf(stderr, "loadgen: need -a and -k (or PROCSHARE_ADDRESS and PROCSHARE_AUTHKEY_FILE)\n");
		return -1;
	}
	return 0;
}

/* The value every set, append and put sends: a str of vsize 'x'. */
static int encode_value(struct lg_opts *o)
{
	struct ps_buf b;
	msgpack_packer pk;

	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_str(&pk, o->vsize);
	if (ps_buf_reserve(&b, o->vsize) < 0) {
		ps_buf_free(&b);
		return -1;
	}
	memset(b.data + b.len, 'x', o->vsize);
	b.len += o->vsize;
	o->value = b.data;
	o->value_len = b.len;
	return b.oom ? -1 : 0;
}

/* Many connections need many descriptors: take the hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* CPU time this process has used, in microseconds. */
static double self_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* What the run cost in CPU per operation: the daemon's (from its ticks,
 * when its pid is known) and this client's, in microseconds. The daemon's
 * figure does not move when other work takes a CPU away, as a rate does. */
static void report_cpu(const struct lg_result *res, double c0, double c1)
{
	double hz = (double)sysconf(_SC_CLK_TCK);

	if (res->ops == 0)
		return;
	if (res->srv_ticks >= 0 && hz > 0)
		printf(" srv_cpu_us_per_op=%.3f", (double)res->srv_ticks * 1e6 / hz / (double)res->ops);
	printf(" cli_cpu_us_per_op=%.3f", (c1 - c0) / (double)res->ops);
}

static void report(const struct lg_opts *o, const char *engine, const struct lg_result *res, long before,
		   long after)
{
	printf("loadgen: mode=%s engine=%s mix=%s conns=%d depth=%d vsize=%zu keys=%d encrypted=%d ops=%llu "
	       "secs=%.3f ops_per_sec=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f errors=%llu rss_before_kb=%ld "
	       "rss_after_kb=%ld",
	       o->floor ? "floor" : "ops", engine, o->floor ? "echo" : o->mix, o->conns, o->depth,
	       o->floor ? (size_t)o->msgsize : o->vsize, o->keys, o->floor ? 0 : res->encrypted,
	       (unsigned long long)res->ops, res->secs, res->secs > 0 ? (double)res->ops / res->secs : 0.0,
	       hist_quantile_us(&res->lat, 0.5), hist_quantile_us(&res->lat, 0.99),
	       hist_quantile_us(&res->lat, 0.999), (unsigned long long)res->errors, before, after);
}

int main(int argc, char **argv)
{
	static struct lg_result res;
	struct lg_objs objs = { 0 };
	struct lg_opts o;
	uint8_t *key = NULL;
	size_t keylen = 0;
	long before, after;
	int r;

	if (parse(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	raise_fd_limit();
	if (sodium_init() < 0 || encode_value(&o) < 0) {
		fprintf(stderr, "loadgen: cannot initialise (libsodium, memory)\n");
		return 1;
	}
	res.srv_ticks = -1;
	if (o.floor) {
		double c0 = self_cpu_us();
		r = floor_run(&o, &res);
		report(&o, "bare", &res, -1, -1);
		report_cpu(&res, c0, self_cpu_us());
		printf("\n");
		free(o.value);
		return r == 0 ? 0 : 1;
	}
	key = ps_read_keyfile(o.keyfile, &keylen);
	if (key == NULL) {
		fprintf(stderr, "loadgen: cannot read the key file %s\n", o.keyfile);
		free(o.value);
		return 1;
	}
	if (o.fill > 0)
		r = mem_fill(&o, key, keylen);
	else if (o.idle > 0)
		r = mem_idle(&o, key, keylen);
	else {
		long t0 = -1, t1 = -1;
		double c0 = 0, c1 = 0;

		before = wire_rss_kb(o.pid);
		r = loop_setup(&o, key, keylen, &objs);
		if (r == 0) {
			t0 = wire_cpu_ticks(o.pid);
			c0 = self_cpu_us();
			r = o.lib ? lib_run(&o, key, keylen, &res) : loop_run(&o, key, keylen, &objs, &res);
			c1 = self_cpu_us();
			t1 = wire_cpu_ticks(o.pid);
			if (t0 >= 0 && t1 >= t0)
				res.srv_ticks = t1 - t0;
		}
		after = wire_rss_kb(o.pid);
		if (r == 0) {
			report(&o, o.lib ? "lib" : "loop", &res, before, after);
			report_cpu(&res, c0, c1);
			printf("\n");
		}
		if (res.errors > 0)
			r = -1;
	}
	free(objs.locks);
	free(key);
	free(o.value);
	return r == 0 ? 0 : 1;
}
