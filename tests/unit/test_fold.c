/* The pure folds: a candidate's view from its audit events and its latest
 * run's state, a run's final verdict from its stages (domain/fold.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domain/fold.h"
#include "domain/lifecycle.h"
#include "util/error.h"

/* An accepted (or refused) event of candidate c1 with up to three details. */
static cr_audit_event event(const char *id, const char *type, bool accepted, const char *k1, const char *v1,
			    const char *k2, const char *v2, const char *k3, const char *v3)
{
	cr_audit_event ev = {0};
	snprintf(ev.event_id, sizeof(ev.event_id), "%s", id);
	snprintf(ev.type, sizeof(ev.type), "%s", type);
	snprintf(ev.candidate_id, sizeof(ev.candidate_id), "c1");
	ev.accepted = accepted;
	if (k1)
		cr_audit_detail(&ev, k1, v1);
	if (k2)
		cr_audit_detail(&ev, k2, v2);
	if (k3)
		cr_audit_detail(&ev, k3, v3);
	return ev;
}

static void fold(cr_candidate_view *v, cr_audit_event ev, int want)
{
	assert_int_equal(cr_fold_candidate_event(v, &ev), want);
	cr_audit_event_clear(&ev);
}

/* register, import, manifest build, run requested. */
static void up_to_run(cr_candidate_view *v)
{
	memset(v, 0, sizeof(*v));
	fold(v, event("evt-001", "candidate.register", true, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	fold(v, event("evt-002", "candidate.import_artifacts", true, "import_id", "imp-001", NULL, NULL, NULL, NULL), 0);
	fold(v, event("evt-003", "manifest.build", true, "manifest_id", "man-001", "import_id", "imp-001",
		      "manifest_digest", "abc"), 0);
	fold(v, event("evt-004", "compliance.run", true, "run_id", "run-001", "task_id", "task-run-001", NULL, NULL),
	     0);
}

static void audit_type_names(void **state)
{
	(void)state;
	assert_string_equal(cr_event_audit_type(CR_EV_REGISTERED), "candidate.register");
	assert_string_equal(cr_event_audit_type(CR_EV_RUN_REQUESTED), "compliance.run");
	assert_string_equal(cr_event_audit_type(CR_EV_RUN_PASSED), "compliance.finish");
	assert_string_equal(cr_event_audit_type(CR_EV_RUN_BLOCKED), "compliance.finish");
	assert_string_equal(cr_event_audit_type(CR_EV_RUN_ERROR), "compliance.finish");
	assert_string_equal(cr_event_audit_type(CR_EV_REVOKED), "release.revoke");
	assert_null(cr_event_audit_type(CR_EV_RUN_STARTED));
	assert_null(cr_event_audit_type(CR_EV__COUNT));
}

static void status_and_latest_ids(void **state)
{
	cr_candidate_view v;
	(void)state;
	up_to_run(&v);
	assert_int_equal(v.status, CR_STATUS_CHECK_PENDING);
	assert_string_equal(v.latest_import_id, "imp-001");
	assert_string_equal(v.latest_import_event, "evt-002");
	assert_string_equal(v.latest_manifest_id, "man-001");
	assert_string_equal(v.latest_manifest_import_id, "imp-001");
	assert_string_equal(v.latest_manifest_digest, "abc");
	assert_string_equal(v.latest_run_id, "run-001");
	assert_string_equal(v.latest_task_id, "task-run-001");
	assert_true(v.run_unfinished);
	assert_false(v.run_orphaned);
	/* A refused event and a type that moves nothing change nothing. */
	fold(&v, event("evt-005", "release.approve", false, "status", "CHECK_PENDING", NULL, NULL, NULL, NULL), 0);
	fold(&v, event("evt-006", "policy.publish", true, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(v.status, CR_STATUS_CHECK_PENDING);
	fold(&v, event("evt-007", "compliance.finish", true, "final_status", "PASSED", "report_id", "rpt-001", NULL,
		       NULL), 0);
	assert_int_equal(v.status, CR_STATUS_CHECK_PASSED);
	assert_string_equal(v.latest_report_id, "rpt-001");
	assert_false(v.run_unfinished);
	fold(&v, event("evt-008", "release.approve", true, "report_id", "rpt-001", NULL, NULL, NULL, NULL), 0);
	assert_string_equal(v.approved_report_id, "rpt-001");
	fold(&v, event("evt-009", "release.publish", true, "publication_id", "pub-001", NULL, NULL, NULL, NULL), 0);
	assert_int_equal(v.status, CR_STATUS_PUBLISHED);
	assert_string_equal(v.latest_publication_id, "pub-001");
	fold(&v, event("evt-010", "release.revoke", true, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(v.status, CR_STATUS_REVOKED);
}

static void finish_outcomes(void **state)
{
	static const struct {
		const char *final;
		cr_status want;
	} cases[] = {{"PASSED", CR_STATUS_CHECK_PASSED}, {"BLOCKED", CR_STATUS_CHECK_BLOCKED},
		     {"ERROR", CR_STATUS_CHECK_ERROR}, {NULL, CR_STATUS_CHECK_ERROR}};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_candidate_view v;
		up_to_run(&v);
		fold(&v, event("evt-005", "compliance.finish", true, cases[i].final ? "final_status" : NULL,
			       cases[i].final, "report_id", "rpt-001", NULL, NULL), 0);
		assert_int_equal(v.status, cases[i].want);
		assert_false(v.run_unfinished);
	}
}

static void impossible_event_is_integrity(void **state)
{
	cr_candidate_view v;
	(void)state;
	up_to_run(&v);
	/* An approval while the run is pending is not possible. */
	fold(&v, event("evt-005", "release.approve", true, "report_id", "rpt-001", NULL, NULL, NULL, NULL),
	     CR_EINTEGRITY);
	assert_non_null(strstr(cr_error_last()->message, "evt-005"));
	assert_int_equal(v.status, CR_STATUS_CHECK_PENDING);
	memset(&v, 0, sizeof(v));
	fold(&v, event("evt-001", "manifest.build", true, NULL, NULL, NULL, NULL, NULL, NULL), CR_EINTEGRITY);
}

static void latest_run_state(void **state)
{
	cr_candidate_view v;
	(void)state;
	/* Requested, not started, runner alive: CHECK_PENDING. */
	up_to_run(&v);
	cr_fold_candidate_run(&v, false, false);
	assert_int_equal(v.status, CR_STATUS_CHECK_PENDING);
	/* Started: CHECK_RUNNING. */
	cr_fold_candidate_run(&v, true, false);
	assert_int_equal(v.status, CR_STATUS_CHECK_RUNNING);
	assert_false(v.run_orphaned);
	/* Started, runner gone: CHECK_ERROR, still unfinished (not recorded). */
	up_to_run(&v);
	cr_fold_candidate_run(&v, true, true);
	assert_int_equal(v.status, CR_STATUS_CHECK_ERROR);
	assert_true(v.run_orphaned);
	assert_true(v.run_unfinished);
	assert_string_equal(v.latest_report_id, "");
	/* Never started, runner gone: CHECK_ERROR too. */
	up_to_run(&v);
	cr_fold_candidate_run(&v, false, true);
	assert_int_equal(v.status, CR_STATUS_CHECK_ERROR);
	assert_true(v.run_orphaned);
	/* Once recorded, the finish wins and the run is no orphan. */
	up_to_run(&v);
	fold(&v, event("evt-005", "compliance.finish", true, "final_status", "ERROR", "report_id", "rpt-001", NULL,
		       NULL), 0);
	cr_fold_candidate_run(&v, true, true);
	assert_int_equal(v.status, CR_STATUS_CHECK_ERROR);
	assert_false(v.run_orphaned);
	assert_false(v.run_unfinished);
	/* No run at all: nothing changes. */
	memset(&v, 0, sizeof(v));
	fold(&v, event("evt-001", "candidate.register", true, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	cr_fold_candidate_run(&v, true, true);
	assert_int_equal(v.status, CR_STATUS_DRAFT);
	assert_false(v.run_orphaned);
}

static void verdict(void **state)
{
	static const struct {
		cr_stage_status st[CR_STAGE__COUNT];
		cr_final want;
	} cases[] = {
		{{CR_SS_PASSED, CR_SS_PASSED, CR_SS_PASSED, CR_SS_PASSED}, CR_FINAL_PASSED},
		{{CR_SS_PASSED, CR_SS_FAILED, CR_SS_PASSED, CR_SS_PASSED}, CR_FINAL_BLOCKED},
		{{CR_SS_FAILED, CR_SS_FAILED, CR_SS_FAILED, CR_SS_FAILED}, CR_FINAL_BLOCKED},
		{{CR_SS_FAILED, CR_SS_PASSED, CR_SS_ERROR, CR_SS_PASSED}, CR_FINAL_ERROR},
		{{CR_SS_PASSED, CR_SS_PASSED, CR_SS_PASSED, CR_SS_SKIPPED}, CR_FINAL_ERROR},
		{{CR_SS_SKIPPED, CR_SS_FAILED, CR_SS_PASSED, CR_SS_PASSED}, CR_FINAL_ERROR},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_stage_result r[CR_STAGE__COUNT];
		const cr_stage_result *p[CR_STAGE__COUNT];
		memset(r, 0, sizeof(r));
		for (int k = 0; k < CR_STAGE__COUNT; k++) {
			r[k].status = cases[i].st[k];
			p[k] = &r[k];
		}
		assert_int_equal(cr_verdict_final(p), cases[i].want);
	}
	assert_int_equal(cr_verdict_status(CR_FINAL_PASSED), CR_STATUS_CHECK_PASSED);
	assert_int_equal(cr_verdict_status(CR_FINAL_BLOCKED), CR_STATUS_CHECK_BLOCKED);
	assert_int_equal(cr_verdict_status(CR_FINAL_ERROR), CR_STATUS_CHECK_ERROR);
	assert_int_equal(cr_verdict_status(CR_FINAL_NONE), CR_STATUS_CHECK_ERROR);
}

static void orphan_run(void **state)
{
	cr_run r = {0};
	(void)state;
	snprintf(r.run_id, sizeof(r.run_id), "run-001");
	r.status = CR_RUN_RUNNING;
	assert_int_equal(cr_verdict_orphan_run(&r, "the runner vanished", "2026-03-09T10:00:00Z"), 0);
	assert_int_equal(r.status, CR_RUN_FAILED);
	assert_int_equal(r.final_status, CR_FINAL_ERROR);
	assert_string_equal(r.reason, "the runner vanished");
	assert_string_equal(r.finished_at, "2026-03-09T10:00:00Z");
	assert_string_equal(r.report_id, "");
	/* A second call replaces the reason (no leak under ASan). */
	assert_int_equal(cr_verdict_orphan_run(&r, "again", ""), 0);
	assert_string_equal(r.reason, "again");
	assert_string_equal(r.finished_at, "");
	cr_run_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(audit_type_names),
		cmocka_unit_test(status_and_latest_ids),
		cmocka_unit_test(finish_outcomes),
		cmocka_unit_test(impossible_event_is_integrity),
		cmocka_unit_test(latest_run_state),
		cmocka_unit_test(verdict),
		cmocka_unit_test(orphan_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
