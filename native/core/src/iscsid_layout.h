/*
 * node_rec_t layouts of open-iscsi releases (internal contract between
 * iscsid_layout.c and iscsid_codec.c). The table itself is generated from
 * pahole dumps by scripts/gen-iscsid-layouts.py into iscsid_layouts.inc.
 */
#ifndef ISC_ISCSID_LAYOUT_H
#define ISC_ISCSID_LAYOUT_H

#include <stddef.h>

#include "isc/iscsid.h"
#include "iscsid_layouts_fields.inc"

enum isc_rec_field {
#define ISC_RF_ENUM(name) ISC_RF_##name,
	ISC_REC_FIELD_LIST(ISC_RF_ENUM)
#undef ISC_RF_ENUM
	ISC_RF__COUNT
};

struct isc_rec_field_pos {
	int offset;   /* from the start of node_rec_t; -1 = not in this release */
	int size;     /* bytes (array size for strings) */
};

struct isc_rec_layout {
	const char *versions;
	size_t request_size;
	/* discovery_type_e lost its SLP member after 2.1.11 (open-iscsi 290d16d):
	 * "static" is 4 up to 2.1.11 and 3 afterwards. */
	int disc_type_has_slp;
	/* 2.0.875/2.0.876 have the same request size as 2.0.877-2.1.0 but their
	 * iface tail (hwaddress, transport_name, iname) sits 4 bytes earlier
	 * (iface.prefix_len, open-iscsi eb4fc98). For this size the encoder
	 * writes transport_name at both places (each copy lands in bytes the
	 * other layout ignores) and refuses hwaddress/iname bindings. */
	int alt_transport_offset;  /* 0 = none */
	struct isc_rec_field_pos fields[ISC_RF__COUNT];
};

/* node_rec_t starts here in iscsiadm_req_t: command (4), payload_len (4),
 * then union { struct { int sid; node_rec_t rec; } } with rec 8-aligned. */
#define ISC_REQ_REC_OFFSET 16
#define ISC_REQ_SID_OFFSET 8

#endif
