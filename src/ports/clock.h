#ifndef CR_PORTS_CLOCK_H
#define CR_PORTS_CLOCK_H
/* Clock port: services never read the time themselves. */
#include <stdint.h>
#include "domain/entities.h"

typedef struct cr_clock_port {
	void *impl;
	/* Wall clock as RFC 3339 UTC with seconds: 2026-03-09T10:15:00Z. */
	void (*now)(void *impl, char out[CR_TS_MAX]);
	/* Monotonic milliseconds, for durations. */
	uint64_t (*ms)(void *impl);
} cr_clock_port;

/* The system clock. */
void cr_clock_system(cr_clock_port *out);

#endif
