/*
 * libiscsi-rw-perf: a libiscsi (Sahlberg, 1.19) peer for the benchmarks.
 *
 * libiscsi-bin's iscsi-perf only measures READ16, so the benchmarks had no
 * libiscsi figure for writes. This is our own small program on libiscsi's
 * public async API (no code taken from iscsi-perf): one session, one LUN,
 * READ CAPACITY(16) for the geometry, then READ(16) or WRITE(16) requests of
 * a fixed size at sequential LBAs from 0, wrapping before the end of the LUN,
 * with exactly `-m` commands in flight (a completion immediately issues the
 * next one). After `-t` seconds no new commands are issued; the outstanding
 * ones are drained and counted, so `seconds` runs from the first issue to
 * the last completion.
 *
 * Output: one JSON line on stdout. Errors go to stderr with exit status 1;
 * a CHECK CONDITION prints the decoded sense (SPC-4 4.5 sense key / ASC+ASCQ).
 *
 * MBps is decimal (bytes / 1e6 per second).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "../perf-util.h"

#define DEFAULT_INITIATOR "iqn.2026-01.io.iscsi-initiator:libiscsi-rw-perf"
/* Per-command timeout (libiscsi checks it from iscsi_service()); a hung
 * target then ends the run with an error instead of hanging it forever. */
#define TASK_TIMEOUT_S 30

struct run {
	struct iscsi_context *iscsi;
	int lun;
	int write;             /* 1: WRITE(16), 0: READ(16) */
	uint32_t blocks;       /* blocks per request */
	uint32_t block_size;
	uint64_t num_blocks;   /* LUN size in blocks */
	unsigned char *wbuf;   /* the one write payload, reused by every WRITE */
	uint64_t next_lba;
	int in_flight;
	int stopping;          /* deadline passed: complete, but issue nothing new */
	int failed;
	uint64_t ios;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: libiscsi-rw-perf -r|-w -m <queue_depth> -b <blocks_per_request> "
		"-t <seconds> [-i <initiator-iqn>] iscsi://HOST:PORT/IQN/LUN\n");
	exit(2);
}

/* Prints why a command did not end GOOD; for CHECK CONDITION, the sense. */
static void report_failure(struct run *r, const char *op, int status, struct scsi_task *task)
{
	if (status == SCSI_STATUS_CHECK_CONDITION && task) {
		fprintf(stderr,
			"libiscsi-rw-perf: %s CHECK CONDITION: sense key 0x%x (%s), ASC/ASCQ 0x%04x (%s)\n",
			op, (unsigned)task->sense.key, scsi_sense_key_str(task->sense.key),
			(unsigned)task->sense.ascq, scsi_sense_ascq_str(task->sense.ascq));
	} else {
		fprintf(stderr, "libiscsi-rw-perf: %s failed: status 0x%x: %s\n",
			op, (unsigned)status, iscsi_get_error(r->iscsi));
	}
}

static void io_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data);

/* Issues the next sequential request; wraps to LBA 0 when the next request
 * would run past the last block. */
static int issue_one(struct run *r)
{
	uint32_t len = r->blocks * r->block_size;
	struct scsi_task *task;
	uint64_t lba;

	if (r->next_lba + r->blocks > r->num_blocks)
		r->next_lba = 0;
	lba = r->next_lba;
	r->next_lba += r->blocks;

	if (r->write)
		task = iscsi_write16_task(r->iscsi, r->lun, lba, r->wbuf, len, (int)r->block_size,
					  0, 0, 0, 0, 0, io_done, r);
	else
		task = iscsi_read16_task(r->iscsi, r->lun, lba, len, (int)r->block_size,
					 0, 0, 0, 0, 0, io_done, r);
	if (!task) {
		fprintf(stderr, "libiscsi-rw-perf: could not queue %s: %s\n",
			r->write ? "WRITE(16)" : "READ(16)", iscsi_get_error(r->iscsi));
		r->failed = 1;
		return -1;
	}
	r->in_flight++;
	return 0;
}

/* Completion: count it, and keep the queue full until the deadline. */
static void io_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct run *r = private_data;
	struct scsi_task *task = command_data;

	(void)iscsi;
	r->in_flight--;
	if (status != SCSI_STATUS_GOOD) {
		/* Destroying the context on the error path cancels the rest;
		 * those callbacks arrive with SCSI_STATUS_CANCELLED and are not
		 * reported a second time. */
		if (!r->failed && status != SCSI_STATUS_CANCELLED)
			report_failure(r, r->write ? "WRITE(16)" : "READ(16)", status, task);
		r->failed = 1;
	} else {
		r->ios++;
	}
	if (task)
		scsi_free_scsi_task(task);
	if (!r->failed && !r->stopping)
		issue_one(r);
}

/* READ CAPACITY(16) (SBC-3 5.16): last LBA and logical block length. */
static int read_capacity(struct run *r)
{
	struct scsi_task *task = iscsi_readcapacity16_sync(r->iscsi, r->lun);
	struct scsi_readcapacity16 *rc;

	if (!task) {
		fprintf(stderr, "libiscsi-rw-perf: READ CAPACITY(16): %s\n", iscsi_get_error(r->iscsi));
		return -1;
	}
	if (task->status != SCSI_STATUS_GOOD) {
		report_failure(r, "READ CAPACITY(16)", task->status, task);
		scsi_free_scsi_task(task);
		return -1;
	}
	rc = scsi_datain_unmarshall(task);
	if (!rc || rc->block_length == 0) {
		fprintf(stderr, "libiscsi-rw-perf: could not decode READ CAPACITY(16) data\n");
		scsi_free_scsi_task(task);
		return -1;
	}
	r->num_blocks = rc->returned_lba + 1;
	r->block_size = rc->block_length;
	scsi_free_scsi_task(task);
	return 0;
}

/* The event loop: poll() the session socket for what libiscsi wants and
 * hand the result to iscsi_service(), until the deadline has passed and
 * every outstanding command has completed. */
static int run_loop(struct run *r, double deadline)
{
	while (r->in_flight > 0 && !r->failed) {
		struct pollfd pfd;
		double left = deadline - perf_now_s();
		int timeout_ms, n;

		if (left <= 0)
			r->stopping = 1;
		/* Wake at least once a second: libiscsi's timeouts are checked
		 * from iscsi_service(), and we must notice the deadline. */
		timeout_ms = r->stopping ? 1000 : (int)(left * 1000) + 1;
		if (timeout_ms > 1000)
			timeout_ms = 1000;

		pfd.fd = iscsi_get_fd(r->iscsi);
		pfd.events = (short)iscsi_which_events(r->iscsi);
		pfd.revents = 0;
		if (pfd.events == 0) {
			/* libiscsi asks for a pause (e.g. while reconnecting). */
			pfd.fd = -1;
			if (timeout_ms > 100)
				timeout_ms = 100;
		}
		n = poll(&pfd, 1, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("libiscsi-rw-perf: poll");
			return -1;
		}
		if (iscsi_service(r->iscsi, n > 0 ? pfd.revents : 0) < 0) {
			fprintf(stderr, "libiscsi-rw-perf: iscsi_service: %s\n", iscsi_get_error(r->iscsi));
			return -1;
		}
	}
	return r->failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *initiator = DEFAULT_INITIATOR;
	struct run r;
	struct iscsi_url *url;
	struct rusage ru;
	double seconds_arg = 0, t0, elapsed, bytes;
	long qd = 0, blocks = 0;
	int op = -1, c, i, rc = 1;

	memset(&r, 0, sizeof(r));
	while ((c = getopt(argc, argv, "rwm:b:t:i:h")) != -1) {
		switch (c) {
		case 'r': op = 0; break;
		case 'w': op = 1; break;
		case 'm': qd = perf_parse_long("libiscsi-rw-perf", optarg, "queue depth", 1, 4096); break;
		case 'b': blocks = perf_parse_long("libiscsi-rw-perf", optarg, "blocks per request", 1, 1L << 20); break;
		case 't': seconds_arg = (double)perf_parse_long("libiscsi-rw-perf", optarg, "seconds", 1, 86400); break;
		case 'i': initiator = optarg; break;
		default: usage();
		}
	}
	if (op < 0 || qd == 0 || blocks == 0 || seconds_arg == 0 || optind != argc - 1)
		usage();
	r.write = op;
	r.blocks = (uint32_t)blocks;

	r.iscsi = iscsi_create_context(initiator);
	if (!r.iscsi) {
		fprintf(stderr, "libiscsi-rw-perf: iscsi_create_context failed\n");
		return 1;
	}
	iscsi_set_log_level(r.iscsi, 0); /* logging off (no log function is set either) */
	url = iscsi_parse_full_url(r.iscsi, argv[optind]);
	if (!url) {
		fprintf(stderr, "libiscsi-rw-perf: bad URL: %s\n", iscsi_get_error(r.iscsi));
		goto out_ctx;
	}
	r.lun = url->lun;
	iscsi_set_targetname(r.iscsi, url->target);
	iscsi_set_session_type(r.iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_timeout(r.iscsi, TASK_TIMEOUT_S);
	if (url->user[0] &&
	    iscsi_set_initiator_username_pwd(r.iscsi, url->user, url->passwd) != 0) {
		fprintf(stderr, "libiscsi-rw-perf: CHAP setup: %s\n", iscsi_get_error(r.iscsi));
		goto out_url;
	}
	if (iscsi_full_connect_sync(r.iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "libiscsi-rw-perf: login to %s failed: %s\n",
			url->portal, iscsi_get_error(r.iscsi));
		goto out_url;
	}
	if (read_capacity(&r) != 0)
		goto out_logout;
	if (r.blocks > r.num_blocks) {
		fprintf(stderr, "libiscsi-rw-perf: -b %u exceeds the LUN (%" PRIu64 " blocks)\n",
			r.blocks, r.num_blocks);
		goto out_logout;
	}

	if (r.write) {
		size_t len = (size_t)r.blocks * r.block_size;

		r.wbuf = malloc(len);
		if (!r.wbuf) {
			fprintf(stderr, "libiscsi-rw-perf: out of memory\n");
			goto out_logout;
		}
		/* Arbitrary content, never a zero byte: an all-zero payload
		 * could hide a write that never reached the backing store. */
		for (size_t k = 0; k < len; k++)
			r.wbuf[k] = (unsigned char)(k % 251 + 1);
	}

	t0 = perf_now_s();
	for (i = 0; i < qd; i++)
		if (issue_one(&r) != 0)
			break;
	if (run_loop(&r, t0 + seconds_arg) != 0)
		goto out_url; /* the session state is unknown: no logout */
	elapsed = perf_now_s() - t0;

	iscsi_logout_sync(r.iscsi);
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		memset(&ru, 0, sizeof(ru));
	bytes = (double)r.ios * r.blocks * r.block_size;
	printf("{\"tool\":\"libiscsi-rw-perf\",\"libiscsi\":\"1.19\",\"op\":\"%s\",\"qd\":%ld,"
	       "\"blocks\":%u,\"blockSize\":%u,\"seconds\":%.3f,\"ios\":%" PRIu64 ","
	       "\"iops\":%.1f,\"MBps\":%.2f,\"cpuUserS\":%.3f,\"cpuSysS\":%.3f}\n",
	       r.write ? "write" : "read", qd, r.blocks, r.block_size, elapsed, r.ios,
	       (double)r.ios / elapsed, bytes / 1e6 / elapsed,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	rc = 0;
	goto out_url;

out_logout:
	iscsi_logout_sync(r.iscsi);
out_url:
	iscsi_destroy_url(url); /* before the context: it is freed through it */
out_ctx:
	/* Cancels whatever is still queued (callbacks see CANCELLED), so the
	 * write buffer is only freed afterwards. */
	iscsi_destroy_context(r.iscsi);
	free(r.wbuf);
	return rc;
}
