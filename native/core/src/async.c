/*
 * Async Messages from the target (RFC 7143 section 11.9): reported to the
 * caller (cfg.async_fn), then honoured.
 *
 *   0   SCSI asynchronous event: the sense data (capacity changed, reported
 *       LUNs changed, ...) is reported; nothing else to do here.
 *   1   Target requests logout within Parameter3 seconds: no new commands
 *       go out; the ones at the target may finish; the Logout (reason 0)
 *       goes out once they have, or at half of Parameter3 at the latest.
 *       Then the session logs back in (reinstatement, pending commands
 *       reissued) or ends (cfg.async_logout_close, or reinstatement off).
 *   2/3 The target will drop the connection / all of the session's
 *       connections: we close it now and reinstate after Parameter2
 *       (Time2Wait) seconds.
 *   4   Target requests parameter negotiation: a Logout is one of the two
 *       answers the RFC allows; logging back in renegotiates every key.
 *   255 and reserved values: reported only.
 */
#include <string.h>

#include "bytes.h"
#include "ctx.h"
#include "isc/scsi.h"

/* Time2Wait's limit (RFC 7143 13.15): a larger Parameter2 is clamped. */
#define MAX_TIME2WAIT_S 3600u
/* AsyncEvent 4 names no deadline ("as early as possible"): commands at the
 * target get this long to finish before the Logout goes out anyway. */
#define RENEGOTIATE_DRAIN_MS 2000u

static int relogin_allowed(const isc_ctx *ctx)
{
	return !ctx->cfg.async_logout_close && ctx->cfg.max_reconnects > 0;
}

static void decode(const struct isc_pdu *pdu, struct isc_async_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->event = pdu->bhs[ISC_OFF_ASYNC_EVENT];
	ev->vcode = pdu->bhs[ISC_OFF_ASYNC_VCODE];
	ev->lun_raw = isc_get_be64(pdu->bhs + ISC_OFF_LUN);
	ev->lun = isc_lun_decode(ev->lun_raw);
	ev->param1 = isc_get_be16(pdu->bhs + ISC_OFF_ASYNC_PARAM1);
	ev->param2 = isc_get_be16(pdu->bhs + ISC_OFF_ASYNC_PARAM2);
	ev->param3 = isc_get_be16(pdu->bhs + ISC_OFF_ASYNC_PARAM3);
	ev->data = pdu->data_len ? pdu->data : NULL;
	ev->data_len = pdu->data_len;
}

static void decide(const isc_ctx *ctx, struct isc_async_event *ev)
{
	uint32_t t2w = ev->param2 < MAX_TIME2WAIT_S ? ev->param2 : MAX_TIME2WAIT_S;

	switch (ev->event) {
	case 1:
		ev->action = relogin_allowed(ctx) ? ISC_ASYNC_RELOGIN : ISC_ASYNC_LOGOUT;
		ev->delay_ms = (uint32_t)ev->param3 * 500u; /* half of Parameter3 */
		break;
	case 4:
		ev->action = relogin_allowed(ctx) ? ISC_ASYNC_RELOGIN : ISC_ASYNC_LOGOUT;
		ev->delay_ms = RENEGOTIATE_DRAIN_MS;
		break;
	case 2:
	case 3:
		ev->action = ctx->cfg.max_reconnects > 0 ? ISC_ASYNC_RECONNECT : ISC_ASYNC_FAIL;
		ev->delay_ms = t2w * 1000u;
		break;
	default:
		ev->action = ISC_ASYNC_REPORT;
	}
}

int isc_async_handle(isc_ctx *ctx, const struct isc_pdu *pdu)
{
	struct isc_async_event ev;

	/* Async Messages carry the reserved ITT (RFC 7143 11.9). */
	if (isc_get_be32(pdu->bhs + ISC_OFF_ITT) != ISC_RESERVED_TAG)
		return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
				     "Async Message from %s with a task tag (0x%08x)", ctx->portal,
				     isc_get_be32(pdu->bhs + ISC_OFF_ITT));
	isc_update_statsn(ctx, pdu);
	decode(pdu, &ev);
	if (ev.event == 0 && pdu->data_len >= 2) {
		/* The data segment is SenseLength + sense data, as in a SCSI
		 * Response (11.9.4). */
		size_t slen = isc_get_be16(pdu->data);
		if (slen > pdu->data_len - 2)
			return isc_set_error(ctx, ISC_ERR_PROTOCOL, 0,
					     "Async Message from %s: SenseLength %zu beyond the data",
					     ctx->portal, slen);
		ev.sense = slen ? pdu->data + 2 : NULL;
		ev.sense_len = slen;
	}
	decide(ctx, &ev);
	/* A second logout request while one is under way changes nothing. */
	if ((ev.event == 1 || ev.event == 4) && ctx->async_logout)
		ev.action = relogin_allowed(ctx) ? ISC_ASYNC_RELOGIN : ISC_ASYNC_LOGOUT;
	isc_log(ctx, ev.action == ISC_ASYNC_REPORT ? ISC_LOG_INFO : ISC_LOG_WARN,
		"Async Message from %s: AsyncEvent %u (parameters %u, %u, %u)", ctx->portal,
		ev.event, ev.param1, ev.param2, ev.param3);
	if (ctx->cfg.async_fn) {
		ctx->in_callback++;
		ctx->cfg.async_fn(ctx, &ev, ctx->cfg.async_user);
		ctx->in_callback--;
	}
	if (ctx->state != ISC_ST_FFP)
		return ISC_OK; /* the callback closed the session, or a logout is on */
	switch (ev.action) {
	case ISC_ASYNC_LOGOUT:
	case ISC_ASYNC_RELOGIN:
		if (ctx->async_logout)
			return ISC_OK;
		ctx->async_logout = 1;
		ctx->async_logout_at = isc_now_ms() + ev.delay_ms;
		return isc_async_run(ctx, isc_now_ms());
	case ISC_ASYNC_RECONNECT:
	case ISC_ASYNC_FAIL:
		ctx->reconnect_delay_override = ev.action == ISC_ASYNC_RECONNECT ? (int64_t)ev.delay_ms : -1;
		/* Returned as a connection error: isc_service() closes the
		 * connection and schedules the reinstatement (session.c). */
		return isc_set_error(ctx, ISC_ERR_IO, 0,
				     "target %s announced it drops the %s (AsyncEvent %u)%s",
				     ctx->portal, ev.event == 2 ? "connection" : "session", ev.event,
				     ev.action == ISC_ASYNC_RECONNECT ? "; reinstating after Time2Wait"
								       : "");
	default:
		return ISC_OK;
	}
}

int isc_async_run(isc_ctx *ctx, int64_t now)
{
	if (ctx->async_logout != 1 || ctx->state != ISC_ST_FFP)
		return ISC_OK;
	if (isc_commands_at_target(ctx) && now < ctx->async_logout_at)
		return ISC_OK;
	ctx->async_logout = 2;
	isc_log(ctx, ISC_LOG_INFO, "logging out of %s as the target asked", ctx->portal);
	return isc_logout_start(ctx, NULL, NULL);
}

int64_t isc_async_next_ms(const isc_ctx *ctx, int64_t now)
{
	if (ctx->async_logout != 1)
		return -1;
	return ctx->async_logout_at > now ? ctx->async_logout_at - now : 0;
}

int isc_async_logged_out(isc_ctx *ctx, uint32_t time2wait_s)
{
	if (relogin_allowed(ctx)) {
		if (time2wait_s > MAX_TIME2WAIT_S)
			time2wait_s = MAX_TIME2WAIT_S;
		ctx->reconnect_delay_override = (int64_t)time2wait_s * 1000;
		isc_set_error(ctx, ISC_ERR_TARGET_LOGOUT, 0,
			      "logged out of %s as the target asked; logging in again", ctx->portal);
		/* Reinstatement as after a lost connection: pending commands
		 * are reissued once logged in again. */
		return isc_conn_fail(ctx, ISC_ERR_TARGET_LOGOUT);
	}
	isc_transport_close(ctx);
	ctx->async_logout = 0;
	ctx->state = ISC_ST_CLOSED;
	isc_set_error(ctx, ISC_ERR_TARGET_LOGOUT, 0,
		      "the target %s asked for a logout; the session ended", ctx->portal);
	isc_fail_all(ctx, ISC_ERR_TARGET_LOGOUT);
	isc_emit_event(ctx, ISC_EVENT_LOGGED_OUT, ISC_ERR_TARGET_LOGOUT);
	return ISC_OK;
}
