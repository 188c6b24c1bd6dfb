/*
 * Failed-authentication throttling: a small table of recently failing
 * sources.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "throttle.h"

int64_t throttle_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void throttle_source(const char *peer, char *out, size_t len)
{
	const char *uid = strstr(peer, " uid ");
	const char *colon = strrchr(peer, ':');

	/* A Unix peer's pid changes with every attempt; its uid does not. */
	if (strncmp(peer, "unix", 4) == 0)
		snprintf(out, len, "uid%s", uid != NULL ? uid + 4 : " ?");
	else if (colon != NULL)
		snprintf(out, len, "%.*s", (int)(colon - peer), peer);
	else
		snprintf(out, len, "%s", peer);
}

static struct throttle_slot *find(struct throttle *t, const char *source)
{
	for (int i = 0; i < THROTTLE_SLOTS; i++)
		if (t->slots[i].source[0] != '\0' && strcmp(t->slots[i].source, source) == 0)
			return &t->slots[i];
	return NULL;
}

/* Pause between two checks once a source has failed `failures` times. */
static int64_t step_ms(uint32_t failures)
{
	uint32_t extra;

	if (failures < THROTTLE_FREE_FAILURES)
		return 0;
	extra = failures - THROTTLE_FREE_FAILURES;
	if (extra >= 16 || ((int64_t)THROTTLE_BASE_MS << extra) > THROTTLE_MAX_MS)
		return THROTTLE_MAX_MS;
	return (int64_t)THROTTLE_BASE_MS << extra;
}

static void forget_stale(struct throttle_slot *s, int64_t now)
{
	if (s->source[0] != '\0' && now - s->last_ms > THROTTLE_FORGET_MS && now >= s->next_ms)
		memset(s, 0, sizeof *s);
}

int64_t throttle_delay(struct throttle *t, const char *source, int64_t now, int64_t max_wait)
{
	struct throttle_slot *s = find(t, source);
	int64_t turn;

	if (s != NULL)
		forget_stale(s, now);
	if (s == NULL || s->source[0] == '\0' || s->failures < THROTTLE_FREE_FAILURES)
		return 0;
	turn = s->next_ms > now ? s->next_ms : now;
	if (turn - now > max_wait)
		return -1;
	s->next_ms = turn + step_ms(s->failures);
	return turn - now;
}

void throttle_failed(struct throttle *t, const char *source, int64_t now)
{
	struct throttle_slot *s = find(t, source);

	if (s == NULL) {
		s = &t->slots[0];
		for (int i = 0; i < THROTTLE_SLOTS; i++) {
			forget_stale(&t->slots[i], now);
			if (t->slots[i].source[0] == '\0') {
				s = &t->slots[i];
				break;
			}
			if (t->slots[i].last_ms < s->last_ms)
				s = &t->slots[i];
		}
		memset(s, 0, sizeof *s);
		snprintf(s->source, sizeof s->source, "%s", source);
	}
	s->failures++;
	s->last_ms = now;
}

void throttle_passed(struct throttle *t, const char *source)
{
	struct throttle_slot *s = find(t, source);

	if (s != NULL)
		memset(s, 0, sizeof *s);
}
