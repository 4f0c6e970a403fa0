/*
 * A small SCSI layer: pure CDB builders and response parsers (SPC-4/SBC-3).
 * No transport, no allocation: every parser is a pure function over bytes
 * that validates lengths and returns 0 or ISC_ERR_PROTOCOL.
 */
#ifndef ISC_SCSI_H
#define ISC_SCSI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_CDB_MAX 16

enum isc_scsi_status {
	ISC_SCSI_GOOD = 0x00,
	ISC_SCSI_CHECK_CONDITION = 0x02,
	ISC_SCSI_CONDITION_MET = 0x04,
	ISC_SCSI_BUSY = 0x08,
	ISC_SCSI_RESERVATION_CONFLICT = 0x18,
	ISC_SCSI_TASK_SET_FULL = 0x28,
	ISC_SCSI_ACA_ACTIVE = 0x30,
	ISC_SCSI_TASK_ABORTED = 0x40
};

/* ---- CDB builders: fill cdb (ISC_CDB_MAX bytes, zeroed first) and return
 * the CDB length, or 0 on an argument that cannot be encoded. ---- */
size_t isc_cdb_test_unit_ready(uint8_t cdb[ISC_CDB_MAX]);
size_t isc_cdb_inquiry(uint8_t cdb[ISC_CDB_MAX], int evpd, uint8_t page, uint16_t alloc_len);
size_t isc_cdb_read_capacity10(uint8_t cdb[ISC_CDB_MAX]);
size_t isc_cdb_read_capacity16(uint8_t cdb[ISC_CDB_MAX], uint32_t alloc_len);
size_t isc_cdb_report_luns(uint8_t cdb[ISC_CDB_MAX], uint8_t select_report, uint32_t alloc_len);
size_t isc_cdb_read10(uint8_t cdb[ISC_CDB_MAX], uint32_t lba, uint16_t blocks);
size_t isc_cdb_read16(uint8_t cdb[ISC_CDB_MAX], uint64_t lba, uint32_t blocks);
size_t isc_cdb_write10(uint8_t cdb[ISC_CDB_MAX], uint32_t lba, uint16_t blocks);
size_t isc_cdb_write16(uint8_t cdb[ISC_CDB_MAX], uint64_t lba, uint32_t blocks);
size_t isc_cdb_synchronize_cache10(uint8_t cdb[ISC_CDB_MAX]);

/* ---- Standard INQUIRY data (SPC-4 6.6.2) ---- */
struct isc_inquiry {
	uint8_t peripheral_qualifier;  /* 0..7 */
	uint8_t device_type;           /* 0 = direct access ... */
	uint8_t removable;
	uint8_t version;
	uint8_t normaca, hisup, response_data_format;
	uint8_t additional_length;
	uint8_t sccs, acc, tpgs, threepc, protect;
	uint8_t encserv, multip, cmdque;
	char vendor[9];                /* trailing spaces kept, NUL-terminated */
	char product[17];
	char revision[5];
	uint16_t version_descriptors[8];
	size_t version_descriptor_count;
};
/* Needs at least 36 bytes (the fixed part); fewer -> ISC_ERR_PROTOCOL. */
int isc_parse_inquiry(const uint8_t *buf, size_t len, struct isc_inquiry *out);

/* VPD 0x80 Unit Serial Number: copies the serial (NUL-terminated, truncated
 * to cap-1). VPD 0x00 supported pages: page list into pages[]. */
int isc_parse_vpd_serial(const uint8_t *buf, size_t len, char *out, size_t cap);
int isc_parse_vpd_pages(const uint8_t *buf, size_t len, uint8_t *pages, size_t cap,
			size_t *count);

/* ---- READ CAPACITY (SBC-3 5.16 / 5.15) ---- */
struct isc_capacity {
	uint64_t last_lba;             /* RETURNED LOGICAL BLOCK ADDRESS */
	uint32_t block_length;
	uint8_t p_type, prot_en, p_i_exponent;
	uint8_t lbppbe;                /* logical blocks per physical block exponent */
	uint8_t lbpme, lbprz;
	uint16_t lowest_aligned_lba;
};
int isc_parse_read_capacity10(const uint8_t *buf, size_t len, struct isc_capacity *out);
int isc_parse_read_capacity16(const uint8_t *buf, size_t len, struct isc_capacity *out);

/* ---- REPORT LUNS (SPC-4 6.33) ----
 * Copies up to cap 8-byte LUN entries as raw 64-bit big-endian values;
 * *count gets the number copied and *total the number the target has (from
 * LUN LIST LENGTH, may exceed what buf holds: re-issue with a larger
 * allocation). */
int isc_parse_report_luns(const uint8_t *buf, size_t len, uint64_t *luns, size_t cap,
			  size_t *count, size_t *total);
/* SAM-5 LUN encoding. isc_lun_encode: peripheral (lun < 256) or flat
 * (lun < 16384) addressing. isc_lun_decode: the LUN number for peripheral
 * and flat formats, -1 for formats we do not decode (extended, multi-level). */
uint64_t isc_lun_encode(uint32_t lun);
int64_t isc_lun_decode(uint64_t raw);

/* ---- Sense data (SPC-4 4.5): fixed (0x70/0x71) and descriptor (0x72/0x73) ---- */
struct isc_sense {
	uint8_t response_code;
	uint8_t sense_key;
	uint8_t asc;
	uint8_t ascq;
	uint8_t info_valid;
	uint64_t information;
};
/* buf is sense data without the 2-byte iSCSI SenseLength prefix. */
int isc_parse_sense(const uint8_t *buf, size_t len, struct isc_sense *out);

const char *isc_sense_key_name(uint8_t key);       /* "NOT READY", ... */
const char *isc_device_type_name(uint8_t type);    /* "DIRECT_ACCESS", ... (iscsi-ls spelling) */
const char *isc_scsi_status_name(uint8_t status);  /* "GOOD", "CHECK CONDITION", ... */

#ifdef __cplusplus
}
#endif
#endif
