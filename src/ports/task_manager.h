#ifndef CR_PORTS_TASK_MANAGER_H
#define CR_PORTS_TASK_MANAGER_H
/*
 * Task manager port: operational state of compliance runs (task files under
 * $GIT_DIR/<namespace dir>/tasks/, never pushed), runner liveness, and the
 * forked worker pool that checks a manifest's artifacts (with rules from
 * the rules port).
 */
#include <stddef.h>
#include <stdint.h>
#include "domain/entities.h"
#include "domain/finding.h"
#include "ports/rules.h"

/* A finding a worker holds until it seals its batch; the strings belong to
 * the batch. */
typedef struct cr_pool_finding {
	size_t index; /* the artifact */
	cr_finding f;
	uint64_t left_out; /* 0, or a summary standing for this many findings a cap left out */
} cr_pool_finding;

#define CR_POOL_REF_MAX 72

/* A sealed batch of findings. The pool numbers batches 1, 2, … and the
 * findings in them 1, 2, … across batches, in the order workers seal them
 * (a worker that dies after taking numbers leaves a gap). */
typedef struct cr_pool_batch {
	uint64_t chunk;
	uint64_t first, count; /* its findings are numbered first … first+count-1 */
	uint64_t by_stage[CR_STAGE__COUNT]; /* findings found: a cap's summary counts those it left out */
	uint64_t blockers[CR_STAGE__COUNT]; /* BLOCKER findings per stage; the rest are WARNINGs */
	char ref[CR_POOL_REF_MAX];          /* where seal() stored it */
} cr_pool_batch;

/* The last batch and finding numbers taken, and the findings held
 * against max_per_run (in: before the run; out: after). */
typedef struct cr_pool_seq {
	uint64_t chunk, finding, held;
} cr_pool_seq;

/* What the pool checks: every artifact of a manifest against compiled rules.
 * Findings stay in the worker that found them and are stored there, in
 * batches, by SEAL: the evidence is written by all workers at once, and
 * the parent gets only what each batch holds and where it is. */
typedef struct cr_pool_job {
	const cr_artifact *artifacts;
	size_t count;
	int root_fd;              /* the artifact root, opened by the caller */
	const cr_rules *rules;    /* compiled once, before the workers fork */
	unsigned jobs;            /* worker processes, >= 1 */
	uint64_t timeout_ms;      /* per artifact; 0: none */
	/* Findings of one rule in one artifact that are held; the rest are
	 * counted in the batch counts and held as one summary finding at the
	 * artifact's end (0: no cap). */
	uint64_t max_per_rule_artifact;
	/* Findings held in the whole run (summaries included); past it a
	 * finding is counted in its artifact's outcome (left_out), not held
	 * (0: no cap). A worker that dies does not give back what it held, so
	 * a run with crashes may hold fewer. */
	uint64_t max_per_run;
	/* Called in a worker when it holds BATCH_MAX findings, when it is
	 * between artifacts and its oldest finding is SEAL_MS old (0: never
	 * for age), and when it has checked all it was given: store F[0..N)
	 * (numbered B->first …) and name the result in B->ref. A negative
	 * return (the error set) aborts the whole pool with that error. */
	int (*seal)(const cr_pool_finding *f, size_t n, cr_pool_batch *b, void *ctx);
	size_t batch_max;
	uint64_t seal_ms;
	cr_pool_seq *seq; /* numbering: in and out */
} cr_pool_job;

/* Called in the parent, in the order records arrive. A non-zero return from
 * a callback aborts the pool (workers are killed) and cr_pool_run returns it. */
typedef struct cr_pool_callbacks {
	/* A batch a worker sealed. */
	int (*on_batch)(const cr_pool_batch *b, void *ctx);
	/* One call per artifact, once its outcome is final and every finding
	 * of it is in a batch already passed to on_batch. A worker that
	 * crashed, was killed or ran over timeout_ms yields an outcome whose
	 * content stages (DATA_PURITY, NO_EXTERNAL_ENDPOINTS,
	 * MANIFEST_CONSISTENCY) are stage_error with error naming the artifact
	 * and the cause; an artifact whose findings died unsealed with their
	 * worker is checked again. */
	int (*on_done)(size_t index, const cr_outcome *o, void *ctx);
	/* Throttled progress (at most every 100 ms, and once at the end). */
	void (*on_progress)(uint64_t done, uint64_t total, void *ctx);
	/* Once, when the workers are started and have their first artifacts:
	 * what it does overlaps their scanning (may be NULL). Not called when
	 * there is nothing to scan. */
	int (*on_started)(void *ctx);
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
	/* Take the runner lock of TASK_ID (flock on tasks/<id>.lock) until
	 * unlock() or the port is closed; the pool's workers never hold it.
	 * CR_ECONFLICT if another live process holds it. */
	int (*lock)(void *impl, const char *task_id);
	/* Take over the runner lock of TASK_ID that spawn() handed this
	 * process as descriptor FD: it must be that lock file's, and held. */
	int (*adopt)(void *impl, const char *task_id, int fd);
	/* Let go of TASK_ID's runner lock: its descriptor is closed (never
	 * LOCK_UN), so a runner it was handed to keeps holding it. */
	int (*unlock)(void *impl, const char *task_id);
	/* 1 if a live process holds TASK_ID's runner lock, 0 if not (the runner
	 * is gone, whatever its pid became), negative on error. A task with no
	 * local task file is reported as 1 (it may run on another clone). */
	int (*alive)(void *impl, const char *task_id);
	/* Run the forked worker pool over JOB. */
	int (*scan)(void *impl, const cr_pool_job *job, const cr_pool_callbacks *cb, void *ctx);
	/* Start the runner of TASK_ID (whose lock this port holds) as a fresh
	 * exec of the program, never a fork of the caller: its own session,
	 * stdio on /dev/null, default signals, the lock handed over as a
	 * descriptor and no other descriptor inherited. It runs the task with
	 * JOBS workers; the caller returns once it is started (0), then lets
	 * go of its copy of the lock with unlock(). */
	int (*spawn)(void *impl, const char *task_id, unsigned jobs);
} cr_task_port;

#endif
