/*
 * Error code strings and errno mapping (contract: include/isc/errors.h).
 *
 * The code strings are what the JS facade exposes as `error.code`, so they
 * are stable API. Where Node itself already has a well-known code for the
 * same condition (ETIMEDOUT, ECONNREFUSED, ABORT_ERR, ...) we reuse it so
 * callers can handle socket-level failures uniformly; iSCSI-specific
 * conditions get an ISCSI_ prefix.
 */
#include <errno.h>
#include <stddef.h>

#include "isc/errors.h"

struct err_entry {
	const char *code;
	const char *text;
};

/* Indexed by -err (ISC_OK = 0 ... ISC_ERR_ACCESS = 35). */
static const struct err_entry err_table[] = {
	{ "OK", "success" },
	{ "ENOMEM", "out of memory" },
	{ "ERR_INVALID_ARG_VALUE", "invalid argument" },
	{ "ETIMEDOUT", "operation timed out" },
	{ "ECONNREFUSED", "connection refused" },
	{ "EHOSTUNREACH", "host or network unreachable" },
	{ "ISCSI_CONNECTION_ERROR", "connection error" },
	{ "ISCSI_AUTH_FAILED", "authentication failed" },
	{ "ISCSI_TARGET_NOT_FOUND", "target not found" },
	{ "ISCSI_LOGIN_REJECTED", "login rejected by the target" },
	{ "ISCSI_PROTOCOL_ERROR", "iSCSI protocol error" },
	{ "ABORT_ERR", "operation cancelled" },
	{ "ISCSI_SESSION_CLOSED", "session closed" },
	{ "ISCSI_DIGEST_ERROR", "header or data digest mismatch" },
	{ "ISCSI_TOO_MANY_REDIRECTS", "too many login redirects" },
	{ "ISCSI_SCSI_ERROR", "SCSI command failed" },
	{ "ISCSI_INVALID_STATE", "operation not valid in the current state" },
	{ "ISCSI_TOO_LARGE", "length exceeds a negotiated or protocol limit" },
	{ "ISCSI_UNSUPPORTED", "not supported" },
	{ "ISCSI_TARGET_ERROR", "target error" },
	{ "EADDRINUSE", "address in use or not available" },
	{ "ISCSID_NOT_RUNNING", "iscsid is not running (nothing listens on its management socket)" },
	{ "ISCSID_UNSUPPORTED_VERSION", "the running iscsid uses a request layout this library does not know" },
	{ "ISCSI_PERMISSION_DENIED", "iscsid refused the request (it requires uid 0)" },
	{ "ISCSI_ALREADY_LOGGED_IN", "a session to this node already exists" },
	{ "ISCSI_SESSION_NOT_FOUND", "no such session" },
	{ "ISCSI_TRANSPORT_NOT_FOUND", "iSCSI transport not available (kernel module iscsi_tcp missing?)" },
	{ "ISCSID_ERROR", "iscsid reported an error" },
	{ "ISCSI_TARGET_LOGOUT", "the target asked for a logout and the session ended" },
	{ "ISCSI_NODE_NOT_FOUND", "no such node in the node database" },
	{ "ISCSI_NODE_DB_ERROR", "the node database cannot be read or written" },
	{ "ISCSI_NODE_DB_LOCKED", "the node database is locked by another process" },
	{ "ISCSI_CONFIG_ERROR", "invalid iSCSI configuration file" },
	{ "FIRMWARE_INVALID_TABLE", "the boot firmware table is corrupt" },
	{ "FIRMWARE_UNSUPPORTED", "this kind of boot firmware is not supported" },
	{ "EACCES", "permission denied" },
};

#define ERR_TABLE_LEN (sizeof(err_table) / sizeof(err_table[0]))

/* A new enum value without a table row would silently map to "unknown". */
_Static_assert(ERR_TABLE_LEN == (size_t)-ISC_ERR__LAST, "err_table out of sync with enum isc_err");

static const struct err_entry *lookup(int err)
{
	/* Compare in the negative domain: -INT_MIN would overflow. */
	if (err > 0 || err <= -(int)ERR_TABLE_LEN)
		return NULL;
	return &err_table[-err];
}

const char *isc_err_code(int err)
{
	const struct err_entry *e = lookup(err);
	return e ? e->code : "ISCSI_UNKNOWN_ERROR";
}

const char *isc_strerror(int err)
{
	const struct err_entry *e = lookup(err);
	return e ? e->text : "unknown error";
}

int isc_err_from_errno(int errnum)
{
	switch (errnum) {
	case ECONNREFUSED:
		return ISC_ERR_CONNREFUSED;
	case EHOSTUNREACH:
	case ENETUNREACH:
#ifdef EHOSTDOWN
	case EHOSTDOWN:
#endif
	case ENETDOWN:
		return ISC_ERR_HOSTUNREACH;
	case ETIMEDOUT:
		return ISC_ERR_TIMEDOUT;
	case ENOMEM:
		return ISC_ERR_NOMEM;
	case EADDRINUSE:
	case EADDRNOTAVAIL:
		return ISC_ERR_ADDRINUSE;
	default:
		return ISC_ERR_IO;
	}
}
