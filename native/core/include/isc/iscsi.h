/*
 * iscsi-initiator core: a non-blocking, fd-driven iSCSI initiator in C11.
 *
 * One isc_ctx is one iSCSI session with one TCP connection (discovery or
 * normal). The context never blocks and never starts threads: the caller
 * owns the event loop. The shape follows Sahlberg libiscsi's
 * get_fd / which_events / service model:
 *
 *     isc_ctx_new(&cfg, &ctx);
 *     isc_login_async(ctx, on_login, me);     // connect + login
 *     loop:
 *         fd = isc_get_fd(ctx);  ev = isc_which_events(ctx);
 *         t = isc_next_timeout_ms(ctx, now);  poll(fd, ev, t);
 *         isc_service(ctx, revents);          // revents 0 = timers only
 *
 * The fd can change (login redirects reconnect), so re-read it after every
 * isc_service(). Timers (connect/login/command deadlines, NOP keepalive) are
 * evaluated inside isc_service(); callers only need to wake up at
 * isc_next_timeout_ms().
 *
 * Callbacks run from inside isc_service() (or isc_ctx_abort/free) and may
 * queue new operations; they must not free the context.
 */
#ifndef ISC_ISCSI_H
#define ISC_ISCSI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "isc/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_API_VERSION 1

typedef struct isc_ctx isc_ctx;

enum isc_session_type {
	ISC_SESSION_NORMAL = 0,
	ISC_SESSION_DISCOVERY = 1
};

enum isc_digest_pref {
	ISC_DIGEST_NONE = 0,          /* offer "None" only */
	ISC_DIGEST_CRC32C = 1,        /* offer "CRC32C" only (fail if refused) */
	ISC_DIGEST_PREFER_CRC32C = 2, /* offer "CRC32C,None" */
	ISC_DIGEST_PREFER_NONE = 3    /* offer "None,CRC32C" */
};

enum isc_log_level {
	ISC_LOG_ERROR = 0,
	ISC_LOG_WARN = 1,
	ISC_LOG_INFO = 2,
	ISC_LOG_DEBUG = 3,
	ISC_LOG_TRACE = 4 /* one line per PDU sent/received (headers only) */
};

typedef void (*isc_log_fn)(int level, const char *msg, void *user);

/* Session events (see isc_config.event_fn). */
enum isc_event {
	/* The connection failed in Full Feature Phase; a reinstatement is
	 * scheduled (attempt = its number, code = why the connection failed).
	 * Pending SCSI commands stay queued and are reissued after it. */
	ISC_EVENT_CONNECTION_LOST = 1,
	/* A new connection logged in (same ISID, TSIH 0: session reinstatement,
	 * RFC 7143 section 6.3.5); queued commands are being reissued. */
	ISC_EVENT_RECONNECTED = 2,
	/* Reinstatement gave up (attempts used up or a non-retryable login
	 * refusal): every pending operation has failed with `code`. */
	ISC_EVENT_SESSION_FAILED = 3,
	/* The session logged out because the target asked (Async Message,
	 * AsyncEvent 1 or 4) and will not log back in (cfg.async_logout_close,
	 * or reinstatement is off): pending operations failed with
	 * ISC_ERR_TARGET_LOGOUT (code). */
	ISC_EVENT_LOGGED_OUT = 4
};

/* What the initiator does about an Async Message (RFC 7143 11.9). */
enum isc_async_action {
	ISC_ASYNC_REPORT = 0,    /* reported only (AsyncEvent 0, 255, reserved) */
	ISC_ASYNC_LOGOUT = 1,    /* logs out; the session ends (ISC_EVENT_LOGGED_OUT) */
	ISC_ASYNC_RELOGIN = 2,   /* logs out, then logs back in (same ISID); pending
	                            commands are reissued (CONNECTION_LOST, RECONNECTED) */
	ISC_ASYNC_RECONNECT = 3, /* closes the connection now and reinstates the
	                            session after Time2Wait (AsyncEvent 2/3) */
	ISC_ASYNC_FAIL = 4       /* AsyncEvent 2/3 with reinstatement off: the
	                            session fails (ISC_EVENT_SESSION_FAILED) */
};

/* One Async Message from the target (RFC 7143 section 11.9), as passed to
 * isc_config.async_fn. Pointers are valid only during the callback. */
struct isc_async_event {
	uint8_t event;           /* AsyncEvent: 0 SCSI event, 1 logout requested,
	                            2 connection drop, 3 session drop, 4 renegotiate,
	                            255 vendor specific */
	uint8_t vcode;           /* AsyncVCode (event 255) */
	int64_t lun;             /* LUN number (event 0); -1 if not single-level */
	uint64_t lun_raw;        /* the 8-byte LUN field as sent */
	uint16_t param1, param2, param3;
	const uint8_t *sense;    /* event 0: the sense data (may be NULL) */
	size_t sense_len;
	const uint8_t *data;     /* the whole data segment (other events) */
	size_t data_len;
	int action;              /* enum isc_async_action */
	/* event 1/4: ms until the logout is sent at the latest (Parameter3);
	 * event 2/3: ms until reinstatement starts (Parameter2, Time2Wait) */
	uint32_t delay_ms;
};

struct isc_ctx;
typedef void (*isc_event_fn)(struct isc_ctx *ctx, int event, int code, uint32_t attempt,
			     void *user);
typedef void (*isc_async_fn)(struct isc_ctx *ctx, const struct isc_async_event *ev, void *user);

#define ISC_MAX_CHAP_ALGS 4

/* Connection and session configuration. Everything is copied by
 * isc_ctx_new(); the caller may zero its secrets right after. */
struct isc_config {
	int session_type;              /* enum isc_session_type */
	const char *initiator_name;    /* required, iqn./eui./naa. */
	const char *initiator_alias;   /* optional */
	const char *target_name;       /* required for NORMAL, ignored for DISCOVERY */

	/* Where to connect: a numeric address (resolve names before). */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	/* Text of the portal as the user gave it, for messages and as the
	 * default TargetAddress in discovery ("[::1]:3260"). Optional. */
	const char *portal_text;

	/* CHAP. username == NULL: no authentication offered ("None").
	 * reverse_username/secret set: mutual CHAP (target must authenticate). */
	const char *username;
	const uint8_t *secret;
	size_t secret_len;
	const char *reverse_username;
	const uint8_t *reverse_secret;
	size_t reverse_secret_len;
	/* CHAP_A offer in preference order; 0 entries = default list
	 * SHA3-256, SHA-256, SHA-1, MD5 (unavailable digests are dropped). */
	int chap_algs[ISC_MAX_CHAP_ALGS];
	int chap_alg_count;

	int header_digest;             /* enum isc_digest_pref, default NONE */
	int data_digest;               /* enum isc_digest_pref, default NONE */

	uint8_t isid[6];               /* all zero: random, type 0x80 (random) */
	uint16_t cid;

	/* Limits we declare / propose (0 = library default). */
	uint32_t max_recv_data_segment_length; /* default 262144 */
	uint32_t max_burst_length;             /* default 262144 */
	uint32_t first_burst_length;           /* default 65536 */

	uint32_t login_timeout_ms;     /* connect + whole login, default 15000 */
	uint32_t command_timeout_ms;   /* each task after login, default 30000 */
	uint32_t logout_timeout_ms;    /* default 5000 */
	uint32_t max_redirects;        /* default 4 */

	isc_log_fn log_fn;             /* optional */
	void *log_user;
	int log_level;                 /* messages above this level are dropped */

	/* Connection loss in Full Feature Phase (ERL 0). 0 = fail every
	 * pending command at once; N = up to N reinstatement attempts with
	 * exponential backoff from reconnect_delay_ms (default 250) capped at
	 * reconnect_max_delay_ms (default 5000); pending commands are reissued.
	 * Nothing is dropped silently: each command completes or fails. */
	uint32_t max_reconnects;
	uint32_t reconnect_delay_ms;
	uint32_t reconnect_max_delay_ms;
	/* NOP-Out keepalive: ping after this much receive silence (0 = off);
	 * no NOP-In within nop_timeout_ms (default 10000) = connection lost. */
	uint32_t nop_interval_ms;
	uint32_t nop_timeout_ms;
	/* How long an ABORT TASK (sent when a command times out or is
	 * cancelled) may take before the connection is dropped; default 10000. */
	uint32_t tmf_timeout_ms;

	isc_event_fn event_fn;         /* optional */
	void *event_user;

	/* 1: operations only queue their PDUs; they are written at the end of
	 * the next isc_service() call (isc_service(ctx, 0) pushes them). An
	 * event loop that submits many commands per turn then pays one
	 * sendmsg() for all of them instead of one each. */
	int defer_send;

	/* 1: wake the caller once for several answers (of at most 16 KiB each)
	 * when 6 or more commands are in flight, by setting SO_RCVLOWAT from
	 * what the outstanding commands will return (rxwake.c). Fewer
	 * wakeups and recv() calls per command; an answer waits at most
	 * ~2 ms for the ones it is batched with. Takes effect only if the
	 * event loop calls isc_prepare_wait() before each wait. */
	int rx_coalesce;

	/* Async Messages (RFC 7143 11.9), each reported here before it is acted
	 * on. Optional. */
	isc_async_fn async_fn;
	void *async_user;
	/* What a target's logout request (AsyncEvent 1) or renegotiation
	 * request (AsyncEvent 4) leads to: 0 (default) log out and log back in
	 * when reinstatement is on (max_reconnects > 0), as open-iscsi does;
	 * 1 log out and end the session. Either way new commands wait, the
	 * ones at the target may finish until the Logout goes out (at the
	 * latest half of Parameter3 after the request). */
	int async_logout_close;
};

/* Values in force after login. All booleans are 0/1. */
struct isc_negotiated {
	int header_digest;             /* 1 = CRC32C */
	int data_digest;
	uint32_t max_recv_data_segment_length; /* we receive at most */
	uint32_t max_xmit_data_segment_length; /* target receives at most */
	uint32_t max_burst_length;
	uint32_t first_burst_length;
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	uint32_t max_outstanding_r2t;
	uint32_t max_connections;
	uint8_t initial_r2t;
	uint8_t immediate_data;
	uint8_t data_pdu_in_order;
	uint8_t data_sequence_in_order;
	uint8_t error_recovery_level;
	uint8_t auth_method_chap;      /* 1 if CHAP was performed */
	uint8_t mutual_chap;           /* 1 if the target was authenticated */
	int chap_alg;                  /* enum isc_chap_alg or 0 */
	uint16_t tsih;
	uint16_t tpgt;                 /* TargetPortalGroupTag (0 if not sent) */
	char target_alias[256];
};

/* Details of the last failure, filled for every failed operation. */
struct isc_error_info {
	int code;                      /* enum isc_err */
	int status_class;              /* login status class, -1 if none */
	int status_detail;             /* login status detail, -1 if none */
	int sys_errno;                 /* errno behind ISC_ERR_IO etc, 0 if none */
	char message[512];             /* what failed, where, what to check; no secrets */
};

/* ---- discovery results ---- */
struct isc_portal {
	char address[256];             /* numeric IPv4/IPv6 (no brackets) or hostname */
	uint16_t port;
	uint16_t tpgt;
	uint8_t has_tpgt;
	uint8_t defaulted;             /* 1 when the target sent no address: the
	                                  portal we asked was substituted */
};

struct isc_target_entry {
	char *name;
	struct isc_portal *portals;
	size_t portal_count;
};

struct isc_discovery {
	struct isc_target_entry *targets;
	size_t target_count;
	size_t rejected_count;         /* entries dropped as invalid (bad names) */
};

void isc_discovery_free(struct isc_discovery *d);

/* ---- SCSI task result ---- */
enum isc_data_dir {
	ISC_DIR_NONE = 0,
	ISC_DIR_READ = 1,
	ISC_DIR_WRITE = 2
};

struct isc_scsi_result {
	uint8_t status;                /* SCSI status byte (0 GOOD, 2 CHECK CONDITION...) */
	uint8_t response;              /* iSCSI response code (0 = completed at target) */
	uint8_t sense[252];
	size_t sense_len;
	uint8_t *data;                 /* data-in, owned by the result */
	/* Bytes the target sent, contiguous from offset 0: each Data-In must
	 * continue exactly where the previous one ended (DataPDUInOrder and
	 * DataSequenceInOrder are Yes), so nothing past data_len was written
	 * by the target. A GOOD status completes only when data_len is what
	 * the status and residual claim (EDTL, or EDTL - residual on
	 * underflow); otherwise the task fails with ISC_ERR_PROTOCOL. In a
	 * buffer the core allocated, bytes past data_len are zero. */
	size_t data_len;
	uint32_t residual;             /* residual count reported */
	int overflow;
	int underflow;
	int data_borrowed;             /* data is the caller's buffer (not freed) */
};

void isc_scsi_result_free(struct isc_scsi_result *r);

/* status: 0 or a negative isc_err (details via isc_last_error()).
 * result: operation-specific, see each call; NULL on failure. */
typedef void (*isc_cb)(isc_ctx *ctx, int status, void *result, void *priv);

/* ---- lifecycle ---- */
int isc_ctx_new(const struct isc_config *cfg, isc_ctx **out);
/* Completes every pending operation with ISC_ERR_CLOSED, closes the socket
 * without logging out, zeroes secrets and frees. */
void isc_ctx_free(isc_ctx *ctx);
/* Completes every pending operation with `err` (ISC_ERR_CANCELLED for a user
 * abort) and closes the connection. The context stays valid (for free). */
void isc_ctx_abort(isc_ctx *ctx, int err);

/* ---- event loop integration ---- */
int isc_get_fd(const isc_ctx *ctx);            /* -1 when no socket */
/* Incremented every time the context opens a new socket. A poller keyed on
 * the fd number alone can miss a redirect that reuses the same number. */
uint32_t isc_get_fd_generation(const isc_ctx *ctx);
int isc_which_events(const isc_ctx *ctx);      /* POLLIN | POLLOUT */
/* Milliseconds until the next internal deadline relative to now_ms
 * (CLOCK_MONOTONIC ms, see isc_now_ms()), or -1 when no timer is armed. */
int64_t isc_next_timeout_ms(const isc_ctx *ctx, int64_t now_ms);
/* Process readiness (POLLIN/POLLOUT/POLLERR/POLLHUP) and due timers.
 * Returns 0, or a negative isc_err when the connection failed (pending
 * callbacks have then already run with that error). */
int isc_service(isc_ctx *ctx, int revents);
/* Writes what cfg.defer_send queued, without running timers or callbacks
 * (so no callback can run inside it). Returns 0 when done (what the socket
 * did not take waits for POLLOUT), 1 when the caller must call
 * isc_service() instead (not connected yet, or the write failed). */
int isc_flush(isc_ctx *ctx);
/* Optional, right before waiting on the fd (after the last submission of
 * the loop turn): tunes the socket's receive wakeup level (cfg.rx_coalesce).
 * Returns 1 when it armed a timer: isc_next_timeout_ms() has changed. */
int isc_prepare_wait(isc_ctx *ctx);
/* Bytes still to come of a PDU whose header has arrived (0 if none): an
 * event loop that busy-polls can keep polling while an answer is half in. */
size_t isc_rx_partial(const isc_ctx *ctx);
int64_t isc_now_ms(void);

/* ---- operations ----
 * Each returns 0 when the callback will run exactly once later, or a
 * negative isc_err when the operation was refused at once (the callback is
 * then never run; details in isc_last_error()). */
/* Connect and log in (following redirects). result: NULL. */
int isc_login_async(isc_ctx *ctx, isc_cb cb, void *priv);
/* SendTargets=All on a logged-in discovery session.
 * result: struct isc_discovery *, owned by the callee: free it with
 * isc_discovery_free(). */
int isc_discovery_async(isc_ctx *ctx, isc_cb cb, void *priv);
/* A SCSI command on a logged-in normal session to LUN number `lun`
 * (0..16383, encoded with SAM peripheral/flat addressing). The CDB (<= 16 bytes) and
 * data_out are copied. For reads, in_len is the allocation the target may
 * fill. result: struct isc_scsi_result * (callee frees with
 * isc_scsi_result_free); a non-GOOD status still completes with status 0 —
 * inspect result->status. */
int isc_scsi_async(isc_ctx *ctx, uint64_t lun, const uint8_t *cdb, size_t cdb_len,
		   int dir, const uint8_t *data_out, size_t out_len, size_t in_len,
		   isc_cb cb, void *priv);
/* A SCSI command with caller-owned buffers (no copies at submission):
 * data_out and data_in must stay valid and unmodified until the callback
 * runs. The core writes Data-In straight into data_in (result->data points
 * to it, result->data_borrowed = 1) and never touches either buffer after
 * the callback: a command is only completed early (timeout, cancel) once
 * the target confirmed ABORT TASK or the connection is closed. */
struct isc_scsi_cmd {
	uint64_t lun;
	const uint8_t *cdb;
	size_t cdb_len;
	int dir;                       /* enum isc_data_dir */
	const uint8_t *data_out;       /* dir WRITE */
	size_t out_len;
	uint8_t *data_in;              /* dir READ: NULL = the core allocates */
	size_t in_len;
	uint32_t timeout_ms;           /* 0 = cfg.command_timeout_ms */
};
/* id_out (optional): a handle for isc_task_abort(), unique per context. */
int isc_scsi_submit(isc_ctx *ctx, const struct isc_scsi_cmd *cmd, isc_cb cb, void *priv,
		    uint32_t *id_out);
/* Aborts one SCSI command: at once if it never reached the target, else by
 * ABORT TASK (RFC 7143 section 11.5.1). Its callback then runs with `err`
 * (ISC_ERR_CANCELLED or ISC_ERR_TIMEDOUT). ISC_ERR_INVAL if `id` is not a
 * pending SCSI command (e.g. it just completed). */
int isc_task_abort(isc_ctx *ctx, uint32_t id, int err);
/* Logout (reason: close the session), then close the socket. result: NULL. */
int isc_logout_async(isc_ctx *ctx, isc_cb cb, void *priv);

/* ---- state ---- */
/* 1 once in Full Feature Phase. */
int isc_is_logged_in(const isc_ctx *ctx);
const struct isc_negotiated *isc_get_negotiated(const isc_ctx *ctx);
const struct isc_error_info *isc_last_error(const isc_ctx *ctx);
/* Number of operations not yet completed. */
size_t isc_pending_count(const isc_ctx *ctx);
/* The portal actually in use (after redirects), "addr:port". */
const char *isc_current_portal(const isc_ctx *ctx);

/* ---- address helper ---- */
/* Parses a numeric portal: "10.0.0.1", "10.0.0.1:3261", "[fe80::1%eth0]:3260",
 * "::1" (bare IPv6, no port). Never resolves names (returns ISC_ERR_INVAL for
 * a hostname: resolve it yourself). default_port is used when none is given. */
int isc_parse_numeric_portal(const char *text, uint16_t default_port,
			     struct sockaddr_storage *addr, socklen_t *addrlen);

/* ---- blocking convenience layer for C programs (poll loop) ---- */
int isc_sync_login(isc_ctx *ctx);
int isc_sync_discovery(isc_ctx *ctx, struct isc_discovery **out);
int isc_sync_scsi(isc_ctx *ctx, uint64_t lun, const uint8_t *cdb, size_t cdb_len,
		  int dir, const uint8_t *data_out, size_t out_len, size_t in_len,
		  struct isc_scsi_result **out);
int isc_sync_logout(isc_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
