/*
 * The context's error state. Every failing call records its error in
 * ctx->err; errors that leave the connection unusable are also kept in
 * ctx->sticky, which makes every later call fail at once with the same
 * error (as a hiredis redisContext does).
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

static void state_setv(struct ps_err_state *e, int kind, const char *code, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void state_setv(struct ps_err_state *e, int kind, const char *code, const char *fmt, va_list ap)
{
	e->kind = kind;
	snprintf(e->code, sizeof e->code, "%s", code != NULL ? code : "");
	vsnprintf(e->text, sizeof e->text, fmt, ap);
}

int ps_err_set(ps_ctx *ctx, int kind, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	state_setv(&ctx->err, kind, code, fmt, ap);
	va_end(ap);
	return -1;
}

int ps_err_stick(ps_ctx *ctx, int kind, const char *code, const char *fmt, ...)
{
	va_list ap;

	/* The first error is the cause; what follows (EOF after a refusal,
	 * say) is only its consequence. */
	if (ctx->sticky.kind == PS_ERR_NONE) {
		va_start(ap, fmt);
		state_setv(&ctx->sticky, kind, code, fmt, ap);
		va_end(ap);
		/* A reader may be blocked in read() waiting for an answer that
		 * will never come now. ctx->fd is always this process's own
		 * connection (a fork child drops the inherited one before
		 * anything else), so shutdown() disturbs nobody else. */
		if (ctx->fd >= 0)
			shutdown(ctx->fd, SHUT_RDWR);
		pthread_cond_broadcast(&ctx->cv);
	}
	ctx->err = ctx->sticky;
	return -1;
}

int ps_err_check_sticky(ps_ctx *ctx)
{
	if (ctx->sticky.kind == PS_ERR_NONE)
		return 0;
	ctx->err = ctx->sticky;
	return -1;
}

int ps_fail(ps_ctx *ctx, int kind, const char *code, const char *fmt, ...)
{
	va_list ap;

	ps_ctx_lock(ctx);
	va_start(ap, fmt);
	state_setv(&ctx->err, kind, code, fmt, ap);
	va_end(ap);
	ps_ctx_unlock(ctx);
	return -1;
}

int ps_fail_stick(ps_ctx *ctx, int kind, const char *code, const char *fmt, ...)
{
	char text[PS_ERRSTR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	ps_ctx_lock(ctx);
	ps_err_stick(ctx, kind, code, "%s", text);
	ps_ctx_unlock(ctx);
	return -1;
}

/* A NULL context is what ps_connect returns when it cannot allocate one. */
int ps_err(const ps_ctx *ctx)
{
	return ctx != NULL ? ctx->err.kind : PS_ERR_OOM;
}

const char *ps_errstr(const ps_ctx *ctx)
{
	return ctx != NULL ? ctx->err.text : "out of memory (no context)";
}

const char *ps_errcode(const ps_ctx *ctx)
{
	return ctx != NULL ? ctx->err.code : "";
}
