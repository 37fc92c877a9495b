/* Finishing orphaned runs. Every reader reports a run whose task is on this
 * machine and whose runner is gone as FAILED/ERROR, derived in memory; its
 * finish is recorded, once, by the next write to its candidate or by a
 * reap of the whole namespace (`task reap`). A run whose task is not on
 * this machine is never taken for an orphan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "services/compliance_internal.h"

void cr_compliance_orphan_reason(char *buf, size_t len, const char *run_id, const char *task_id)
{
	snprintf(buf, len, "the runner of %s vanished before the run finished (task %s); stages not evaluated are SKIPPED",
		 run_id, task_id);
}

int cr_compliance_orphan_task(cr_task *task, const char *reason)
{
	char *copy = strdup(reason);

	if (!copy)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	task->status = CR_TASK_FAILED;
	task->pid = 0;
	free(task->error);
	task->error = copy;
	return 0;
}

int cr_svc_reap_run(const cr_svc *s, const char *run_id, const char *actor, bool *reaped)
{
	cr_txn *t = NULL;
	cr_run run;
	struct finish_ctx x = {.s = s, .run_id = run_id, .actor = actor, .aborted = true};
	char reason[CR_ORPHAN_REASON_MAX];
	bool orphaned = false;
	int rc;

	if (reaped)
		*reaped = false;
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	rc = cr_compliance_load_run(t, s, run_id, &run);
	if (rc == 0)
		rc = cr_compliance_orphan_view(s, &run, &orphaned);
	if (rc < 0 || !orphaned) {
		s->ledger->end(t);
		cr_run_clear(&run);
		return rc;
	}
	/* Recorded as every reader reported it: the same reason and time. */
	snprintf(reason, sizeof(reason), "%s", run.reason);
	x.reason = reason;
	x.finished_at = run.finished_at[0] ? run.finished_at : NULL;
	rc = cr_compliance_count_stored(t, s, run_id, &x);
	s->ledger->end(t);
	if (rc == 0)
		rc = cr_ledger_transact(s->ledger, actor, cr_compliance_finish_txn, &x);
	if (rc == 0 && !x.already) {
		cr_task task = {0};
		if (s->tasks->load(s->tasks->impl, run.task_id, &task) == 0 &&
		    cr_compliance_orphan_task(&task, reason) == 0) {
			s->clock->now(s->clock->impl, task.updated_at);
			s->tasks->save(s->tasks->impl, &task);
		}
		cr_task_clear(&task);
		cr_error_clear();
		cr_svc_note(s, run.candidate_id);
		if (reaped)
			*reaped = true;
	}
	cr_report_clear(&x.report);
	cr_run_clear(&run);
	return rc;
}

int cr_svc_reap_candidate(const cr_svc *s, const char *cid, const char *actor)
{
	cr_txn *t = NULL;
	cr_candidate_view v;
	int rc = s->ledger->begin(s->ledger->impl, &t);
	if (rc < 0)
		return rc;
	rc = cr_svc_candidate_view(t, s, cid, &v);
	s->ledger->end(t);
	if (rc < 0)
		return rc == CR_ENOT_FOUND ? (cr_error_clear(), 0) : rc;
	cr_candidate_clear(&v.c);
	if (!v.run_orphaned)
		return 0;
	return cr_svc_reap_run(s, v.latest_run_id, actor, NULL);
}

int cr_svc_reap_all(const cr_svc *s, const char *actor, cr_strlist *reaped)
{
	cr_txn *t = NULL;
	cr_strlist orphans = {0};
	cr_candidate_view *v = NULL;
	size_t nv = 0;
	int rc;

	memset(reaped, 0, sizeof(*reaped));
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	/* The views of the whole list (from the local cache where nothing
	 * changed): only a candidate whose run is unfinished is derived again,
	 * with its runner's liveness, so a server reaping every few seconds
	 * does not derive every candidate each time. */
	if ((rc = cr_svc_all_views(t, s, &v, &nv)) < 0)
		goto cleanup;
	for (size_t i = 0; i < nv; i++)
		if (v[i].run_orphaned && (rc = cr_strlist_push(&orphans, v[i].latest_run_id)) < 0)
			goto cleanup;
	s->ledger->end(t);
	t = NULL;
	/* Each in its own commit, as the next write to its candidate would;
	 * one that another process finished meanwhile is left as it is. */
	for (size_t i = 0; i < orphans.n; i++) {
		bool done = false;
		if ((rc = cr_svc_reap_run(s, orphans.v[i], actor, &done)) < 0)
			goto cleanup;
		if (done && (rc = cr_strlist_push(reaped, orphans.v[i])) < 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	s->ledger->end(t);
	for (size_t i = 0; i < nv; i++)
		cr_candidate_clear(&v[i].c);
	free(v);
	cr_strlist_clear(&orphans);
	if (rc < 0)
		cr_strlist_clear(reaped);
	return rc;
}
