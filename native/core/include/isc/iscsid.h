/*
 * iscsid management IPC client: kernel iSCSI sessions through open-iscsi's
 * daemon, without running iscsiadm.
 *
 * Wire facts (open-iscsi usr/mgmt_ipc.h, unchanged 2.0.874 .. 2.1.12): an
 * abstract AF_UNIX stream socket "@ISCSIADM_ABSTRACT_NAMESPACE", one request
 * per connection: a native-endian iscsiadm_req_t (command, payload_len, a
 * union whose largest member is { int sid; node_rec_t rec; }) and one
 * 2464-byte iscsiadm_rsp_t back. There is no version field: the size of
 * node_rec_t changed between releases, and a request shorter than the
 * daemon's struct leaves iscsid blocked in read() for everyone. So:
 *
 *   - every client first probes the daemon's request size with a harmless
 *     CONFIG_INAME request, zero-padded to each known size in ascending
 *     order and half-closed (shutdown(SHUT_WR)): a too-short probe gets EOF,
 *     the exact size gets a response followed by a clean EOF, a too-long one
 *     a response followed by ECONNRESET (unread bytes);
 *   - a login request is only ever written with the layout the probe of the
 *     same operation found; an unknown size is ISC_ERR_ISCSID_UNSUPPORTED.
 *
 * Like the session engine this is fd-driven and never blocks: the caller
 * polls isc_iscsid_fd() for isc_iscsid_events() and calls
 * isc_iscsid_service(). Deadlines belong to the caller (cancel on expiry);
 * iscsid itself may take minutes to answer a login (its own retries) or, in
 * 2.1.10 with node.session.scan=manual, never answer (open-iscsi#484).
 */
#ifndef ISC_ISCSID_H
#define ISC_ISCSID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_ISCSID_SOCKET_NAME "ISCSIADM_ABSTRACT_NAMESPACE"
#define ISC_ISCSID_RSP_SIZE 2464u
/* Largest request we ever build (the newest known layout). */
#define ISC_ISCSID_MAX_REQUEST 16128u

/* iscsiadm_cmd_e values used here (open-iscsi usr/mgmt_ipc.h). */
enum isc_iscsid_command {
	ISC_IPC_SESSION_LOGIN = 1,
	ISC_IPC_SESSION_LOGOUT = 2,
	ISC_IPC_SESSION_STATS = 7,
	ISC_IPC_CONFIG_INAME = 8,
	ISC_IPC_CONFIG_IALIAS = 9,
	ISC_IPC_CONFIG_FILE = 10,
	ISC_IPC_SESSION_INFO = 13,
};

/* ---- layouts (pure) ---------------------------------------------------- */

struct isc_rec_layout;

/* Known layouts in ascending request size; NULL past the end. */
const struct isc_rec_layout *isc_iscsid_layout_at(size_t index);
/* The layout whose request size is exactly `request_size`, or NULL. */
const struct isc_rec_layout *isc_iscsid_layout_for_size(size_t request_size);
size_t isc_iscsid_layout_request_size(const struct isc_rec_layout *layout);
/* open-iscsi releases using this layout, e.g. "2.1.1 - 2.1.10". */
const char *isc_iscsid_layout_versions(const struct isc_rec_layout *layout);

/* ---- request / response codecs (pure) ----------------------------------- */

/*
 * Build a SESSION_LOGIN request for `layout` into buf (buflen >= the layout's
 * request size) from open-iscsi node-record keys ("node.name",
 * "node.conn[0].address", "node.session.auth.password", ...; values in
 * iscsiadm's spelling, "<empty>" = empty). open-iscsi's built-in defaults
 * (idbm_node_setup_defaults) are applied first, then the keys in order.
 * Unknown keys, bad values and values too long for their field fail with
 * ISC_ERR_INVAL / ISC_ERR_TOO_LARGE / ISC_ERR_UNSUPPORTED, and the offending
 * KEY (never its value) is copied to bad_key. Returns the request length.
 * The buffer holds CHAP secrets in clear: the caller must isc_memzero it.
 */
int isc_iscsid_build_login(const struct isc_rec_layout *layout, const char *const *keys,
			   const char *const *values, size_t count, uint8_t *buf, size_t buflen,
			   char *bad_key, size_t bad_key_len);

/* A request that carries no node record (CONFIG_*, LOGOUT, SESSION_INFO,
 * SESSION_STATS): command + sid, zero-padded to `len` bytes. */
int isc_iscsid_build_simple(int command, int sid, uint8_t *buf, size_t len);

struct isc_iscsid_response {
	int command;        /* echoed command (0 when iscsid refused the peer) */
	int iscsid_err;     /* ISCSI_ERR_* (open-iscsi include/iscsi_err.h) */
	char text[256];     /* CONFIG_*: the returned string (NUL-terminated) */
	int session_state;  /* SESSION_INFO */
	int conn_state;
};

/* Decode a 2464-byte response. ISC_ERR_PROTOCOL if it is short or echoes
 * another command than `expected_command` (except the (0, ACCESS) refusal). */
int isc_iscsid_parse_response(const uint8_t *buf, size_t len, int expected_command,
			      struct isc_iscsid_response *out);

/* ISCSI_ERR_* -> enum isc_err, and its open-iscsi name ("ISCSI_ERR_LOGIN_AUTH_FAILED"). */
int isc_iscsid_error(int iscsid_err);
const char *isc_iscsid_error_name(int iscsid_err);

/* ---- the client (fd-driven) -------------------------------------------- */

typedef struct isc_iscsid isc_iscsid;

/* socket_name: abstract name without the leading NUL; NULL = iscsid's. */
int isc_iscsid_new(const char *socket_name, isc_iscsid **out);
/* Closes any connection and zeroes buffered requests (they may hold secrets). */
void isc_iscsid_free(isc_iscsid *c);

/* Start one operation (one at a time per client; ISC_ERR_STATE otherwise).
 * Each starts with a size probe (login: always; others: unless this client
 * already probed successfully). */
int isc_iscsid_probe_start(isc_iscsid *c);
int isc_iscsid_login_start(isc_iscsid *c, const char *const *keys, const char *const *values,
			   size_t count, char *bad_key, size_t bad_key_len);
int isc_iscsid_request_start(isc_iscsid *c, int command, int sid);

/* -1 when idle. The fd changes between the probe's connections. */
int isc_iscsid_fd(const isc_iscsid *c);
/* Incremented on every new connection (fd numbers are reused, so an event
 * loop must re-register its watcher when this changes). */
unsigned isc_iscsid_fd_generation(const isc_iscsid *c);
/* POLLIN / POLLOUT wanted now (0 when idle). */
int isc_iscsid_events(const isc_iscsid *c);
/* Advance after poll() reported `revents` (0 is fine: it just retries).
 * Returns 0 while in progress, 1 when the operation finished with a
 * response (see isc_iscsid_result; iscsid's own error is not a failure
 * here), or a negative isc_err. */
int isc_iscsid_service(isc_iscsid *c, int revents);
/* Abandon the current operation (closes the connection). Safe when idle. */
void isc_iscsid_cancel(isc_iscsid *c);

const struct isc_iscsid_response *isc_iscsid_result(const isc_iscsid *c);
/* The probed layout (NULL before a successful probe). */
const struct isc_rec_layout *isc_iscsid_layout(const isc_iscsid *c);
/* For ISC_ERR_ISCSID_UNSUPPORTED: a short description of what the probe saw. */
const char *isc_iscsid_probe_detail(const isc_iscsid *c);

/* Blocking helper for C users and tests: poll() until done or timeout_ms
 * (< 0: forever). Returns like isc_iscsid_service, ISC_ERR_TIMEDOUT. */
int isc_iscsid_run_sync(isc_iscsid *c, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
