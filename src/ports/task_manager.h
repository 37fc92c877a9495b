#ifndef CR_PORTS_TASK_MANAGER_H
#define CR_PORTS_TASK_MANAGER_H
/*
 * Task manager port: operational state of compliance runs (task files under
 * $GIT_DIR/<namespace dir>/tasks/, never pushed), runner liveness, and the
 * forked worker pool that checks a manifest's artifacts.
 */
#include <stddef.h>
#include <stdint.h>
#include "domain/entities.h"
#include "engine/engine.h"

/* What the pool checks: every artifact of a manifest against compiled rules. */
typedef struct cr_pool_job {
	const cr_artifact *artifacts;
	size_t count;
	int root_fd;              /* the artifact root, opened by the caller */
	const cr_rules *rules;    /* compiled once, before the workers fork */
	unsigned jobs;            /* worker processes, >= 1 */
	uint64_t timeout_ms;      /* per artifact; 0: none */
} cr_pool_job;

/* Called in the parent, in the order records arrive. A non-zero return from
 * a callback aborts the pool (workers are killed) and cr_pool_run returns it. */
typedef struct cr_pool_callbacks {
	int (*on_finding)(size_t index, const cr_finding *f, void *ctx);
	/* One call per artifact, after its findings. A worker that crashed, was
	 * killed or ran over timeout_ms yields an outcome whose content stages
	 * (DATA_PURITY, NO_EXTERNAL_ENDPOINTS, MANIFEST_CONSISTENCY) are
	 * stage_error with error naming the artifact and the cause. */
	int (*on_done)(size_t index, const cr_outcome *o, void *ctx);
	/* Throttled progress (at most every 100 ms, and once at the end). */
	void (*on_progress)(uint64_t done, uint64_t total, void *ctx);
} cr_pool_callbacks;

typedef struct cr_task_port {
	void *impl;
	/* Create the task file (QUEUED). CR_ECONFLICT if it exists. */
	int (*create)(void *impl, const cr_task *t);
	/* Replace the task file atomically. */
	int (*save)(void *impl, const cr_task *t);
	/* Load; CR_ENOT_FOUND naming the task when absent. */
	int (*load)(void *impl, const char *task_id, cr_task *out);
	/* Remove a task file (only for a run whose request was never committed). */
	int (*discard)(void *impl, const char *task_id);
	/* Take the runner lock of TASK_ID for this process's whole life (flock
	 * on tasks/<id>.lock, kept across the pool's forks only in the runner).
	 * CR_ECONFLICT if another live process holds it. */
	int (*lock)(void *impl, const char *task_id);
	/* Release this process's runner lock of TASK_ID (after spawn() handed
	 * it to the runner, which inherited it across the fork). */
	int (*unlock)(void *impl, const char *task_id);
	/* 1 if a live process holds TASK_ID's runner lock, 0 if not (the runner
	 * is gone, whatever its pid became), negative on error. A task with no
	 * local task file is reported as 1 (it may run on another clone). */
	int (*alive)(void *impl, const char *task_id);
	/* Run the forked worker pool over JOB. */
	int (*scan)(void *impl, const cr_pool_job *job, const cr_pool_callbacks *cb, void *ctx);
	/* Fork a detached runner (new session, stdio to /dev/null) that calls
	 * FN(ARG) and exits with its result. The caller returns at once; 0 or a
	 * negative code if the fork failed. */
	int (*spawn)(void *impl, int (*fn)(void *arg), void *arg);
} cr_task_port;

#endif
