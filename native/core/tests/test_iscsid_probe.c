/*
 * The iscsid client never sends a login request whose size differs from the
 * daemon's struct (that would freeze iscsid for every user).
 *
 * A stand-in daemon in a child process reads requests the way iscsid's
 * mgmt_ipc_read_data() does (blocking until exactly its own struct size or
 * EOF), answers like mgmt_ipc_write_rsp() (2464 bytes, then close; unread
 * request bytes turn the close into a reset) and logs every connection: the
 * command, how many request bytes the client sent in total, and whether it
 * would have stalled (the client stopped sending before the daemon's size
 * without closing). The real iscsid 2.1.8 behaviour this imitates was
 * observed on Debian 12 (team reference, openiscsi-internals.md 1.8); the
 * real-daemon test runs in the kernel lab.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "isc/errors.h"
#include "isc/iscsid.h"

enum behaviour { NORMAL, REFUSE_PEER, WRONG_COMMAND, SILENT };

struct conn_log {
	int32_t command;
	int32_t received;   /* request bytes received before the reply/close */
	int32_t extra;      /* bytes the client sent beyond the daemon's size */
	int32_t stalled;    /* the daemon would have blocked forever */
};

static char sock_name[64];

static int listen_abstract(const char *name)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name, strlen(name));
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 8) < 0)
		return -1;
	return fd;
}

/* Read with a 1 s inactivity limit: a real iscsid would wait forever. */
static int read_exact(int fd, uint8_t *p, size_t want, int32_t *got, int32_t *stalled)
{
	*got = 0;
	while ((size_t)*got < want) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, 1000) == 0) {
			*stalled = 1;
			return -1;
		}
		ssize_t n = read(fd, p + *got, want - (size_t)*got);
		if (n <= 0)
			return -1;
		*got += (int32_t)n;
	}
	return 0;
}

static void serve(int lfd, int logfd, size_t size, enum behaviour how)
{
	static uint8_t req[32768];
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(0);
		struct conn_log log = { -1, 0, 0, 0 };
		uint8_t rsp[ISC_ISCSID_RSP_SIZE];
		memset(rsp, 0, sizeof(rsp));
		if (how == REFUSE_PEER) {
			int32_t e = 13;
			memcpy(rsp + 4, &e, 4);
			(void)!write(fd, rsp, sizeof(rsp));
			close(fd);
			(void)!write(logfd, &log, sizeof(log));
			continue;
		}
		if (read_exact(fd, req, size, &log.received, &log.stalled) == 0) {
			memcpy(&log.command, req, 4);
			/* Anything already queued beyond our struct? */
			usleep(20000);
			ssize_t more = recv(fd, req, sizeof(req), MSG_PEEK | MSG_DONTWAIT);
			log.extra = more > 0 ? (int32_t)more : 0;
			if (how != SILENT) {
				int32_t cmd = how == WRONG_COMMAND ? log.command + 1 : log.command;
				memcpy(rsp, &cmd, 4);
				strcpy((char *)rsp + 8, "iqn.2026-11.test:fake-initiator");
				(void)!write(fd, rsp, sizeof(rsp));
			} else {
				usleep(1500000);
			}
		} else if (log.received >= 4) {
			memcpy(&log.command, req, 4);
		}
		close(fd);
		(void)!write(logfd, &log, sizeof(log));
	}
}

struct daemon {
	pid_t pid;
	int logfd;
};

static struct daemon start_daemon(size_t size, enum behaviour how)
{
	static int seq;
	snprintf(sock_name, sizeof(sock_name), "isc-test-iscsid-%d-%d", (int)getpid(), seq++);
	struct daemon d = { -1, -1 };
	int lfd = listen_abstract(sock_name);
	int p[2];
	if (lfd < 0 || pipe(p) < 0)
		return d;
	d.pid = fork();
	if (d.pid == 0) {
		close(p[0]);
		serve(lfd, p[1], size, how);
		_exit(0);
	}
	close(lfd);
	close(p[1]);
	d.logfd = p[0];
	return d;
}

/* Collect the daemon's log (it logs each connection after closing it, so
 * wait until nothing new arrives for a while), then stop it. */
static size_t stop_daemon(struct daemon d, struct conn_log *logs, size_t max)
{
	size_t n = 0;
	for (;;) {
		struct pollfd pf = { .fd = d.logfd, .events = POLLIN };
		if (n >= max || poll(&pf, 1, 500) <= 0)
			break;
		if (read(d.logfd, &logs[n], sizeof(logs[n])) != (ssize_t)sizeof(logs[n]))
			break;
		n++;
	}
	kill(d.pid, SIGKILL);
	waitpid(d.pid, NULL, 0);
	close(d.logfd);
	return n;
}

static const char *const keys[] = { "node.name", "node.conn[0].address", "node.session.auth.password" };
static const char *const values[] = { "iqn.2026-11.test:t1", "10.0.2.2", "not-logged-12345" };

static void check_no_bad_request(const struct conn_log *logs, size_t n, size_t size)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(!logs[i].stalled);
		if (logs[i].command == ISC_IPC_SESSION_LOGIN) {
			CHECK_EQ_INT(logs[i].received, size);
			CHECK_EQ_INT(logs[i].extra, 0);
		}
	}
}

/* Known layouts: the probe finds the size, the login has exactly it. */
static void test_known_sizes(void)
{
	for (size_t li = 0; isc_iscsid_layout_at(li); li++) {
		size_t size = isc_iscsid_layout_request_size(isc_iscsid_layout_at(li));
		struct daemon d = start_daemon(size, NORMAL);
		CHECK(d.pid > 0);
		isc_iscsid *c = NULL;
		CHECK_EQ_INT(isc_iscsid_new(sock_name, &c), 0);
		char bad[64];
		CHECK_EQ_INT(isc_iscsid_login_start(c, keys, values, 3, bad, sizeof(bad)), 0);
		CHECK_EQ_INT(isc_iscsid_run_sync(c, 5000), 1);
		CHECK_EQ_INT(isc_iscsid_result(c)->command, ISC_IPC_SESSION_LOGIN);
		CHECK_EQ_INT(isc_iscsid_layout_request_size(isc_iscsid_layout(c)), size);
		/* a sid-only request reuses the probed size */
		CHECK_EQ_INT(isc_iscsid_request_start(c, ISC_IPC_SESSION_LOGOUT, 3), 0);
		CHECK_EQ_INT(isc_iscsid_run_sync(c, 5000), 1);
		isc_iscsid_free(c);

		struct conn_log logs[16];
		size_t n = stop_daemon(d, logs, 16);
		/* probes below the size (EOF), the exact probe, the login, the logout */
		CHECK_EQ_INT(n, li + 3);
		check_no_bad_request(logs, n, size);
		size_t logins = 0;
		for (size_t i = 0; i < n; i++)
			logins += logs[i].command == ISC_IPC_SESSION_LOGIN;
		CHECK_EQ_INT(logins, 1);
		CHECK_EQ_INT(logs[n - 1].command, ISC_IPC_SESSION_LOGOUT);
		CHECK_EQ_INT(logs[n - 1].received, size);
	}
}

/* Unknown layouts: refused, and no login ever reaches the daemon. */
static void test_unknown_sizes(void)
{
	static const size_t sizes[] = { 16000, 16084, 16096, 16120, 16200, 20000 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct daemon d = start_daemon(sizes[i], NORMAL);
		isc_iscsid *c = NULL;
		CHECK_EQ_INT(isc_iscsid_new(sock_name, &c), 0);
		CHECK_EQ_INT(isc_iscsid_login_start(c, keys, values, 3, NULL, 0), 0);
		CHECK_EQ_INT(isc_iscsid_run_sync(c, 5000), ISC_ERR_ISCSID_UNSUPPORTED);
		CHECK(isc_iscsid_layout(c) == NULL);
		CHECK(strlen(isc_iscsid_probe_detail(c)) > 0);
		CHECK(strstr(isc_iscsid_probe_detail(c), "not-logged") == NULL);
		/* nor does any other request go out with a guessed size */
		CHECK_EQ_INT(isc_iscsid_request_start(c, ISC_IPC_SESSION_LOGOUT, 1), 0);
		CHECK_EQ_INT(isc_iscsid_run_sync(c, 5000), ISC_ERR_ISCSID_UNSUPPORTED);
		isc_iscsid_free(c);
		struct conn_log logs[32];
		size_t n = stop_daemon(d, logs, 32);
		CHECK(n > 0);
		for (size_t k = 0; k < n; k++) {
			CHECK(logs[k].command != ISC_IPC_SESSION_LOGIN);
			CHECK(logs[k].command != ISC_IPC_SESSION_LOGOUT);
			CHECK(!logs[k].stalled);
		}
	}
}

static void test_refusals(void)
{
	/* nobody listening */
	isc_iscsid *c = NULL;
	CHECK_EQ_INT(isc_iscsid_new("isc-test-nobody-listens-here", &c), 0);
	CHECK_EQ_INT(isc_iscsid_probe_start(c), ISC_ERR_ISCSID_NOT_RUNNING);
	CHECK_EQ_INT(isc_iscsid_fd(c), -1);
	isc_iscsid_free(c);

	/* uid check: (0, ISCSI_ERR_ACCESS) before the request is read */
	struct daemon d = start_daemon(16104, REFUSE_PEER);
	CHECK_EQ_INT(isc_iscsid_new(sock_name, &c), 0);
	CHECK_EQ_INT(isc_iscsid_login_start(c, keys, values, 3, NULL, 0), 0);
	CHECK_EQ_INT(isc_iscsid_run_sync(c, 5000), ISC_ERR_PERMISSION);
	isc_iscsid_free(c);
	struct conn_log logs[8];
	stop_daemon(d, logs, 8);

	/* a daemon echoing the wrong command */
	d = start_daemon(16104, WRONG_COMMAND);
	CHECK_EQ_INT(isc_iscsid_new(sock_name, &c), 0);
	CHECK_EQ_INT(isc_iscsid_probe_start(c), 0);
	CHECK_EQ_INT(isc_iscsid_run_sync(c, 5000), ISC_ERR_PROTOCOL);
	isc_iscsid_free(c);
	stop_daemon(d, logs, 8);

	/* a daemon that never answers: the caller's deadline wins, cleanly */
	d = start_daemon(16104, SILENT);
	CHECK_EQ_INT(isc_iscsid_new(sock_name, &c), 0);
	CHECK_EQ_INT(isc_iscsid_probe_start(c), 0);
	CHECK_EQ_INT(isc_iscsid_run_sync(c, 300), ISC_ERR_TIMEDOUT);
	CHECK_EQ_INT(isc_iscsid_fd(c), -1);
	CHECK_EQ_INT(isc_iscsid_events(c), 0);
	/* idle again: a new operation may start */
	CHECK_EQ_INT(isc_iscsid_probe_start(c), 0);
	CHECK_EQ_INT(isc_iscsid_probe_start(c), ISC_ERR_STATE);
	isc_iscsid_cancel(c);
	isc_iscsid_free(c);
	stop_daemon(d, logs, 8);

	/* argument errors surface before any I/O */
	CHECK_EQ_INT(isc_iscsid_new("", &c), ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_iscsid_new(NULL, &c), 0);
	const char *bad_keys[] = { "node.name", "node.bogus" };
	const char *bad_vals[] = { "iqn.x:y", "1" };
	char bad[32];
	CHECK_EQ_INT(isc_iscsid_login_start(c, bad_keys, bad_vals, 2, bad, sizeof(bad)), ISC_ERR_INVAL);
	CHECK_EQ_STR(bad, "node.bogus");
	CHECK_EQ_INT(isc_iscsid_fd(c), -1);
	CHECK_EQ_INT(isc_iscsid_request_start(c, 11, 0), ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_iscsid_service(c, 0), ISC_ERR_STATE);
	isc_iscsid_free(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_known_sizes();
	test_unknown_sizes();
	test_refusals();
	return check_finish();
}
