/*
 * Address string parsing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_addr.h"

static int fail(char *err, size_t errlen, const char *s, const char *why)
{
	snprintf(err, errlen, "bad address \"%s\": %s", s, why);
	return -1;
}

static int parse_tcp(const char *s, const char *hp, struct ps_addr *a, char *err, size_t errlen)
{
	const char *colon, *host = hp;
	size_t hlen;
	char *end;
	long port;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');
		if (close == NULL || close[1] != ':')
			return fail(err, errlen, s, "expected [v6address]:port");
		host = hp + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL)
			return fail(err, errlen, s, "missing :port");
		hlen = (size_t)(colon - hp);
		if (memchr(hp, ':', hlen) != NULL)
			return fail(err, errlen, s, "put an IPv6 address in brackets: [addr]:port");
	}
	if (hlen == 0 || hlen >= sizeof a->host)
		return fail(err, errlen, s, "bad host");
	if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return fail(err, errlen, s, "port must be 0-65535");
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		return fail(err, errlen, s, "port must be 0-65535");
	a->kind = PS_ADDR_TCP;
	memcpy(a->host, host, hlen);
	a->host[hlen] = '\0';
	snprintf(a->port, sizeof a->port, "%ld", port);
	return 0;
}

int ps_addr_parse(const char *s, struct ps_addr *a, char *err, size_t errlen)
{
	const char *path = NULL;

	memset(a, 0, sizeof *a);
	if (s == NULL || *s == '\0')
		return fail(err, errlen, "", "empty");
	if (strncmp(s, "unix:", 5) == 0)
		path = s + 5;
	else if (s[0] == '/' || s[0] == '.')
		path = s;
	if (path != NULL) {
		if (*path == '\0')
			return fail(err, errlen, s, "empty socket path");
		if (strlen(path) >= sizeof a->path)
			return fail(err, errlen, s, "socket path longer than 107 bytes");
		a->kind = PS_ADDR_UNIX;
		strcpy(a->path, path);
		return 0;
	}
	if (strncmp(s, "tcp://", 6) == 0)
		return parse_tcp(s, s + 6, a, err, errlen);
	return parse_tcp(s, s, a, err, errlen);
}
