/*
 * procshared's settings. Three sources, each overriding the one before:
 * built-in defaults, the configuration file (CONFIG_DEFAULT_PATH unless
 * --config names another), and command-line flags. A setting has one name
 * in both places: "max-connections = 10" in the file is
 * "--max-connections 10" on the command line. Every setting is checked
 * while it is read; an invalid one is reported with its name (and the
 * file and line) and the daemon does not start.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

#define CONFIG_DEFAULT_PATH "/etc/procshare/procshared.conf"
#define CONFIG_MAX_LISTEN 16
#define CONFIG_DEFAULT_MAX_CONNS 4096
/* Only the daemon's user may connect to a Unix socket it makes; the
 * authkey is the second lock. */
#define CONFIG_DEFAULT_SOCKET_MODE 0600
#define CONFIG_MAX_HANDSHAKE_MS 3600000
/* Items per container, and the time a client may leave replies unread
 * past the backlog limit before it is cut off (SECURITY.md). */
#define CONFIG_DEFAULT_MAX_ITEMS 100000000u
#define CONFIG_MAX_ITEMS 1000000000000ull
#define CONFIG_DEFAULT_BACKLOG_MS 30000u
/* TCP keepalive (PROTOCOL.md section 1): a peer silent for IDLE seconds is
 * probed every INTERVAL seconds and dropped after COUNT unanswered probes,
 * so a vanished peer is found within IDLE + INTERVAL * COUNT seconds. */
#define CONFIG_DEFAULT_KEEPIDLE_S 10
#define CONFIG_DEFAULT_KEEPINTVL_S 5
#define CONFIG_DEFAULT_KEEPCNT 3
/* Longest line of the configuration file. */
#define CONFIG_LINE_MAX 4096

/* Process exit statuses. */
#define CONFIG_EXIT_FAILURE 1   /* could not start or keep running */
#define CONFIG_EXIT_USAGE 2     /* invalid flags or configuration */

enum config_result {
	CONFIG_RUN,             /* settings complete: start */
	CONFIG_DONE,            /* --help or --version answered: exit 0 */
	CONFIG_BAD              /* an invalid setting was reported */
};

struct settings {
	char *listen[CONFIG_MAX_LISTEN];        /* addresses; none: the default */
	int nlisten;
	bool listen_from_file;  /* the file's list, replaced by --listen */
	char *authkey_file;     /* NULL: a credential, PROCSHARE_AUTHKEY or
				 * RUNDIR/authkey (see authkey.h) */
	char *log_file;         /* NULL: stderr */
	int log_level;          /* enum log_level */
	int ready_fd;           /* -1: none */
	unsigned socket_mode;   /* of Unix sockets the daemon makes */
	size_t max_message;
	size_t max_conns;
	size_t max_memory;      /* bytes of stored values and buffers; 0: no limit */
	size_t max_items;       /* items per container */
	int backlog_ms;         /* replies left unread past the backlog limit */
	int handshake_ms;
	int tcp_encryption;     /* enum ps_enc_mode: ON (required), OPTIONAL, OFF */
	int unix_encryption;
	int keepalive[3];       /* TCP keepalive: idle s, probe interval s, probes */
	bool check_only;        /* --check-config */
	char *config_path;      /* the file read, or NULL when none was */
};

/* Fills s from the defaults, the configuration file and argv. Prints the
 * --help and --version texts itself. Returns an enum config_result; the
 * reason for CONFIG_BAD is logged. Free s with config_free either way. */
int config_parse(struct settings *s, int argc, char **argv);
void config_free(struct settings *s);

/* The private runtime directory, RUNDIR in the docs: $RUNTIME_DIRECTORY
 * (set by systemd's RuntimeDirectory=), else $XDG_RUNTIME_DIR/procshare,
 * /run/procshare for root, /tmp/procshare-UID. With create, makes it (mode
 * 0700) when missing and refuses one that another user could tamper
 * with. Returns 0, or -1 after logging why. */
int config_rundir(char *out, size_t len, bool create);

/* True when sa is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x). */
bool config_sockaddr_loopback(const struct sockaddr *sa);
/* For a daemon without an explicit authkey: checks that no TCP address in
 * s can be reached from other machines (names are resolved; one that does
 * not resolve counts as reachable). Returns 0, or -1 after logging the
 * first offending address. */
int config_check_exposure(const struct settings *s);

#endif
