/*
 * Receive wakeup steering: SO_RCVLOWAT set from what the outstanding
 * commands will bring back, so the poller wakes once for several small
 * answers instead of once per answer.
 *
 * Why: a wakeup costs an epoll_wait() and a recv() plus the scheduler's
 * work; with many commands in flight against a busy target each answer
 * arrives on its own and the initiator pays that per command. TCP's poll
 * honours sk_rcvlowat (and, since Linux 4.19, does not even wake a reader
 * below it), so asking for "k answers' worth of bytes" is the kernel doing
 * interrupt coalescing for us, as a NIC's rx-usecs/rx-frames do.
 *
 * Safety (a lowat above what will arrive would stall the session):
 *  - Every outstanding command brings back at least one PDU header without
 *    any action of ours (its R2T, Data-In or SCSI Response: R2Ts are
 *    answered as soon as they arrive). So k <= outstanding headers always
 *    arrive.
 *  - Data bytes are only expected, not guaranteed (a READ can end in CHECK
 *    CONDITION without data). Whenever the wanted level exceeds what is
 *    certain, a deadline (ISC_RXWAKE_MAX_WAIT_MS) is armed; when it passes,
 *    the level drops to 1 until the next PDU is received. A stall costs at
 *    most that long, never the session.
 *  - FIN, RST and socket errors wake the poller whatever the level.
 *  - The level is at most 8 answers of ISC_RXWAKE_MAX_ANSWER (about
 *    128 KiB); the kernel grows the receive buffer to fit it.
 *
 * When: only with cfg.rx_coalesce, and only called right before the caller
 * waits on the fd (isc_prepare_wait), so the count of commands in flight is
 * the final one of the loop turn and the level rarely changes (each change
 * is one setsockopt()).
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "ctx.h"

/* Answers larger than this are not batched: their cost is the copy, not
 * the wakeup, and data left in the socket longer only makes the target's
 * writes wait (measured: 128 KiB READs at depth 32 were slower batched). */
#define ISC_RXWAKE_MAX_ANSWER (16u * 1024u)

/* Answers to wait for with n commands outstanding (0: do not coalesce).
 * Coarse steps so that the level does not move while a steady queue depth
 * refills (at depth 32, n swings between 24 and 32 and both give 8). */
static size_t answers_for(size_t n)
{
	if (n >= 24)
		return 8;
	if (n >= 12)
		return 4;
	if (n >= 6)
		return 2;
	return 0;
}

/* Bytes of the PDU whose header has been seen but whose data has not all
 * arrived: certain to come. */
size_t isc_rx_partial(const isc_ctx *ctx)
{
	const struct isc_direct *d = &ctx->direct;
	const struct isc_rx *rx = &ctx->rx;
	size_t hlen = ISC_BHS_LEN + (rx->dg.header ? ISC_DIGEST_LEN : 0);
	size_t avail = rx->len - rx->consumed;

	if (d->active)
		return (d->dsl - d->got) + (d->trail_len - d->trail_got);
	if (avail >= hlen) {
		const uint8_t *p = rx->buf + rx->consumed;
		size_t dsl = isc_get_be24(p + ISC_OFF_DSL);
		size_t total = hlen + (size_t)p[ISC_OFF_TOTAL_AHS] * 4 + isc_pad4(dsl) + dsl +
			       (dsl && rx->dg.data ? ISC_DIGEST_LEN : 0);
		return total > avail ? total - avail : 0;
	}
	return 0;
}

/* The level wanted now and how much of it is certain to arrive. */
static size_t wanted_level(const isc_ctx *ctx, size_t *certain)
{
	size_t hlen = ISC_BHS_LEN + (ctx->dg.header ? ISC_DIGEST_LEN : 0);
	size_t n = 0, smallest = (size_t)-1, k, want, left;

	*certain = 0;
	if (ctx->state != ISC_ST_FFP || ctx->rxwake_suspended)
		return 1; /* nothing to batch, or the stall deadline passed */
	for (const struct isc_task *t = ctx->tasks; t; t = t->next) {
		size_t b;
		if (t->kind != ISC_TASK_SCSI || !t->queued || t->aborting)
			continue;
		n++;
		b = hlen;
		if (t->dir == ISC_DIR_READ && t->in_cap)
			b += t->in_cap + (ctx->dg.data ? ISC_DIGEST_LEN : 0);
		if (b < smallest)
			smallest = b;
	}
	k = answers_for(n);
	/* Few commands in flight: nothing to batch. Waiting for the rest of
	 * a single answer would only stop our copying from overlapping the
	 * target's sending (measured: slower for one 128 KiB READ). */
	if (k == 0 || smallest > ISC_RXWAKE_MAX_ANSWER + hlen + ISC_DIGEST_LEN)
		return 1;
	left = isc_rx_partial(ctx);
	/* The answer being received counts as one of the k. */
	want = left ? left + (k - 1) * smallest : k * smallest;
	*certain = left + (left ? (k - 1) : k) * hlen;
	return want;
}

void isc_rxwake_reset(isc_ctx *ctx)
{
	ctx->rxwake_level = 1; /* a new socket starts at the kernel default */
	ctx->rxwake_deadline = 0;
	ctx->rxwake_suspended = 0;
}

void isc_rxwake_received(isc_ctx *ctx)
{
	ctx->rxwake_suspended = 0;
	ctx->rxwake_deadline = 0;
}

int isc_rxwake_expired(isc_ctx *ctx, int64_t now_ms)
{
	if (!ctx->rxwake_deadline || now_ms < ctx->rxwake_deadline)
		return 0;
	ctx->rxwake_deadline = 0;
	ctx->rxwake_suspended = 1;
	return 1;
}

int isc_rxwake_apply(isc_ctx *ctx)
{
	size_t certain = 0, want;
	int level, armed = 0;

	if (ctx->fd < 0 || ctx->state == ISC_ST_CONNECTING)
		return 0;
	want = ctx->cfg.rx_coalesce ? wanted_level(ctx, &certain) : 1;
	if (want <= certain || want == 1) {
		ctx->rxwake_deadline = 0;
	} else if (!ctx->rxwake_deadline) {
		ctx->rxwake_deadline = isc_now_ms() + ISC_RXWAKE_MAX_WAIT_MS;
		armed = 1;
	}
	level = (int)want;
	if (level != ctx->rxwake_level &&
	    setsockopt(ctx->fd, SOL_SOCKET, SO_RCVLOWAT, &level, sizeof(level)) == 0)
		ctx->rxwake_level = level;
	return armed;
}
