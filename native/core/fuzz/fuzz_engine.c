/*
 * libFuzzer target for the session engine after login: the fuzzer plays
 * the target on one end of a socket pair, the context (put into Full
 * Feature Phase by hand) sits on the other, and engine_model.h checks
 * every completion and every byte the engine writes.
 *
 * Input: two configuration bytes, then records.
 *   byte 0: bit0 HeaderDigest, bit1 DataDigest (CRC32C; our PDUs carry
 *           correct digests), bit2 ImmediateData, bit3 InitialR2T, bit4
 *           max_reconnects 1 (else 0), bit5 async_logout_close, bit6
 *           defer_send, bit7 MaxRecvDataSegmentLength 8192 (else 256 KiB)
 *   byte 1: bits0-1 MaxXmitDataSegmentLength, bits2-3 FirstBurstLength,
 *           bits4-5 MaxBurstLength (tables below)
 * Each record is one byte (low 4 bits: kind; bit 7: do not let the engine
 * read yet, so several PDUs arrive in one isc_service()) and its
 * arguments; missing bytes read as 0. A reinstatement dials a loopback
 * listener; a TIME record can complete its login (tgt_login.h).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tests/ffp_pair.h"
#include "../tests/tgt_login.h"
#include "engine_model.h"

enum rec {
	R_READ, R_WRITE, R_DATA_IN, R_DATA_IN_ALL, R_SCSI_RSP, R_R2T, R_NOP_IN, R_ASYNC,
	R_REJECT, R_LOGOUT_RSP, R_TMF_RSP, R_RAW, R_TIME, R_ABORT, R_SERVICE
};

static const size_t RSIZES[] = { 0, 512, 4096, 16384, 20000, 65536 };
static const size_t WSIZES[] = { 512, 4096, 16384, 20000, 65536 };
static const uint32_t XMIT[] = { 512, 8192, 16384, 262144 };
static const uint32_t FIRST[] = { 512, 4096, 16384, 65536 };
static const uint32_t BURST[] = { 512, 16384, 65536, 262144 };
static const uint8_t EVENTS[] = { 0, 1, 2, 3, 4, 255, 7, 0 };
static const uint8_t STATUSES[] = { 0, 2, 8, 0x28 };

struct input {
	const uint8_t *p;
	size_t n, pos;
};

static uint8_t u8(struct input *in)
{
	return in->pos < in->n ? in->p[in->pos++] : 0;
}

static uint16_t u16(struct input *in)
{
	return (uint16_t)(u8(in) << 8 | u8(in));
}

struct run {
	struct model m;
	isc_ctx *ctx;
	struct input in;
};

static int lfd = -1; /* the portal a reinstatement dials, kept across runs */

/* Lets the engine read and write until it has nothing left to do. */
static void pump(struct run *r)
{
	for (int i = 0; i < 8; i++) {
		isc_service(r->ctx, POLLIN | (r->ctx->tx_head ? POLLOUT : 0));
		drain(&r->m);
		if (!r->ctx->rx_backlog && !r->ctx->tx_head)
			break;
	}
}

/* Writes target bytes, letting the engine read when the socket is full;
 * bytes for a connection the engine dropped go nowhere. */
static void twrite(struct run *r, const uint8_t *b, size_t len)
{
	int stall = 0;

	while (len && r->m.tp.fd >= 0 && stall < 4) {
		ssize_t w = send(r->m.tp.fd, b, len, MSG_NOSIGNAL);
		if (w > 0) {
			b += w;
			len -= (size_t)w;
			stall = 0;
		} else if (w < 0 && errno == EAGAIN) {
			pump(r);
			stall++;
		} else if (!(w < 0 && errno == EINTR)) {
			break;
		}
	}
}

/* One target PDU; `split`: the header alone first, then the data in two
 * parts (a large Data-In is then placed straight into the buffer). */
static void tsend(struct run *r, const uint8_t bhs[ISC_BHS_LEN], const uint8_t *data,
		  size_t len, int split)
{
	size_t wlen = 0, hlen = ISC_BHS_LEN + (r->m.tp.dg.header ? ISC_DIGEST_LEN : 0);
	uint8_t *w = tgt_wire(&r->m.tp, bhs, data, len, &wlen);

	FZ_ASSERT(w != NULL);
	if (split && len > 2) {
		size_t half = hlen + len / 2;
		twrite(r, w, hlen);
		pump(r);
		twrite(r, w + hlen, half - hlen);
		pump(r);
		twrite(r, w + half, wlen - half);
	} else {
		twrite(r, w, wlen);
	}
	free(w);
}

static void submit(struct run *r, int dir, uint8_t a)
{
	struct model *m = &r->m;
	int k = m->n;
	struct mtask *t = &m->t[k];
	uint8_t cdb[10] = { (uint8_t)(dir == ISC_DIR_READ ? 0x28 : 0x2a) };
	struct isc_scsi_cmd c = { .cdb = cdb, .cdb_len = 10, .dir = dir };
	int rc;

	if (k == MAX_TASKS)
		return;
	memset(t, 0, sizeof(*t));
	t->dir = dir;
	t->core = !!(a & 0x80);
	t->len = dir == ISC_DIR_READ ? RSIZES[a % 6] : WSIZES[a % 5];
	isc_put_be32(cdb + 2, (uint32_t)k); /* the task index travels in the LBA */
	t->expect = pattern(k, dir == ISC_DIR_WRITE);
	if (dir == ISC_DIR_READ) {
		t->covered = calloc(1, t->len + 1);
		if (!t->core) {
			t->area = malloc(t->len + 2 * GUARD);
			memset(t->area, CANARY, t->len + 2 * GUARD);
			memset(t->area + GUARD, POISON, t->len);
			c.data_in = t->area + GUARD;
		}
		c.in_len = t->len;
	} else {
		t->out = malloc(t->len);
		memcpy(t->out, t->expect, t->len);
		c.data_out = t->out;
		c.out_len = t->len;
	}
	m->n++;
	if (t->core)
		rc = isc_scsi_async(r->ctx, 0, cdb, 10, dir, c.data_out, c.out_len, c.in_len,
				    on_done, (void *)(intptr_t)k);
	else
		rc = isc_scsi_submit(r->ctx, &c, on_done, (void *)(intptr_t)k, NULL);
	t->id = r->ctx->next_task_id;
	if (rc != ISC_OK) {
		/* Refused at once (closed session): the callback never runs. */
		t->calls = 1;
		if (t->area)
			memset(t->area + GUARD, POISON, t->len);
		free(t->out);
		t->out = NULL;
	}
	if (t->core && t->out) {
		/* isc_scsi_async copied the data: ours may go now. */
		free(t->out);
		t->out = NULL;
	}
}

static struct mtask *pick(struct run *r, int *k)
{
	if (!r->m.n)
		return NULL;
	*k = u8(&r->in) % r->m.n;
	return &r->m.t[*k];
}

/* Residual choices: what the data sent so far leaves, 0, any, past EDTL. */
static uint32_t residual(const struct mtask *t, size_t end, int mode, uint16_t v)
{
	switch (mode & 3) {
	case 0:
		return end < t->len ? (uint32_t)(t->len - end) : 0;
	case 1:
		return 0;
	case 2:
		return v;
	default:
		return (uint32_t)t->len + 1;
	}
}

static void data_in_pdu(struct run *r, struct mtask *t, int k, uint32_t datasn, size_t off,
			size_t len, uint8_t flags, uint8_t status, uint32_t res, int split)
{
	uint8_t bhs[ISC_BHS_LEN];
	uint8_t *d = NULL;
	const uint8_t *src = off <= t->len && len <= t->len - off ? t->expect + off : NULL;

	if (!src) {
		/* Past the buffer: still the content that offset would have. */
		d = malloc(len + 1);
		for (size_t i = 0; i < len; i++)
			d[i] = content(k, off + i);
		src = d;
	}
	tgt_data_in(&r->m.tp, bhs, t->itt, datasn, (uint32_t)off, flags, status, res);
	sent_data_in(t, k, datasn, off, len, flags, status, res);
	tsend(r, bhs, src, len, split);
	free(d);
}

/* A Data-In with fuzzed offset, length, DataSN, flags, status, residual. */
static void rec_data_in(struct run *r)
{
	int k;
	struct mtask *t = pick(r, &k);
	uint8_t a = u8(&r->in), b = u8(&r->in);
	uint16_t v = u16(&r->in);
	size_t off, len;
	uint32_t datasn;

	if (!t)
		return;
	switch (a & 3) {
	case 0: off = t->rcv; break;
	case 1: off = t->rcv > (size_t)(v % 4096 + 1) ? t->rcv - (v % 4096 + 1) : 0; break;
	case 2: off = t->rcv + v % 4096 + 1; break;
	default: off = (size_t)v * 4; break;
	}
	switch ((a >> 2) & 3) {
	case 0: len = off < t->len ? t->len - off : 512; break;
	case 1: len = off < t->len ? t->len - off : 512; len = len < 16384 ? len : 16384; break;
	case 2: len = v % 2048; break;
	default: len = v; break;
	}
	switch (b & 3) {
	case 0: datasn = t->datasn; break;
	case 1: datasn = t->datasn + 1; break;
	case 2: datasn = t->datasn - 1; break;
	default: datasn = v & 7; break;
	}
	{
		uint8_t flags = (uint8_t)((a & 0x10 ? ISC_FLAG_FINAL : 0) |
					  (a & 0x20 ? ISC_FLAG_DATAIN_STATUS : 0) |
					  (a & 0x40 ? ISC_FLAG_UNDERFLOW : 0) |
					  (a & 0x80 ? ISC_FLAG_OVERFLOW : 0));
		data_in_pdu(r, t, k, datasn, off, len, flags, b & 4 ? 2 : 0,
			    residual(t, off + len, b >> 3, v), b & 0x20);
	}
}

/* The rest of a READ, correctly: 1 to 4 Data-In in sequence, then status
 * GOOD in the last one or in a SCSI Response. */
static void rec_data_in_all(struct run *r)
{
	int k;
	struct mtask *t = pick(r, &k);
	uint8_t a = u8(&r->in);
	int pdus = (a & 3) + 1;

	if (!t || t->dir != ISC_DIR_READ)
		return;
	for (int i = 0; i < pdus; i++) {
		size_t left = t->len - (t->rcv < t->len ? t->rcv : t->len);
		size_t len = i == pdus - 1 ? left : left / (size_t)(pdus - i);
		int last = i == pdus - 1;
		uint8_t flags = last ? (a & 4 ? ISC_FLAG_FINAL : ISC_FLAG_FINAL | ISC_FLAG_DATAIN_STATUS) : 0;
		data_in_pdu(r, t, k, t->datasn, t->rcv, len, flags, 0, 0, a & 8);
	}
	if (a & 4) {
		uint8_t bhs[ISC_BHS_LEN];
		tgt_scsi_rsp(&r->m.tp, bhs, t->itt, 0, 0, 0, 0);
		if (t->on_wire && !t->calls && !t->nstatus)
			t->nstatus++;
		tsend(r, bhs, NULL, 0, 0);
	}
}

/* A SCSI Response: U/O, response, status, residual, sense data whose
 * SenseLength may lie. */
static void rec_scsi_rsp(struct run *r)
{
	int k;
	struct mtask *t = pick(r, &k);
	uint8_t a = u8(&r->in), b = u8(&r->in);
	uint16_t v = u16(&r->in);
	uint8_t bhs[ISC_BHS_LEN], data[2 + 32];
	size_t dlen = 0;

	if (!t)
		return;
	tgt_scsi_rsp(&r->m.tp, bhs, t->itt,
		     (uint8_t)((a & 1 ? ISC_FLAG_UNDERFLOW : 0) | (a & 2 ? ISC_FLAG_OVERFLOW : 0)),
		     a & 4 ? 1 : 0, STATUSES[(a >> 3) & 3], residual(t, t->rcv, b, v));
	memset(data, 0x70, sizeof(data));
	switch ((b >> 2) & 3) {
	case 1: isc_put_be16(data, 18); dlen = 20; break;
	case 2: isc_put_be16(data, (uint16_t)(v | 1)); dlen = 2 + (v & 31); break;
	case 3: isc_put_be16(data, 0); dlen = 2; break;
	default: break;
	}
	if (t->on_wire && !t->calls && !t->nstatus) {
		/* A lying SenseLength is a protocol error, not a completion. */
		if (dlen >= 2 && isc_get_be16(data) > dlen - 2)
			t->violated = 1;
		t->nstatus++;
	}
	tsend(r, bhs, data, dlen, 0);
}

static void rec_r2t(struct run *r)
{
	int k;
	struct mtask *t = pick(r, &k);
	uint8_t a = u8(&r->in);
	uint16_t v = u16(&r->in);
	uint8_t bhs[ISC_BHS_LEN];
	uint32_t r2tsn, ttt = 0x5000 + r->m.next_ttt++;
	size_t off, len, left;

	if (!t)
		return;
	switch (a & 3) {
	case 0: r2tsn = t->r2tsn; break;
	case 1: r2tsn = t->r2tsn + 1; break;
	case 2: r2tsn = 0; break;
	default: r2tsn = v & 3; break;
	}
	switch ((a >> 2) & 3) {
	case 0: off = t->next_off; break;
	case 1: off = t->next_off > 512 ? t->next_off - 512 : 0; break;
	case 2: off = t->next_off + 512; break;
	default: off = v; break;
	}
	left = off < t->len ? t->len - off : 0;
	switch ((a >> 4) & 3) {
	case 0: len = left; break;
	case 1: len = left < r->m.neg.max_burst_length ? left : r->m.neg.max_burst_length; break;
	case 2: len = (size_t)v * 2 + 1; break;
	default: len = 0; break;
	}
	tgt_r2t(&r->m.tp, bhs, t->itt, ttt, r2tsn, (uint32_t)off, (uint32_t)len);
	sent_r2t(&r->m, t, ttt, r2tsn, off, len);
	tsend(r, bhs, NULL, 0, 0);
}

static void rec_nop_in(struct run *r)
{
	uint8_t a = u8(&r->in), bhs[ISC_BHS_LEN], data[64];
	size_t len = u8(&r->in) % sizeof(data);

	memset(data, 0x42, sizeof(data));
	tgt_hdr(&r->m.tp, bhs, ISC_OP_NOP_IN, ISC_FLAG_FINAL,
		a & 2 ? r->m.ping_itt : ISC_RESERVED_TAG);
	if (a & 1)
		isc_put_be32(bhs + ISC_OFF_TTT, 0x7000 + a);
	tgt_statsn(&r->m.tp, bhs);
	tsend(r, bhs, data, len, 0);
}

static void rec_async(struct run *r)
{
	uint8_t a = u8(&r->in), b = u8(&r->in), bhs[ISC_BHS_LEN], data[64];
	size_t len = 0;

	tgt_async(&r->m.tp, bhs, EVENTS[a & 7], 0, 0, (a >> 3) & 3, (a >> 5) & 3);
	memset(data, 0x71, sizeof(data));
	switch (b & 3) {
	case 1: isc_put_be16(data, 18); len = 20; break;
	case 2: isc_put_be16(data, 40); len = 20; break; /* SenseLength lies */
	case 3: len = (b >> 2) % sizeof(data); break;
	default: break;
	}
	tsend(r, bhs, data, len, 0);
}

/* A Reject whose data is a header naming task k (its command). */
static void rec_reject(struct run *r)
{
	int k;
	struct mtask *t = pick(r, &k);
	uint8_t a = u8(&r->in), bhs[ISC_BHS_LEN], rejected[ISC_BHS_LEN];

	if (!t)
		return;
	memset(rejected, 0, sizeof(rejected));
	rejected[0] = ISC_OP_SCSI_CMD;
	isc_put_be32(rejected + ISC_OFF_ITT, t->itt);
	tgt_hdr(&r->m.tp, bhs, ISC_OP_REJECT, ISC_FLAG_FINAL, ISC_RESERVED_TAG);
	bhs[ISC_OFF_REJECT_REASON] = a;
	tgt_statsn(&r->m.tp, bhs);
	tsend(r, bhs, rejected, sizeof(rejected), 0);
}

static void rec_logout_rsp(struct run *r)
{
	uint8_t a = u8(&r->in), bhs[ISC_BHS_LEN];

	tgt_hdr(&r->m.tp, bhs, ISC_OP_LOGOUT_RSP, ISC_FLAG_FINAL,
		a & 0x80 ? 0x12345678u : r->m.logout_itt);
	bhs[ISC_OFF_RSP_RESPONSE] = (a & 3) == 3 ? 2 : (a & 3) == 2 ? 1 : 0;
	isc_put_be16(bhs + ISC_OFF_LOGOUT_T2W, (a >> 2) & 1);
	tgt_statsn(&r->m.tp, bhs);
	tsend(r, bhs, NULL, 0, 0);
}

static void rec_tmf_rsp(struct run *r)
{
	static const uint8_t responses[] = { 0, 1, 5, 255 };
	int k;
	struct mtask *t = pick(r, &k);
	uint8_t a = u8(&r->in), bhs[ISC_BHS_LEN];

	if (!t)
		return;
	tgt_hdr(&r->m.tp, bhs, ISC_OP_TMF_RSP, ISC_FLAG_FINAL, t->tmf_itt);
	bhs[ISC_OFF_RSP_RESPONSE] = responses[a & 3];
	tgt_statsn(&r->m.tp, bhs);
	tsend(r, bhs, NULL, 0, 0);
}

/* Arbitrary bytes: from here on the data may not be the model's. */
static void rec_raw(struct run *r)
{
	size_t len = u8(&r->in);

	if (len > r->in.n - r->in.pos)
		len = r->in.n - r->in.pos;
	r->m.tainted = 1;
	twrite(r, r->in.p + r->in.pos, len);
	r->in.pos += len;
}

/* Time passes: chosen deadlines fall due; a reinstatement that dialled
 * the listener is logged in (or refused). */
static void rec_time(struct run *r)
{
	uint8_t a = u8(&r->in);
	uint32_t id = 0;
	int k;
	struct mtask *t = pick(r, &k);

	if (t && (a & 4))
		id = t->id;
	if (a & 1)
		r->ctx->reconnect_at = 0;
	if (a & 2)
		r->ctx->async_logout_at = 0;
	for (struct isc_task *e = r->ctx->tasks; e && id; e = e->next)
		if (e->id == id)
			e->deadline_ms = 0;
	isc_service(r->ctx, 0);
	drain(&r->m);
	if (r->ctx->state == ISC_ST_CONNECTING && (a & 0x18)) {
		off_wire(&r->m);
		if (a & 8) {
			tgt_relogin(r->ctx, lfd, &r->m.tp, &r->m.neg);
		} else {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			isc_service(r->ctx, POLLOUT | POLLIN);
		}
		drain(&r->m);
	}
}

static void rec_abort(struct run *r)
{
	int k;
	struct mtask *t = pick(r, &k);
	uint8_t a = u8(&r->in);

	if (t)
		isc_task_abort(r->ctx, t->id, a & 1 ? ISC_ERR_TIMEDOUT : ISC_ERR_CANCELLED);
	drain(&r->m);
}

static isc_ctx *start(struct run *r)
{
	struct isc_config c;
	struct isc_negotiated *n = &r->m.neg;
	uint8_t b0 = u8(&r->in), b1 = u8(&r->in);
	int sv[2];

	ffp_config(&c);
	ffp_neg(n);
	n->header_digest = b0 & 1;
	n->data_digest = (b0 >> 1) & 1;
	n->immediate_data = (b0 >> 2) & 1;
	n->initial_r2t = (b0 >> 3) & 1;
	n->max_recv_data_segment_length = b0 & 0x80 ? 8192 : 262144;
	n->max_xmit_data_segment_length = XMIT[b1 & 3];
	n->max_burst_length = BURST[(b1 >> 4) & 3];
	n->first_burst_length = FIRST[(b1 >> 2) & 3];
	if (n->first_burst_length > n->max_burst_length)
		n->first_burst_length = n->max_burst_length;
	c.max_reconnects = (b0 >> 4) & 1;
	c.async_logout_close = (b0 >> 5) & 1;
	c.defer_send = (b0 >> 6) & 1;
	c.header_digest = n->header_digest ? ISC_DIGEST_CRC32C : ISC_DIGEST_NONE;
	c.data_digest = n->data_digest ? ISC_DIGEST_CRC32C : ISC_DIGEST_NONE;
	c.max_recv_data_segment_length = n->max_recv_data_segment_length;
	/* The relogin answers with these values: they must be within our offer. */
	c.max_burst_length = 262144;
	c.first_burst_length = 65536;
	if (lfd < 0)
		lfd = tgt_listen(&c);
	else {
		socklen_t alen = sizeof(c.addr);
		getsockname(lfd, (struct sockaddr *)&c.addr, &alen);
		c.addrlen = alen;
	}
	FZ_ASSERT(lfd >= 0 && ffp_unix_pair(sv) == 0);
	/* Dials left over from the previous input. */
	for (int fd; (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close(fd);
	r->ctx = ffp_attach(&c, n, sv[0]);
	FZ_ASSERT(r->ctx != NULL);
	r->ctx->next_itt = 1; /* reproducible task tags */
	tgt_init(&r->m.tp, sv[1], r->ctx->dg);
	return r->ctx;
}

static void finish(struct run *r)
{
	struct model *m = &r->m;

	isc_ctx_free(r->ctx); /* every pending callback runs (ISC_ERR_CLOSED) */
	m->freed = 1;
	for (int k = 0; k < m->n; k++) {
		struct mtask *t = &m->t[k];
		FZ_ASSERT(t->calls == 1);
		check_guards(t);
		/* Re-poisoned at completion: nothing wrote there since. */
		if (t->area)
			FZ_ASSERT(all_byte(t->area + GUARD, t->len, POISON));
		free(t->area);
		free(t->covered);
		free(t->out);
	}
	if (m->tp.fd >= 0)
		close(m->tp.fd);
	tgt_free(&m->tp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;

	memset(&r, 0, sizeof(r));
	r.in.p = data;
	r.in.n = size;
	cb_model = &r.m;
	start(&r);
	for (int steps = 0; r.in.pos < r.in.n && steps < 256; steps++) {
		uint8_t op = u8(&r.in);
		switch (op & 15) {
		case R_READ: submit(&r, ISC_DIR_READ, u8(&r.in)); break;
		case R_WRITE: submit(&r, ISC_DIR_WRITE, u8(&r.in)); break;
		case R_DATA_IN: rec_data_in(&r); break;
		case R_DATA_IN_ALL: rec_data_in_all(&r); break;
		case R_SCSI_RSP: rec_scsi_rsp(&r); break;
		case R_R2T: rec_r2t(&r); break;
		case R_NOP_IN: rec_nop_in(&r); break;
		case R_ASYNC: rec_async(&r); break;
		case R_REJECT: rec_reject(&r); break;
		case R_LOGOUT_RSP: rec_logout_rsp(&r); break;
		case R_TMF_RSP: rec_tmf_rsp(&r); break;
		case R_RAW: rec_raw(&r); break;
		case R_TIME: rec_time(&r); break;
		case R_ABORT: rec_abort(&r); break;
		default: break;
		}
		drain(&r.m);
		if (!(op & 0x80))
			pump(&r);
		for (int k = 0; k < r.m.n; k++)
			check_guards(&r.m.t[k]);
	}
	finish(&r);
	return 0;
}
