/*
 * isc_ctx_new() argument validation and the state rules of the engine that
 * need no network: every bad configuration is refused with ISC_ERR_INVAL
 * (never a crash), operations before login are refused at once, and abort
 * and free on an idle context are clean.
 */
#include <poll.h>
#include <string.h>

#include "check.h"
#include "isc/iscsi.h"

static void good(struct isc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->session_type = ISC_SESSION_NORMAL;
	c->initiator_name = "iqn.2026-11.org.example:init";
	c->target_name = "iqn.2026-11.org.example:target";
	isc_parse_numeric_portal("127.0.0.1", 3260, &c->addr, &c->addrlen);
}

static int try_new(const struct isc_config *c)
{
	isc_ctx *ctx = NULL;
	int rc = isc_ctx_new(c, &ctx);
	if (rc == ISC_OK)
		isc_ctx_free(ctx);
	else
		CHECK(ctx == NULL);
	return rc;
}

static void test_validation(void)
{
	struct isc_config c;

	good(&c);
	CHECK_EQ_INT(try_new(&c), ISC_OK);
	CHECK_EQ_INT(isc_ctx_new(NULL, NULL), ISC_ERR_INVAL);

	good(&c);
	c.initiator_name = NULL;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
	good(&c);
	c.initiator_name = "iqn.2026-11.org.example:bad\x1bname";
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
	good(&c);
	c.target_name = NULL;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
	good(&c);
	c.session_type = ISC_SESSION_DISCOVERY;
	c.target_name = NULL;
	CHECK_EQ_INT(try_new(&c), ISC_OK);
	good(&c);
	c.session_type = 7;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
	good(&c);
	c.addr.ss_family = AF_UNIX;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);

	/* CHAP combinations */
	good(&c);
	c.username = "u";
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL); /* no secret */
	good(&c);
	c.username = "u";
	c.secret = (const uint8_t *)"secret-1";
	c.secret_len = 8;
	CHECK_EQ_INT(try_new(&c), ISC_OK);
	c.reverse_username = "t";
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL); /* no reverse secret */
	c.reverse_secret = (const uint8_t *)"secret-2";
	c.reverse_secret_len = 8;
	CHECK_EQ_INT(try_new(&c), ISC_OK);
	/* RFC 7143 12.1.3: the same secret in both directions is refused. */
	c.reverse_secret = (const uint8_t *)"secret-1";
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
	c.reverse_secret_len = 7; /* a prefix is a different secret */
	CHECK_EQ_INT(try_new(&c), ISC_OK);
	good(&c);
	c.reverse_username = "t";
	c.reverse_secret = (const uint8_t *)"x";
	c.reverse_secret_len = 1;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL); /* mutual without one-way */

	good(&c);
	c.chap_algs[0] = 42;
	c.chap_alg_count = 1;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
	good(&c);
	c.chap_alg_count = ISC_MAX_CHAP_ALGS + 1;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
	good(&c);
	c.header_digest = 9;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
	good(&c);
	c.max_recv_data_segment_length = 100;
	CHECK_EQ_INT(try_new(&c), ISC_ERR_INVAL);
}

static int cb_calls, cb_status;
static void cb(isc_ctx *ctx, int status, void *result, void *priv)
{
	cb_calls++;
	cb_status = status;
}

static void test_states(void)
{
	struct isc_config c;
	isc_ctx *ctx = NULL;
	uint8_t cdb[6] = { 0 };

	good(&c);
	CHECK_EQ_INT(isc_ctx_new(&c, &ctx), ISC_OK);
	CHECK_EQ_INT(isc_get_fd(ctx), -1);
	CHECK_EQ_INT(isc_which_events(ctx), 0);
	CHECK_EQ_INT(isc_next_timeout_ms(ctx, isc_now_ms()), -1);
	CHECK(isc_get_negotiated(ctx) == NULL);
	/* Refused at once, callback never run. */
	CHECK_EQ_INT(isc_scsi_async(ctx, 0, cdb, 6, ISC_DIR_NONE, NULL, 0, 0, cb, NULL), ISC_ERR_STATE);
	CHECK_EQ_INT(isc_discovery_async(ctx, cb, NULL), ISC_ERR_STATE);
	CHECK_EQ_INT(isc_logout_async(ctx, cb, NULL), ISC_ERR_STATE);
	CHECK_EQ_INT(isc_scsi_async(ctx, 0, cdb, 0, ISC_DIR_NONE, NULL, 0, 0, cb, NULL), ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_scsi_async(ctx, 20000, cdb, 6, ISC_DIR_NONE, NULL, 0, 0, cb, NULL), ISC_ERR_INVAL);
	CHECK_EQ_INT(cb_calls, 0);

	/* A login in flight is completed exactly once by abort. The connect to
	 * port 9 on loopback is either refused later or still pending. */
	isc_parse_numeric_portal("127.0.0.1:9", 3260, &c.addr, &c.addrlen);
	isc_ctx_free(ctx);
	CHECK_EQ_INT(isc_ctx_new(&c, &ctx), ISC_OK);
	CHECK_EQ_INT(isc_login_async(ctx, cb, NULL), ISC_OK);
	CHECK_EQ_INT(isc_login_async(ctx, cb, NULL), ISC_ERR_STATE);
	CHECK_EQ_INT(isc_pending_count(ctx), 1);
	isc_ctx_abort(ctx, ISC_ERR_CANCELLED);
	CHECK_EQ_INT(cb_calls, 1);
	CHECK_EQ_INT(cb_status, ISC_ERR_CANCELLED);
	CHECK_EQ_INT(isc_last_error(ctx)->code, ISC_ERR_CANCELLED);
	CHECK_EQ_INT(isc_pending_count(ctx), 0);
	CHECK_EQ_INT(isc_get_fd(ctx), -1);
	isc_ctx_abort(ctx, ISC_ERR_CANCELLED); /* idempotent */
	CHECK_EQ_INT(cb_calls, 1);
	isc_ctx_free(ctx);

	/* free() with a login pending completes it with ISC_ERR_CLOSED. */
	CHECK_EQ_INT(isc_ctx_new(&c, &ctx), ISC_OK);
	CHECK_EQ_INT(isc_login_async(ctx, cb, NULL), ISC_OK);
	isc_ctx_free(ctx);
	CHECK_EQ_INT(cb_calls, 2);
	CHECK_EQ_INT(cb_status, ISC_ERR_CLOSED);
}

int main(void)
{
	test_validation();
	test_states();
	return check_finish();
}
