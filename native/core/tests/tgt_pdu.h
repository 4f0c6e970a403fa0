/*
 * The target's end of a socket pair, for tests and the engine fuzzer: builds
 * target PDUs (RFC 7143 section 11: Data-In 11.7, SCSI Response 11.4, R2T
 * 11.8, Async Message 11.9) with the digests in force, and parses what the
 * initiator wrote. Header-only (each test is one .c file).
 */
#ifndef ISC_TEST_TGT_PDU_H
#define ISC_TEST_TGT_PDU_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "pdu.h"

struct tgt_peer {
	int fd;
	struct isc_digests dg;
	uint32_t statsn;      /* StatSN of the next status PDU */
	uint32_t exp_cmdsn;   /* from the commands seen (window kept open) */
	uint8_t *in;          /* bytes the initiator wrote, not yet parsed */
	size_t in_len, in_cap, in_used;
	int eof;              /* the initiator closed its end */
};

static inline void tgt_init(struct tgt_peer *p, int fd, struct isc_digests dg)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->dg = dg;
	p->statsn = 1;
	p->exp_cmdsn = 1;
}

static inline void tgt_free(struct tgt_peer *p)
{
	free(p->in);
	p->in = NULL;
	p->in_len = p->in_cap = p->in_used = 0;
}

/* Common header: every target PDU in Full Feature Phase carries ExpCmdSN
 * and MaxCmdSN at bytes 28 and 32; the TTT defaults to reserved. */
static inline void tgt_hdr(const struct tgt_peer *p, uint8_t bhs[ISC_BHS_LEN], uint8_t op,
			   uint8_t flags, uint32_t itt)
{
	memset(bhs, 0, ISC_BHS_LEN);
	bhs[0] = op;
	bhs[1] = flags;
	isc_put_be32(bhs + ISC_OFF_ITT, itt);
	isc_put_be32(bhs + ISC_OFF_TTT, ISC_RESERVED_TAG);
	isc_put_be32(bhs + ISC_OFF_EXPCMDSN, p->exp_cmdsn);
	isc_put_be32(bhs + ISC_OFF_MAXCMDSN, p->exp_cmdsn + 1024);
}

static inline void tgt_statsn(struct tgt_peer *p, uint8_t bhs[ISC_BHS_LEN])
{
	isc_put_be32(bhs + ISC_OFF_STATSN, p->statsn++);
}

/* flags: F 0x80, A 0x40, O 0x04, U 0x02, S 0x01 (11.7.1). */
static inline void tgt_data_in(struct tgt_peer *p, uint8_t bhs[ISC_BHS_LEN], uint32_t itt,
			       uint32_t datasn, uint32_t off, uint8_t flags, uint8_t status,
			       uint32_t residual)
{
	tgt_hdr(p, bhs, ISC_OP_DATA_IN, flags, itt);
	if (flags & ISC_FLAG_DATAIN_STATUS) {
		bhs[ISC_OFF_RSP_STATUS] = status;
		isc_put_be32(bhs + ISC_OFF_RESIDUAL, residual);
		tgt_statsn(p, bhs);
	}
	isc_put_be32(bhs + ISC_OFF_DATASN, datasn);
	isc_put_be32(bhs + ISC_OFF_BUFOFF, off);
}

/* flags: O 0x04, U 0x02 (F is always set, 11.4.1). */
static inline void tgt_scsi_rsp(struct tgt_peer *p, uint8_t bhs[ISC_BHS_LEN], uint32_t itt,
				uint8_t flags, uint8_t response, uint8_t status, uint32_t residual)
{
	tgt_hdr(p, bhs, ISC_OP_SCSI_RSP, (uint8_t)(ISC_FLAG_FINAL | flags), itt);
	bhs[ISC_OFF_RSP_RESPONSE] = response;
	bhs[ISC_OFF_RSP_STATUS] = status;
	isc_put_be32(bhs + ISC_OFF_RESIDUAL, residual);
	tgt_statsn(p, bhs);
}

static inline void tgt_r2t(struct tgt_peer *p, uint8_t bhs[ISC_BHS_LEN], uint32_t itt,
			   uint32_t ttt, uint32_t r2tsn, uint32_t off, uint32_t len)
{
	tgt_hdr(p, bhs, ISC_OP_R2T, ISC_FLAG_FINAL, itt);
	isc_put_be32(bhs + ISC_OFF_TTT, ttt);
	isc_put_be32(bhs + ISC_OFF_STATSN, p->statsn); /* not advanced (11.8.3) */
	isc_put_be32(bhs + ISC_OFF_DATASN, r2tsn);
	isc_put_be32(bhs + ISC_OFF_BUFOFF, off);
	isc_put_be32(bhs + ISC_OFF_RESIDUAL, len);
}

static inline void tgt_async(struct tgt_peer *p, uint8_t bhs[ISC_BHS_LEN], uint8_t event,
			     uint64_t lun_raw, uint16_t p1, uint16_t p2, uint16_t p3)
{
	tgt_hdr(p, bhs, ISC_OP_ASYNC_MSG, ISC_FLAG_FINAL, ISC_RESERVED_TAG);
	isc_put_be64(bhs + ISC_OFF_LUN, lun_raw);
	tgt_statsn(p, bhs);
	bhs[ISC_OFF_ASYNC_EVENT] = event;
	isc_put_be16(bhs + ISC_OFF_ASYNC_PARAM1, p1);
	isc_put_be16(bhs + ISC_OFF_ASYNC_PARAM2, p2);
	isc_put_be16(bhs + ISC_OFF_ASYNC_PARAM3, p3);
}

/* The PDU as it goes on the wire (malloc'd, *len bytes), digests included. */
static inline uint8_t *tgt_wire(const struct tgt_peer *p, const uint8_t bhs[ISC_BHS_LEN],
				const uint8_t *data, size_t data_len, size_t *len)
{
	uint8_t *w = malloc(isc_pdu_wire_size(0, data_len, &p->dg));

	if (w)
		*len = isc_pdu_build(w, bhs, NULL, 0, data, data_len, &p->dg);
	return w;
}

/* Writes all of buf; 0, or -1 when the socket would block or failed (the
 * tests keep every burst below the socket buffer size). */
static inline int tgt_write(struct tgt_peer *p, const uint8_t *buf, size_t len)
{
	while (len) {
		/* MSG_NOSIGNAL: the initiator may have closed its end. */
		ssize_t w = send(p->fd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static inline int tgt_send(struct tgt_peer *p, const uint8_t bhs[ISC_BHS_LEN],
			   const uint8_t *data, size_t data_len)
{
	size_t len = 0;
	uint8_t *w = tgt_wire(p, bhs, data, data_len, &len);
	int rc = w ? tgt_write(p, w, len) : -1;

	free(w);
	return rc;
}

/* Next PDU the initiator wrote: 1 (*out points into the peer's buffer until
 * the next call), 0 when none is complete yet (p->eof: none will come), or
 * a negative isc_err when the initiator's bytes do not parse. */
static inline int tgt_recv(struct tgt_peer *p, struct isc_pdu *out)
{
	long r;

	if (p->in_used) {
		memmove(p->in, p->in + p->in_used, p->in_len - p->in_used);
		p->in_len -= p->in_used;
		p->in_used = 0;
	}
	for (;;) {
		ssize_t n;

		if (p->in_cap - p->in_len < 4096) {
			size_t cap = p->in_cap ? 2 * p->in_cap : 16384;
			uint8_t *b = realloc(p->in, cap);
			if (!b)
				return ISC_ERR_NOMEM;
			p->in = b;
			p->in_cap = cap;
		}
		n = p->eof ? 0 : read(p->fd, p->in + p->in_len, p->in_cap - p->in_len);
		if (n > 0) {
			p->in_len += (size_t)n;
			continue;
		}
		if (n == 0)
			p->eof = 1;
		else if (errno == EINTR)
			continue;
		break;
	}
	r = isc_pdu_parse(p->in, p->in_len, &p->dg, ISC_MAX_DSL, 0, out);
	if (r <= 0)
		return (int)r;
	p->in_used = (size_t)r;
	/* A non-immediate command takes a CmdSN: keep the window open past it. */
	if (!(out->bhs[0] & ISC_BHS_IMMEDIATE) && isc_pdu_opcode(out) == ISC_OP_SCSI_CMD)
		p->exp_cmdsn = isc_pdu_u32(out, ISC_OFF_CMDSN) + 1;
	return 1;
}

#endif
