/*
 * The two helpers the benchmark's C load programs share
 * (bench/peer/libiscsi-rw-perf.c, bench/core/isc-core-perf.c): a monotonic
 * clock in seconds and a strict integer option parser.
 */
#ifndef BENCH_PERF_UTIL_H
#define BENCH_PERF_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double perf_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole of s as a decimal in [min, max], else a message naming the
 * program and the option, and exit status 2. */
static inline long perf_parse_long(const char *prog, const char *s, const char *what, long min,
				   long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "%s: bad %s '%s' (%ld..%ld)\n", prog, what, s, min, max);
		exit(2);
	}
	return v;
}

#endif
