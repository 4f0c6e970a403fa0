/*
 * Operational parameter negotiation: offer text, every result rule (target
 * answers lower / equal / higher), RFC 7143 section 13 defaults, illegal
 * answers, declarative keys, target-offered keys and NotUnderstood replies.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "isc/errors.h"
#include "params.h"
#include "text.h"

/* Builds a kv list from "k=v\0k=v\0" (sizeof - 1 keeps the final NUL). */
#define KV(l, lit) CHECK_EQ_INT(isc_text_parse((const uint8_t *)(lit), sizeof(lit) - 1, (l)), 0)

static struct isc_param_offer normal_offer(void)
{
	struct isc_param_offer o;
	isc_param_offer_defaults(&o, ISC_SESSION_NORMAL);
	return o;
}

/* Runs apply on one text; returns its rc and leaves the reply in *reply. */
static int apply_text(const struct isc_param_offer *o, const char *text, size_t len,
		      struct isc_negotiated *n, struct isc_text_builder *reply, char *err,
		      size_t errlen)
{
	struct isc_kv_list l;
	int rc = isc_text_parse((const uint8_t *)text, len, &l);
	CHECK_EQ_INT(rc, 0);
	isc_negotiated_defaults(n);
	isc_text_builder_reset(reply);
	rc = isc_params_apply(o, &l, n, reply, err, errlen);
	isc_kv_list_free(&l);
	return rc;
}

#define APPLY(o, lit, n, r, e) apply_text((o), (lit), sizeof(lit) - 1, (n), (r), (e), sizeof(e))
#define REPLY_IS(b, lit)                                                               \
	do {                                                                           \
		CHECK_EQ_INT((b)->len, sizeof(lit) - 1);                               \
		if ((b)->len == sizeof(lit) - 1)                                       \
			CHECK_MEM((b)->buf, lit, sizeof(lit) - 1);                     \
	} while (0)

static void test_offer_text(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_text_builder b;
	static const char normal[] = "HeaderDigest=None\0DataDigest=None\0MaxConnections=1\0"
				     "InitialR2T=No\0ImmediateData=Yes\0"
				     "MaxRecvDataSegmentLength=262144\0MaxBurstLength=262144\0"
				     "FirstBurstLength=65536\0DefaultTime2Wait=2\0"
				     "DefaultTime2Retain=0\0MaxOutstandingR2T=1\0"
				     "DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0"
				     "ErrorRecoveryLevel=0\0";
	static const char disc[] = "HeaderDigest=CRC32C,None\0DataDigest=None,CRC32C\0"
				   "MaxRecvDataSegmentLength=32768\0";

	isc_text_builder_init(&b);
	CHECK_EQ_INT(isc_params_offer_text(&o, &b), 0);
	REPLY_IS(&b, normal);

	isc_param_offer_defaults(&o, ISC_SESSION_DISCOVERY);
	CHECK_EQ_INT(o.session_type, ISC_SESSION_DISCOVERY);
	o.header_digest = ISC_DIGEST_PREFER_CRC32C;
	o.data_digest = ISC_DIGEST_PREFER_NONE;
	o.max_recv_data_segment_length = 32768;
	isc_text_builder_reset(&b);
	CHECK_EQ_INT(isc_params_offer_text(&o, &b), 0);
	REPLY_IS(&b, disc);

	o.header_digest = ISC_DIGEST_CRC32C;
	isc_text_builder_reset(&b);
	CHECK_EQ_INT(isc_params_offer_text(&o, &b), 0);
	CHECK(b.len > 20 && memcmp(b.buf, "HeaderDigest=CRC32C\0", 20) == 0);

	/* Offers outside the legal ranges are the caller's bug. */
	o = normal_offer();
	o.max_recv_data_segment_length = 511;
	isc_text_builder_reset(&b);
	CHECK_EQ_INT(isc_params_offer_text(&o, &b), ISC_ERR_INVAL);
	o = normal_offer();
	o.first_burst_length = 300000;
	CHECK_EQ_INT(isc_params_offer_text(&o, &b), ISC_ERR_INVAL);
	o = normal_offer();
	o.error_recovery_level = 3;
	CHECK_EQ_INT(isc_params_offer_text(&o, &b), ISC_ERR_INVAL);
	o = normal_offer();
	o.header_digest = 7;
	CHECK_EQ_INT(isc_params_offer_text(&o, &b), ISC_ERR_INVAL);
	isc_text_builder_free(&b);
}

static void test_defaults(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_negotiated n;
	struct isc_text_builder r;
	char err[200];
	static const char only_info[] = "TargetPortalGroupTag=1\0TargetAlias=x\0AuthMethod=None\0";

	isc_text_builder_init(&r);
	isc_negotiated_defaults(&n);
	/* RFC 7143 section 13 defaults. */
	CHECK_EQ_INT(n.header_digest, 0);
	CHECK_EQ_INT(n.data_digest, 0);
	CHECK_EQ_INT(n.max_recv_data_segment_length, 8192);
	CHECK_EQ_INT(n.max_xmit_data_segment_length, 8192);
	CHECK_EQ_INT(n.max_burst_length, 262144);
	CHECK_EQ_INT(n.first_burst_length, 65536);
	CHECK_EQ_INT(n.default_time2wait, 2);
	CHECK_EQ_INT(n.default_time2retain, 20);
	CHECK_EQ_INT(n.max_outstanding_r2t, 1);
	CHECK_EQ_INT(n.max_connections, 1);
	CHECK_EQ_INT(n.initial_r2t, 1);
	CHECK_EQ_INT(n.immediate_data, 1);
	CHECK_EQ_INT(n.data_pdu_in_order, 1);
	CHECK_EQ_INT(n.data_sequence_in_order, 1);
	CHECK_EQ_INT(n.error_recovery_level, 0);

	/* A response without operational keys leaves every default, except
	 * our own declaration, which is in force once sent. */
	CHECK_EQ_INT(APPLY(&o, only_info, &n, &r, err), 0);
	CHECK_EQ_INT(r.len, 0);
	CHECK_EQ_INT(n.max_recv_data_segment_length, 262144);
	CHECK_EQ_INT(n.max_xmit_data_segment_length, 8192);
	CHECK_EQ_INT(n.initial_r2t, 1);
	CHECK_EQ_INT(n.default_time2retain, 20);
	isc_text_builder_free(&r);
}

static void test_full_answer(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_negotiated n;
	struct isc_text_builder r;
	char err[200];
	/* What tgt answers to open-iscsi-like offers. */
	static const char ans[] =
		"HeaderDigest=None\0DataDigest=None\0MaxConnections=1\0InitialR2T=Yes\0"
		"ImmediateData=Yes\0MaxRecvDataSegmentLength=8192\0MaxBurstLength=262144\0"
		"FirstBurstLength=65536\0DefaultTime2Wait=2\0DefaultTime2Retain=0\0"
		"MaxOutstandingR2T=1\0IFMarker=No\0OFMarker=No\0DataPDUInOrder=Yes\0"
		"DataSequenceInOrder=Yes\0ErrorRecoveryLevel=0\0";

	isc_text_builder_init(&r);
	CHECK_EQ_INT(APPLY(&o, ans, &n, &r, err), 0);
	CHECK_EQ_INT(n.initial_r2t, 1);
	CHECK_EQ_INT(n.immediate_data, 1);
	CHECK_EQ_INT(n.max_xmit_data_segment_length, 8192);
	CHECK_EQ_INT(n.max_recv_data_segment_length, 262144);
	CHECK_EQ_INT(n.max_burst_length, 262144);
	CHECK_EQ_INT(n.first_burst_length, 65536);
	CHECK_EQ_INT(n.default_time2retain, 0);
	/* Markers offered by the target are refused. */
	REPLY_IS(&r, "IFMarker=No\0OFMarker=No\0");
	isc_text_builder_free(&r);
}

static void test_min_max_rules(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_negotiated n;
	struct isc_text_builder r;
	char err[200];

	isc_text_builder_init(&r);
	/* min: lower and equal are accepted, higher is a violation. */
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=131072\0FirstBurstLength=8192\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.max_burst_length, 131072);
	CHECK_EQ_INT(n.first_burst_length, 8192);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=262144\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.max_burst_length, 262144);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=262145\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "MaxBurstLength") != NULL);
	CHECK_EQ_INT(APPLY(&o, "FirstBurstLength=65537\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "DefaultTime2Retain=0\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.default_time2retain, 0);
	CHECK_EQ_INT(APPLY(&o, "DefaultTime2Retain=20\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxOutstandingR2T=2\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxConnections=2\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxConnections=0\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "ErrorRecoveryLevel=1\0", &n, &r, err), ISC_ERR_PROTOCOL);
	o.error_recovery_level = 2;
	o.max_outstanding_r2t = 8;
	CHECK_EQ_INT(APPLY(&o, "ErrorRecoveryLevel=1\0MaxOutstandingR2T=4\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.error_recovery_level, 1);
	CHECK_EQ_INT(n.max_outstanding_r2t, 4);
	CHECK_EQ_INT(APPLY(&o, "ErrorRecoveryLevel=3\0", &n, &r, err), ISC_ERR_PROTOCOL);
	o = normal_offer();

	/* max: higher and equal are accepted, lower is a violation. */
	CHECK_EQ_INT(APPLY(&o, "DefaultTime2Wait=10\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.default_time2wait, 10);
	CHECK_EQ_INT(APPLY(&o, "DefaultTime2Wait=2\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.default_time2wait, 2);
	CHECK_EQ_INT(APPLY(&o, "DefaultTime2Wait=1\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "maximum") != NULL);
	CHECK_EQ_INT(APPLY(&o, "DefaultTime2Wait=3601\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(r.len, 0);
	isc_text_builder_free(&r);
}

static void test_bool_rules(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_negotiated n;
	struct isc_text_builder r;
	char err[200];

	isc_text_builder_init(&r);
	/* InitialR2T is OR: our No lets the target pick, our Yes forces Yes. */
	CHECK_EQ_INT(APPLY(&o, "InitialR2T=No\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.initial_r2t, 0);
	CHECK_EQ_INT(APPLY(&o, "InitialR2T=Yes\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.initial_r2t, 1);
	o.initial_r2t = 1;
	CHECK_EQ_INT(APPLY(&o, "InitialR2T=No\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "OR") != NULL);
	o = normal_offer();

	/* ImmediateData is AND: our Yes lets the target pick, our No forces No. */
	CHECK_EQ_INT(APPLY(&o, "ImmediateData=No\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.immediate_data, 0);
	o.immediate_data = 0;
	CHECK_EQ_INT(APPLY(&o, "ImmediateData=Yes\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "AND") != NULL);
	CHECK_EQ_INT(APPLY(&o, "ImmediateData=No\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.immediate_data, 0);
	o = normal_offer();

	/* DataPDUInOrder / DataSequenceInOrder are OR (RFC 7143 13.18/13.19). */
	o.data_pdu_in_order = 0;
	o.data_sequence_in_order = 0;
	CHECK_EQ_INT(APPLY(&o, "DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.data_pdu_in_order, 1);
	CHECK_EQ_INT(n.data_sequence_in_order, 1);
	CHECK_EQ_INT(APPLY(&o, "DataPDUInOrder=No\0DataSequenceInOrder=No\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.data_pdu_in_order, 0);
	CHECK_EQ_INT(n.data_sequence_in_order, 0);
	o = normal_offer();
	CHECK_EQ_INT(APPLY(&o, "DataPDUInOrder=No\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "DataSequenceInOrder=No\0", &n, &r, err), ISC_ERR_PROTOCOL);
	/* Booleans are exactly Yes / No. */
	CHECK_EQ_INT(APPLY(&o, "InitialR2T=yes\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "ImmediateData=1\0", &n, &r, err), ISC_ERR_PROTOCOL);
	isc_text_builder_free(&r);
}

static void test_numbers(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_negotiated n;
	struct isc_text_builder r;
	char err[200];

	isc_text_builder_init(&r);
	/* Hex numerical values (RFC 7143 6.1). */
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=0x1000\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.max_burst_length, 4096);
	/* FirstBurstLength left at its default is clamped to the burst. */
	CHECK_EQ_INT(n.first_burst_length, 4096);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=0X2aB0\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.max_burst_length, 0x2ab0);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=00004096\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.max_burst_length, 4096);
	/* Garbage, sign, overflow, below the legal minimum. */
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=0x\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=-4096\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=+4096\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength= 4096\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=4096k\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=x4096\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=0b4096\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=18446744073709555712\0", &n, &r, err),
		     ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=4294971392\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=0x100000000001000\0", &n, &r, err),
		     ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=511\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "512..16777215") != NULL);
	isc_text_builder_free(&r);
}

static void test_digests(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_negotiated n;
	struct isc_text_builder r;
	char err[200];

	isc_text_builder_init(&r);
	/* Offered None only: CRC32C is a protocol error. */
	CHECK_EQ_INT(APPLY(&o, "HeaderDigest=CRC32C\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "did not offer") != NULL);
	CHECK_EQ_INT(APPLY(&o, "HeaderDigest=None\0DataDigest=None\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.header_digest, 0);
	o.header_digest = ISC_DIGEST_PREFER_CRC32C;
	o.data_digest = ISC_DIGEST_CRC32C;
	CHECK_EQ_INT(APPLY(&o, "HeaderDigest=CRC32C\0DataDigest=CRC32C\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.header_digest, 1);
	CHECK_EQ_INT(n.data_digest, 1);
	CHECK_EQ_INT(APPLY(&o, "HeaderDigest=None\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.header_digest, 0);
	CHECK_EQ_INT(APPLY(&o, "DataDigest=None\0", &n, &r, err), ISC_ERR_PROTOCOL);
	/* A list is not an answer; unknown digest names are refused. */
	CHECK_EQ_INT(APPLY(&o, "HeaderDigest=CRC32C,None\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "HeaderDigest=crc32c\0", &n, &r, err), ISC_ERR_PROTOCOL);
	/* Reject: fine when None is acceptable, fatal when CRC32C is required. */
	CHECK_EQ_INT(APPLY(&o, "HeaderDigest=Reject\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.header_digest, 0);
	CHECK_EQ_INT(APPLY(&o, "DataDigest=Reject\0", &n, &r, err), ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "DataDigest") != NULL);
	CHECK_EQ_INT(APPLY(&o, "DataDigest=NotUnderstood\0", &n, &r, err), ISC_ERR_PROTOCOL);
	isc_text_builder_free(&r);
}

static void test_declarative_and_specials(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_negotiated n;
	struct isc_text_builder r;
	char err[200];

	isc_text_builder_init(&r);
	/* The target's MaxRecvDataSegmentLength is what we may send; our own
	 * declaration is unaffected, and no reply is due. */
	CHECK_EQ_INT(APPLY(&o, "MaxRecvDataSegmentLength=65536\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.max_xmit_data_segment_length, 65536);
	CHECK_EQ_INT(n.max_recv_data_segment_length, 262144);
	CHECK_EQ_INT(r.len, 0);
	CHECK_EQ_INT(APPLY(&o, "MaxRecvDataSegmentLength=16777215\0", &n, &r, err), 0);
	CHECK_EQ_INT(n.max_xmit_data_segment_length, 16777215);
	CHECK_EQ_INT(APPLY(&o, "MaxRecvDataSegmentLength=16777216\0", &n, &r, err),
		     ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(APPLY(&o, "MaxRecvDataSegmentLength=511\0", &n, &r, err), ISC_ERR_PROTOCOL);

	/* Reject / Irrelevant / NotUnderstood keep the RFC default. */
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=Reject\0InitialR2T=Irrelevant\0"
			       "ImmediateData=NotUnderstood\0MaxRecvDataSegmentLength=Irrelevant\0",
			   &n, &r, err),
		     0);
	CHECK_EQ_INT(n.max_burst_length, 262144);
	CHECK_EQ_INT(n.initial_r2t, 1);
	CHECK_EQ_INT(n.immediate_data, 1);
	CHECK_EQ_INT(n.max_xmit_data_segment_length, 8192);
	CHECK_EQ_INT(r.len, 0);

	/* A key repeated in one response. */
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=4096\0MaxBurstLength=8192\0", &n, &r, err),
		     ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "twice") != NULL);

	/* FirstBurstLength > MaxBurstLength after negotiation ... */
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=4096\0FirstBurstLength=8192\0", &n, &r, err),
		     ISC_ERR_PROTOCOL);
	CHECK(strstr(err, "FirstBurstLength") != NULL);
	/* ... is irrelevant with InitialR2T=Yes and ImmediateData=No. */
	o.initial_r2t = 1;
	o.immediate_data = 0;
	CHECK_EQ_INT(APPLY(&o, "MaxBurstLength=4096\0FirstBurstLength=8192\0InitialR2T=Yes\0"
			       "ImmediateData=No\0",
			   &n, &r, err),
		     0);
	isc_text_builder_free(&r);
}

static void test_unknown_and_target_offers(void)
{
	struct isc_param_offer o = normal_offer();
	struct isc_negotiated n;
	struct isc_text_builder r;
	char err[200];
	static char many[80 * 16];
	size_t len = 0;

	isc_text_builder_init(&r);
	CHECK_EQ_INT(APPLY(&o, "X-com.example.Foo=1\0MaxBurstLength=8192\0NewKey=abc\0", &n, &r,
			   err),
		     0);
	REPLY_IS(&r, "X-com.example.Foo=NotUnderstood\0NewKey=NotUnderstood\0");
	CHECK_EQ_INT(n.max_burst_length, 8192);
	/* A special value is itself an answer: no reply (no ping-pong). */
	CHECK_EQ_INT(APPLY(&o, "X-foo=NotUnderstood\0Bar=Reject\0", &n, &r, err), 0);
	CHECK_EQ_INT(r.len, 0);
	/* A flood of unknown keys is refused. */
	for (int i = 0; i < 70; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "K%d=v", i) + 1;
	CHECK_EQ_INT(apply_text(&o, many, len, &n, &r, err, sizeof(err)), ISC_ERR_PROTOCOL);

	/* Markers: answered No (Yes or No offered), intervals Irrelevant. */
	CHECK_EQ_INT(APPLY(&o, "IFMarker=Yes\0OFMarkInt=2048~8192\0IFMarkInt=1~2\0", &n, &r, err),
		     0);
	REPLY_IS(&r, "IFMarker=No\0OFMarkInt=Irrelevant\0IFMarkInt=Irrelevant\0");

	/* Discovery: the target proposes keys we did not offer. */
	isc_param_offer_defaults(&o, ISC_SESSION_DISCOVERY);
	CHECK_EQ_INT(APPLY(&o,
			   "HeaderDigest=None\0DataDigest=None\0MaxBurstLength=4096\0"
			   "InitialR2T=Yes\0DefaultTime2Wait=5\0DefaultTime2Retain=30\0"
			   "ErrorRecoveryLevel=2\0MaxRecvDataSegmentLength=4096\0",
			   &n, &r, err),
		     0);
	REPLY_IS(&r, "MaxBurstLength=Irrelevant\0InitialR2T=Irrelevant\0DefaultTime2Wait=5\0"
		     "DefaultTime2Retain=0\0ErrorRecoveryLevel=0\0");
	CHECK_EQ_INT(n.default_time2wait, 5);
	CHECK_EQ_INT(n.default_time2retain, 0);
	CHECK_EQ_INT(n.error_recovery_level, 0);
	CHECK_EQ_INT(n.max_xmit_data_segment_length, 4096);
	CHECK_EQ_INT(n.max_burst_length, 262144);
	/* Out-of-range proposals get Reject. */
	CHECK_EQ_INT(APPLY(&o, "DefaultTime2Wait=4000\0", &n, &r, err), 0);
	REPLY_IS(&r, "DefaultTime2Wait=Reject\0");
	CHECK_EQ_INT(n.default_time2wait, 2);

	/* Normal session: a target proposal of a key is answered by rule. */
	o = normal_offer();
	o.header_digest = ISC_DIGEST_PREFER_CRC32C;
	struct isc_kv_list l;
	KV(&l, "MaxConnections=4\0");
	isc_negotiated_defaults(&n);
	isc_text_builder_reset(&r);
	/* MaxConnections is offered by us, so this is an answer above our 1. */
	CHECK_EQ_INT(isc_params_apply(&o, &l, &n, &r, err, sizeof(err)), ISC_ERR_PROTOCOL);
	isc_kv_list_free(&l);
	isc_text_builder_free(&r);
}

int main(void)
{
	test_offer_text();
	test_defaults();
	test_full_answer();
	test_min_max_rules();
	test_bool_rules();
	test_numbers();
	test_digests();
	test_declarative_and_specials();
	test_unknown_and_target_offers();
	return check_finish();
}
