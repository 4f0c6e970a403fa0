/*
 * iSCSI Boot Firmware Table (iBFT) parser.
 *
 * Two layers, like libnvme's NBFT code (src/nvme/nbft.h):
 *  1. Packed structures that mirror the iBFT 1.03 layout byte for byte
 *     (all integers little-endian; offsets counted from the first byte of
 *     the table). They document the layout and let tests build tables; the
 *     parser never casts the input buffer to them, it reads fields at their
 *     offsetof() with explicit little-endian loads, so an unaligned or short
 *     buffer is never dereferenced through a struct.
 *  2. A parsed view (struct isc_ibft) that owns every string and has the
 *     NIC association of each target resolved to an array index.
 *
 * Layout sources: Linux include/acpi/actbl1.h (struct acpi_table_ibft and
 * friends) and drivers/firmware/iscsi_ibft.c; iPXE src/include/ipxe/ibft.h.
 * Facts only; see docs/ibft.md for the field-by-field description.
 *
 * isc_ibft_parse() is a pure function over bytes: it checks the signature
 * ("iBFT", "IBFT" or Broadcom's "BIFT"), revision 1, the byte checksum,
 * every structure header (id, version 1, length >= spec size and inside the
 * table, index), every string (offset + length inside the table, computed
 * without overflow), every flags byte (0 = invalid block) and every
 * target's NIC association. Any violation fails the whole table with a
 * message in err that names the field ("target1.chap_name: ..."); messages
 * never contain string contents, so secrets cannot leak through them.
 */
#ifndef ISC_IBFT_H
#define ISC_IBFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------
 * Layer 1: raw packed structures (iBFT 1.03; Linux actbl1.h)
 * ------------------------------------------------------------------- */

#define ISC_IBFT_REVISION 1
#define ISC_IBFT_STRUCT_VERSION 1

enum isc_ibft_struct_id {
	ISC_IBFT_ID_RESERVED = 0,
	ISC_IBFT_ID_CONTROL = 1,
	ISC_IBFT_ID_INITIATOR = 2,
	ISC_IBFT_ID_NIC = 3,
	ISC_IBFT_ID_TARGET = 4,
	ISC_IBFT_ID_EXTENSIONS = 5,
};

/* Flag bits (iPXE ibft.h IBFT_FL_*). Bit 0 is "block valid" everywhere. */
#define ISC_IBFT_FL_CONTROL_SINGLE_LOGIN 0x01
#define ISC_IBFT_FL_VALID 0x01
#define ISC_IBFT_FL_BOOT_SELECTED 0x02
#define ISC_IBFT_FL_NIC_GLOBAL 0x04
#define ISC_IBFT_FL_TARGET_RADIUS_CHAP 0x04
#define ISC_IBFT_FL_TARGET_RADIUS_RCHAP 0x08

enum isc_ibft_chap_type {
	ISC_IBFT_CHAP_NONE = 0,
	ISC_IBFT_CHAP_ONE_WAY = 1,
	ISC_IBFT_CHAP_MUTUAL = 2,
};

/* NIC origin: NL_PREFIX_ORIGIN values. "Unchanged" is 0x0f in iPXE and
 * u-root but 16 in open-iscsi's fw_context.h: both are accepted. */
enum isc_ibft_origin {
	ISC_IBFT_ORIGIN_OTHER = 0,
	ISC_IBFT_ORIGIN_MANUAL = 1,
	ISC_IBFT_ORIGIN_WELL_KNOWN = 2,
	ISC_IBFT_ORIGIN_DHCP = 3,
	ISC_IBFT_ORIGIN_ROUTER_ADV = 4,
	ISC_IBFT_ORIGIN_UNCHANGED = 15,
	ISC_IBFT_ORIGIN_UNCHANGED_OISCSI = 16,
};

/* A heap string: length excludes the NUL writers append; 0/0 = absent. */
struct __attribute__((packed)) isc_ibft_raw_string {
	uint16_t length;
	uint16_t offset;
};

/* ACPI SDT header (36 bytes) + 12 reserved bytes. */
struct __attribute__((packed)) isc_ibft_raw_table_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t asl_compiler_id;
	uint32_t asl_compiler_revision;
	uint8_t reserved[12];
};

struct __attribute__((packed)) isc_ibft_raw_header {
	uint8_t id;
	uint8_t version;
	uint16_t length;
	uint8_t index;
	uint8_t flags;
};

/* The control structure; iPXE grows the pair array past two pairs when it
 * has more targets, so length may exceed sizeof(): the extra u16 slots are
 * further NIC/target offset pairs. */
struct __attribute__((packed)) isc_ibft_raw_control {
	struct isc_ibft_raw_header hdr;
	uint16_t extensions_offset;
	uint16_t initiator_offset;
	uint16_t nic0_offset;
	uint16_t target0_offset;
	uint16_t nic1_offset;
	uint16_t target1_offset;
};

struct __attribute__((packed)) isc_ibft_raw_initiator {
	struct isc_ibft_raw_header hdr;
	uint8_t isns_server[16];
	uint8_t slp_server[16];
	uint8_t pri_radius_server[16];
	uint8_t sec_radius_server[16];
	struct isc_ibft_raw_string name;
};

struct __attribute__((packed)) isc_ibft_raw_nic {
	struct isc_ibft_raw_header hdr;
	uint8_t ip_addr[16];
	uint8_t prefix_len;
	uint8_t origin;
	uint8_t gateway[16];
	uint8_t primary_dns[16];
	uint8_t secondary_dns[16];
	uint8_t dhcp_server[16];
	uint16_t vlan;
	uint8_t mac[6];
	uint16_t pci_bdf; /* bus << 8 | device << 3 | function */
	struct isc_ibft_raw_string hostname;
};

struct __attribute__((packed)) isc_ibft_raw_target {
	struct isc_ibft_raw_header hdr;
	uint8_t ip_addr[16];
	uint16_t port;
	uint8_t lun[8]; /* SAM LUN, first byte first */
	uint8_t chap_type;
	uint8_t nic_assoc;
	struct isc_ibft_raw_string target_name;
	struct isc_ibft_raw_string chap_name;
	struct isc_ibft_raw_string chap_secret;
	struct isc_ibft_raw_string rev_chap_name;
	struct isc_ibft_raw_string rev_chap_secret;
};

#define ISC_IBFT_TABLE_HEADER_LEN 48
#define ISC_IBFT_CONTROL_LEN 18
#define ISC_IBFT_INITIATOR_LEN 74
#define ISC_IBFT_NIC_LEN 102
#define ISC_IBFT_TARGET_LEN 54

/* The ACPI "length" field is a u32, but no firmware table is anywhere near
 * this; larger claims are refused before any allocation. */
#define ISC_IBFT_MAX_LEN (1u << 20)

/* ---------------------------------------------------------------------
 * Layer 2: the parsed view
 * ------------------------------------------------------------------- */

/* A 16-byte iBFT address. All-zero and ::ffff:0.0.0.0 mean "absent" (Linux
 * address_not_null()). IPv4-mapped addresses are IPv4 (dotted text). */
struct isc_ibft_ip {
	bool present;
	uint8_t family; /* 4 or 6 when present, else 0 */
	uint8_t raw[16];
	char text[46]; /* "10.0.2.15" / inet_ntop IPv6; "" when absent */
};

struct isc_ibft_initiator {
	bool present;
	uint16_t offset;
	uint8_t version;
	uint16_t length;
	uint8_t index;
	uint8_t flags;
	struct isc_ibft_ip isns_server;
	struct isc_ibft_ip slp_server;
	struct isc_ibft_ip pri_radius_server;
	struct isc_ibft_ip sec_radius_server;
	char *name; /* NULL when absent */
};

struct isc_ibft_nic {
	uint16_t offset;
	uint8_t version;
	uint16_t length;
	uint8_t index;
	uint8_t flags;
	struct isc_ibft_ip ip;
	uint8_t prefix_len;
	char subnet_mask[16]; /* IPv4 mask from prefix_len like Linux; "" when 0 */
	uint8_t origin;
	struct isc_ibft_ip gateway;
	struct isc_ibft_ip primary_dns;
	struct isc_ibft_ip secondary_dns;
	struct isc_ibft_ip dhcp_server;
	uint16_t vlan;
	uint8_t mac[6];
	char mac_text[18]; /* lowercase "52:54:00:12:34:56" */
	uint16_t pci_bdf;
	char *hostname; /* NULL when absent */
};

struct isc_ibft_target {
	uint16_t offset;
	uint8_t version;
	uint16_t length;
	uint8_t index;
	uint8_t flags;
	struct isc_ibft_ip ip;
	uint16_t port; /* as stored; 0 means "use 3260" to consumers */
	uint8_t lun_raw[8];
	int64_t lun; /* isc_lun_decode() of lun_raw; -1 = not a simple LUN */
	char lun_sysfs[17]; /* Linux sysfs text: each byte "%x", no padding */
	uint8_t chap_type;
	uint8_t nic_assoc;
	size_t nic; /* index into isc_ibft.nics of the associated NIC */
	char *target_name;
	char *chap_name;
	char *chap_secret;     /* zeroed by isc_ibft_free */
	char *rev_chap_name;
	char *rev_chap_secret; /* zeroed by isc_ibft_free */
};

/* One control-structure slot pair; 0 = empty slot. */
struct isc_ibft_pair {
	uint16_t nic_offset;
	uint16_t target_offset;
};

struct isc_ibft {
	char signature[5];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[7];       /* up to the first NUL, like Linux sysfs */
	char oem_table_id[9]; /* up to the first NUL */
	uint32_t oem_revision;
	uint32_t asl_compiler_id;
	uint32_t asl_compiler_revision;

	uint8_t control_version;
	uint16_t control_length;
	uint8_t control_flags;
	uint16_t extensions_offset;
	size_t pair_count;
	struct isc_ibft_pair *pairs;

	struct isc_ibft_initiator initiator;
	size_t nic_count; /* in control-slot order */
	struct isc_ibft_nic *nics;
	size_t target_count; /* in control-slot order */
	struct isc_ibft_target *targets;
};

/* Parse buf[0..len). len may exceed the table's own length (trailing bytes
 * are ignored, as when a whole memory window is read); it may not be
 * shorter. Returns 0 and a new *out (free with isc_ibft_free), or
 * ISC_ERR_PROTOCOL (malformed table), ISC_ERR_UNSUPPORTED (revision != 1),
 * ISC_ERR_INVAL (NULL arguments) or ISC_ERR_NOMEM. On failure *out is NULL
 * and err (if errlen > 0) holds a NUL-terminated message naming the field. */
int isc_ibft_parse(const uint8_t *buf, size_t len, struct isc_ibft **out, char *err,
		   size_t errlen);

/* Frees a parsed table, zeroing the CHAP secrets first. NULL is a no-op. */
void isc_ibft_free(struct isc_ibft *t);

/* The first NIC / target whose flags have ISC_IBFT_FL_BOOT_SELECTED, as
 * open-iscsi's fw_get_entry() picks them; NULL when none. */
const struct isc_ibft_nic *isc_ibft_boot_nic(const struct isc_ibft *t);
const struct isc_ibft_target *isc_ibft_boot_target(const struct isc_ibft *t);

#ifdef __cplusplus
}
#endif
#endif
