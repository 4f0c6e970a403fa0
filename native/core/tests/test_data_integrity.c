/*
 * A READ completes GOOD only with bytes the target really sent, at the
 * place it sent them; a WRITE sends only what an R2T in sequence asked for.
 * The context is put into Full Feature Phase by hand on a socket pair and
 * the test plays the target. With DataPDUInOrder and DataSequenceInOrder
 * Yes (RFC 7143 sections 13.19, 13.20) each Data-In must start where the
 * previous one ended and each R2T must ask for the next bytes (11.8.4), so
 * a hole, an overlap or a lying residual (11.4.5) is a protocol error.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scsi_fixture.h"

#define K16 16384u
#define K64 65536u
#define GUARD 64u
#define POISON 0x11

static const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 128, 0 };
static const uint8_t write10[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 128, 0 };

/* Data the target sends at offset o: high bit set, so never POISON, and
 * position-dependent, so data placed at the wrong offset shows. */
static uint8_t pat(size_t o)
{
	return (uint8_t)(0x80 | ((o * 7 + (o >> 9) * 3) & 0x7f));
}

static int all_pat(const uint8_t *b, size_t from, size_t to)
{
	for (size_t o = from; o < to; o++)
		if (b[o] != pat(o))
			return 0;
	return 1;
}

static int all_byte(const uint8_t *b, size_t from, size_t to, uint8_t v)
{
	for (size_t o = from; o < to; o++)
		if (b[o] != v)
			return 0;
	return 1;
}

/* Writing fails only once the context has dropped the connection (after a
 * violation the rest of a scenario goes nowhere). */
static void sent(struct fx *f, int rc)
{
	if (rc != 0)
		CHECK_EQ_INT(isc_get_fd(f->ctx), -1);
}

/* The caller's read buffer inside guards that must never change. */
static uint8_t area[GUARD + K64 + GUARD];
#define RBUF (area + GUARD)

static uint32_t submit_read(struct fx *f, struct done *d, int core_buffer)
{
	struct isc_scsi_cmd c = { .lun = 0, .cdb = read10, .cdb_len = 10, .dir = ISC_DIR_READ,
				  .data_in = RBUF, .in_len = K64 };

	memset(area, POISON, sizeof(area));
	memset(d, 0, sizeof(*d));
	d->in_len = K64;
	if (core_buffer)
		CHECK_EQ_INT(isc_scsi_async(f->ctx, 0, read10, 10, ISC_DIR_READ, NULL, 0, K64,
					    fx_on_done, d),
			     ISC_OK);
	else
		CHECK_EQ_INT(isc_scsi_submit(f->ctx, &c, fx_on_done, d, NULL), ISC_OK);
	return fx_cmd_itt(f);
}

/* A context in FFP (no reinstatement) with a 64 KiB READ into the
 * caller's buffer outstanding; returns its ITT. */
static uint32_t begin_read(struct fx *f, struct done *d)
{
	memset(f, 0, sizeof(*f));
	CHECK_EQ_INT(fx_start(f, 0, 0), 0);
	return submit_read(f, d, 0);
}

static void end_read(struct fx *f, struct done *d)
{
	fx_stop(f);
	free(d->copy);
	d->copy = NULL;
}

/* Data-In with the pattern for [off, off+len). */
static void data_in(struct fx *f, uint32_t itt, uint32_t datasn, uint32_t off, uint32_t len,
		    uint8_t flags, uint8_t status, uint32_t residual)
{
	uint8_t bhs[ISC_BHS_LEN];
	uint8_t *d = malloc(len ? len : 1);

	for (uint32_t i = 0; i < len; i++)
		d[i] = pat(off + i);
	tgt_data_in(&f->tp, bhs, itt, datasn, off, flags, status, residual);
	sent(f, tgt_send(&f->tp, bhs, d, len));
	free(d);
	fx_service(f);
}

/* The same, arriving in pieces: the header alone first (the context then
 * receives the data straight into the task's buffer, direct.c), then the
 * data in `pieces` parts, each followed by a service call. */
static void data_in_split(struct fx *f, uint32_t itt, uint32_t datasn, uint32_t off,
			  uint32_t len, uint8_t flags, int pieces)
{
	uint8_t bhs[ISC_BHS_LEN];
	uint8_t *d = malloc(len);
	size_t wlen = 0, hlen = ISC_BHS_LEN + (f->tp.dg.header ? ISC_DIGEST_LEN : 0), at;
	uint8_t *w;

	for (uint32_t i = 0; i < len; i++)
		d[i] = pat(off + i);
	tgt_data_in(&f->tp, bhs, itt, datasn, off, flags, 0, 0);
	w = tgt_wire(&f->tp, bhs, d, len, &wlen);
	sent(f, tgt_write(&f->tp, w, hlen));
	fx_service(f);
	at = hlen;
	for (int i = 1; i <= pieces; i++) {
		size_t end = i == pieces ? wlen : hlen + (size_t)len * (size_t)i / (size_t)pieces;
		sent(f, tgt_write(&f->tp, w + at, end - at));
		at = end;
		fx_service(f);
	}
	free(w);
	free(d);
}

static void scsi_rsp(struct fx *f, uint32_t itt, uint8_t flags, uint8_t status,
		     uint32_t residual, const uint8_t *sense, size_t sense_len)
{
	uint8_t bhs[ISC_BHS_LEN], data[2 + 64];

	tgt_scsi_rsp(&f->tp, bhs, itt, flags, 0, status, residual);
	isc_put_be16(data, (uint16_t)sense_len);
	if (sense_len)
		memcpy(data + 2, sense, sense_len);
	sent(f, tgt_send(&f->tp, bhs, data, sense_len ? 2 + sense_len : 0));
	fx_service(f);
}

static int guards_intact(void)
{
	return all_byte(area, 0, GUARD, POISON) &&
	       all_byte(area, GUARD + K64, sizeof(area), POISON);
}

/* One Data-In or SCSI Response of a READ scenario. */
struct step {
	uint32_t off, len;
	uint8_t flags;         /* Data-In F/S/U/O; for a response its U/O */
	uint32_t residual;
	int response;          /* 1: a SCSI Response (GOOD) instead of a Data-In */
};

#define F ISC_FLAG_FINAL
#define S (ISC_FLAG_FINAL | ISC_FLAG_DATAIN_STATUS)
#define U ISC_FLAG_UNDERFLOW
#define O ISC_FLAG_OVERFLOW

/* A Data-In (off, len, flags, residual), or a SCSI Response (flags, residual). */
#define D(o, l, fl, r) { (o), (l), (fl), (r), 0 }
#define R(fl, r) { 0, 0, (fl), (r), 1 }

struct read_case {
	const char *name;
	struct step steps[6];
	int nsteps;
	int status;            /* expected callback status */
	size_t data_len;       /* for ISC_OK */
	int drop;              /* 1 the connection must be dropped, 0 kept, -1 either */
};

static const struct read_case read_cases[] = {
	{ "a in order",
	  { D(0, K16, 0, 0), D(K16, K16, 0, 0), D(2 * K16, K16, 0, 0), D(3 * K16, K16, S, 0) },
	  4, ISC_OK, K64, 0 },
	{ "b hole, DataSN consecutive", { D(0, K16, 0, 0), D(2 * K16, K16, 0, 0), D(3 * K16, K16, S, 0) },
	  3, ISC_ERR_PROTOCOL, 0, 1 },
	{ "c offsets 0,0,32K,48K",
	  { D(0, K16, 0, 0), D(0, K16, 0, 0), D(2 * K16, K16, 0, 0), D(3 * K16, K16, S, 0) },
	  4, ISC_ERR_PROTOCOL, 0, 1 },
	{ "d 48K then GOOD without residual",
	  { D(0, K16, 0, 0), D(K16, K16, 0, 0), D(2 * K16, K16, F, 0), R(0, 0) },
	  4, ISC_ERR_PROTOCOL, 0, 0 },
	{ "e 48K, U residual 16K",
	  { D(0, K16, 0, 0), D(K16, K16, 0, 0), D(2 * K16, K16, F, 0), R(U, K16) },
	  4, ISC_OK, 3 * K16, 0 },
	{ "e' 48K, S with U residual 16K",
	  { D(0, K16, 0, 0), D(K16, K16, 0, 0), D(2 * K16, K16, S | U, K16) }, 3, ISC_OK, 3 * K16, 0 },
	{ "f a PDU past EDTL",
	  { D(0, K16, 0, 0), D(K16, K16, 0, 0), D(2 * K16, K16, 0, 0), D(3 * K16, K16, 0, 0),
	    D(K64, 512, S, 0) },
	  5, ISC_ERR_PROTOCOL, 0, 1 },
	{ "g U and O both set",
	  { D(0, K16, 0, 0), D(K16, K16, 0, 0), D(2 * K16, K16, 0, 0), D(3 * K16, K16, S | U | O, 0) },
	  4, ISC_ERR_PROTOCOL, 0, -1 },
	{ "g' U residual above EDTL", { R(U, K64 + 1) }, 1, ISC_ERR_PROTOCOL, 0, -1 },
	{ "O with all data: GOOD", { D(0, K64, S | O, 4096) }, 1, ISC_OK, K64, 0 },
	{ "nothing sent, GOOD residual 0", { R(0, 0) }, 1, ISC_ERR_PROTOCOL, 0, 0 },
};

static void run_read_case(const struct read_case *rc, int core_buffer)
{
	struct fx f;
	struct done d;
	uint32_t itt, datasn = 0;

	memset(&f, 0, sizeof(f));
	CHECK_EQ_INT(fx_start(&f, 0, 0), 0);
	itt = submit_read(&f, &d, core_buffer);
	for (int i = 0; i < rc->nsteps; i++) {
		const struct step *s = &rc->steps[i];
		if (s->response)
			scsi_rsp(&f, itt, s->flags, 0, s->residual, NULL, 0);
		else
			data_in(&f, itt, datasn++, s->off, s->len, s->flags, 0, s->residual);
	}
	if (d.calls != 1 || d.status != rc->status)
		fprintf(stderr, "read case '%s'%s: %d calls, status %d (want %d)\n", rc->name,
			core_buffer ? " (core buffer)" : "", d.calls, d.status, rc->status);
	CHECK_EQ_INT(d.calls, 1);
	CHECK_EQ_INT(d.status, rc->status);
	CHECK(guards_intact());
	if (d.status == ISC_OK && rc->status == ISC_OK && d.have_result) {
		CHECK_EQ_INT(d.res.status, 0);
		CHECK_EQ_INT(d.res.data_len, rc->data_len);
		CHECK(d.copy && all_pat(d.copy, 0, rc->data_len));
		/* Nothing past data_len came from the target: the caller's
		 * buffer keeps its bytes, the core's is zero there. */
		CHECK(d.copy && all_byte(d.copy, rc->data_len, K64, core_buffer ? 0 : POISON));
		CHECK_EQ_INT(d.res.data_borrowed, !core_buffer);
	}
	if (rc->drop >= 0)
		CHECK_EQ_INT(fx_dropped(&f), rc->drop);
	end_read(&f, &d);
}

static void test_read_cases(void)
{
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
		run_read_case(&read_cases[i], 0);
		run_read_case(&read_cases[i], 1);
	}
}

/* With max_reconnects 0 the other commands pending on a connection dropped
 * for a protocol violation fail with ISC_ERR_IO. */
static void test_violation_fails_others(void)
{
	struct fx f;
	struct done bad, other;
	struct isc_scsi_cmd c = { .cdb = read10, .cdb_len = 10, .dir = ISC_DIR_READ, .in_len = 4096 };
	uint32_t itt;

	itt = begin_read(&f, &bad);
	memset(&other, 0, sizeof(other));
	CHECK_EQ_INT(isc_scsi_submit(f.ctx, &c, fx_on_done, &other, NULL), ISC_OK);
	data_in(&f, itt, 0, K16, K16, 0, 0, 0); /* should start at 0 */
	CHECK_EQ_INT(bad.calls, 1);
	CHECK_EQ_INT(bad.status, ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(other.calls, 1);
	CHECK_EQ_INT(other.status, ISC_ERR_IO);
	CHECK(all_byte(RBUF, 0, K64, POISON)); /* not a byte placed */
	fx_stop(&f);
}

static void test_check_condition(void)
{
	static const uint8_t sense[18] = { 0x70, 0, 0x03, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0x00 };
	struct fx f;
	struct done d;
	uint32_t itt;

	itt = begin_read(&f, &d);
	data_in(&f, itt, 0, 0, K16, 0, 0, 0);
	scsi_rsp(&f, itt, 0, 2, 0, sense, sizeof(sense));
	CHECK_EQ_INT(d.calls, 1);
	CHECK_EQ_INT(d.status, ISC_OK);
	CHECK_EQ_INT(d.res.status, 2);
	CHECK_EQ_INT(d.res.data_len, K16);
	CHECK_EQ_INT(d.res.sense_len, sizeof(sense));
	CHECK_MEM(d.res.sense, sense, sizeof(sense));
	CHECK(d.copy && all_pat(d.copy, 0, K16) && all_byte(d.copy, K16, K64, POISON));
	CHECK_EQ_INT(fx_dropped(&f), 0);
	end_read(&f, &d);
}

/* Large Data-In received straight into the buffer follow the same rules. */
static void test_direct_placement(void)
{
	struct fx f;
	struct done d;
	uint32_t itt;

	/* One 64 KiB PDU in four pieces: placed, and GOOD. */
	itt = begin_read(&f, &d);
	data_in_split(&f, itt, 0, 0, K64, S, 4);
	CHECK_EQ_INT(d.status, ISC_OK);
	CHECK_EQ_INT(d.res.data_len, K64);
	CHECK(d.copy && all_pat(d.copy, 0, K64));
	end_read(&f, &d);

	/* A hole: 0..16K, then 32K..64K. Not a byte of the second is placed. */
	itt = begin_read(&f, &d);
	data_in_split(&f, itt, 0, 0, K16, 0, 2);
	data_in_split(&f, itt, 1, 2 * K16, 2 * K16, S, 2);
	CHECK_EQ_INT(d.calls, 1);
	CHECK_EQ_INT(d.status, ISC_ERR_PROTOCOL);
	CHECK(all_pat(RBUF, 0, K16) && all_byte(RBUF, K16, K64, POISON));
	CHECK(guards_intact());
	CHECK_EQ_INT(fx_dropped(&f), 1);
	end_read(&f, &d);

	/* An overlap: 0..32K twice, then 32K..64K. */
	itt = begin_read(&f, &d);
	data_in_split(&f, itt, 0, 0, 2 * K16, 0, 2);
	data_in_split(&f, itt, 1, 0, 2 * K16, 0, 2);
	data_in_split(&f, itt, 2, 2 * K16, 2 * K16, S, 2);
	CHECK_EQ_INT(d.calls, 1);
	CHECK_EQ_INT(d.status, ISC_ERR_PROTOCOL);
	CHECK(guards_intact());
	end_read(&f, &d);
}

/* ---- WRITE ---- */

static uint8_t wbuf[K64];

struct wire_out {
	int pdus;              /* Data-Out PDUs seen */
	int bad;               /* ones outside [0, 64K) or not the caller's bytes */
	size_t bytes;
};

static void read_data_out(struct fx *f, uint32_t itt, struct wire_out *w)
{
	struct isc_pdu p;

	while (tgt_recv(&f->tp, &p) == 1) {
		uint32_t off;
		if (isc_pdu_opcode(&p) != ISC_OP_DATA_OUT)
			continue;
		off = isc_pdu_u32(&p, ISC_OFF_BUFOFF);
		w->pdus++;
		w->bytes += p.data_len;
		if (isc_pdu_u32(&p, ISC_OFF_ITT) != itt || off > K64 || p.data_len > K64 - off ||
		    memcmp(p.data, wbuf + off, p.data_len) != 0)
			w->bad++;
	}
}

static void r2t(struct fx *f, uint32_t itt, uint32_t r2tsn, uint32_t off, uint32_t len)
{
	uint8_t bhs[ISC_BHS_LEN];

	tgt_r2t(&f->tp, bhs, itt, 0x1000 + r2tsn, r2tsn, off, len);
	sent(f, tgt_send(&f->tp, bhs, NULL, 0));
	fx_service(f);
}

/* A 64 KiB WRITE with `first` bytes of immediate data (0: InitialR2T=Yes,
 * no unsolicited data) and MaxBurstLength `burst`. */
static uint32_t start_write(struct fx *f, struct done *d, uint32_t first, uint32_t burst,
			    struct wire_out *w, int defer_send)
{
	struct isc_scsi_cmd c = { .cdb = write10, .cdb_len = 10, .dir = ISC_DIR_WRITE,
				  .data_out = wbuf, .out_len = K64 };
	struct isc_pdu p;
	uint32_t itt = ISC_RESERVED_TAG;

	for (size_t i = 0; i < K64; i++)
		wbuf[i] = pat(i);
	memset(f, 0, sizeof(*f));
	ffp_neg(&f->neg);
	f->neg.immediate_data = first != 0;
	f->neg.initial_r2t = 1;
	f->neg.first_burst_length = first ? first : 65536;
	f->neg.max_burst_length = burst;
	f->defer_send = defer_send;
	CHECK_EQ_INT(fx_start(f, 0, 0), 0);
	memset(d, 0, sizeof(*d));
	memset(w, 0, sizeof(*w));
	CHECK_EQ_INT(isc_scsi_submit(f->ctx, &c, fx_on_done, d, NULL), ISC_OK);
	if (defer_send)
		isc_service(f->ctx, 0); /* pushes the queued command */
	if (fx_next(f, ISC_OP_SCSI_CMD, &p)) {
		itt = isc_pdu_u32(&p, ISC_OFF_ITT);
		CHECK_EQ_INT(p.data_len, first);
		CHECK(p.data_len == 0 || memcmp(p.data, wbuf, p.data_len) == 0);
	}
	return itt;
}

static void test_write_good(void)
{
	struct fx f;
	struct done d;
	struct wire_out w;
	uint32_t itt = start_write(&f, &d, 0, 32768, &w, 0);

	r2t(&f, itt, 0, 0, 32768);
	r2t(&f, itt, 1, 32768, 32768);
	read_data_out(&f, itt, &w);
	CHECK_EQ_INT(w.bad, 0);
	CHECK_EQ_INT(w.bytes, K64);
	scsi_rsp(&f, itt, 0, 0, 0, NULL, 0);
	CHECK_EQ_INT(d.calls, 1);
	CHECK_EQ_INT(d.status, ISC_OK);
	fx_stop(&f);

	/* 16 KiB immediate data: the first R2T asks for 16K onwards. */
	itt = start_write(&f, &d, K16, 65536, &w, 0);
	r2t(&f, itt, 0, K16, K64 - K16);
	read_data_out(&f, itt, &w);
	CHECK_EQ_INT(w.bad, 0);
	CHECK_EQ_INT(w.bytes, K64 - K16);
	scsi_rsp(&f, itt, 0, 0, 0, NULL, 0);
	CHECK_EQ_INT(d.status, ISC_OK);
	fx_stop(&f);
}

struct r2t_case {
	const char *name;
	uint32_t first, burst;
	uint32_t r2tsn, off, len;
	int before;            /* 1: a valid R2T for 0..16K (R2TSN 0) first */
};

static const struct r2t_case r2t_cases[] = {
	{ "wrong offset", 0, 65536, 0, 4096, 4096, 0 },
	{ "wrong R2TSN", 0, 65536, 1, 0, 4096, 0 },
	{ "beyond EDTL", 0, 131072, 0, 0, K64 + 512, 0 },
	{ "zero length", 0, 65536, 0, 0, 0, 0 },
	{ "above MaxBurstLength", 0, 32768, 0, 0, K64, 0 },
	{ "over the immediate data", K16, 65536, 0, 0, K16, 0 },
	{ "repeats the previous range", 0, 65536, 1, 0, K16, 1 },
	{ "R2TSN repeated", 0, 65536, 0, K16, K16, 1 },
};

static void test_write_bad_r2t(void)
{
	for (size_t i = 0; i < sizeof(r2t_cases) / sizeof(r2t_cases[0]); i++) {
		const struct r2t_case *rc = &r2t_cases[i];
		struct fx f;
		struct done d;
		struct wire_out w;
		uint32_t itt = start_write(&f, &d, rc->first, rc->burst, &w, 0);
		int good_pdus;

		if (rc->before)
			r2t(&f, itt, 0, 0, K16);
		read_data_out(&f, itt, &w);
		good_pdus = w.pdus;
		r2t(&f, itt, rc->r2tsn, rc->off, rc->len);
		read_data_out(&f, itt, &w);
		if (d.status != ISC_ERR_PROTOCOL || w.pdus != good_pdus)
			fprintf(stderr, "R2T case '%s': status %d, %d Data-Out after it\n", rc->name,
				d.status, w.pdus - good_pdus);
		CHECK_EQ_INT(d.calls, 1);
		CHECK_EQ_INT(d.status, ISC_ERR_PROTOCOL);
		CHECK_EQ_INT(w.pdus, good_pdus); /* nothing sent for the bad R2T */
		CHECK_EQ_INT(w.bad, 0);
		CHECK_EQ_INT(fx_dropped(&f), 1);
		fx_stop(&f);
	}
}

/* The target ends a WRITE early: an R2T, then at once a SCSI Response
 * (CHECK CONDITION), read in one isc_service(). With cfg.defer_send the
 * Data-Out for the R2T are still queued (by reference to the caller's
 * buffer) when the response completes the command; none may go out after
 * the callback, which may have freed the buffer (found by fuzz_engine as a
 * heap-use-after-free in sendmsg). */
static void test_write_ended_early(void)
{
	struct fx f;
	struct done d;
	struct wire_out w;
	uint8_t bhs[ISC_BHS_LEN];
	uint32_t itt = start_write(&f, &d, 0, 65536, &w, 1);

	tgt_r2t(&f.tp, bhs, itt, 0x1000, 0, 0, K64);
	CHECK_EQ_INT(tgt_send(&f.tp, bhs, NULL, 0), 0);
	tgt_scsi_rsp(&f.tp, bhs, itt, 0, 0, 2, 0);
	CHECK_EQ_INT(tgt_send(&f.tp, bhs, NULL, 0), 0);
	fx_service(&f);
	CHECK_EQ_INT(d.calls, 1);
	CHECK_EQ_INT(d.status, ISC_OK);
	CHECK_EQ_INT(d.res.status, 2);
	read_data_out(&f, itt, &w);
	CHECK_EQ_INT(w.pdus, 0);
	fx_stop(&f);
}

int main(void)
{
	test_read_cases();
	test_violation_fails_others();
	test_check_condition();
	test_direct_placement();
	test_write_good();
	test_write_bad_r2t();
	test_write_ended_early();
	return check_finish();
}
