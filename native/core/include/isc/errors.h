/*
 * Error codes of the iSCSI core.
 *
 * Every fallible function returns 0 (ISC_OK) or a negative isc_err. The
 * enum is stable: values are never renumbered, new ones are appended.
 * isc_err_code() gives the stable string the JS facade exposes as
 * `error.code`; isc_strerror() a short English description.
 * (Shape follows libnvme's own errno range + nvme_errno_to_string().)
 */
#ifndef ISC_ERRORS_H
#define ISC_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

enum isc_err {
	ISC_OK = 0,
	ISC_ERR_NOMEM = -1,           /* allocation failed */
	ISC_ERR_INVAL = -2,           /* bad argument from the caller */
	ISC_ERR_TIMEDOUT = -3,        /* the operation's deadline passed */
	ISC_ERR_CONNREFUSED = -4,     /* TCP connect refused */
	ISC_ERR_HOSTUNREACH = -5,     /* no route / network unreachable */
	ISC_ERR_IO = -6,              /* other socket error (reset, EPIPE ...) */
	ISC_ERR_AUTH_FAILED = -7,     /* CHAP failed either way, or 0x0201 */
	ISC_ERR_TARGET_NOT_FOUND = -8,/* login status 0x0203 / 0x0204 */
	ISC_ERR_LOGIN_REJECTED = -9,  /* any other non-success login status */
	ISC_ERR_PROTOCOL = -10,       /* malformed or unexpected PDU/text */
	ISC_ERR_CANCELLED = -11,      /* aborted by the caller */
	ISC_ERR_CLOSED = -12,         /* context closed / connection gone */
	ISC_ERR_DIGEST = -13,         /* header or data CRC32C mismatch */
	ISC_ERR_TOO_MANY_REDIRECTS = -14,
	ISC_ERR_SCSI = -15,           /* SCSI status != GOOD (see sense) */
	ISC_ERR_STATE = -16,          /* call not valid in this state */
	ISC_ERR_TOO_LARGE = -17,      /* a length exceeds a negotiated/spec limit */
	ISC_ERR_UNSUPPORTED = -18,    /* e.g. CHAP algorithm not available */
	ISC_ERR_TARGET_ERROR = -19,   /* login status class 3 (target error) */
	ISC_ERR_ADDRINUSE = -20,
	/* iscsid management IPC (kernel sessions). */
	ISC_ERR_ISCSID_NOT_RUNNING = -21,   /* nobody listens on iscsid's socket */
	ISC_ERR_ISCSID_UNSUPPORTED = -22,   /* request layout of the running iscsid unknown */
	ISC_ERR_PERMISSION = -23,           /* iscsid refused the caller (uid 0 required) */
	ISC_ERR_ALREADY_LOGGED_IN = -24,    /* ISCSI_ERR_SESS_EXISTS */
	ISC_ERR_SESSION_NOT_FOUND = -25,    /* ISCSI_ERR_SESS_NOT_FOUND */
	ISC_ERR_TRANSPORT_NOT_FOUND = -26,  /* ISCSI_ERR_TRANS_NOT_FOUND (no iscsi_tcp) */
	ISC_ERR_ISCSID = -27,               /* any other iscsid error (raw code kept) */
	/* The target asked for a logout (Async Message, AsyncEvent 1 or 4) and
	 * the session ended: commands still pending failed with this. */
	ISC_ERR_TARGET_LOGOUT = -28,
	/* Admin half (node database, configuration files, firmware). */
	ISC_ERR_NODE_NOT_FOUND = -29,       /* no such node record */
	ISC_ERR_NODE_DB = -30,              /* node database unreadable/unwritable/corrupt */
	ISC_ERR_NODE_DB_LOCKED = -31,       /* open-iscsi's DB lock held past the deadline */
	ISC_ERR_CONFIG = -32,               /* iscsid.conf / initiatorname / iface file invalid */
	ISC_ERR_FIRMWARE_INVALID = -33,     /* boot firmware table corrupt */
	ISC_ERR_FIRMWARE_UNSUPPORTED = -34, /* boot firmware kind we do not read (e.g. ppc OF) */
	ISC_ERR_ACCESS = -35,               /* permission denied reading/writing a file */
	ISC_ERR__LAST = -36
};

/* Stable code string: "ISCSI_AUTH_FAILED", "ETIMEDOUT", ... Never NULL. */
const char *isc_err_code(int err);
/* Human description. Never NULL. */
const char *isc_strerror(int err);
/* Map an errno value from a socket call to an isc_err. */
int isc_err_from_errno(int errnum);

#ifdef __cplusplus
}
#endif
#endif
