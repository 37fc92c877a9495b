#ifndef CR_SERVICES_SERVICES_H
#define CR_SERVICES_SERVICES_H
/*
 * Application services: one function per operation, over the ports only
 * (ledger, policy store, task manager, clock). They hold the gates of
 * data-model.md §3 and know nothing of git, paths or the namespace.
 */
#include <stdbool.h>
#include <cjson/cJSON.h>
#include "domain/entities.h"
#include "domain/lifecycle.h"
#include "domain/page.h"
#include "ports/clock.h"
#include "ports/ledger.h"
#include "ports/policy_store.h"
#include "ports/task_manager.h"

typedef struct cr_svc {
	const cr_ledger_port *ledger;
	const cr_policy_port *policy;
	const cr_task_port *tasks;
	const cr_clock_port *clock;
} cr_svc;

/* ---- shared helpers (services/common.c) ---- */

/* Read and parse one stored object. */
int cr_svc_get_json(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *key, const char *sub, cJSON **out);
/* Canonical JSON of DOC staged as a new object (DOC is freed). */
int cr_svc_put_json(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *cid, const char *key,
		    const char *sub, cJSON *doc);
/* The same, with the object stored first by write_blob: REF gets its id. */
int cr_svc_put_json_ref(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *cid, const char *key,
			const char *sub, cJSON *doc, char *ref, size_t reflen);
/* The local cache of packed manifests, keyed by the stored manifest's
 * object id (so an entry names that exact content): put is best effort;
 * get is 0 on a hit, negative on a miss or an entry that does not check
 * out. Whoever reads one still checks it against the evidence (the run
 * recomputes the manifest digest, which the manifest.build event records). */
void cr_svc_cache_manifest(const cr_svc *s, const char *ref, const cr_manifest *m);
int cr_svc_cached_manifest(const cr_svc *s, const char *ref, cr_manifest *out);
/* Derive a candidate's status and latest ids from its own audit events. */
int cr_svc_candidate_view(cr_txn *t, const cr_svc *s, const char *cid, cr_candidate_view *out);
/* The view of candidate CID for a list, in the snapshot *T: an unfinished
 * run whose runner is gone is finished first (*T is then a new snapshot). */
int cr_svc_list_view(cr_txn **t, const cr_svc *s, const char *cid, cr_candidate_view *out);
/* One page of cr_svc_list (services/candidate_page.c). */
int cr_svc_list_page(const cr_svc *s, cr_status filter, const cr_page_req *pg, cr_candidate_view **out, size_t *n,
		     char *next);
/* The created_at of the newest candidate of snapshot T ("" if none). */
int cr_svc_newest_created_at(cr_txn *t, const cr_svc *s, char out[CR_TS_MAX]);
/* Start the accepted audit event EV of TYPE (a lifecycle audit type name:
 * cr_op_audit_type, cr_event_audit_type, CR_AUDIT_*) for candidate CID
 * (NULL: none) by ACTOR, which EV borrows; the caller adds details
 * (cr_audit_detail), stages it (cr_svc_audit) and ends it with
 * cr_svc_audit_event_done. */
void cr_svc_audit_event_init(cr_audit_event *ev, const char *type, const char *cid, const char *actor);
/* Free what EV owns (not the borrowed actor) and zero it. */
void cr_svc_audit_event_done(cr_audit_event *ev);
/* Stage audit event EV (type, candidate_id, actor, accepted, details and
 * error filled by the caller): allocates its event_id, stamps "at". */
int cr_svc_audit(cr_txn *t, const cr_svc *s, cr_audit_event *ev);
/* Refuse OP for the candidate in view V: sets the INVALID_TRANSITION error
 * ("cannot approve X: status is S; approve needs … (allowed now: …)") and
 * stages the REFUSED audit event; returns the code. */
int cr_svc_refuse_transition(cr_txn *t, const cr_svc *s, cr_op op, const cr_candidate_view *v,
			     const char *actor, int *commit_anyway, char *msg, size_t msglen);
/* Stage the REFUSED audit event for the current (gate) error. */
int cr_svc_refuse_gate(cr_txn *t, const cr_svc *s, cr_op op, const cr_candidate_view *v,
		       const char *actor, int *commit_anyway, char *msg, size_t msglen, const char *key,
		       const char *value);
/* Refresh the status note of a candidate (best effort). */
void cr_svc_note(const cr_svc *s, const char *cid);

/* ---- operations ---- */

int cr_svc_register(const cr_svc *s, const char *cid, const char *version, const char *snapshot,
		    const char *actor, cr_candidate_view *out);
int cr_svc_import(const cr_svc *s, const char *cid, const char *input, size_t len, const char *what,
		  const char *base_dir, const char *root_override, const char *actor, cr_import *out);
int cr_svc_show(const cr_svc *s, const char *cid, cr_candidate_view *out);
/* The candidates (FILTER: CR_STATUS_NONE for all), newest first (created_at
 * descending, then candidate_id): all of them (PG NULL or no limit), or one
 * page, NEXT (CR_CURSOR_MAX bytes, may be NULL without a page) getting the
 * next page's cursor or "". *OUT[0..*N) is the caller's (cr_candidate_clear
 * of each .c, then free). */
int cr_svc_list(const cr_svc *s, cr_status filter, const cr_page_req *pg, cr_candidate_view **out, size_t *n,
		char *next);

int cr_svc_manifest_build(const cr_svc *s, const char *cid, const char *actor, cr_manifest *out);
int cr_svc_manifest_show(const cr_svc *s, const char *mid, cr_manifest *out);
int cr_svc_manifest_list(const cr_svc *s, const char *cid, cr_manifest **out, size_t *n);

int cr_svc_policy_publish(const cr_svc *s, const char *policy, size_t plen, const char *pwhat,
			  const char *registry, size_t rlen, const char *rwhat, const char *actor);

/* The audit log in ledger order (evt-NNN ascending), of candidate CID or
 * (NULL) all, whole or one page as for cr_svc_list. *OUT[0..*N) is the
 * caller's (cr_audit_event_clear of each, then free). */
int cr_svc_audit_log(const cr_svc *s, const char *cid, const cr_page_req *pg, cr_audit_event **out, size_t *n,
		     char *next);

typedef void (*cr_svc_progress_fn)(const cr_run *run, void *ctx);
int cr_svc_run(const cr_svc *s, const char *cid, const char *mid, const char *actor, unsigned jobs,
	       bool detach, cr_svc_progress_fn progress, void *pctx, cr_run *out);
/* The live view of a run; an orphaned run is reported FAILED/ERROR (not
 * recorded: reads never write). */
int cr_svc_run_status(const cr_svc *s, const char *run_id, cr_run *out);
/* The violations of a run in append order (violation_id ascending), of
 * STAGE / SEVERITY only (-1: any), whole or one page as for cr_svc_list.
 * *OUT[0..*N) is the caller's (cr_violation_clear of each, then free). */
int cr_svc_violations(const cr_svc *s, const char *run_id, int stage, int severity, const cr_page_req *pg,
		      cr_violation **out, size_t *n, char *next);
int cr_svc_report(const cr_svc *s, const char *run_id, cr_report *out);
int cr_svc_task_status(const cr_svc *s, const char *task_id, cr_task *out);
/* Record the finish (FAILED/ERROR, one commit, audit actor ACTOR) of the
 * candidate's latest run if it is orphaned; a no-op otherwise. Every write
 * to a candidate calls it first. */
int cr_svc_reap_candidate(const cr_svc *s, const char *cid, const char *actor);
/* The same for one run; *REAPED (may be NULL) says whether this call
 * recorded it. */
int cr_svc_reap_run(const cr_svc *s, const char *run_id, const char *actor, bool *reaped);
/* Record the finish of every orphaned run of the namespace, each in its own
 * commit; REAPED (the caller's, cr_strlist_clear) gets their run ids.
 * Writes nothing when there is none. */
int cr_svc_reap_all(const cr_svc *s, const char *actor, cr_strlist *reaped);

int cr_svc_decide(const cr_svc *s, const char *cid, const char *report_id, bool approve,
		  const char *actor, const char *comment, cr_approval *out);
int cr_svc_publish(const cr_svc *s, const char *cid, const char *report_id, const char *channel,
		   const char *tag, const char *actor, cr_publication *out);
int cr_svc_revoke(const cr_svc *s, const char *cid, const char *pub_id, const char *reason,
		  const char *actor, cr_publication *out);

#endif
