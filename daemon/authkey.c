/*
 * Finding, reading and generating the authkey.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "authkey.h"
#include "config.h"
#include "log.h"

/* Reads the whole file into a new buffer: at most AUTHKEY_MAX bytes, with
 * one trailing "\n" or "\r\n" removed (PROTOCOL.md, "Handshake"). */
static int read_key(const char *path, uint8_t **key, size_t *len)
{
	uint8_t *buf;
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		log_error("authkey file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 0077)) {
		log_error("authkey file %s is accessible by group or others; chmod 600 it", path);
		close(fd);
		return -1;
	}
	buf = malloc(AUTHKEY_MAX + 1);
	if (buf == NULL) {
		close(fd);
		log_error("authkey file %s: out of memory", path);
		return -1;
	}
	while (n <= AUTHKEY_MAX && (r = read(fd, buf + n, AUTHKEY_MAX + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n')
		n -= 2;
	else if (n >= 1 && buf[n - 1] == '\n')
		n--;
	if (n == 0 || n > AUTHKEY_MAX) {
		log_error("authkey file %s is %s", path, n == 0 ? "empty or unreadable" : "larger than 64 KiB");
		sodium_memzero(buf, AUTHKEY_MAX + 1);
		free(buf);
		return -1;
	}
	*key = buf;
	*len = n;
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
	sodium_memzero(raw, sizeof raw);
	hex[64] = '\n';
	if (write(fd, hex, sizeof hex) != (ssize_t)sizeof hex) {
		log_error("write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	sodium_memzero(hex, sizeof hex);
	close(fd);
	log_info("generated a new authkey in %s", path);
	return 0;
}

/* Decides where the key comes from (k->source, k->path). */
static int find_source(struct authkey *k, const char *file, bool create)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	const char *env = getenv("PROCSHARE_AUTHKEY");
	char dir[PATH_MAX - 16];

	k->path[0] = '\0';
	if (file != NULL) {
		k->source = AUTHKEY_FILE;
		snprintf(k->path, sizeof k->path, "%s", file);
		return 0;
	}
	if (creds != NULL && creds[0] == '/') {
		snprintf(k->path, sizeof k->path, "%s/authkey", creds);
		k->source = AUTHKEY_CREDENTIAL;
		if (access(k->path, F_OK) == 0)
			return 0;
		k->path[0] = '\0';
	}
	if (env != NULL && env[0] != '\0') {
		k->source = AUTHKEY_ENV;
		return 0;
	}
	k->source = AUTHKEY_GENERATED;
	if (config_rundir(dir, sizeof dir, create) < 0)
		return -1;
	snprintf(k->path, sizeof k->path, "%s/authkey", dir);
	return 0;
}

/* Reads the key from k's source into a new buffer. */
static int read_source(const struct authkey *k, uint8_t **key, size_t *len)
{
	const char *env = getenv("PROCSHARE_AUTHKEY");

	if (k->source != AUTHKEY_ENV)
		return read_key(k->path, key, len);
	*len = strlen(env);
	*key = malloc(*len);
	if (*key == NULL) {
		log_error("PROCSHARE_AUTHKEY: out of memory");
		return -1;
	}
	memcpy(*key, env, *len);
	return 0;
}

int authkey_load(struct authkey *k, const char *file, bool create)
{
	memset(k, 0, sizeof *k);
	if (find_source(k, file, create) < 0)
		return -1;
	if (k->source == AUTHKEY_GENERATED && access(k->path, F_OK) != 0) {
		if (!create)
			return 0;
		if (make_key(k->path) < 0)
			return -1;
	}
	return read_source(k, &k->key, &k->len);
}

int authkey_reload(struct authkey *k)
{
	uint8_t *key;
	size_t len;

	if (read_source(k, &key, &len) < 0)
		return -1;
	if (k->key != NULL)
		sodium_memzero(k->key, k->len);
	free(k->key);
	k->key = key;
	k->len = len;
	return 0;
}

bool authkey_explicit(const struct authkey *k)
{
	return k->source != AUTHKEY_GENERATED;
}

const char *authkey_origin(const struct authkey *k, char *buf, size_t len)
{
	switch (k->source) {
	case AUTHKEY_FILE: snprintf(buf, len, "file %s", k->path); break;
	case AUTHKEY_CREDENTIAL: snprintf(buf, len, "systemd credential %s", k->path); break;
	case AUTHKEY_ENV: snprintf(buf, len, "PROCSHARE_AUTHKEY"); break;
	case AUTHKEY_GENERATED: snprintf(buf, len, "generated file %s", k->path); break;
	}
	return buf;
}

void authkey_free(struct authkey *k)
{
	if (k->key != NULL)
		sodium_memzero(k->key, k->len);
	free(k->key);
	k->key = NULL;
	k->len = 0;
}
