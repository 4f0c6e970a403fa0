/*
 * Receive wakeup steering (rxwake.c) on a context put into Full Feature
 * Phase by hand over a TCP pair: the SO_RCVLOWAT level chosen for the
 * commands in flight, the stall deadline that drops it back to 1, and its
 * return once an answer arrives. No target needed: the level is read back
 * with getsockopt() and answers are written into the peer end.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ctx.h"
#include "ffp_pair.h"
#include "isc/iscsi.h"
#include "tgt_pdu.h"

static int completions;

static void on_done(isc_ctx *ctx, int status, void *result, void *priv)
{
	(void)ctx;
	(void)status;
	(void)priv;
	if (result)
		isc_scsi_result_free(result); /* ownership is the callback's */
	completions++;
}

/* A connected TCP pair on 127.0.0.1 (TCP, because SO_RCVLOWAT's effect on
 * poll is TCP's): sv[0] non-blocking for the context, sv[1] the "target". */
static int tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) != 0)
		return -1;
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	sv[1] = accept(l, NULL, NULL);
	close(l);
	if (sv[1] < 0)
		return -1;
	setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	return 0;
}

/* A normal-session context in FFP on one end of a TCP pair. */
static isc_ctx *ffp_ctx(int coalesce, int header_digest, int *peer)
{
	struct isc_config c;
	struct isc_negotiated n;
	int sv[2];

	ffp_config(&c);
	c.rx_coalesce = coalesce;
	ffp_neg(&n);
	n.header_digest = header_digest;
	if (tcp_pair(sv) != 0)
		return NULL;
	*peer = sv[1];
	return ffp_attach(&c, &n, sv[0]);
}

static int level(isc_ctx *ctx)
{
	int v = -1;
	socklen_t len = sizeof(v);
	if (getsockopt(isc_get_fd(ctx), SOL_SOCKET, SO_RCVLOWAT, &v, &len) != 0)
		return -1;
	return v;
}

static uint8_t buf[64][131072];
static const uint8_t read10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
static const uint8_t write10[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0 };

static void submit(isc_ctx *ctx, int n, int write, size_t bytes)
{
	for (int i = 0; i < n; i++) {
		struct isc_scsi_cmd c = { .lun = 1, .cdb = write ? write10 : read10, .cdb_len = 10,
					  .dir = write ? ISC_DIR_WRITE : ISC_DIR_READ };
		if (write) {
			c.data_out = buf[i];
			c.out_len = bytes;
		} else {
			c.data_in = buf[i];
			c.in_len = bytes;
		}
		CHECK_EQ_INT(isc_scsi_submit(ctx, &c, on_done, NULL, NULL), ISC_OK);
	}
}

static void drain(int peer)
{
	static uint8_t sink[1 << 16];
	while (read(peer, sink, sizeof(sink)) > 0)
		;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_levels(void)
{
	int peer = -1;
	isc_ctx *ctx;

	/* Off: never touched. */
	ctx = ffp_ctx(0, 0, &peer);
	CHECK(ctx != NULL);
	submit(ctx, 32, 0, 4096);
	CHECK_EQ_INT(isc_prepare_wait(ctx), 0);
	CHECK_EQ_INT(level(ctx), 1);
	CHECK_EQ_INT(isc_next_timeout_ms(ctx, isc_now_ms()) > 2, 1); /* command timers only */
	isc_ctx_free(ctx);
	close(peer);

	/* On, 4 KiB READs: nothing below 6 in flight, then 2, 4, 8 answers. */
	ctx = ffp_ctx(1, 0, &peer);
	submit(ctx, 5, 0, 4096);
	isc_prepare_wait(ctx);
	CHECK_EQ_INT(level(ctx), 1);
	submit(ctx, 1, 0, 4096);
	CHECK_EQ_INT(isc_prepare_wait(ctx), 1); /* armed the stall deadline */
	CHECK_EQ_INT(level(ctx), 2 * (48 + 4096));
	CHECK(isc_next_timeout_ms(ctx, isc_now_ms()) <= ISC_RXWAKE_MAX_WAIT_MS);
	submit(ctx, 6, 0, 4096);
	isc_prepare_wait(ctx);
	CHECK_EQ_INT(level(ctx), 4 * (48 + 4096));
	submit(ctx, 20, 0, 4096);
	isc_prepare_wait(ctx);
	CHECK_EQ_INT(level(ctx), 8 * (48 + 4096));
	isc_ctx_free(ctx);
	close(peer);

	/* Header digests count in the header size. */
	ctx = ffp_ctx(1, 1, &peer);
	submit(ctx, 24, 0, 4096);
	isc_prepare_wait(ctx);
	CHECK_EQ_INT(level(ctx), 8 * (52 + 4096));
	isc_ctx_free(ctx);
	close(peer);

	/* Large answers are not batched. */
	ctx = ffp_ctx(1, 0, &peer);
	submit(ctx, 32, 0, 131072);
	CHECK_EQ_INT(isc_prepare_wait(ctx), 0);
	CHECK_EQ_INT(level(ctx), 1);
	isc_ctx_free(ctx);
	close(peer);

	/* WRITEs answer with a bare SCSI Response: 8 headers, all certain to
	 * come, so no stall deadline. */
	ctx = ffp_ctx(1, 0, &peer);
	submit(ctx, 32, 1, 4096);
	drain(peer);
	CHECK_EQ_INT(isc_prepare_wait(ctx), 0);
	CHECK_EQ_INT(level(ctx), 8 * 48);
	isc_ctx_free(ctx);
	close(peer);
}

static void test_stall_deadline(void)
{
	int peer = -1;
	isc_ctx *ctx = ffp_ctx(1, 0, &peer);
	struct tgt_peer tp;
	uint8_t pdu[48];
	uint32_t first_itt;

	CHECK(ctx != NULL);
	completions = 0;
	first_itt = ctx->next_itt;
	submit(ctx, 32, 0, 4096);
	drain(peer);
	isc_prepare_wait(ctx);
	CHECK_EQ_INT(level(ctx), 8 * 4144);

	/* One READ ends without data (CHECK CONDITION would too): far below
	 * the level, so only the deadline gets it read. */
	tgt_init(&tp, peer, ctx->dg);
	tgt_scsi_rsp(&tp, pdu, first_itt, 0, 0, 0, 0);
	CHECK_EQ_INT(write(peer, pdu, sizeof(pdu)), 48);
	/* (loopback delivers within the write() call) */
	{
		struct pollfd p = { .fd = isc_get_fd(ctx), .events = POLLIN };
		CHECK_EQ_INT(poll(&p, 1, 0), 0); /* the kernel holds the wakeup */
	}
	{
		/* Before the deadline nothing is read (checked only if this
		 * thread was not descheduled past the deadline meanwhile). */
		int64_t deadline = ctx->rxwake_deadline;
		isc_service(ctx, 0);
		if (isc_now_ms() < deadline)
			CHECK_EQ_INT(completions, 0);
	}
	sleep_ms(ISC_RXWAKE_MAX_WAIT_MS + 2);
	CHECK_EQ_INT(isc_next_timeout_ms(ctx, isc_now_ms()), 0);
	isc_service(ctx, 0); /* deadline passed: level 1 and the answer is read */
	CHECK_EQ_INT(completions, 1);
	CHECK_EQ_INT(isc_pending_count(ctx), 31);

	/* An answer arrived: batching resumes at the next wait. */
	isc_prepare_wait(ctx);
	CHECK_EQ_INT(level(ctx), 8 * 4144);
	isc_ctx_free(ctx); /* the other 31 complete with ISC_ERR_CLOSED */
	CHECK_EQ_INT(completions, 32);
	close(peer);
}

int main(void)
{
	test_levels();
	test_stall_deadline();
	printf("test_rxwake: %d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
