/*
 * libFuzzer target: every SCSI response parser of src/scsi.c over the same
 * input (INQUIRY, VPD 0x80/0x00, READ CAPACITY 10/16, REPORT LUNS, sense)
 * plus the LUN codec on the first 8 bytes. Parsers must never read past
 * len; outputs are checked for the invariants the header promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "isc/scsi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copy into an exact-size heap buffer so ASan catches any over-read. */
	uint8_t *buf = malloc(size ? size : 1);
	struct isc_inquiry q;
	struct isc_capacity c;
	struct isc_sense s;
	char serial[32];
	uint8_t pages[8];
	uint64_t luns[4];
	size_t count, total;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);

	if (isc_parse_inquiry(buf, size, &q) == 0) {
		if (q.version_descriptor_count > 8 || strlen(q.vendor) > 8 ||
		    strlen(q.product) > 16 || strlen(q.revision) > 4)
			abort();
		(void)isc_device_type_name(q.device_type);
	}
	if (isc_parse_vpd_serial(buf, size, serial, sizeof(serial)) == 0 &&
	    strlen(serial) >= sizeof(serial))
		abort();
	if (isc_parse_vpd_pages(buf, size, pages, sizeof(pages), &count) == 0 &&
	    count > sizeof(pages))
		abort();
	(void)isc_parse_read_capacity10(buf, size, &c);
	(void)isc_parse_read_capacity16(buf, size, &c);
	if (isc_parse_report_luns(buf, size, luns, 4, &count, &total) == 0) {
		if (count > 4 || count > total || (size >= 8 && 8 + count * 8 > size))
			abort();
		for (size_t i = 0; i < count; i++)
			(void)isc_lun_decode(luns[i]);
	}
	if (isc_parse_sense(buf, size, &s) == 0)
		(void)isc_sense_key_name(s.sense_key);
	if (size >= 8) {
		int64_t l = isc_lun_decode(isc_get_be64(buf));
		if (l >= 0 && (l > 16383 || isc_lun_decode(isc_lun_encode((uint32_t)l)) != l))
			abort();
	}
	if (size >= 1)
		(void)isc_scsi_status_name(buf[0]);
	free(buf);
	return 0;
}
