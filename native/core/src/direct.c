/*
 * Direct data placement for large Data-In PDUs.
 *
 * A READ's data normally goes socket -> receive buffer -> task buffer. For
 * a big Data-In (>= DIRECT_MIN bytes) whose header has arrived but whose
 * data has not, this receives the data segment straight into the task's
 * buffer at the PDU's Buffer Offset instead: one copy (the kernel's) rather
 * than two, and no compaction of a half-received PDU in the receive buffer.
 *
 * Safety: the destination is the task's result buffer (possibly the
 * caller's, borrowed); the task cannot complete while its Data-In is being
 * received (completion only happens in dispatch, by ABORT TASK response or
 * after the connection is closed, which resets this state first). The
 * offset (exactly the bytes received so far), the length (within the
 * expected transfer) and DataSN order are checked before a byte is placed; digests are checked after, before the
 * PDU is dispatched. Anything unusual falls back to the normal path.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "crc32c.h"
#include "ctx.h"

#define DIRECT_MIN 16384u

void isc_direct_reset(isc_ctx *ctx)
{
	ctx->direct.active = 0;
}

static struct isc_task *reading_task(isc_ctx *ctx, uint32_t itt)
{
	for (struct isc_task *t = ctx->tasks; t; t = t->next)
		if (t->itt == itt)
			return t->kind == ISC_TASK_SCSI && t->dir == ISC_DIR_READ && t->res &&
					       t->res->data
				       ? t
				       : NULL;
	return NULL;
}

int isc_direct_begin(isc_ctx *ctx)
{
	struct isc_rx *rx = &ctx->rx;
	struct isc_direct *d = &ctx->direct;
	const uint8_t *p;
	size_t avail = rx->len - rx->consumed;
	size_t hlen = ISC_BHS_LEN + (rx->dg.header ? ISC_DIGEST_LEN : 0);
	size_t dsl, have, off;
	struct isc_task *t;

	if (d->active || ctx->state != ISC_ST_FFP || avail < hlen || !rx->buf)
		return 0;
	p = rx->buf + rx->consumed;
	if ((p[0] & ISC_BHS_OPCODE_MASK) != ISC_OP_DATA_IN || p[ISC_OFF_TOTAL_AHS] != 0)
		return 0;
	dsl = isc_get_be24(p + ISC_OFF_DSL);
	if (dsl < DIRECT_MIN || avail >= hlen + dsl)
		return 0; /* small, or already complete: the normal path is fine */
	/* Header checks (digest, opcode, DSL limit) as the parser does them. */
	if (isc_pdu_parse(p, hlen, &rx->dg, rx->max_data_len, 1, NULL) != 0)
		return 0;
	t = reading_task(ctx, isc_get_be32(p + ISC_OFF_ITT));
	if (!t)
		return 0;
	off = isc_get_be32(p + ISC_OFF_BUFOFF);
	/* Only the next bytes in order (session.c handle_data_in: a READ's
	 * data is one contiguous run); anything else takes the normal path,
	 * which rejects it without placing a byte. */
	if (off != t->res->data_len || dsl > t->in_cap - off ||
	    isc_get_be32(p + ISC_OFF_DATASN) != t->next_datasn)
		return 0;
	memcpy(d->hdr, p, hlen);
	d->dst = t->res->data + off;
	d->dsl = dsl;
	have = avail - hlen;
	memcpy(d->dst, p + hlen, have);
	d->got = have;
	d->trail_len = isc_pad4(dsl) + (rx->dg.data ? ISC_DIGEST_LEN : 0);
	d->trail_got = 0;
	rx->consumed = rx->len; /* everything there was ours */
	d->active = 1;
	return 1;
}

/* Receives what is available. Returns 1 when the PDU is complete (*out
 * filled: data already in place), 0 when the socket is drained, or a
 * negative isc_err. */
int isc_direct_continue(isc_ctx *ctx, struct isc_pdu *out)
{
	struct isc_direct *d = &ctx->direct;

	while (d->got < d->dsl || d->trail_got < d->trail_len) {
		uint8_t *dst;
		size_t want;
		ssize_t r;

		if (d->got < d->dsl) {
			dst = d->dst + d->got;
			want = d->dsl - d->got;
		} else {
			dst = d->trail + d->trail_got;
			want = d->trail_len - d->trail_got;
		}
		r = recv(ctx->fd, dst, want, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			int e = errno;
			return isc_set_error(ctx, isc_err_from_errno(e), e,
					     "receiving from %s failed: %s", ctx->portal, strerror(e));
		}
		if (r == 0)
			/* In Full Feature Phase that is a lost connection (like a
			 * reset: ISCSI_CONNECTION_ERROR, reinstated); during login
			 * (e.g. LIO refusing without a status) the session is
			 * just closed. */
			return isc_set_error(ctx, ctx->state == ISC_ST_FFP ? ISC_ERR_IO : ISC_ERR_CLOSED, 0,
					     "target %s closed the connection", ctx->portal);
		if (d->got < d->dsl)
			d->got += (size_t)r;
		else
			d->trail_got += (size_t)r;
	}
	d->active = 0;
	if (ctx->rx.dg.data) {
		size_t pad = isc_pad4(d->dsl);
		uint32_t crc = isc_crc32c_update(0xFFFFFFFFu, d->dst, d->dsl);
		crc = isc_crc32c_update(crc, d->trail, pad) ^ 0xFFFFFFFFu;
		if (crc != isc_crc32c_get(d->trail + pad))
			return ISC_ERR_DIGEST;
	}
	memset(out, 0, sizeof(*out));
	out->bhs = d->hdr;
	out->data = d->dst;
	out->data_len = d->dsl;
	return 1;
}
