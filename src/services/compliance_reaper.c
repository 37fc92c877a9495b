/* Finishing orphaned runs: a run whose runner vanished is finished as
 * ERROR by the next command that looks at it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "services/compliance_internal.h"

/* Finish RUN_ID as FAILED/ERROR if it is unfinished and its runner is gone. */
int cr_svc_reap_run(const cr_svc *s, const char *run_id)
{
	cr_txn *t = NULL;
	cr_run run;
	struct finish_ctx x = {.s = s, .run_id = run_id, .aborted = true};
	char reason[256];
	int rc;

	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	rc = cr_compliance_load_run(t, s, run_id, &run);
	if (rc < 0 || cr_compliance_run_finished(&run)) {
		s->ledger->end(t);
		if (rc == 0)
			cr_run_clear(&run);
		return rc;
	}
	int alive = s->tasks->alive(s->tasks->impl, run.task_id);
	if (alive != 0) {
		s->ledger->end(t);
		cr_run_clear(&run);
		return alive < 0 ? alive : 0;
	}
	snprintf(reason, sizeof(reason),
		 "the runner of %s vanished before the run finished (task %s); stages not evaluated are SKIPPED",
		 run_id, run.task_id);
	x.reason = reason;
	rc = cr_compliance_count_stored(t, s, run_id, &x);
	s->ledger->end(t);
	if (rc == 0)
		rc = cr_ledger_transact(s->ledger, "clean-release", cr_compliance_finish_txn, &x);
	if (rc == 0 && !x.already) {
		cr_task task = {0};
		if (s->tasks->load(s->tasks->impl, run.task_id, &task) == 0) {
			task.status = CR_TASK_FAILED;
			task.pid = 0;
			s->clock->now(s->clock->impl, task.updated_at);
			free(task.error);
			task.error = strdup(reason);
			s->tasks->save(s->tasks->impl, &task);
		}
		cr_task_clear(&task);
		cr_error_clear();
		cr_svc_note(s, run.candidate_id);
	}
	cr_report_clear(&x.report);
	cr_run_clear(&run);
	return rc;
}

int cr_svc_reap_candidate(const cr_svc *s, const char *cid)
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
	if (!v.run_unfinished)
		return 0;
	return cr_svc_reap_run(s, v.latest_run_id);
}
