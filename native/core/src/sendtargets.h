/*
 * SendTargets response parsing (RFC 7143 section 12.3 and appendix C).
 *
 * The response is a sequence of TargetName=<name> keys, each followed by
 * zero or more TargetAddress=<domainname>[:<port>],<tpgt> keys. Where a
 * target lists no address, the portal the discovery was sent to is
 * substituted (RFC 7143: "the ... address ... of the portal used for the
 * SendTargets request"). Addresses: IPv4 dotted quad, bracketed IPv6
 * ("[fe80::1]:3260,1"), or a hostname.
 *
 * Names from a target are untrusted input: a TargetName containing bytes
 * <= 0x20 (controls, space) or 0x7f, invalid UTF-8, longer than 223 bytes or
 * not starting with iqn./eui./naa. is dropped together with its addresses
 * (counted in rejected_count; open-iscsi#543, CVE-2026-18724).
 */
#ifndef ISC_SENDTARGETS_H
#define ISC_SENDTARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "isc/iscsi.h"
#include "text.h"

/* RFC 7143 section 4.2.7.1: names are at most 223 bytes. */
#define ISC_NAME_MAX 223

/* Parse a whole SendTargets text (key list in wire order).
 * default_address/default_port: the portal we asked.
 * Returns 0 and a new *out (free with isc_discovery_free), or
 * ISC_ERR_PROTOCOL (TargetAddress before any TargetName, malformed address)
 * with a message in err, or ISC_ERR_NOMEM. */
int isc_sendtargets_parse(const struct isc_kv_list *kv, const char *default_address,
			  uint16_t default_port, struct isc_discovery **out,
			  char *err, size_t errlen);

/* Parse one TargetAddress value into *out. Port default 3260; tpgt absent ->
 * has_tpgt = 0. Returns 0 or ISC_ERR_PROTOCOL. */
int isc_target_address_parse(const char *value, struct isc_portal *out);

/* 1 when name is an acceptable iSCSI name (rules above). Also used to
 * validate user-supplied initiator and target names. */
int isc_iscsi_name_valid(const char *name);

#endif
