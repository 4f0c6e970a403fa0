/*
 * iSCSI PDU codec (RFC 7143 section 11): BHS + AHS + header digest + data
 * segment + padding + data digest, and an incremental stream receiver.
 *
 * Size arithmetic never overflows, even with a 32-bit size_t: TotalAHSLength
 * is one byte (<= 1020 bytes of AHS) and DataSegmentLength three bytes
 * (< 16 MiB), so a whole PDU is below 2^25 bytes. Caller-supplied lengths
 * in the build path are checked against those same field limits first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "isc/errors.h"
#include "pdu.h"

#define ISC_MAX_AHS_LEN (255u * 4u) /* TotalAHSLength is 1 byte, in words */

static int opcode_is_target(uint8_t op)
{
	switch (op) {
	case ISC_OP_NOP_IN:
	case ISC_OP_SCSI_RSP:
	case ISC_OP_TMF_RSP:
	case ISC_OP_LOGIN_RSP:
	case ISC_OP_TEXT_RSP:
	case ISC_OP_DATA_IN:
	case ISC_OP_LOGOUT_RSP:
	case ISC_OP_R2T:
	case ISC_OP_ASYNC_MSG:
	case ISC_OP_REJECT:
		return 1;
	default:
		return 0;
	}
}

/* Digest over a run of bytes compared with the 4 wire bytes that follow. */
static int digest_ok(const uint8_t *p, size_t n, const uint8_t *wire)
{
	return isc_crc32c(p, n) == isc_crc32c_get(wire);
}

long isc_pdu_parse(const uint8_t *buf, size_t len, const struct isc_digests *dg,
		   size_t max_data_len, int from_target, struct isc_pdu *out)
{
	int hd = dg && dg->header, dd = dg && dg->data;
	size_t ahs_len, hlen, dsl, total;
	uint8_t op;

	if (!buf || len < ISC_BHS_LEN)
		return 0;
	ahs_len = (size_t)buf[ISC_OFF_TOTAL_AHS] * 4u;
	hlen = ISC_BHS_LEN + ahs_len + (hd ? ISC_DIGEST_LEN : 0);
	/* Validate the header as soon as it is complete, before waiting for
	 * (or making room for) the data segment: the receiver relies on this
	 * to refuse an oversized PDU before allocating for it. The header
	 * digest is checked first so a corrupted header reports DIGEST rather
	 * than whatever its garbled fields would imply. */
	if (len < hlen)
		return 0;
	if (hd && !digest_ok(buf, ISC_BHS_LEN + ahs_len, buf + ISC_BHS_LEN + ahs_len))
		return ISC_ERR_DIGEST;
	op = buf[0] & ISC_BHS_OPCODE_MASK;
	if (from_target && !opcode_is_target(op))
		return ISC_ERR_PROTOCOL;
	dsl = isc_get_be24(buf + ISC_OFF_DSL);
	if (dsl > max_data_len || dsl > ISC_MAX_DSL)
		return ISC_ERR_TOO_LARGE;
	/* RFC 7143 section 11.1: no data digest when there is no data. */
	total = hlen + dsl + isc_pad4(dsl) + (dd && dsl ? ISC_DIGEST_LEN : 0);
	if (len < total)
		return 0;
	if (dd && dsl && !digest_ok(buf + hlen, dsl + isc_pad4(dsl), buf + hlen + dsl + isc_pad4(dsl)))
		return ISC_ERR_DIGEST;
	if (out) {
		out->bhs = buf;
		out->ahs = ahs_len ? buf + ISC_BHS_LEN : NULL;
		out->ahs_len = ahs_len;
		out->data = dsl ? buf + hlen : NULL;
		out->data_len = dsl;
	}
	return (long)total;
}

size_t isc_pdu_wire_size(size_t ahs_len, size_t data_len, const struct isc_digests *dg)
{
	int hd = dg && dg->header, dd = dg && dg->data;

	/* Lengths the header fields cannot express give 0: no valid PDU. */
	if (ahs_len > ISC_MAX_AHS_LEN || (ahs_len & 3u) || data_len > ISC_MAX_DSL)
		return 0;
	return ISC_BHS_LEN + ahs_len + (hd ? ISC_DIGEST_LEN : 0) + data_len + isc_pad4(data_len) +
	       (dd && data_len ? ISC_DIGEST_LEN : 0);
}

size_t isc_pdu_build(uint8_t *out, const uint8_t bhs[ISC_BHS_LEN], const uint8_t *ahs,
		     size_t ahs_len, const uint8_t *data, size_t data_len,
		     const struct isc_digests *dg)
{
	int hd = dg && dg->header, dd = dg && dg->data;
	size_t total = isc_pdu_wire_size(ahs_len, data_len, dg), pos;

	if (!total || !out || !bhs || (ahs_len && !ahs) || (data_len && !data))
		return 0;
	/* memmove: callers may assemble the BHS or data in place in out. */
	memmove(out, bhs, ISC_BHS_LEN);
	out[ISC_OFF_TOTAL_AHS] = (uint8_t)(ahs_len / 4u);
	isc_put_be24(out + ISC_OFF_DSL, (uint32_t)data_len);
	pos = ISC_BHS_LEN;
	if (ahs_len) {
		memmove(out + pos, ahs, ahs_len);
		pos += ahs_len;
	}
	if (hd) {
		isc_crc32c_put(out + pos, isc_crc32c(out, pos));
		pos += ISC_DIGEST_LEN;
	}
	if (data_len) {
		size_t start = pos;
		memmove(out + pos, data, data_len);
		pos += data_len;
		/* RFC 7143 section 11.1: padding bytes SHOULD be 0 and are
		 * covered by the data digest. */
		memset(out + pos, 0, isc_pad4(data_len));
		pos += isc_pad4(data_len);
		if (dd) {
			isc_crc32c_put(out + pos, isc_crc32c(out + start, pos - start));
			pos += ISC_DIGEST_LEN;
		}
	}
	return pos;
}

/* ---- incremental receiver ---- */

/* `consumed` counts the bytes at the front of buf that belong to PDUs
 * already returned. They are dropped lazily, in isc_rx_space(), so a read
 * holding many small PDUs costs one memmove rather than one per PDU; the
 * pointers handed out by isc_rx_next() therefore stay put until the next
 * isc_rx_space() call, which is what the header promises. */

#define RX_MIN_CAP 4096u

void isc_rx_init(struct isc_rx *rx, size_t max_data_len)
{
	rx->buf = NULL;
	rx->len = 0;
	rx->cap = 0;
	rx->consumed = 0;
	rx->max_data_len = max_data_len;
	rx->dg.header = 0;
	rx->dg.data = 0;
	rx->no_scrub = 0;
}

void isc_rx_free(struct isc_rx *rx)
{
	/* Login responses in the buffer can carry CHAP responses. */
	if (rx->buf)
		isc_memzero(rx->buf, rx->cap);
	free(rx->buf);
	rx->buf = NULL;
	rx->len = rx->cap = rx->consumed = 0;
}

static void rx_compact(struct isc_rx *rx)
{
	size_t keep;

	if (!rx->consumed)
		return;
	keep = rx->len - rx->consumed;
	memmove(rx->buf, rx->buf + rx->consumed, keep);
	/* scrub what moved out of the live region (may be login text); in
	 * Full Feature Phase that would only cost a memset per read. */
	if (!rx->no_scrub)
		isc_memzero(rx->buf + keep, rx->consumed);
	rx->len = keep;
	rx->consumed = 0;
}

/* Size of the PDU at the head of the buffer once its header is known, or 0
 * when unknown or invalid (isc_rx_next() reports the error). Bounded by
 * isc_pdu_parse()'s checks: at most 48 + 1020 + 4 + max_data_len + 3 + 4. */
static size_t rx_head_pdu_size(const struct isc_rx *rx)
{
	const uint8_t *p = rx->buf;
	size_t ahs_len, hlen, dsl;

	if (rx->len < ISC_BHS_LEN)
		return 0;
	ahs_len = (size_t)p[ISC_OFF_TOTAL_AHS] * 4u;
	hlen = ISC_BHS_LEN + ahs_len + (rx->dg.header ? ISC_DIGEST_LEN : 0);
	if (rx->len < hlen)
		return hlen;
	/* Only trust DSL once parse accepted the header (digest, opcode,
	 * limit); parse returns 0 here because the data is incomplete. */
	if (isc_pdu_parse(p, hlen, &rx->dg, rx->max_data_len, 1, NULL) != 0)
		return 0;
	dsl = isc_get_be24(p + ISC_OFF_DSL);
	return hlen + dsl + isc_pad4(dsl) + (rx->dg.data && dsl ? ISC_DIGEST_LEN : 0);
}

uint8_t *isc_rx_space(struct isc_rx *rx, size_t want, size_t *room)
{
	size_t need, pdu;

	rx_compact(rx);
	if (want == 0)
		want = 1;
	need = rx->len + want;
	if (need < rx->len) /* caller asked for SIZE_MAX-ish */
		return NULL;
	pdu = rx_head_pdu_size(rx);
	if (pdu > need)
		need = pdu;
	if (need > rx->cap) {
		size_t ncap = rx->cap ? rx->cap : RX_MIN_CAP;
		uint8_t *nbuf;

		while (ncap < need)
			ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
		nbuf = malloc(ncap);
		if (!nbuf)
			return NULL;
		if (rx->buf) {
			memcpy(nbuf, rx->buf, rx->len);
			isc_memzero(rx->buf, rx->cap);
			free(rx->buf);
		}
		rx->buf = nbuf;
		rx->cap = ncap;
	}
	if (room)
		*room = rx->cap - rx->len;
	return rx->buf + rx->len;
}

void isc_rx_commit(struct isc_rx *rx, size_t n)
{
	if (n > rx->cap - rx->len)
		n = rx->cap - rx->len;
	rx->len += n;
}

int isc_rx_next(struct isc_rx *rx, struct isc_pdu *out)
{
	long r;

	if (rx->consumed >= rx->len) {
		/* everything handed out: restart at the front for free */
		rx->consumed = 0;
		rx->len = 0;
		return 0;
	}
	r = isc_pdu_parse(rx->buf + rx->consumed, rx->len - rx->consumed, &rx->dg,
			  rx->max_data_len, 1, out);
	if (r <= 0)
		return (int)r;
	rx->consumed += (size_t)r;
	return 1;
}

/* ---- diagnostics ---- */

const char *isc_opcode_name(uint8_t opcode)
{
	switch (opcode & ISC_BHS_OPCODE_MASK) {
	case ISC_OP_NOP_OUT: return "NOP-Out";
	case ISC_OP_SCSI_CMD: return "SCSI Command";
	case ISC_OP_TMF_REQ: return "Task Management Request";
	case ISC_OP_LOGIN_REQ: return "Login Request";
	case ISC_OP_TEXT_REQ: return "Text Request";
	case ISC_OP_DATA_OUT: return "SCSI Data-Out";
	case ISC_OP_LOGOUT_REQ: return "Logout Request";
	case ISC_OP_SNACK_REQ: return "SNACK Request";
	case ISC_OP_NOP_IN: return "NOP-In";
	case ISC_OP_SCSI_RSP: return "SCSI Response";
	case ISC_OP_TMF_RSP: return "Task Management Response";
	case ISC_OP_LOGIN_RSP: return "Login Response";
	case ISC_OP_TEXT_RSP: return "Text Response";
	case ISC_OP_DATA_IN: return "SCSI Data-In";
	case ISC_OP_LOGOUT_RSP: return "Logout Response";
	case ISC_OP_R2T: return "Ready To Transfer";
	case ISC_OP_ASYNC_MSG: return "Asynchronous Message";
	case ISC_OP_REJECT: return "Reject";
	default: return "Unknown";
	}
}

void isc_pdu_describe(const uint8_t bhs[ISC_BHS_LEN], char *out, size_t outlen)
{
	uint8_t op = bhs[0] & ISC_BHS_OPCODE_MASK;
	size_t n = 0;
	int w;

	if (!out || outlen == 0)
		return;
	/* Header fields only: the data segment may hold CHAP values. */
#define APPEND(...)                                                              \
	do {                                                                     \
		if (n < outlen) {                                                \
			w = snprintf(out + n, outlen - n, __VA_ARGS__);          \
			n = w < 0 ? outlen : n + (size_t)w;                      \
		}                                                                \
	} while (0)
	if (strcmp(isc_opcode_name(op), "Unknown") == 0)
		APPEND("Unknown(0x%02x)", op);
	else
		APPEND("%s", isc_opcode_name(op));
	if (bhs[0] & ISC_BHS_IMMEDIATE && op < 0x20)
		APPEND(" (I)");
	APPEND(" flags=0x%02x itt=0x%08x", bhs[1], isc_get_be32(bhs + ISC_OFF_ITT));
	if (op & 0x20) { /* target PDUs: bit 5 of the opcode (RFC 7143 11.2.1.2) */
		APPEND(" statsn=%u expcmdsn=%u maxcmdsn=%u", isc_get_be32(bhs + ISC_OFF_STATSN),
		       isc_get_be32(bhs + ISC_OFF_EXPCMDSN), isc_get_be32(bhs + ISC_OFF_MAXCMDSN));
	} else {
		APPEND(" cmdsn=%u expstatsn=%u", isc_get_be32(bhs + ISC_OFF_CMDSN),
		       isc_get_be32(bhs + ISC_OFF_EXPSTATSN));
	}
	switch (op) {
	case ISC_OP_LOGIN_REQ:
	case ISC_OP_LOGIN_RSP:
		APPEND(" csg=%u nsg=%u tsih=0x%04x", ISC_LOGIN_CSG(bhs[1]), ISC_LOGIN_NSG(bhs[1]),
		       isc_get_be16(bhs + ISC_OFF_TSIH));
		if (op == ISC_OP_LOGIN_RSP)
			APPEND(" status=0x%02x%02x", bhs[ISC_OFF_LOGIN_CLASS],
			       bhs[ISC_OFF_LOGIN_DETAIL]);
		break;
	case ISC_OP_SCSI_CMD:
		APPEND(" edtl=%u cdb0=0x%02x", isc_get_be32(bhs + ISC_OFF_EDTL), bhs[ISC_OFF_CDB]);
		break;
	case ISC_OP_SCSI_RSP:
		APPEND(" response=0x%02x status=0x%02x residual=%u", bhs[ISC_OFF_RSP_RESPONSE],
		       bhs[ISC_OFF_RSP_STATUS], isc_get_be32(bhs + ISC_OFF_RESIDUAL));
		break;
	case ISC_OP_DATA_IN:
	case ISC_OP_DATA_OUT:
	case ISC_OP_R2T:
		APPEND(" ttt=0x%08x datasn=%u offset=%u", isc_get_be32(bhs + ISC_OFF_TTT),
		       isc_get_be32(bhs + ISC_OFF_DATASN), isc_get_be32(bhs + ISC_OFF_BUFOFF));
		if (op == ISC_OP_R2T)
			APPEND(" desired=%u", isc_get_be32(bhs + ISC_OFF_RESIDUAL));
		break;
	case ISC_OP_TEXT_REQ:
	case ISC_OP_TEXT_RSP:
	case ISC_OP_NOP_OUT:
	case ISC_OP_NOP_IN:
		APPEND(" ttt=0x%08x", isc_get_be32(bhs + ISC_OFF_TTT));
		break;
	case ISC_OP_REJECT:
		APPEND(" reason=0x%02x", bhs[ISC_OFF_REJECT_REASON]);
		break;
	case ISC_OP_LOGOUT_RSP:
		APPEND(" response=0x%02x", bhs[ISC_OFF_RSP_RESPONSE]);
		break;
	case ISC_OP_ASYNC_MSG:
		APPEND(" event=%u", bhs[ISC_OFF_ASYNC_EVENT]);
		break;
	default:
		break;
	}
	if (bhs[ISC_OFF_TOTAL_AHS])
		APPEND(" ahs=%u", bhs[ISC_OFF_TOTAL_AHS] * 4u);
	APPEND(" dsl=%u", isc_get_be24(bhs + ISC_OFF_DSL));
#undef APPEND
}
