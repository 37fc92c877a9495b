#ifndef CR_DOMAIN_FINDING_H
#define CR_DOMAIN_FINDING_H
/*
 * What checking one artifact yields: its findings, one by one, and its
 * outcome. The engine produces them in the workers; the pool carries them
 * to the runner, which turns them into violations and stage results.
 */
#include <stdbool.h>
#include <stdint.h>
#include "domain/entities.h"

/* One finding; strings are valid until the callback returns. */
typedef struct cr_finding {
	cr_stage stage;
	const char *rule_id;  /* policy rule id or "builtin:..." */
	cr_severity severity;
	const char *message;  /* one line, <= 1000 bytes */
	bool has_location;
	cr_location location;
	const char *excerpt;  /* NULL or <= 120 bytes of valid UTF-8, secrets masked */
} cr_finding;

/* Return non-zero from the callback to stop checking this artifact. */
typedef int (*cr_finding_fn)(const cr_finding *f, void *ctx);

typedef struct cr_outcome {
	char sha256[CR_SHA_MAX]; /* of the bytes read, "" if not read */
	uint64_t size;
	bool read_ok;            /* false: missing/unreadable/leaves root (reported as builtin:artifact-missing) */
	/* Per stage: true if the stage could not be evaluated for this artifact
	 * (a regex hit its match or depth limit, the artifact is over
	 * max_artifact_bytes); error says why, naming the rule and artifact. */
	bool stage_error[CR_STAGE__COUNT];
	char error[600];
	/* Filled by the worker pool: findings of this artifact that the run's
	 * cap counted instead of holding, per stage, and the BLOCKERs among them. */
	uint64_t left_out[CR_STAGE__COUNT], left_out_blockers[CR_STAGE__COUNT];
} cr_outcome;

#endif
