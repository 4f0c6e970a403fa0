/*
 * The session engine: tasks, sequence numbers, PDU dispatch and timers for
 * one iSCSI connection (RFC 7143 sections 3.2.2 and 4.2).
 *
 * Everything runs inside isc_service() or an isc_*_async() call on the
 * caller's thread. A task is one user operation (login, SendTargets, SCSI
 * command, logout) identified by its Initiator Task Tag. Callbacks run with
 * the task already unlinked, so they may queue new work or abort the
 * context.
 */
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chap.h"
#include "ctx.h"
#include "isc/scsi.h"
#include "sendtargets.h"

/* Cap on PDUs handled per isc_service() call, so one flooding target cannot
 * starve the rest of the caller's event loop; the fd stays readable and
 * the loop comes back. */
#define DISPATCH_BUDGET 256

static int64_t deadline_after(uint32_t ms)
{
	return isc_now_ms() + (int64_t)ms;
}

static uint32_t alloc_itt(isc_ctx *ctx)
{
	uint32_t itt = ctx->next_itt++;
	if (itt == ISC_RESERVED_TAG)
		itt = ctx->next_itt++;
	return itt;
}

static struct isc_task *task_new(isc_ctx *ctx, int kind, isc_cb cb, void *priv, uint32_t timeout)
{
	struct isc_task *t = calloc(1, sizeof(*t));
	struct isc_task **pp;

	if (!t)
		return NULL;
	t->kind = kind;
	t->cb = cb;
	t->priv = priv;
	t->itt = alloc_itt(ctx);
	if (++ctx->next_task_id == 0)
		ctx->next_task_id = 1;
	t->id = ctx->next_task_id;
	t->timeout_ms = timeout;
	t->deadline_ms = deadline_after(timeout);
	isc_text_accum_init(&t->text);
	for (pp = &ctx->tasks; *pp; pp = &(*pp)->next)
		;
	*pp = t;
	ctx->task_count++;
	return t;
}

static void task_unlink(isc_ctx *ctx, struct isc_task *t)
{
	for (struct isc_task **pp = &ctx->tasks; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			ctx->task_count--;
			return;
		}
	}
}

static void task_free(struct isc_task *t)
{
	isc_text_accum_free(&t->text);
	free(t->out_copy); /* user data, not secrets: no need to scrub */
	if (t->res)
		isc_scsi_result_free(t->res);
	free(t);
}

static struct isc_task *task_find(isc_ctx *ctx, uint32_t itt)
{
	for (struct isc_task *t = ctx->tasks; t; t = t->next)
		if (t->itt == itt)
			return t;
	return NULL;
}

void isc_task_complete(isc_ctx *ctx, struct isc_task *t, int status, void *result)
{
	isc_cb cb = t->cb;
	void *priv = t->priv;

	task_unlink(ctx, t);
	/* Nothing queued may still point into the task's write buffer once
	 * the callback may free it (the caller's) or task_free does (ours). */
	if (t->out && ctx->tx_head)
		isc_transport_release(ctx, t->out, t->out_len);
	if (t->kind == ISC_TASK_SCSI && result == t->res)
		t->res = NULL; /* ownership passes to the callback */
	task_free(t);
	if (cb) {
		ctx->in_callback++;
		cb(ctx, status, result, priv);
		ctx->in_callback--;
	}
}

/* Completes a task that broke the protocol (fail_code, see
 * task_violation) with its own message, then puts back the connection's
 * error for the callbacks and events that follow. */
static void complete_failed(isc_ctx *ctx, struct isc_task *t)
{
	struct isc_error_info saved = ctx->err;

	isc_set_error(ctx, t->fail_code, 0, "%s", ctx->task_fail_msg);
	isc_task_complete(ctx, t, t->fail_code, NULL);
	ctx->err = saved;
}

void isc_fail_all(isc_ctx *ctx, int code)
{
	/* Callbacks may queue new tasks on a closed context; those fail at once
	 * inside the submit call, so this loop terminates. */
	while (ctx->tasks) {
		struct isc_task *t = ctx->tasks;
		if (t->fail_code) {
			complete_failed(ctx, t);
			continue;
		}
		/* A command being aborted keeps the outcome its caller was told
		 * (timed out / cancelled), whatever ended the connection. */
		isc_task_complete(ctx, t, t->kind == ISC_TASK_SCSI && t->aborting ? t->abort_err : code,
				  NULL);
	}
}

/*
 * A task broke the protocol in a way that leaves the connection's state
 * unknown (Data-In out of place, an R2T for bytes not due): RFC 7143
 * section 7.1.x treats such format/sequence errors as connection failures.
 * The task fails with ISC_ERR_PROTOCOL; the connection is dropped as a
 * connection error, so the other commands are reissued after a
 * reinstatement. The task completes only after the socket is closed: no
 * PDU that references its buffers can still be written, and no later PDU
 * can write into them.
 */
static int task_violation(isc_ctx *ctx, struct isc_task *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int task_violation(isc_ctx *ctx, struct isc_task *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->task_fail_msg, sizeof(ctx->task_fail_msg), fmt, ap);
	va_end(ap);
	if (!t->aborting)
		t->fail_code = ISC_ERR_PROTOCOL;
	isc_log(ctx, ISC_LOG_WARN, "%s", ctx->task_fail_msg);
	return isc_set_error(ctx, ISC_ERR_IO, 0, "dropping the connection to %s: %s", ctx->portal,
			     ctx->task_fail_msg);
}

static const char *target_label(const isc_ctx *ctx);

void isc_emit_event(isc_ctx *ctx, int event, int code)
{
	if (!ctx->cfg.event_fn)
		return;
	ctx->in_callback++;
	ctx->cfg.event_fn(ctx, event, code, ctx->reconnect_attempt, ctx->cfg.event_user);
	ctx->in_callback--;
}

/* Errors after which another login can succeed: the network or the target
 * was briefly away. A refusal (authentication, unknown target, protocol
 * violation) would only repeat. */
static int retryable(int code)
{
	switch (code) {
	case ISC_ERR_TIMEDOUT:
	case ISC_ERR_CONNREFUSED:
	case ISC_ERR_HOSTUNREACH:
	case ISC_ERR_IO:
	case ISC_ERR_CLOSED:
	case ISC_ERR_DIGEST:
	case ISC_ERR_TARGET_ERROR: /* login class 3: e.g. service unavailable */
	case ISC_ERR_TARGET_LOGOUT: /* the target asked us to log out and in again */
	/* Only reached after a successful login: a target that is "not
	 * found" now is one being restarted (its portal up before its
	 * configuration), as open-iscsi also keeps retrying then. */
	case ISC_ERR_TARGET_NOT_FOUND:
		return 1;
	default:
		return 0;
	}
}

static uint32_t backoff_ms(const isc_ctx *ctx)
{
	uint64_t d = ctx->cfg.reconnect_delay_ms;

	/* The target named the wait (Async Message Time2Wait, Logout
	 * Response): the first attempt honours it. */
	if (ctx->reconnect_delay_override >= 0)
		return (uint32_t)ctx->reconnect_delay_override;

	for (uint32_t i = 1; i < ctx->reconnect_attempt && d < ctx->cfg.reconnect_max_delay_ms; i++)
		d *= 2;
	return d > ctx->cfg.reconnect_max_delay_ms ? ctx->cfg.reconnect_max_delay_ms : (uint32_t)d;
}

/* Puts the tasks back to "not yet sent" for a reissue on the next
 * connection. Tasks that cannot survive (an abort in progress, text and
 * logout requests, the previous reinstatement's login) complete now. */
static void requeue_tasks(isc_ctx *ctx, int code)
{
	for (;;) {
		struct isc_task *victim = NULL;

		for (struct isc_task *t = ctx->tasks; t; t = t->next) {
			if (t->kind != ISC_TASK_SCSI || t->aborting || t->fail_code) {
				victim = t;
				break;
			}
		}
		if (!victim)
			break;
		/* Callbacks may queue or complete tasks: rescan from the head. */
		if (victim->fail_code)
			complete_failed(ctx, victim);
		else
			isc_task_complete(ctx, victim,
					  victim->kind == ISC_TASK_SCSI ? victim->abort_err : code, NULL);
	}
	for (struct isc_task *t = ctx->tasks; t; t = t->next) {
		t->queued = 0;
		t->unsolicited = 0;
		t->out_next = 0;
		t->next_r2tsn = 0;
		t->next_datasn = 0;
		t->res->status = 0;
		t->res->response = 0;
		t->res->sense_len = 0;
		t->res->data_len = 0;
		t->res->residual = 0;
		t->res->overflow = t->res->underflow = 0;
	}
}

/* The connection is unusable: close it, then either schedule a session
 * reinstatement (pending commands wait for it) or fail everything pending.
 * The error details were recorded by whoever detected the failure. */
int isc_conn_fail(isc_ctx *ctx, int code)
{
	/* A logout the user asked for ends the session; one the target asked
	 * for (async.c) may log back in. */
	int was_logout = ctx->state == ISC_ST_LOGOUT && !ctx->async_logout;

	if (ctx->err.code != code)
		isc_set_error(ctx, code, 0, "connection to %s failed: %s", ctx->portal,
			      isc_strerror(code));
	isc_transport_close(ctx);
	if (ctx->login_active) {
		isc_login_free(&ctx->login);
		ctx->login_active = 0;
	}
	ctx->ping_outstanding = 0;
	ctx->async_logout = 0;
	if (ctx->ever_logged_in && !was_logout && ctx->state != ISC_ST_CLOSED &&
	    ctx->reconnect_attempt < ctx->cfg.max_reconnects && retryable(code)) {
		ctx->state = ISC_ST_RECONNECT_WAIT;
		ctx->reconnecting = 1;
		ctx->reconnect_attempt++;
		ctx->reconnect_at = isc_now_ms() + backoff_ms(ctx);
		isc_log(ctx, ISC_LOG_WARN,
			"connection to %s lost (%s); reinstating the session in %u ms (attempt %u of %u)",
			ctx->portal, isc_strerror(code), backoff_ms(ctx), ctx->reconnect_attempt,
			ctx->cfg.max_reconnects);
		ctx->reconnect_delay_override = -1;
		requeue_tasks(ctx, code);
		isc_emit_event(ctx, ISC_EVENT_CONNECTION_LOST, code);
		return ISC_OK;
	}
	ctx->state = ISC_ST_CLOSED;
	ctx->reconnect_delay_override = -1;
	if (ctx->reconnecting) {
		ctx->reconnecting = 0;
		isc_set_error(ctx, code, ctx->err.sys_errno,
			      "session to %s failed: reinstatement gave up after %u attempt%s (%s)",
			      ctx->portal, ctx->reconnect_attempt,
			      ctx->reconnect_attempt == 1 ? "" : "s", isc_strerror(code));
		isc_fail_all(ctx, code);
		isc_emit_event(ctx, ISC_EVENT_SESSION_FAILED, code);
		return code;
	}
	isc_fail_all(ctx, code);
	if (ctx->ever_logged_in && !was_logout)
		isc_emit_event(ctx, ISC_EVENT_SESSION_FAILED, code);
	return code;
}

/* Reinstatement: a new connection and a login with the same ISID and TSIH
 * 0, which replaces the failed session at the target (RFC 7143 6.3.5). The
 * login task is internal (no callback). */
static int start_reconnect(isc_ctx *ctx)
{
	struct isc_task *t = task_new(ctx, ISC_TASK_LOGIN, NULL, NULL, ctx->cfg.login_timeout_ms);
	int rc;

	if (!t)
		return isc_conn_fail(ctx, ISC_ERR_NOMEM);
	isc_log(ctx, ISC_LOG_INFO, "reinstating the session to %s at %s (attempt %u)",
		target_label(ctx), ctx->portal, ctx->reconnect_attempt);
	ctx->state = ISC_ST_IDLE;
	rc = isc_transport_connect(ctx);
	if (rc)
		return isc_conn_fail(ctx, rc);
	return ISC_OK;
}

/* ---------------------------------------------------------------- login */

static int send_login_request(isc_ctx *ctx)
{
	const uint8_t *bhs, *data;
	size_t len;

	isc_login_request(&ctx->login, &bhs, &data, &len);
	return isc_transport_send(ctx, bhs, data, len);
}

static void fill_offer(const isc_ctx *ctx, struct isc_param_offer *o)
{
	isc_param_offer_defaults(o, ctx->cfg.session_type);
	o->header_digest = ctx->cfg.header_digest;
	o->data_digest = ctx->cfg.data_digest;
	o->max_recv_data_segment_length = ctx->cfg.max_recv_data_segment_length;
	if (ctx->cfg.session_type == ISC_SESSION_NORMAL) {
		o->max_burst_length = ctx->cfg.max_burst_length;
		o->first_burst_length = ctx->cfg.first_burst_length;
	}
}

static int start_login(isc_ctx *ctx)
{
	struct isc_login_config lc;
	int rc;

	memset(&lc, 0, sizeof(lc));
	lc.session_type = ctx->cfg.session_type;
	lc.initiator_name = ctx->initiator_name;
	lc.initiator_alias = ctx->initiator_alias;
	lc.target_name = ctx->target_name;
	memcpy(lc.isid, ctx->cfg.isid, sizeof(lc.isid));
	lc.tsih = 0;
	lc.cid = ctx->cfg.cid;
	lc.itt = alloc_itt(ctx);
	lc.cmdsn = ctx->cmdsn;
	lc.username = ctx->username;
	lc.secret = ctx->secret;
	lc.secret_len = ctx->secret_len;
	lc.reverse_username = ctx->reverse_username;
	lc.reverse_secret = ctx->reverse_secret;
	lc.reverse_secret_len = ctx->reverse_secret_len;
	memcpy(lc.chap_algs, ctx->chap_algs, sizeof(lc.chap_algs));
	lc.chap_alg_count = ctx->chap_alg_count;
	fill_offer(ctx, &lc.offer);

	if (ctx->login_active)
		isc_login_free(&ctx->login);
	rc = isc_login_start(&ctx->login, &lc);
	if (rc)
		return isc_set_error(ctx, rc, 0, "cannot start login to %s: %s", ctx->portal,
				     isc_strerror(rc));
	ctx->login_active = 1;
	ctx->state = ISC_ST_LOGIN;
	/* Digests are off during login (RFC 7143 section 13.1: they apply
	 * after the Login Phase). */
	ctx->dg.header = ctx->dg.data = 0;
	ctx->rx.dg = ctx->dg;
	ctx->rx.no_scrub = 0; /* a (re)login carries CHAP material again */
	return send_login_request(ctx);
}

static struct isc_task *find_kind(isc_ctx *ctx, int kind)
{
	for (struct isc_task *t = ctx->tasks; t; t = t->next)
		if (t->kind == kind)
			return t;
	return NULL;
}

static const char *target_label(const isc_ctx *ctx)
{
	return ctx->target_name ? ctx->target_name : "discovery session";
}

/* Reconnect to the TargetAddress of a redirect (status class 1). */
static int follow_redirect(isc_ctx *ctx)
{
	struct isc_portal p;
	struct addrinfo hints, *ai = NULL;
	char port[8];
	char where[300];

	if (++ctx->redirects > ctx->cfg.max_redirects)
		return isc_set_error(ctx, ISC_ERR_TOO_MANY_REDIRECTS, 0,
				     "login to %s: more than %u redirects (last to %s); "
				     "check the target's portal configuration",
				     target_label(ctx), ctx->cfg.max_redirects, ctx->login.redirect);
	if (isc_target_address_parse(ctx->login.redirect, &p) != 0)
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "login to %s at %s: redirect to a malformed TargetAddress",
				     target_label(ctx), ctx->portal);
	memset(&hints, 0, sizeof(hints));
	/* Numeric only: the core never blocks on name resolution. */
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", p.port);
	if (getaddrinfo(p.address, port, &hints, &ai) != 0 || !ai)
		return isc_set_error(ctx, ISC_ERR_UNSUPPORTED, 0,
				     "login to %s at %s: redirected to host name '%s', "
				     "which the core does not resolve; use a numeric portal",
				     target_label(ctx), ctx->portal, p.address);
	memcpy(&ctx->addr, ai->ai_addr, ai->ai_addrlen);
	ctx->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(where, sizeof(where), "%s", ctx->portal);
	isc_transport_close(ctx);
	isc_format_portal(&ctx->addr, ctx->portal, sizeof(ctx->portal));
	isc_log(ctx, ISC_LOG_INFO, "login to %s redirected from %s to %s (status 0x%02x%02x)",
		target_label(ctx), where, ctx->portal, ctx->login.status_class & 0xff,
		ctx->login.status_detail & 0xff);
	return isc_transport_connect(ctx);
}

/*
 * Interop: STGT (tgt <= 1.0.85, usr/iscsi/chap.c) accepts CHAP_A=7 but
 * computes SHA-1 for it, while RFC 7143's registry, Linux LIO and open-iscsi
 * use 7 for SHA-256 (6 is SHA-1). Such a target rejects our correct SHA-256
 * response with an initiator error (0x0200) or authentication failure
 * (0x0201). When that happens once, reconnect and offer the list without
 * SHA-256. This adds no downgrade an attacker lacks already: the weaker
 * algorithms were in our offer anyway.
 */
static int chap_sha256_quirk(const isc_ctx *ctx)
{
	return !ctx->chap_sha256_dropped && ctx->login.chap_alg == ISC_CHAP_SHA256 &&
	       ctx->login.status_class == 2 &&
	       (ctx->login.status_detail == 0 || ctx->login.status_detail == 1) &&
	       ctx->chap_alg_count > 1;
}

static int retry_without_sha256(isc_ctx *ctx)
{
	int n = 0;

	for (int i = 0; i < ctx->chap_alg_count; i++)
		if (ctx->chap_algs[i] != ISC_CHAP_SHA256)
			ctx->chap_algs[n++] = ctx->chap_algs[i];
	ctx->chap_alg_count = n;
	ctx->chap_sha256_dropped = 1;
	isc_log(ctx, ISC_LOG_WARN,
		"target %s rejected our SHA-256 CHAP response (status 0x%02x%02x); retrying "
		"without SHA-256 (some targets, e.g. tgt, treat CHAP_A=7 as SHA-1)",
		ctx->portal, ctx->login.status_class & 0xff, ctx->login.status_detail & 0xff);
	isc_transport_close(ctx);
	return isc_transport_connect(ctx);
}

static int handle_login_response(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	struct isc_task *t = find_kind(ctx, ISC_TASK_LOGIN);
	int rc;

	if (!t || !ctx->login_active)
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "unexpected Login Response from %s", ctx->portal);
	rc = isc_login_response(&ctx->login, pdu);
	if (rc == ISC_LOGIN_SEND)
		return send_login_request(ctx);
	if (rc == ISC_LOGIN_REDIRECT)
		return follow_redirect(ctx);
	if (rc == ISC_LOGIN_DONE) {
		ctx->neg = ctx->login.neg;
		ctx->exp_statsn = ctx->login.exp_statsn;
		ctx->exp_cmdsn = ctx->login.exp_cmdsn;
		ctx->max_cmdsn = ctx->login.max_cmdsn;
		ctx->dg.header = ctx->neg.header_digest;
		ctx->dg.data = ctx->neg.data_digest;
		ctx->rx.dg = ctx->dg;
		ctx->rx.max_data_len = ctx->neg.max_recv_data_segment_length;
		/* Earlier bytes in the buffer were scrubbed as they were consumed;
		 * from here on it carries only SCSI traffic. */
		isc_memzero(ctx->rx.buf, ctx->rx.consumed);
		ctx->rx.no_scrub = 1;
		isc_login_free(&ctx->login);
		ctx->login_active = 0;
		ctx->state = ISC_ST_FFP;
		ctx->ever_logged_in = 1;
		ctx->last_rx_ms = isc_now_ms();
		isc_log(ctx, ISC_LOG_INFO,
			"logged in to %s at %s (tsih 0x%04x, auth %s, header digest %s, data digest %s)",
			target_label(ctx), ctx->portal, ctx->neg.tsih,
			ctx->neg.auth_method_chap ? (ctx->neg.mutual_chap ? "mutual CHAP" : "CHAP")
						  : "none",
			ctx->neg.header_digest ? "CRC32C" : "None",
			ctx->neg.data_digest ? "CRC32C" : "None");
		isc_task_complete(ctx, t, ISC_OK, NULL);
		if (ctx->reconnecting) {
			ctx->reconnecting = 0;
			isc_emit_event(ctx, ISC_EVENT_RECONNECTED, ISC_OK);
			ctx->reconnect_attempt = 0;
		}
		return ISC_OK;
	}
	if (chap_sha256_quirk(ctx))
		return retry_without_sha256(ctx);
	/* A refusal: keep the target's status for the caller. */
	isc_set_error(ctx, rc, 0, "login to %s at %s failed: %s", target_label(ctx), ctx->portal,
		      ctx->login.message[0] ? ctx->login.message : isc_strerror(rc));
	ctx->err.status_class = ctx->login.status_class;
	ctx->err.status_detail = ctx->login.status_detail;
	return rc;
}

int isc_login_async(isc_ctx *ctx, isc_cb cb, void *priv)
{
	struct isc_task *t;
	int rc;

	if (!ctx)
		return ISC_ERR_INVAL;
	if (ctx->state != ISC_ST_IDLE)
		return isc_set_error(ctx, ISC_ERR_STATE, 0, "login already started on %s",
				     ctx->portal);
	t = task_new(ctx, ISC_TASK_LOGIN, cb, priv, ctx->cfg.login_timeout_ms);
	if (!t)
		return ISC_ERR_NOMEM;
	rc = isc_transport_connect(ctx);
	if (rc) {
		/* Report through the callback like every other failure, but
		 * from here: the caller sees rc and the callback is not run. */
		task_unlink(ctx, t);
		task_free(t);
		ctx->state = ISC_ST_CLOSED;
		return rc;
	}
	return ISC_OK;
}

/* ----------------------------------------------------- sequence numbers */

/* Every target PDU carrying ExpCmdSN/MaxCmdSN updates the command window
 * (RFC 7143 section 4.2.2.1: ignore values outside the serial range). */
static void update_window(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint32_t exp = isc_pdu_u32(pdu, ISC_OFF_EXPCMDSN);
	uint32_t max = isc_pdu_u32(pdu, ISC_OFF_MAXCMDSN);

	if (isc_sn_lt(max, exp - 1))
		return; /* invalid: MaxCmdSN < ExpCmdSN - 1 */
	if (isc_sn_lt(ctx->exp_cmdsn, exp))
		ctx->exp_cmdsn = exp;
	if (isc_sn_lt(ctx->max_cmdsn, max))
		ctx->max_cmdsn = max;
}

void isc_update_statsn(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint32_t statsn = isc_pdu_u32(pdu, ISC_OFF_STATSN);
	if (isc_sn_le(ctx->exp_statsn, statsn))
		ctx->exp_statsn = statsn + 1;
}

static int window_open(const isc_ctx *ctx)
{
	return isc_sn_le(ctx->cmdsn, ctx->max_cmdsn);
}

/* ------------------------------------------------------------- commands */

static void bhs_init(uint8_t bhs[ISC_BHS_LEN], uint8_t opcode, uint8_t flags, uint32_t itt)
{
	memset(bhs, 0, ISC_BHS_LEN);
	bhs[0] = opcode;
	bhs[1] = flags;
	isc_put_be32(bhs + ISC_OFF_ITT, itt);
}

static int send_text_request(isc_ctx *ctx, struct isc_task *t, const char *text, size_t len)
{
	uint8_t bhs[ISC_BHS_LEN];

	bhs_init(bhs, ISC_OP_TEXT_REQ, ISC_FLAG_FINAL, t->itt);
	isc_put_be32(bhs + ISC_OFF_TTT, t->ttt);
	isc_put_be32(bhs + ISC_OFF_CMDSN, ctx->cmdsn++);
	isc_put_be32(bhs + ISC_OFF_EXPSTATSN, ctx->exp_statsn);
	return isc_transport_send(ctx, bhs, (const uint8_t *)text, len);
}

static int send_scsi_data_out(isc_ctx *ctx, struct isc_task *t, uint32_t ttt, size_t offset,
			      size_t len)
{
	uint8_t bhs[ISC_BHS_LEN];
	uint32_t datasn = 0;
	size_t max = ctx->neg.max_xmit_data_segment_length;

	while (len > 0) {
		size_t n = len < max ? len : max;
		int rc;

		bhs_init(bhs, ISC_OP_DATA_OUT, n == len ? ISC_FLAG_FINAL : 0, t->itt);
		isc_put_be64(bhs + ISC_OFF_LUN, isc_lun_encode((uint32_t)t->lun));
		isc_put_be32(bhs + ISC_OFF_TTT, ttt);
		isc_put_be32(bhs + ISC_OFF_EXPSTATSN, ctx->exp_statsn);
		isc_put_be32(bhs + ISC_OFF_DATASN, datasn++);
		isc_put_be32(bhs + ISC_OFF_BUFOFF, (uint32_t)offset);
		rc = isc_transport_send_ref(ctx, bhs, t->out + offset, n);
		if (rc)
			return rc;
		offset += n;
		len -= n;
	}
	return ISC_OK;
}

static int send_scsi_command(isc_ctx *ctx, struct isc_task *t)
{
	uint8_t bhs[ISC_BHS_LEN];
	uint8_t flags = ISC_FLAG_ATTR_SIMPLE;
	size_t immediate = 0, unsolicited = 0;
	int rc;

	if (t->dir == ISC_DIR_WRITE && t->out_len) {
		size_t first = ctx->neg.first_burst_length;
		size_t seg = ctx->neg.max_xmit_data_segment_length;
		if (ctx->neg.immediate_data) {
			immediate = t->out_len < first ? t->out_len : first;
			if (immediate > seg)
				immediate = seg;
		}
		if (!ctx->neg.initial_r2t) {
			size_t limit = t->out_len < first ? t->out_len : first;
			unsolicited = limit > immediate ? limit - immediate : 0;
		}
	}
	/* F: no unsolicited Data-Out follows this command. */
	if (!unsolicited)
		flags |= ISC_FLAG_FINAL;
	if (t->dir == ISC_DIR_READ)
		flags |= ISC_FLAG_READ;
	else if (t->dir == ISC_DIR_WRITE)
		flags |= ISC_FLAG_WRITE;
	bhs_init(bhs, ISC_OP_SCSI_CMD, flags, t->itt);
	isc_put_be64(bhs + ISC_OFF_LUN, isc_lun_encode((uint32_t)t->lun));
	isc_put_be32(bhs + ISC_OFF_EDTL,
		     (uint32_t)(t->dir == ISC_DIR_READ ? t->in_cap : t->out_len));
	t->cmdsn = ctx->cmdsn++;
	isc_put_be32(bhs + ISC_OFF_CMDSN, t->cmdsn);
	isc_put_be32(bhs + ISC_OFF_EXPSTATSN, ctx->exp_statsn);
	memcpy(bhs + ISC_OFF_CDB, t->cdb, t->cdb_len);
	t->queued = 1;
	rc = isc_transport_send_ref(ctx, bhs, immediate ? t->out : NULL, immediate);
	if (rc)
		return rc;
	t->unsolicited = immediate + unsolicited;
	t->out_next = t->unsolicited;
	t->next_r2tsn = 0;
	if (unsolicited)
		rc = send_scsi_data_out(ctx, t, ISC_RESERVED_TAG, immediate, unsolicited);
	return rc;
}

/* Send queued commands while the target's CmdSN window allows. */
static int pump_commands(isc_ctx *ctx)
{
	/* The target asked for a logout: new commands wait for the next login
	 * (RFC 7143 11.9.1: no new commands on a connection to be logged out). */
	if (ctx->async_logout)
		return ISC_OK;
	for (struct isc_task *t = ctx->tasks; t && ctx->state == ISC_ST_FFP; t = t->next) {
		if (t->queued || t->kind != ISC_TASK_SCSI)
			continue;
		if (!window_open(ctx))
			break;
		int rc = send_scsi_command(ctx, t);
		if (rc)
			return rc;
	}
	return ISC_OK;
}

static int require_ffp(isc_ctx *ctx, int session_type)
{
	if (ctx->state != ISC_ST_FFP)
		return isc_set_error(ctx, ctx->state == ISC_ST_CLOSED ? ISC_ERR_CLOSED : ISC_ERR_STATE,
				     0, "session to %s is not logged in", ctx->portal);
	if (ctx->cfg.session_type != session_type)
		return isc_set_error(ctx, ISC_ERR_STATE, 0, "%s",
				     session_type == ISC_SESSION_DISCOVERY
					     ? "SendTargets needs a discovery session"
					     : "SCSI commands need a normal session");
	return ISC_OK;
}

int isc_discovery_async(isc_ctx *ctx, isc_cb cb, void *priv)
{
	static const char req[] = "SendTargets=All";
	struct isc_task *t;
	int rc;

	if (!ctx)
		return ISC_ERR_INVAL;
	rc = require_ffp(ctx, ISC_SESSION_DISCOVERY);
	if (rc)
		return rc;
	t = task_new(ctx, ISC_TASK_TEXT, cb, priv, ctx->cfg.command_timeout_ms);
	if (!t)
		return ISC_ERR_NOMEM;
	t->ttt = ISC_RESERVED_TAG;
	t->queued = 1;
	rc = send_text_request(ctx, t, req, sizeof(req)); /* includes the NUL */
	if (rc) {
		task_unlink(ctx, t);
		task_free(t);
		return isc_conn_fail(ctx, rc);
	}
	return ISC_OK;
}

static int scsi_queue(isc_ctx *ctx, const struct isc_scsi_cmd *c, int copy_out, isc_cb cb,
		      void *priv, uint32_t *id_out)
{
	struct isc_task *t;
	int rc;

	if (!ctx || !c || !c->cdb || c->cdb_len == 0 || c->cdb_len > 16 || c->lun >= 16384 ||
	    (c->dir != ISC_DIR_NONE && c->dir != ISC_DIR_READ && c->dir != ISC_DIR_WRITE) ||
	    (c->dir == ISC_DIR_WRITE && (!c->data_out || !c->out_len)) || c->in_len > 0x7fffffffu ||
	    c->out_len > 0x7fffffffu)
		return ISC_ERR_INVAL;
	/* While a reinstatement is pending, new commands queue behind the
	 * ones waiting for reissue. */
	if (!(ctx->reconnecting && ctx->cfg.session_type == ISC_SESSION_NORMAL)) {
		rc = require_ffp(ctx, ISC_SESSION_NORMAL);
		if (rc)
			return rc;
	}
	t = task_new(ctx, ISC_TASK_SCSI, cb, priv,
		     c->timeout_ms ? c->timeout_ms : ctx->cfg.command_timeout_ms);
	if (!t)
		return ISC_ERR_NOMEM;
	t->lun = c->lun;
	t->dir = c->dir;
	memcpy(t->cdb, c->cdb, c->cdb_len);
	t->cdb_len = c->cdb_len;
	t->res = calloc(1, sizeof(*t->res));
	if (!t->res)
		goto nomem;
	if (c->dir == ISC_DIR_READ) {
		t->in_cap = c->in_len;
		if (c->data_in) {
			t->res->data = c->data_in;
			t->res->data_borrowed = 1;
		} else if (c->in_len) {
			t->res->data = malloc(c->in_len);
			if (!t->res->data)
				goto nomem;
		}
	} else if (c->dir == ISC_DIR_WRITE) {
		if (copy_out) {
			t->out_copy = malloc(c->out_len);
			if (!t->out_copy)
				goto nomem;
			memcpy(t->out_copy, c->data_out, c->out_len);
			t->out = t->out_copy;
		} else {
			t->out = c->data_out;
		}
		t->out_len = c->out_len;
	}
	if (id_out)
		*id_out = t->id;
	if (ctx->state != ISC_ST_FFP)
		return ISC_OK;
	rc = pump_commands(ctx);
	if (rc) {
		/* The callback runs (failed or requeued for reinstatement). */
		isc_conn_fail(ctx, rc);
	}
	return ISC_OK;
nomem:
	task_unlink(ctx, t);
	task_free(t);
	return ISC_ERR_NOMEM;
}

int isc_scsi_async(isc_ctx *ctx, uint64_t lun, const uint8_t *cdb, size_t cdb_len, int dir,
		   const uint8_t *data_out, size_t out_len, size_t in_len, isc_cb cb, void *priv)
{
	struct isc_scsi_cmd c = { .lun = lun, .cdb = cdb, .cdb_len = cdb_len, .dir = dir,
				  .data_out = data_out, .out_len = out_len, .in_len = in_len };
	return scsi_queue(ctx, &c, 1, cb, priv, NULL);
}

int isc_scsi_submit(isc_ctx *ctx, const struct isc_scsi_cmd *cmd, isc_cb cb, void *priv,
		    uint32_t *id_out)
{
	return scsi_queue(ctx, cmd, 0, cb, priv, id_out);
}

/* --------------------------------------------------- task management */

/* ABORT TASK for a command the target has (RFC 7143 section 11.5.1):
 * immediate, Referenced Task Tag = its ITT, RefCmdSN = its CmdSN. The task
 * completes with `err` when the response comes (handle_tmf_response). */
static int abort_task(isc_ctx *ctx, struct isc_task *t, int err)
{
	uint8_t bhs[ISC_BHS_LEN];

	if (t->aborting)
		return ISC_OK;
	if (!t->queued || ctx->state != ISC_ST_FFP) {
		/* Never reached the target (or the connection is gone): nothing
		 * there can touch the buffers any more. */
		isc_task_complete(ctx, t, err, NULL);
		return ISC_OK;
	}
	t->aborting = 1;
	t->abort_err = err;
	t->tmf_itt = alloc_itt(ctx);
	t->deadline_ms = deadline_after(ctx->cfg.tmf_timeout_ms);
	bhs_init(bhs, ISC_OP_TMF_REQ | ISC_BHS_IMMEDIATE, ISC_FLAG_FINAL | 1 /* ABORT TASK */,
		 t->tmf_itt);
	isc_put_be64(bhs + ISC_OFF_LUN, isc_lun_encode((uint32_t)t->lun));
	isc_put_be32(bhs + ISC_OFF_TTT, t->itt); /* Referenced Task Tag */
	isc_put_be32(bhs + ISC_OFF_CMDSN, ctx->cmdsn);
	isc_put_be32(bhs + ISC_OFF_EXPSTATSN, ctx->exp_statsn);
	isc_put_be32(bhs + ISC_OFF_CDB, t->cmdsn); /* RefCmdSN at byte 32 */
	isc_log(ctx, ISC_LOG_INFO, "ABORT TASK for command 0x%02x (task 0x%08x) on %s LUN %llu",
		t->cdb[0], t->itt, target_label(ctx), (unsigned long long)t->lun);
	return isc_transport_send(ctx, bhs, NULL, 0);
}

int isc_task_abort(isc_ctx *ctx, uint32_t id, int err)
{
	struct isc_task *t;
	int rc;

	if (!ctx || id == 0)
		return ISC_ERR_INVAL;
	if (err >= 0)
		err = ISC_ERR_CANCELLED;
	for (t = ctx->tasks; t; t = t->next)
		if (t->id == id)
			break;
	if (!t || t->kind != ISC_TASK_SCSI)
		return ISC_ERR_INVAL;
	if (err == ISC_ERR_CANCELLED)
		isc_set_error(ctx, err, 0, "SCSI command 0x%02x on %s LUN %llu aborted by the caller",
			      t->cdb[0], target_label(ctx), (unsigned long long)t->lun);
	else
		isc_set_error(ctx, err, 0, "SCSI command 0x%02x on %s LUN %llu: %s", t->cdb[0],
			      target_label(ctx), (unsigned long long)t->lun, isc_strerror(err));
	rc = abort_task(ctx, t, err);
	if (rc)
		isc_conn_fail(ctx, rc);
	return ISC_OK;
}

static struct isc_task *task_by_tmf(isc_ctx *ctx, uint32_t itt)
{
	for (struct isc_task *t = ctx->tasks; t; t = t->next)
		if (t->aborting && t->tmf_itt == itt)
			return t;
	return NULL;
}

static int handle_tmf_response(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	struct isc_task *t;
	uint8_t response = pdu->bhs[ISC_OFF_RSP_RESPONSE];

	isc_update_statsn(ctx, pdu);
	t = task_by_tmf(ctx, isc_pdu_u32(pdu, ISC_OFF_ITT));
	if (!t) {
		/* The command's own response won the race. */
		isc_log(ctx, ISC_LOG_DEBUG, "Task Management Response for a finished task dropped");
		return ISC_OK;
	}
	/* 0 Function complete, 1 Task does not exist: nothing of the task is
	 * left at the target. Anything else (rejected, not supported...) means
	 * it may still send data: only closing the connection guarantees the
	 * caller's buffer is not written after we hand it back. */
	if (response != 0 && response != 1) {
		/* ISC_ERR_IO, not PROTOCOL: the target behaved legally, and a
		 * reinstatement (which clears its tasks) is the right recovery. */
		return isc_set_error(ctx, ISC_ERR_IO, 0,
				     "target %s declined ABORT TASK (TMF response %u); dropping the "
				     "connection so the command cannot complete later",
				     ctx->portal, response);
	}
	isc_task_complete(ctx, t, t->abort_err, NULL);
	return ISC_OK;
}

/* --------------------------------------------------------- keepalive */

static int send_ping(isc_ctx *ctx)
{
	uint8_t bhs[ISC_BHS_LEN];

	ctx->ping_itt = alloc_itt(ctx);
	ctx->ping_outstanding = 1;
	ctx->ping_deadline = deadline_after(ctx->cfg.nop_timeout_ms);
	/* NOP-Out as a ping: valid ITT, TTT reserved, immediate (RFC 7143
	 * section 11.18). The target answers with a NOP-In echoing the ITT. */
	bhs_init(bhs, ISC_OP_NOP_OUT | ISC_BHS_IMMEDIATE, ISC_FLAG_FINAL, ctx->ping_itt);
	isc_put_be32(bhs + ISC_OFF_TTT, ISC_RESERVED_TAG);
	isc_put_be32(bhs + ISC_OFF_CMDSN, ctx->cmdsn);
	isc_put_be32(bhs + ISC_OFF_EXPSTATSN, ctx->exp_statsn);
	isc_log(ctx, ISC_LOG_DEBUG, "keepalive NOP-Out to %s", ctx->portal);
	return isc_transport_send(ctx, bhs, NULL, 0);
}

int isc_logout_start(isc_ctx *ctx, isc_cb cb, void *priv)
{
	uint8_t bhs[ISC_BHS_LEN];
	struct isc_task *t = task_new(ctx, ISC_TASK_LOGOUT, cb, priv, ctx->cfg.logout_timeout_ms);

	if (!t)
		return ISC_ERR_NOMEM;
	t->queued = 1;
	/* Reason 0: close the session. Sent immediate so a closed CmdSN window
	 * cannot hold it back. */
	bhs_init(bhs, ISC_OP_LOGOUT_REQ | ISC_BHS_IMMEDIATE, ISC_FLAG_FINAL | 0, t->itt);
	isc_put_be16(bhs + ISC_OFF_CID, ctx->cfg.cid);
	isc_put_be32(bhs + ISC_OFF_CMDSN, ctx->cmdsn);
	isc_put_be32(bhs + ISC_OFF_EXPSTATSN, ctx->exp_statsn);
	ctx->state = ISC_ST_LOGOUT;
	return isc_transport_send(ctx, bhs, NULL, 0);
}

int isc_logout_async(isc_ctx *ctx, isc_cb cb, void *priv)
{
	int rc;

	if (!ctx)
		return ISC_ERR_INVAL;
	if (ctx->state == ISC_ST_LOGOUT && ctx->async_logout)
		return isc_set_error(ctx, ISC_ERR_STATE, 0,
				     "a logout the target %s asked for is under way", ctx->portal);
	if (ctx->state != ISC_ST_FFP)
		return isc_set_error(ctx, ctx->state == ISC_ST_CLOSED ? ISC_ERR_CLOSED : ISC_ERR_STATE,
				     0, "session to %s is not logged in", ctx->portal);
	/* The caller's logout replaces one the target asked for and that
	 * was still waiting for commands: the session ends. */
	ctx->async_logout = 0;
	rc = isc_logout_start(ctx, cb, priv);
	if (rc)
		return isc_conn_fail(ctx, rc);
	return ISC_OK;
}

int isc_commands_at_target(const isc_ctx *ctx)
{
	for (const struct isc_task *t = ctx->tasks; t; t = t->next)
		if (t->kind == ISC_TASK_SCSI && t->queued)
			return 1;
	return 0;
}

/* ------------------------------------------------------------- dispatch */

static int handle_text_response(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint32_t itt = isc_pdu_u32(pdu, ISC_OFF_ITT);
	struct isc_task *t = task_find(ctx, itt);
	uint8_t flags = isc_pdu_flags(pdu);
	struct isc_kv_list kv;
	struct isc_discovery *d = NULL;
	char msg[256] = "";
	int rc;

	if (!t || t->kind != ISC_TASK_TEXT)
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "Text Response from %s for unknown task 0x%08x", ctx->portal, itt);
	if ((flags & ISC_FLAG_FINAL) && (flags & ISC_FLAG_CONTINUE))
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "Text Response from %s has both F and C set", ctx->portal);
	rc = isc_text_accum_add(&t->text, pdu->data, pdu->data_len);
	if (rc)
		return isc_set_error(ctx, rc, 0, "SendTargets response from %s exceeds %u bytes",
				     ctx->portal, ISC_TEXT_MAX_TOTAL);
	if (!(flags & ISC_FLAG_FINAL)) {
		/* More to come: ask for it with an empty request echoing TTT
		 * (RFC 7143 section 11.10.4). */
		t->ttt = isc_pdu_u32(pdu, ISC_OFF_TTT);
		if (t->ttt == ISC_RESERVED_TAG)
			return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
					     "Text Response from %s: F=0 with reserved TTT",
					     ctx->portal);
		return send_text_request(ctx, t, NULL, 0);
	}
	isc_kv_list_init(&kv);
	rc = isc_text_parse(t->text.buf, t->text.len, &kv);
	if (rc == ISC_OK)
		rc = isc_sendtargets_parse(&kv, ctx->portal_text ? ctx->portal_text : ctx->portal,
					   0, &d, msg, sizeof(msg));
	isc_kv_list_free(&kv);
	if (rc) {
		isc_set_error(ctx, rc, 0, "SendTargets response from %s is malformed%s%s",
			      ctx->portal, msg[0] ? ": " : "", msg);
		isc_task_complete(ctx, t, rc, NULL);
		return ISC_OK;
	}
	if (d->rejected_count)
		isc_log(ctx, ISC_LOG_WARN,
			"SendTargets from %s: dropped %zu entries with invalid target names",
			ctx->portal, d->rejected_count);
	isc_task_complete(ctx, t, ISC_OK, d);
	return ISC_OK;
}

/*
 * Whether a task's status agrees with the data that moved (RFC 7143
 * 11.4.5): GOOD with neither U nor O claims the whole EDTL, U claims
 * EDTL - residual, O claims EDTL. A READ must have received exactly the
 * claim (its data_len only ever grows contiguously, handle_data_in); a
 * WRITE must have sent or been asked for at least it. Fills `why` and
 * returns 1 on a mismatch.
 */
static int status_mismatch(const struct isc_task *t, char *why, size_t n)
{
	const struct isc_scsi_result *r = t->res;
	size_t edtl = t->dir == ISC_DIR_READ ? t->in_cap : t->out_len;
	size_t claim;

	if (r->overflow && r->underflow) {
		snprintf(why, n, "both residual overflow and underflow set");
		return 1;
	}
	if (r->underflow && r->residual > edtl) {
		snprintf(why, n, "underflow residual %u larger than the %zu-byte transfer",
			 r->residual, edtl);
		return 1;
	}
	if (r->response != 0 || r->status != 0 || t->dir == ISC_DIR_NONE)
		return 0;
	claim = r->underflow ? edtl - r->residual : edtl;
	if (t->dir == ISC_DIR_READ && r->data_len != claim) {
		snprintf(why, n,
			 "GOOD status claims %zu bytes (expected %zu, residual %u%s) but %zu arrived",
			 claim, edtl, r->residual, r->underflow ? " under" : "", r->data_len);
		return 1;
	}
	if (t->dir == ISC_DIR_WRITE && t->out_next < claim) {
		snprintf(why, n, "GOOD status claims %zu bytes written but only %zu were sent", claim,
			 t->out_next);
		return 1;
	}
	return 0;
}

/* The status of a SCSI task arrived: complete it. Nothing in the result
 * beyond data_len came from the target, so in a buffer the core allocated
 * that tail is zeroed (a borrowed buffer is the caller's, and data_len
 * says how much of it is valid). */
static void scsi_finish(isc_ctx *ctx, struct isc_task *t)
{
	struct isc_scsi_result *r = t->res;
	char why[200];

	/* An abort in progress decides the outcome: the caller was told the
	 * command is being cancelled or has timed out. */
	if (t->aborting) {
		isc_task_complete(ctx, t, t->abort_err, NULL);
		return;
	}
	if (status_mismatch(t, why, sizeof(why))) {
		isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
			      "SCSI command 0x%02x to %s LUN %llu: %s; the target's answer "
			      "cannot be trusted",
			      t->cdb[0], target_label(ctx), (unsigned long long)t->lun, why);
		isc_task_complete(ctx, t, ISC_ERR_PROTOCOL, NULL);
		return;
	}
	if (r->data && !r->data_borrowed && r->data_len < t->in_cap)
		memset(r->data + r->data_len, 0, t->in_cap - r->data_len);
	isc_task_complete(ctx, t, ISC_OK, r);
}

/*
 * Data-In (RFC 7143 11.7). We negotiate DataPDUInOrder=Yes and
 * DataSequenceInOrder=Yes (params.c), so the data of a READ arrives as one
 * contiguous run: each PDU must start exactly where the previous one ended
 * (13.19, 13.20). A gap, an overlap or a step back is a protocol error,
 * never a hole left in the caller's buffer: data_len is the coverage.
 */
static int handle_data_in(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint32_t itt = isc_pdu_u32(pdu, ISC_OFF_ITT);
	struct isc_task *t = task_find(ctx, itt);
	uint8_t flags = isc_pdu_flags(pdu);
	uint32_t off = isc_pdu_u32(pdu, ISC_OFF_BUFOFF);
	uint32_t datasn = isc_pdu_u32(pdu, ISC_OFF_DATASN);

	if (!t) {
		/* A task we already timed out: its data is no longer wanted. */
		isc_log(ctx, ISC_LOG_DEBUG, "Data-In for unknown task 0x%08x dropped", itt);
		return ISC_OK;
	}
	if (t->kind != ISC_TASK_SCSI || t->dir != ISC_DIR_READ)
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "Data-In from %s for a task that reads no data", ctx->portal);
	if (datasn != t->next_datasn)
		return task_violation(ctx, t,
				      "Data-In from %s for command 0x%02x out of order (DataSN %u, "
				      "expected %u)",
				      ctx->portal, t->cdb[0], datasn, t->next_datasn);
	if ((size_t)off != t->res->data_len)
		return task_violation(ctx, t,
				      "Data-In from %s for command 0x%02x at offset %u, but %zu bytes "
				      "have arrived: a %s in the data",
				      ctx->portal, t->cdb[0], off, t->res->data_len,
				      (size_t)off > t->res->data_len ? "gap" : "overlap");
	if (pdu->data_len > t->in_cap - off)
		return task_violation(ctx, t,
				      "Data-In from %s for command 0x%02x past the expected length "
				      "(offset %u + %zu > %zu)",
				      ctx->portal, t->cdb[0], off, pdu->data_len, t->in_cap);
	t->next_datasn++;
	if (pdu->data_len) {
		/* Direct placement (direct.c) already put the data there. */
		if (pdu->data != t->res->data + off)
			memcpy(t->res->data + off, pdu->data, pdu->data_len);
		t->res->data_len += pdu->data_len;
	}
	if (flags & ISC_FLAG_DATAIN_STATUS) {
		if (!(flags & ISC_FLAG_FINAL))
			return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
					     "Data-In from %s with S bit but no F bit", ctx->portal);
		isc_update_statsn(ctx, pdu);
		t->res->status = pdu->bhs[ISC_OFF_RSP_STATUS];
		t->res->overflow = !!(flags & ISC_FLAG_OVERFLOW);
		t->res->underflow = !!(flags & ISC_FLAG_UNDERFLOW);
		t->res->residual = isc_pdu_u32(pdu, ISC_OFF_RESIDUAL);
		scsi_finish(ctx, t);
	}
	return ISC_OK;
}

static int handle_scsi_response(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint32_t itt = isc_pdu_u32(pdu, ISC_OFF_ITT);
	struct isc_task *t = task_find(ctx, itt);
	uint8_t flags = isc_pdu_flags(pdu);

	isc_update_statsn(ctx, pdu);
	if (!t) {
		isc_log(ctx, ISC_LOG_DEBUG, "SCSI Response for unknown task 0x%08x dropped", itt);
		return ISC_OK;
	}
	if (t->kind != ISC_TASK_SCSI)
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "SCSI Response from %s for a non-SCSI task", ctx->portal);
	t->res->response = pdu->bhs[ISC_OFF_RSP_RESPONSE];
	t->res->status = pdu->bhs[ISC_OFF_RSP_STATUS];
	t->res->overflow = !!(flags & ISC_FLAG_OVERFLOW);
	t->res->underflow = !!(flags & ISC_FLAG_UNDERFLOW);
	t->res->residual = isc_pdu_u32(pdu, ISC_OFF_RESIDUAL);
	/* Sense data: 2-byte SenseLength then the sense bytes
	 * (RFC 7143 section 11.4.7). */
	if (pdu->data_len >= 2) {
		size_t slen = isc_get_be16(pdu->data);
		if (slen > pdu->data_len - 2)
			return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
					     "SCSI Response from %s: SenseLength %zu beyond the data",
					     ctx->portal, slen);
		if (slen > sizeof(t->res->sense))
			slen = sizeof(t->res->sense);
		memcpy(t->res->sense, pdu->data + 2, slen);
		t->res->sense_len = slen;
	}
	scsi_finish(ctx, t);
	return ISC_OK;
}

static int handle_r2t(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint32_t itt = isc_pdu_u32(pdu, ISC_OFF_ITT);
	struct isc_task *t = task_find(ctx, itt);
	uint32_t off = isc_pdu_u32(pdu, ISC_OFF_BUFOFF);
	uint32_t len = isc_pdu_u32(pdu, ISC_OFF_RESIDUAL); /* Desired Data Transfer Length */
	uint32_t r2tsn = isc_pdu_u32(pdu, ISC_OFF_DATASN);

	if (!t) {
		isc_log(ctx, ISC_LOG_DEBUG, "R2T for unknown task 0x%08x ignored", itt);
		return ISC_OK;
	}
	if (t->kind != ISC_TASK_SCSI || t->dir != ISC_DIR_WRITE)
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "R2T from %s for a task that writes no data", ctx->portal);
	/* Being aborted: send nothing more. Data-Out queued after the ABORT
	 * TASK could still be unsent when its response completes the task,
	 * and Data-Out is sent by reference from the caller's buffer. */
	if (t->aborting)
		return ISC_OK;
	/* R2Ts come in R2TSN order and, with DataSequenceInOrder=Yes, each
	 * asks for the bytes right after the ones already sent or asked for
	 * (RFC 7143 11.8, 13.20). Anything else would send the caller's bytes
	 * twice, out of place or not at all. */
	if (r2tsn != t->next_r2tsn)
		return task_violation(ctx, t, "R2T from %s out of order (R2TSN %u, expected %u)",
				      ctx->portal, r2tsn, t->next_r2tsn);
	if ((size_t)off != t->out_next || len == 0 || len > t->out_len - t->out_next ||
	    len > ctx->neg.max_burst_length)
		return task_violation(ctx, t,
				      "R2T from %s asks for bytes %u+%u of a %zu-byte write whose "
				      "next due byte is %zu (or above MaxBurstLength %u)",
				      ctx->portal, off, len, t->out_len, t->out_next,
				      ctx->neg.max_burst_length);
	t->next_r2tsn++;
	t->out_next = (size_t)off + len;
	return send_scsi_data_out(ctx, t, isc_pdu_u32(pdu, ISC_OFF_TTT), off, len);
}

static int handle_logout_response(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	struct isc_task *t = task_find(ctx, isc_pdu_u32(pdu, ISC_OFF_ITT));
	uint8_t response = pdu->bhs[ISC_OFF_RSP_RESPONSE];

	if (!t || t->kind != ISC_TASK_LOGOUT)
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "unexpected Logout Response from %s", ctx->portal);
	if (ctx->async_logout) {
		/* Our answer to the target's request (async.c); whatever the
		 * response code, the connection ends here. Time2Wait (11.15.2)
		 * says when we may log in again. */
		isc_task_complete(ctx, t, ISC_OK, NULL);
		isc_async_logged_out(ctx, isc_get_be16(pdu->bhs + ISC_OFF_LOGOUT_T2W));
		return ISC_OK;
	}
	isc_transport_close(ctx);
	ctx->state = ISC_ST_CLOSED;
	if (response != 0) {
		isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
			      "logout from %s: target answered response code %u", ctx->portal,
			      response);
		isc_task_complete(ctx, t, ISC_ERR_PROTOCOL, NULL);
	} else {
		isc_log(ctx, ISC_LOG_INFO, "logged out of %s at %s", target_label(ctx), ctx->portal);
		isc_task_complete(ctx, t, ISC_OK, NULL);
	}
	/* Commands still pending when the session ended cannot complete. */
	if (ctx->tasks) {
		isc_set_error(ctx, ISC_ERR_CLOSED, 0, "session to %s logged out", ctx->portal);
		isc_fail_all(ctx, ISC_ERR_CLOSED);
	}
	return ISC_OK;
}

static int handle_nop_in(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint32_t ttt = isc_pdu_u32(pdu, ISC_OFF_TTT);
	uint8_t bhs[ISC_BHS_LEN];

	uint32_t itt = isc_pdu_u32(pdu, ISC_OFF_ITT);

	if (itt != ISC_RESERVED_TAG) {
		isc_update_statsn(ctx, pdu);
		if (ctx->ping_outstanding && itt == ctx->ping_itt)
			ctx->ping_outstanding = 0;
	}
	if (ttt == ISC_RESERVED_TAG)
		return ISC_OK; /* no answer wanted */
	/* The target pings us: answer with a NOP-Out echoing TTT, LUN and the
	 * ping data (RFC 7143 section 11.18). */
	bhs_init(bhs, ISC_OP_NOP_OUT | ISC_BHS_IMMEDIATE, ISC_FLAG_FINAL, ISC_RESERVED_TAG);
	memcpy(bhs + ISC_OFF_LUN, pdu->bhs + ISC_OFF_LUN, 8);
	isc_put_be32(bhs + ISC_OFF_TTT, ttt);
	isc_put_be32(bhs + ISC_OFF_CMDSN, ctx->cmdsn);
	isc_put_be32(bhs + ISC_OFF_EXPSTATSN, ctx->exp_statsn);
	return isc_transport_send(ctx, bhs, pdu->data, pdu->data_len);
}

static int handle_reject(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint8_t reason = pdu->bhs[ISC_OFF_REJECT_REASON];
	struct isc_task *t = NULL;

	isc_update_statsn(ctx, pdu);
	/* The data segment is the rejected header: find the task it belongs to. */
	if (pdu->data_len >= ISC_BHS_LEN) {
		uint32_t itt = isc_get_be32(pdu->data + ISC_OFF_ITT);
		t = task_find(ctx, itt);
	}
	isc_set_error(ctx, ISC_ERR_PROTOCOL, 0, "target %s rejected a PDU (reason 0x%02x)",
		      ctx->portal, reason);
	if (t)
		isc_task_complete(ctx, t, ISC_ERR_PROTOCOL, NULL);
	return ISC_OK;
}

static int dispatch(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	uint8_t op = isc_pdu_opcode(pdu);

	if (ctx->cfg.log_fn && ctx->cfg.log_level >= ISC_LOG_TRACE) {
		char line[256];
		isc_pdu_describe(pdu->bhs, line, sizeof(line));
		isc_log(ctx, ISC_LOG_TRACE, "<- %s", line);
	}
	if (ctx->state == ISC_ST_LOGIN) {
		if (op != ISC_OP_LOGIN_RSP)
			return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
					     "%s from %s during login (expected Login Response)",
					     isc_opcode_name(op), ctx->portal);
		return handle_login_response(ctx, pdu);
	}
	/* Every Full Feature Phase PDU from the target carries ExpCmdSN and
	 * MaxCmdSN at the same offsets. */
	update_window(ctx, pdu);
	switch (op) {
	case ISC_OP_TEXT_RSP:
		isc_update_statsn(ctx, pdu);
		return handle_text_response(ctx, pdu);
	case ISC_OP_DATA_IN:
		return handle_data_in(ctx, pdu);
	case ISC_OP_SCSI_RSP:
		return handle_scsi_response(ctx, pdu);
	case ISC_OP_R2T:
		return handle_r2t(ctx, pdu);
	case ISC_OP_LOGOUT_RSP:
		isc_update_statsn(ctx, pdu);
		return handle_logout_response(ctx, pdu);
	case ISC_OP_NOP_IN:
		return handle_nop_in(ctx, pdu);
	case ISC_OP_REJECT:
		return handle_reject(ctx, pdu);
	case ISC_OP_ASYNC_MSG:
		return isc_async_handle(ctx, pdu);
	case ISC_OP_TMF_RSP:
		return handle_tmf_response(ctx, pdu);
	default:
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0, "unexpected %s from %s",
				     isc_opcode_name(op), ctx->portal);
	}
}

/* ---------------------------------------------------------------- timers */

static int run_timers(isc_ctx *ctx)
{
	int64_t now = isc_now_ms();
	struct isc_task *t;

	if (ctx->state == ISC_ST_RECONNECT_WAIT && now >= ctx->reconnect_at) {
		int rc = start_reconnect(ctx);
		if (rc)
			return rc;
	}
	if (ctx->state == ISC_ST_FFP && ctx->cfg.nop_interval_ms) {
		if (ctx->ping_outstanding && now >= ctx->ping_deadline) {
			isc_set_error(ctx, ISC_ERR_TIMEDOUT, 0,
				      "target %s did not answer a keepalive NOP-Out within %u ms",
				      ctx->portal, ctx->cfg.nop_timeout_ms);
			return isc_conn_fail(ctx, ISC_ERR_TIMEDOUT);
		}
		if (!ctx->ping_outstanding && now - ctx->last_rx_ms >= ctx->cfg.nop_interval_ms) {
			int rc = send_ping(ctx);
			if (rc)
				return isc_conn_fail(ctx, rc);
		}
	}
	if (ctx->async_logout) {
		int rc = isc_async_run(ctx, now);
		if (rc)
			return isc_conn_fail(ctx, rc);
	}
	t = ctx->tasks;

	while (t) {
		struct isc_task *next = t->next;
		if (t->deadline_ms <= now) {
			switch (t->kind) {
			case ISC_TASK_LOGIN:
				isc_set_error(ctx, ISC_ERR_TIMEDOUT, 0,
					      "login to %s at %s timed out after %u ms: check that the "
					      "portal is an iSCSI target and reachable",
					      target_label(ctx), ctx->portal, ctx->cfg.login_timeout_ms);
				return isc_conn_fail(ctx, ISC_ERR_TIMEDOUT);
			case ISC_TASK_TEXT:
				isc_set_error(ctx, ISC_ERR_TIMEDOUT, 0,
					      "SendTargets on %s timed out after %u ms", ctx->portal,
					      ctx->cfg.command_timeout_ms);
				return isc_conn_fail(ctx, ISC_ERR_TIMEDOUT);
			case ISC_TASK_LOGOUT:
				isc_set_error(ctx, ISC_ERR_TIMEDOUT, 0,
					      "logout from %s not answered within %u ms; connection closed",
					      ctx->portal, ctx->cfg.logout_timeout_ms);
				if (ctx->async_logout) {
					isc_task_complete(ctx, t, ISC_ERR_TIMEDOUT, NULL);
					return isc_async_logged_out(ctx, 0);
				}
				return isc_conn_fail(ctx, ISC_ERR_TIMEDOUT);
			default:
				if (t->aborting) {
					isc_set_error(ctx, ISC_ERR_TIMEDOUT, 0,
						      "ABORT TASK for command 0x%02x on %s LUN %llu not "
						      "answered within %u ms; dropping the connection",
						      t->cdb[0], target_label(ctx),
						      (unsigned long long)t->lun, ctx->cfg.tmf_timeout_ms);
					return isc_conn_fail(ctx, ISC_ERR_TIMEDOUT);
				}
				isc_set_error(ctx, ISC_ERR_TIMEDOUT, 0,
					      "SCSI command 0x%02x to %s LUN %llu timed out after %u ms",
					      t->cdb[0], target_label(ctx), (unsigned long long)t->lun,
					      t->timeout_ms);
				{
					int rc = abort_task(ctx, t, ISC_ERR_TIMEDOUT);
					if (rc)
						return isc_conn_fail(ctx, rc);
				}
				/* The list may have changed under the callback. */
				next = ctx->tasks;
			}
		}
		t = next;
	}
	return ISC_OK;
}

int64_t isc_next_timeout_ms(const isc_ctx *ctx, int64_t now_ms)
{
	int64_t best = -1;

	if (!ctx)
		return -1;
	for (const struct isc_task *t = ctx->tasks; t; t = t->next) {
		int64_t d = t->deadline_ms - now_ms;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	if (ctx->state == ISC_ST_RECONNECT_WAIT) {
		int64_t d = ctx->reconnect_at - now_ms;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	if (ctx->rx_backlog)
		return 0;
	{
		int64_t d = isc_async_next_ms(ctx, now_ms);
		if (d >= 0 && (best < 0 || d < best))
			best = d;
	}
	if (ctx->rxwake_deadline) {
		int64_t d = ctx->rxwake_deadline - now_ms;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	if (ctx->state == ISC_ST_FFP && ctx->cfg.nop_interval_ms) {
		int64_t at = ctx->ping_outstanding ? ctx->ping_deadline
						   : ctx->last_rx_ms + ctx->cfg.nop_interval_ms;
		int64_t d = at - now_ms;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best;
}

int isc_which_events(const isc_ctx *ctx)
{
	if (!ctx || ctx->fd < 0)
		return 0;
	if (ctx->state == ISC_ST_CONNECTING)
		return POLLOUT;
	return POLLIN | (ctx->tx_head ? POLLOUT : 0);
}

/* ---------------------------------------------------------------- service */

static int process_input(isc_ctx *ctx)
{
	int handled = 0;

	while (ctx->fd >= 0 && handled < DISPATCH_BUDGET) {
		struct isc_pdu pdu;
		int rc;

		if (ctx->direct.active || isc_direct_begin(ctx)) {
			rc = isc_direct_continue(ctx, &pdu);
			if (rc == 0)
				break; /* drained mid-PDU: poll brings us back */
		} else {
			rc = isc_rx_next(&ctx->rx, &pdu);
		}

		if (rc < 0) {
			if (rc == ISC_ERR_DIGEST)
				return isc_set_error(ctx, rc, 0,
						     "digest mismatch on a PDU from %s: data corrupted "
						     "in transit",
						     ctx->portal);
			return isc_set_error(ctx, rc, 0, "malformed PDU from %s: %s", ctx->portal,
					     isc_strerror(rc));
		}
		if (rc == 0) {
			if (ctx->rx_drained && handled) {
				ctx->rx_drained = 0;
				break;
			}
			int r = isc_transport_read(ctx);
			if (r < 0)
				return r;
			if (r == 0)
				break;
			continue;
		}
		rc = dispatch(ctx, &pdu);
		if (rc)
			return rc;
		handled++;
	}
	/* Budget spent with PDUs still buffered: the socket may be empty, so
	 * no poll would report them; isc_next_timeout_ms() says "now". */
	ctx->rx_backlog = handled >= DISPATCH_BUDGET;
	if (handled) {
		isc_rxwake_received(ctx);
		if (ctx->cfg.nop_interval_ms)
			ctx->last_rx_ms = isc_now_ms();
	}
	return ISC_OK;
}

int isc_flush(isc_ctx *ctx)
{
	if (!ctx || ctx->fd < 0 || ctx->state == ISC_ST_CONNECTING)
		return ctx && ctx->tx_head ? 1 : 0;
	if (!ctx->tx_head)
		return 0;
	/* A failed write is the connection's end: isc_service() reports it
	 * and runs the callbacks (reinstatement or failure). */
	return isc_transport_flush(ctx) == ISC_OK ? 0 : 1;
}

int isc_prepare_wait(isc_ctx *ctx)
{
	return ctx ? isc_rxwake_apply(ctx) : 0;
}

int isc_service(isc_ctx *ctx, int revents)
{
	int rc = ISC_OK;

	if (!ctx)
		return ISC_ERR_INVAL;
	if (ctx->fd >= 0 && ctx->state == ISC_ST_CONNECTING &&
	    (revents & (POLLOUT | POLLERR | POLLHUP))) {
		rc = isc_transport_connect_done(ctx);
		if (rc == 1)
			rc = ISC_OK;
		else if (rc == ISC_OK)
			rc = start_login(ctx);
		if (rc)
			return isc_conn_fail(ctx, rc);
	} else if (ctx->fd >= 0 && ctx->state != ISC_ST_CONNECTING) {
		if (revents & POLLOUT) {
			rc = isc_transport_flush(ctx);
			if (rc)
				return isc_conn_fail(ctx, rc);
		}
		/* A wakeup level that waited too long falls back to 1 (rxwake.c);
		 * what is already there is read now. */
		if (isc_rxwake_expired(ctx, isc_now_ms())) {
			isc_rxwake_apply(ctx);
			revents |= POLLIN;
		}
		if (revents & (POLLIN | POLLHUP | POLLERR) || ctx->rx_backlog) {
			rc = process_input(ctx);
			if (rc)
				return isc_conn_fail(ctx, rc);
		}
		if (ctx->state == ISC_ST_FFP) {
			rc = pump_commands(ctx);
			if (rc)
				return isc_conn_fail(ctx, rc);
		}
	}
	rc = run_timers(ctx);
	if (rc)
		return rc;
	/* defer_send: everything queued since the last call goes out now. */
	if (ctx->tx_head && ctx->fd >= 0 && ctx->state != ISC_ST_CONNECTING) {
		rc = isc_transport_flush(ctx);
		if (rc)
			return isc_conn_fail(ctx, rc);
	}
	return ISC_OK;
}
