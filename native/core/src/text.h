/*
 * iSCSI text key=value codec (RFC 7143 sections 6 and 11.10-11.13).
 *
 * The data segment of Login and Text PDUs is a sequence of
 * "key=value\0" pairs. A long text may span several PDUs: each but the last
 * carries the Continue (C) bit, and a pair can be split across PDUs, so the
 * receiver accumulates data segments (isc_text_accum) and parses once the
 * final piece arrived. The sender splits its text into pieces of at most the
 * peer's MaxRecvDataSegmentLength (isc_text_chunk).
 *
 * Limits (RFC 7143 section 6.1): key names <= 63 bytes of [A-Za-z0-9.-+@_]
 * characters; values <= 255 bytes except where the key allows more, and never
 * more than 8192 bytes (ISC_TEXT_MAX_VALUE), the cap we apply to every value.
 */
#ifndef ISC_TEXT_H
#define ISC_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define ISC_TEXT_MAX_KEY 63
#define ISC_TEXT_MAX_VALUE 8192
/* Upper bound on one accumulated text (all continuation PDUs together);
 * protects against a target streaming forever. 600 targets with two portals
 * each are well under 1 MiB. */
#define ISC_TEXT_MAX_TOTAL (4u * 1024u * 1024u)

struct isc_kv {
	const char *key;   /* NUL-terminated, points into the parsed buffer */
	const char *value; /* NUL-terminated */
	size_t value_len;
};

struct isc_kv_list {
	struct isc_kv *items;
	size_t count;
	size_t cap;
	char *storage;     /* owned copy of the text the pointers refer to */
};

void isc_kv_list_init(struct isc_kv_list *l);
/* Frees the list; zeroes storage first (it may hold CHAP values). */
void isc_kv_list_free(struct isc_kv_list *l);
/* First value for key or NULL. */
const char *isc_kv_get(const struct isc_kv_list *l, const char *key);

/*
 * Parse a complete text (concatenated data segments). Every pair must end
 * in NUL; a trailing run of NUL padding is tolerated; empty pairs are
 * rejected. Key syntax and the length limits are checked. Returns 0 or
 * ISC_ERR_PROTOCOL / ISC_ERR_TOO_LARGE / ISC_ERR_NOMEM. On error the list is
 * left empty. The list owns a copy of the text.
 */
int isc_text_parse(const uint8_t *buf, size_t len, struct isc_kv_list *out);

/* Accumulates data segments of a multi-PDU text. */
struct isc_text_accum {
	uint8_t *buf;
	size_t len;
	size_t cap;
};
void isc_text_accum_init(struct isc_text_accum *a);
void isc_text_accum_reset(struct isc_text_accum *a); /* zeroes and empties */
void isc_text_accum_free(struct isc_text_accum *a);
/* Append one PDU's data segment. ISC_ERR_TOO_LARGE past ISC_TEXT_MAX_TOTAL. */
int isc_text_accum_add(struct isc_text_accum *a, const uint8_t *data, size_t len);

/* Builder for outgoing text. */
struct isc_text_builder {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int error; /* sticky: first error of an add */
};
void isc_text_builder_init(struct isc_text_builder *b);
void isc_text_builder_free(struct isc_text_builder *b); /* zeroes first */
void isc_text_builder_reset(struct isc_text_builder *b);
/* Appends "key=value\0". Checks key syntax and value length; on error
 * records it in b->error and returns it. */
int isc_text_add(struct isc_text_builder *b, const char *key, const char *value);
int isc_text_addf(struct isc_text_builder *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Splitting for send: given a text of total length len and the peer's
 * MaxRecvDataSegmentLength, the piece starting at *offset has length
 * isc_text_chunk_len() and the Continue bit set unless it is the last.
 */
size_t isc_text_chunk_len(size_t len, size_t offset, size_t max_seg);

/* RFC 7143 section 6.1 numerical value: decimal-constant or hex-constant
 * ("0x"/"0X" + hex digits); no sign, spaces or suffix. Values above max are
 * refused, never wrapped. Returns 0 and *out, or -1. */
int isc_text_number(const char *s, uint32_t max, uint32_t *out);

/* True when `key` is syntactically a valid iSCSI key name. */
int isc_text_key_valid(const char *key, size_t len);

#endif
