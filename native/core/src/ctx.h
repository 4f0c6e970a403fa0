/*
 * Internal state of an isc_ctx, shared by the files that implement the
 * engine: ctx.c (lifecycle, config, errors, logging), transport.c (socket,
 * connect, send queue) and session.c (tasks, PDU dispatch, timers).
 */
#ifndef ISC_CTX_H
#define ISC_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "isc/iscsi.h"
#include "login.h"
#include "pdu.h"
#include "text.h"

enum isc_state {
	ISC_ST_IDLE,       /* created, nothing started */
	ISC_ST_CONNECTING, /* non-blocking connect in progress */
	ISC_ST_LOGIN,      /* login PDUs being exchanged */
	ISC_ST_FFP,        /* Full Feature Phase */
	ISC_ST_LOGOUT,     /* logout sent, waiting for the response */
	ISC_ST_RECONNECT_WAIT, /* connection lost in FFP, reinstatement scheduled */
	ISC_ST_CLOSED      /* logged out, failed or aborted: terminal */
};

enum isc_task_kind {
	ISC_TASK_LOGIN,
	ISC_TASK_TEXT,     /* SendTargets */
	ISC_TASK_SCSI,
	ISC_TASK_LOGOUT
};

struct isc_task {
	struct isc_task *next;
	int kind;
	uint32_t id;           /* stable handle for isc_task_abort (ITT may change) */
	uint32_t itt;
	uint32_t cmdsn;
	int queued;            /* 1 once its command PDU went to the send queue */
	int64_t deadline_ms;
	isc_cb cb;
	void *priv;

	/* TEXT */
	uint32_t ttt;
	struct isc_text_accum text;

	/* SCSI */
	uint64_t lun;
	uint8_t cdb[16];
	size_t cdb_len;
	int dir;
	const uint8_t *out;    /* data-out: our copy, or the caller's (borrowed) */
	uint8_t *out_copy;     /* set when `out` is our copy (freed with the task) */
	size_t out_len;
	uint32_t timeout_ms;
	int aborting;          /* ABORT TASK sent, waiting for its response */
	int abort_err;         /* the error the task completes with once aborted */
	uint32_t tmf_itt;
	size_t unsolicited;    /* bytes sent before any R2T (immediate + unsolicited) */
	size_t in_cap;
	struct isc_scsi_result *res;
	uint32_t next_datasn;  /* expected Data-In DataSN */
	int got_status;
	/* Write accounting: bytes sent or solicited so far (immediate +
	 * unsolicited, then each R2T's range) and the next R2TSN. With
	 * DataSequenceInOrder=Yes an R2T must ask for exactly the next bytes. */
	size_t out_next;
	uint32_t next_r2tsn;
	/* Non-zero: the task broke the protocol on a connection being dropped
	 * for it; it completes with this code (not reissued) once closed. */
	int fail_code;
};

/* One buffer waiting to be written. */
/* One PDU waiting to be written: the header (and, for copied PDUs, the
 * whole PDU) in data[]; for a by-reference PDU the data segment stays in
 * the task's buffer (ext) and data[] holds header, then pad + digest. On
 * the wire: data[0..head) ext[0..ext_len) data[head..len). `off` counts the
 * bytes already written across all three parts. */
struct isc_txbuf {
	struct isc_txbuf *next;
	size_t len;            /* bytes in data[] */
	size_t head;           /* by-reference: header bytes in data[]; else len */
	const uint8_t *ext;
	size_t ext_len;
	size_t off;
	uint8_t data[];
};

/* Direct placement of one large Data-In (direct.c). */
struct isc_direct {
	int active;
	uint8_t hdr[ISC_BHS_LEN + ISC_DIGEST_LEN];
	uint8_t *dst;
	size_t dsl, got;
	uint8_t trail[8];      /* pad (<= 3) + data digest (4) */
	size_t trail_len, trail_got;
};

struct isc_ctx {
	/* configuration (owned copies) */
	struct isc_config cfg;        /* string/secret pointers below */
	char *initiator_name;
	char *initiator_alias;
	char *target_name;
	char *portal_text;
	char *username;
	char *reverse_username;
	uint8_t *secret;
	size_t secret_len;
	uint8_t *reverse_secret;
	size_t reverse_secret_len;
	int chap_algs[ISC_MAX_CHAP_ALGS];
	int chap_alg_count;
	int chap_sha256_dropped;      /* the tgt CHAP_A=7 fallback ran (session.c) */

	int state;
	int fd;
	uint32_t fd_generation;
	struct sockaddr_storage addr; /* current portal (changes on redirect) */
	socklen_t addrlen;
	char portal[300];             /* "addr:port" of the current portal */
	uint32_t redirects;

	struct isc_login login;
	int login_active;
	struct isc_rx rx;
	struct isc_digests dg;        /* in force (only after login) */
	struct isc_txbuf *tx_head, *tx_tail;
	size_t tx_bytes;
	int rx_drained;               /* the last recv() returned less than asked */
	int rx_backlog;               /* whole PDUs left in rx (dispatch budget ran out) */
	/* rxwake.c: SO_RCVLOWAT in force, stall deadline, fallback to 1 */
	int rxwake_level;
	int64_t rxwake_deadline;
	int rxwake_suspended;
	struct isc_direct direct;

	struct isc_task *tasks;       /* pending, in submission order */
	size_t task_count;
	uint32_t next_itt;
	uint32_t cmdsn;               /* next CmdSN to assign */
	uint32_t exp_statsn;
	uint32_t exp_cmdsn;
	uint32_t max_cmdsn;

	uint32_t next_task_id;
	int ever_logged_in;           /* reached FFP once: reinstatement allowed */
	int reconnecting;             /* between connection loss and re-login */
	uint32_t reconnect_attempt;
	int64_t reconnect_at;
	int64_t last_rx_ms;           /* keepalive: last time the target spoke */
	int ping_outstanding;
	uint32_t ping_itt;
	int64_t ping_deadline;

	struct isc_negotiated neg;
	struct isc_error_info err;
	/* The message for the task marked fail_code (one per dropped connection). */
	char task_fail_msg[sizeof(((struct isc_error_info *)0)->message)];
	/* async.c: a target-requested logout (AsyncEvent 1/4). */
	int async_logout;             /* 0 none, 1 waiting for commands, 2 Logout sent */
	int64_t async_logout_at;      /* send the Logout by then at the latest */
	int64_t reconnect_delay_override; /* >= 0: next reinstatement delay (Time2Wait) */
	int in_callback;              /* depth: guards against free from a callback */
};

/* ctx.c */
void isc_log(const isc_ctx *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records the failure details into ctx->err (returns code). */
int isc_set_error(isc_ctx *ctx, int code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void isc_format_portal(const struct sockaddr_storage *ss, char *out, size_t outlen);

/* transport.c */
int isc_transport_connect(isc_ctx *ctx);            /* starts a non-blocking connect */
int isc_transport_connect_done(isc_ctx *ctx);       /* POLLOUT while connecting */
void isc_transport_close(isc_ctx *ctx);             /* closes fd, drops buffers */
/* Builds a PDU with the digests in force and appends it to the send queue,
 * then tries to write. */
int isc_transport_send(isc_ctx *ctx, const uint8_t bhs[ISC_BHS_LEN], const uint8_t *data,
		       size_t data_len);
/* The same, but the data segment is sent from `data` in place (no copy):
 * it must stay valid until the PDU is written or the connection closed.
 * Used for SCSI write data, which the task holds until it completes. */
int isc_transport_send_ref(isc_ctx *ctx, const uint8_t bhs[ISC_BHS_LEN], const uint8_t *data,
			   size_t data_len);
int isc_transport_flush(isc_ctx *ctx);              /* write what the socket takes */
/* Drops or copies queued PDUs whose data points into [base, base+len):
 * called when the task owning that buffer completes. */
void isc_transport_release(isc_ctx *ctx, const uint8_t *base, size_t len);
/* One recv() into rx: bytes read (> 0), 0 when nothing is available, or a
 * negative isc_err (peer close = ISC_ERR_CLOSED). */
int isc_transport_read(isc_ctx *ctx);

/* direct.c */
void isc_direct_reset(isc_ctx *ctx);
/* 1 when the PDU at the head of rx is a large Data-In now being received
 * straight into its task's buffer (then call isc_direct_continue). */
int isc_direct_begin(isc_ctx *ctx);
int isc_direct_continue(isc_ctx *ctx, struct isc_pdu *out);

/* rxwake.c (receive wakeup steering, SO_RCVLOWAT) */
#define ISC_RXWAKE_MAX_WAIT_MS 2
void isc_rxwake_reset(isc_ctx *ctx);          /* new socket */
void isc_rxwake_received(isc_ctx *ctx);       /* a PDU arrived */
/* 1 when the stall deadline passed: the level falls back to 1 until the
 * next PDU (call isc_rxwake_apply, then read). */
int isc_rxwake_expired(isc_ctx *ctx, int64_t now_ms);
/* Sets the level for the next wait; 1 when it armed the stall deadline. */
int isc_rxwake_apply(isc_ctx *ctx);

/* session.c */
void isc_fail_all(isc_ctx *ctx, int code);
void isc_task_complete(isc_ctx *ctx, struct isc_task *t, int status, void *result);
/* The connection is unusable (see session.c conn_fail). */
int isc_conn_fail(isc_ctx *ctx, int code);
void isc_emit_event(isc_ctx *ctx, int event, int code);
void isc_update_statsn(isc_ctx *ctx, const struct isc_pdu *pdu);
/* Sends a Logout (reason 0, close the session) as a new task; returns
 * the send error (the caller fails the connection). */
int isc_logout_start(isc_ctx *ctx, isc_cb cb, void *priv);
/* 1 when any SCSI command is at the target (sent, not yet answered). */
int isc_commands_at_target(const isc_ctx *ctx);

/* async.c: Async Messages (RFC 7143 11.9) */
int isc_async_handle(isc_ctx *ctx, const struct isc_pdu *pdu);
/* Timer: sends the requested Logout when due. */
int isc_async_run(isc_ctx *ctx, int64_t now);
int64_t isc_async_next_ms(const isc_ctx *ctx, int64_t now);
/* After the Logout Response of a target-requested logout: log back in or
 * end the session. */
int isc_async_logged_out(isc_ctx *ctx, uint32_t time2wait_s);

#endif
