/*
 * One context in Full Feature Phase on a socket pair, its target end, and
 * recorders for what the context reports (command completions, session
 * events, Async Messages): the scaffolding the data-integrity and Async
 * Message tests share.
 */
#ifndef ISC_TEST_SCSI_FIXTURE_H
#define ISC_TEST_SCSI_FIXTURE_H

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "ffp_pair.h"
#include "tgt_login.h"
#include "tgt_pdu.h"

struct fx {
	isc_ctx *ctx;
	struct tgt_peer tp;
	struct isc_negotiated neg;
	int lfd;                     /* portal for a reinstatement (tgt_listen) */
	int defer_send;              /* cfg.defer_send */
	int events[8], codes[8];
	int nevents;
	int async_calls;
	struct isc_async_event async; /* the last one, pointers cleared */
	uint8_t async_sense[64];
	uint8_t async_data[64];
};

/* What a command's callback was given. */
struct done {
	int calls;
	int status;
	int have_result;
	struct isc_scsi_result res;  /* copy; res.data is `copy` below */
	uint8_t *copy;               /* the data buffer as the callback saw it */
	size_t in_len;               /* set by the test: bytes to copy */
};

static inline void fx_on_done(isc_ctx *ctx, int status, void *result, void *priv)
{
	struct done *d = priv;
	(void)ctx;
	d->calls++;
	d->status = status;
	if (!result)
		return;
	d->have_result = 1;
	d->res = *(struct isc_scsi_result *)result;
	free(d->copy);
	d->copy = NULL;
	if (d->res.data && d->in_len) {
		d->copy = malloc(d->in_len);
		if (d->copy)
			memcpy(d->copy, d->res.data, d->in_len);
	}
	d->res.data = d->copy;
	isc_scsi_result_free(result);
}

static inline void fx_on_event(isc_ctx *ctx, int event, int code, uint32_t attempt, void *user)
{
	struct fx *f = user;
	(void)ctx;
	(void)attempt;
	if (f->nevents < 8) {
		f->events[f->nevents] = event;
		f->codes[f->nevents++] = code;
	}
}

static inline void fx_on_async(isc_ctx *ctx, const struct isc_async_event *ev, void *user)
{
	struct fx *f = user;
	(void)ctx;
	f->async_calls++;
	f->async = *ev;
	memset(f->async_sense, 0, sizeof(f->async_sense));
	memset(f->async_data, 0, sizeof(f->async_data));
	if (ev->sense && ev->sense_len <= sizeof(f->async_sense))
		memcpy(f->async_sense, ev->sense, ev->sense_len);
	if (ev->data && ev->data_len <= sizeof(f->async_data))
		memcpy(f->async_data, ev->data, ev->data_len);
	f->async.sense = NULL;
	f->async.data = NULL;
}

/* A context in FFP with f->neg in force (set it before; all zero = the
 * ffp_neg values), reporting to the recorders above, with a listener as its
 * portal should it reinstate. 0 or -1. */
static inline int fx_start(struct fx *f, uint32_t max_reconnects, int async_logout_close)
{
	struct isc_config c;
	int sv[2];

	if (!f->neg.max_burst_length)
		ffp_neg(&f->neg);
	ffp_config(&c);
	c.max_reconnects = max_reconnects;
	c.async_logout_close = async_logout_close;
	c.defer_send = f->defer_send;
	c.event_fn = fx_on_event;
	c.event_user = f;
	c.async_fn = fx_on_async;
	c.async_user = f;
	c.header_digest = f->neg.header_digest ? ISC_DIGEST_CRC32C : ISC_DIGEST_NONE;
	c.data_digest = f->neg.data_digest ? ISC_DIGEST_CRC32C : ISC_DIGEST_NONE;
	f->lfd = tgt_listen(&c);
	if (f->lfd < 0 || ffp_unix_pair(sv) != 0)
		return -1;
	f->ctx = ffp_attach(&c, &f->neg, sv[0]);
	tgt_init(&f->tp, sv[1], f->ctx ? f->ctx->dg : (struct isc_digests){ 0, 0 });
	return f->ctx ? 0 : -1;
}

static inline void fx_stop(struct fx *f)
{
	if (f->ctx)
		isc_ctx_free(f->ctx);
	if (f->tp.fd >= 0)
		close(f->tp.fd);
	if (f->lfd >= 0)
		close(f->lfd);
	tgt_free(&f->tp);
	memset(f, 0, sizeof(*f));
}

/* Lets the context read what the target wrote. */
static inline void fx_service(struct fx *f)
{
	isc_service(f->ctx, POLLIN);
}

/* The next PDU the initiator sent with this opcode (others skipped), or 0
 * when there is none. */
static inline int fx_next(struct fx *f, uint8_t opcode, struct isc_pdu *out)
{
	int rc;
	while ((rc = tgt_recv(&f->tp, out)) == 1)
		if (isc_pdu_opcode(out) == opcode)
			return 1;
	return 0;
}

/* The connection was dropped: the target end reads end of stream. */
static inline int fx_dropped(struct fx *f)
{
	struct isc_pdu p;
	while (tgt_recv(&f->tp, &p) == 1)
		;
	return f->tp.eof;
}

/* ITT of the next SCSI Command on the wire, or ISC_RESERVED_TAG. */
static inline uint32_t fx_cmd_itt(struct fx *f)
{
	struct isc_pdu p;
	return fx_next(f, ISC_OP_SCSI_CMD, &p) ? isc_pdu_u32(&p, ISC_OFF_ITT) : ISC_RESERVED_TAG;
}

#endif
