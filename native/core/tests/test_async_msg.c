/*
 * Async Messages (RFC 7143 section 11.9) on a context put into Full
 * Feature Phase by hand: each is reported through cfg.async_fn with its
 * fields decoded, then acted on (AsyncEvent 1 and 4: a Logout once the
 * commands at the target are done, then a new login or the end of the
 * session; 2 and 3: the connection dropped and reinstated after
 * Time2Wait).
 */
#include <poll.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "isc/scsi.h"
#include "scsi_fixture.h"

static const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
static uint8_t rbuf[2][4096];

static uint32_t submit_read(struct fx *f, struct done *d, int i)
{
	struct isc_scsi_cmd c = { .cdb = read10, .cdb_len = 10, .dir = ISC_DIR_READ,
				  .data_in = rbuf[i], .in_len = sizeof(rbuf[i]) };

	memset(d, 0, sizeof(*d));
	CHECK_EQ_INT(isc_scsi_submit(f->ctx, &c, fx_on_done, d, NULL), ISC_OK);
	return fx_cmd_itt(f);
}

/* The whole READ answered: one Data-In with status GOOD. */
static void answer_read(struct fx *f, uint32_t itt)
{
	uint8_t bhs[ISC_BHS_LEN], data[4096];

	memset(data, 0xa5, sizeof(data));
	tgt_data_in(&f->tp, bhs, itt, 0, 0, ISC_FLAG_FINAL | ISC_FLAG_DATAIN_STATUS, 0, 0);
	CHECK_EQ_INT(tgt_send(&f->tp, bhs, data, sizeof(data)), 0);
	fx_service(f);
}

static void async_msg(struct fx *f, uint8_t event, uint8_t vcode, uint64_t lun_raw,
		      uint16_t p2, uint16_t p3, const uint8_t *data, size_t len)
{
	uint8_t bhs[ISC_BHS_LEN];

	tgt_async(&f->tp, bhs, event, lun_raw, 0, p2, p3);
	bhs[ISC_OFF_ASYNC_VCODE] = vcode;
	CHECK_EQ_INT(tgt_send(&f->tp, bhs, data, len), 0);
	fx_service(f);
}

/* The Logout Request on the wire (reason 0: close the session, 11.14.1);
 * its ITT, or ISC_RESERVED_TAG when none went out. */
static uint32_t logout_request(struct fx *f)
{
	struct isc_pdu p;

	if (!fx_next(f, ISC_OP_LOGOUT_REQ, &p))
		return ISC_RESERVED_TAG;
	CHECK_EQ_INT(p.bhs[1] & 0x7f, 0);
	return isc_pdu_u32(&p, ISC_OFF_ITT);
}

static void logout_response(struct fx *f, uint32_t itt)
{
	uint8_t bhs[ISC_BHS_LEN];

	tgt_hdr(&f->tp, bhs, ISC_OP_LOGOUT_RSP, ISC_FLAG_FINAL, itt);
	tgt_statsn(&f->tp, bhs);
	/* Time2Wait 0, Time2Retain 0 (11.15.4, 11.15.5). */
	CHECK_EQ_INT(tgt_send(&f->tp, bhs, NULL, 0), 0);
	fx_service(f);
}

static int saw_event(const struct fx *f, int event, int code)
{
	for (int i = 0; i < f->nevents; i++)
		if (f->events[i] == event && f->codes[i] == code)
			return 1;
	return 0;
}

static void test_reported_only(void)
{
	static const uint8_t sense[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a, 0x09 };
	static const uint8_t vendor[7] = "vendor";
	uint8_t data[2 + sizeof(sense)];
	struct fx f;

	memset(&f, 0, sizeof(f));
	CHECK_EQ_INT(fx_start(&f, 1, 0), 0);
	isc_put_be16(data, sizeof(sense));
	memcpy(data + 2, sense, sizeof(sense));
	async_msg(&f, 0, 0, isc_lun_encode(3), 0, 0, data, sizeof(data));
	CHECK_EQ_INT(f.async_calls, 1);
	CHECK_EQ_INT(f.async.event, 0);
	CHECK_EQ_INT(f.async.lun, 3);
	CHECK_EQ_INT(f.async.sense_len, sizeof(sense));
	CHECK_MEM(f.async_sense, sense, sizeof(sense));
	CHECK_EQ_INT(f.async.action, ISC_ASYNC_REPORT);

	async_msg(&f, 255, 7, 0, 0, 0, vendor, sizeof(vendor));
	CHECK_EQ_INT(f.async_calls, 2);
	CHECK_EQ_INT(f.async.event, 255);
	CHECK_EQ_INT(f.async.vcode, 7);
	CHECK_EQ_INT(f.async.data_len, sizeof(vendor));
	CHECK_MEM(f.async_data, vendor, sizeof(vendor));
	CHECK_EQ_INT(f.async.action, ISC_ASYNC_REPORT);

	async_msg(&f, 9, 0, 0, 0, 0, NULL, 0); /* reserved */
	CHECK_EQ_INT(f.async_calls, 3);
	CHECK_EQ_INT(f.async.action, ISC_ASYNC_REPORT);
	CHECK_EQ_INT(isc_is_logged_in(f.ctx), 1);
	CHECK_EQ_INT(fx_dropped(&f), 0);
	fx_stop(&f);
}

/* AsyncEvent 1 with reinstatement on: the command at the target finishes,
 * the new one waits, the Logout goes out, the session logs back in and the
 * waiting command goes out on the new connection. */
static void test_logout_request_relogin(void)
{
	struct fx f;
	struct done at_target, waiting;
	uint32_t itt, logout_itt;

	memset(&f, 0, sizeof(f));
	CHECK_EQ_INT(fx_start(&f, 1, 0), 0);
	itt = submit_read(&f, &at_target, 0);
	async_msg(&f, 1, 0, 0, 0, 4, NULL, 0);
	CHECK_EQ_INT(f.async_calls, 1);
	CHECK_EQ_INT(f.async.event, 1);
	CHECK_EQ_INT(f.async.param3, 4);
	CHECK_EQ_INT(f.async.action, ISC_ASYNC_RELOGIN);
	CHECK_EQ_INT(f.async.delay_ms, 2000); /* half of Parameter3 */
	CHECK_EQ_INT(logout_request(&f), ISC_RESERVED_TAG); /* a command is at the target */

	CHECK_EQ_INT(submit_read(&f, &waiting, 1), ISC_RESERVED_TAG); /* new commands wait */
	answer_read(&f, itt);
	CHECK_EQ_INT(at_target.calls, 1);
	CHECK_EQ_INT(at_target.status, ISC_OK);
	logout_itt = logout_request(&f);
	CHECK(logout_itt != ISC_RESERVED_TAG);

	logout_response(&f, logout_itt);
	CHECK(saw_event(&f, ISC_EVENT_CONNECTION_LOST, ISC_ERR_TARGET_LOGOUT));
	CHECK_EQ_INT(waiting.calls, 0);
	for (int i = 0; i < 50 && f.ctx->state == ISC_ST_RECONNECT_WAIT; i++) {
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
		isc_service(f.ctx, 0);
	}
	CHECK_EQ_INT(tgt_relogin(f.ctx, f.lfd, &f.tp, &f.neg), 0);
	CHECK(saw_event(&f, ISC_EVENT_RECONNECTED, ISC_OK));
	itt = fx_cmd_itt(&f);
	CHECK(itt != ISC_RESERVED_TAG);
	answer_read(&f, itt);
	CHECK_EQ_INT(waiting.calls, 1);
	CHECK_EQ_INT(waiting.status, ISC_OK);
	fx_stop(&f);
}

/* AsyncEvent 1 (and 4) ending the session: with async_logout_close, or
 * with reinstatement off. Parameter3 0: the Logout goes out at once even
 * though a command is at the target, which then fails. */
static void test_logout_request_close(void)
{
	static const struct {
		uint8_t event;
		uint32_t reconnects;
		int close;
	} cases[] = { { 1, 1, 1 }, { 1, 0, 0 }, { 4, 0, 0 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		struct done d;
		uint32_t logout_itt;

		memset(&f, 0, sizeof(f));
		CHECK_EQ_INT(fx_start(&f, cases[i].reconnects, cases[i].close), 0);
		if (cases[i].event == 1)
			submit_read(&f, &d, 0);
		async_msg(&f, cases[i].event, 0, 0, 0, 0, NULL, 0);
		CHECK_EQ_INT(f.async.event, cases[i].event);
		CHECK_EQ_INT(f.async.action, ISC_ASYNC_LOGOUT);
		logout_itt = logout_request(&f);
		CHECK(logout_itt != ISC_RESERVED_TAG);
		logout_response(&f, logout_itt);
		if (cases[i].event == 1) {
			CHECK_EQ_INT(d.calls, 1);
			CHECK_EQ_INT(d.status, ISC_ERR_TARGET_LOGOUT);
		}
		CHECK(saw_event(&f, ISC_EVENT_LOGGED_OUT, ISC_ERR_TARGET_LOGOUT));
		CHECK_EQ_INT(isc_is_logged_in(f.ctx), 0);
		CHECK_EQ_INT(isc_get_fd(f.ctx), -1);
		fx_stop(&f);
	}
}

/* AsyncEvent 2: the connection is closed now and reinstated after
 * Parameter2 (Time2Wait) seconds; the pending command waits for it. */
static void test_drop_reconnect(void)
{
	struct fx f;
	struct done d;
	int64_t wait;

	memset(&f, 0, sizeof(f));
	CHECK_EQ_INT(fx_start(&f, 1, 0), 0);
	submit_read(&f, &d, 0);
	async_msg(&f, 2, 0, 0, 3, 0, NULL, 0);
	CHECK_EQ_INT(f.async.event, 2);
	CHECK_EQ_INT(f.async.param2, 3);
	CHECK_EQ_INT(f.async.action, ISC_ASYNC_RECONNECT);
	CHECK_EQ_INT(f.async.delay_ms, 3000);
	CHECK_EQ_INT(isc_get_fd(f.ctx), -1);
	CHECK_EQ_INT(f.ctx->state, ISC_ST_RECONNECT_WAIT);
	CHECK_EQ_INT(fx_dropped(&f), 1);
	CHECK_EQ_INT(d.calls, 0);
	wait = isc_next_timeout_ms(f.ctx, isc_now_ms());
	CHECK(wait > 2500 && wait <= 3000);
	fx_stop(&f);
}

/* AsyncEvent 3 with reinstatement off: the session fails. */
static void test_drop_fail(void)
{
	struct fx f;
	struct done d;

	memset(&f, 0, sizeof(f));
	CHECK_EQ_INT(fx_start(&f, 0, 0), 0);
	submit_read(&f, &d, 0);
	async_msg(&f, 3, 0, 0, 2, 0, NULL, 0);
	CHECK_EQ_INT(f.async.event, 3);
	CHECK_EQ_INT(f.async.action, ISC_ASYNC_FAIL);
	CHECK_EQ_INT(d.calls, 1);
	CHECK_EQ_INT(d.status, ISC_ERR_IO);
	CHECK(saw_event(&f, ISC_EVENT_SESSION_FAILED, ISC_ERR_IO));
	CHECK_EQ_INT(fx_dropped(&f), 1);
	fx_stop(&f);
}

int main(void)
{
	test_reported_only();
	test_logout_request_relogin();
	test_logout_request_close();
	test_drop_reconnect();
	test_drop_fail();
	return check_finish();
}
