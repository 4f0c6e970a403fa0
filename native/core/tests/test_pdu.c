/*
 * PDU codec: build/parse round trips for every digest combination, AHS and
 * padding; the RFC 3720 B.4 read command as a header-digest known answer;
 * typed errors for digest mismatches, oversized and unknown PDUs; the
 * incremental receiver fed byte by byte and in bulk.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crc32c.h"
#include "isc/errors.h"
#include "pdu.h"

static const struct isc_digests DG[4] = { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } };

static void make_bhs(uint8_t bhs[ISC_BHS_LEN], uint8_t op, uint8_t flags, uint32_t itt)
{
	memset(bhs, 0, ISC_BHS_LEN);
	bhs[0] = op;
	bhs[1] = flags;
	isc_put_be32(bhs + ISC_OFF_ITT, itt);
	isc_put_be32(bhs + ISC_OFF_STATSN, 7);
	isc_put_be32(bhs + ISC_OFF_EXPCMDSN, 8);
	isc_put_be32(bhs + ISC_OFF_MAXCMDSN, 9);
	/* garbage in the length fields must be overwritten by build */
	bhs[ISC_OFF_TOTAL_AHS] = 0x55;
	bhs[ISC_OFF_DSL] = 0xaa;
}

/* The RFC 3720 B.4 "SCSI Read (10) Command PDU" is a complete 48-byte BHS
 * with no data: with a header digest, its digest bytes are the B.4 CRC. */
static void test_header_digest_known_answer(void)
{
	static const uint8_t read_pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t crc[4] = { 0x56, 0x3a, 0x96, 0xd9 };
	uint8_t out[64];
	struct isc_pdu p;

	CHECK_EQ_INT(isc_pdu_wire_size(0, 0, &DG[3]), 52);
	CHECK_EQ_INT(isc_pdu_build(out, read_pdu, NULL, 0, NULL, 0, &DG[3]), 52);
	CHECK_MEM(out, read_pdu, 48);
	CHECK_MEM(out + 48, crc, 4);
	CHECK_EQ_INT(isc_pdu_parse(out, 52, &DG[3], 8192, 0, &p), 52);
	CHECK(p.bhs == out && p.ahs == NULL && p.data == NULL);
	CHECK_EQ_INT(p.ahs_len, 0);
	CHECK_EQ_INT(p.data_len, 0);
	CHECK_EQ_INT(isc_pdu_opcode(&p), ISC_OP_SCSI_CMD);
	CHECK_EQ_INT(isc_pdu_u32(&p, ISC_OFF_ITT), 0x14000000u);
	/* An initiator opcode is not acceptable from a target */
	CHECK_EQ_INT(isc_pdu_parse(out, 52, &DG[3], 8192, 1, &p), ISC_ERR_PROTOCOL);
}

static void test_round_trips(void)
{
	uint8_t bhs[ISC_BHS_LEN], ahs[1020], data[64], out[48 + 1020 + 4 + 64 + 4];
	static const size_t ahs_lens[] = { 0, 4, 8, 1020 };
	int failures = 0, cases = 0;

	for (size_t i = 0; i < sizeof(ahs); i++)
		ahs[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xA0 + i);
	for (int d = 0; d < 4; d++) {
		for (size_t a = 0; a < 4; a++) {
			for (size_t dl = 0; dl <= 9; dl++) {
				size_t al = ahs_lens[a], ws, hlen, n;
				struct isc_pdu p;
				long r;

				make_bhs(bhs, ISC_OP_TEXT_RSP, ISC_FLAG_FINAL, 0x1234);
				ws = isc_pdu_wire_size(al, dl, &DG[d]);
				hlen = 48 + al + (DG[d].header ? 4 : 0);
				cases++;
				if (ws != hlen + dl + ((4 - dl % 4) % 4) + (DG[d].data && dl ? 4 : 0)) {
					failures++;
					continue;
				}
				memset(out, 0xee, sizeof(out));
				n = isc_pdu_build(out, bhs, al ? ahs : NULL, al, dl ? data : NULL, dl, &DG[d]);
				r = isc_pdu_parse(out, n, &DG[d], 9, 1, &p);
				if (n != ws || r != (long)ws || out[4] != al / 4 ||
				    isc_get_be24(out + 5) != dl || p.ahs_len != al || p.data_len != dl ||
				    (al && (p.ahs != out + 48 || memcmp(p.ahs, ahs, al))) ||
				    (!al && p.ahs) || (dl && (p.data != out + hlen || memcmp(p.data, data, dl))) ||
				    (!dl && p.data) || out[ws] != 0xee /* no write past wire size */) {
					failures++;
					continue;
				}
				/* padding bytes are zero */
				for (size_t k = 0; k < (4 - dl % 4) % 4; k++)
					if (out[hlen + dl + k] != 0)
						failures++;
				/* every strict prefix is "need more" */
				for (size_t k = 0; k < ws; k++)
					if (isc_pdu_parse(out, k, &DG[d], 9, 1, &p) != 0)
						failures++;
				/* the trailing byte of a larger buffer is not part of it */
				if (isc_pdu_parse(out, ws + 1, &DG[d], 9, 1, &p) != (long)ws)
					failures++;
			}
		}
	}
	CHECK_EQ_INT(cases, 160);
	CHECK_EQ_INT(failures, 0);
}

static size_t build_one(uint8_t *out, uint8_t op, uint32_t itt, const char *data,
			const struct isc_digests *dg)
{
	uint8_t bhs[ISC_BHS_LEN];
	size_t dl = data ? strlen(data) : 0;

	make_bhs(bhs, op, ISC_FLAG_FINAL, itt);
	return isc_pdu_build(out, bhs, NULL, 0, (const uint8_t *)data, dl, dg);
}

static void test_digest_errors(void)
{
	uint8_t out[256];
	struct isc_pdu p;
	size_t n = build_one(out, ISC_OP_LOGIN_RSP, 1, "TargetPortalGroupTag=1", &DG[3]);
	size_t n2;

	/* 48 + 4 + 22 + 2 pad + 4 */
	CHECK_EQ_INT(n, 80);
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[3], 8192, 1, &p), 80);
	out[20] ^= 0x01; /* a BHS byte */
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[3], 8192, 1, &p), ISC_ERR_DIGEST);
	/* detected as soon as the header and its digest are there */
	CHECK_EQ_INT(isc_pdu_parse(out, 52, &DG[3], 8192, 1, &p), ISC_ERR_DIGEST);
	out[20] ^= 0x01;
	out[50] ^= 0x80; /* the header digest itself */
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[3], 8192, 1, &p), ISC_ERR_DIGEST);
	out[50] ^= 0x80;
	out[60] ^= 0x04; /* a data byte */
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[3], 8192, 1, &p), ISC_ERR_DIGEST);
	CHECK_EQ_INT(isc_pdu_parse(out, n - 1, &DG[3], 8192, 1, &p), 0); /* not complete yet */
	out[60] ^= 0x04;
	out[74] = 0x01; /* a padding byte: covered by the data digest */
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[3], 8192, 1, &p), ISC_ERR_DIGEST);
	out[74] = 0;
	out[n - 1] ^= 0xff; /* the data digest itself */
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[3], 8192, 1, &p), ISC_ERR_DIGEST);
	/* without a data digest a corrupted data byte goes unnoticed */
	n2 = build_one(out, ISC_OP_LOGIN_RSP, 1, "TargetPortalGroupTag=1", &DG[1]);
	out[60] ^= 0x04;
	CHECK_EQ_INT(isc_pdu_parse(out, n2, &DG[1], 8192, 1, &p), (long)n2);
}

static void test_limits_and_opcodes(void)
{
	uint8_t out[256], bhs[ISC_BHS_LEN];
	struct isc_pdu p;
	size_t n = build_one(out, ISC_OP_TEXT_RSP, 2, "abcdefgh", &DG[0]);
	static const uint8_t target_ops[] = { 0x20, 0x21, 0x22, 0x23, 0x24,
					      0x25, 0x26, 0x31, 0x32, 0x3f };
	int bad = 0, good = 0;

	CHECK_EQ_INT(n, 56);
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[0], 8, 1, &p), 56);
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[0], 7, 1, &p), ISC_ERR_TOO_LARGE);
	/* refused from the header alone, before the data has arrived */
	CHECK_EQ_INT(isc_pdu_parse(out, 48, &DG[0], 7, 1, &p), ISC_ERR_TOO_LARGE);
	/* largest DSL the field holds */
	make_bhs(bhs, ISC_OP_DATA_IN, 0, 3);
	memcpy(out, bhs, 48);
	out[4] = 0;
	isc_put_be24(out + 5, 0xFFFFFF);
	CHECK_EQ_INT(isc_pdu_parse(out, 48, &DG[0], 262144, 1, &p), ISC_ERR_TOO_LARGE);
	CHECK_EQ_INT(isc_pdu_parse(out, 48, &DG[0], (size_t)-1, 1, &p), 0);
	/* opcode checks: every byte value of the opcode field */
	for (int op = 0; op < 0x40; op++) {
		int is_target = memchr(target_ops, op, sizeof(target_ops)) != NULL;
		n = build_one(out, (uint8_t)op, 5, NULL, &DG[0]);
		long r = isc_pdu_parse(out, n, &DG[0], 0, 1, &p);
		if (is_target ? r == 48 : r == ISC_ERR_PROTOCOL)
			good++;
		else
			bad++;
		/* from the initiator side any opcode parses */
		if (isc_pdu_parse(out, n, &DG[0], 0, 0, &p) != 48)
			bad++;
	}
	CHECK_EQ_INT(good, 64);
	CHECK_EQ_INT(bad, 0);
	/* the reserved bit 6 of a target PDU's byte 0 does not change the opcode */
	n = build_one(out, ISC_OP_NOP_IN | ISC_BHS_IMMEDIATE, 5, NULL, &DG[0]);
	CHECK_EQ_INT(isc_pdu_parse(out, n, &DG[0], 0, 1, &p), 48);
	CHECK_EQ_INT(isc_pdu_opcode(&p), ISC_OP_NOP_IN);
	/* NULL / short buffers */
	CHECK_EQ_INT(isc_pdu_parse(NULL, 0, &DG[0], 0, 1, &p), 0);
	CHECK_EQ_INT(isc_pdu_parse(out, 47, &DG[0], 0, 1, &p), 0);
	/* NULL digest settings mean none */
	CHECK_EQ_INT(isc_pdu_parse(out, 48, NULL, 0, 1, &p), 48);
}

static void test_build_args(void)
{
	uint8_t bhs[ISC_BHS_LEN] = { 0 }, out[128], ahs[8] = { 0 };

	CHECK_EQ_INT(isc_pdu_wire_size(3, 0, &DG[0]), 0);     /* AHS not whole words */
	CHECK_EQ_INT(isc_pdu_wire_size(1024, 0, &DG[0]), 0);  /* > 255 words */
	CHECK_EQ_INT(isc_pdu_wire_size(0, 0x1000000, &DG[0]), 0); /* > 24 bits */
	CHECK_EQ_INT(isc_pdu_wire_size(0, (size_t)-1, &DG[3]), 0);
	CHECK_EQ_INT(isc_pdu_wire_size(1020, 0xFFFFFF, &DG[3]), 48 + 1020 + 4 + 0x1000000 + 4);
	CHECK_EQ_INT(isc_pdu_wire_size(0, 0, NULL), 48);
	CHECK_EQ_INT(isc_pdu_build(out, bhs, ahs, 6, NULL, 0, &DG[0]), 0);
	CHECK_EQ_INT(isc_pdu_build(out, bhs, NULL, 8, NULL, 0, &DG[0]), 0);
	CHECK_EQ_INT(isc_pdu_build(out, bhs, NULL, 0, NULL, 5, &DG[0]), 0);
	/* building in place: the BHS already sits in out */
	memset(out, 0, sizeof(out));
	out[0] = ISC_OP_NOP_OUT;
	CHECK_EQ_INT(isc_pdu_build(out, out, NULL, 0, NULL, 0, &DG[1]), 52);
	CHECK_EQ_INT(isc_crc32c_get(out + 48), isc_crc32c(out, 48));
}

/* Several PDUs of different shapes in one stream. */
static size_t make_stream(uint8_t *buf, const struct isc_digests *dg)
{
	size_t n = 0;
	n += build_one(buf + n, ISC_OP_LOGIN_RSP, 1, "TargetPortalGroupTag=1", dg);
	n += build_one(buf + n, ISC_OP_NOP_IN, 2, NULL, dg);
	n += build_one(buf + n, ISC_OP_TEXT_RSP, 3, "a=b", dg);
	n += build_one(buf + n, ISC_OP_SCSI_RSP, 4, "", dg);
	n += build_one(buf + n, ISC_OP_DATA_IN, 5, "0123456789abcdef", dg);
	return n;
}

static const uint32_t stream_itts[] = { 1, 2, 3, 4, 5 };
static const size_t stream_dsl[] = { 22, 0, 3, 0, 16 };

static int drain(struct isc_rx *rx, int *idx)
{
	struct isc_pdu p;
	int r, bad = 0;

	while ((r = isc_rx_next(rx, &p)) == 1) {
		if (*idx >= 5 || isc_pdu_u32(&p, ISC_OFF_ITT) != stream_itts[*idx] ||
		    p.data_len != stream_dsl[*idx])
			bad++;
		(*idx)++;
	}
	return r < 0 ? r : bad;
}

static void test_rx(void)
{
	uint8_t stream[1024];

	for (int d = 0; d < 4; d++) {
		size_t n = make_stream(stream, &DG[d]);
		struct isc_rx rx;
		size_t room;
		uint8_t *w;
		int idx = 0, bad = 0;

		/* byte by byte */
		isc_rx_init(&rx, 8192);
		rx.dg = DG[d];
		for (size_t i = 0; i < n; i++) {
			w = isc_rx_space(&rx, 1, &room);
			if (!w || room < 1) {
				bad++;
				break;
			}
			*w = stream[i];
			isc_rx_commit(&rx, 1);
			if (drain(&rx, &idx))
				bad++;
		}
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(idx, 5);
		isc_rx_free(&rx);

		/* all at once: several PDUs in one feed */
		isc_rx_init(&rx, 8192);
		rx.dg = DG[d];
		idx = 0;
		w = isc_rx_space(&rx, n, &room);
		CHECK(w != NULL && room >= n);
		memcpy(w, stream, n);
		isc_rx_commit(&rx, n);
		CHECK_EQ_INT(drain(&rx, &idx), 0);
		CHECK_EQ_INT(idx, 5);
		CHECK_EQ_INT(isc_rx_next(&rx, &(struct isc_pdu){ 0 }), 0);
		isc_rx_free(&rx);

		/* chunks of 7 bytes */
		isc_rx_init(&rx, 8192);
		rx.dg = DG[d];
		idx = 0;
		for (size_t i = 0; i < n; i += 7) {
			size_t c = n - i < 7 ? n - i : 7;
			w = isc_rx_space(&rx, c, &room);
			memcpy(w, stream + i, c);
			isc_rx_commit(&rx, c);
			CHECK_EQ_INT(drain(&rx, &idx), 0);
		}
		CHECK_EQ_INT(idx, 5);
		isc_rx_free(&rx);
	}
}

static void test_rx_growth_and_limits(void)
{
	struct isc_rx rx;
	uint8_t bhs[ISC_BHS_LEN], *w, *big;
	size_t room, n, dl = 100000;
	struct isc_pdu p;
	int got = 0;

	/* isc_rx_space grows to hold the whole announced PDU */
	big = malloc(dl + 64);
	memset(big, 0x5a, dl);
	make_bhs(bhs, ISC_OP_DATA_IN, ISC_FLAG_FINAL, 9);
	isc_rx_init(&rx, 262144);
	rx.dg = DG[3];
	{
		uint8_t *pdu = malloc(isc_pdu_wire_size(0, dl, &DG[3]));
		n = isc_pdu_build(pdu, bhs, NULL, 0, big, dl, &DG[3]);
		CHECK_EQ_INT(n, 48 + 4 + dl + 4);
		w = isc_rx_space(&rx, 52, &room);
		memcpy(w, pdu, 52);
		isc_rx_commit(&rx, 52);
		CHECK_EQ_INT(isc_rx_next(&rx, &p), 0);
		w = isc_rx_space(&rx, 1, &room);
		CHECK(w != NULL);
		CHECK(room >= n - 52);
		memcpy(w, pdu + 52, n - 52);
		isc_rx_commit(&rx, n - 52);
		CHECK_EQ_INT(isc_rx_next(&rx, &p), 1);
		CHECK_EQ_INT(p.data_len, dl);
		CHECK(p.data && memcmp(p.data, big, dl) == 0);
		got = 1;
		free(pdu);
	}
	CHECK(got);
	isc_rx_free(&rx);

	/* An oversized announcement is refused without growing for it */
	isc_rx_init(&rx, 8192);
	make_bhs(bhs, ISC_OP_DATA_IN, 0, 10);
	bhs[ISC_OFF_TOTAL_AHS] = 0;
	isc_put_be24(bhs + ISC_OFF_DSL, 0xFFFFFF);
	w = isc_rx_space(&rx, 48, &room);
	memcpy(w, bhs, 48);
	isc_rx_commit(&rx, 48);
	w = isc_rx_space(&rx, 1, &room);
	CHECK(w != NULL);
	CHECK(rx.cap < 65536);
	CHECK_EQ_INT(isc_rx_next(&rx, &p), ISC_ERR_TOO_LARGE);
	CHECK_EQ_INT(isc_rx_next(&rx, &p), ISC_ERR_TOO_LARGE); /* stays failed */
	isc_rx_free(&rx);

	/* Unknown opcode from the target */
	isc_rx_init(&rx, 8192);
	make_bhs(bhs, 0x3e, 0, 11);
	bhs[ISC_OFF_TOTAL_AHS] = 0;
	bhs[ISC_OFF_DSL] = 0;
	w = isc_rx_space(&rx, 48, &room);
	memcpy(w, bhs, 48);
	isc_rx_commit(&rx, 48);
	CHECK_EQ_INT(isc_rx_next(&rx, &p), ISC_ERR_PROTOCOL);
	isc_rx_free(&rx);

	/* Corrupted header digest through the receiver */
	isc_rx_init(&rx, 8192);
	rx.dg = DG[1];
	{
		uint8_t pdu[128];
		n = build_one(pdu, ISC_OP_NOP_IN, 12, "ping", &DG[1]);
		pdu[17] ^= 1;
		w = isc_rx_space(&rx, n, &room);
		memcpy(w, pdu, n);
		isc_rx_commit(&rx, n);
		CHECK_EQ_INT(isc_rx_next(&rx, &p), ISC_ERR_DIGEST);
	}
	isc_rx_free(&rx);
	free(big);

	/* commit never runs past the buffer */
	isc_rx_init(&rx, 8192);
	w = isc_rx_space(&rx, 10, &room);
	isc_rx_commit(&rx, room + 100);
	CHECK_EQ_INT(rx.len, rx.cap);
	isc_rx_free(&rx);
}

static void test_describe(void)
{
	uint8_t bhs[ISC_BHS_LEN], out[256];
	char line[256], tiny[8];
	size_t n;

	memset(bhs, 0, sizeof(bhs));
	bhs[0] = ISC_OP_LOGIN_RSP;
	bhs[1] = 0x87; /* T, CSG=1, NSG=3 */
	isc_put_be32(bhs + ISC_OFF_ITT, 1);
	isc_put_be32(bhs + ISC_OFF_STATSN, 10);
	isc_put_be32(bhs + ISC_OFF_EXPCMDSN, 11);
	isc_put_be32(bhs + ISC_OFF_MAXCMDSN, 12);
	isc_put_be16(bhs + ISC_OFF_TSIH, 0x1a);
	n = isc_pdu_build(out, bhs, NULL, 0, (const uint8_t *)"CHAP_R=0xsecretsecret", 21, &DG[0]);
	CHECK_EQ_INT(n, 72);
	isc_pdu_describe(out, line, sizeof(line));
	CHECK_EQ_STR(line, "Login Response flags=0x87 itt=0x00000001 statsn=10 expcmdsn=11 "
			   "maxcmdsn=12 csg=1 nsg=3 tsih=0x001a status=0x0000 dsl=21");
	CHECK(strstr(line, "secret") == NULL);

	memset(bhs, 0, sizeof(bhs));
	bhs[0] = ISC_OP_SCSI_CMD | ISC_BHS_IMMEDIATE;
	bhs[1] = ISC_FLAG_FINAL | ISC_FLAG_READ | ISC_FLAG_ATTR_SIMPLE;
	isc_put_be32(bhs + ISC_OFF_ITT, 0xdeadbeef);
	isc_put_be32(bhs + ISC_OFF_CMDSN, 5);
	isc_put_be32(bhs + ISC_OFF_EXPSTATSN, 6);
	isc_put_be32(bhs + ISC_OFF_EDTL, 512);
	bhs[ISC_OFF_CDB] = 0x28;
	bhs[ISC_OFF_TOTAL_AHS] = 2;
	isc_pdu_describe(bhs, line, sizeof(line));
	CHECK_EQ_STR(line, "SCSI Command (I) flags=0xc1 itt=0xdeadbeef cmdsn=5 expstatsn=6 "
			   "edtl=512 cdb0=0x28 ahs=8 dsl=0");

	bhs[0] = 0x1c;
	isc_pdu_describe(bhs, line, sizeof(line));
	CHECK(strncmp(line, "Unknown(0x1c) flags=", 20) == 0);

	/* truncation is safe and NUL-terminated */
	isc_pdu_describe(bhs, tiny, sizeof(tiny));
	CHECK_EQ_STR(tiny, "Unknown");
	isc_pdu_describe(bhs, tiny, 0);

	CHECK_EQ_STR(isc_opcode_name(ISC_OP_R2T), "Ready To Transfer");
	CHECK_EQ_STR(isc_opcode_name(ISC_OP_LOGIN_REQ), "Login Request");
	CHECK_EQ_STR(isc_opcode_name(0x3e), "Unknown");
}

int main(void)
{
	test_header_digest_known_answer();
	test_round_trips();
	test_digest_errors();
	test_limits_and_opcodes();
	test_build_args();
	test_rx();
	test_rx_growth_and_limits();
	test_describe();
	return check_finish();
}
