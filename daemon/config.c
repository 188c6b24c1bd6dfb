/*
 * Settings from defaults, the configuration file and the command line.
 * One table names every setting; the file and the flags both go through
 * it, so a setting is checked the same way wherever it comes from, and
 * its errors name it the way the operator wrote it ("--max-message" or
 * "procshared.conf:3: max-message").
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "ps_addr.h"
#include "ps_proto.h"
#include "ps_seal.h"

struct setting {
	const char *name;
	int (*set)(struct settings *s, const char *v, const char *where, bool from_file);
	bool flag_only;         /* refused in the file */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: procshared [options]\n"
		"  -c, --config PATH           configuration file (default, which need not\n"
		"                              exist: %s)\n"
		"  -l, --listen ADDR           listen on ADDR (repeatable): unix:/path, /path,\n"
		"                              tcp://host:port, host:port, [v6addr]:port\n"
		"                              (default: unix:RUNDIR/procshared.sock)\n"
		"  -k, --authkey-file PATH     authkey file, mode 0600 (default:\n"
		"                              $CREDENTIALS_DIRECTORY/authkey,\n"
		"                              $PROCSHARE_AUTHKEY, generated RUNDIR/authkey)\n"
		"      --max-message BYTES     largest message in or out (default %u)\n"
		"      --max-connections N     simultaneous connections (default %u)\n"
		"      --max-memory BYTES      bytes of values and buffers (default 0: no limit)\n"
		"      --max-items N           items one container may hold (default %u)\n"
		"      --backlog-timeout MS    time a client may leave its replies unread (default %u)\n"
		"      --handshake-timeout MS  time allowed to authenticate (default %u)\n"
		"      --tcp-encryption MODE   required (default), optional or off\n"
		"      --unix-encryption MODE  required, optional (default) or off\n"
		"      --tcp-keepalive I,P,N   drop a silent TCP peer after I s idle and N\n"
		"                              unanswered probes P s apart (default %d,%d,%d)\n"
		"      --socket-mode MODE      mode of Unix sockets made (default %04o)\n"
		"      --log-level LEVEL       error, warn, info (default) or debug\n"
		"      --log-file PATH         log there instead of stderr (reopened on SIGHUP)\n"
		"      --ready-fd FD           write \"READY\\n\" to FD once listening\n"
		"      --check-config          check the settings and the authkey, then exit\n"
		"  -h, --help                  this text\n"
		"  -V, --version               print the version\n"
		"BYTES take a k, M or G suffix (powers of 1024). RUNDIR is $RUNTIME_DIRECTORY,\n"
		"else $XDG_RUNTIME_DIR/procshare, /run/procshare for root, /tmp/procshare-UID.\n"
		"See procshared(8).\n",
		CONFIG_DEFAULT_PATH, PS_MAX_MESSAGE_DEFAULT, CONFIG_DEFAULT_MAX_CONNS, CONFIG_DEFAULT_MAX_ITEMS,
		CONFIG_DEFAULT_BACKLOG_MS, PS_HANDSHAKE_TIMEOUT_MS, CONFIG_DEFAULT_KEEPIDLE_S,
		CONFIG_DEFAULT_KEEPINTVL_S, CONFIG_DEFAULT_KEEPCNT, CONFIG_DEFAULT_SOCKET_MODE);
}

/* ---- values ---- */

/* A decimal number, with a k/M/G suffix (powers of 1024) when allowed. */
static int parse_number(const char *v, bool suffix, unsigned long long *out)
{
	unsigned long long n, mult = 1;
	char *end;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v)
		return -1;
	if (suffix && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		default: return -1;
		}
		end++;
	}
	if (*end != '\0' || n > ~0ull / mult)
		return -1;
	*out = n * mult;
	return 0;
}

static int set_size(const char *v, const char *where, unsigned long long min, unsigned long long max,
		    size_t *out)
{
	unsigned long long n;

	if (parse_number(v, true, &n) < 0 || n < min || n > max) {
		log_error("%s: '%s' is not a number of bytes between %llu and %llu (suffixes k, M, G)", where, v,
			  min, max);
		return -1;
	}
	*out = (size_t)n;
	return 0;
}

static int set_string(char **field, const char *v, const char *where)
{
	char *copy;

	if (v[0] == '\0') {
		log_error("%s: empty path", where);
		return -1;
	}
	copy = strdup(v);
	if (copy == NULL) {
		log_error("%s: out of memory", where);
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* ---- the settings ---- */

static int set_listen(struct settings *s, const char *v, const char *where, bool from_file)
{
	struct ps_addr a;
	char err[200];
	char *copy;

	/* --listen replaces the file's addresses rather than adding to them. */
	if (!from_file && s->listen_from_file) {
		for (int i = 0; i < s->nlisten; i++)
			free(s->listen[i]);
		s->nlisten = 0;
		s->listen_from_file = false;
	}
	if (ps_addr_parse(v, &a, err, sizeof err) < 0) {
		log_error("%s: %s", where, err);
		return -1;
	}
	if (s->nlisten == CONFIG_MAX_LISTEN) {
		log_error("%s: at most %d addresses", where, CONFIG_MAX_LISTEN);
		return -1;
	}
	copy = strdup(v);
	if (copy == NULL) {
		log_error("%s: out of memory", where);
		return -1;
	}
	s->listen[s->nlisten++] = copy;
	s->listen_from_file = from_file;
	return 0;
}

static int set_authkey_file(struct settings *s, const char *v, const char *where, bool from_file)
{
	(void)from_file;
	return set_string(&s->authkey_file, v, where);
}

static int set_log_file(struct settings *s, const char *v, const char *where, bool from_file)
{
	(void)from_file;
	return set_string(&s->log_file, v, where);
}

static int set_log_level(struct settings *s, const char *v, const char *where, bool from_file)
{
	int level = log_parse_level(v);

	(void)from_file;
	if (level < 0) {
		log_error("%s: '%s' is not error, warn, info or debug", where, v);
		return -1;
	}
	s->log_level = level;
	return 0;
}

static int set_max_message(struct settings *s, const char *v, const char *where, bool from_file)
{
	(void)from_file;
	return set_size(v, where, PS_MAX_MESSAGE_MIN, 1ull << 32, &s->max_message);
}

static int set_max_memory(struct settings *s, const char *v, const char *where, bool from_file)
{
	(void)from_file;
	return set_size(v, where, 0, 1ull << 50, &s->max_memory);
}

static int set_max_conns(struct settings *s, const char *v, const char *where, bool from_file)
{
	unsigned long long n;

	(void)from_file;
	if (parse_number(v, false, &n) < 0 || n < 1 || n > 1000000) {
		log_error("%s: '%s' is not a number between 1 and 1000000", where, v);
		return -1;
	}
	s->max_conns = (size_t)n;
	return 0;
}

static int set_handshake(struct settings *s, const char *v, const char *where, bool from_file)
{
	unsigned long long n;

	(void)from_file;
	if (parse_number(v, false, &n) < 0 || n < 1 || n > CONFIG_MAX_HANDSHAKE_MS) {
		log_error("%s: '%s' is not a number of milliseconds between 1 and %d", where, v,
			  CONFIG_MAX_HANDSHAKE_MS);
		return -1;
	}
	s->handshake_ms = (int)n;
	return 0;
}

/* Hardening limits (SECURITY.md): items per container, and how long a
 * client may leave its replies unread past the backlog limit. */
static int set_max_items(struct settings *s, const char *v, const char *where, bool from_file)
{
	unsigned long long n;

	(void)from_file;
	if (parse_number(v, false, &n) < 0 || n < 1 || n > CONFIG_MAX_ITEMS) {
		log_error("%s: '%s' is not a number between 1 and %llu", where, v, (unsigned long long)CONFIG_MAX_ITEMS);
		return -1;
	}
	s->max_items = (size_t)n;
	return 0;
}

static int set_backlog_timeout(struct settings *s, const char *v, const char *where, bool from_file)
{
	unsigned long long n;

	(void)from_file;
	if (parse_number(v, false, &n) < 0 || n < 1 || n > CONFIG_MAX_HANDSHAKE_MS) {
		log_error("%s: '%s' is not a number of milliseconds between 1 and %d", where, v,
			  CONFIG_MAX_HANDSHAKE_MS);
		return -1;
	}
	s->backlog_ms = (int)n;
	return 0;
}

/* Encryption of a transport's sessions (PROTOCOL.md 2.1). */
static int set_encryption(int *field, const char *v, const char *where)
{
	if (strcmp(v, "required") == 0)
		*field = PS_ENC_ON;
	else if (strcmp(v, "optional") == 0)
		*field = PS_ENC_OPTIONAL;
	else if (strcmp(v, "off") == 0)
		*field = PS_ENC_OFF;
	else {
		log_error("%s: '%s' is not required, optional or off", where, v);
		return -1;
	}
	return 0;
}

static int set_tcp_encryption(struct settings *s, const char *v, const char *where, bool from_file)
{
	(void)from_file;
	return set_encryption(&s->tcp_encryption, v, where);
}

static int set_unix_encryption(struct settings *s, const char *v, const char *where, bool from_file)
{
	(void)from_file;
	return set_encryption(&s->unix_encryption, v, where);
}

/* "IDLE,INTERVAL,COUNT": seconds, seconds, probes. */
static int set_keepalive(struct settings *s, const char *v, const char *where, bool from_file)
{
	static const unsigned max[3] = { 32767, 32767, 127 }; /* what Linux takes */
	char part[16];
	const char *p = v;
	int k[3];

	(void)from_file;
	for (int i = 0; i < 3; i++) {
		size_t n = strcspn(p, ",");
		unsigned long long x;

		if (n == 0 || n >= sizeof part || (i < 2) != (p[n] == ','))
			goto bad;
		memcpy(part, p, n);
		part[n] = '\0';
		if (parse_number(part, false, &x) < 0 || x < 1 || x > max[i])
			goto bad;
		k[i] = (int)x;
		p += n + (i < 2);
	}
	memcpy(s->keepalive, k, sizeof k);
	return 0;
bad:
	log_error("%s: '%s' is not IDLE,INTERVAL,COUNT (seconds 1-32767, seconds 1-32767, probes 1-127)",
		  where, v);
	return -1;
}

static int set_socket_mode(struct settings *s, const char *v, const char *where, bool from_file)
{
	char *end;
	unsigned long m;

	(void)from_file;
	errno = 0;
	m = strtoul(v, &end, 8);
	/* Without read and write for the owner the daemon's own user could
	 * not connect: surely a typo. */
	if (v[0] < '0' || v[0] > '7' || errno != 0 || *end != '\0' || m > 0777 || (m & 0600) != 0600) {
		log_error("%s: '%s' is not an octal mode between 0600 and 0777", where, v);
		return -1;
	}
	s->socket_mode = (unsigned)m;
	return 0;
}

static int set_ready_fd(struct settings *s, const char *v, const char *where, bool from_file)
{
	unsigned long long n;

	(void)from_file;
	if (parse_number(v, false, &n) < 0 || n > 65535) {
		log_error("%s: '%s' is not a file descriptor number (0 to 65535)", where, v);
		return -1;
	}
	s->ready_fd = (int)n;
	return 0;
}

static const struct setting settings_table[] = {
	{ "listen", set_listen, false },
	{ "authkey-file", set_authkey_file, false },
	{ "max-message", set_max_message, false },
	{ "max-connections", set_max_conns, false },
	{ "max-memory", set_max_memory, false },
	{ "max-items", set_max_items, false },
	{ "backlog-timeout", set_backlog_timeout, false },
	{ "handshake-timeout", set_handshake, false },
	{ "tcp-encryption", set_tcp_encryption, false },
	{ "unix-encryption", set_unix_encryption, false },
	{ "tcp-keepalive", set_keepalive, false },
	{ "socket-mode", set_socket_mode, false },
	{ "log-level", set_log_level, false },
	{ "log-file", set_log_file, false },
	{ "ready-fd", set_ready_fd, true },
};

static const struct setting *find_setting(const char *name)
{
	for (size_t i = 0; i < sizeof settings_table / sizeof settings_table[0]; i++)
		if (strcmp(settings_table[i].name, name) == 0)
			return &settings_table[i];
	return NULL;
}

/* ---- the file ---- */

static char *trim(char *p)
{
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return p;
}

/* One line: blank, "# comment", or "name = value". */
static int file_line(struct settings *s, char *line, const char *path, int lineno)
{
	const struct setting *st;
	char where[CONFIG_LINE_MAX / 4], *eq, *name;

	line = trim(line);
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	eq = strchr(line, '=');
	if (eq == NULL) {
		log_error("%s:%d: expected 'setting = value', got '%.60s'", path, lineno, line);
		return -1;
	}
	*eq = '\0';
	name = trim(line);
	st = find_setting(name);
	if (st == NULL) {
		log_error("%s:%d: unknown setting '%.60s'", path, lineno, name);
		return -1;
	}
	if (st->flag_only) {
		log_error("%s:%d: %s can only be given on the command line", path, lineno, name);
		return -1;
	}
	snprintf(where, sizeof where, "%s:%d: %s", path, lineno, name);
	return st->set(s, trim(eq + 1), where, true);
}

/* Reads the file at path. A missing file is an error only when the
 * operator named it. */
static int read_file(struct settings *s, const char *path, bool named)
{
	char line[CONFIG_LINE_MAX + 2];
	int lineno = 0, r = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		if (errno == ENOENT && !named)
			return 0;
		log_error("config file %s: %s", path, strerror(errno));
		return -1;
	}
	while (r == 0 && fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (strlen(line) > CONFIG_LINE_MAX) {
			log_error("%s:%d: line longer than %d bytes", path, lineno, CONFIG_LINE_MAX);
			r = -1;
			break;
		}
		r = file_line(s, line, path, lineno);
	}
	if (r == 0 && ferror(f)) {
		log_error("config file %s: read error", path);
		r = -1;
	}
	fclose(f);
	if (r == 0 && (s->config_path = strdup(path)) == NULL)
		r = -1;
	return r;
}

/* ---- the command line ---- */

enum { O_CONFIG = 'c', O_HELP = 'h', O_VERSION = 'V', O_CHECK = 256, O_SETTING };

static const struct option longopts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "check-config", no_argument, NULL, O_CHECK },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ "listen", required_argument, NULL, 'l' },
	{ "authkey-file", required_argument, NULL, 'k' },
	{ "max-message", required_argument, NULL, O_SETTING },
	{ "max-connections", required_argument, NULL, O_SETTING },
	{ "max-memory", required_argument, NULL, O_SETTING },
	{ "max-items", required_argument, NULL, O_SETTING },
	{ "backlog-timeout", required_argument, NULL, O_SETTING },
	{ "handshake-timeout", required_argument, NULL, O_SETTING },
	{ "tcp-encryption", required_argument, NULL, O_SETTING },
	{ "unix-encryption", required_argument, NULL, O_SETTING },
	{ "tcp-keepalive", required_argument, NULL, O_SETTING },
	{ "socket-mode", required_argument, NULL, O_SETTING },
	{ "log-level", required_argument, NULL, O_SETTING },
	{ "log-file", required_argument, NULL, O_SETTING },
	{ "ready-fd", required_argument, NULL, O_SETTING },
	{ NULL, 0, NULL, 0 },
};

/* First pass: what decides how to read the rest (--config), what ends
 * the run at once (--help, --version), and unknown options. */
static int first_pass(struct settings *s, int argc, char **argv, const char **config, bool *named)
{
	int opt;

	optind = 0;
	opterr = 0;
	/* The leading ':' tells a missing value (':') from an unknown option. */
	while ((opt = getopt_long(argc, argv, ":c:l:k:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case O_CONFIG:
			*config = optarg;
			*named = true;
			break;
		case O_CHECK:
			s->check_only = true;
			break;
		case O_HELP:
			usage(stdout);
			return CONFIG_DONE;
		case O_VERSION:
			printf("procshared %s (protocol %d)\n", PS_VERSION, PS_PROTO_VERSION);
			return CONFIG_DONE;
		case ':':
			log_error("%s needs a value (see procshared --help)", argv[optind - 1]);
			return CONFIG_BAD;
		case '?':
			log_error("unknown option '%s' (see procshared --help)", argv[optind - 1]);
			return CONFIG_BAD;
		default:
			break;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return CONFIG_BAD;
	}
	return CONFIG_RUN;
}

/* Second pass: the settings, over the file's. */
static int second_pass(struct settings *s, int argc, char **argv)
{
	const struct setting *st;
	char where[64];
	int opt, idx;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:l:k:hV", longopts, &idx)) != -1) {
		if (opt == 'l')
			st = find_setting("listen");
		else if (opt == 'k')
			st = find_setting("authkey-file");
		else if (opt == O_SETTING)
			st = find_setting(longopts[idx].name);
		else
			continue;
		snprintf(where, sizeof where, "--%s", st->name);
		if (st->set(s, optarg, where, false) < 0)
			return CONFIG_BAD;
	}
	return CONFIG_RUN;
}

int config_parse(struct settings *s, int argc, char **argv)
{
	const char *config = CONFIG_DEFAULT_PATH;
	bool named = false;
	int r;

	memset(s, 0, sizeof *s);
	s->log_level = LOG_INFO;
	s->ready_fd = -1;
	s->socket_mode = CONFIG_DEFAULT_SOCKET_MODE;
	s->max_message = PS_MAX_MESSAGE_DEFAULT;
	s->max_conns = CONFIG_DEFAULT_MAX_CONNS;
	s->handshake_ms = PS_HANDSHAKE_TIMEOUT_MS;
	s->max_items = CONFIG_DEFAULT_MAX_ITEMS;
	s->backlog_ms = CONFIG_DEFAULT_BACKLOG_MS;
	s->tcp_encryption = PS_ENC_ON;
	s->unix_encryption = PS_ENC_OPTIONAL;
	s->keepalive[0] = CONFIG_DEFAULT_KEEPIDLE_S;
	s->keepalive[1] = CONFIG_DEFAULT_KEEPINTVL_S;
	s->keepalive[2] = CONFIG_DEFAULT_KEEPCNT;
	r = first_pass(s, argc, argv, &config, &named);
	if (r != CONFIG_RUN)
		return r;
	if (read_file(s, config, named) < 0)
		return CONFIG_BAD;
	return second_pass(s, argc, argv);
}

void config_free(struct settings *s)
{
	for (int i = 0; i < s->nlisten; i++)
		free(s->listen[i]);
	s->nlisten = 0;
	free(s->authkey_file);
	free(s->log_file);
	free(s->config_path);
	s->authkey_file = s->log_file = s->config_path = NULL;
}

/* ---- places and addresses ---- */

/* systemd made $RUNTIME_DIRECTORY for us with the mode the unit asked for
 * (often 0755, so that clients reach the socket): only its owner and that
 * nobody else may write in it are checked. */
static int check_systemd_rundir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0022)) {
		log_error("RUNTIME_DIRECTORY %s must be a directory owned by uid %u and writable by no one else", dir,
			  (unsigned)geteuid());
		return -1;
	}
	return 0;
}

int config_rundir(char *out, size_t len, bool create)
{
	const char *sd = getenv("RUNTIME_DIRECTORY");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	/* Several directories are separated by ':'; the first is ours. */
	if (sd != NULL && sd[0] == '/') {
		snprintf(out, len, "%.*s", (int)strcspn(sd, ":"), sd);
		return create ? check_systemd_rundir(out) : 0;
	}
	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, len, "%s/procshare", xdg);
	else if (geteuid() == 0)
		snprintf(out, len, "/run/procshare");
	else
		snprintf(out, len, "/tmp/procshare-%u", (unsigned)geteuid());
	if (!create)
		return 0;
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

bool config_sockaddr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) || (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127);
	}
	return sa->sa_family == AF_UNIX;
}

/* True when every address host resolves to is a loopback one; a name that
 * does not resolve counts as reaching out. */
static bool tcp_loopback(const struct ps_addr *a)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res, *ai;
	bool loop = true;

	if (getaddrinfo(a->host, a->port, &hints, &res) != 0)
		return false;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (!config_sockaddr_loopback(ai->ai_addr))
			loop = false;
	freeaddrinfo(res);
	return loop;
}

int config_check_exposure(const struct settings *s)
{
	struct ps_addr a;
	char err[200];

	for (int i = 0; i < s->nlisten; i++) {
		if (ps_addr_parse(s->listen[i], &a, err, sizeof err) < 0 || a.kind != PS_ADDR_TCP)
			continue;
		if (!tcp_loopback(&a)) {
			log_error("listen %s: a TCP address other machines can reach needs an explicit authkey "
				  "(authkey-file, a systemd credential or PROCSHARE_AUTHKEY)", s->listen[i]);
			return -1;
		}
	}
	return 0;
}
