/*
 * Numeric portal parsing: isc_parse_numeric_portal() (contract in
 * include/isc/iscsi.h).
 *
 * Accepted forms (the same literal syntax as URIs, RFC 3986 section 3.2.2,
 * with an RFC 6874-style zone after '%', written unescaped):
 *     1.2.3.4            1.2.3.4:3261
 *     [::1]              [::1]:3261        [fe80::1%eth0]:3260
 *     ::1                (bare IPv6: more than one ':' means no port)
 * Names are never resolved: this runs on the event-loop thread and must not
 * block, so only inet_pton() (pure) and if_nametoindex() (one local ioctl)
 * are used. Anything that is not a numeric literal is ISC_ERR_INVAL.
 * On failure *addr and *addrlen are left untouched.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "isc/iscsi.h"

/* Longest literal we accept: a full IPv6 text (45 incl. an embedded IPv4),
 * a zone (interface names are < IF_NAMESIZE, numeric ids <= 10 digits),
 * brackets, ":65535". Longer input cannot be valid. */
#define PORTAL_TEXT_MAX 96

/* Decimal port 1..65535 from exactly [s, s+n): digits only (no sign, no
 * spaces). Leading zeros are tolerated but bounded so the loop cannot
 * overflow. */
static int parse_port(const char *s, size_t n, uint16_t *out)
{
	uint32_t v = 0;
	if (n == 0 || n > 5)
		return ISC_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ISC_ERR_INVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return ISC_ERR_INVAL;
	*out = (uint16_t)v;
	return 0;
}

/* Zone: an interface name or a decimal interface index (RFC 4007 11.2). */
static int parse_zone(const char *zone, uint32_t *scope_id)
{
	size_t n = strlen(zone);
	int numeric = 1;
	if (n == 0 || n >= IF_NAMESIZE)
		return ISC_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (zone[i] < '0' || zone[i] > '9')
			numeric = 0;
	if (numeric) {
		uint64_t v = 0;
		if (n > 10)
			return ISC_ERR_INVAL;
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (uint64_t)(zone[i] - '0');
		if (v == 0 || v > UINT32_MAX)
			return ISC_ERR_INVAL;
		*scope_id = (uint32_t)v;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)zone[i];
		/* Interface names never contain '/', whitespace or controls. */
		if (c <= 0x20 || c == 0x7f || c == '/' || c == '%')
			return ISC_ERR_INVAL;
	}
	*scope_id = if_nametoindex(zone);
	return *scope_id ? 0 : ISC_ERR_INVAL;
}

/* host is a NUL-terminated IPv6 literal, optionally with "%zone". */
static int fill_v6(char *host, uint16_t port, struct sockaddr_in6 *sin6)
{
	char *pct = strchr(host, '%');
	uint32_t scope = 0;
	memset(sin6, 0, sizeof(*sin6));
	if (pct) {
		*pct = '\0';
		if (parse_zone(pct + 1, &scope) != 0)
			return ISC_ERR_INVAL;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return ISC_ERR_INVAL;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_scope_id = scope;
	return 0;
}

int isc_parse_numeric_portal(const char *text, uint16_t default_port,
			     struct sockaddr_storage *addr, socklen_t *addrlen)
{
	char buf[PORTAL_TEXT_MAX + 1];
	size_t len;
	uint16_t port = default_port;
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} sa;
	socklen_t salen;

	if (!text || !addr || !addrlen || default_port == 0)
		return ISC_ERR_INVAL;
	len = strnlen(text, PORTAL_TEXT_MAX + 1);
	if (len == 0 || len > PORTAL_TEXT_MAX)
		return ISC_ERR_INVAL;
	memcpy(buf, text, len + 1);

	if (buf[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		char *close = strchr(buf, ']');
		if (!close || close == buf + 1)
			return ISC_ERR_INVAL;
		*close = '\0';
		if (close[1] != '\0') {
			if (close[1] != ':' ||
			    parse_port(close + 2, strlen(close + 2), &port) != 0)
				return ISC_ERR_INVAL;
		}
		if (fill_v6(buf + 1, port, &sa.v6) != 0)
			return ISC_ERR_INVAL;
		salen = sizeof(sa.v6);
	} else {
		char *first = strchr(buf, ':');
		char *last = strrchr(buf, ':');
		if (first && first != last) {
			/* Two or more ':' without brackets: a bare IPv6
			 * literal, which cannot carry a port. */
			if (fill_v6(buf, port, &sa.v6) != 0)
				return ISC_ERR_INVAL;
			salen = sizeof(sa.v6);
		} else {
			if (first) {
				*first = '\0';
				if (parse_port(first + 1, strlen(first + 1), &port) != 0)
					return ISC_ERR_INVAL;
			}
			/* inet_pton (unlike inet_aton) accepts only the
			 * strict dotted quad: no "1.2.3", no octal/hex. */
			memset(&sa.v4, 0, sizeof(sa.v4));
			if (inet_pton(AF_INET, buf, &sa.v4.sin_addr) != 1)
				return ISC_ERR_INVAL;
			sa.v4.sin_family = AF_INET;
			sa.v4.sin_port = htons(port);
			salen = sizeof(sa.v4);
		}
	}

	memset(addr, 0, sizeof(*addr));
	memcpy(addr, &sa, salen);
	*addrlen = salen;
	return 0;
}
