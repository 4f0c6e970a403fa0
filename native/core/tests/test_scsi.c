/*
 * Unit tests for src/scsi.c. Parser inputs come from tests/fixtures/scsi/,
 * raw bytes captured from a real tgtd (see the README there), and from
 * hand-built responses for the bit fields tgtd leaves zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "isc/errors.h"
#include "isc/iscsi.h"
#include "isc/scsi.h"

#ifndef ISC_FIXTURES_DIR
#define ISC_FIXTURES_DIR "native/core/tests/fixtures"
#endif

static uint8_t *fixture(const char *name, size_t *len)
{
	char path[512];
	uint8_t *b;
	snprintf(path, sizeof(path), "%s/scsi/%s", ISC_FIXTURES_DIR, name);
	b = check_read_file(path, len);
	if (!b) {
		fprintf(stderr, "cannot read fixture %s\n", path);
		CHECK(0);
	}
	return b;
}

/* Check a CDB against the expected bytes, and that the rest is zero. */
static void expect_cdb(const uint8_t *cdb, size_t got_len, const uint8_t *want, size_t want_len)
{
	uint8_t full[ISC_CDB_MAX] = { 0 };
	memcpy(full, want, want_len);
	CHECK_EQ_INT(got_len, want_len);
	CHECK_MEM(cdb, full, ISC_CDB_MAX);
}

static void test_cdbs(void)
{
	uint8_t c[ISC_CDB_MAX];

	memset(c, 0xee, sizeof(c));
	expect_cdb(c, isc_cdb_test_unit_ready(c), (const uint8_t[]){ 0, 0, 0, 0, 0, 0 }, 6);

	/* The exact CDBs iscsi-inq sent to tgtd (captured). */
	memset(c, 0xee, sizeof(c));
	expect_cdb(c, isc_cdb_inquiry(c, 0, 0, 0x42),
		   (const uint8_t[]){ 0x12, 0x00, 0x00, 0x00, 0x42, 0x00 }, 6);
	expect_cdb(c, isc_cdb_inquiry(c, 1, 0x80, 0x40),
		   (const uint8_t[]){ 0x12, 0x01, 0x80, 0x00, 0x40, 0x00 }, 6);
	expect_cdb(c, isc_cdb_inquiry(c, 1, 0x00, 0xfffe),
		   (const uint8_t[]){ 0x12, 0x01, 0x00, 0xff, 0xfe, 0x00 }, 6);
	CHECK_EQ_INT(isc_cdb_inquiry(c, 0, 0x80, 0x40), 0); /* page without EVPD */

	expect_cdb(c, isc_cdb_read_capacity10(c),
		   (const uint8_t[]){ 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 10);
	/* iscsi-readcapacity16's CDB: 9e 10 ... 00 00 00 20 00 00 */
	expect_cdb(c, isc_cdb_read_capacity16(c, 32),
		   (const uint8_t[]){ 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0 }, 16);
	expect_cdb(c, isc_cdb_read_capacity16(c, 0x01020304),
		   (const uint8_t[]){ 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0 }, 16);

	expect_cdb(c, isc_cdb_report_luns(c, 0x02, 0x00010000),
		   (const uint8_t[]){ 0xa0, 0, 0x02, 0, 0, 0, 0x00, 0x01, 0x00, 0x00, 0, 0 }, 12);
	expect_cdb(c, isc_cdb_report_luns(c, 0, 16),
		   (const uint8_t[]){ 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0 }, 12);
	CHECK_EQ_INT(isc_cdb_report_luns(c, 0, 15), 0);
	CHECK_EQ_INT(isc_cdb_report_luns(c, 0, 0), 0);

	expect_cdb(c, isc_cdb_read10(c, 0x12345678, 0xabcd),
		   (const uint8_t[]){ 0x28, 0, 0x12, 0x34, 0x56, 0x78, 0, 0xab, 0xcd, 0 }, 10);
	expect_cdb(c, isc_cdb_write10(c, 0xffffffffu, 1),
		   (const uint8_t[]){ 0x2a, 0, 0xff, 0xff, 0xff, 0xff, 0, 0x00, 0x01, 0 }, 10);
	expect_cdb(c, isc_cdb_read16(c, 0x0102030405060708ULL, 0x0a0b0c0d),
		   (const uint8_t[]){ 0x88, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0 },
		   16);
	expect_cdb(c, isc_cdb_write16(c, 0xfedcba9876543210ULL, 8),
		   (const uint8_t[]){ 0x8a, 0, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10, 0, 0,
				      0, 8, 0, 0 },
		   16);
	expect_cdb(c, isc_cdb_synchronize_cache10(c),
		   (const uint8_t[]){ 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 10);

	CHECK_EQ_INT(isc_cdb_test_unit_ready(NULL), 0);
	CHECK_EQ_INT(isc_cdb_read16(NULL, 0, 0), 0);
}

static void test_inquiry_tgtd(void)
{
	size_t len = 0;
	uint8_t *b = fixture("inquiry_std.bin", &len);
	struct isc_inquiry q;
	if (!b)
		return;
	CHECK_EQ_INT(len, 66);
	CHECK_EQ_INT(isc_parse_inquiry(b, len, &q), 0);
	/* iscsi-inq: CONNECTED, DIRECT_ACCESS, Removable 0, Version 5, NormACA 0,
	 * HiSup 1, RDF 2, SCCS/ACC/TPGS/3PC/Protect/EncServ/MultiP 0, CmdQue 1 */
	CHECK_EQ_INT(q.peripheral_qualifier, 0);
	CHECK_EQ_INT(q.device_type, 0);
	CHECK_EQ_STR(isc_device_type_name(q.device_type), "DIRECT_ACCESS");
	CHECK_EQ_INT(q.removable, 0);
	CHECK_EQ_INT(q.version, 5);
	CHECK_EQ_INT(q.normaca, 0);
	CHECK_EQ_INT(q.hisup, 1);
	CHECK_EQ_INT(q.response_data_format, 2);
	CHECK_EQ_INT(q.additional_length, 61);
	CHECK_EQ_INT(q.sccs, 0);
	CHECK_EQ_INT(q.acc, 0);
	CHECK_EQ_INT(q.tpgs, 0);
	CHECK_EQ_INT(q.threepc, 0);
	CHECK_EQ_INT(q.protect, 0);
	CHECK_EQ_INT(q.encserv, 0);
	CHECK_EQ_INT(q.multip, 0);
	CHECK_EQ_INT(q.cmdque, 1);
	CHECK_EQ_STR(q.vendor, "IET     ");
	CHECK_EQ_STR(q.product, "VIRTUAL-DISK    ");
	CHECK_EQ_STR(q.revision, "0001");
	/* Version Descriptor: 04c0 SBC-3, 0960 iSCSI, 0300 SPC-3 */
	CHECK_EQ_INT(q.version_descriptor_count, 3);
	CHECK_EQ_INT(q.version_descriptors[0], 0x04c0);
	CHECK_EQ_INT(q.version_descriptors[1], 0x0960);
	CHECK_EQ_INT(q.version_descriptors[2], 0x0300);

	/* tgtd's 64-byte answer (allocation 64) holds three descriptors. */
	CHECK_EQ_INT(isc_parse_inquiry(b, 64, &q), 0);
	CHECK_EQ_INT(q.version_descriptor_count, 3);
	/* Truncated inside descriptor 2: only the first one is whole. */
	CHECK_EQ_INT(isc_parse_inquiry(b, 61, &q), 0);
	CHECK_EQ_INT(q.version_descriptor_count, 1);
	/* Exactly the fixed part: no descriptors. */
	CHECK_EQ_INT(isc_parse_inquiry(b, 36, &q), 0);
	CHECK_EQ_INT(q.version_descriptor_count, 0);
	CHECK_EQ_STR(q.revision, "0001");

	/* ADDITIONAL LENGTH also bounds the descriptors (len is larger). */
	b[4] = 58 + 2 - 5; /* declares exactly one descriptor */
	CHECK_EQ_INT(isc_parse_inquiry(b, len, &q), 0);
	CHECK_EQ_INT(q.version_descriptor_count, 1);
	CHECK_EQ_INT(q.version_descriptors[0], 0x04c0);

	/* Must fail: every length below the fixed 36 bytes. */
	for (size_t n = 0; n < 36; n++)
		CHECK_EQ_INT(isc_parse_inquiry(b, n, &q), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_parse_inquiry(NULL, 36, &q), ISC_ERR_INVAL);
	free(b);
}

static void test_inquiry_bits(void)
{
	uint8_t b[96];
	struct isc_inquiry q;
	memset(b, 0, sizeof(b));
	b[0] = 0x3 << 5 | 0x0c; /* PQ 3 (not supported), storage array controller */
	b[1] = 0x80;            /* RMB */
	b[2] = 0x06;
	b[3] = 0x20 | 0x10 | 0x02; /* NORMACA, HISUP, RDF 2 */
	b[4] = 91;
	b[5] = 0x80 | 0x40 | 0x20 | 0x08 | 0x01; /* SCCS ACC TPGS=2 3PC PROTECT */
	b[6] = 0x40 | 0x10;     /* ENCSERV MULTIP */
	b[7] = 0x02;            /* CMDQUE */
	memcpy(&b[8], "AB\x1b" "D\x7f" "F\x80 ", 8);  /* hostile vendor */
	memcpy(&b[16], "prod\0junk-after", 16);       /* NUL ends the field */
	memcpy(&b[32], "1.0\n", 4);
	for (int i = 0; i < 8; i++) {
		b[58 + 2 * i] = 0x00;
		b[59 + 2 * i] = (uint8_t)(i + 1);
	}
	b[60] = 0; b[61] = 0; /* a zero (unused) descriptor in the middle is skipped */
	CHECK_EQ_INT(isc_parse_inquiry(b, sizeof(b), &q), 0);
	CHECK_EQ_INT(q.peripheral_qualifier, 3);
	CHECK_EQ_INT(q.device_type, 0x0c);
	CHECK_EQ_INT(q.removable, 1);
	CHECK_EQ_INT(q.version, 6);
	CHECK_EQ_INT(q.normaca, 1);
	CHECK_EQ_INT(q.hisup, 1);
	CHECK_EQ_INT(q.response_data_format, 2);
	CHECK_EQ_INT(q.sccs, 1);
	CHECK_EQ_INT(q.acc, 1);
	CHECK_EQ_INT(q.tpgs, 2);
	CHECK_EQ_INT(q.threepc, 1);
	CHECK_EQ_INT(q.protect, 1);
	CHECK_EQ_INT(q.encserv, 1);
	CHECK_EQ_INT(q.multip, 1);
	CHECK_EQ_INT(q.cmdque, 1);
	CHECK_EQ_STR(q.vendor, "AB?D?F? ");
	CHECK_EQ_STR(q.product, "prod");
	CHECK_EQ_STR(q.revision, "1.0?");
	CHECK_EQ_INT(q.version_descriptor_count, 7);
	CHECK_EQ_INT(q.version_descriptors[0], 1);
	CHECK_EQ_INT(q.version_descriptors[1], 3);
	CHECK_EQ_INT(q.version_descriptors[6], 8);
}

static void test_vpd(void)
{
	size_t len = 0, count = 99;
	uint8_t *b = fixture("vpd_pages.bin", &len);
	uint8_t pages[16];
	char serial[64];
	if (b) {
		CHECK_EQ_INT(isc_parse_vpd_pages(b, len, pages, sizeof(pages), &count), 0);
		CHECK_EQ_INT(count, 6);
		CHECK_MEM(pages, "\x00\x80\x83\xb0\xb1\xb2", 6);
		/* Capacity smaller than the list: first cap entries. */
		CHECK_EQ_INT(isc_parse_vpd_pages(b, len, pages, 2, &count), 0);
		CHECK_EQ_INT(count, 2);
		CHECK_EQ_INT(pages[1], 0x80);
		CHECK_EQ_INT(isc_parse_vpd_pages(b, len, NULL, 0, &count), 0);
		CHECK_EQ_INT(count, 0);
		/* Must fail: short, bad page length, wrong page. */
		for (size_t n = 0; n < len; n++)
			CHECK_EQ_INT(isc_parse_vpd_pages(b, n, pages, sizeof(pages), &count),
				     ISC_ERR_PROTOCOL);
		CHECK_EQ_INT(isc_parse_vpd_serial(b, len, serial, sizeof(serial)), ISC_ERR_PROTOCOL);
		b[3] = 7; /* page length one past the buffer */
		CHECK_EQ_INT(isc_parse_vpd_pages(b, len, pages, sizeof(pages), &count),
			     ISC_ERR_PROTOCOL);
		CHECK_EQ_INT(count, 0);
		b[2] = 0xff; b[3] = 0xff;
		CHECK_EQ_INT(isc_parse_vpd_pages(b, len, pages, sizeof(pages), &count),
			     ISC_ERR_PROTOCOL);
		free(b);
	}

	b = fixture("vpd_serial.bin", &len);
	if (b) {
		/* iscsi-inq -e 1 -c 128: "[                              beaf11]" */
		CHECK_EQ_INT(isc_parse_vpd_serial(b, len, serial, sizeof(serial)), 0);
		CHECK_EQ_STR(serial, "                              beaf11");
		CHECK_EQ_INT(strlen(serial), 36);
		/* Truncated to cap - 1. */
		CHECK_EQ_INT(isc_parse_vpd_serial(b, len, serial, 5), 0);
		CHECK_EQ_STR(serial, "    ");
		CHECK_EQ_INT(isc_parse_vpd_serial(b, len, serial, 1), 0);
		CHECK_EQ_STR(serial, "");
		CHECK_EQ_INT(isc_parse_vpd_serial(b, len, serial, 0), ISC_ERR_INVAL);
		for (size_t n = 0; n < len; n++) {
			strcpy(serial, "x");
			CHECK_EQ_INT(isc_parse_vpd_serial(b, n, serial, sizeof(serial)),
				     ISC_ERR_PROTOCOL);
			CHECK_EQ_STR(serial, "");
		}
		CHECK_EQ_INT(isc_parse_vpd_pages(b, len, pages, sizeof(pages), &count),
			     ISC_ERR_PROTOCOL);
		b[3] = 0x25; /* bad VPD page length */
		CHECK_EQ_INT(isc_parse_vpd_serial(b, len, serial, sizeof(serial)), ISC_ERR_PROTOCOL);
		/* Hostile bytes in a serial are neutralised. */
		b[3] = 4;
		memcpy(&b[4], "a\x1b\nb", 4);
		CHECK_EQ_INT(isc_parse_vpd_serial(b, len, serial, sizeof(serial)), 0);
		CHECK_EQ_STR(serial, "a??b");
		free(b);
	}
}

static void test_capacity(void)
{
	size_t len = 0;
	uint8_t *b = fixture("read_capacity16.bin", &len);
	struct isc_capacity c;
	if (b) {
		/* iscsi-readcapacity16: LBA 131071, 512 bytes, P_TYPE 0 PROT_EN 0,
		 * P_I_EXPONENT 0, LBPPBE 3, LBPME 0 LBPRZ 0, lowest aligned 0. */
		CHECK_EQ_INT(isc_parse_read_capacity16(b, len, &c), 0);
		CHECK_EQ_INT(c.last_lba, 131071);
		CHECK_EQ_INT(c.block_length, 512);
		CHECK_EQ_INT((c.last_lba + 1) * c.block_length, 67108864);
		CHECK_EQ_INT(c.p_type, 0);
		CHECK_EQ_INT(c.prot_en, 0);
		CHECK_EQ_INT(c.p_i_exponent, 0);
		CHECK_EQ_INT(c.lbppbe, 3);
		CHECK_EQ_INT(c.lbpme, 0);
		CHECK_EQ_INT(c.lbprz, 0);
		CHECK_EQ_INT(c.lowest_aligned_lba, 0);
		for (size_t n = 0; n < 32; n++)
			CHECK_EQ_INT(isc_parse_read_capacity16(b, n, &c), ISC_ERR_PROTOCOL);
		free(b);
	}

	/* Every bit field set to a distinct value. */
	uint8_t r[32] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x10, 0x00 };
	r[12] = 0xf0 | (5 << 1) | 1; /* reserved high bits set: must be ignored */
	r[13] = 0xa7;                 /* P_I_EXPONENT 10, LBPPBE 7 */
	r[14] = 0x80 | 0x3f;          /* LBPME, not LBPRZ, aligned high bits all set */
	r[15] = 0xfe;
	CHECK_EQ_INT(isc_parse_read_capacity16(r, sizeof(r), &c), 0);
	CHECK(c.last_lba == 0x0123456789abcdefULL);
	CHECK_EQ_INT(c.block_length, 4096);
	CHECK_EQ_INT(c.p_type, 5);
	CHECK_EQ_INT(c.prot_en, 1);
	CHECK_EQ_INT(c.p_i_exponent, 10);
	CHECK_EQ_INT(c.lbppbe, 7);
	CHECK_EQ_INT(c.lbpme, 1);
	CHECK_EQ_INT(c.lbprz, 0);
	CHECK_EQ_INT(c.lowest_aligned_lba, 0x3ffe);
	r[14] = 0x40 | 0x01;
	r[15] = 0x02;
	CHECK_EQ_INT(isc_parse_read_capacity16(r, sizeof(r), &c), 0);
	CHECK_EQ_INT(c.lbpme, 0);
	CHECK_EQ_INT(c.lbprz, 1);
	CHECK_EQ_INT(c.lowest_aligned_lba, 0x0102);

	b = fixture("read_capacity10.bin", &len);
	if (b) {
		memset(&c, 0xff, sizeof(c));
		CHECK_EQ_INT(isc_parse_read_capacity10(b, len, &c), 0);
		CHECK_EQ_INT(c.last_lba, 131071);
		CHECK_EQ_INT(c.block_length, 512);
		CHECK_EQ_INT(c.lbppbe, 0);
		CHECK_EQ_INT(c.lowest_aligned_lba, 0);
		for (size_t n = 0; n < 8; n++)
			CHECK_EQ_INT(isc_parse_read_capacity10(b, n, &c), ISC_ERR_PROTOCOL);
		free(b);
	}
	/* READ CAPACITY(10) saturates at 0xffffffff: "use READ CAPACITY(16)". */
	const uint8_t big[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0x02, 0 };
	CHECK_EQ_INT(isc_parse_read_capacity10(big, 8, &c), 0);
	CHECK_EQ_INT(c.last_lba, 0xffffffffu);
}

static void test_report_luns(void)
{
	size_t len = 0, count = 99, total = 99;
	uint64_t luns[8];
	uint8_t *b = fixture("report_luns.bin", &len);
	if (b) {
		CHECK_EQ_INT(isc_parse_report_luns(b, len, luns, 8, &count, &total), 0);
		CHECK_EQ_INT(count, 3);
		CHECK_EQ_INT(total, 3);
		CHECK_EQ_INT(isc_lun_decode(luns[0]), 0);
		CHECK_EQ_INT(isc_lun_decode(luns[1]), 1);
		CHECK_EQ_INT(isc_lun_decode(luns[2]), 2);
		CHECK(luns[1] == 0x0001000000000000ULL);
		/* cap limits what is copied, not the total. */
		CHECK_EQ_INT(isc_parse_report_luns(b, len, luns, 2, &count, &total), 0);
		CHECK_EQ_INT(count, 2);
		CHECK_EQ_INT(total, 3);
		CHECK_EQ_INT(isc_parse_report_luns(b, len, NULL, 0, &count, &total), 0);
		CHECK_EQ_INT(count, 0);
		CHECK_EQ_INT(total, 3);
		/* Trailing partial entry is not read. */
		CHECK_EQ_INT(isc_parse_report_luns(b, len - 1, luns, 8, &count, &total), 0);
		CHECK_EQ_INT(count, 2);
		for (size_t n = 0; n < 8; n++)
			CHECK_EQ_INT(isc_parse_report_luns(b, n, luns, 8, &count, &total),
				     ISC_ERR_PROTOCOL);
		/* List length shorter than the buffer: the length field wins. */
		b[3] = 8;
		CHECK_EQ_INT(isc_parse_report_luns(b, len, luns, 8, &count, &total), 0);
		CHECK_EQ_INT(count, 1);
		CHECK_EQ_INT(total, 1);
		/* Hostile list length (larger than the buffer): clamped. */
		b[0] = 0xff; b[1] = 0xff; b[2] = 0xff; b[3] = 0xf8;
		CHECK_EQ_INT(isc_parse_report_luns(b, len, luns, 8, &count, &total), 0);
		CHECK_EQ_INT(count, 3);
		CHECK_EQ_INT(total, 0xfffffff8u / 8);
		free(b);
	}
	/* tgtd's answer to a 16-byte allocation: 3 LUNs, one in the buffer. */
	b = fixture("report_luns_alloc16.bin", &len);
	if (b) {
		CHECK_EQ_INT(isc_parse_report_luns(b, len, luns, 8, &count, &total), 0);
		CHECK_EQ_INT(count, 1);
		CHECK_EQ_INT(total, 3);
		CHECK_EQ_INT(isc_lun_decode(luns[0]), 0);
		free(b);
	}
	/* Empty list. */
	const uint8_t empty[8] = { 0 };
	CHECK_EQ_INT(isc_parse_report_luns(empty, 8, luns, 8, &count, &total), 0);
	CHECK_EQ_INT(count, 0);
	CHECK_EQ_INT(total, 0);
}

static void test_lun_codec(void)
{
	CHECK(isc_lun_encode(0) == 0);
	CHECK(isc_lun_encode(1) == 0x0001000000000000ULL);
	CHECK(isc_lun_encode(255) == 0x00ff000000000000ULL);
	CHECK(isc_lun_encode(256) == 0x4100000000000000ULL);
	CHECK(isc_lun_encode(0x1234) == 0x5234000000000000ULL);
	CHECK(isc_lun_encode(16383) == 0x7fff000000000000ULL);
	CHECK(isc_lun_encode(16384) == UINT64_MAX);
	for (uint32_t l = 0; l < 16384; l++)
		if (isc_lun_decode(isc_lun_encode(l)) != (int64_t)l) {
			fprintf(stderr, "lun %u does not round-trip\n", l);
			CHECK(0);
			break;
		}
	CHECK_EQ_INT(isc_lun_decode(0x4000000000000000ULL), 0); /* flat 0 */
	CHECK_EQ_INT(isc_lun_decode(UINT64_MAX), -1);
	CHECK_EQ_INT(isc_lun_decode(0x0101000000000000ULL), -1); /* bus 1 */
	CHECK_EQ_INT(isc_lun_decode(0x8001000000000000ULL), -1); /* logical unit addr */
	CHECK_EQ_INT(isc_lun_decode(0xd200123400000000ULL), -1); /* extended flat */
	CHECK_EQ_INT(isc_lun_decode(0x0001000100000000ULL), -1); /* two levels */
	CHECK_EQ_INT(isc_lun_decode(0x0001000000000001ULL), -1);
}

static void test_sense(void)
{
	size_t len = 0;
	struct isc_sense s;
	uint8_t *b = fixture("sense_unit_attention.bin", &len);
	if (b) {
		CHECK_EQ_INT(isc_parse_sense(b, len, &s), 0);
		CHECK_EQ_INT(s.response_code, 0x70);
		CHECK_EQ_INT(s.sense_key, 6);
		CHECK_EQ_STR(isc_sense_key_name(s.sense_key), "UNIT ATTENTION");
		CHECK_EQ_INT(s.asc, 0x29);
		CHECK_EQ_INT(s.ascq, 0x00);
		CHECK_EQ_INT(s.info_valid, 0);
		CHECK_EQ_INT(s.information, 0);
		/* Truncated below ASC/ASCQ: still parses, those read as 0. */
		CHECK_EQ_INT(isc_parse_sense(b, 13, &s), 0);
		CHECK_EQ_INT(s.sense_key, 6);
		CHECK_EQ_INT(s.asc, 0);
		for (size_t n = 0; n < 8; n++)
			CHECK_EQ_INT(isc_parse_sense(b, n, &s), ISC_ERR_PROTOCOL);
		free(b);
	}
	b = fixture("sense_lun_not_supported.bin", &len);
	if (b) {
		CHECK_EQ_INT(isc_parse_sense(b, len, &s), 0);
		CHECK_EQ_INT(s.sense_key, 5);
		CHECK_EQ_STR(isc_sense_key_name(s.sense_key), "ILLEGAL REQUEST");
		CHECK_EQ_INT(s.asc, 0x25);
		CHECK_EQ_INT(s.ascq, 0x00);
		free(b);
	}

	/* Fixed, deferred, VALID with INFORMATION (MEDIUM ERROR at LBA). */
	const uint8_t fx[18] = { 0xf1, 0, 0x03, 0xde, 0xad, 0xbe, 0xef, 10,
				 0, 0, 0, 0, 0x11, 0x04, 0, 0, 0, 0 };
	CHECK_EQ_INT(isc_parse_sense(fx, sizeof(fx), &s), 0);
	CHECK_EQ_INT(s.response_code, 0x71);
	CHECK_EQ_INT(s.sense_key, 3);
	CHECK_EQ_INT(s.info_valid, 1);
	CHECK(s.information == 0xdeadbeefULL);
	CHECK_EQ_INT(s.asc, 0x11);
	CHECK_EQ_INT(s.ascq, 0x04);
	/* ADDITIONAL SENSE LENGTH 4 hides ASC/ASCQ even though bytes exist. */
	uint8_t fx2[18];
	memcpy(fx2, fx, sizeof(fx2));
	fx2[7] = 4;
	CHECK_EQ_INT(isc_parse_sense(fx2, sizeof(fx2), &s), 0);
	CHECK_EQ_INT(s.asc, 0);

	/* Descriptor format: a vendor descriptor first, then INFORMATION. */
	const uint8_t ds[8 + 4 + 12] = { 0x72, 0x04, 0x44, 0x00, 0, 0, 0, 16,
					 0x80, 0x02, 0xaa, 0xbb,
					 0x00, 0x0a, 0x80, 0x00, 0x01, 0x02, 0x03, 0x04,
					 0x05, 0x06, 0x07, 0x08 };
	CHECK_EQ_INT(isc_parse_sense(ds, sizeof(ds), &s), 0);
	CHECK_EQ_INT(s.response_code, 0x72);
	CHECK_EQ_INT(s.sense_key, 4);
	CHECK_EQ_STR(isc_sense_key_name(s.sense_key), "HARDWARE ERROR");
	CHECK_EQ_INT(s.asc, 0x44);
	CHECK_EQ_INT(s.ascq, 0);
	CHECK_EQ_INT(s.info_valid, 1);
	CHECK(s.information == 0x0102030405060708ULL);
	/* INFORMATION descriptor cut by the additional length: not used. */
	uint8_t ds2[sizeof(ds)];
	memcpy(ds2, ds, sizeof(ds2));
	ds2[7] = 15;
	CHECK_EQ_INT(isc_parse_sense(ds2, sizeof(ds2), &s), 0);
	CHECK_EQ_INT(s.info_valid, 0);
	CHECK_EQ_INT(s.information, 0);
	CHECK_EQ_INT(s.asc, 0x44);
	/* ... and cut by the buffer. */
	CHECK_EQ_INT(isc_parse_sense(ds, sizeof(ds) - 1, &s), 0);
	CHECK_EQ_INT(s.info_valid, 0);
	/* Deferred descriptor, no descriptors. */
	const uint8_t ds3[8] = { 0x73, 0x0b, 0x47, 0x03, 0, 0, 0, 0 };
	CHECK_EQ_INT(isc_parse_sense(ds3, 8, &s), 0);
	CHECK_EQ_INT(s.response_code, 0x73);
	CHECK_EQ_STR(isc_sense_key_name(s.sense_key), "ABORTED COMMAND");
	CHECK_EQ_INT(s.ascq, 3);
	for (size_t n = 0; n < 8; n++)
		CHECK_EQ_INT(isc_parse_sense(ds, n, &s), ISC_ERR_PROTOCOL);

	/* Must fail: unknown response codes. */
	const uint8_t bad1[18] = { 0x7f, 0, 5 };
	const uint8_t bad2[18] = { 0x00, 0, 5 };
	CHECK_EQ_INT(isc_parse_sense(bad1, sizeof(bad1), &s), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_parse_sense(bad2, sizeof(bad2), &s), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_parse_sense(NULL, 18, &s), ISC_ERR_INVAL);
}

static void test_names(void)
{
	CHECK_EQ_STR(isc_sense_key_name(0), "NO SENSE");
	CHECK_EQ_STR(isc_sense_key_name(2), "NOT READY");
	CHECK_EQ_STR(isc_sense_key_name(0x0d), "VOLUME OVERFLOW");
	CHECK_EQ_STR(isc_sense_key_name(0x0e), "MISCOMPARE");
	CHECK_EQ_STR(isc_sense_key_name(0x10), "UNKNOWN");
	CHECK_EQ_STR(isc_sense_key_name(0xff), "UNKNOWN");

	/* libiscsi scsi_devtype_to_str() spellings (iscsi-ls printed
	 * STORAGE_ARRAY_CONTROLLER for tgtd's LUN 0, DIRECT_ACCESS for LUN 1). */
	static const struct { uint8_t t; const char *n; } dt[] = {
		{ 0x00, "DIRECT_ACCESS" }, { 0x01, "SEQUENTIAL_ACCESS" }, { 0x02, "PRINTER" },
		{ 0x03, "PROCESSOR" }, { 0x04, "WRITE_ONCE" }, { 0x05, "MMC" },
		{ 0x06, "SCANNER" }, { 0x07, "OPTICAL_MEMORY" }, { 0x08, "MEDIA_CHANGER" },
		{ 0x09, "COMMUNICATIONS" }, { 0x0c, "STORAGE_ARRAY_CONTROLLER" },
		{ 0x0d, "ENCLOSURE_SERVICES" }, { 0x0e, "SIMPLIFIED_DIRECT_ACCESS" },
		{ 0x0f, "OPTICAL_CARD_READER" }, { 0x10, "BRIDGE_CONTROLLER" }, { 0x11, "OSD" },
		{ 0x12, "AUTOMATION" }, { 0x13, "SEQURITY_MANAGER" }, { 0x1e, "WELL_KNOWN_LUN" },
		{ 0x1f, "UNKNOWN" }, { 0x0a, "unknown" }, { 0x14, "unknown" }, { 0xff, "unknown" },
	};
	for (size_t i = 0; i < sizeof(dt) / sizeof(dt[0]); i++)
		CHECK_EQ_STR(isc_device_type_name(dt[i].t), dt[i].n);

	CHECK_EQ_STR(isc_scsi_status_name(0x00), "GOOD");
	CHECK_EQ_STR(isc_scsi_status_name(0x02), "CHECK CONDITION");
	CHECK_EQ_STR(isc_scsi_status_name(0x04), "CONDITION MET");
	CHECK_EQ_STR(isc_scsi_status_name(0x08), "BUSY");
	CHECK_EQ_STR(isc_scsi_status_name(0x18), "RESERVATION CONFLICT");
	CHECK_EQ_STR(isc_scsi_status_name(0x28), "TASK SET FULL");
	CHECK_EQ_STR(isc_scsi_status_name(0x30), "ACA ACTIVE");
	CHECK_EQ_STR(isc_scsi_status_name(0x40), "TASK ABORTED");
	CHECK_EQ_STR(isc_scsi_status_name(0x01), "UNKNOWN");
	CHECK_EQ_STR(isc_scsi_status_name(0xff), "UNKNOWN");
}

static void test_result_free(void)
{
	struct isc_scsi_result *r = calloc(1, sizeof(*r));
	CHECK(r != NULL);
	if (r) {
		r->data = malloc(512);
		r->data_len = 512;
	}
	isc_scsi_result_free(r); /* ASan reports a leak if data is not freed */
	isc_scsi_result_free(NULL);
}

int main(void)
{
	test_cdbs();
	test_inquiry_tgtd();
	test_inquiry_bits();
	test_vpd();
	test_capacity();
	test_report_luns();
	test_lun_codec();
	test_sense();
	test_names();
	test_result_free();
	return check_finish();
}
