/* The services on in-memory ports (tests/unit/mem_ports.h), without git:
 * gates allowed and refused (each refusal recorded as a REFUSED audit
 * event), the candidate status fold, and orphaned runs — reported as ERROR
 * by every reader without a write, recorded once by a reap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mem_ports.h"
#include "domain/codec.h"
#include "domain/ids.h"
#include "services/services.h"
#include "util/json.h"

typedef struct fx {
	mem_ledger l;
	mem_tasks tasks;
	uint64_t ms;
	cr_ledger_port lp;
	cr_task_port tp;
	cr_clock_port cp;
	cr_policy_port pp;
	cr_svc s;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	mem_ledger_port(&f->lp, &f->l);
	mem_task_port(&f->tp, &f->tasks);
	f->cp = (cr_clock_port){.impl = &f->ms, .now = mem_now, .ms = mem_ms};
	f->pp = (cr_policy_port){.impl = NULL, .resolve = mem_policy_resolve};
	f->s = (cr_svc){.ledger = &f->lp, .policy = &f->pp, .tasks = &f->tp, .clock = &f->cp};
	f->tasks.alive = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	mem_ledger_free(&f->l);
	mem_tasks_free(&f->tasks);
	free(f);
	return 0;
}

static void reg(fx *f, const char *cid)
{
	cr_candidate_view v;
	assert_int_equal(cr_svc_register(&f->s, cid, "1.0.0", "v1.0.0", "bot", &v), 0);
	assert_int_equal(v.status, CR_STATUS_DRAFT);
	cr_candidate_clear(&v.c);
}

static cr_status status_of(fx *f, const char *cid)
{
	cr_candidate_view v;
	assert_int_equal(cr_svc_show(&f->s, cid, &v), 0);
	cr_candidate_clear(&v.c);
	return v.status;
}

/* The accepted/refused audit events of CID of TYPE. */
static size_t count_events(fx *f, const char *cid, const char *type, bool accepted)
{
	cr_audit_event *e = NULL;
	size_t n = 0, k = 0;
	assert_int_equal(cr_svc_audit_log(&f->s, cid, NULL, &e, &n, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].type, type) && e[i].accepted == accepted)
			k++;
		cr_audit_event_clear(&e[i]);
	}
	free(e);
	return k;
}

/* Stage one canonical JSON object in its own commit, as a service would. */
static void put_doc(fx *f, cr_objkind kind, const char *cid, const char *key, const char *sub, cJSON *doc)
{
	cr_txn *t = NULL;
	size_t len = 0;
	char *buf = cr_json_canonical(doc, &len);
	cJSON_Delete(doc);
	assert_non_null(buf);
	assert_int_equal(f->lp.begin(f->lp.impl, &t), 0);
	assert_int_equal(f->lp.put(t, kind, cid, key, sub, buf, len), 0);
	assert_int_equal(f->lp.commit(t, "test", "bot"), 0);
	f->lp.end(t);
	free(buf);
}

static void audit(fx *f, const char *cid, const char *type, const char *k1, const char *v1, const char *k2,
		  const char *v2)
{
	cr_audit_event ev = {0};
	cr_txn *t = NULL;
	assert_int_equal(f->lp.begin(f->lp.impl, &t), 0);
	assert_int_equal(f->lp.alloc(t, CR_ID_EVENT, ev.event_id, sizeof(ev.event_id)), 0);
	f->lp.end(t);
	f->l.counters[CR_ID_EVENT]++; /* the id is taken */
	snprintf(ev.type, sizeof(ev.type), "%s", type);
	snprintf(ev.candidate_id, sizeof(ev.candidate_id), "%s", cid);
	snprintf(ev.at, sizeof(ev.at), "2026-03-09T10:00:00Z");
	ev.actor = strdup("bot");
	ev.accepted = true;
	cr_audit_detail(&ev, k1, v1);
	if (k2)
		cr_audit_detail(&ev, k2, v2);
	put_doc(f, CR_OBJ_AUDIT, cid, ev.event_id, NULL, cr_audit_event_to_json(&ev));
	cr_audit_event_clear(&ev);
}

/* Candidate CID with an import, a manifest and a requested run run-001
 * whose task (task-run-001) this machine has, RUNNING, unless LOCAL_TASK
 * is false. */
static void requested_run(fx *f, const char *cid, bool local_task)
{
	cr_run r = {0};
	reg(f, cid);
	audit(f, cid, "candidate.import_artifacts", "import_id", "imp-001", NULL, NULL);
	audit(f, cid, "manifest.build", "manifest_id", "man-001", "import_id", "imp-001");
	audit(f, cid, "compliance.run", "run_id", "run-001", "task_id", "task-run-001");
	f->l.counters[CR_ID_RUN] = 1;
	snprintf(r.run_id, sizeof(r.run_id), "run-001");
	snprintf(r.candidate_id, sizeof(r.candidate_id), "%s", cid);
	snprintf(r.manifest_id, sizeof(r.manifest_id), "man-001");
	memset(r.manifest_digest, 'a', 64);
	snprintf(r.policy.id, sizeof(r.policy.id), "acme");
	r.policy.version = 1;
	memset(r.policy.digest, 'b', 64);
	snprintf(r.policy.ref, sizeof(r.policy.ref), "refs/clean-release/policy");
	memset(r.policy.commit, 'c', 40);
	r.registry = r.policy;
	snprintf(r.task_id, sizeof(r.task_id), "task-run-001");
	r.requested_by = "bot";
	snprintf(r.requested_at, sizeof(r.requested_at), "2026-03-09T10:00:00Z");
	put_doc(f, CR_OBJ_RUN_EVENT, cid, "run-001", "requested", cr_run_requested_to_json(&r));
	if (local_task) {
		cr_task t = {.status = CR_TASK_RUNNING, .pid = 4242};
		snprintf(t.task_id, sizeof(t.task_id), "task-run-001");
		snprintf(t.run_id, sizeof(t.run_id), "run-001");
		snprintf(t.created_at, sizeof(t.created_at), "2026-03-09T10:00:00Z");
		snprintf(t.updated_at, sizeof(t.updated_at), "2026-03-09T10:00:07Z");
		assert_int_equal(f->tp.create(f->tp.impl, &t), 0);
	}
}

/* ---- gates ------------------------------------------------------------ */

static void register_allowed_once(void **state)
{
	fx *f = *state;
	cr_candidate_view v;
	reg(f, "c1");
	assert_int_equal(f->l.commits, 1);
	assert_int_equal(count_events(f, "c1", "candidate.register", true), 1);
	assert_int_equal(cr_svc_register(&f->s, "c1", "1.0.0", "v1.0.0", "bot", &v), CR_ECONFLICT);
	assert_int_equal(cr_svc_register(&f->s, "c2", "1.0.0", "no-such-rev", "bot", &v), CR_EINVALID_INPUT);
	assert_int_equal(cr_svc_register(&f->s, "bad id!", "1.0.0", "v1.0.0", "bot", &v), CR_EINVALID_ARGUMENT);
	assert_int_equal(f->l.commits, 1);
	assert_int_equal(status_of(f, "c1"), CR_STATUS_DRAFT);
	assert_int_equal(cr_svc_show(&f->s, "c2", &v), CR_ENOT_FOUND);
}

/* Each operation a DRAFT candidate does not allow is refused with
 * INVALID_TRANSITION, and the refusal is recorded (one REFUSED event). */
static void gates_refused_in_draft(void **state)
{
	fx *f = *state;
	cr_manifest m;
	cr_approval a;
	cr_publication p;
	reg(f, "c1");
	uint64_t commits = f->l.commits;

	assert_int_equal(cr_svc_manifest_build(&f->s, "c1", "bot", &m), CR_EINVALID_TRANSITION);
	assert_non_null(strstr(cr_error_last()->message, "cannot manifest build c1: status is DRAFT"));
	assert_int_equal(count_events(f, "c1", "manifest.build", false), 1);
	assert_int_equal(cr_svc_decide(&f->s, "c1", "rpt-001", true, "bot", NULL, &a), CR_EINVALID_TRANSITION);
	assert_non_null(strstr(cr_error_last()->message, "approve needs CHECK_PASSED"));
	assert_int_equal(count_events(f, "c1", "release.approve", false), 1);
	assert_int_equal(cr_svc_decide(&f->s, "c1", "rpt-001", false, "bot", "no", &a), CR_EINVALID_TRANSITION);
	assert_int_equal(count_events(f, "c1", "release.reject", false), 1);
	assert_int_equal(cr_svc_publish(&f->s, "c1", "rpt-001", "stable", NULL, "bot", &p), CR_EINVALID_TRANSITION);
	assert_int_equal(count_events(f, "c1", "release.publish", false), 1);
	assert_int_equal(cr_svc_revoke(&f->s, "c1", "pub-001", "oops", "bot", &p), CR_EINVALID_TRANSITION);
	assert_int_equal(count_events(f, "c1", "release.revoke", false), 1);
	/* Five refusals, five commits; the status did not move. */
	assert_int_equal(f->l.commits, commits + 5);
	assert_int_equal(status_of(f, "c1"), CR_STATUS_DRAFT);
	/* Bad arguments are refused before any gate: nothing recorded. */
	assert_int_equal(cr_svc_decide(&f->s, "c1", "rpt-x", true, "bot", NULL, &a), CR_EINVALID_ARGUMENT);
	assert_int_equal(f->l.commits, commits + 5);
}

/* A run cannot be requested without a trusted policy, and nothing is
 * recorded then. */
static void run_needs_a_policy(void **state)
{
	fx *f = *state;
	cr_run r;
	reg(f, "c1");
	uint64_t commits = f->l.commits;
	assert_int_equal(cr_svc_run(&f->s, "c1", "man-001", "bot", 1, false, NULL, NULL, &r), CR_EPOLICY_MISSING);
	assert_int_equal(f->l.commits, commits);
}

/* ---- the status fold ---------------------------------------------------- */

static void status_fold_through_the_ledger(void **state)
{
	fx *f = *state;
	cr_candidate_view v;
	requested_run(f, "c1", true);
	assert_int_equal(cr_svc_show(&f->s, "c1", &v), 0);
	assert_int_equal(v.status, CR_STATUS_CHECK_PENDING);
	assert_string_equal(v.latest_import_id, "imp-001");
	assert_string_equal(v.latest_manifest_id, "man-001");
	assert_string_equal(v.latest_run_id, "run-001");
	assert_true(v.run_unfinished);
	assert_false(v.run_orphaned);
	cr_candidate_clear(&v.c);
	/* The runner's started event: CHECK_RUNNING. */
	put_doc(f, CR_OBJ_RUN_EVENT, "c1", "run-001", "started", cr_run_started_to_json("run-001", "2026-03-09T10:00:01Z", 2, 1));
	assert_int_equal(status_of(f, "c1"), CR_STATUS_CHECK_RUNNING);
	/* While the run is unfinished, no gate that needs another status passes. */
	cr_manifest m;
	assert_int_equal(cr_svc_manifest_build(&f->s, "c1", "bot", &m), CR_EINVALID_TRANSITION);
	assert_non_null(strstr(cr_error_last()->message, "status is CHECK_RUNNING"));
}

/* ---- orphaned runs ---------------------------------------------------- */

static void orphan_reported_by_every_reader_without_a_write(void **state)
{
	fx *f = *state;
	cr_candidate_view *list = NULL;
	cr_run r;
	cr_report rep;
	cr_task t;
	size_t n = 0;
	requested_run(f, "c1", true);
	f->tasks.alive = 0; /* the runner is gone */
	uint64_t commits = f->l.commits, saves = f->tasks.saves, notes = f->l.notes, objs = f->l.n;

	assert_int_equal(status_of(f, "c1"), CR_STATUS_CHECK_ERROR);
	assert_int_equal(cr_svc_list(&f->s, CR_STATUS_CHECK_ERROR, NULL, &list, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].c.candidate_id, "c1");
	assert_true(list[0].run_orphaned);
	cr_candidate_clear(&list[0].c);
	free(list);
	assert_int_equal(cr_svc_run_status(&f->s, "run-001", &r), 0);
	assert_int_equal(r.status, CR_RUN_FAILED);
	assert_int_equal(r.final_status, CR_FINAL_ERROR);
	assert_string_equal(r.report_id, "");
	assert_string_equal(r.finished_at, "2026-03-09T10:00:07Z"); /* the task's last update */
	assert_non_null(strstr(r.reason, "the runner of run-001 vanished"));
	cr_run_clear(&r);
	assert_int_equal(cr_svc_report(&f->s, "run-001", &rep), CR_ERUN_NOT_FINISHED);
	assert_non_null(strstr(cr_error_last()->message, "its finish is not recorded yet"));
	assert_int_equal(cr_svc_task_status(&f->s, "task-run-001", &t), 0);
	assert_int_equal(t.status, CR_TASK_FAILED);
	assert_int_equal(t.pid, 0);
	assert_non_null(strstr(t.error, "vanished"));
	cr_task_clear(&t);

	/* Nothing was written: no commit, no object, no note, no task file. */
	assert_int_equal(f->l.commits, commits);
	assert_int_equal(f->l.n, objs);
	assert_int_equal(f->l.notes, notes);
	assert_int_equal(f->tasks.saves, saves);
	assert_int_equal(f->tasks.tasks[0].status, CR_TASK_RUNNING);
}

static void orphan_recorded_once_by_reap(void **state)
{
	fx *f = *state;
	cr_strlist reaped = {0};
	cr_run r;
	cr_report rep;
	requested_run(f, "c1", true);
	f->tasks.alive = 0;
	uint64_t commits = f->l.commits;

	assert_int_equal(cr_svc_reap_all(&f->s, "reaper", &reaped), 0);
	assert_int_equal(reaped.n, 1);
	assert_string_equal(reaped.v[0], "run-001");
	cr_strlist_clear(&reaped);
	assert_int_equal(f->l.commits, commits + 1);
	assert_int_equal(count_events(f, "c1", "compliance.finish", true), 1);
	assert_int_equal(status_of(f, "c1"), CR_STATUS_CHECK_ERROR);
	assert_int_equal(f->tasks.tasks[0].status, CR_TASK_FAILED);
	assert_int_equal(cr_svc_run_status(&f->s, "run-001", &r), 0);
	assert_int_equal(r.status, CR_RUN_FAILED);
	assert_int_equal(r.final_status, CR_FINAL_ERROR);
	assert_string_equal(r.report_id, "rpt-001");
	assert_string_equal(r.finished_at, "2026-03-09T10:00:07Z"); /* as the readers reported it */
	cr_run_clear(&r);
	assert_int_equal(cr_svc_report(&f->s, "run-001", &rep), 0);
	assert_int_equal(rep.final_status, CR_FINAL_ERROR);
	for (int i = 0; i < CR_STAGE__COUNT; i++)
		assert_int_equal(rep.stages[i].status, CR_SS_SKIPPED);
	cr_report_clear(&rep);

	/* A second reap finds nothing and writes nothing. */
	assert_int_equal(cr_svc_reap_all(&f->s, "reaper", &reaped), 0);
	assert_int_equal(reaped.n, 0);
	assert_int_equal(f->l.commits, commits + 1);
	/* Nor does a reap of the candidate, or of the run. */
	bool done = true;
	assert_int_equal(cr_svc_reap_candidate(&f->s, "c1", "reaper"), 0);
	assert_int_equal(cr_svc_reap_run(&f->s, "run-001", "reaper", &done), 0);
	assert_false(done);
	assert_int_equal(f->l.commits, commits + 1);
}

static void next_write_records_the_orphan_first(void **state)
{
	fx *f = *state;
	cr_manifest m;
	requested_run(f, "c1", true);
	f->tasks.alive = 0;
	uint64_t commits = f->l.commits;
	/* The manifest build itself fails here (no import object is stored),
	 * but the finish of the orphan is recorded before its gate. */
	assert_int_not_equal(cr_svc_manifest_build(&f->s, "c1", "builder", &m), 0);
	assert_true(f->l.commits >= commits + 1);
	assert_int_equal(count_events(f, "c1", "compliance.finish", true), 1);
	cr_audit_event *e = NULL;
	size_t n = 0;
	assert_int_equal(cr_svc_audit_log(&f->s, "c1", NULL, &e, &n, NULL), 0);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].type, "compliance.finish")) {
			assert_string_equal(e[i].actor, "builder");
			found = true;
		}
		cr_audit_event_clear(&e[i]);
	}
	free(e);
	assert_true(found);
}

static void a_run_of_another_machine_is_never_an_orphan(void **state)
{
	fx *f = *state;
	cr_strlist reaped = {0};
	cr_run r;
	requested_run(f, "c1", false); /* its task file is not here */
	f->tasks.alive = 0;
	uint64_t commits = f->l.commits;
	assert_int_equal(status_of(f, "c1"), CR_STATUS_CHECK_PENDING);
	assert_int_equal(cr_svc_run_status(&f->s, "run-001", &r), 0);
	assert_int_equal(r.status, CR_RUN_PENDING);
	assert_int_equal(r.final_status, CR_FINAL_NONE);
	cr_run_clear(&r);
	assert_int_equal(cr_svc_reap_all(&f->s, "reaper", &reaped), 0);
	assert_int_equal(reaped.n, 0);
	assert_int_equal(f->l.commits, commits);
}

static void a_live_runner_is_left_alone(void **state)
{
	fx *f = *state;
	cr_strlist reaped = {0};
	requested_run(f, "c1", true);
	f->tasks.alive = 1;
	uint64_t commits = f->l.commits;
	assert_int_equal(status_of(f, "c1"), CR_STATUS_CHECK_PENDING);
	assert_int_equal(cr_svc_reap_all(&f->s, "reaper", &reaped), 0);
	assert_int_equal(reaped.n, 0);
	assert_int_equal(f->l.commits, commits);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(register_allowed_once, setup, teardown),
		cmocka_unit_test_setup_teardown(gates_refused_in_draft, setup, teardown),
		cmocka_unit_test_setup_teardown(run_needs_a_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(status_fold_through_the_ledger, setup, teardown),
		cmocka_unit_test_setup_teardown(orphan_reported_by_every_reader_without_a_write, setup, teardown),
		cmocka_unit_test_setup_teardown(orphan_recorded_once_by_reap, setup, teardown),
		cmocka_unit_test_setup_teardown(next_write_records_the_orphan_first, setup, teardown),
		cmocka_unit_test_setup_teardown(a_run_of_another_machine_is_never_an_orphan, setup, teardown),
		cmocka_unit_test_setup_teardown(a_live_runner_is_left_alone, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
