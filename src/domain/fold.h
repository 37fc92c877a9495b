#ifndef CR_DOMAIN_FOLD_H
#define CR_DOMAIN_FOLD_H
/*
 * The pure folds of the evidence (data-model.md §3): a candidate's derived
 * view from its own audit events and its latest run's state, and a run's
 * final verdict from its four stage results. No I/O: the services read the
 * events and the task's liveness through the ports and hand them in.
 */
#include <stdbool.h>
#include "domain/entities.h"

/* The value of detail KEY of EV, or NULL when it has none; the string
 * belongs to EV. */
const char *cr_audit_detail_get(const cr_audit_event *ev, const char *key);

/* Fold one audit event of V's candidate, in ledger order, into V (status
 * and latest ids): refused events change nothing, and so do types that do
 * not move a candidate. CR_EINTEGRITY naming the event when the lifecycle
 * does not allow it in V's status (the evidence is inconsistent). */
int cr_fold_candidate_event(cr_candidate_view *v, const cr_audit_event *ev);

/* Fold the state of V's unfinished latest run (after every audit event):
 * STARTED (its started event is stored) turns CHECK_PENDING into
 * CHECK_RUNNING; ORPHANED (its task is on this machine and its runner is
 * gone) makes it CHECK_ERROR, as its finish will record, and sets
 * V->run_orphaned. Nothing changes when V has no unfinished run. */
void cr_fold_candidate_run(cr_candidate_view *v, bool started, bool orphaned);

/* The final verdict of a run from its stage results, in stage order:
 * ERROR if a stage is ERROR or SKIPPED, else BLOCKED if one FAILED, else
 * PASSED. */
cr_final cr_verdict_final(const cr_stage_result *const st[CR_STAGE__COUNT]);

/* The status a finished run's verdict gives its candidate (CHECK_PASSED,
 * CHECK_BLOCKED or CHECK_ERROR; CR_FINAL_NONE gives CHECK_ERROR). */
cr_status cr_verdict_status(cr_final f);

/* The run R, unfinished and orphaned, as every reader reports it until
 * its finish is recorded: FAILED with final status ERROR, REASON (copied)
 * and finished at LAST_SEEN (when its runner was last seen alive; "" leaves
 * it unset); report_id stays empty, as no report is recorded yet.
 * CR_EINTERNAL when out of memory (R unchanged). */
int cr_verdict_orphan_run(cr_run *r, const char *reason, const char *last_seen);

#endif
