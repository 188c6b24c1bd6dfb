/*
 * The context's life: connecting, reconnecting in a fork() child, the
 * table of objects live proxies hold, and freeing.
 *
 * fork(): the child inherits the parent's socket, and two processes
 * writing requests on one socket would corrupt both streams. So every
 * entry into a context compares getpid() with the pid that owns the
 * connection; a child that finds itself using its parent's context closes
 * its copy of the socket (close, never shutdown, which would cut the
 * parent off too), connects again with the same address and key, and
 * takes a handle again on every object its proxies hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"

/* Largest authkey file read: keys are short, anything bigger is a wrong
 * path. */
#define KEYFILE_MAX (64 * 1024)

/* Sets up the locks and the condition variable. Returns 0, or -1 when the
 * condition variable cannot be made (the mutexes are made anyway). */
static int sync_init(ps_ctx *ctx)
{
	pthread_condattr_t ca;
	int r;

	pthread_mutex_init(&ctx->mu, NULL);
	pthread_mutex_init(&ctx->wmu, NULL);
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	/* Deadlines are CLOCK_MONOTONIC: a clock step must not stretch a wait. */
	r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (r == 0)
		r = pthread_cond_init(&ctx->cv, &ca);
	pthread_condattr_destroy(&ca);
	return r == 0 ? 0 : -1;
}

static ps_ctx *ctx_new(void)
{
	ps_ctx *ctx = calloc(1, sizeof *ctx);

	if (ctx == NULL)
		return NULL;
	if (sync_init(ctx) < 0) {
		pthread_mutex_destroy(&ctx->mu);
		pthread_mutex_destroy(&ctx->wmu);
		free(ctx);
		return NULL;
	}
	ctx->fd = -1;
	atomic_init(&ctx->pid, getpid());
	atomic_init(&ctx->timeout_ms, -1);
	ps_buf_init(&ctx->rbuf);
	ps_buf_init(&ctx->wbuf);
	ps_buf_init(&ctx->sbuf);
	ps_buf_init(&ctx->cin);
	ps_mp_scan_reset(&ctx->scan);
	return ctx;
}

void ps_ctx_deadline(ps_ctx *ctx, struct ps_deadline *d)
{
	ps_deadline_init(d, atomic_load(&ctx->timeout_ms));
}

/* Opens the connection, ctx->mu held. Connecting has a bound even when
 * calls have none (PS_CONNECT_TIMEOUT_MS). */
static int ctx_connect(ps_ctx *ctx)
{
	struct ps_deadline d;
	int timeout = atomic_load(&ctx->timeout_ms);

	ps_deadline_init(&d, timeout >= 0 ? timeout : PS_CONNECT_TIMEOUT_MS);
	ctx->fd = ps_net_open(ctx, &d);
	return ctx->fd < 0 ? -1 : 0;
}

/* Forgets an encrypted session's state: its keys and buffers. */
static void ctx_forget_session(ps_ctx *ctx)
{
	ctx->sealed = false;
	ps_seal_wipe(&ctx->tx);
	ps_seal_wipe(&ctx->rx);
	ps_buf_free(&ctx->sbuf);
	ps_buf_free(&ctx->cin);
}

/* ---- fork ---- */

/* This process is a fork() child using its parent's context for the first
 * time; the caller has marked ctx->pid as being reset by us. Parent
 * threads that held the locks or waited on the condition variable do not
 * exist here, so the synchronisation objects start over too. */
static void ctx_restart(ps_ctx *ctx)
{
	struct ps_deadline d;

	/* Should a new condition variable fail (glibc's cannot), the old one
	 * serves: nobody in this process waits on it. */
	sync_init(ctx);
	pthread_mutex_lock(&ctx->mu);
	if (ctx->fd >= 0)
		close(ctx->fd);
	ctx->fd = -1;
	ctx->slots = NULL;      /* they belong to the parent's threads */
	ctx->reading = false;
	ps_buf_free(&ctx->rbuf);
	ps_buf_free(&ctx->wbuf);
	ctx_forget_session(ctx);
	ps_mp_scan_reset(&ctx->scan);
	/* A broken context stays broken in the child: errors stick until the
	 * caller makes a new context. */
	if (ctx->sticky.kind == PS_ERR_NONE && ctx_connect(ctx) == 0) {
		ps_ctx_deadline(ctx, &d);
		ps_call_retain_held(ctx, &d);
	}
	pthread_mutex_unlock(&ctx->mu);
}

/* Makes sure this process owns the connection. Threads of a child that
 * race to be first: one wins the compare-and-swap and reconnects, the
 * others wait for it (ctx->pid == -our pid means "being reset by one of
 * us"). */
static void check_fork(ps_ctx *ctx)
{
	pid_t me = getpid();
	pid_t seen = atomic_load_explicit(&ctx->pid, memory_order_acquire);

	while (seen != me) {
		if (seen == -me) {
			sched_yield();
			seen = atomic_load_explicit(&ctx->pid, memory_order_acquire);
			continue;
		}
		if (atomic_compare_exchange_weak(&ctx->pid, &seen, -me)) {
			ctx_restart(ctx);
			atomic_store_explicit(&ctx->pid, me, memory_order_release);
			return;
		}
	}
}

void ps_ctx_lock(ps_ctx *ctx)
{
	check_fork(ctx);
	pthread_mutex_lock(&ctx->mu);
}

void ps_ctx_unlock(ps_ctx *ctx)
{
	pthread_mutex_unlock(&ctx->mu);
}

/* ---- held objects ---- */

/* Linear: a program holds a handful of proxies, and the table is touched
 * only when one is opened or freed. */
static struct ps_held *held_find(ps_ctx *ctx, uint64_t id)
{
	for (size_t i = 0; i < ctx->nheld; i++)
		if (ctx->held[i].id == id)
			return &ctx->held[i];
	return NULL;
}

static int held_grow(ps_ctx *ctx)
{
	size_t cap = ctx->held_cap ? 2 * ctx->held_cap : 8;
	struct ps_held *h;

	if (cap > SIZE_MAX / sizeof *h)
		return -1;
	h = realloc(ctx->held, cap * sizeof *h);
	if (h == NULL)
		return -1;
	ctx->held = h;
	ctx->held_cap = cap;
	return 0;
}

int ps_held_add(ps_ctx *ctx, uint64_t id)
{
	struct ps_held *h;
	int r = 0;

	ps_ctx_lock(ctx);
	h = held_find(ctx, id);
	if (h != NULL) {
		h->count++;
	} else if (ctx->nheld < ctx->held_cap || held_grow(ctx) == 0) {
		ctx->held[ctx->nheld].id = id;
		ctx->held[ctx->nheld].count = 1;
		ctx->nheld++;
	} else {
		r = ps_err_set(ctx, PS_ERR_OOM, "", "out of memory recording a proxy");
	}
	ps_ctx_unlock(ctx);
	return r;
}

void ps_held_remove(ps_ctx *ctx, uint64_t id)
{
	struct ps_held *h;

	ps_ctx_lock(ctx);
	h = held_find(ctx, id);
	if (h != NULL && --h->count == 0)
		*h = ctx->held[--ctx->nheld];
	ps_ctx_unlock(ctx);
}

/* ---- public ---- */

/* A context that carries only an error, for failures before connecting. */
static ps_ctx *ctx_broken(ps_ctx *ctx, int kind, const char *text)
{
	pthread_mutex_lock(&ctx->mu);
	ps_err_stick(ctx, kind, "", "%s", text);
	pthread_mutex_unlock(&ctx->mu);
	return ctx;
}

/* The mode PROCSHARE_ENCRYPTION names (auto when unset), or -1. */
static int env_encryption(void)
{
	const char *v = getenv("PROCSHARE_ENCRYPTION");

	if (v == NULL || v[0] == '\0' || strcmp(v, "auto") == 0)
		return PS_ENCRYPT_AUTO;
	if (strcmp(v, "on") == 0)
		return PS_ENCRYPT_ON;
	if (strcmp(v, "off") == 0)
		return PS_ENCRYPT_OFF;
	return -1;
}

ps_ctx *ps_connect(const char *addr, const void *key, size_t keylen)
{
	int mode = env_encryption();

	if (mode < 0) {
		ps_ctx *ctx = ctx_new();
		return ctx != NULL ? ctx_broken(ctx, PS_ERR_ARG, "PROCSHARE_ENCRYPTION is not auto, on or off") : NULL;
	}
	return ps_connect_mode(addr, key, keylen, mode);
}

int ps_encrypted(ps_ctx *ctx)
{
	int r;

	if (ctx == NULL)
		return -1;
	ps_ctx_lock(ctx);
	r = ctx->fd < 0 ? -1 : ctx->sealed;
	ps_ctx_unlock(ctx);
	return r;
}

ps_ctx *ps_connect_mode(const char *addr, const void *key, size_t keylen, int encryption)
{
	ps_ctx *ctx = ctx_new();

	if (ctx == NULL)
		return NULL;
	if (addr == NULL || (key == NULL && keylen > 0))
		return ctx_broken(ctx, PS_ERR_ARG, addr == NULL ? "invalid argument: address is NULL"
								: "invalid argument: key is NULL");
	if (encryption != PS_ENCRYPT_AUTO && encryption != PS_ENCRYPT_ON && encryption != PS_ENCRYPT_OFF)
		return ctx_broken(ctx, PS_ERR_ARG, "invalid argument: encryption is not PS_ENCRYPT_AUTO, _ON or _OFF");
	ctx->enc_mode = encryption;
	ctx->addr = strdup(addr);
	/* One spare byte so that an empty key is still an allocation. */
	ctx->key = malloc(keylen + 1);
	if (ctx->addr == NULL || ctx->key == NULL)
		return ctx_broken(ctx, PS_ERR_OOM, "out of memory");
	if (keylen > 0)
		memcpy(ctx->key, key, keylen);
	ctx->keylen = keylen;
	pthread_mutex_lock(&ctx->mu);
	ctx_connect(ctx);
	pthread_mutex_unlock(&ctx->mu);
	return ctx;
}

/* Reads all of fd, at most KEYFILE_MAX bytes, into a malloc'd buffer. */
static unsigned char *read_all(int fd, size_t *len)
{
	unsigned char *buf = malloc(KEYFILE_MAX + 1);
	size_t n = 0;
	ssize_t k;

	if (buf == NULL)
		return NULL;
	while (n <= KEYFILE_MAX) {
		k = read(fd, buf + n, KEYFILE_MAX + 1 - n);
		if (k == 0)
			break;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			sodium_memzero(buf, n);
			free(buf);
			return NULL;
		}
		n += (size_t)k;
	}
	if (n > KEYFILE_MAX) {
		sodium_memzero(buf, n);
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	*len = n;
	return buf;
}

unsigned char *ps_read_keyfile(const char *path, size_t *keylen)
{
	unsigned char *key;
	size_t n = 0;
	int fd, err;

	if (path == NULL || keylen == NULL) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	key = read_all(fd, &n);
	err = errno;
	close(fd);
	if (key == NULL) {
		errno = err;
		return NULL;
	}
	/* Editors end files with a newline (Windows ones with CR LF); the key
	 * is what comes before it. */
	if (n >= 2 && key[n - 2] == '\r' && key[n - 1] == '\n')
		n -= 2;
	else if (n >= 1 && key[n - 1] == '\n')
		n -= 1;
	*keylen = n;
	return key;
}

ps_ctx *ps_connect_env(void)
{
	const char *addr = getenv("PROCSHARE_ADDRESS");
	const char *file = getenv("PROCSHARE_AUTHKEY_FILE");
	const char *raw = getenv("PROCSHARE_AUTHKEY");
	unsigned char *key;
	char text[PS_ERRSTR_MAX], buf[128];
	size_t keylen = 0;
	ps_ctx *ctx;

	if (addr == NULL || *addr == '\0' || ((file == NULL || *file == '\0') && raw == NULL)) {
		ctx = ctx_new();
		if (ctx == NULL)
			return NULL;
		return ctx_broken(ctx, PS_ERR_ARG, addr == NULL || *addr == '\0' ? "PROCSHARE_ADDRESS is not set"
						   : "set PROCSHARE_AUTHKEY_FILE or PROCSHARE_AUTHKEY");
	}
	if (file == NULL || *file == '\0')
		return ps_connect(addr, raw, strlen(raw));
	key = ps_read_keyfile(file, &keylen);
	if (key == NULL) {
		snprintf(text, sizeof text, "cannot read authkey file %s: %s", file,
			 ps_io_strerror(errno, buf, sizeof buf));
		ctx = ctx_new();
		return ctx != NULL ? ctx_broken(ctx, PS_ERR_IO, text) : NULL;
	}
	ctx = ps_connect(addr, key, keylen);
	sodium_memzero(key, keylen);
	free(key);
	return ctx;
}

void ps_free(ps_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* close, never shutdown: after fork the other process may still be
	 * using this socket. */
	if (ctx->fd >= 0)
		close(ctx->fd);
	ps_buf_free(&ctx->rbuf);
	ps_buf_free(&ctx->wbuf);
	ctx_forget_session(ctx);
	free(ctx->held);
	free(ctx->addr);
	if (ctx->key != NULL)
		sodium_memzero(ctx->key, ctx->keylen);
	free(ctx->key);
	pthread_cond_destroy(&ctx->cv);
	pthread_mutex_destroy(&ctx->mu);
	pthread_mutex_destroy(&ctx->wmu);
	free(ctx);
}

void ps_set_timeout(ps_ctx *ctx, int timeout_ms)
{
	if (ctx != NULL)
		atomic_store(&ctx->timeout_ms, timeout_ms < 0 ? -1 : timeout_ms);
}
