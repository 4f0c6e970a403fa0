/*
 * SendTargets response parsing (contract: src/sendtargets.h; RFC 7143
 * section 12.3 and appendix C) and iSCSI name validation.
 *
 * Decisions the header leaves open, documented here:
 *  - A target listed twice (two TargetName keys with the same name) stays
 *    two entries, in wire order: merging would hide what the target sent and
 *    the order of portals is meaningful to callers.
 *  - A target with no TargetAddress gets one portal copied from the portal
 *    the request went to: defaulted = 1, has_tpgt = 0, tpgt = 0 (we do not
 *    know its group tag; 0 is never confused with a real tag because
 *    has_tpgt says so).
 *  - default_address may itself carry a port and brackets ("[::1]:3260",
 *    "10.0.0.1:3261"), as the session layer passes the portal text; a port
 *    in it wins over default_port, and default_port 0 means 3260.
 *  - TargetAddress keys of a target whose name was rejected are skipped
 *    unparsed: they belong to an entry we are dropping anyway.
 *  - A malformed TargetAddress of an accepted target fails the whole parse
 *    (ISC_ERR_PROTOCOL), as the header requires.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isc/errors.h"
#include "isc/iscsi.h"
#include "sendtargets.h"
#include "text.h"

#define ISC_DEFAULT_PORT 3260

/* ------------------------------------------------------------ names */

/*
 * Strict UTF-8 (RFC 3629 section 4): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences. C1
 * controls (U+0080..U+009F) are refused as well: like C0 controls they can
 * drive terminals (U+009B is CSI), and names are printed.
 */
static int utf8_name_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t extra;
		if (c <= 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			extra = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return 0; /* continuation byte, 0xc0/0xc1, 0xf5.. */
		}
		if (n - i - 1 < extra)
			return 0;
		for (size_t k = 1; k <= extra; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += extra + 1;
	}
	return 1;
}

int isc_iscsi_name_valid(const char *name)
{
	size_t n;
	if (!name)
		return 0;
	n = strnlen(name, ISC_NAME_MAX + 1);
	if (n > ISC_NAME_MAX)
		return 0;
	/* RFC 7143 section 4.2.7.1: the three name types; a bare prefix
	 * names nothing. */
	if (n <= 4 || (strncmp(name, "iqn.", 4) != 0 && strncmp(name, "eui.", 4) != 0 &&
		       strncmp(name, "naa.", 4) != 0))
		return 0;
	return utf8_name_ok((const unsigned char *)name, n);
}

/* ------------------------------------------------------------ addresses */

/* Decimal 0..max from [s, s+n): digits only, at most 5 of them. */
static int parse_u16(const char *s, size_t n, uint32_t min, uint16_t *out)
{
	uint32_t v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v < min || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* A DNS name or dotted quad (RFC 1123 2.1 letters, digits, '-', '.'; '_'
 * is tolerated as it is common in practice). All-numeric text must be a
 * real dotted quad: "1.2.3" or "999.1.1.1" are no hostnames either. */
static int host_ok(const char *h, size_t n)
{
	int numeric = 1;
	char tmp[16];
	struct in_addr a;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_')
			numeric = 0;
		else if (!((c >= '0' && c <= '9') || c == '.'))
			return 0;
	}
	if (!numeric)
		return 1;
	if (n >= sizeof(tmp))
		return 0;
	memcpy(tmp, h, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, &a) == 1;
}

/* An IPv6 literal, optionally "%zone" (zone: interface-name characters). */
static int ipv6_ok(const char *h, size_t n)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;
	const char *pct = memchr(h, '%', n);
	size_t alen = pct ? (size_t)(pct - h) : n;
	if (alen == 0 || alen >= sizeof(tmp))
		return 0;
	if (pct) {
		size_t zlen = n - alen - 1;
		if (zlen == 0 || zlen > 15)
			return 0;
		for (size_t i = 0; i < zlen; i++) {
			char c = pct[1 + i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
				return 0;
		}
	}
	memcpy(tmp, h, alen);
	tmp[alen] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/*
 * "<host>[:<port>]" where host is a DNS name, dotted quad or "[IPv6]".
 * A bare IPv6 literal (more than one ':', no brackets) is accepted without a
 * port for interoperability with targets that omit the brackets RFC 7143
 * section 12.8 asks for. Fills address (no brackets) and port.
 */
static int parse_hostport(const char *s, size_t n, uint16_t default_port, struct isc_portal *p)
{
	const char *host = s, *port = NULL;
	size_t hlen, plen = 0;

	if (n == 0)
		return -1;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		host = s + 1;
		hlen = (size_t)(close - host);
		if (!ipv6_ok(host, hlen))
			return -1;
		if ((size_t)(close - s) + 1 < n) {
			if (close[1] != ':')
				return -1;
			port = close + 2;
			plen = n - (size_t)(port - s);
		}
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) {
			hlen = n;
			if (!ipv6_ok(host, hlen))
				return -1;
		} else {
			hlen = colon ? (size_t)(colon - s) : n;
			if (!host_ok(host, hlen))
				return -1;
			if (colon) {
				port = colon + 1;
				plen = n - hlen - 1;
			}
		}
	}
	if (hlen >= sizeof(p->address))
		return -1;
	if (port) {
		if (parse_u16(port, plen, 1, &p->port) != 0)
			return -1;
	} else {
		p->port = default_port;
	}
	memcpy(p->address, host, hlen);
	p->address[hlen] = '\0';
	return 0;
}

/* RFC 7143 section 12.8: TargetAddress=domainname[:port][,portal-group-tag] */
int isc_target_address_parse(const char *value, struct isc_portal *out)
{
	struct isc_portal p;
	const char *comma;
	size_t n, hlen;

	if (!value || !out)
		return ISC_ERR_PROTOCOL;
	memset(&p, 0, sizeof(p));
	/* Longest valid: 255-byte host + brackets + ":65535" + ",65535". */
	n = strnlen(value, 300);
	if (n == 0 || n >= 300)
		return ISC_ERR_PROTOCOL;
	comma = memchr(value, ',', n);
	hlen = comma ? (size_t)(comma - value) : n;
	if (parse_hostport(value, hlen, ISC_DEFAULT_PORT, &p) != 0)
		return ISC_ERR_PROTOCOL;
	if (comma) {
		if (parse_u16(comma + 1, n - hlen - 1, 0, &p.tpgt) != 0)
			return ISC_ERR_PROTOCOL;
		p.has_tpgt = 1;
	}
	*out = p;
	return 0;
}

/* ------------------------------------------------------------ results */

void isc_discovery_free(struct isc_discovery *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->target_count; i++) {
		free(d->targets[i].name);
		free(d->targets[i].portals);
	}
	free(d->targets);
	free(d);
}

/* Grow an array of elem-sized items to hold one more; overflow-checked. */
static int grow(void **arr, size_t *cap, size_t count, size_t elem)
{
	size_t ncap;
	void *n;
	if (count < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return ISC_ERR_NOMEM;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return ISC_ERR_NOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

struct st_state {
	struct isc_discovery *d;
	size_t targets_cap;
	size_t portals_cap;       /* of the current (last) target */
	int have_current;         /* an accepted target is open */
	int skipping;             /* the last TargetName was rejected */
	struct isc_portal def;    /* substituted when a target lists no address */
};

static int add_portal(struct st_state *st, const struct isc_portal *p)
{
	struct isc_target_entry *t = &st->d->targets[st->d->target_count - 1];
	int rc = grow((void **)&t->portals, &st->portals_cap, t->portal_count, sizeof(*p));
	if (rc)
		return rc;
	t->portals[t->portal_count++] = *p;
	return 0;
}

/* Close the open target: substitute the default portal if it has none. */
static int finish_target(struct st_state *st)
{
	int rc = 0;
	if (st->have_current && st->d->targets[st->d->target_count - 1].portal_count == 0)
		rc = add_portal(st, &st->def);
	st->have_current = 0;
	return rc;
}

static int open_target(struct st_state *st, const char *name)
{
	struct isc_target_entry *t;
	char *copy;
	int rc = grow((void **)&st->d->targets, &st->targets_cap, st->d->target_count,
		      sizeof(*t));
	if (rc)
		return rc;
	copy = strdup(name);
	if (!copy)
		return ISC_ERR_NOMEM;
	t = &st->d->targets[st->d->target_count++];
	t->name = copy;
	t->portals = NULL;
	t->portal_count = 0;
	st->portals_cap = 0;
	st->have_current = 1;
	return 0;
}

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int isc_sendtargets_parse(const struct isc_kv_list *kv, const char *default_address,
			  uint16_t default_port, struct isc_discovery **out,
			  char *err, size_t errlen)
{
	struct st_state st;
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	if (out)
		*out = NULL;
	if (!kv || !out || !default_address || (kv->count > 0 && !kv->items))
		return ISC_ERR_INVAL;

	memset(&st, 0, sizeof(st));
	if (parse_hostport(default_address, strlen(default_address),
			   default_port ? default_port : ISC_DEFAULT_PORT, &st.def) != 0) {
		set_err(err, errlen, "%s", "the discovery portal address is not usable as a "
					  "default TargetAddress");
		return ISC_ERR_INVAL;
	}
	st.def.defaulted = 1;
	st.def.has_tpgt = 0;
	st.def.tpgt = 0;

	st.d = calloc(1, sizeof(*st.d));
	if (!st.d)
		return ISC_ERR_NOMEM;

	for (size_t i = 0; i < kv->count && rc == 0; i++) {
		const struct isc_kv *e = &kv->items[i];
		if (!e->key || !e->value)
			continue;
		if (strcmp(e->key, "TargetName") == 0) {
			rc = finish_target(&st);
			if (rc)
				break;
			if (!isc_iscsi_name_valid(e->value)) {
				/* Never echo the hostile name into messages. */
				st.d->rejected_count++;
				st.skipping = 1;
				continue;
			}
			st.skipping = 0;
			rc = open_target(&st, e->value);
		} else if (strcmp(e->key, "TargetAddress") == 0) {
			struct isc_portal p;
			if (st.skipping)
				continue;
			if (!st.have_current) {
				set_err(err, errlen, "%s", "TargetAddress before any TargetName");
				rc = ISC_ERR_PROTOCOL;
				break;
			}
			if (isc_target_address_parse(e->value, &p) != 0) {
				/* The name was validated: safe to print. */
				set_err(err, errlen, "malformed TargetAddress for target %s",
					st.d->targets[st.d->target_count - 1].name);
				rc = ISC_ERR_PROTOCOL;
				break;
			}
			rc = add_portal(&st, &p);
		}
		/* Other keys (TargetAlias, vendor keys ...) are not ours. */
	}
	if (rc == 0)
		rc = finish_target(&st);
	if (rc) {
		if (rc == ISC_ERR_NOMEM && err && errlen && !err[0])
			set_err(err, errlen, "%s", "out of memory");
		isc_discovery_free(st.d);
		return rc;
	}
	*out = st.d;
	return 0;
}
