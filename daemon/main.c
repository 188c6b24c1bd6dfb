/*
 * procshared: start-up, configuration from flags, the authkey, signals and
 * clean shutdown. The only file with mutable globals (none so far).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "conn.h"
#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "ps_proto.h"

#define MAX_LISTEN 16
#define DEFAULT_MAX_CONNS 4096
#define AUTHKEY_MAX (64 * 1024)

struct options {
	const char *listen[MAX_LISTEN];
	int nlisten;
	const char *authkey_file;
	int ready_fd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: procshared [options]\n"
		"  -l, --listen ADDR           listen on ADDR (repeatable): unix:/path, /path,\n"
		"                              tcp://host:port, host:port, [v6addr]:port\n"
		"                              (default: unix:RUNDIR/procshared.sock)\n"
		"  -k, --authkey-file PATH     authkey file (mode 0600; one trailing newline ignored)\n"
		"                              default: $PROCSHARE_AUTHKEY, else RUNDIR/authkey,\n"
		"                              generated when missing\n"
		"      --max-message BYTES     largest message accepted or sent (default %u)\n"
		"      --max-connections N     simultaneous connections (default %u)\n"
		"      --handshake-timeout MS  time allowed to authenticate (default %u)\n"
		"      --log-level LEVEL       error, warn, info (default) or debug\n"
		"      --ready-fd FD           write \"READY\\n\" to FD once listening\n"
		"  -h, --help                  this text\n"
		"  -V, --version               print the version\n"
		"RUNDIR is $XDG_RUNTIME_DIR/procshare, /run/procshare for root, else /tmp/procshare-UID.\n",
		PS_MAX_MESSAGE_DEFAULT, DEFAULT_MAX_CONNS, PS_HANDSHAKE_TIMEOUT_MS);
}

static int parse_size(const char *s, const char *what, size_t min, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > (1ull << 32)) {
		log_error("%s: '%s' is not a number between %zu and 4294967296", what, s, min);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

/* The private runtime directory: created 0700, and refused when another
 * user could read or replace what is in it. */
static int rundir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, len, "%s/procshare", xdg);
	else if (geteuid() == 0)
		snprintf(out, len, "/run/procshare");
	else
		snprintf(out, len, "/tmp/procshare-%u", (unsigned)geteuid());
	if (mkdir(out, 0700) < 0 && errno != EEXIST) {
		log_error("mkdir %s: %s", out, strerror(errno));
		return -1;
	}
	if (lstat(out, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077)) {
		log_error("%s must be a directory owned by uid %u with mode 0700", out, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

/* Reads a key file: refused when group or others may read it. */
static int read_key(const char *path, struct daemon *d)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("authkey file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 0077)) {
		log_error("authkey file %s is accessible by group or others; chmod 600 it", path);
		close(fd);
		return -1;
	}
	d->key = malloc(AUTHKEY_MAX);
	if (d->key == NULL) {
		close(fd);
		return -1;
	}
	n = read(fd, d->key, AUTHKEY_MAX);
	close(fd);
	if (n > 0 && d->key[n - 1] == '\n')
		n--;
	if (n > 0 && d->key[n - 1] == '\r')
		n--;
	if (n <= 0) {
		log_error("authkey file %s is empty or unreadable", path);
		return -1;
	}
	d->keylen = (size_t)n;
	return 0;
}

/* Writes a fresh random key (64 hex digits) to path with mode 0600. */
static int make_key(const char *path)
{
	uint8_t raw[32];
	char hex[65];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		log_error("create %s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
	hex[64] = '\n';
	if (write(fd, hex, sizeof hex) != (ssize_t)sizeof hex) {
		close(fd);
		return -1;
	}
	close(fd);
	log_info("generated a new authkey in %s", path);
	return 0;
}

static int load_key(struct daemon *d, const struct options *o, const char *dir)
{
	const char *env = getenv("PROCSHARE_AUTHKEY");
	char path[300];

	if (o->authkey_file != NULL)
		return read_key(o->authkey_file, d);
	if (env != NULL && env[0] != '\0') {
		d->keylen = strlen(env);
		d->key = malloc(d->keylen);
		if (d->key == NULL)
			return -1;
		memcpy(d->key, env, d->keylen);
		return 0;
	}
	snprintf(path, sizeof path, "%s/authkey", dir);
	if (access(path, F_OK) != 0 && make_key(path) < 0)
		return -1;
	if (read_key(path, d) < 0)
		return -1;
	printf("export PROCSHARE_AUTHKEY_FILE=%s\n", path);
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o, struct daemon *d)
{
	enum { O_MAXMSG = 256, O_MAXCONN, O_HSTIMEOUT, O_LOGLEVEL, O_READYFD };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "authkey-file", required_argument, NULL, 'k' },
		{ "max-message", required_argument, NULL, O_MAXMSG },
		{ "max-connections", required_argument, NULL, O_MAXCONN },
		{ "handshake-timeout", required_argument, NULL, O_HSTIMEOUT },
		{ "log-level", required_argument, NULL, O_LOGLEVEL },
		{ "ready-fd", required_argument, NULL, O_READYFD },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	size_t v;
	int opt, level;

	while ((opt = getopt_long(argc, argv, "l:k:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (o->nlisten == MAX_LISTEN) {
				log_error("--listen: at most %d addresses", MAX_LISTEN);
				return -1;
			}
			o->listen[o->nlisten++] = optarg;
			break;
		case 'k': o->authkey_file = optarg; break;
		case O_MAXMSG:
			if (parse_size(optarg, "--max-message", PS_MAX_MESSAGE_MIN, &d->cfg.max_message) < 0)
				return -1;
			break;
		case O_MAXCONN:
			if (parse_size(optarg, "--max-connections", 1, &d->cfg.max_conns) < 0)
				return -1;
			break;
		case O_HSTIMEOUT:
			if (parse_size(optarg, "--handshake-timeout", 1, &v) < 0 || v > 3600000) {
				log_error("--handshake-timeout: 1 to 3600000 ms");
				return -1;
			}
			d->cfg.handshake_ms = (int)v;
			break;
		case O_LOGLEVEL:
			level = log_parse_level(optarg);
			if (level < 0) {
				log_error("--log-level: '%s' is not error, warn, info or debug", optarg);
				return -1;
			}
			log_set_level((enum log_level)level);
			break;
		case O_READYFD:
			if (parse_size(optarg, "--ready-fd", 0, &v) < 0 || v > 65535)
				return -1;
			o->ready_fd = (int)v;
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("procshared %s (protocol %d)\n", PS_VERSION, PS_PROTO_VERSION); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(d->base);
}

static void daemon_free(struct daemon *d)
{
	listen_free_all(d);
	while (!TAILQ_EMPTY(&d->conns))
		conn_shutdown(TAILQ_FIRST(&d->conns));
	registry_free(&d->reg);
	if (d->key != NULL)
		sodium_memzero(d->key, d->keylen);
	free(d->key);
	if (d->base != NULL)
		event_base_free(d->base);
}

int main(int argc, char **argv)
{
	struct daemon d;
	struct options o = { .ready_fd = -1 };
	struct event *sigs[2] = { NULL, NULL };
	char dir[256], defaddr[300];
	int status = 1;

	memset(&d, 0, sizeof d);
	TAILQ_INIT(&d.conns);
	d.cfg.max_message = PS_MAX_MESSAGE_DEFAULT;
	d.cfg.max_conns = DEFAULT_MAX_CONNS;
	d.cfg.handshake_ms = PS_HANDSHAKE_TIMEOUT_MS;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &o, &d) < 0)
		return 2;
	d.cfg.max_backlog = 4 * d.cfg.max_message;
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (registry_init(&d.reg) < 0)
		return 1;
	d.base = event_base_new();
	if (d.base == NULL)
		goto out;
	if ((o.nlisten == 0 || o.authkey_file == NULL) && rundir(dir, sizeof dir) < 0)
		goto out;
	if (load_key(&d, &o, dir) < 0)
		goto out;
	if (o.nlisten == 0) {
		snprintf(defaddr, sizeof defaddr, "unix:%s/procshared.sock", dir);
		o.listen[o.nlisten++] = defaddr;
		printf("export PROCSHARE_ADDRESS=%s\n", defaddr);
	}
	for (int i = 0; i < o.nlisten; i++)
		if (listen_add(&d, o.listen[i]) < 0)
			goto out;
	sigs[0] = evsignal_new(d.base, SIGTERM, signal_cb, &d);
	sigs[1] = evsignal_new(d.base, SIGINT, signal_cb, &d);
	if (sigs[0] == NULL || sigs[1] == NULL || event_add(sigs[0], NULL) < 0 || event_add(sigs[1], NULL) < 0)
		goto out;
	log_info("procshared %s ready (protocol %d)", PS_VERSION, PS_PROTO_VERSION);
	if (o.ready_fd >= 0) {
		if (write(o.ready_fd, "READY\n", 6) != 6)
			log_warn("--ready-fd %d: %s", o.ready_fd, strerror(errno));
		close(o.ready_fd);
	}
	if (event_base_dispatch(d.base) < 0)
		goto out;
	status = 0;
out:
	for (int i = 0; i < 2; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	daemon_free(&d);
	log_info("stopped");
	return status;
}
