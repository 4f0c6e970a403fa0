/*
 * A context in Full Feature Phase without a target: the state a login
 * would leave, set by hand on one end of a connected socket, so a test (or
 * the engine fuzzer) can play the target by writing PDUs into the other
 * end. Header-only: every test and fuzz target is built from one .c file.
 */
#ifndef ISC_TEST_FFP_PAIR_H
#define ISC_TEST_FFP_PAIR_H

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctx.h"
#include "isc/iscsi.h"

/* A normal-session configuration with names and a (never dialled unless
 * the session reinstates) portal. */
static inline void ffp_config(struct isc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->session_type = ISC_SESSION_NORMAL;
	c->initiator_name = "iqn.2026-11.org.example:init";
	c->target_name = "iqn.2026-11.org.example:target";
	isc_parse_numeric_portal("127.0.0.1", 3260, &c->addr, &c->addrlen);
}

/* What a login with our default offer typically settles on. */
static inline void ffp_neg(struct isc_negotiated *n)
{
	memset(n, 0, sizeof(*n));
	n->max_xmit_data_segment_length = 262144;
	n->max_recv_data_segment_length = 262144;
	n->max_burst_length = 262144;
	n->first_burst_length = 65536;
	n->immediate_data = 1;
	n->initial_r2t = 0;
	n->data_pdu_in_order = 1;
	n->data_sequence_in_order = 1;
	n->max_outstanding_r2t = 1;
	n->max_connections = 1;
	n->default_time2wait = 2;
	n->tsih = 1;
}

/* A connected AF_UNIX stream pair, both ends non-blocking, with buffers
 * large enough for a few 64 KiB PDUs each way. */
static inline int ffp_unix_pair(int sv[2])
{
	int big = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		fcntl(sv[i], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/* A context for `c` in FFP on `fd` (taken over; closed on failure) with
 * the values *n in force, as if it had just logged in. */
static inline isc_ctx *ffp_attach(const struct isc_config *c, const struct isc_negotiated *n,
				  int fd)
{
	isc_ctx *ctx = NULL;

	if (isc_ctx_new(c, &ctx) != ISC_OK) {
		close(fd);
		return NULL;
	}
	ctx->fd = fd;
	ctx->fd_generation++;
	isc_rxwake_reset(ctx);
	ctx->neg = *n;
	ctx->dg.header = n->header_digest;
	ctx->dg.data = n->data_digest;
	ctx->rx.dg = ctx->dg;
	ctx->rx.max_data_len = n->max_recv_data_segment_length;
	ctx->rx.no_scrub = 1;
	{
		/* The login's responses would have allocated the receive buffer. */
		size_t room;
		isc_rx_space(&ctx->rx, 1, &room);
	}
	ctx->cmdsn = 1;
	ctx->exp_cmdsn = 1;
	ctx->max_cmdsn = 1000;
	ctx->state = ISC_ST_FFP;
	ctx->ever_logged_in = 1; /* a lost connection may be reinstated */
	return ctx;
}

#endif
