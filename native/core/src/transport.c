/*
 * The TCP side of a context: non-blocking connect, the send queue and
 * reading into the PDU receiver. Nothing here blocks: every socket is
 * O_NONBLOCK and partial writes stay queued until POLLOUT.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crc32c.h"
#include "ctx.h"

static void txbuf_free(struct isc_txbuf *b);

static const char *connect_hint(int err)
{
	switch (err) {
	case ISC_ERR_CONNREFUSED:
		return "connection refused: is an iSCSI target listening on that address and port?";
	case ISC_ERR_HOSTUNREACH:
		return "host or network unreachable: check the address and the routes";
	case ISC_ERR_TIMEDOUT:
		return "connect timed out: check the address and firewalls";
	default:
		return "connect failed";
	}
}

int isc_transport_connect(isc_ctx *ctx)
{
	int fd, one = 1, rc;

	fd = socket(ctx->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		int e = errno;
		return isc_set_error(ctx, isc_err_from_errno(e), e, "socket() for %s failed: %s",
				     ctx->portal, strerror(e));
	}
	/* iSCSI is request/response with small headers: Nagle only adds latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = connect(fd, (const struct sockaddr *)&ctx->addr, ctx->addrlen);
	if (rc < 0 && errno != EINPROGRESS) {
		int e = errno;
		int code = isc_err_from_errno(e);
		close(fd);
		return isc_set_error(ctx, code, e, "connect to %s: %s", ctx->portal,
				     connect_hint(code));
	}
	ctx->fd = fd;
	ctx->fd_generation++;
	isc_rxwake_reset(ctx);
	ctx->state = ISC_ST_CONNECTING;
	isc_log(ctx, ISC_LOG_DEBUG, "connecting to %s", ctx->portal);
	return ISC_OK;
}

int isc_transport_connect_done(isc_ctx *ctx)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(ctx->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return 1; /* not yet */
	if (soerr) {
		int code = isc_err_from_errno(soerr);
		return isc_set_error(ctx, code, soerr, "connect to %s: %s", ctx->portal,
				     connect_hint(code));
	}
	isc_log(ctx, ISC_LOG_DEBUG, "connected to %s", ctx->portal);
	return ISC_OK;
}

void isc_transport_close(isc_ctx *ctx)
{
	struct isc_txbuf *b = ctx->tx_head;

	if (ctx->fd >= 0) {
		close(ctx->fd);
		ctx->fd = -1;
	}
	while (b) {
		struct isc_txbuf *n = b->next;
		txbuf_free(b);
		b = n;
	}
	ctx->tx_head = ctx->tx_tail = NULL;
	ctx->tx_bytes = 0;
	ctx->rx.len = 0;
	ctx->rx.consumed = 0;
	ctx->rx_backlog = 0;
	isc_direct_reset(ctx);
}

#define TX_IOV_MAX 64

static size_t txbuf_wire(const struct isc_txbuf *b)
{
	return b->len + b->ext_len;
}

/* Adds the unwritten parts of b to iov; returns the new count. */
static int txbuf_iov(const struct isc_txbuf *b, struct iovec *iov, int n)
{
	size_t off = b->off;
	const uint8_t *part[3] = { b->data, b->ext, b->data + b->head };
	size_t plen[3] = { b->head, b->ext_len, b->len - b->head };

	for (int i = 0; i < 3 && n < TX_IOV_MAX; i++) {
		if (off >= plen[i]) {
			off -= plen[i];
			continue;
		}
		iov[n].iov_base = (void *)(part[i] + off);
		iov[n].iov_len = plen[i] - off;
		off = 0;
		n++;
	}
	return n;
}

static void txbuf_free(struct isc_txbuf *b)
{
	/* Queued PDUs may carry CHAP responses: wipe before freeing (only
	 * our own bytes; ext is the caller's data). */
	isc_memzero(b->data, b->len);
	free(b);
}

int isc_transport_flush(isc_ctx *ctx)
{
	while (ctx->tx_head && ctx->fd >= 0) {
		struct iovec iov[TX_IOV_MAX];
		int n = 0;
		ssize_t w;

		for (struct isc_txbuf *b = ctx->tx_head; b && n < TX_IOV_MAX - 2; b = b->next)
			n = txbuf_iov(b, iov, n);
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		/* MSG_NOSIGNAL: a reset peer must give EPIPE, not kill the process. */
		w = sendmsg(ctx->fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return ISC_OK;
			if (errno == EINTR)
				continue;
			int e = errno;
			return isc_set_error(ctx, isc_err_from_errno(e), e,
					     "sending to %s failed: %s", ctx->portal, strerror(e));
		}
		ctx->tx_bytes -= (size_t)w;
		while (w > 0 && ctx->tx_head) {
			struct isc_txbuf *b = ctx->tx_head;
			size_t left = txbuf_wire(b) - b->off;
			if ((size_t)w >= left) {
				w -= (ssize_t)left;
				ctx->tx_head = b->next;
				if (!ctx->tx_head)
					ctx->tx_tail = NULL;
				txbuf_free(b);
			} else {
				b->off += (size_t)w;
				w = 0;
			}
		}
	}
	return ISC_OK;
}

/*
 * A task completed while PDUs that send its data by reference are still
 * queued (e.g. an R2T's Data-Out and the command's status read in one
 * service pass): its buffer may be freed or reused once the callback runs.
 * Unwritten Data-Out are dropped (the target has ended the task and wants
 * no more data); any other such PDU (a command with immediate data, which
 * the CmdSN sequence needs) and one already partly on the wire are kept,
 * their data copied into our own buffer.
 */
void isc_transport_release(isc_ctx *ctx, const uint8_t *base, size_t len)
{
	struct isc_txbuf **pp = &ctx->tx_head, *prev = NULL;

	while (*pp) {
		struct isc_txbuf *b = *pp;

		if (!b->ext || b->ext < base || b->ext >= base + len) {
			prev = b;
			pp = &b->next;
			continue;
		}
		if (b->off == 0 && (b->data[0] & ISC_BHS_OPCODE_MASK) == ISC_OP_DATA_OUT) {
			*pp = b->next;
			ctx->tx_bytes -= txbuf_wire(b);
			txbuf_free(b);
		} else {
			size_t wire = txbuf_wire(b);
			struct isc_txbuf *c = malloc(sizeof(*c) + wire);
			if (!c) {
				/* Cannot keep the PDU safely: the connection must go
				 * (closing drops the queue before the buffer is reused). */
				isc_transport_close(ctx);
				return;
			}
			memcpy(c->data, b->data, b->head);
			memcpy(c->data + b->head, b->ext, b->ext_len);
			memcpy(c->data + b->head + b->ext_len, b->data + b->head, b->len - b->head);
			c->next = b->next;
			c->len = c->head = wire;
			c->ext = NULL;
			c->ext_len = 0;
			c->off = b->off;
			*pp = c;
			txbuf_free(b);
			b = c;
			prev = b;
			pp = &b->next;
		}
	}
	ctx->tx_tail = prev;
}

static int enqueue(isc_ctx *ctx, struct isc_txbuf *b)
{
	if (ctx->cfg.log_fn && ctx->cfg.log_level >= ISC_LOG_TRACE) {
		char line[256];
		isc_pdu_describe(b->data, line, sizeof(line));
		isc_log(ctx, ISC_LOG_TRACE, "-> %s", line);
	}
	if (ctx->tx_tail)
		ctx->tx_tail->next = b;
	else
		ctx->tx_head = b;
	ctx->tx_tail = b;
	ctx->tx_bytes += txbuf_wire(b);
	/* Write now when the queue was empty: saves a poll round trip. */
	if (ctx->state != ISC_ST_CONNECTING && ctx->tx_head == b && !ctx->cfg.defer_send)
		return isc_transport_flush(ctx);
	return ISC_OK;
}

int isc_transport_send(isc_ctx *ctx, const uint8_t bhs[ISC_BHS_LEN], const uint8_t *data,
		       size_t data_len)
{
	size_t wire = isc_pdu_wire_size(0, data_len, &ctx->dg);
	struct isc_txbuf *b;

	if (ctx->fd < 0)
		return isc_set_error(ctx, ISC_ERR_CLOSED, 0, "connection to %s is closed",
				     ctx->portal);
	if (data_len > ISC_MAX_DSL)
		return ISC_ERR_TOO_LARGE;
	b = malloc(sizeof(*b) + wire);
	if (!b)
		return ISC_ERR_NOMEM;
	b->next = NULL;
	b->off = 0;
	b->ext = NULL;
	b->ext_len = 0;
	b->len = isc_pdu_build(b->data, bhs, NULL, 0, data, data_len, &ctx->dg);
	b->head = b->len;
	return enqueue(ctx, b);
}

int isc_transport_send_ref(isc_ctx *ctx, const uint8_t bhs[ISC_BHS_LEN], const uint8_t *data,
			   size_t data_len)
{
	size_t head = ISC_BHS_LEN + (ctx->dg.header ? ISC_DIGEST_LEN : 0);
	size_t tail = isc_pad4(data_len) + (ctx->dg.data && data_len ? ISC_DIGEST_LEN : 0);
	struct isc_txbuf *b;

	if (data_len == 0 || data_len > ISC_MAX_DSL)
		return isc_transport_send(ctx, bhs, data, data_len);
	if (ctx->fd < 0)
		return isc_set_error(ctx, ISC_ERR_CLOSED, 0, "connection to %s is closed",
				     ctx->portal);
	b = malloc(sizeof(*b) + head + tail);
	if (!b)
		return ISC_ERR_NOMEM;
	b->next = NULL;
	b->off = 0;
	b->ext = data;
	b->ext_len = data_len;
	/* Header (and its digest) built as for a data-less PDU, then the
	 * real DataSegmentLength. */
	memcpy(b->data, bhs, ISC_BHS_LEN);
	b->data[ISC_OFF_TOTAL_AHS] = 0;
	isc_put_be24(b->data + ISC_OFF_DSL, (uint32_t)data_len);
	if (ctx->dg.header)
		isc_crc32c_put(b->data + ISC_BHS_LEN, isc_crc32c(b->data, ISC_BHS_LEN));
	b->head = head;
	memset(b->data + head, 0, isc_pad4(data_len));
	if (ctx->dg.data) {
		/* RFC 7143 section 11.1: the digest covers the data and its pad. */
		uint32_t crc = isc_crc32c_update(0xFFFFFFFFu, data, data_len);
		crc = isc_crc32c_update(crc, b->data + head, isc_pad4(data_len)) ^ 0xFFFFFFFFu;
		isc_crc32c_put(b->data + head + isc_pad4(data_len), crc);
	}
	b->len = head + tail;
	return enqueue(ctx, b);
}

int isc_transport_read(isc_ctx *ctx)
{
	for (;;) {
		size_t room = 0;
		uint8_t *p = isc_rx_space(&ctx->rx, 65536, &room);
		ssize_t r;

		if (!p)
			return isc_set_error(ctx, ISC_ERR_NOMEM, 0, "out of memory receiving from %s",
					     ctx->portal);
		r = recv(ctx->fd, p, room, 0);
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
		isc_rx_commit(&ctx->rx, (size_t)r);
		/* Less than there was room for: the socket is (very likely)
		 * empty, so the caller can skip the recv() that would only
		 * say EAGAIN; level-triggered polling reports anything later. */
		ctx->rx_drained = (size_t)r < room;
		return r > 0x7fffffff ? 0x7fffffff : (int)r;
	}
}
