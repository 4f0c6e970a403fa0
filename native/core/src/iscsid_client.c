/*
 * iscsid management IPC client: one request per connection, fd-driven
 * (contract and the probe rationale: include/isc/iscsid.h).
 *
 * Every operation is a short sequence of connections:
 *   probe(size[0]) -> EOF -> probe(size[1]) -> ... -> response + clean EOF
 *   -> [main request of exactly the probed size -> response]
 * The login request only exists after the probe of the same operation found
 * a known layout; that is the one place that decides a login's size.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "iscsid_layout.h"
#include "isc/errors.h"

enum op { OP_NONE, OP_PROBE, OP_LOGIN, OP_SIMPLE };
enum phase { PH_PROBE, PH_MAIN };
enum state { ST_IDLE, ST_WRITE, ST_READ, ST_DRAIN, ST_DONE };

struct isc_iscsid {
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	unsigned fd_generation;
	enum op op;
	enum phase phase;
	enum state state;
	size_t probe_index;
	const struct isc_rec_layout *layout;  /* from the last successful probe */

	/* The request on the wire now (probe or main). */
	uint8_t req[ISC_ISCSID_MAX_REQUEST];
	size_t req_len, req_off;
	int half_close;
	int expected_command;

	uint8_t rsp[ISC_ISCSID_RSP_SIZE];
	size_t rsp_off;
	struct isc_iscsid_response result;

	/* OP_LOGIN: the caller's record, kept until the layout is known.
	 * One arena of NUL-separated strings; zeroed on release. */
	char *arena;
	size_t arena_len;
	const char **keys, **values;
	size_t count;
	/* OP_SIMPLE */
	int command, sid;

	char detail[160];
};

int isc_iscsid_new(const char *socket_name, isc_iscsid **out)
{
	if (!out)
		return ISC_ERR_INVAL;
	*out = NULL;
	const char *name = socket_name ? socket_name : ISC_ISCSID_SOCKET_NAME;
	isc_iscsid *c = calloc(1, sizeof(*c));
	if (!c)
		return ISC_ERR_NOMEM;
	/* Abstract name: sun_path[0] = NUL, then the name, no trailing NUL. */
	if (!*name || strlen(name) >= sizeof(c->name) - 1) {
		free(c);
		return ISC_ERR_INVAL;
	}
	strcpy(c->name, name);
	c->fd = -1;
	*out = c;
	return ISC_OK;
}

static void release_record(isc_iscsid *c)
{
	if (c->arena) {
		isc_memzero(c->arena, c->arena_len);
		free(c->arena);
	}
	free(c->keys);
	free(c->values);
	c->arena = NULL;
	c->arena_len = 0;
	c->keys = c->values = NULL;
	c->count = 0;
}

static void close_conn(isc_iscsid *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	/* The request may be a login carrying CHAP secrets in clear. */
	isc_memzero(c->req, sizeof(c->req));
	c->req_len = c->req_off = 0;
	c->rsp_off = 0;
}

static void finish(isc_iscsid *c)
{
	close_conn(c);
	release_record(c);
	c->op = OP_NONE;
	c->state = ST_IDLE;
}

void isc_iscsid_cancel(isc_iscsid *c)
{
	if (c)
		finish(c);
}

void isc_iscsid_free(isc_iscsid *c)
{
	if (!c)
		return;
	finish(c);
	isc_memzero(c, sizeof(*c));
	free(c);
}

static int connect_daemon(isc_iscsid *c)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t n = strlen(c->name);
	memcpy(sa.sun_path + 1, c->name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOMEM || errno == ENOBUFS ? ISC_ERR_NOMEM : ISC_ERR_IO;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		int e = errno;
		close(fd);
		snprintf(c->detail, sizeof(c->detail), "connect to @%s: %s", c->name, strerror(e));
		if (e == ECONNREFUSED || e == ENOENT)
			return ISC_ERR_ISCSID_NOT_RUNNING;
		if (e == EACCES || e == EPERM)
			return ISC_ERR_PERMISSION;
		return ISC_ERR_IO;  /* EAGAIN: backlog full */
	}
	c->fd = fd;
	c->fd_generation++;
	return ISC_OK;
}

/* Open a connection for the request already in c->req. */
static int begin_exchange(isc_iscsid *c, int half_close, int expected_command)
{
	int rc = connect_daemon(c);
	if (rc < 0)
		return rc;
	c->req_off = 0;
	c->rsp_off = 0;
	c->half_close = half_close;
	c->expected_command = expected_command;
	c->state = ST_WRITE;
	return ISC_OK;
}

static int start_probe_step(isc_iscsid *c)
{
	const struct isc_rec_layout *l = isc_iscsid_layout_at(c->probe_index);
	size_t size = isc_iscsid_layout_request_size(l);
	int rc = isc_iscsid_build_simple(ISC_IPC_CONFIG_INAME, 0, c->req, size);
	if (rc < 0)
		return rc;
	c->req_len = size;
	c->phase = PH_PROBE;
	return begin_exchange(c, 1, ISC_IPC_CONFIG_INAME);
}

/* The probe found c->layout: send the operation's own request. */
static int start_main(isc_iscsid *c)
{
	int rc;
	c->phase = PH_MAIN;
	if (c->op == OP_LOGIN) {
		char bad[96];
		rc = isc_iscsid_build_login(c->layout, c->keys, c->values, c->count, c->req, sizeof(c->req),
					    bad, sizeof(bad));
		release_record(c);  /* the secrets now live only in c->req */
		if (rc < 0) {
			snprintf(c->detail, sizeof(c->detail), "%s cannot be expressed for iscsid %s",
				 bad, isc_iscsid_layout_versions(c->layout));
			return rc;
		}
		c->req_len = (size_t)rc;
		return begin_exchange(c, 0, ISC_IPC_SESSION_LOGIN);
	}
	rc = isc_iscsid_build_simple(c->command, c->sid, c->req, c->layout->request_size);
	if (rc < 0)
		return rc;
	c->req_len = (size_t)rc;
	return begin_exchange(c, 0, c->command);
}

static int start_op(isc_iscsid *c, enum op op, int force_probe)
{
	c->op = op;
	c->detail[0] = '\0';
	memset(&c->result, 0, sizeof(c->result));
	int rc;
	if (force_probe || !c->layout) {
		c->layout = NULL;
		c->probe_index = 0;
		rc = start_probe_step(c);
	} else {
		rc = start_main(c);
	}
	if (rc < 0)
		finish(c);
	return rc;
}

int isc_iscsid_probe_start(isc_iscsid *c)
{
	if (!c)
		return ISC_ERR_INVAL;
	if (c->op != OP_NONE)
		return ISC_ERR_STATE;
	return start_op(c, OP_PROBE, 1);
}

int isc_iscsid_request_start(isc_iscsid *c, int command, int sid)
{
	if (!c)
		return ISC_ERR_INVAL;
	if (c->op != OP_NONE)
		return ISC_ERR_STATE;
	uint8_t scratch[ISC_REQ_REC_OFFSET];
	if (isc_iscsid_build_simple(command, sid, scratch, sizeof(scratch)) < 0)
		return ISC_ERR_INVAL;
	c->command = command;
	c->sid = sid;
	return start_op(c, OP_SIMPLE, 0);
}

int isc_iscsid_login_start(isc_iscsid *c, const char *const *keys, const char *const *values,
			   size_t count, char *bad_key, size_t bad_key_len)
{
	if (!c || (count && (!keys || !values)))
		return ISC_ERR_INVAL;
	if (c->op != OP_NONE)
		return ISC_ERR_STATE;
	/* Validate now against the newest layout, so argument errors surface
	 * before any I/O; the real build happens after the probe. */
	int rc = isc_iscsid_build_login(isc_iscsid_layout_for_size(ISC_ISCSID_MAX_REQUEST), keys, values, count,
					c->req, sizeof(c->req), bad_key, bad_key_len);
	isc_memzero(c->req, sizeof(c->req));
	if (rc < 0)
		return rc;
	size_t total = 0;
	for (size_t i = 0; i < count; i++)
		total += strlen(keys[i]) + strlen(values[i]) + 2;
	c->arena = malloc(total ? total : 1);
	c->keys = calloc(count ? count : 1, sizeof(*c->keys));
	c->values = calloc(count ? count : 1, sizeof(*c->values));
	if (!c->arena || !c->keys || !c->values) {
		release_record(c);
		return ISC_ERR_NOMEM;
	}
	c->arena_len = total;
	char *p = c->arena;
	for (size_t i = 0; i < count; i++) {
		size_t kn = strlen(keys[i]) + 1, vn = strlen(values[i]) + 1;
		memcpy(p, keys[i], kn);
		c->keys[i] = p;
		p += kn;
		memcpy(p, values[i], vn);
		c->values[i] = p;
		p += vn;
	}
	c->count = count;
	/* Always re-probe before a login: iscsid may have been upgraded or
	 * restarted since this client last looked. */
	return start_op(c, OP_LOGIN, 1);
}

int isc_iscsid_fd(const isc_iscsid *c)
{
	return c ? c->fd : -1;
}

unsigned isc_iscsid_fd_generation(const isc_iscsid *c)
{
	return c ? c->fd_generation : 0;
}

int isc_iscsid_events(const isc_iscsid *c)
{
	if (!c || c->fd < 0)
		return 0;
	return c->state == ST_WRITE ? POLLOUT : (c->state == ST_READ || c->state == ST_DRAIN) ? POLLIN : 0;
}

const struct isc_iscsid_response *isc_iscsid_result(const isc_iscsid *c)
{
	return c ? &c->result : NULL;
}

const struct isc_rec_layout *isc_iscsid_layout(const isc_iscsid *c)
{
	return c ? c->layout : NULL;
}

const char *isc_iscsid_probe_detail(const isc_iscsid *c)
{
	return c ? c->detail : "";
}

static int fail(isc_iscsid *c, int rc)
{
	finish(c);
	return rc;
}

/* A probe step ended with EOF before any response: the daemon wants more. */
static int probe_next(isc_iscsid *c)
{
	size_t tried = isc_iscsid_layout_request_size(isc_iscsid_layout_at(c->probe_index));
	close_conn(c);
	c->probe_index++;
	if (!isc_iscsid_layout_at(c->probe_index)) {
		snprintf(c->detail, sizeof(c->detail),
			 "iscsid answered none of the known request sizes (up to %zu bytes): newer than this library",
			 tried);
		return fail(c, ISC_ERR_ISCSID_UNSUPPORTED);
	}
	int rc = start_probe_step(c);
	return rc < 0 ? fail(c, rc) : 0;
}

static int on_response(isc_iscsid *c)
{
	int rc = isc_iscsid_parse_response(c->rsp, sizeof(c->rsp), c->expected_command, &c->result);
	if (rc < 0) {
		snprintf(c->detail, sizeof(c->detail), "iscsid answered command %d to command %d",
			 c->result.command, c->expected_command);
		return fail(c, rc);
	}
	if (c->result.command == 0 && c->result.iscsid_err == 13) {
		snprintf(c->detail, sizeof(c->detail), "iscsid refused this process (it requires uid 0)");
		return fail(c, ISC_ERR_PERMISSION);
	}
	if (c->phase == PH_PROBE) {
		/* Exact size only if the daemon then closes having read everything. */
		c->state = ST_DRAIN;
		return 0;
	}
	finish(c);
	return 1;
}

static int on_probe_clean_eof(isc_iscsid *c)
{
	c->layout = isc_iscsid_layout_at(c->probe_index);
	close_conn(c);
	if (c->op == OP_PROBE) {
		finish(c);
		return 1;
	}
	int rc = start_main(c);
	return rc < 0 ? fail(c, rc) : 0;
}

static int do_write(isc_iscsid *c)
{
	while (c->req_off < c->req_len) {
		ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->req_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			/* iscsid may have refused us before reading (uid check):
			 * its answer can still be waiting in our receive queue. */
			c->state = ST_READ;
			return 0;
		}
		return fail(c, ISC_ERR_IO);
	}
	if (c->half_close && shutdown(c->fd, SHUT_WR) < 0 && errno != ENOTCONN)
		return fail(c, ISC_ERR_IO);
	/* The request (maybe a login with secrets) is no longer needed. */
	isc_memzero(c->req, sizeof(c->req));
	c->state = ST_READ;
	return 0;
}

static int do_read(isc_iscsid *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->rsp + c->rsp_off, sizeof(c->rsp) - c->rsp_off, MSG_DONTWAIT);
		if (n > 0) {
			c->rsp_off += (size_t)n;
			if (c->rsp_off == sizeof(c->rsp))
				return on_response(c);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == 0 && c->rsp_off == 0 && c->phase == PH_PROBE && c->req_off == c->req_len)
			return probe_next(c);
		snprintf(c->detail, sizeof(c->detail), "iscsid closed the connection after %zu of %u response bytes",
			 c->rsp_off, ISC_ISCSID_RSP_SIZE);
		return fail(c, ISC_ERR_IO);
	}
}

static int do_drain(isc_iscsid *c)
{
	uint8_t extra[64];
	for (;;) {
		ssize_t n = recv(c->fd, extra, sizeof(extra), MSG_DONTWAIT);
		if (n == 0)
			return on_probe_clean_eof(c);
		if (n > 0) {
			snprintf(c->detail, sizeof(c->detail), "iscsid sent more than one response");
			return fail(c, ISC_ERR_PROTOCOL);
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ECONNRESET) {
			/* The daemon answered before reading all of our bytes: its
			 * struct is shorter than this size but longer than the
			 * previous one (which got EOF). No known layout fits. */
			size_t size = isc_iscsid_layout_request_size(isc_iscsid_layout_at(c->probe_index));
			size_t prev = c->probe_index ? isc_iscsid_layout_request_size(isc_iscsid_layout_at(c->probe_index - 1)) : 0;
			snprintf(c->detail, sizeof(c->detail),
				 "iscsid expects a request between %zu and %zu bytes: no known open-iscsi layout", prev + 1,
				 size - 1);
			return fail(c, ISC_ERR_ISCSID_UNSUPPORTED);
		}
		return fail(c, ISC_ERR_IO);
	}
}

int isc_iscsid_service(isc_iscsid *c, int revents)
{
	(void)revents;  /* every state retries its syscall; EAGAIN just waits */
	if (!c || c->op == OP_NONE)
		return ISC_ERR_STATE;
	switch (c->state) {
	case ST_WRITE: {
		int rc = do_write(c);
		if (rc != 0 || c->state != ST_READ)
			return rc;
		return do_read(c);
	}
	case ST_READ:
		return do_read(c);
	case ST_DRAIN:
		return do_drain(c);
	default:
		return ISC_ERR_STATE;
	}
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int isc_iscsid_run_sync(isc_iscsid *c, int timeout_ms)
{
	if (!c)
		return ISC_ERR_INVAL;
	long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	int rc = isc_iscsid_service(c, 0);
	while (rc == 0) {
		int wait = -1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				isc_iscsid_cancel(c);
				return ISC_ERR_TIMEDOUT;
			}
			wait = (int)left;
		}
		struct pollfd p = { .fd = isc_iscsid_fd(c), .events = (short)isc_iscsid_events(c) };
		int n = poll(&p, 1, wait);
		if (n < 0 && errno != EINTR) {
			isc_iscsid_cancel(c);
			return ISC_ERR_IO;
		}
		rc = isc_iscsid_service(c, n > 0 ? p.revents : 0);
	}
	return rc;
}
