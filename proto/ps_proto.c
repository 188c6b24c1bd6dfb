/*
 * Names of the stable error codes, as they travel on the wire.
 */
#include <string.h>

#include "ps_proto.h"

static const char *const code_names[PS_E__COUNT] = {
	[PS_OK] = "OK",
	[PS_E_KEY] = "KeyError",
	[PS_E_INDEX] = "IndexError",
	[PS_E_VALUE] = "ValueError",
	[PS_E_TYPE] = "TypeError",
	[PS_E_NOSUCHOBJECT] = "NoSuchObject",
	[PS_E_NOSUCHMETHOD] = "NoSuchMethod",
	[PS_E_AUTH] = "AuthFailed",
	[PS_E_TOOLARGE] = "TooLarge",
	[PS_E_TIMEOUT] = "Timeout",
	[PS_E_NOMEM] = "OutOfMemory",
	[PS_E_PROTOCOL] = "ProtocolError",
	[PS_E_EXISTS] = "Exists",
	[PS_E_LIMIT] = "LimitExceeded",
	[PS_E_SHUTDOWN] = "Shutdown",
	[PS_E_OVERFLOW] = "OverflowError",
	[PS_E_EMPTY] = "Empty",
	[PS_E_FULL] = "Full",
	[PS_E_RUNTIME] = "RuntimeError",
	[PS_E_BROKENBARRIER] = "BrokenBarrierError",
	[PS_E_ATTRIBUTE] = "AttributeError",
};

const char *ps_code_name(enum ps_code code)
{
	if ((int)code < 0 || code >= PS_E__COUNT)
		return "Unknown";
	return code_names[code];
}

int ps_code_from_name(const char *name, size_t len)
{
	for (int i = 0; i < PS_E__COUNT; i++)
		if (strlen(code_names[i]) == len && memcmp(code_names[i], name, len) == 0)
			return i;
	return -1;
}
