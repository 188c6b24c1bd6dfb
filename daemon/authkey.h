/*
 * The authkey: where it comes from, reading it safely, and reading it
 * again on SIGHUP. Sources, the first that applies wins:
 *   1. the authkey-file setting;
 *   2. $CREDENTIALS_DIRECTORY/authkey (systemd's LoadCredential=authkey:...);
 *   3. $PROCSHARE_AUTHKEY;
 *   4. RUNDIR/authkey, generated (32 random bytes, hex) when missing.
 * The first three are "explicit": the operator chose the key. Only an
 * explicit key may guard a TCP address other machines can reach.
 */
#ifndef AUTHKEY_H
#define AUTHKEY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest key file read: keys are short, anything bigger is a wrong path. */
#define AUTHKEY_MAX (64 * 1024)

enum authkey_source { AUTHKEY_FILE, AUTHKEY_CREDENTIAL, AUTHKEY_ENV, AUTHKEY_GENERATED };

struct authkey {
	enum authkey_source source;
	char path[PATH_MAX];    /* the file it is read from; "" for the environment */
	uint8_t *key;           /* NULL until loaded */
	size_t len;
};

/* Finds and reads the key. A key file that group or others may read is
 * refused, as ssh refuses a loose private key. With create false (for
 * --check-config) a missing generated key is not made: k->key stays NULL
 * and 0 is returned. Returns 0, or -1 after logging why. */
int authkey_load(struct authkey *k, const char *file, bool create);
/* Reads the key again from where it came from (SIGHUP); new connections
 * use the new key. On failure the old key stays and -1 is returned after
 * logging why. */
int authkey_reload(struct authkey *k);
bool authkey_explicit(const struct authkey *k);
/* Where the key comes from, for logs ("file /etc/procshare/authkey"). */
const char *authkey_origin(const struct authkey *k, char *buf, size_t len);
/* Wipes and frees the key. */
void authkey_free(struct authkey *k);

#endif
