/*
 * isc-core-perf: our C core (native/core) alone, driven by a plain poll()
 * loop, with the same access pattern and output as bench/peer/
 * libiscsi-rw-perf.c: one session, READ CAPACITY(16) for the geometry, then
 * READ or WRITE requests of a fixed size at sequential LBAs from 0, wrapping
 * before the end of the LUN, exactly `-m` commands in flight (a completion
 * issues the next one from its callback). After `-t` seconds nothing new is
 * issued; the outstanding commands are drained and counted.
 *
 * Why: the Node figures include V8, N-API and libuv. This separates what the
 * protocol engine costs from what the JavaScript layer costs, on the same
 * target in the same run (docs/benchmarks.md). The context is configured as
 * the Node addon configures it: deferred sends (one sendmsg per loop turn)
 * and receive coalescing (isc_prepare_wait before each poll).
 *
 *   isc-core-perf -r|-w -m QD -b BLOCKS -t SECONDS [-i IQN] iscsi://ADDR:PORT/IQN/LUN
 *
 * ADDR must be numeric (the core does not resolve names). Output: one JSON
 * line on stdout; errors on stderr with exit status 1.
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

#include "isc/iscsi.h"
#include "isc/scsi.h"

#include "../perf-util.h"

#define DEFAULT_INITIATOR "iqn.2026-01.io.iscsi-initiator:isc-core-perf"
#define MAX_QD 1024

struct slot {
	struct run *run;
	uint8_t *buf;
};

struct run {
	isc_ctx *ctx;
	uint64_t lun;
	int write;
	uint32_t blocks, block_size;
	uint64_t num_blocks, next_lba;
	int in_flight, stopping, failed;
	uint64_t ios;
	struct slot slots[MAX_QD];
};

static void usage(void)
{
	fprintf(stderr, "usage: isc-core-perf -r|-w -m <queue_depth> -b <blocks_per_request> "
			"-t <seconds> [-i <initiator-iqn>] iscsi://ADDR:PORT/IQN/LUN\n");
	exit(2);
}

/* iscsi://ADDR:PORT/IQN/LUN, ADDR numeric (IPv4 or [IPv6]). */
static int parse_url(const char *url, char *portal, size_t plen, char *iqn, size_t ilen,
		     uint64_t *lun)
{
	const char *p = url, *slash, *last;

	if (strncmp(p, "iscsi://", 8) != 0)
		return -1;
	p += 8;
	slash = strchr(p, '/');
	last = strrchr(p, '/');
	if (!slash || last == slash || (size_t)(slash - p) >= plen ||
	    (size_t)(last - slash - 1) >= ilen)
		return -1;
	memcpy(portal, p, (size_t)(slash - p));
	portal[slash - p] = '\0';
	memcpy(iqn, slash + 1, (size_t)(last - slash - 1));
	iqn[last - slash - 1] = '\0';
	*lun = (uint64_t)perf_parse_long("isc-core-perf", last + 1, "LUN", 0, 16383);
	return 0;
}

static void io_done(isc_ctx *ctx, int status, void *result, void *priv);

static int issue_one(struct slot *s)
{
	struct run *r = s->run;
	uint8_t cdb[ISC_CDB_MAX];
	size_t len = (size_t)r->blocks * r->block_size;
	struct isc_scsi_cmd c = { .lun = r->lun, .cdb = cdb };
	uint64_t lba;
	int rc;

	if (r->next_lba + r->blocks > r->num_blocks)
		r->next_lba = 0;
	lba = r->next_lba;
	r->next_lba += r->blocks;
	if (r->write) {
		c.cdb_len = isc_cdb_write16(cdb, lba, r->blocks);
		c.dir = ISC_DIR_WRITE;
		c.data_out = s->buf;
		c.out_len = len;
	} else {
		c.cdb_len = isc_cdb_read16(cdb, lba, r->blocks);
		c.dir = ISC_DIR_READ;
		c.data_in = s->buf;
		c.in_len = len;
	}
	rc = isc_scsi_submit(r->ctx, &c, io_done, s, NULL);
	if (rc != ISC_OK) {
		fprintf(stderr, "isc-core-perf: submit: %s\n", isc_strerror(rc));
		r->failed = 1;
		return -1;
	}
	r->in_flight++;
	return 0;
}

static void io_done(isc_ctx *ctx, int status, void *result, void *priv)
{
	struct slot *s = priv;
	struct run *r = s->run;
	struct isc_scsi_result *res = result;

	(void)ctx;
	r->in_flight--;
	if (status != ISC_OK || !res || res->status != 0 || res->response != 0) {
		if (!r->failed)
			fprintf(stderr, "isc-core-perf: %s failed: %s, SCSI status 0x%x\n",
				r->write ? "WRITE(16)" : "READ(16)",
				status ? isc_strerror(status) : "ok", res ? res->status : 0);
		r->failed = 1;
	} else {
		r->ios++;
	}
	if (res)
		isc_scsi_result_free(res); /* the data buffer is ours (borrowed) */
	if (!r->failed && !r->stopping)
		issue_one(s);
}

/* poll() loop in the core's documented shape (isc/iscsi.h). */
static int run_loop(struct run *r, double deadline)
{
	while (r->in_flight > 0 && !r->failed) {
		struct pollfd pfd = { .fd = isc_get_fd(r->ctx) };
		int64_t t;
		int timeout, n;

		if (perf_now_s() >= deadline)
			r->stopping = 1;
		isc_prepare_wait(r->ctx);
		pfd.events = (short)isc_which_events(r->ctx);
		t = isc_next_timeout_ms(r->ctx, isc_now_ms());
		timeout = t < 0 || t > 100 ? 100 : (int)t;
		n = poll(&pfd, 1, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("isc-core-perf: poll");
			return -1;
		}
		if (isc_service(r->ctx, n > 0 ? pfd.revents : 0) < 0 && !r->failed) {
			fprintf(stderr, "isc-core-perf: %s\n", isc_last_error(r->ctx)->message);
			return -1;
		}
	}
	return r->failed ? -1 : 0;
}

static int read_capacity(struct run *r)
{
	uint8_t cdb[ISC_CDB_MAX];
	size_t n = isc_cdb_read_capacity16(cdb, 32);
	struct isc_scsi_result *res = NULL;
	struct isc_capacity cap;
	int rc;

	/* The first command after login may see UNIT ATTENTION: retry once. */
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = isc_sync_scsi(r->ctx, r->lun, cdb, n, ISC_DIR_READ, NULL, 0, 32, &res);
		if (rc != ISC_OK) {
			fprintf(stderr, "isc-core-perf: READ CAPACITY(16): %s\n", isc_strerror(rc));
			return -1;
		}
		if (res->status == 0)
			break;
		isc_scsi_result_free(res);
		res = NULL;
	}
	if (!res || isc_parse_read_capacity16(res->data, res->data_len, &cap) != 0 ||
	    cap.block_length == 0) {
		fprintf(stderr, "isc-core-perf: READ CAPACITY(16) failed or undecodable\n");
		if (res)
			isc_scsi_result_free(res);
		return -1;
	}
	r->num_blocks = cap.last_lba + 1;
	r->block_size = cap.block_length;
	isc_scsi_result_free(res);
	return 0;
}

int main(int argc, char **argv)
{
	static struct run r;
	const char *initiator = DEFAULT_INITIATOR;
	char portal[300], iqn[256];
	struct isc_config cfg;
	struct rusage ru;
	double seconds = 0, t0, elapsed, bytes;
	long qd = 0, blocks = 0;
	int op = -1, c, rc = 1;

	while ((c = getopt(argc, argv, "rwm:b:t:i:h")) != -1) {
		switch (c) {
		case 'r': op = 0; break;
		case 'w': op = 1; break;
		case 'm': qd = perf_parse_long("isc-core-perf", optarg, "queue depth", 1, MAX_QD); break;
		case 'b': blocks = perf_parse_long("isc-core-perf", optarg, "blocks per request", 1, 1L << 20); break;
		case 't': seconds = (double)perf_parse_long("isc-core-perf", optarg, "seconds", 1, 86400); break;
		case 'i': initiator = optarg; break;
		default: usage();
		}
	}
	if (op < 0 || !qd || !blocks || !seconds || optind != argc - 1 ||
	    parse_url(argv[optind], portal, sizeof(portal), iqn, sizeof(iqn), &r.lun) != 0)
		usage();
	r.write = op;
	r.blocks = (uint32_t)blocks;

	memset(&cfg, 0, sizeof(cfg));
	cfg.session_type = ISC_SESSION_NORMAL;
	cfg.initiator_name = initiator;
	cfg.target_name = iqn;
	cfg.portal_text = portal;
	cfg.defer_send = 1;
	cfg.rx_coalesce = 1;
	if (isc_parse_numeric_portal(portal, 3260, &cfg.addr, &cfg.addrlen) != ISC_OK) {
		fprintf(stderr, "isc-core-perf: the portal must be a numeric address: %s\n", portal);
		return 2;
	}
	if (isc_ctx_new(&cfg, &r.ctx) != ISC_OK) {
		fprintf(stderr, "isc-core-perf: bad configuration\n");
		return 1;
	}
	if (isc_sync_login(r.ctx) != ISC_OK) {
		fprintf(stderr, "isc-core-perf: login: %s\n", isc_last_error(r.ctx)->message);
		goto out;
	}
	if (read_capacity(&r) != 0)
		goto out_logout;
	if (r.blocks > r.num_blocks) {
		fprintf(stderr, "isc-core-perf: -b %u exceeds the LUN\n", r.blocks);
		goto out_logout;
	}
	for (long i = 0; i < qd; i++) {
		size_t len = (size_t)r.blocks * r.block_size;
		r.slots[i].run = &r;
		r.slots[i].buf = malloc(len);
		if (!r.slots[i].buf) {
			fprintf(stderr, "isc-core-perf: out of memory\n");
			goto out_logout;
		}
		for (size_t k = 0; k < len; k++)
			r.slots[i].buf[k] = (uint8_t)(k % 251 + 1);
	}

	t0 = perf_now_s();
	for (long i = 0; i < qd; i++)
		if (issue_one(&r.slots[i]) != 0)
			break;
	if (run_loop(&r, t0 + seconds) != 0)
		goto out;
	elapsed = perf_now_s() - t0;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		memset(&ru, 0, sizeof(ru));
	bytes = (double)r.ios * r.blocks * r.block_size;
	printf("{\"tool\":\"isc-core-perf\",\"op\":\"%s\",\"qd\":%ld,\"blocks\":%u,\"blockSize\":%u,"
	       "\"seconds\":%.3f,\"ios\":%" PRIu64 ",\"iops\":%.1f,\"MBps\":%.2f,"
	       "\"cpuUserS\":%.3f,\"cpuSysS\":%.3f}\n",
	       r.write ? "write" : "read", qd, r.blocks, r.block_size, elapsed, r.ios,
	       (double)r.ios / elapsed, bytes / 1e6 / elapsed,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	rc = 0;
out_logout:
	isc_sync_logout(r.ctx);
out:
	isc_ctx_free(r.ctx); /* completes anything left with ISC_ERR_CLOSED */
	for (long i = 0; i < qd; i++)
		free(r.slots[i].buf);
	return rc;
}
