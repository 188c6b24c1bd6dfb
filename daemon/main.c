/*
 * procshared: start-up, signals and clean shutdown. Settings come from
 * config.c, the authkey from authkey.c, systemd's protocols from
 * systemd.c. Everything that depends on the configuration is checked
 * before the first socket is made, so a bad setting never leaves a
 * half-started daemon behind. The only file with mutable globals (none
 * so far: the server's state is on main's stack).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "authkey.h"
#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "ps_proto.h"
#include "stats.h"
#include "systemd.h"

enum { SIG_TERM, SIG_INT, SIG_HUP, NSIGS };

struct server {
	struct daemon d;
	struct settings s;
	struct authkey key;
	int npassed;            /* sockets passed by systemd */
	struct event *sigs[NSIGS];
};

/* ---- checks made before anything starts ---- */

/* A passed TCP socket other machines can reach needs an explicit key,
 * exactly as a configured one does. */
static int check_passed_exposure(int npassed)
{
	struct sockaddr_storage ss;
	socklen_t len;

	for (int fd = SYSTEMD_FDS_START; fd < SYSTEMD_FDS_START + npassed; fd++) {
		len = sizeof ss;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && !config_sockaddr_loopback((struct sockaddr *)&ss)) {
			log_error("passed socket (fd %d) can be reached from other machines and needs an explicit authkey "
				  "(authkey-file, a systemd credential or PROCSHARE_AUTHKEY)", fd);
			return -1;
		}
	}
	return 0;
}

static int check_exposure(const struct server *srv)
{
	if (authkey_explicit(&srv->key))
		return 0;
	return srv->npassed > 0 ? check_passed_exposure(srv->npassed) : config_check_exposure(&srv->s);
}

/* The log file must be writable, or creatable in its directory. */
static int check_log_file(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (access(path, W_OK) == 0)
		return 0;
	if (errno == ENOENT) {
		if (slash == NULL)
			snprintf(dir, sizeof dir, ".");
		else if (slash == path)
			snprintf(dir, sizeof dir, "/");
		else
			snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		if (access(dir, W_OK) == 0)
			return 0;
	}
	log_error("log-file %s: %s", path, strerror(errno));
	return -1;
}

static const char *enc_name(int mode)
{
	return mode == PS_ENC_ON ? "required" : mode == PS_ENC_OPTIONAL ? "optional" : "off";
}

static void print_settings(const struct server *srv)
{
	const struct settings *s = &srv->s;
	char origin[PATH_MAX + 32];

	printf("procshared: configuration OK\n");
	printf("config file: %s\n", s->config_path != NULL ? s->config_path : "none");
	for (int i = 0; i < s->nlisten; i++)
		printf("listen: %s\n", s->listen[i]);
	if (s->nlisten == 0)
		printf("listen: unix:RUNDIR/procshared.sock (the default)\n");
	printf("authkey: %s%s\n", authkey_origin(&srv->key, origin, sizeof origin),
	       srv->key.key == NULL ? " (made at start-up)" : "");
	printf("max-message: %zu\nmax-connections: %zu\n", s->max_message, s->max_conns);
	if (s->max_memory != 0)
		printf("max-memory: %zu\n", s->max_memory);
	else
		printf("max-memory: no limit\n");
	printf("max-items: %zu\nbacklog-timeout: %d\n", s->max_items, s->backlog_ms);
	printf("handshake-timeout: %d\nsocket-mode: %04o\n", s->handshake_ms, s->socket_mode);
	printf("tcp-encryption: %s\nunix-encryption: %s\n", enc_name(s->tcp_encryption),
	       enc_name(s->unix_encryption));
	printf("tcp-keepalive: %d,%d,%d\n", s->keepalive[0], s->keepalive[1], s->keepalive[2]);
	printf("log-file: %s\n", s->log_file != NULL ? s->log_file : "stderr");
}

/* --check-config: everything start-up checks, without starting. */
static int check_config(struct server *srv)
{
	if (authkey_load(&srv->key, srv->s.authkey_file, false) < 0 || check_exposure(srv) < 0 ||
	    (srv->s.log_file != NULL && check_log_file(srv->s.log_file) < 0))
		return CONFIG_EXIT_USAGE;
	print_settings(srv);
	return 0;
}

/* ---- signals ---- */

static void stop(struct server *srv, int sig)
{
	log_info("signal %d: shutting down", sig);
	systemd_notify("STOPPING=1\nSTATUS=stopping");
	/* No new connections while the others are told and closed. */
	listen_free_all(&srv->d);
	event_base_loopbreak(srv->d.base);
}

/* SIGHUP: a new log file (after logrotate), and the authkey read again
 * for connections made from now on. */
static void reload(struct server *srv)
{
	char origin[PATH_MAX + 32];

	if (log_reopen() < 0)
		log_error("reopening log-file %s: %s; still writing to the old file", srv->s.log_file, strerror(errno));
	authkey_origin(&srv->key, origin, sizeof origin);
	if (authkey_reload(&srv->key) < 0) {
		log_error("SIGHUP: kept the previous authkey");
		systemd_notify("STATUS=serving; authkey reload failed, previous key kept");
		return;
	}
	srv->d.key = srv->key.key;
	srv->d.keylen = srv->key.len;
	log_info("SIGHUP: log reopened, authkey reloaded from %s", origin);
	systemd_notify("STATUS=serving; authkey reloaded");
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	if (sig == SIGHUP)
		reload(srv);
	else
		stop(srv, (int)sig);
}

static int add_signals(struct server *srv)
{
	static const int nums[NSIGS] = { [SIG_TERM] = SIGTERM, [SIG_INT] = SIGINT, [SIG_HUP] = SIGHUP };

	for (int i = 0; i < NSIGS; i++) {
		srv->sigs[i] = evsignal_new(srv->d.base, nums[i], signal_cb, srv);
		if (srv->sigs[i] == NULL || event_add(srv->sigs[i], NULL) < 0)
			return -1;
	}
	return 0;
}

/* ---- start-up ---- */

/* The key, the passed sockets and whether the key may guard them. */
static int prepare(struct server *srv)
{
	if (authkey_load(&srv->key, srv->s.authkey_file, true) < 0)
		return CONFIG_EXIT_USAGE;
	if (srv->key.source == AUTHKEY_GENERATED)
		printf("export PROCSHARE_AUTHKEY_FILE=%s\n", srv->key.path);
	srv->npassed = systemd_listen_fds();
	if (srv->npassed < 0 || check_exposure(srv) < 0)
		return CONFIG_EXIT_USAGE;
	if (srv->s.log_file != NULL && check_log_file(srv->s.log_file) < 0)
		return CONFIG_EXIT_USAGE;
	return 0;
}

static void configure(struct server *srv)
{
	struct daemon *d = &srv->d;

	d->cfg.max_message = srv->s.max_message;
	d->cfg.max_conns = srv->s.max_conns;
	d->cfg.handshake_ms = srv->s.handshake_ms;
	d->cfg.max_backlog = 4 * srv->s.max_message;
	d->cfg.socket_mode = srv->s.socket_mode;
	d->reg.max_bytes = srv->s.max_memory;
	d->cfg.max_items = srv->s.max_items;
	d->cfg.backlog_ms = srv->s.backlog_ms;
	d->cfg.tcp_encryption = srv->s.tcp_encryption;
	d->cfg.unix_encryption = srv->s.unix_encryption;
	memcpy(d->cfg.keepalive, srv->s.keepalive, sizeof d->cfg.keepalive);
	d->key = srv->key.key;
	d->keylen = srv->key.len;
}

/* Passed sockets when systemd gave some, else the configured addresses,
 * else the default one. */
static int open_listeners(struct server *srv)
{
	char dir[256], addr[300];

	for (int i = 0; i < srv->npassed; i++)
		if (listen_add_fd(&srv->d, SYSTEMD_FDS_START + i) < 0)
			return -1;
	if (srv->npassed > 0) {
		if (srv->s.nlisten > 0)
			log_info("socket activation: the configured listen addresses are not used");
		return 0;
	}
	for (int i = 0; i < srv->s.nlisten; i++)
		if (listen_add(&srv->d, srv->s.listen[i]) < 0)
			return -1;
	if (srv->s.nlisten > 0)
		return 0;
	if (config_rundir(dir, sizeof dir, true) < 0)
		return -1;
	snprintf(addr, sizeof addr, "unix:%s/procshared.sock", dir);
	if (listen_add(&srv->d, addr) < 0)
		return -1;
	printf("export PROCSHARE_ADDRESS=%s\n", addr);
	return 0;
}

/* Timers run on libevent's default clock, the coarse monotonic one: it may
 * lag by a scheduler tick, so a parked call's timer checks the precise
 * clock before it times the call out (wait.c). The precise-timer flag
 * would cost a timerfd_settime system call on every loop turn, a quarter
 * of the calls a pipelined batch of requests costs. */
static struct event_base *new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* Each connection is a descriptor: take the hard limit on descriptors, so
 * that max-connections is not cut short by the soft one (often 1024). */
static void raise_fd_limit(size_t max_conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max_conns + 64)
		log_warn("the descriptor limit (%llu) is below max-connections (%zu): raise it (ulimit -n, LimitNOFILE=)",
			 (unsigned long long)rl.rlim_cur, max_conns);
}

static int start(struct server *srv)
{
	struct daemon *d = &srv->d;

	TAILQ_INIT(&d->conns);
	if (registry_init(&d->reg) < 0)
		return -1;
	configure(srv);
	raise_fd_limit(d->cfg.max_conns);
	d->base = new_base();
	if (d->base == NULL || add_signals(srv) < 0 || stats_start(d) < 0) {
		log_error("out of memory starting the event loop");
		return -1;
	}
	return open_listeners(srv);
}

/* Listening: tell whoever waits for us. */
static void announce(struct server *srv)
{
	int fd = srv->s.ready_fd;

	log_info("procshared %s ready (protocol %d)", PS_VERSION, PS_PROTO_VERSION);
	if (fd >= 0) {
		if (write(fd, "READY\n", 6) != 6)
			log_warn("--ready-fd %d: %s", fd, strerror(errno));
		close(fd);
	}
	systemd_notifyf("READY=1\nSTATUS=serving (%s)", srv->npassed > 0 ? "socket activation" : "listening");
}

static void server_free(struct server *srv)
{
	struct daemon *d = &srv->d;

	listen_free_all(d);
	while (!TAILQ_EMPTY(&d->conns))
		conn_shutdown(TAILQ_FIRST(&d->conns));
	stats_stop(d);
	registry_free(&d->reg);
	for (int i = 0; i < NSIGS; i++)
		if (srv->sigs[i] != NULL)
			event_free(srv->sigs[i]);
	if (d->base != NULL)
		event_base_free(d->base);
	authkey_free(&srv->key);
	config_free(&srv->s);
	log_close();
}

static int serve(struct server *srv)
{
	int status;

	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		return CONFIG_EXIT_FAILURE;
	}
	status = prepare(srv);
	if (status != 0)
		return status;
	if (start(srv) < 0)
		return CONFIG_EXIT_FAILURE;
	/* From here on lines go to the log file; start-up errors above went
	 * to stderr, where whoever started us is looking. */
	if (srv->s.log_file != NULL && log_open(srv->s.log_file) < 0) {
		log_error("log-file %s: %s", srv->s.log_file, strerror(errno));
		return CONFIG_EXIT_USAGE;
	}
	announce(srv);
	if (event_base_dispatch(srv->d.base) < 0)
		return CONFIG_EXIT_FAILURE;
	log_info("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	struct server srv;
	int status;

	memset(&srv, 0, sizeof srv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	switch (config_parse(&srv.s, argc, argv)) {
	case CONFIG_DONE:
		config_free(&srv.s);
		return 0;
	case CONFIG_BAD:
		config_free(&srv.s);
		return CONFIG_EXIT_USAGE;
	default:
		break;
	}
	log_set_level((enum log_level)srv.s.log_level);
	if (srv.s.check_only)
		status = check_config(&srv);
	else
		status = serve(&srv);
	server_free(&srv);
	return status;
}
