#ifndef CR_SERVICES_SERVICES_H
#define CR_SERVICES_SERVICES_H
/*
 * Application services: one function per operation, over the ports only
 * (ledger, policy store, task manager, clock). They hold the gates of
 * data-model.md §3 and know nothing of git, paths or the namespace.
 *
 * Every function returns 0 or a negative CR_E* code with cr_error_last()
 * set. What a function fills in OUT is the caller's (the matching
 * cr_*_clear); strings given as arguments are borrowed for the call only.
 * A cr_svc holds no state of its own: it is safe wherever its ports are
 * (the facade gives each handle its own ports; see facade.h).
 */
#include <stdbool.h>
#include "domain/entities.h"
#include "domain/lifecycle.h"
#include "domain/page.h"
#include "ports/clock.h"
#include "ports/ledger.h"
#include "ports/cache.h"
#include "ports/policy_store.h"
#include "ports/rules.h"
#include "ports/task_manager.h"

/* How the actor a caller gives meets the signer of an operation the policy
 * wants signed, whose principal is the actor it records (docs/trust.md,
 * "Who acts"). */
typedef enum cr_actor_mode {
	CR_ACTOR_CLAIMED,   /* the caller named it: it must be the signer's principal */
	CR_ACTOR_DEFAULT,   /* a default (git config user.email): the principal replaces it */
	CR_ACTOR_DELEGATED, /* the requester a server authenticated: the principal acts, the
			     * requester is recorded as details.on_behalf_of */
} cr_actor_mode;

typedef struct cr_svc {
	const cr_ledger_port *ledger;
	const cr_policy_port *policy;
	const cr_task_port *tasks;
	const cr_clock_port *clock;
	const cr_rules_port *rules;
	const cr_cache_port *cache; /* NULL: no local cache */
	/* For the tests: policy publish stops after the ledger records the
	 * policy and before the policy ref moves, as a kill there would. */
	bool fault_publish_stop;
	cr_actor_mode actor_mode;
} cr_svc;

/* ---- operations ---- */

/* Register candidate CID at SNAPSHOT (a revision); OUT its view. */
int cr_svc_register(const cr_svc *s, const char *cid, const char *version, const char *snapshot,
		    const char *actor, cr_candidate_view *out);
/* Import the artifacts document INPUT (WHAT names it) into CID; OUT the import. */
int cr_svc_import(const cr_svc *s, const char *cid, const char *input, size_t len, const char *what,
		  const char *base_dir, const char *root_override, const char *actor, cr_import *out);
/* The view of candidate CID (the caller clears OUT->c). */
int cr_svc_show(const cr_svc *s, const char *cid, cr_candidate_view *out);
/* The candidates (FILTER: CR_STATUS_NONE for all), newest first (created_at
 * descending, then candidate_id): all of them (PG NULL or no limit), or one
 * page, NEXT (CR_CURSOR_MAX bytes, may be NULL without a page) getting the
 * next page's cursor or "". *OUT[0..*N) is the caller's (cr_candidate_clear
 * of each .c, then free). */
int cr_svc_list(const cr_svc *s, cr_status filter, const cr_page_req *pg, cr_candidate_view **out, size_t *n,
		char *next);

/* Freeze CID's imported artifacts into its next manifest (OUT the caller's). */
int cr_svc_manifest_build(const cr_svc *s, const char *cid, const char *actor, cr_manifest *out);
/* Manifest MID with its artifacts (cr_manifest_clear of OUT). */
int cr_svc_manifest_show(const cr_svc *s, const char *mid, cr_manifest *out);
/* CID's manifests, version ascending, without artifacts (the caller's). */
int cr_svc_manifest_list(const cr_svc *s, const char *cid, cr_manifest **out, size_t *n);

/* The policy in force, as stored (*POLICY_JSON, *REGISTRY_JSON malloc'd,
 * the caller's) and its snapshots; the built-in demo policy is answered
 * without writing anything. */
int cr_svc_policy_show(const cr_svc *s, char **policy_json, char **registry_json, cr_snapshot *policy,
		       cr_snapshot *registry);
/* Validate POLICY and REGISTRY (schemas, every rule compiles) and publish them. */
int cr_svc_policy_publish(const cr_svc *s, const char *policy, size_t plen, const char *pwhat,
			  const char *registry, size_t rlen, const char *rwhat, const char *actor);

/* The audit log in ledger order (evt-NNN ascending), of candidate CID or
 * (NULL) all, whole or one page as for cr_svc_list. *OUT[0..*N) is the
 * caller's (cr_audit_event_clear of each, then free). */
int cr_svc_audit_log(const cr_svc *s, const char *cid, const cr_page_req *pg, cr_audit_event **out, size_t *n,
		     char *next);

typedef void (*cr_svc_progress_fn)(const cr_run *run, void *ctx);
/* Request a run of MID for CID and execute it here (JOBS workers) or, DETACH,
 * in a runner of its own; OUT the run (cr_run_clear). */
int cr_svc_run(const cr_svc *s, const char *cid, const char *mid, const char *actor, unsigned jobs,
	       bool detach, cr_svc_progress_fn progress, void *pctx, cr_run *out);
/* Execute the queued run of TASK_ID in this process, its runner (started
 * by cr_svc_run's DETACH with the task's lock on descriptor LOCK_FD), with
 * JOBS workers: the request as the ledger recorded it, the policy snapshot
 * it names. Forks the workers from the calling thread: for a
 * single-threaded process only. */
int cr_svc_task_run(const cr_svc *s, const char *task_id, unsigned jobs, int lock_fd);
/* The live view of a run; an orphaned run is reported FAILED/ERROR (not
 * recorded: reads never write). */
int cr_svc_run_status(const cr_svc *s, const char *run_id, cr_run *out);
/* The violations of a run in append order (violation_id ascending), of
 * STAGE / SEVERITY only (-1: any), whole or one page as for cr_svc_list.
 * *OUT[0..*N) is the caller's (cr_violation_clear of each, then free). */
int cr_svc_violations(const cr_svc *s, const char *run_id, int stage, int severity, const cr_page_req *pg,
		      cr_violation **out, size_t *n, char *next);
/* The same, whole, one chunk in memory at a time: FN(V, CTX) for each
 * violation in order (V borrowed for the call); a negative return stops
 * the walk with that error. */
int cr_svc_violations_each(const cr_svc *s, const char *run_id, int stage, int severity,
			   int (*fn)(const cr_violation *v, void *ctx), void *ctx);
/* The report of a finished run (cr_report_clear of OUT); CR_ERUN_NOT_FINISHED before. */
int cr_svc_report(const cr_svc *s, const char *run_id, cr_report *out);
/* The task of a run; an orphaned run's task reported FAILED (cr_task_clear). */
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

/* Check the ledger's commits after FROM (NULL: the whole chain) up to the
 * tip (append-only commits, valid canonical objects, consistent counters):
 * *COMMITS and *OBJECTS get what it read; CR_EINTEGRITY naming the first
 * bad commit and path. POLICY: the policy ref too (a linear history whose
 * tip is the policy the ledger's tip records as in force). */
int cr_svc_verify(const cr_svc *s, const char *from, bool policy, uint64_t *commits, uint64_t *objects);
/* Restore the ledger to TO, an earlier tip of its reflog whose history
 * verifies, when the current tip does not (ledger port repair). */
int cr_svc_repair(const cr_svc *s, const char *to, uint64_t *commits);

/* ---- a push, as a git server's pre-receive hook sees it ---- */

/* The refs of the namespace being checked, and those of every namespace. */
typedef struct cr_push_names {
	const char *ledger, *policy, *notes;    /* this namespace's; NULL: not checked */
	const char *const *known;               /* every namespace's refs, NULL-terminated */
	/* A ref under one of these (NULL-terminated; may be NULL) that is
	 * none of KNOWN is refused: the evidence namespaces hold nothing else. */
	const char *const *evidence_prefixes;
	bool tags;                              /* check release tags (refs/tags/...) */
} cr_push_names;
/* Check the updates U[0..N) against the evidence as the ledger port sees
 * it (opened at the ledger tip the push leaves): clean-release refs only
 * move forward, the ledger commits the push adds verify (from the old tip
 * to the new), the policy ref moves to a valid policy on its own history
 * that the ledger records, and a release tag (the trusted policy's
 * release_tag_pattern) names the source commit of an APPROVED or PUBLISHED
 * candidate. Refs of no concern pass. OUT gets what was found
 * (cr_push_verdict_clear); an error only when the check itself failed. */
int cr_svc_push_check(const cr_svc *s, const cr_push_names *nm, const cr_push_update *u, size_t n,
		      cr_push_verdict *out);

/* ---- sync: local operations replayed onto a fetched ledger ---- */

typedef struct cr_replay_result {
	size_t commits;    /* local commits read */
	size_t replayed;   /* replayed, through their gates */
	size_t refused;    /* recorded as REFUSED: the merged ledger refuses them */
	size_t dropped;    /* violation or start commits of a run that was refused */
	size_t renumbered; /* ids allocated again under another number */
	cr_strlist touched; /* the candidates the replay appended to (the caller's) */
} cr_replay_result;
/* Replay the local ledger's commits after BASE (hex; "" from the root) up
 * to LOCAL_TIP, read through LOCAL, onto the ledger S writes to (detached
 * at the fetched tip of REMOTE, a name for messages): each through its
 * gate on the merged ledger (REFUSED when it no longer passes), ids
 * allocated again and every reference rewritten, each replayed audit
 * event naming the event and commit it replays. */
int cr_svc_replay(const cr_svc *s, const cr_ledger_port *local, const char *base, const char *local_tip,
		  const char *remote, cr_replay_result *out);

/* The policy commit the ledger's tip records as in force, hex into OUT
 * ("" when none is recorded). */
int cr_svc_policy_in_force(const cr_svc *s, char *out, size_t len);
/* Whether REF (a full ref name) matches the trusted policy's
 * release_tag_pattern (*YES), PATTERN (LEN bytes, may be NULL) getting
 * the pattern; CR_EPOLICY_MISSING when no policy is published. */
int cr_svc_release_tag(const cr_svc *s, const char *ref, bool *yes, char *pattern, size_t len);
/* Write the status note of each candidate of CIDS again (best effort). */
void cr_svc_notes_refresh(const cr_svc *s, const cr_strlist *cids);

/* Approve (APPROVE) or reject CID on its latest report REPORT_ID (cr_approval_clear). */
int cr_svc_decide(const cr_svc *s, const char *cid, const char *report_id, bool approve,
		  const char *actor, const char *comment, cr_approval *out);
/* Publish an APPROVED CID to CHANNEL as TAG (cr_publication_clear of OUT). */
int cr_svc_publish(const cr_svc *s, const char *cid, const char *report_id, const char *channel,
		   const char *tag, const char *actor, cr_publication *out);
/* Revoke publication PUB_ID of CID for REASON (cr_publication_clear of OUT). */
int cr_svc_revoke(const cr_svc *s, const char *cid, const char *pub_id, const char *reason,
		  const char *actor, cr_publication *out);

#endif
