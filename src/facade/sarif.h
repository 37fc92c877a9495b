#ifndef CR_FACADE_SARIF_H
#define CR_FACADE_SARIF_H
/* A finished run's violations as SARIF 2.1.0 (docs/ci.md). */
#include <stdio.h>
#include "facade/facade.h"

/* GitHub code scanning rejects a run of more results than this. */
#define CR_SARIF_MAX_RESULTS 25000

typedef struct cr_sarif_stats {
	size_t written;   /* results written */
	size_t left_out;  /* recorded violations past MAX, the least severe */
	uint64_t total;   /* the report's total (summaries counted as what they stand for) */
} cr_sarif_stats;

/* Write the violations of the finished run RUN_ID to OUT as one SARIF
 * 2.1.0 log: a rule per rule id, levels from severities (BLOCKER error,
 * WARNING warning), artifact paths relative to ARTIFACT_ROOT with line and
 * column, excerpts as stored (secrets masked); at most MAX results (0:
 * CR_SARIF_MAX_RESULTS), the most severe first, and the run's properties
 * carry the true totals and how many were left out. TOOL_VERSION names
 * this program's version. CR_ERUN_NOT_FINISHED before the run finished. */
int cr_sarif_write(cr_facade *f, const char *run_id, const char *tool_version, size_t max, FILE *out,
		   cr_sarif_stats *st);

#endif
