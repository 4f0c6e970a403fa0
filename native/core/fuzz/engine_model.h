/*
 * The oracle of fuzz_engine.c: what the fuzzer, playing the target, has
 * sent for each command, and the checks on what the engine does with it.
 *
 * Per command it keeps the Data-In sequence a correct initiator accepts
 * (RFC 7143 11.7: DataSN from 0, each BufferOffset exactly the bytes
 * received so far, since we negotiate DataPDUInOrder and
 * DataSequenceInOrder Yes, 13.19/13.20) and the R2T sequence (11.8: R2TSN
 * from 0, each asking for the next bytes). Every byte the fuzzer sends for
 * a READ at offset o is content(k, o), high bit set; the caller's buffers
 * start as POISON (high bit clear) between CANARY guards, so a byte the
 * target never sent, or sent elsewhere, cannot pass for data.
 *
 * Checked (abort() on violation, which libFuzzer reports as a crash):
 * each callback runs once and never after isc_ctx_free(); a GOOD READ has
 * exactly the bytes its status and residual claim, all sent at that place;
 * a READ never completes OK after the model saw the target break the
 * sequence; canaries never change; a buffer is not written after its
 * callback; every Data-Out byte lies inside its command's data at the
 * offset it came from, answers an R2T that was in sequence (or is
 * unsolicited, within FirstBurstLength) and is not sent for a finished
 * command or a READ.
 */
#ifndef ISC_FUZZ_ENGINE_MODEL_H
#define ISC_FUZZ_ENGINE_MODEL_H

#include <stdlib.h>
#include <string.h>

#include "../tests/tgt_pdu.h"
#include "ctx.h"

#define FZ_ASSERT(c) do { if (!(c)) abort(); } while (0)

#define MAX_TASKS 12
#define GUARD 32
#define POISON 0x2e
#define CANARY 0x3c
#define MAX_R2T 8

struct r2t_range {
	uint32_t ttt;
	size_t off, len;
	int bad;               /* out of sequence: nothing may answer it */
};

struct mtask {
	int dir;               /* ISC_DIR_READ / ISC_DIR_WRITE */
	size_t len;            /* in_len or out_len (EDTL) */
	int core;              /* isc_scsi_async: the core owns the buffers */
	uint8_t *area;         /* READ, caller's buffer: GUARD + len + GUARD */
	uint8_t *out;          /* WRITE, caller's buffer (freed at completion) */
	uint8_t *covered;      /* READ: byte o was sent by the fuzzer */
	const uint8_t *expect; /* content(k, o) (WRITE: content(k + 100, o)) */
	uint32_t id;
	int calls;
	int status;
	/* On the current connection (reset when its command goes out). */
	int on_wire;
	uint32_t itt;
	uint32_t datasn;
	size_t rcv;            /* READ: bytes received in sequence */
	int nstatus;           /* status PDUs sent: after the first, the rest is noise */
	uint8_t st_flags, st_status;
	uint32_t st_residual;
	int violated;          /* the target broke the sequence for this command */
	uint32_t r2tsn;
	size_t next_off;       /* WRITE: bytes sent or solicited so far */
	struct r2t_range r2t[MAX_R2T];
	int nr2t;
	uint32_t tmf_itt;
};

struct model {
	struct mtask t[MAX_TASKS];
	int n;
	struct tgt_peer tp;
	struct isc_negotiated neg;
	int tainted;           /* raw bytes sent: content checks are off */
	int freed;             /* isc_ctx_free() returned */
	uint32_t logout_itt, ping_itt;
	uint32_t next_ttt;
};

static inline uint8_t content(int k, size_t o)
{
	uint32_t x = (uint32_t)o * 0x9E3779B1u + (uint32_t)k * 0x85EBCA77u;
	x ^= x >> 15;
	x *= 0x2C1B3C6Du;
	x ^= x >> 12;
	return (uint8_t)(0x80 | (x & 0x7f));
}

/* (memcmp, not a loop: comparisons in loops are traced per byte.) */
static inline int all_byte(const uint8_t *b, size_t n, uint8_t v)
{
	return n == 0 || (b[0] == v && memcmp(b, b + 1, n - 1) == 0);
}

/* content(k, 0..PATTERN_LEN) for a READ's task k, or for a WRITE's
 * (write = 1), computed once per process: filling 64 KiB byte by byte on
 * every run would cost more than the run. */
#define PATTERN_LEN 65536
static inline const uint8_t *pattern(int k, int write)
{
	static uint8_t *tab[2][MAX_TASKS];
	uint8_t **p = &tab[write][k];

	if (!*p) {
		*p = malloc(PATTERN_LEN);
		FZ_ASSERT(*p != NULL);
		for (size_t o = 0; o < PATTERN_LEN; o++)
			(*p)[o] = content(write ? k + 100 : k, o);
	}
	return *p;
}

static inline struct mtask *by_itt(struct model *m, uint32_t itt)
{
	for (int k = 0; k < m->n; k++)
		if (m->t[k].on_wire && m->t[k].itt == itt)
			return &m->t[k];
	return NULL;
}

static inline void off_wire(struct model *m)
{
	for (int k = 0; k < m->n; k++)
		m->t[k].on_wire = 0;
}

/* A SCSI Command went out: the command's sequences start over. The task
 * index travels in the CDB (bytes 2..5, the LBA). */
static inline void saw_command(struct model *m, const struct isc_pdu *p)
{
	uint32_t k = isc_get_be32(p->bhs + ISC_OFF_CDB + 2);
	struct mtask *t;

	FZ_ASSERT(k < (uint32_t)m->n);
	t = &m->t[k];
	FZ_ASSERT(t->calls == 0);
	FZ_ASSERT(isc_pdu_u32(p, ISC_OFF_EDTL) == t->len);
	memset(&t->on_wire, 0, sizeof(*t) - offsetof(struct mtask, on_wire));
	t->on_wire = 1;
	t->itt = isc_pdu_u32(p, ISC_OFF_ITT);
	FZ_ASSERT(p->data_len == 0 || t->dir == ISC_DIR_WRITE);
	if (p->data_len) {
		FZ_ASSERT(m->neg.immediate_data && p->data_len <= t->len &&
			  p->data_len <= m->neg.first_burst_length);
		FZ_ASSERT(memcmp(p->data, t->expect, p->data_len) == 0);
	}
	t->next_off = p->data_len;
}

static inline void saw_data_out(struct model *m, const struct isc_pdu *p)
{
	uint32_t itt = isc_pdu_u32(p, ISC_OFF_ITT), ttt = isc_pdu_u32(p, ISC_OFF_TTT);
	size_t off = isc_pdu_u32(p, ISC_OFF_BUFOFF);
	struct mtask *t = by_itt(m, itt);

	FZ_ASSERT(t != NULL); /* not for a finished command (nor an unknown one) */
	FZ_ASSERT(t->dir == ISC_DIR_WRITE && t->calls == 0);
	FZ_ASSERT(off <= t->len && p->data_len <= t->len - off);
	FZ_ASSERT(!p->data_len || memcmp(p->data, t->expect + off, p->data_len) == 0);
	if (ttt == ISC_RESERVED_TAG) {
		/* Unsolicited: only with InitialR2T=No, within FirstBurstLength. */
		FZ_ASSERT(!m->neg.initial_r2t && off + p->data_len <= m->neg.first_burst_length);
		if (off + p->data_len > t->next_off)
			t->next_off = off + p->data_len;
		return;
	}
	for (int i = 0; i < t->nr2t; i++) {
		if (t->r2t[i].ttt != ttt)
			continue;
		FZ_ASSERT(!t->r2t[i].bad);
		FZ_ASSERT(off >= t->r2t[i].off &&
			  off + p->data_len <= t->r2t[i].off + t->r2t[i].len);
		return;
	}
	abort(); /* a TTT the target never sent */
}

/* Reads and checks everything the engine wrote so far. */
static inline void drain(struct model *m)
{
	struct isc_pdu p;
	int rc;

	if (m->tp.fd < 0)
		return;
	while ((rc = tgt_recv(&m->tp, &p)) == 1) {
		switch (isc_pdu_opcode(&p)) {
		case ISC_OP_SCSI_CMD:
			saw_command(m, &p);
			break;
		case ISC_OP_DATA_OUT:
			saw_data_out(m, &p);
			break;
		case ISC_OP_TMF_REQ: {
			struct mtask *t = by_itt(m, isc_pdu_u32(&p, ISC_OFF_TTT));
			if (t)
				t->tmf_itt = isc_pdu_u32(&p, ISC_OFF_ITT);
			break;
		}
		case ISC_OP_LOGOUT_REQ:
			m->logout_itt = isc_pdu_u32(&p, ISC_OFF_ITT);
			break;
		case ISC_OP_NOP_OUT:
			if (isc_pdu_u32(&p, ISC_OFF_ITT) != ISC_RESERVED_TAG)
				m->ping_itt = isc_pdu_u32(&p, ISC_OFF_ITT);
			break;
		default:
			abort(); /* nothing else belongs in Full Feature Phase */
		}
	}
	FZ_ASSERT(rc == 0); /* the engine's PDUs parse, digests included */
	if (m->tp.eof)
		off_wire(m);
}

/* The fuzzer sent a Data-In for task t (DataSN, offset, length, flags). */
static inline void sent_data_in(struct mtask *t, int k, uint32_t datasn, size_t off,
				size_t len, uint8_t flags, uint8_t status, uint32_t residual)
{
	if (!t->on_wire || t->calls || t->nstatus || t->dir != ISC_DIR_READ)
		return;
	if (off < t->len)
		memset(t->covered + off, 1, len < t->len - off ? len : t->len - off);
	(void)k;
	/* DataSN counts every PDU, so "the right DataSN" stays available to
	 * the fuzzer after a misplaced one (a hole with consecutive DataSN). */
	if (datasn != t->datasn || off != t->rcv || off > t->len || len > t->len - off)
		t->violated = 1;
	if (datasn == t->datasn)
		t->datasn++;
	if (!t->violated)
		t->rcv += len;
	if (flags & ISC_FLAG_DATAIN_STATUS) {
		if (!(flags & ISC_FLAG_FINAL))
			t->violated = 1;
		t->nstatus++;
		t->st_flags = flags;
		t->st_status = status;
		t->st_residual = residual;
	}
}

/* The fuzzer sent an R2T: record whether it was in sequence (11.8). */
static inline void sent_r2t(struct model *m, struct mtask *t, uint32_t ttt, uint32_t r2tsn,
			    size_t off, size_t len)
{
	int ok;

	if (!t->on_wire || t->calls || t->nstatus || t->dir != ISC_DIR_WRITE || t->nr2t == MAX_R2T)
		return;
	ok = !t->violated && r2tsn == t->r2tsn && off == t->next_off && len > 0 &&
	     off <= t->len && len <= t->len - off && len <= m->neg.max_burst_length;
	t->r2t[t->nr2t].ttt = ttt;
	t->r2t[t->nr2t].off = off;
	t->r2t[t->nr2t].len = len;
	t->r2t[t->nr2t++].bad = !ok;
	if (!ok) {
		t->violated = 1;
		return;
	}
	t->r2tsn++;
	t->next_off = off + len;
}


/* A GOOD READ (response 0) holds what its status and residual claim
 * (11.4.5): EDTL - residual with U, EDTL with O or neither. */
static inline void check_claim(const struct mtask *t, const struct isc_scsi_result *r)
{
	size_t claim = t->len;

	FZ_ASSERT(!(r->underflow && r->overflow));
	if (r->underflow) {
		FZ_ASSERT(r->residual <= t->len);
		claim = t->len - r->residual;
	}
	FZ_ASSERT(r->data_len == claim);
}

static inline void check_read_result(struct model *m, int k, const struct isc_scsi_result *r)
{
	struct mtask *t = &m->t[k];
	const uint8_t *buf = t->core ? r->data : t->area + GUARD;

	FZ_ASSERT(r->data_len <= t->len);
	FZ_ASSERT(r->data_borrowed == !t->core);
	FZ_ASSERT(!t->len || r->data == buf);
	if (t->core && t->len)
		FZ_ASSERT(all_byte(buf + r->data_len, t->len - r->data_len, 0));
	if (m->tainted)
		return;
	FZ_ASSERT(!t->violated);
	FZ_ASSERT(r->data_len == t->rcv);
	if (r->status == 0 && r->response == 0)
		check_claim(t, r);
	if (t->nstatus == 1 && (t->st_flags & ISC_FLAG_DATAIN_STATUS)) {
		FZ_ASSERT(r->status == t->st_status && r->residual == t->st_residual);
		FZ_ASSERT(r->underflow == !!(t->st_flags & ISC_FLAG_UNDERFLOW));
		FZ_ASSERT(r->overflow == !!(t->st_flags & ISC_FLAG_OVERFLOW));
	}
	FZ_ASSERT(all_byte(t->covered, r->data_len, 1));
	FZ_ASSERT(!r->data_len || memcmp(buf, t->expect, r->data_len) == 0);
}

static inline void check_guards(const struct mtask *t)
{
	if (t->area) {
		FZ_ASSERT(all_byte(t->area, GUARD, CANARY));
		FZ_ASSERT(all_byte(t->area + GUARD + t->len, GUARD, CANARY));
	}
}

/* The model the callbacks check against (one run at a time); each
 * command's priv is its task index. */
static struct model *cb_model;

static inline void on_done(isc_ctx *ctx, int status, void *result, void *priv)
{
	struct model *m = cb_model;
	int k = (int)(intptr_t)priv;
	struct mtask *t = &m->t[k];

	(void)ctx;
	FZ_ASSERT(!m->freed && k >= 0 && k < m->n);
	/* What the engine wrote before this callback was written before it. */
	drain(m);
	FZ_ASSERT(++t->calls == 1);
	t->status = status;
	FZ_ASSERT((status == ISC_OK) == (result != NULL));
	if (result) {
		if (t->dir == ISC_DIR_READ)
			check_read_result(m, k, result);
		else if (!m->tainted)
			FZ_ASSERT(!t->violated);
		isc_scsi_result_free(result);
	}
	check_guards(t);
	/* The engine may not touch the buffers again: re-poison the read
	 * buffer (checked at the end), free the write buffer (ASan). */
	if (t->area)
		memset(t->area + GUARD, POISON, t->len);
	free(t->out);
	t->out = NULL;
	t->on_wire = 0;
}

#endif
