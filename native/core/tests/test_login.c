/*
 * Login state machine driven by a scripted target: the test builds every
 * Login Response itself (computing the target's CHAP answers with
 * isc_chap_compute) and checks each Login Request byte for byte where the
 * RFC fixes it (RFC 7143 11.12 / 11.13).
 *
 * With ISC_LOGIN_CORPUS_DIR set, every scenario also writes the response
 * sequence it fed in the fuzz_login input format (see fuzz/fuzz_login.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "chap.h"
#include "check.h"
#include "isc/errors.h"
#include "login.h"
#include "params.h"
#include "pdu.h"
#include "text.h"

#define ITT 0x11223344u
#define CMDSN 0x00000007u
#define T_BIT 0x80
#define C_BIT 0x40
#define CSG(x) ((x) << 2)

static const uint8_t ISID[6] = { 0x80, 0x12, 0x34, 0x56, 0x78, 0x9a };
static const char SECRET[] = "initiator-secret-12";
static const char RSECRET[] = "target-secret-3456";

/* ---- transcript: every request we emitted, to search for secrets ---- */
static uint8_t transcript[1 << 16];
static size_t transcript_len;

/* ---- corpus recorder (fuzz_login format: mode byte, then per response
 * a 2-byte big-endian length and the BHS + data bytes) ---- */
static uint8_t rec[1 << 16];
static size_t rec_len;

static void rec_begin(uint8_t mode)
{
	rec_len = 0;
	rec[rec_len++] = mode;
	transcript_len = 0;
}

static void rec_save(const char *name)
{
	const char *dir = getenv("ISC_LOGIN_CORPUS_DIR");
	char path[512];
	FILE *f;
	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f) {
		fwrite(rec, 1, rec_len, f);
		fclose(f);
	}
}

/* ---- scripted target ---- */
struct rsp {
	uint8_t buf[ISC_BHS_LEN + 8192];
	struct isc_pdu pdu;
};

static struct isc_pdu *mk(struct rsp *r, uint8_t flags, uint32_t statsn, uint16_t tsih, int cls,
			  int detail, const char *text, size_t len)
{
	uint8_t *h = r->buf;
	memset(r->buf, 0, ISC_BHS_LEN);
	h[0] = ISC_OP_LOGIN_RSP;
	h[1] = flags;
	isc_put_be24(h + ISC_OFF_DSL, (uint32_t)len);
	memcpy(h + ISC_OFF_ISID, ISID, 6);
	isc_put_be16(h + ISC_OFF_TSIH, tsih);
	isc_put_be32(h + ISC_OFF_ITT, ITT);
	isc_put_be32(h + ISC_OFF_STATSN, statsn);
	isc_put_be32(h + ISC_OFF_EXPCMDSN, CMDSN);
	isc_put_be32(h + ISC_OFF_MAXCMDSN, CMDSN + 16);
	h[ISC_OFF_LOGIN_CLASS] = (uint8_t)cls;
	h[ISC_OFF_LOGIN_DETAIL] = (uint8_t)detail;
	if (len)
		memcpy(r->buf + ISC_BHS_LEN, text, len);
	r->pdu.bhs = r->buf;
	r->pdu.ahs = NULL;
	r->pdu.ahs_len = 0;
	r->pdu.data = len ? r->buf + ISC_BHS_LEN : NULL;
	r->pdu.data_len = len;
	return &r->pdu;
}

/* Feed one response (recording it) and return the machine's verdict. */
static int feed(struct isc_login *lg, const struct isc_pdu *p)
{
	size_t n = ISC_BHS_LEN + p->data_len;
	if (rec_len + 2 + n <= sizeof(rec)) {
		isc_put_be16(rec + rec_len, (uint16_t)n);
		memcpy(rec + rec_len + 2, p->bhs, ISC_BHS_LEN);
		if (p->data_len)
			memcpy(rec + rec_len + 2 + ISC_BHS_LEN, p->data, p->data_len);
		rec_len += 2 + n;
	}
	return isc_login_response(lg, p);
}

#define RSP(lg, r, flags, statsn, tsih, lit) \
	feed((lg), mk((r), (flags), (statsn), (tsih), 0, 0, (lit), sizeof(lit) - 1))
#define STATUS(lg, r, cls, det, lit) \
	feed((lg), mk((r), 0, 1, 0, (cls), (det), (lit), sizeof(lit) - 1))

/* The pending request: header and parsed text. */
struct req {
	const uint8_t *bhs;
	const uint8_t *data;
	size_t len;
	struct isc_kv_list kv;
};

static void get_req(struct isc_login *lg, struct req *q)
{
	isc_login_request(lg, &q->bhs, &q->data, &q->len);
	if (transcript_len + ISC_BHS_LEN + q->len <= sizeof(transcript)) {
		memcpy(transcript + transcript_len, q->bhs, ISC_BHS_LEN);
		if (q->len)
			memcpy(transcript + transcript_len + ISC_BHS_LEN, q->data, q->len);
		transcript_len += ISC_BHS_LEN + q->len;
	}
	CHECK_EQ_INT(isc_get_be24(q->bhs + ISC_OFF_DSL), q->len);
	CHECK_EQ_INT(q->bhs[0], 0x43);
	CHECK_EQ_INT(isc_get_be32(q->bhs + ISC_OFF_ITT), ITT);
	CHECK_EQ_INT(isc_get_be32(q->bhs + ISC_OFF_CMDSN), CMDSN);
	CHECK_MEM(q->bhs + ISC_OFF_ISID, ISID, 6);
	if (isc_text_parse(q->data, q->len, &q->kv) != 0)
		isc_kv_list_init(&q->kv);
}

static void put_req(struct req *q)
{
	isc_kv_list_free(&q->kv);
}

static int transcript_has(const void *needle, size_t n)
{
	return memmem(transcript, transcript_len, needle, n) != NULL;
}

static struct isc_login_config base_cfg(int type)
{
	struct isc_login_config c;
	memset(&c, 0, sizeof(c));
	c.session_type = type;
	c.initiator_name = "iqn.2026-11.test:init";
	c.initiator_alias = "host1";
	c.target_name = type == ISC_SESSION_NORMAL ? "iqn.2026-11.test:disk" : NULL;
	memcpy(c.isid, ISID, 6);
	c.tsih = 0;
	c.cid = 0x0102;
	c.itt = ITT;
	c.cmdsn = CMDSN;
	isc_param_offer_defaults(&c.offer, type);
	return c;
}

static struct isc_login_config chap_cfg(int alg, int mutual)
{
	struct isc_login_config c = base_cfg(ISC_SESSION_NORMAL);
	c.username = "iuser";
	c.secret = (const uint8_t *)SECRET;
	c.secret_len = strlen(SECRET);
	if (mutual) {
		c.reverse_username = "tuser";
		c.reverse_secret = (const uint8_t *)RSECRET;
		c.reverse_secret_len = strlen(RSECRET);
	}
	if (alg) {
		c.chap_algs[0] = alg;
		c.chap_alg_count = 1;
	} else {
		c.chap_algs[0] = ISC_CHAP_SHA3_256;
		c.chap_algs[1] = ISC_CHAP_SHA256;
		c.chap_algs[2] = ISC_CHAP_SHA1;
		c.chap_algs[3] = ISC_CHAP_MD5;
		c.chap_alg_count = 4;
	}
	return c;
}

/* The canonical answer to our default normal offer (what tgt sends). */
static const char OP_ANSWER[] =
	"HeaderDigest=None\0DataDigest=None\0MaxConnections=1\0InitialR2T=Yes\0"
	"ImmediateData=Yes\0MaxRecvDataSegmentLength=65536\0MaxBurstLength=262144\0"
	"FirstBurstLength=65536\0DefaultTime2Wait=2\0DefaultTime2Retain=0\0"
	"MaxOutstandingR2T=1\0DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0"
	"ErrorRecoveryLevel=0\0";

/* Drive stage 1 to the end with the canonical answer. */
static void finish_operational(struct isc_login *lg, struct rsp *r, uint32_t statsn)
{
	struct req q;
	struct isc_text_builder offer;

	get_req(lg, &q);
	CHECK_EQ_INT(q.bhs[1], T_BIT | CSG(1) | 3);
	CHECK_EQ_INT(isc_get_be32(q.bhs + ISC_OFF_EXPSTATSN), statsn);
	isc_text_builder_init(&offer);
	isc_params_offer_text(&lg->cfg.offer, &offer);
	CHECK_EQ_INT(q.len, offer.len);
	if (q.len == offer.len)
		CHECK_MEM(q.data, offer.buf, offer.len);
	isc_text_builder_free(&offer);
	put_req(&q);
	CHECK_EQ_INT(feed(lg, mk(r, T_BIT | CSG(1) | 3, statsn, 0x1234, 0, 0, OP_ANSWER,
				  sizeof(OP_ANSWER) - 1)),
		     ISC_LOGIN_DONE);
	CHECK_EQ_INT(lg->phase, ISC_LP_FFP);
	CHECK_EQ_INT(lg->neg.tsih, 0x1234);
	CHECK_EQ_INT(lg->neg.max_xmit_data_segment_length, 65536);
	CHECK_EQ_INT(lg->neg.max_recv_data_segment_length, 262144);
	CHECK_EQ_INT(lg->neg.initial_r2t, 1);
	CHECK_EQ_INT(lg->exp_statsn, statsn + 1);
}

static void test_no_auth(void)
{
	struct isc_login_config c = base_cfg(ISC_SESSION_NORMAL);
	struct isc_login lg;
	static struct rsp r;
	struct req q;
	static const char first[] = "InitiatorName=iqn.2026-11.test:init\0InitiatorAlias=host1\0"
				    "SessionType=Normal\0TargetName=iqn.2026-11.test:disk\0"
				    "AuthMethod=None\0";
	uint8_t want[ISC_BHS_LEN] = { 0x43, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00,
				      (uint8_t)(sizeof(first) - 1) };

	rec_begin(2);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	get_req(&lg, &q);
	/* Exact first BHS: immediate Login Request, T=1 CSG=0 NSG=1, version
	 * 0/0, ISID, TSIH 0, ITT, CID, CmdSN, ExpStatSN 0. */
	memcpy(want + 8, ISID, 6);
	isc_put_be32(want + 16, ITT);
	isc_put_be16(want + 20, 0x0102);
	isc_put_be32(want + 24, CMDSN);
	CHECK_MEM(q.bhs, want, ISC_BHS_LEN);
	CHECK_EQ_INT(q.len, sizeof(first) - 1);
	CHECK_MEM(q.data, first, sizeof(first) - 1);
	put_req(&q);

	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 100, 0,
			 "AuthMethod=None\0TargetPortalGroupTag=1\0TargetAlias=disk-alias\0"),
		     ISC_LOGIN_SEND);
	CHECK_EQ_INT(lg.csg, 1);
	finish_operational(&lg, &r, 101);
	CHECK_EQ_INT(lg.neg.tpgt, 1);
	CHECK_EQ_STR(lg.neg.target_alias, "disk-alias");
	CHECK_EQ_INT(lg.neg.auth_method_chap, 0);
	CHECK_EQ_INT(lg.max_cmdsn, CMDSN + 16);
	/* Nothing more once in Full Feature Phase. */
	CHECK_EQ_INT(RSP(&lg, &r, 0, 1, 0, ""), ISC_ERR_STATE);
	isc_login_free(&lg);
	rec_save("no_auth");
}

/* Target answers our T=1 with T=0: we repeat the wish with an empty request. */
static void test_no_auth_slow_target(void)
{
	struct isc_login_config c = base_cfg(ISC_SESSION_NORMAL);
	struct isc_login lg;
	static struct rsp r;
	struct req q;

	rec_begin(2);
	c.initiator_alias = NULL;
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	get_req(&lg, &q);
	CHECK(isc_kv_get(&q.kv, "InitiatorAlias") == NULL);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 5, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	get_req(&lg, &q);
	CHECK_EQ_INT(q.bhs[1], T_BIT | CSG(0) | 1);
	CHECK_EQ_INT(q.len, 0);
	CHECK_EQ_INT(isc_get_be32(q.bhs + ISC_OFF_EXPSTATSN), 6);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 6, 0, ""), ISC_LOGIN_SEND);
	finish_operational(&lg, &r, 7);
	isc_login_free(&lg);
	rec_save("no_auth_slow");
}

/* Runs the CHAP exchange up to our CHAP_R; returns the request with our
 * CHAP values (caller frees). */
static void chap_until_response(struct isc_login *lg, struct rsp *r, int alg_pick,
				const char *offered_algs, uint8_t tid, const uint8_t *chal,
				size_t chal_len, struct req *out)
{
	struct req q;
	char text[4096], hex[2 * ISC_CHAP_MAX_CHALLENGE + 3];
	int n;

	get_req(lg, &q);
	CHECK_EQ_INT(q.bhs[1], 0); /* T=0 CSG=0 */
	CHECK_EQ_STR(isc_kv_get(&q.kv, "AuthMethod"),
		     lg->cfg.reverse_username ? "CHAP" : "CHAP,None");
	put_req(&q);
	CHECK_EQ_INT(RSP(lg, r, CSG(0), 1, 0, "AuthMethod=CHAP\0TargetPortalGroupTag=2\0"),
		     ISC_LOGIN_SEND);
	get_req(lg, &q);
	CHECK_EQ_INT(q.bhs[1], 0);
	CHECK_EQ_INT(isc_get_be32(q.bhs + ISC_OFF_EXPSTATSN), 2);
	CHECK_EQ_STR(isc_kv_get(&q.kv, "CHAP_A"), offered_algs);
	CHECK_EQ_INT(q.kv.count, 1);
	put_req(&q);

	isc_chap_encode_hex(chal, chal_len, hex, sizeof(hex));
	n = snprintf(text, sizeof(text), "CHAP_A=%d%cCHAP_I=%u%cCHAP_C=%s%c", alg_pick, 0,
		     (unsigned)tid, 0, hex, 0);
	CHECK_EQ_INT(feed(lg, mk(r, CSG(0), 2, 0, 0, 0, text, (size_t)n)), ISC_LOGIN_SEND);
	get_req(lg, out);
	CHECK_EQ_INT(out->bhs[1], T_BIT | CSG(0) | 1);
}

static void check_chap_r(const struct req *q, int alg, uint8_t id, const char *secret,
			 const uint8_t *chal, size_t chal_len)
{
	uint8_t d[ISC_CHAP_MAX_DIGEST];
	char hex[2 * ISC_CHAP_MAX_DIGEST + 3];
	CHECK_EQ_INT(isc_chap_compute(alg, id, (const uint8_t *)secret, strlen(secret), chal,
				      chal_len, d),
		     0);
	isc_chap_encode_hex(d, isc_chap_digest_len(alg), hex, sizeof(hex));
	CHECK_EQ_STR(isc_kv_get(&q->kv, "CHAP_R"), hex);
	CHECK_EQ_STR(isc_kv_get(&q->kv, "CHAP_N"), "iuser");
}

static void test_one_way(int alg, const char *name)
{
	struct isc_login_config c = chap_cfg(alg, 0);
	struct isc_login lg;
	static struct rsp r;
	struct req q;
	uint8_t chal[20];
	char algs[8];

	rec_begin(1);
	for (size_t i = 0; i < sizeof(chal); i++)
		chal[i] = (uint8_t)(0xa0 + i);
	snprintf(algs, sizeof(algs), "%d", alg);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	chap_until_response(&lg, &r, alg, algs, 77, chal, sizeof(chal), &q);
	check_chap_r(&q, alg, 77, SECRET, chal, sizeof(chal));
	CHECK(isc_kv_get(&q.kv, "CHAP_C") == NULL);
	CHECK(isc_kv_get(&q.kv, "CHAP_I") == NULL);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 3, 0, ""), ISC_LOGIN_SEND);
	finish_operational(&lg, &r, 4);
	CHECK_EQ_INT(lg.neg.auth_method_chap, 1);
	CHECK_EQ_INT(lg.neg.mutual_chap, 0);
	CHECK_EQ_INT(lg.neg.chap_alg, alg);
	CHECK_EQ_INT(lg.neg.tpgt, 2);
	CHECK(!transcript_has(SECRET, strlen(SECRET)));
	CHECK(strstr(lg.message, SECRET) == NULL);
	isc_login_free(&lg);
	rec_save(name);
}

/* Default list offered; the target picks MD5 from it. */
static void test_one_way_alg_list(void)
{
	struct isc_login_config c = chap_cfg(0, 0);
	struct isc_login lg;
	static struct rsp r;
	struct req q;
	uint8_t chal[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

	rec_begin(1);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	chap_until_response(&lg, &r, ISC_CHAP_MD5, "8,7,6,5", 0, chal, sizeof(chal), &q);
	check_chap_r(&q, ISC_CHAP_MD5, 0, SECRET, chal, sizeof(chal));
	put_req(&q);
	isc_login_free(&lg);
	rec_save("one_way_list");
}

/* The target's mutual-CHAP answer to our challenge in request q. */
static int target_proof(const struct req *q, const char *name, const char *secret, int alg,
			char *text, size_t cap)
{
	uint8_t chal[ISC_CHAP_MAX_CHALLENGE], d[ISC_CHAP_MAX_DIGEST];
	char hex[2 * ISC_CHAP_MAX_DIGEST + 3];
	size_t clen = 0;
	const char *id = isc_kv_get(&q->kv, "CHAP_I"), *c = isc_kv_get(&q->kv, "CHAP_C");
	CHECK(id != NULL && c != NULL);
	if (!id || !c)
		return 0;
	CHECK_EQ_INT(isc_chap_decode(c, chal, sizeof(chal), &clen), 0);
	CHECK_EQ_INT(clen, ISC_CHAP_OUR_CHALLENGE_LEN);
	isc_chap_compute(alg, (uint8_t)atoi(id), (const uint8_t *)secret, strlen(secret), chal, clen,
			 d);
	isc_chap_encode_hex(d, isc_chap_digest_len(alg), hex, sizeof(hex));
	return snprintf(text, cap, "CHAP_N=%s%cCHAP_R=%s%c", name, 0, hex, 0);
}

static void test_mutual(void)
{
	struct isc_login_config c = chap_cfg(ISC_CHAP_SHA256, 1);
	struct isc_login lg;
	static struct rsp r;
	struct req q;
	uint8_t chal[32];
	char text[512];
	int n;

	rec_begin(0);
	memset(chal, 0x3c, sizeof(chal));
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	chap_until_response(&lg, &r, ISC_CHAP_SHA256, "7", 200, chal, sizeof(chal), &q);
	check_chap_r(&q, ISC_CHAP_SHA256, 200, SECRET, chal, sizeof(chal));
	n = target_proof(&q, "tuser", RSECRET, ISC_CHAP_SHA256, text, sizeof(text));
	put_req(&q);
	CHECK_EQ_INT(feed(&lg, mk(&r, T_BIT | CSG(0) | 1, 3, 0, 0, 0, text, (size_t)n)),
		     ISC_LOGIN_SEND);
	finish_operational(&lg, &r, 4);
	CHECK_EQ_INT(lg.neg.mutual_chap, 1);
	CHECK(!transcript_has(SECRET, strlen(SECRET)));
	CHECK(!transcript_has(RSECRET, strlen(RSECRET)));
	isc_login_free(&lg);
	rec_save("mutual");
}

/* Mutual CHAP where the target first answers T=0 without its proof. */
static void test_mutual_late_proof(void)
{
	struct isc_login_config c = chap_cfg(ISC_CHAP_SHA1, 1);
	struct isc_login lg;
	static struct rsp r;
	struct req q, q2;
	uint8_t chal[16];
	char text[512];
	int n;

	rec_begin(0);
	memset(chal, 0x11, sizeof(chal));
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	chap_until_response(&lg, &r, ISC_CHAP_SHA1, "6", 9, chal, sizeof(chal), &q);
	n = target_proof(&q, "tuser", RSECRET, ISC_CHAP_SHA1, text, sizeof(text));
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 3, 0, ""), ISC_LOGIN_SEND);
	get_req(&lg, &q2);
	CHECK_EQ_INT(q2.bhs[1], T_BIT | CSG(0) | 1);
	CHECK_EQ_INT(q2.len, 0);
	put_req(&q2);
	CHECK_EQ_INT(feed(&lg, mk(&r, T_BIT | CSG(0) | 1, 4, 0, 0, 0, text, (size_t)n)),
		     ISC_LOGIN_SEND);
	finish_operational(&lg, &r, 5);
	CHECK_EQ_INT(lg.neg.mutual_chap, 1);
	isc_login_free(&lg);
	rec_save("mutual_late");
}

static void test_mutual_failures(void)
{
	struct isc_login_config c = chap_cfg(ISC_CHAP_SHA256, 1);
	struct isc_login lg;
	static struct rsp r;
	struct req q;
	uint8_t chal[32];
	char text[512];
	int n;

	memset(chal, 0x42, sizeof(chal));

	/* Wrong reverse secret on the target side. */
	rec_begin(0);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	chap_until_response(&lg, &r, ISC_CHAP_SHA256, "7", 1, chal, sizeof(chal), &q);
	n = target_proof(&q, "tuser", "not-the-secret", ISC_CHAP_SHA256, text, sizeof(text));
	put_req(&q);
	CHECK_EQ_INT(feed(&lg, mk(&r, T_BIT | CSG(0) | 1, 3, 0, 0, 0, text, (size_t)n)),
		     ISC_ERR_AUTH_FAILED);
	CHECK(strstr(lg.message, "reverse (target) secret") != NULL);
	CHECK(strstr(lg.message, RSECRET) == NULL && strstr(lg.message, SECRET) == NULL);
	CHECK_EQ_INT(lg.phase, ISC_LP_FAILED);
	isc_login_free(&lg);
	rec_save("mutual_bad_proof");

	/* Wrong target user name. */
	rec_begin(0);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	chap_until_response(&lg, &r, ISC_CHAP_SHA256, "7", 1, chal, sizeof(chal), &q);
	n = target_proof(&q, "someone", RSECRET, ISC_CHAP_SHA256, text, sizeof(text));
	put_req(&q);
	CHECK_EQ_INT(feed(&lg, mk(&r, T_BIT | CSG(0) | 1, 3, 0, 0, 0, text, (size_t)n)),
		     ISC_ERR_AUTH_FAILED);
	isc_login_free(&lg);

	/* Target transits without proving itself. */
	rec_begin(0);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	chap_until_response(&lg, &r, ISC_CHAP_SHA256, "7", 1, chal, sizeof(chal), &q);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 3, 0, ""), ISC_ERR_AUTH_FAILED);
	CHECK(strstr(lg.message, "CHAP_R") != NULL);
	isc_login_free(&lg);
	rec_save("mutual_no_proof");

	/* Truncated CHAP_R. */
	rec_begin(0);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	chap_until_response(&lg, &r, ISC_CHAP_SHA256, "7", 1, chal, sizeof(chal), &q);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 3, 0, "CHAP_N=tuser\0CHAP_R=0x0102\0"),
		     ISC_ERR_AUTH_FAILED);
	isc_login_free(&lg);

	/* Mutual CHAP offers CHAP only: a target choosing None is wrong. */
	rec_begin(0);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=None\0"), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
}

/* A target challenge byte-equal to one we issued is refused. The machine
 * compares against the challenge it holds; we plant one as if it had been
 * generated earlier (ours for this login is random and only created after
 * the target's challenge arrived). */
static void test_reflection(void)
{
	struct isc_login_config c = chap_cfg(ISC_CHAP_SHA256, 1);
	struct isc_login lg;
	static struct rsp r;
	struct req q;
	uint8_t planted[ISC_CHAP_OUR_CHALLENGE_LEN];
	char text[256], hex[2 * ISC_CHAP_OUR_CHALLENGE_LEN + 3];
	int n;

	rec_begin(0);
	memset(planted, 0x5e, sizeof(planted));
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	memcpy(lg.our_challenge, planted, sizeof(planted));
	lg.our_challenge_len = sizeof(planted);
	get_req(&lg, &q);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
	get_req(&lg, &q);
	put_req(&q);
	isc_chap_encode_hex(planted, sizeof(planted), hex, sizeof(hex));
	n = snprintf(text, sizeof(text), "CHAP_A=7%cCHAP_I=1%cCHAP_C=%s%c", 0, 0, hex, 0);
	CHECK_EQ_INT(feed(&lg, mk(&r, CSG(0), 2, 0, 0, 0, text, (size_t)n)), ISC_ERR_AUTH_FAILED);
	CHECK(strstr(lg.message, "reflection") != NULL);
	isc_login_free(&lg);
}

static void test_chap_protocol_errors(void)
{
	struct isc_login_config c = chap_cfg(0, 0);
	struct isc_login lg;
	static struct rsp r;
	static char text[4096];
	int n;

	/* Algorithm we did not offer. */
	c.chap_algs[0] = ISC_CHAP_SHA256;
	c.chap_alg_count = 1;
	rec_begin(1);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 2, 0, "CHAP_A=5\0CHAP_I=1\0CHAP_C=0x0102\0"),
		     ISC_ERR_PROTOCOL);
	isc_login_free(&lg);

	/* No common algorithm. */
	rec_begin(1);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 2, 0, "CHAP_A=Reject\0"), ISC_ERR_AUTH_FAILED);
	CHECK(strstr(lg.message, "algorithm") != NULL);
	isc_login_free(&lg);

	/* Bad CHAP_I, missing CHAP_C, malformed CHAP_C. */
	rec_begin(1);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 2, 0, "CHAP_A=7\0CHAP_I=256\0CHAP_C=0x0102\0"),
		     ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
	rec_begin(1);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 2, 0, "CHAP_A=7\0CHAP_I=3\0"), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
	rec_begin(1);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 2, 0, "CHAP_A=7\0CHAP_I=3\0CHAP_C=0xzz\0"),
		     ISC_ERR_PROTOCOL);
	isc_login_free(&lg);

	/* 1024-byte challenge accepted, 1025 refused. */
	for (int len = 1024; len <= 1025; len++) {
		rec_begin(1);
		CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
		CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
		n = snprintf(text, sizeof(text), "CHAP_A=7%cCHAP_I=3%cCHAP_C=0x", 0, 0);
		for (int i = 0; i < len; i++)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "ab");
		text[n++] = '\0';
		CHECK_EQ_INT(feed(&lg, mk(&r, CSG(0), 2, 0, 0, 0, text, (size_t)n)),
			     len == 1024 ? ISC_LOGIN_SEND : ISC_ERR_PROTOCOL);
		isc_login_free(&lg);
		rec_save(len == 1024 ? "chap_1024" : "chap_1025");
	}

	/* CHAP keys when we offered None. */
	{
		struct isc_login_config c0 = base_cfg(ISC_SESSION_NORMAL);
		rec_begin(2);
		CHECK_EQ_INT(isc_login_start(&lg, &c0), 0);
		CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_ERR_PROTOCOL);
		isc_login_free(&lg);
		CHECK_EQ_INT(isc_login_start(&lg, &c0), 0);
		CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0,
				 "AuthMethod=None\0CHAP_A=5\0"),
			     ISC_ERR_PROTOCOL);
		isc_login_free(&lg);
		/* Target demands authentication we have not configured. */
		CHECK_EQ_INT(isc_login_start(&lg, &c0), 0);
		CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=Reject\0"), ISC_ERR_AUTH_FAILED);
		isc_login_free(&lg);
	}

	/* One-way: target sends CHAP_R though we did not challenge it. */
	rec_begin(1);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 2, 0, "CHAP_A=7\0CHAP_I=3\0CHAP_C=0x0102\0"),
		     ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 3, 0, "CHAP_N=x\0CHAP_R=0x01\0"),
		     ISC_ERR_PROTOCOL);
	isc_login_free(&lg);

	/* One-way: target picks None from "CHAP,None". */
	rec_begin(1);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 2, 0, ""), ISC_LOGIN_SEND);
	finish_operational(&lg, &r, 3);
	CHECK_EQ_INT(lg.neg.auth_method_chap, 0);
	isc_login_free(&lg);
	rec_save("one_way_none");
}

static void test_status(void)
{
	static const struct {
		int cls, det, want;
		const char *text;
	} cases[] = {
		{ 2, 0x01, ISC_ERR_AUTH_FAILED, "0x0201 authentication failure" },
		{ 2, 0x02, ISC_ERR_AUTH_FAILED, "0x0202 authorization failure" },
		{ 2, 0x03, ISC_ERR_TARGET_NOT_FOUND, "0x0203 target not found" },
		{ 2, 0x04, ISC_ERR_TARGET_NOT_FOUND, "0x0204 target removed" },
		{ 2, 0x05, ISC_ERR_LOGIN_REJECTED, "0x0205 unsupported version" },
		{ 2, 0x00, ISC_ERR_LOGIN_REJECTED, "0x0200 initiator error" },
		{ 3, 0x01, ISC_ERR_TARGET_ERROR, "0x0301 service unavailable" },
		{ 3, 0x02, ISC_ERR_TARGET_ERROR, "0x0302 out of resources" },
	};
	struct isc_login lg;
	static struct rsp r;
	struct isc_login_config c = chap_cfg(ISC_CHAP_SHA256, 0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rec_begin(1);
		CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
		CHECK_EQ_INT(STATUS(&lg, &r, cases[i].cls, cases[i].det, ""), cases[i].want);
		CHECK_EQ_INT(lg.status_class, cases[i].cls);
		CHECK_EQ_INT(lg.status_detail, cases[i].det);
		CHECK(strstr(lg.message, cases[i].text) != NULL);
		CHECK(strstr(lg.message, SECRET) == NULL);
		CHECK_EQ_INT(lg.phase, ISC_LP_FAILED);
		isc_login_free(&lg);
		if (i == 0)
			rec_save("status_0201");
	}
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	STATUS(&lg, &r, 2, 1, "");
	CHECK(strstr(lg.message, "check the CHAP username/password") != NULL);
	isc_login_free(&lg);

	/* 0x0200 right after our SHA-256 CHAP_R: the message names the
	 * known tgt quirk (it computes SHA-1 for CHAP_A=7). */
	{
		struct isc_login_config c7 = chap_cfg(0, 0);
		uint8_t chal[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
		struct req q;
		rec_begin(1);
		CHECK_EQ_INT(isc_login_start(&lg, &c7), 0);
		chap_until_response(&lg, &r, ISC_CHAP_SHA256, "8,7,6,5", 1, chal, sizeof(chal), &q);
		put_req(&q);
		CHECK_EQ_INT(STATUS(&lg, &r, 2, 0, ""), ISC_ERR_LOGIN_REJECTED);
		CHECK(strstr(lg.message, "CHAP_A=7") != NULL);
		isc_login_free(&lg);
		rec_save("tgt_sha256_quirk");
		/* 0x0200 in answer to CHAP_A: probably no common algorithm. */
		CHECK_EQ_INT(isc_login_start(&lg, &c7), 0);
		CHECK_EQ_INT(RSP(&lg, &r, CSG(0), 1, 0, "AuthMethod=CHAP\0"), ISC_LOGIN_SEND);
		CHECK_EQ_INT(STATUS(&lg, &r, 2, 0, ""), ISC_ERR_LOGIN_REJECTED);
		CHECK(strstr(lg.message, "CHAP_A=8,7,6,5") != NULL);
		isc_login_free(&lg);
	}

	/* Redirect. */
	rec_begin(2);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(STATUS(&lg, &r, 1, 1, "TargetAddress=[fd00::2]:3261,3\0"),
		     ISC_LOGIN_REDIRECT);
	CHECK_EQ_STR(lg.redirect, "[fd00::2]:3261,3");
	CHECK_EQ_INT(lg.status_class, 1);
	CHECK_EQ_INT(lg.status_detail, 1);
	isc_login_free(&lg);
	rec_save("redirect");
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(STATUS(&lg, &r, 1, 2, "TargetAddress=10.0.0.9\0"), ISC_LOGIN_REDIRECT);
	CHECK_EQ_STR(lg.redirect, "10.0.0.9");
	isc_login_free(&lg);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(STATUS(&lg, &r, 1, 1, ""), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
}

static void test_continue(void)
{
	struct isc_login_config c = base_cfg(ISC_SESSION_NORMAL);
	struct isc_login lg;
	static struct rsp r;
	struct req q;

	rec_begin(2);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	/* Stage 1 answer in two pieces, split inside a pair. */
	CHECK_EQ_INT(RSP(&lg, &r, C_BIT | CSG(1), 2, 0, "HeaderDigest=None\0MaxRecvDataSeg"),
		     ISC_LOGIN_SEND);
	get_req(&lg, &q);
	CHECK_EQ_INT(q.bhs[1], CSG(1)); /* empty request, no T, no C */
	CHECK_EQ_INT(q.len, 0);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(1) | 3, 3, 0x99, "mentLength=4096\0"),
		     ISC_LOGIN_DONE);
	CHECK_EQ_INT(lg.neg.max_xmit_data_segment_length, 4096);
	CHECK_EQ_INT(lg.neg.tsih, 0x99);
	isc_login_free(&lg);
	rec_save("continue");

	/* T and C together are illegal. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | C_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"),
		     ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
}

static void test_loop_bound(void)
{
	struct isc_login_config c = base_cfg(ISC_SESSION_NORMAL);
	struct isc_login lg;
	static struct rsp r;
	struct req q;
	int rc = 0, rounds = 0;

	rec_begin(2);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	rounds++;
	while (rounds < 100) {
		get_req(&lg, &q);
		put_req(&q);
		rc = RSP(&lg, &r, CSG(1), 2, 0, "");
		rounds++;
		if (rc != ISC_LOGIN_SEND)
			break;
	}
	CHECK_EQ_INT(rc, ISC_ERR_PROTOCOL);
	CHECK(rounds > 16 && rounds <= 33);
	isc_login_free(&lg);

	/* The same with C=1 forever. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	rounds = 0;
	while (rounds < 100) {
		rc = RSP(&lg, &r, C_BIT | CSG(0), 2, 0, "X=");
		rounds++;
		if (rc != ISC_LOGIN_SEND)
			break;
	}
	CHECK_EQ_INT(rc, ISC_ERR_PROTOCOL);
	CHECK(rounds <= 33);
	isc_login_free(&lg);
}

static void test_discovery(void)
{
	struct isc_login_config c = base_cfg(ISC_SESSION_DISCOVERY);
	struct isc_login lg;
	static struct rsp r;
	struct req q;
	static const char first[] = "InitiatorName=iqn.2026-11.test:init\0InitiatorAlias=host1\0"
				    "SessionType=Discovery\0AuthMethod=None\0";
	static const char ops[] = "HeaderDigest=None\0DataDigest=None\0"
				  "MaxRecvDataSegmentLength=262144\0";

	rec_begin(3);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	get_req(&lg, &q);
	CHECK_EQ_INT(q.len, sizeof(first) - 1);
	CHECK_MEM(q.data, first, sizeof(first) - 1);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	get_req(&lg, &q);
	CHECK_EQ_INT(q.len, sizeof(ops) - 1);
	CHECK_MEM(q.data, ops, sizeof(ops) - 1);
	put_req(&q);
	/* The target proposes a key irrelevant to discovery with T=0. */
	CHECK_EQ_INT(RSP(&lg, &r, CSG(1), 2, 0,
			 "HeaderDigest=None\0DataDigest=None\0MaxBurstLength=4096\0"),
		     ISC_LOGIN_SEND);
	get_req(&lg, &q);
	CHECK_EQ_INT(q.bhs[1], T_BIT | CSG(1) | 3);
	CHECK_EQ_INT(q.len, sizeof("MaxBurstLength=Irrelevant"));
	CHECK_MEM(q.data, "MaxBurstLength=Irrelevant", sizeof("MaxBurstLength=Irrelevant"));
	put_req(&q);
	/* TSIH may stay 0 for discovery. */
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(1) | 3, 3, 0, "MaxRecvDataSegmentLength=32768\0"),
		     ISC_LOGIN_DONE);
	CHECK_EQ_INT(lg.neg.max_xmit_data_segment_length, 32768);
	isc_login_free(&lg);
	rec_save("discovery");
}

static void test_protocol_checks(void)
{
	struct isc_login_config c = base_cfg(ISC_SESSION_NORMAL);
	struct isc_login_config cc = chap_cfg(ISC_CHAP_SHA256, 0);
	struct isc_login lg;
	static struct rsp r;
	struct isc_pdu *p;

	/* Wrong opcode. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	p = mk(&r, T_BIT | CSG(0) | 1, 1, 0, 0, 0, NULL, 0);
	r.buf[0] = ISC_OP_TEXT_RSP;
	CHECK_EQ_INT(feed(&lg, p), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(feed(&lg, p), ISC_ERR_STATE); /* dead after a failure */
	isc_login_free(&lg);
	/* ITT mismatch. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	p = mk(&r, T_BIT | CSG(0) | 1, 1, 0, 0, 0, "AuthMethod=None", 16);
	isc_put_be32(r.buf + ISC_OFF_ITT, ITT + 1);
	CHECK_EQ_INT(feed(&lg, p), ISC_ERR_PROTOCOL);
	CHECK(strstr(lg.message, "ITT") != NULL);
	isc_login_free(&lg);
	/* version-active != 0. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	p = mk(&r, T_BIT | CSG(0) | 1, 1, 0, 0, 0, "AuthMethod=None", 16);
	r.buf[ISC_OFF_LOGIN_VMIN] = 1;
	CHECK_EQ_INT(feed(&lg, p), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
	/* CSG mismatch. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(1) | 3, 1, 1, "AuthMethod=None\0"), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
	/* Jump to a stage we did not ask for (3 instead of 1). */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 3, 1, 1, "AuthMethod=None\0"), ISC_ERR_PROTOCOL);
	CHECK(strstr(lg.message, "stage 3") != NULL);
	isc_login_free(&lg);
	/* T=1 when we sent T=0 (CHAP pending). */
	CHECK_EQ_INT(isc_login_start(&lg, &cc), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=CHAP\0"), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
	/* Going backwards from stage 1. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(1) | 0, 2, 5, ""), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
	/* No TSIH on the final response of a new normal session. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(1) | 3, 2, 0, ""), ISC_ERR_PROTOCOL);
	CHECK(strstr(lg.message, "TSIH") != NULL);
	isc_login_free(&lg);
	/* Security keys in stage 1; rule violation in stage 1; bad text. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(1), 2, 0, "CHAP_A=5\0"), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(1) | 3, 2, 1, "MaxBurstLength=999999\0"),
		     ISC_ERR_PROTOCOL);
	CHECK(strstr(lg.message, "MaxBurstLength") != NULL);
	isc_login_free(&lg);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None"), ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
	/* Bad TargetPortalGroupTag. */
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "TargetPortalGroupTag=70000\0"),
		     ISC_ERR_PROTOCOL);
	isc_login_free(&lg);
}

static void test_unknown_key_reply(void)
{
	struct isc_login_config c = base_cfg(ISC_SESSION_NORMAL);
	struct isc_login lg;
	static struct rsp r;
	struct req q;

	rec_begin(2);
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_LOGIN_SEND);
	CHECK_EQ_INT(RSP(&lg, &r, CSG(1), 2, 0, "X-vendor.Key=1\0MaxBurstLength=8192\0"),
		     ISC_LOGIN_SEND);
	get_req(&lg, &q);
	CHECK_EQ_INT(q.bhs[1], T_BIT | CSG(1) | 3);
	CHECK_EQ_STR(isc_kv_get(&q.kv, "X-vendor.Key"), "NotUnderstood");
	CHECK_EQ_INT(q.kv.count, 1);
	put_req(&q);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(1) | 3, 3, 7, ""), ISC_LOGIN_DONE);
	CHECK_EQ_INT(lg.neg.max_burst_length, 8192);
	CHECK_EQ_INT(lg.neg.first_burst_length, 8192);
	isc_login_free(&lg);
	rec_save("unknown_key");
}

static void test_bad_start(void)
{
	static struct rsp r;
	struct isc_login lg;
	struct isc_login_config c = base_cfg(ISC_SESSION_NORMAL);
	c.initiator_name = NULL;
	CHECK_EQ_INT(isc_login_start(&lg, &c), ISC_ERR_INVAL);
	c = base_cfg(ISC_SESSION_NORMAL);
	c.target_name = NULL;
	CHECK_EQ_INT(isc_login_start(&lg, &c), ISC_ERR_INVAL);
	c = chap_cfg(0, 0);
	c.chap_alg_count = 0;
	CHECK_EQ_INT(isc_login_start(&lg, &c), ISC_ERR_INVAL);
	c = chap_cfg(0, 0);
	c.chap_algs[1] = 3;
	CHECK_EQ_INT(isc_login_start(&lg, &c), ISC_ERR_INVAL);
	c = chap_cfg(0, 0);
	c.secret_len = 0;
	CHECK_EQ_INT(isc_login_start(&lg, &c), ISC_ERR_INVAL);
	c = chap_cfg(0, 1);
	c.reverse_secret = NULL;
	CHECK_EQ_INT(isc_login_start(&lg, &c), ISC_ERR_INVAL);
	c = chap_cfg(0, 1);
	c.username = NULL;
	CHECK_EQ_INT(isc_login_start(&lg, &c), ISC_ERR_INVAL);
	c = base_cfg(ISC_SESSION_NORMAL);
	c.offer.max_recv_data_segment_length = 100;
	CHECK_EQ_INT(isc_login_start(&lg, &c), 0);
	CHECK_EQ_INT(RSP(&lg, &r, T_BIT | CSG(0) | 1, 1, 0, "AuthMethod=None\0"), ISC_ERR_INVAL);
	isc_login_free(&lg);
}

int main(void)
{
	test_no_auth();
	test_no_auth_slow_target();
	test_one_way(ISC_CHAP_MD5, "one_way_md5");
	test_one_way(ISC_CHAP_SHA1, "one_way_sha1");
	test_one_way(ISC_CHAP_SHA256, "one_way_sha256");
	test_one_way(ISC_CHAP_SHA3_256, "one_way_sha3");
	test_one_way_alg_list();
	test_mutual();
	test_mutual_late_proof();
	test_mutual_failures();
	test_reflection();
	test_chap_protocol_errors();
	test_status();
	test_continue();
	test_loop_bound();
	test_discovery();
	test_protocol_checks();
	test_unknown_key_reply();
	test_bad_start();
	return check_finish();
}
