#ifndef CR_SERVICES_COMPLIANCE_INTERNAL_H
#define CR_SERVICES_COMPLIANCE_INTERNAL_H
/*
 * Private to the compliance services (compliance_request.c,
 * compliance_runner.c, compliance_reaper.c, compliance_queries.c): what a
 * run's request, its runner, the reaper and the queries share.
 *
 * Ledger commits of one run, in order: requested (+ audit compliance.run),
 * started, violation chunks as they fill, stage-1 … stage-4, then the
 * report with the finished event (+ audit compliance.finish).
 */
#include "domain/codec.h"
#include "services/internal.h"
#include "util/error.h"

#define CHUNK_MAX 4096      /* violations per chunk */
#define SEAL_MS 1000        /* a worker stores what it holds at least this often */
#define CHUNK_COMMIT_MS 1000 /* stored chunks join the ledger at most this often while the run goes on */

/* ---- reading a run (compliance_queries.c) ---- */

/* 0 if RUN_ID is a well-formed run id, else INVALID_ARGUMENT. */
int cr_compliance_check_run_id(const char *run_id);
/* Fold the run's stored events into OUT (no task progress); OUT is the
 * caller's, cleared with cr_run_clear. */
int cr_compliance_load_run(cr_txn *t, const cr_svc *s, const char *run_id, cr_run *out);
/* Whether the run's finished event is stored. */
bool cr_compliance_run_finished(const cr_run *r);
/* 1 if R is unfinished and orphaned (its task is on this machine and its
 * runner lock is free), 0 if not, negative on error. */
int cr_compliance_orphaned(const cr_svc *s, const cr_run *r);
/* If R is orphaned, report it as every reader does until its finish is
 * recorded (domain/fold.h cr_verdict_orphan_run, finished when its task
 * was last updated) and set *ORPHANED; else leave it as it is. */
int cr_compliance_orphan_view(const cr_svc *s, cr_run *r, bool *orphaned);
/* The opening steps of every run query: check RUN_ID, begin *T (the
 * caller ends it, also on error: *T is NULL then), load the run into RUN
 * (the caller's, cr_run_clear) and, when it is orphaned, report it as
 * FAILED/ERROR in memory (*ORPHANED true): nothing is written. */
int cr_compliance_open_run(const cr_svc *s, const char *run_id, cr_txn **t, cr_run *run, bool *orphaned);

/* ---- orphaned runs (compliance_reaper.c) ---- */

#define CR_ORPHAN_REASON_MAX 256
/* Why an orphaned run is FAILED/ERROR: the same sentence for every reader
 * and for its recorded finish. */
void cr_compliance_orphan_reason(char *buf, size_t len, const char *run_id, const char *task_id);
/* TASK as the task of an orphaned run is reported: FAILED, no pid, REASON
 * (copied) as its error. */
int cr_compliance_orphan_task(cr_task *task, const char *reason);

/* ---- finishing a run (compliance_runner.c) ---- */

/* A violation chunk stored (by a worker, or the runner) but not yet in a
 * ledger commit. */
struct stored_chunk {
	uint64_t chunk, count;
	char ref[CR_POOL_REF_MAX];
};

struct finish_ctx {
	const cr_svc *s;
	const char *run_id;
	const char *actor;
	/* Violation chunks stored and still to join the ledger, in this commit. */
	const struct stored_chunk *chunks;
	size_t nchunks;
	/* Stage results computed by the runner; NULL entries are SKIPPED. */
	cr_stage_result *stages[CR_STAGE__COUNT];
	uint64_t total, blocker, warning, by_stage[CR_STAGE__COUNT];
	bool aborted;       /* the run did not evaluate every stage */
	const char *reason; /* why, when aborted */
	const char *finished_at; /* when the run ended (an orphan: its runner's last sign of life); NULL: now */
	cr_report report;   /* out */
	bool already;       /* someone else finished it */
};

/* One commit: any stage events still missing (SKIPPED), the report, the
 * finished event and the compliance.finish audit event. Idempotent. VCTX is
 * a struct finish_ctx; its report is the caller's to clear. */
int cr_compliance_finish_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway);
/* Count the violations already stored for a run into X (for a reaped or
 * aborted run). */
int cr_compliance_count_stored(cr_txn *t, const cr_svc *s, const char *run_id, struct finish_ctx *x);

/* ---- requesting a run (compliance_request.c) ---- */

struct request_ctx {
	const cr_svc *s;
	const char *cid, *mid;
	const char *actor; /* the caller's; after the request, who.actor (the signer's principal where signed) */
	cr_svc_who who;
	unsigned jobs;
	bool start_now; /* the runner is this process: the request starts the run too */
	char *policy_json, *registry_json;
	cr_snapshot ps, rs;
	cr_run run;          /* the requested run */
	cr_manifest m;       /* its manifest */
	char *artifact_root; /* of the manifest's import */
	char locked_task[CR_ID_MAX];
};

/* ---- executing a run (compliance_runner.c) ---- */

struct exec {
	const cr_svc *s;
	struct request_ctx *req;
	cr_policy pol;
	cr_registry reg;
	cr_rules *rules;
	cr_svc_progress_fn progress;
	void *pctx;
	cr_task task;
	/* The runner's own violations (manifest-wide, or a missing root). */
	cr_violation *own;
	size_t nown, aown;
	/* Chunks stored and not yet committed; the numbering of chunks and
	 * violation ids (the workers', then the runner's own). */
	struct stored_chunk *pend;
	size_t npend, apend;
	uint64_t last_commit_ms;
	cr_pool_seq seq;
	/* per stage */
	uint64_t checked[CR_STAGE__COUNT], count[CR_STAGE__COUNT], blockers[CR_STAGE__COUNT];
	uint64_t warnings;
	/* Violations limits.max_violations_per_run kept from being recorded,
	 * per stage and severity: one summary each at the end. */
	uint64_t left_out[CR_STAGE__COUNT][2];
	bool error[CR_STAGE__COUNT];
	char errmsg[CR_STAGE__COUNT][600];
	uint64_t done;
	int failure; /* a ledger error during the run */
	cr_error failure_err;
};

/* Execute the requested run E->req to its finish (this process is its
 * runner); the task and the ledger say how it went. */
int cr_compliance_execute(struct exec *e);
/* Free what cr_compliance_execute left in E (rules, policy, task). */
void cr_compliance_exec_clear(struct exec *e);

#endif
