#include <stdio.h>
#include <time.h>
#include "ports/clock.h"

static void sys_now(void *impl, char out[CR_TS_MAX])
{
	(void)impl;
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, CR_TS_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static uint64_t sys_ms(void *impl)
{
	(void)impl;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cr_clock_system(cr_clock_port *out)
{
	out->impl = NULL;
	out->now = sys_now;
	out->ms = sys_ms;
}
