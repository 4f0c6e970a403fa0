/*
 * SCSI CDB builders and response parsers (contract: include/isc/scsi.h).
 *
 * Layouts follow SPC-4 (T10/1731-D) and SBC-3 (T10/BSR INCITS 514); section
 * numbers are given at each function. Every parser is a pure function over
 * (buf, len): it checks each length before reading, never trusts a length
 * field from the device beyond what buf holds, and returns 0,
 * ISC_ERR_PROTOCOL for a malformed/short response or ISC_ERR_INVAL for bad
 * arguments from the caller.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "isc/errors.h"
#include "isc/iscsi.h"
#include "isc/scsi.h"

/* ---------------------------------------------------------------- CDBs */

static void cdb_start(uint8_t *cdb, uint8_t opcode)
{
	memset(cdb, 0, ISC_CDB_MAX);
	cdb[0] = opcode;
}

/* SPC-4 6.37: TEST UNIT READY, 6 bytes, opcode 0x00. */
size_t isc_cdb_test_unit_ready(uint8_t cdb[ISC_CDB_MAX])
{
	if (!cdb)
		return 0;
	cdb_start(cdb, 0x00);
	return 6;
}

/* SPC-4 6.6.1: INQUIRY 0x12; byte 1 bit 0 EVPD, byte 2 PAGE CODE, bytes 3-4
 * ALLOCATION LENGTH. A non-zero page code without EVPD is an ILLEGAL REQUEST
 * at the target, so refuse to build it. */
size_t isc_cdb_inquiry(uint8_t cdb[ISC_CDB_MAX], int evpd, uint8_t page, uint16_t alloc_len)
{
	if (!cdb || (!evpd && page != 0))
		return 0;
	cdb_start(cdb, 0x12);
	cdb[1] = evpd ? 0x01 : 0x00;
	cdb[2] = page;
	isc_put_be16(&cdb[3], alloc_len);
	return 6;
}

/* SBC-3 5.15: READ CAPACITY(10) 0x25, 10 bytes, LBA/PMI left zero. */
size_t isc_cdb_read_capacity10(uint8_t cdb[ISC_CDB_MAX])
{
	if (!cdb)
		return 0;
	cdb_start(cdb, 0x25);
	return 10;
}

/* SBC-3 5.16: READ CAPACITY(16) = SERVICE ACTION IN(16) 0x9e with service
 * action 0x10 in byte 1, ALLOCATION LENGTH in bytes 10-13. */
size_t isc_cdb_read_capacity16(uint8_t cdb[ISC_CDB_MAX], uint32_t alloc_len)
{
	if (!cdb)
		return 0;
	cdb_start(cdb, 0x9e);
	cdb[1] = 0x10;
	isc_put_be32(&cdb[10], alloc_len);
	return 16;
}

/* SPC-4 6.33: REPORT LUNS 0xa0, SELECT REPORT byte 2, ALLOCATION LENGTH
 * bytes 6-9. SPC-4 requires an allocation length of at least 16 (header plus
 * one entry); smaller is an ILLEGAL REQUEST, so refuse to build it. */
size_t isc_cdb_report_luns(uint8_t cdb[ISC_CDB_MAX], uint8_t select_report, uint32_t alloc_len)
{
	if (!cdb || alloc_len < 16)
		return 0;
	cdb_start(cdb, 0xa0);
	cdb[2] = select_report;
	isc_put_be32(&cdb[6], alloc_len);
	return 12;
}

/* SBC-3 5.11/5.13 (READ), 5.32/5.34 (WRITE): 10-byte forms carry a 32-bit
 * LBA at bytes 2-5 and a 16-bit TRANSFER LENGTH at 7-8; 16-byte forms a
 * 64-bit LBA at 2-9 and a 32-bit TRANSFER LENGTH at 10-13. Flags (DPO, FUA,
 * protection) are left zero. */
static size_t cdb_rw10(uint8_t *cdb, uint8_t opcode, uint32_t lba, uint16_t blocks)
{
	if (!cdb)
		return 0;
	cdb_start(cdb, opcode);
	isc_put_be32(&cdb[2], lba);
	isc_put_be16(&cdb[7], blocks);
	return 10;
}

static size_t cdb_rw16(uint8_t *cdb, uint8_t opcode, uint64_t lba, uint32_t blocks)
{
	if (!cdb)
		return 0;
	cdb_start(cdb, opcode);
	isc_put_be64(&cdb[2], lba);
	isc_put_be32(&cdb[10], blocks);
	return 16;
}

size_t isc_cdb_read10(uint8_t cdb[ISC_CDB_MAX], uint32_t lba, uint16_t blocks)
{
	return cdb_rw10(cdb, 0x28, lba, blocks);
}

size_t isc_cdb_read16(uint8_t cdb[ISC_CDB_MAX], uint64_t lba, uint32_t blocks)
{
	return cdb_rw16(cdb, 0x88, lba, blocks);
}

size_t isc_cdb_write10(uint8_t cdb[ISC_CDB_MAX], uint32_t lba, uint16_t blocks)
{
	return cdb_rw10(cdb, 0x2a, lba, blocks);
}

size_t isc_cdb_write16(uint8_t cdb[ISC_CDB_MAX], uint64_t lba, uint32_t blocks)
{
	return cdb_rw16(cdb, 0x8a, lba, blocks);
}

/* SBC-3 5.22: SYNCHRONIZE CACHE(10) 0x35; LBA 0 and NUMBER OF LOGICAL
 * BLOCKS 0 mean "the whole medium". */
size_t isc_cdb_synchronize_cache10(uint8_t cdb[ISC_CDB_MAX])
{
	if (!cdb)
		return 0;
	cdb_start(cdb, 0x35);
	return 10;
}

/* ---------------------------------------------------------------- INQUIRY */

/*
 * Copy a fixed-width SPC ASCII field (SPC-4 4.4.1: printable 0x20-0x7e,
 * space padded). Devices are untrusted and these strings end up in logs,
 * terminals and JS: a NUL ends the field early, any other byte outside the
 * printable range becomes '?'. out must hold n + 1 bytes.
 */
static void copy_ascii_field(char *out, const uint8_t *src, size_t n)
{
	size_t i;
	for (i = 0; i < n && src[i] != 0; i++)
		out[i] = (src[i] >= 0x20 && src[i] <= 0x7e) ? (char)src[i] : '?';
	out[i] = '\0';
}

/* SPC-4 6.6.2 standard INQUIRY data. */
int isc_parse_inquiry(const uint8_t *buf, size_t len, struct isc_inquiry *out)
{
	size_t avail;

	if (!buf || !out)
		return ISC_ERR_INVAL;
	if (len < 36)
		return ISC_ERR_PROTOCOL;
	memset(out, 0, sizeof(*out));

	out->peripheral_qualifier = (uint8_t)(buf[0] >> 5);
	out->device_type = buf[0] & 0x1f;
	out->removable = (buf[1] >> 7) & 1;
	out->version = buf[2];
	out->normaca = (buf[3] >> 5) & 1;
	out->hisup = (buf[3] >> 4) & 1;
	out->response_data_format = buf[3] & 0x0f;
	out->additional_length = buf[4];
	out->sccs = (buf[5] >> 7) & 1;
	out->acc = (buf[5] >> 6) & 1;
	out->tpgs = (buf[5] >> 4) & 3;
	out->threepc = (buf[5] >> 3) & 1;
	out->protect = buf[5] & 1;
	out->encserv = (buf[6] >> 6) & 1;
	out->multip = (buf[6] >> 4) & 1;
	out->cmdque = (buf[7] >> 1) & 1;
	copy_ascii_field(out->vendor, &buf[8], 8);
	copy_ascii_field(out->product, &buf[16], 16);
	copy_ascii_field(out->revision, &buf[32], 4);

	/* VERSION DESCRIPTOR 1..8 occupy bytes 58..73, but only bytes the
	 * device both sent (len) and declared (ADDITIONAL LENGTH + 5) count.
	 * Unused descriptors are zero (SPC-4 6.6.2) and are skipped. */
	avail = (size_t)out->additional_length + 5;
	if (avail > len)
		avail = len;
	for (size_t i = 0; i < 8; i++) {
		size_t off = 58 + 2 * i;
		uint16_t v;
		if (off + 2 > avail)
			break;
		v = isc_get_be16(&buf[off]);
		if (v != 0)
			out->version_descriptors[out->version_descriptor_count++] = v;
	}
	return 0;
}

/* ---------------------------------------------------------------- VPD */

/*
 * Common VPD page header (SPC-4 7.8.1): byte 1 PAGE CODE, bytes 2-3 PAGE
 * LENGTH (bytes after the 4-byte header). A page length that claims more than
 * buf holds is rejected rather than truncated: callers size the allocation
 * for these small pages, so a mismatch means a broken or hostile response.
 */
static int vpd_header(const uint8_t *buf, size_t len, uint8_t page, size_t *page_len)
{
	size_t plen;
	if (len < 4 || buf[1] != page)
		return ISC_ERR_PROTOCOL;
	plen = isc_get_be16(&buf[2]);
	if (plen > len - 4)
		return ISC_ERR_PROTOCOL;
	*page_len = plen;
	return 0;
}

/* SPC-4 7.8.18 Unit Serial Number (0x80): ASCII serial from byte 4. */
int isc_parse_vpd_serial(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	size_t plen, n;
	int rc;

	if (!buf || !out || cap == 0)
		return ISC_ERR_INVAL;
	out[0] = '\0';
	rc = vpd_header(buf, len, 0x80, &plen);
	if (rc != 0)
		return rc;
	n = plen < cap - 1 ? plen : cap - 1;
	copy_ascii_field(out, &buf[4], n);
	return 0;
}

/* SPC-4 7.8.17 Supported VPD Pages (0x00): one page code per byte. */
int isc_parse_vpd_pages(const uint8_t *buf, size_t len, uint8_t *pages, size_t cap,
			size_t *count)
{
	size_t plen, n;
	int rc;

	if (!buf || !count || (cap > 0 && !pages))
		return ISC_ERR_INVAL;
	*count = 0;
	rc = vpd_header(buf, len, 0x00, &plen);
	if (rc != 0)
		return rc;
	n = plen < cap ? plen : cap;
	if (n > 0)
		memcpy(pages, &buf[4], n);
	*count = n;
	return 0;
}

/* ---------------------------------------------------------------- capacity */

/* SBC-3 5.15.2: RETURNED LOGICAL BLOCK ADDRESS (0-3), BLOCK LENGTH (4-7). */
int isc_parse_read_capacity10(const uint8_t *buf, size_t len, struct isc_capacity *out)
{
	if (!buf || !out)
		return ISC_ERR_INVAL;
	if (len < 8)
		return ISC_ERR_PROTOCOL;
	memset(out, 0, sizeof(*out));
	out->last_lba = isc_get_be32(&buf[0]);
	out->block_length = isc_get_be32(&buf[4]);
	return 0;
}

/*
 * SBC-3 5.16.2 READ CAPACITY(16) parameter data, 32 bytes (we always
 * allocate 32): LBA 0-7, BLOCK LENGTH 8-11, byte 12 P_TYPE (bits 3:1) and
 * PROT_EN (bit 0), byte 13 P_I_EXPONENT (7:4) and LOGICAL BLOCKS PER PHYSICAL
 * BLOCK EXPONENT (3:0), byte 14 LBPME (7), LBPRZ (6), LOWEST ALIGNED LOGICAL
 * BLOCK ADDRESS 14 bits over bytes 14 (5:0) and 15.
 */
int isc_parse_read_capacity16(const uint8_t *buf, size_t len, struct isc_capacity *out)
{
	if (!buf || !out)
		return ISC_ERR_INVAL;
	if (len < 32)
		return ISC_ERR_PROTOCOL;
	memset(out, 0, sizeof(*out));
	out->last_lba = isc_get_be64(&buf[0]);
	out->block_length = isc_get_be32(&buf[8]);
	out->p_type = (buf[12] >> 1) & 0x07;
	out->prot_en = buf[12] & 0x01;
	out->p_i_exponent = buf[13] >> 4;
	out->lbppbe = buf[13] & 0x0f;
	out->lbpme = (buf[14] >> 7) & 1;
	out->lbprz = (buf[14] >> 6) & 1;
	out->lowest_aligned_lba = (uint16_t)(isc_get_be16(&buf[14]) & 0x3fff);
	return 0;
}

/* ---------------------------------------------------------------- LUNs */

/*
 * SPC-4 6.33.2: LUN LIST LENGTH (bytes 0-3, a byte count of the list),
 * 4 reserved bytes, then 8-byte entries. The list may be longer than what the
 * allocation let through: *total reports what the target has, *count what
 * this buffer actually holds (bounded by both len and the list length).
 */
int isc_parse_report_luns(const uint8_t *buf, size_t len, uint64_t *luns, size_t cap,
			  size_t *count, size_t *total)
{
	uint32_t list_len;
	size_t in_buf, n;

	if (!buf || !count || !total || (cap > 0 && !luns))
		return ISC_ERR_INVAL;
	*count = 0;
	*total = 0;
	if (len < 8)
		return ISC_ERR_PROTOCOL;
	list_len = isc_get_be32(&buf[0]);
	in_buf = (len - 8) / 8;
	if (in_buf > list_len / 8)
		in_buf = list_len / 8;
	n = in_buf < cap ? in_buf : cap;
	for (size_t i = 0; i < n; i++)
		luns[i] = isc_get_be64(&buf[8 + 8 * i]);
	*count = n;
	*total = list_len / 8;
	return 0;
}

/*
 * SAM-5 4.7 LUN formats; the ADDRESS METHOD is in bits 7:6 of byte 0.
 *  00b peripheral device addressing: byte 0 bits 5:0 BUS IDENTIFIER (0 for
 *      a LUN of this target), byte 1 the LUN (0..255).
 *  01b flat space addressing: 14-bit LUN over byte 0 bits 5:0 and byte 1.
 * Single-level LUNs use only the first level (bytes 0-1); bytes 2-7 are zero.
 * LUNs >= 16384 need extended addressing, which we do not produce: the
 * result is UINT64_MAX, which isc_lun_decode() reports as -1.
 */
uint64_t isc_lun_encode(uint32_t lun)
{
	if (lun < 256)
		return (uint64_t)lun << 48;
	if (lun < 16384)
		return (uint64_t)(0x40u | (lun >> 8)) << 56 | (uint64_t)(lun & 0xffu) << 48;
	return UINT64_MAX;
}

int64_t isc_lun_decode(uint64_t raw)
{
	uint8_t b0 = (uint8_t)(raw >> 56), b1 = (uint8_t)(raw >> 48);

	/* Anything in levels 2-4 is a hierarchical (multi-level) LUN. */
	if ((raw & 0x0000ffffffffffffULL) != 0)
		return -1;
	switch (b0 >> 6) {
	case 0: /* peripheral: a non-zero bus identifier is another level */
		if ((b0 & 0x3f) != 0)
			return -1;
		return b1;
	case 1: /* flat space */
		return (int64_t)((uint32_t)(b0 & 0x3f) << 8 | b1);
	default: /* logical unit (10b) and extended (11b) addressing */
		return -1;
	}
}

/* ---------------------------------------------------------------- sense */

/*
 * SPC-4 4.5.3 fixed format (response codes 0x70 current, 0x71 deferred):
 * byte 0 bit 7 VALID, byte 2 SENSE KEY (3:0), bytes 3-6 INFORMATION, byte 7
 * ADDITIONAL SENSE LENGTH, bytes 12/13 ASC/ASCQ. Fields past what the device
 * sent (or declared via the additional length) read as zero.
 */
static int parse_sense_fixed(const uint8_t *buf, size_t len, struct isc_sense *out)
{
	size_t avail;
	if (len < 8)
		return ISC_ERR_PROTOCOL;
	avail = (size_t)buf[7] + 8;
	if (avail > len)
		avail = len;
	out->sense_key = buf[2] & 0x0f;
	if (buf[0] & 0x80) {
		out->info_valid = 1;
		out->information = isc_get_be32(&buf[3]);
	}
	if (avail >= 14) {
		out->asc = buf[12];
		out->ascq = buf[13];
	}
	return 0;
}

/*
 * SPC-4 4.5.2 descriptor format (0x72 current, 0x73 deferred): byte 1 SENSE
 * KEY, bytes 2/3 ASC/ASCQ, byte 7 ADDITIONAL SENSE LENGTH, descriptors from
 * byte 8, each "type, additional length, ...". The INFORMATION descriptor
 * (4.5.2.2, type 0x00, additional length 0x0a) has VALID in byte 2 bit 7 and
 * the 64-bit INFORMATION at bytes 4-11. A descriptor running past the end
 * ends the walk.
 */
static int parse_sense_descriptor(const uint8_t *buf, size_t len, struct isc_sense *out)
{
	size_t end, off = 8;
	if (len < 8)
		return ISC_ERR_PROTOCOL;
	end = (size_t)buf[7] + 8;
	if (end > len)
		end = len;
	out->sense_key = buf[1] & 0x0f;
	out->asc = buf[2];
	out->ascq = buf[3];
	while (end - off >= 2) {
		size_t dlen = (size_t)buf[off + 1] + 2;
		if (dlen > end - off)
			break;
		if (buf[off] == 0x00 && dlen >= 12) {
			out->info_valid = (buf[off + 2] >> 7) & 1;
			out->information = isc_get_be64(&buf[off + 4]);
			break;
		}
		off += dlen;
	}
	return 0;
}

int isc_parse_sense(const uint8_t *buf, size_t len, struct isc_sense *out)
{
	if (!buf || !out)
		return ISC_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (len < 1)
		return ISC_ERR_PROTOCOL;
	out->response_code = buf[0] & 0x7f;
	switch (out->response_code) {
	case 0x70:
	case 0x71:
		return parse_sense_fixed(buf, len, out);
	case 0x72:
	case 0x73:
		return parse_sense_descriptor(buf, len, out);
	default:
		return ISC_ERR_PROTOCOL;
	}
}

/* ---------------------------------------------------------------- names */

/* SPC-4 4.5.6 table 27, SENSE KEY descriptions. */
const char *isc_sense_key_name(uint8_t key)
{
	static const char *const names[16] = {
		"NO SENSE",       "RECOVERED ERROR", "NOT READY",       "MEDIUM ERROR",
		"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION",  "DATA PROTECT",
		"BLANK CHECK",    "VENDOR SPECIFIC", "COPY ABORTED",    "ABORTED COMMAND",
		"RESERVED",       "VOLUME OVERFLOW", "MISCOMPARE",      "COMPLETED",
	};
	return key < 16 ? names[key] : "UNKNOWN";
}

/*
 * Peripheral device types, spelled exactly as libiscsi's
 * scsi_devtype_to_str() (lib/scsi-lowlevel.c) so our output matches
 * iscsi-ls/iscsi-inq — including its "SEQURITY_MANAGER" spelling for 0x13
 * and lowercase "unknown" for codes it has no name for (0x1f is "UNKNOWN").
 */
const char *isc_device_type_name(uint8_t type)
{
	switch (type) {
	case 0x00: return "DIRECT_ACCESS";
	case 0x01: return "SEQUENTIAL_ACCESS";
	case 0x02: return "PRINTER";
	case 0x03: return "PROCESSOR";
	case 0x04: return "WRITE_ONCE";
	case 0x05: return "MMC";
	case 0x06: return "SCANNER";
	case 0x07: return "OPTICAL_MEMORY";
	case 0x08: return "MEDIA_CHANGER";
	case 0x09: return "COMMUNICATIONS";
	case 0x0c: return "STORAGE_ARRAY_CONTROLLER";
	case 0x0d: return "ENCLOSURE_SERVICES";
	case 0x0e: return "SIMPLIFIED_DIRECT_ACCESS";
	case 0x0f: return "OPTICAL_CARD_READER";
	case 0x10: return "BRIDGE_CONTROLLER";
	case 0x11: return "OSD";
	case 0x12: return "AUTOMATION";
	case 0x13: return "SEQURITY_MANAGER";
	case 0x1e: return "WELL_KNOWN_LUN";
	case 0x1f: return "UNKNOWN";
	default: return "unknown";
	}
}

/* SAM-5 5.3.1 table 30, status codes. */
const char *isc_scsi_status_name(uint8_t status)
{
	switch (status) {
	case ISC_SCSI_GOOD: return "GOOD";
	case ISC_SCSI_CHECK_CONDITION: return "CHECK CONDITION";
	case ISC_SCSI_CONDITION_MET: return "CONDITION MET";
	case ISC_SCSI_BUSY: return "BUSY";
	case 0x10: return "INTERMEDIATE";
	case 0x14: return "INTERMEDIATE-CONDITION MET";
	case ISC_SCSI_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
	case 0x22: return "COMMAND TERMINATED";
	case ISC_SCSI_TASK_SET_FULL: return "TASK SET FULL";
	case ISC_SCSI_ACA_ACTIVE: return "ACA ACTIVE";
	case ISC_SCSI_TASK_ABORTED: return "TASK ABORTED";
	default: return "UNKNOWN";
	}
}

/* ---------------------------------------------------------------- result */

/* The task result (include/isc/iscsi.h) is heap-allocated by the session
 * layer together with its data-in buffer; both are released here. */
void isc_scsi_result_free(struct isc_scsi_result *r)
{
	if (!r)
		return;
	if (!r->data_borrowed)
		free(r->data);
	free(r);
}
