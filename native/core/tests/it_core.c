/*
 * The core used from C alone (no Node) against a real tgtd started by
 * test/harness/with-tgtd.sh, which exports ISC_TEST_PORT and creates:
 *   iqn.2026-11.test.c:plain   64 MiB LUN 1, no auth
 *   iqn.2026-11.test.c:chap    one-way CHAP cuser / csecret-12345
 *   iqn.2026-11.test.c:mutual  CHAP muser / msecret-12345, target tuser / tsecret-12345
 * Covers discovery, login without auth, one-way and mutual CHAP, wrong
 * secrets, INQUIRY, READ CAPACITY(16), REPORT LUNS, a write/read round trip
 * with digests on, and logout, all through the blocking sync layer and once
 * through the raw fd/which_events/service API.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "isc/iscsi.h"
#include "isc/scsi.h"

#define INITIATOR "iqn.2026-11.org.npmjs.iscsi-initiator:ctest"
#define T_PLAIN "iqn.2026-11.test.c:plain"
#define T_CHAP "iqn.2026-11.test.c:chap"
#define T_MUTUAL "iqn.2026-11.test.c:mutual"

static uint16_t test_port;

static void base_config(struct isc_config *c, int type, const char *target)
{
	memset(c, 0, sizeof(*c));
	c->session_type = type;
	c->initiator_name = INITIATOR;
	c->target_name = target;
	c->portal_text = "127.0.0.1";
	if (isc_parse_numeric_portal("127.0.0.1", test_port, &c->addr, &c->addrlen) != 0)
		abort();
	c->login_timeout_ms = 10000;
}

static void set_chap(struct isc_config *c, const char *user, const char *pass)
{
	c->username = user;
	c->secret = (const uint8_t *)pass;
	c->secret_len = strlen(pass);
}

static void set_mutual(struct isc_config *c, const char *user, const char *pass)
{
	c->reverse_username = user;
	c->reverse_secret = (const uint8_t *)pass;
	c->reverse_secret_len = strlen(pass);
}

static void test_discovery(void)
{
	struct isc_config c;
	isc_ctx *ctx = NULL;
	struct isc_discovery *d = NULL;
	int found = 0;

	base_config(&c, ISC_SESSION_DISCOVERY, NULL);
	CHECK_EQ_INT(isc_ctx_new(&c, &ctx), ISC_OK);
	CHECK_EQ_INT(isc_sync_login(ctx), ISC_OK);
	CHECK_EQ_INT(isc_sync_discovery(ctx, &d), ISC_OK);
	CHECK(d != NULL);
	if (d) {
		CHECK_EQ_INT(d->target_count, 3);
		for (size_t i = 0; i < d->target_count; i++) {
			CHECK_EQ_INT(d->targets[i].portal_count, 1);
			if (d->targets[i].portal_count) {
				CHECK_EQ_STR(d->targets[i].portals[0].address, "127.0.0.1");
				CHECK_EQ_INT(d->targets[i].portals[0].port, test_port);
				CHECK_EQ_INT(d->targets[i].portals[0].tpgt, 1);
			}
			if (!strcmp(d->targets[i].name, T_PLAIN) || !strcmp(d->targets[i].name, T_CHAP) ||
			    !strcmp(d->targets[i].name, T_MUTUAL))
				found++;
		}
		CHECK_EQ_INT(found, 3);
		isc_discovery_free(d);
	}
	CHECK_EQ_INT(isc_sync_logout(ctx), ISC_OK);
	CHECK(!isc_is_logged_in(ctx));
	isc_ctx_free(ctx);
}

/* A SCSI command that retries while the target reports UNIT ATTENTION: the
 * first command on a new I_T nexus gets "power on, reset or bus device
 * reset occurred" (ASC 0x29) from tgtd, as from any SPC target. */
static int scsi_ua(isc_ctx *ctx, uint64_t lun, const uint8_t *cdb, size_t n, int dir,
		   const uint8_t *out, size_t out_len, size_t in_len, struct isc_scsi_result **r)
{
	for (int attempt = 0;; attempt++) {
		struct isc_sense sense;
		int rc = isc_sync_scsi(ctx, lun, cdb, n, dir, out, out_len, in_len, r);
		if (rc || (*r)->status != ISC_SCSI_CHECK_CONDITION || attempt == 3 ||
		    isc_parse_sense((*r)->sense, (*r)->sense_len, &sense) != 0 ||
		    sense.sense_key != 0x06)
			return rc;
		isc_scsi_result_free(*r);
		*r = NULL;
	}
}

static void check_inquiry(isc_ctx *ctx)
{
	uint8_t cdb[ISC_CDB_MAX];
	size_t n = isc_cdb_inquiry(cdb, 0, 0, 96);
	struct isc_scsi_result *r = NULL;
	struct isc_inquiry inq;

	CHECK_EQ_INT(isc_sync_scsi(ctx, 1, cdb, n, ISC_DIR_READ, NULL, 0, 96, &r), ISC_OK);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_EQ_INT(r->status, ISC_SCSI_GOOD);
	CHECK_EQ_INT(isc_parse_inquiry(r->data, r->data_len, &inq), ISC_OK);
	CHECK_EQ_INT(inq.device_type, 0);
	CHECK_EQ_STR(inq.vendor, "IET     ");
	CHECK_EQ_STR(inq.product, "VIRTUAL-DISK    ");
	isc_scsi_result_free(r);
}

static void check_capacity_and_luns(isc_ctx *ctx)
{
	uint8_t cdb[ISC_CDB_MAX];
	size_t n = isc_cdb_read_capacity16(cdb, 32);
	struct isc_scsi_result *r = NULL;
	struct isc_capacity cap;
	uint64_t luns[8];
	size_t count = 0, total = 0;

	CHECK_EQ_INT(scsi_ua(ctx, 1, cdb, n, ISC_DIR_READ, NULL, 0, 32, &r), ISC_OK);
	if (r) {
		CHECK_EQ_INT(isc_parse_read_capacity16(r->data, r->data_len, &cap), ISC_OK);
		CHECK_EQ_INT(cap.block_length, 512);
		CHECK_EQ_INT(cap.last_lba, 64 * 1024 * 1024 / 512 - 1);
		isc_scsi_result_free(r);
	}
	n = isc_cdb_report_luns(cdb, 0, 8 + 8 * 8);
	r = NULL;
	CHECK_EQ_INT(scsi_ua(ctx, 0, cdb, n, ISC_DIR_READ, NULL, 0, 8 + 8 * 8, &r), ISC_OK);
	if (r) {
		CHECK_EQ_INT(isc_parse_report_luns(r->data, r->data_len, luns, 8, &count, &total), ISC_OK);
		CHECK_EQ_INT(count, 2); /* LUN 0 (tgtd's controller) and LUN 1 */
		CHECK_EQ_INT(total, 2);
		if (count == 2) {
			CHECK_EQ_INT(isc_lun_decode(luns[0]), 0);
			CHECK_EQ_INT(isc_lun_decode(luns[1]), 1);
		}
		isc_scsi_result_free(r);
	}
}

/* Write 64 KiB at LBA 2048 and read it back: exercises immediate data,
 * R2T/Data-Out and multi-PDU Data-In. */
static void check_write_read(isc_ctx *ctx)
{
	enum { LEN = 65536 + 4096 };
	uint8_t *pattern = malloc(LEN);
	uint8_t cdb[ISC_CDB_MAX];
	struct isc_scsi_result *r = NULL;
	size_t n;

	for (size_t i = 0; i < LEN; i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 9));
	n = isc_cdb_write10(cdb, 2048, LEN / 512);
	CHECK_EQ_INT(scsi_ua(ctx, 1, cdb, n, ISC_DIR_WRITE, pattern, LEN, 0, &r), ISC_OK);
	if (r) {
		CHECK_EQ_INT(r->status, ISC_SCSI_GOOD);
		isc_scsi_result_free(r);
	}
	n = isc_cdb_read10(cdb, 2048, LEN / 512);
	r = NULL;
	CHECK_EQ_INT(scsi_ua(ctx, 1, cdb, n, ISC_DIR_READ, NULL, 0, LEN, &r), ISC_OK);
	if (r) {
		CHECK_EQ_INT(r->status, ISC_SCSI_GOOD);
		CHECK_EQ_INT(r->data_len, LEN);
		CHECK(r->data_len == LEN && memcmp(r->data, pattern, LEN) == 0);
		isc_scsi_result_free(r);
	}
	free(pattern);
}

static void test_login(const char *target, const char *user, const char *pass, const char *ruser,
		       const char *rpass, int digests)
{
	struct isc_config c;
	isc_ctx *ctx = NULL;
	const struct isc_negotiated *neg;

	base_config(&c, ISC_SESSION_NORMAL, target);
	if (user)
		set_chap(&c, user, pass);
	if (ruser)
		set_mutual(&c, ruser, rpass);
	if (digests) {
		c.header_digest = ISC_DIGEST_CRC32C;
		c.data_digest = ISC_DIGEST_CRC32C;
	}
	CHECK_EQ_INT(isc_ctx_new(&c, &ctx), ISC_OK);
	CHECK_EQ_INT(isc_sync_login(ctx), ISC_OK);
	if (!isc_is_logged_in(ctx)) {
		fprintf(stderr, "login to %s failed: %s\n", target, isc_last_error(ctx)->message);
		isc_ctx_free(ctx);
		return;
	}
	neg = isc_get_negotiated(ctx);
	CHECK(neg != NULL);
	if (neg) {
		CHECK(neg->tsih != 0);
		CHECK_EQ_INT(neg->auth_method_chap, user ? 1 : 0);
		CHECK_EQ_INT(neg->mutual_chap, ruser ? 1 : 0);
		CHECK_EQ_INT(neg->header_digest, digests);
		CHECK_EQ_INT(neg->data_digest, digests);
	}
	check_inquiry(ctx);
	check_capacity_and_luns(ctx);
	check_write_read(ctx);
	CHECK_EQ_INT(isc_sync_logout(ctx), ISC_OK);
	isc_ctx_free(ctx);
}

static void test_login_fails(const char *target, const char *user, const char *pass,
			     const char *ruser, const char *rpass, int expect, int expect_class)
{
	struct isc_config c;
	isc_ctx *ctx = NULL;
	const struct isc_error_info *e;

	base_config(&c, ISC_SESSION_NORMAL, target);
	if (user)
		set_chap(&c, user, pass);
	if (ruser)
		set_mutual(&c, ruser, rpass);
	CHECK_EQ_INT(isc_ctx_new(&c, &ctx), ISC_OK);
	CHECK_EQ_INT(isc_sync_login(ctx), expect);
	e = isc_last_error(ctx);
	CHECK_EQ_INT(e->code, expect);
	if (expect_class >= 0)
		CHECK_EQ_INT(e->status_class, expect_class);
	/* Messages never carry secrets. */
	if (pass)
		CHECK(strstr(e->message, pass) == NULL);
	if (rpass)
		CHECK(strstr(e->message, rpass) == NULL);
	CHECK(!isc_is_logged_in(ctx));
	isc_ctx_free(ctx);
}

/* The event-loop API directly: what the Node addon does. */
static int raw_done, raw_status;
static void raw_cb(isc_ctx *ctx, int status, void *result, void *priv)
{
	raw_done = 1;
	raw_status = status;
}

static void test_raw_event_loop(void)
{
	struct isc_config c;
	isc_ctx *ctx = NULL;
	int iterations = 0;

	base_config(&c, ISC_SESSION_NORMAL, T_PLAIN);
	CHECK_EQ_INT(isc_ctx_new(&c, &ctx), ISC_OK);
	CHECK_EQ_INT(isc_login_async(ctx, raw_cb, NULL), ISC_OK);
	while (!raw_done && iterations++ < 10000) {
		struct pollfd p = { .fd = isc_get_fd(ctx), .events = (short)isc_which_events(ctx) };
		int64_t t = isc_next_timeout_ms(ctx, isc_now_ms());
		int n = poll(&p, 1, t < 0 ? 1000 : (int)t);
		CHECK(n >= 0);
		isc_service(ctx, n > 0 ? p.revents : 0);
	}
	CHECK_EQ_INT(raw_status, ISC_OK);
	CHECK(isc_is_logged_in(ctx));
	CHECK_EQ_INT(isc_pending_count(ctx), 0);
	/* Freeing a logged-in context without logout must be clean. */
	isc_ctx_free(ctx);
}

static void test_refused(void)
{
	struct isc_config c;
	isc_ctx *ctx = NULL;

	base_config(&c, ISC_SESSION_DISCOVERY, NULL);
	/* Port 1 on loopback: nothing listens there. */
	isc_parse_numeric_portal("127.0.0.1:1", 3260, &c.addr, &c.addrlen);
	CHECK_EQ_INT(isc_ctx_new(&c, &ctx), ISC_OK);
	CHECK_EQ_INT(isc_sync_login(ctx), ISC_ERR_CONNREFUSED);
	isc_ctx_free(ctx);
}

int main(void)
{
	const char *p = getenv("ISC_TEST_PORT");
	if (!p) {
		fprintf(stderr, "ISC_TEST_PORT not set: run under test/harness/with-tgtd.sh\n");
		return 1;
	}
	test_port = (uint16_t)atoi(p);
	test_discovery();
	test_login(T_PLAIN, NULL, NULL, NULL, NULL, 0);
	test_login(T_CHAP, "cuser", "csecret-12345", NULL, NULL, 0);
	test_login(T_MUTUAL, "muser", "msecret-12345", "tuser", "tsecret-12345", 0);
	test_login(T_MUTUAL, "muser", "msecret-12345", "tuser", "tsecret-12345", 1);
	test_login_fails(T_CHAP, "cuser", "wrong-password", NULL, NULL, ISC_ERR_AUTH_FAILED, 2);
	test_login_fails(T_MUTUAL, "muser", "msecret-12345", "tuser", "not-the-target-secret",
			 ISC_ERR_AUTH_FAILED, -1);
	test_login_fails("iqn.2026-11.test.c:nosuch", NULL, NULL, NULL, NULL,
			 ISC_ERR_TARGET_NOT_FOUND, 2);
	test_raw_event_loop();
	test_refused();
	return check_finish();
}
