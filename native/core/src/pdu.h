/*
 * iSCSI PDU codec: the 48-byte Basic Header Segment, Additional Header
 * Segments, data segment padding and CRC32C digests (RFC 7143 section 11).
 *
 * Pure code: no sockets. Two halves:
 *  - isc_pdu_parse(): a pure function over a byte buffer that validates one
 *    complete PDU and returns a view into the buffer (used by the receiver
 *    and by the fuzzer);
 *  - isc_rx: an incremental receiver that accumulates bytes from a stream
 *    and yields complete, digest-checked PDUs;
 *  - isc_pdu_build(): lays out BHS + AHS + data + padding + digests into one
 *    contiguous buffer ready for write().
 */
#ifndef ISC_PDU_H
#define ISC_PDU_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define ISC_BHS_LEN 48
#define ISC_DIGEST_LEN 4
/* RFC 7143: DataSegmentLength is 24 bits; we never accept more than this
 * on receive regardless of negotiation (16 MiB - 1). */
#define ISC_MAX_DSL 0xFFFFFFu

/* Opcodes (RFC 7143 section 11.2.1.2) */
enum isc_opcode {
	ISC_OP_NOP_OUT = 0x00,
	ISC_OP_SCSI_CMD = 0x01,
	ISC_OP_TMF_REQ = 0x02,
	ISC_OP_LOGIN_REQ = 0x03,
	ISC_OP_TEXT_REQ = 0x04,
	ISC_OP_DATA_OUT = 0x05,
	ISC_OP_LOGOUT_REQ = 0x06,
	ISC_OP_SNACK_REQ = 0x10,
	ISC_OP_NOP_IN = 0x20,
	ISC_OP_SCSI_RSP = 0x21,
	ISC_OP_TMF_RSP = 0x22,
	ISC_OP_LOGIN_RSP = 0x23,
	ISC_OP_TEXT_RSP = 0x24,
	ISC_OP_DATA_IN = 0x25,
	ISC_OP_LOGOUT_RSP = 0x26,
	ISC_OP_R2T = 0x31,
	ISC_OP_ASYNC_MSG = 0x32,
	ISC_OP_REJECT = 0x3f
};

/* Byte 0 */
#define ISC_BHS_IMMEDIATE 0x40
#define ISC_BHS_OPCODE_MASK 0x3f
/* Byte 1 flags */
#define ISC_FLAG_FINAL 0x80
#define ISC_FLAG_CONTINUE 0x40   /* login/text C bit */
#define ISC_FLAG_TRANSIT 0x80    /* login T bit */
#define ISC_FLAG_READ 0x40       /* SCSI cmd R */
#define ISC_FLAG_WRITE 0x20      /* SCSI cmd W */
#define ISC_FLAG_ATTR_SIMPLE 0x01
#define ISC_FLAG_DATAIN_ACK 0x40
#define ISC_FLAG_DATAIN_STATUS 0x01
#define ISC_FLAG_RSP_BIDI_OVERFLOW 0x10
#define ISC_FLAG_RSP_BIDI_UNDERFLOW 0x08
#define ISC_FLAG_OVERFLOW 0x04   /* SCSI rsp / Data-In O */
#define ISC_FLAG_UNDERFLOW 0x02  /* SCSI rsp / Data-In U */
/* Login byte 1: T C . . CSG(2) NSG(2) */
#define ISC_LOGIN_CSG(flags) (((flags) >> 2) & 3)
#define ISC_LOGIN_NSG(flags) ((flags) & 3)
enum isc_login_stage {
	ISC_STAGE_SECURITY = 0,
	ISC_STAGE_OPERATIONAL = 1,
	ISC_STAGE_FULL_FEATURE = 3
};

/* Field offsets inside the BHS (all big-endian) */
#define ISC_OFF_TOTAL_AHS 4       /* 1 byte, in 4-byte words */
#define ISC_OFF_DSL 5             /* 3 bytes */
#define ISC_OFF_LUN 8             /* 8 bytes */
#define ISC_OFF_ISID 8            /* login: 6 bytes */
#define ISC_OFF_TSIH 14           /* login: 2 bytes */
#define ISC_OFF_ITT 16
#define ISC_OFF_TTT 20            /* text/nop/data-out/data-in/r2t */
#define ISC_OFF_CID 20            /* login req / logout req: 2 bytes */
#define ISC_OFF_EDTL 20           /* SCSI cmd expected data transfer length */
#define ISC_OFF_CMDSN 24          /* initiator PDUs */
#define ISC_OFF_EXPSTATSN 28      /* initiator PDUs */
#define ISC_OFF_CDB 32            /* SCSI cmd: 16 bytes */
#define ISC_OFF_STATSN 24         /* target PDUs */
#define ISC_OFF_EXPCMDSN 28       /* target PDUs */
#define ISC_OFF_MAXCMDSN 32       /* target PDUs */
#define ISC_OFF_DATASN 36         /* data-in/data-out; R2TSN in R2T */
#define ISC_OFF_BUFOFF 40         /* data-in/data-out/r2t buffer offset */
#define ISC_OFF_RESIDUAL 44       /* scsi rsp / data-in residual; R2T desired length */
#define ISC_OFF_BIDI_RESIDUAL 40  /* scsi rsp */
#define ISC_OFF_EXPDATASN 36      /* scsi rsp */
#define ISC_OFF_LOGIN_VMAX 2      /* login req: version-max, rsp: version-max */
#define ISC_OFF_LOGIN_VMIN 3      /* login req: version-min, rsp: version-active */
#define ISC_OFF_LOGIN_CLASS 36    /* login rsp status-class */
#define ISC_OFF_LOGIN_DETAIL 37   /* login rsp status-detail */
#define ISC_OFF_RSP_RESPONSE 2    /* scsi rsp / logout rsp response byte */
#define ISC_OFF_RSP_STATUS 3      /* scsi rsp / data-in status byte */
#define ISC_OFF_REJECT_REASON 2
#define ISC_OFF_LOGOUT_T2W 40
#define ISC_OFF_LOGOUT_T2R 42
#define ISC_OFF_ASYNC_EVENT 36
#define ISC_OFF_ASYNC_VCODE 37
#define ISC_OFF_ASYNC_PARAM1 38
#define ISC_OFF_ASYNC_PARAM2 40
#define ISC_OFF_ASYNC_PARAM3 42

#define ISC_RESERVED_TAG 0xffffffffu

/* A parsed PDU. Pointers refer into the buffer that was parsed (or the
 * receiver's internal buffer, valid until the next isc_rx_* call). */
/* Bytes of padding after a data segment of n bytes (RFC 7143 11.1). */
static inline size_t isc_pad4(size_t n)
{
	return (4u - (n & 3u)) & 3u;
}

struct isc_pdu {
	const uint8_t *bhs;       /* ISC_BHS_LEN bytes */
	const uint8_t *ahs;       /* ahs_len bytes, NULL when none */
	size_t ahs_len;           /* TotalAHSLength * 4 */
	const uint8_t *data;      /* data_len bytes (no padding), NULL when none */
	size_t data_len;          /* DataSegmentLength */
};

static inline uint8_t isc_pdu_opcode(const struct isc_pdu *p)
{
	return p->bhs[0] & ISC_BHS_OPCODE_MASK;
}
static inline uint8_t isc_pdu_flags(const struct isc_pdu *p)
{
	return p->bhs[1];
}
static inline uint32_t isc_pdu_u32(const struct isc_pdu *p, size_t off)
{
	return isc_get_be32(p->bhs + off);
}
static inline uint16_t isc_pdu_u16(const struct isc_pdu *p, size_t off)
{
	return isc_get_be16(p->bhs + off);
}

/* Digest settings of a connection. */
struct isc_digests {
	int header; /* 1 = CRC32C header digest in use */
	int data;   /* 1 = CRC32C data digest in use */
};

/*
 * Parse one complete PDU at the start of buf.
 * Returns the number of bytes the PDU occupies (> 0) and fills *out,
 *   0 when buf holds fewer bytes than the complete PDU (need more),
 *   ISC_ERR_DIGEST when a digest does not match,
 *   ISC_ERR_TOO_LARGE when DataSegmentLength > max_data_len,
 *   ISC_ERR_PROTOCOL when the header is malformed (unknown target opcode
 *   when `from_target` is set, etc).
 * `max_data_len` is our MaxRecvDataSegmentLength (or a login-phase cap).
 */
long isc_pdu_parse(const uint8_t *buf, size_t len, const struct isc_digests *dg,
		   size_t max_data_len, int from_target, struct isc_pdu *out);

/* Total on-wire size of a PDU with these lengths and digests. */
size_t isc_pdu_wire_size(size_t ahs_len, size_t data_len, const struct isc_digests *dg);

/*
 * Lay out a PDU: copies bhs (48 bytes; DSL and TotalAHSLength are filled in
 * from ahs_len/data_len), ahs (length must be a multiple of 4), data, zero
 * padding to 4 bytes, and digests per dg into out, which must have room for
 * isc_pdu_wire_size() bytes. Returns the number of bytes written.
 */
size_t isc_pdu_build(uint8_t *out, const uint8_t bhs[ISC_BHS_LEN], const uint8_t *ahs,
		     size_t ahs_len, const uint8_t *data, size_t data_len,
		     const struct isc_digests *dg);

/* Incremental receiver for a byte stream. */
struct isc_rx {
	uint8_t *buf;          /* accumulated bytes */
	size_t len;            /* bytes held */
	size_t cap;            /* allocated */
	size_t consumed;       /* bytes of the last PDU returned, dropped on next call */
	size_t max_data_len;   /* receive limit for DataSegmentLength */
	struct isc_digests dg;
	int no_scrub;          /* 1 after login: consumed bytes are SCSI data, not
	                          CHAP material, and need not be zeroed */
};

void isc_rx_init(struct isc_rx *rx, size_t max_data_len);
void isc_rx_free(struct isc_rx *rx);
/* Ensures room for at least `want` more bytes and returns where to read()
 * them to; *room gets the space available. NULL on ENOMEM. */
uint8_t *isc_rx_space(struct isc_rx *rx, size_t want, size_t *room);
/* Tell the receiver n bytes were written at isc_rx_space(). */
void isc_rx_commit(struct isc_rx *rx, size_t n);
/* Next complete PDU: 1 and *out filled, 0 when more bytes are needed, or a
 * negative isc_err (the stream is then unusable). *out stays valid until the
 * next isc_rx_next/isc_rx_space call. */
int isc_rx_next(struct isc_rx *rx, struct isc_pdu *out);

/* Name of an opcode for logs ("Login Response"...). */
const char *isc_opcode_name(uint8_t opcode);
/* One-line description of a PDU for PDU tracing: opcode, flags, ITT, SNs,
 * lengths. Never includes the data segment (which may carry CHAP values). */
void isc_pdu_describe(const uint8_t bhs[ISC_BHS_LEN], char *out, size_t outlen);

#endif
