/*
 * The run-event fold (domain/run_event.h): the pure fold over hand-built
 * events, and the stored examples decoded (domain/codec.h) and folded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec_helpers.h"
#include "domain/codec.h"
#include "domain/run_event.h"
#include "util/error.h"
#include "util/json.h"

/* ---- the pure fold -------------------------------------------------- */

static cr_run_event ev_requested(const char *run_id)
{
	cr_run_event ev = {.kind = CR_RUN_EV_REQUESTED};

	snprintf(ev.run_id, sizeof(ev.run_id), "%s", run_id);
	snprintf(ev.at, sizeof(ev.at), "2026-03-09T10:04:00Z");
	snprintf(ev.requested.run_id, sizeof(ev.requested.run_id), "%s", run_id);
	snprintf(ev.requested.requested_at, sizeof(ev.requested.requested_at), "2026-03-09T10:04:00Z");
	snprintf(ev.requested.candidate_id, sizeof(ev.requested.candidate_id), "rc1");
	snprintf(ev.requested.manifest_id, sizeof(ev.requested.manifest_id), "man-001");
	snprintf(ev.requested.task_id, sizeof(ev.requested.task_id), "task-%s", run_id);
	ev.requested.requested_by = strdup("bot");
	return ev;
}

static cr_run_event ev_stage(const char *run_id, cr_stage stage, const char *error)
{
	cr_run_event ev = {.kind = CR_RUN_EV_STAGE_COMPLETED};

	snprintf(ev.run_id, sizeof(ev.run_id), "%s", run_id);
	snprintf(ev.at, sizeof(ev.at), "2026-03-09T10:04:02Z");
	snprintf(ev.stage.run_id, sizeof(ev.stage.run_id), "%s", run_id);
	ev.stage.stage = stage;
	ev.stage.status = error ? CR_SS_SKIPPED : CR_SS_PASSED;
	ev.stage.artifacts_checked = 3;
	ev.stage.error = error ? strdup(error) : NULL;
	return ev;
}

/* requested -> started -> four stages -> finished; each apply takes what
 * the event owns and leaves it cleared. */
static void fold_whole_run(void **s)
{
	(void)s;
	cr_run r = {0};
	cr_run_event ev = ev_requested("run-007"), zero = {0};

	r.progress.done = 9; /* replaced: the run starts at its requested event */
	assert_int_equal(cr_run_event_apply(&r, &ev), 0);
	assert_memory_equal(&ev, &zero, sizeof(ev));
	assert_int_equal(r.status, CR_RUN_PENDING);
	assert_int_equal(r.final_status, CR_FINAL_NONE);
	assert_int_equal(r.progress.done, 0);
	assert_string_equal(r.requested_by, "bot");
	assert_string_equal(r.task_id, "task-run-007");

	ev = (cr_run_event){.kind = CR_RUN_EV_STARTED, .artifacts_total = 3, .jobs = 2};
	snprintf(ev.run_id, sizeof(ev.run_id), "run-007");
	snprintf(ev.at, sizeof(ev.at), "2026-03-09T10:04:01Z");
	assert_int_equal(cr_run_event_apply(&r, &ev), 0);
	assert_int_equal(r.status, CR_RUN_RUNNING);
	assert_string_equal(r.started_at, "2026-03-09T10:04:01Z");
	assert_int_equal(r.progress.total, 3);
	assert_int_equal(r.jobs, 2);

	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		ev = ev_stage("run-007", (cr_stage)i, i < 2 ? NULL : "not evaluated");
		assert_int_equal(cr_run_event_apply(&r, &ev), 0);
		assert_null(ev.stage.error);
		assert_int_equal(r.stage_count, (size_t)i + 1);
	}
	assert_string_equal(r.stages[3].error, "not evaluated");
	assert_int_equal(r.stages[3].status, CR_SS_SKIPPED);

	ev = (cr_run_event){.kind = CR_RUN_EV_FINISHED, .status = CR_RUN_FAILED, .final_status = CR_FINAL_ERROR};
	snprintf(ev.run_id, sizeof(ev.run_id), "run-007");
	snprintf(ev.at, sizeof(ev.at), "2026-03-09T10:04:09Z");
	snprintf(ev.report_id, sizeof(ev.report_id), "rpt-004");
	ev.reason = strdup("runner vanished");
	assert_int_equal(cr_run_event_apply(&r, &ev), 0);
	assert_null(ev.reason);
	assert_int_equal(r.status, CR_RUN_FAILED);
	assert_int_equal(r.final_status, CR_FINAL_ERROR);
	assert_string_equal(r.finished_at, "2026-03-09T10:04:09Z");
	assert_string_equal(r.report_id, "rpt-004");
	assert_string_equal(r.reason, "runner vanished");
	assert_string_equal(r.run_id, "run-007");
	cr_run_clear(&r);
}

/* A refusal changes neither the run nor the event. */
static void fold_refusals(void **s)
{
	(void)s;
	cr_run r = {0};
	cr_run_event ev = ev_requested("run-001");

	assert_int_equal(cr_run_event_apply(&r, &ev), 0);

	/* A stage out of order (the second before the first). */
	ev = ev_stage("run-001", CR_STAGE_MANIFEST_CONSISTENCY, "late");
	assert_int_equal(cr_run_event_apply(&r, &ev), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, "out of order"));
	assert_int_equal(r.stage_count, 0);
	assert_string_equal(ev.stage.error, "late"); /* still the event's */
	cr_run_event_clear(&ev);

	/* An event of another run. */
	ev = ev_stage("run-002", CR_STAGE_DATA_PURITY, NULL);
	assert_int_equal(cr_run_event_apply(&r, &ev), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, "event of run run-002 folded into run run-001"));
	assert_int_equal(r.stage_count, 0);
	cr_run_event_clear(&ev);

	/* Five stages: the fifth has no place. */
	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		ev = ev_stage("run-001", (cr_stage)i, NULL);
		assert_int_equal(cr_run_event_apply(&r, &ev), 0);
	}
	ev = ev_stage("run-001", CR_STAGE_DATA_PURITY, NULL);
	assert_int_equal(cr_run_event_apply(&r, &ev), CR_EINVALID_INPUT);
	assert_int_equal(r.stage_count, CR_STAGE__COUNT);
	cr_run_event_clear(&ev);
	assert_int_equal(r.status, CR_RUN_PENDING);

	cr_run_clear(&r);
	cr_run_event_clear(NULL);
}

/* ---- stored events, decoded and folded ------------------------------ */

/* The four run-event examples fold into one run, and each event is rebuilt
 * exactly from the folded run. */
static void ex_run_events(void **s)
{
	(void)s;
	cJSON *req = load(FIX("run-event-requested.json"));
	cJSON *start = load(FIX("run-event-started.json"));
	cJSON *stage = load(FIX("run-event-stage-completed.json"));
	cJSON *fin = load(FIX("run-event-finished.json"));
	cr_run r = {0};

	assert_int_equal(cr_run_apply_event(req, &r), 0);
	assert_int_equal(r.status, CR_RUN_PENDING);
	assert_same_json(req, cr_run_requested_to_json(&r));

	assert_int_equal(cr_run_apply_event(start, &r), 0);
	assert_int_equal(r.status, CR_RUN_RUNNING);
	assert_string_equal(r.started_at, "2026-03-09T10:04:01Z");
	assert_int_equal(r.progress.total, 3);
	assert_int_equal(r.jobs, 2);
	assert_same_json(start, cr_run_started_to_json(r.run_id, r.started_at, r.progress.total, r.jobs));

	assert_int_equal(cr_run_apply_event(stage, &r), 0);
	assert_int_equal(r.stage_count, 1);
	assert_int_equal(r.stages[0].stage, CR_STAGE_DATA_PURITY);
	assert_same_json(stage, cr_run_stage_completed_to_json(&r.stages[0], cr_json_str(stage, "at")));

	assert_int_equal(cr_run_apply_event(fin, &r), 0);
	assert_int_equal(r.status, CR_RUN_SUCCEEDED);
	assert_int_equal(r.final_status, CR_FINAL_PASSED);
	assert_string_equal(r.report_id, "rpt-001");
	assert_string_equal(r.finished_at, "2026-03-09T10:04:03Z");
	assert_null(r.reason);
	assert_same_json(fin, cr_run_finished_to_json(&r));

	cr_run_clear(&r);
	cJSON_Delete(req);
	cJSON_Delete(start);
	cJSON_Delete(stage);
	cJSON_Delete(fin);
}

static void run_fold_errors(void **s)
{
	(void)s;
	cJSON *req = load(FIX("run-event-requested.json"));
	cJSON *stage = load(FIX("run-event-stage-completed.json"));
	cr_run r = {0};
	cJSON *ev;

	assert_int_equal(cr_run_apply_event(req, &r), 0);
	assert_int_equal(cr_run_apply_event(stage, &r), 0);
	/* The same stage twice is out of order. */
	assert_int_equal(cr_run_apply_event(stage, &r), CR_EINVALID_INPUT);
	assert_int_equal(r.stage_count, 1);

	/* An event of another run. */
	ev = parse_text("{\"event\":\"started\",\"run_id\":\"run-002\",\"at\":\"2026-03-09T10:04:01Z\","
			"\"artifacts_total\":3}");
	assert_int_equal(cr_run_apply_event(ev, &r), CR_EINVALID_INPUT);
	cJSON_Delete(ev);

	/* FAILED needs a reason and final_status ERROR. */
	ev = parse_text("{\"event\":\"finished\",\"run_id\":\"run-001\",\"at\":\"2026-03-09T10:04:01Z\","
			"\"status\":\"FAILED\",\"final_status\":\"ERROR\",\"report_id\":\"rpt-001\"}");
	assert_int_equal(cr_run_apply_event(ev, &r), CR_EINVALID_INPUT);
	cJSON_Delete(ev);
	ev = parse_text("{\"event\":\"finished\",\"run_id\":\"run-001\",\"at\":\"2026-03-09T10:04:01Z\","
			"\"status\":\"FAILED\",\"final_status\":\"BLOCKED\",\"report_id\":\"rpt-001\","
			"\"reason\":\"x\"}");
	assert_int_equal(cr_run_apply_event(ev, &r), CR_EINVALID_INPUT);
	cJSON_Delete(ev);
	ev = parse_text("{\"event\":\"finished\",\"run_id\":\"run-001\",\"at\":\"2026-03-09T10:04:01Z\","
			"\"status\":\"RUNNING\",\"final_status\":\"ERROR\",\"report_id\":\"rpt-001\"}");
	assert_int_equal(cr_run_apply_event(ev, &r), CR_EINVALID_INPUT);
	cJSON_Delete(ev);
	ev = parse_text("{\"event\":\"paused\",\"run_id\":\"run-001\"}");
	assert_int_equal(cr_run_apply_event(ev, &r), CR_EINVALID_INPUT);
	cJSON_Delete(ev);
	ev = parse_text("[1]");
	assert_int_equal(cr_run_apply_event(ev, &r), CR_EINVALID_INPUT);
	cJSON_Delete(ev);
	assert_int_equal(r.status, CR_RUN_PENDING); /* nothing applied */

	/* A FAILED run with its reason folds and rebuilds. */
	ev = parse_text("{\"event\":\"finished\",\"run_id\":\"run-001\",\"at\":\"2026-03-09T10:09:00Z\","
			"\"status\":\"FAILED\",\"final_status\":\"ERROR\",\"report_id\":\"rpt-002\","
			"\"reason\":\"runner pid 4242 vanished\"}");
	assert_int_equal(cr_run_apply_event(ev, &r), 0);
	assert_string_equal(r.reason, "runner pid 4242 vanished");
	assert_same_json(ev, cr_run_finished_to_json(&r));
	cJSON_Delete(ev);

	/* And a finished event cannot be built for a FAILED run without one. */
	free(r.reason);
	r.reason = NULL;
	assert_null(cr_run_finished_to_json(&r));
	r.status = CR_RUN_RUNNING;
	assert_null(cr_run_finished_to_json(&r));

	cr_run_clear(&r);
	cJSON_Delete(req);
	cJSON_Delete(stage);
}

/* A full run: four stages, the last ones SKIPPED with an error. */
static void run_all_stages(void **s)
{
	(void)s;
	cJSON *req = load(FIX("run-event-requested.json"));
	cr_run r = {0};

	assert_int_equal(cr_run_apply_event(req, &r), 0);
	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		cr_stage_result st = {0};
		cJSON *ev;
		snprintf(st.run_id, sizeof(st.run_id), "run-001");
		st.stage = (cr_stage)i;
		st.status = i < 2 ? CR_SS_PASSED : CR_SS_SKIPPED;
		snprintf(st.started_at, sizeof(st.started_at), "2026-03-09T10:04:0%uZ", (unsigned)i % 10u);
		snprintf(st.finished_at, sizeof(st.finished_at), "2026-03-09T10:04:0%uZ", (unsigned)(i + 1) % 10u);
		st.duration_ms = 1000u * (unsigned)i;
		st.artifacts_checked = 3;
		st.error = i < 2 ? NULL : strdup("not evaluated: the run was aborted");
		ev = cr_run_stage_completed_to_json(&st, st.finished_at);
		assert_non_null(ev);
		assert_int_equal(cr_run_apply_event(ev, &r), 0);
		assert_same_json(ev, cr_run_stage_completed_to_json(&r.stages[i], st.finished_at));
		cJSON_Delete(ev);
		cr_stage_result_clear(&st);
	}
	assert_int_equal(r.stage_count, CR_STAGE__COUNT);
	assert_string_equal(r.stages[3].error, "not evaluated: the run was aborted");
	cr_run_clear(&r);
	cJSON_Delete(req);
}

/* A decode refusal names the field and leaves the event cleared. */
static void decode_refusals(void **s)
{
	(void)s;
	cr_run_event ev, zero = {0};
	cJSON *j = load(FIX("run-event-stage-completed.json"));

	cJSON_ReplaceItemInObjectCaseSensitive(j, "run_id", cJSON_CreateString("run-009"));
	assert_int_equal(cr_run_event_from_json(j, &ev), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, "stage_result of run run-001 in an event of run run-009"));
	assert_memory_equal(&ev, &zero, sizeof(ev));
	cJSON_Delete(j);

	j = load(FIX("run-event-requested.json"));
	cJSON_DeleteItemFromObjectCaseSensitive(j, "requested_by");
	assert_int_equal(cr_run_event_from_json(j, &ev), CR_EINVALID_INPUT);
	assert_non_null(strstr(cr_error_last()->message, "requested_by"));
	assert_memory_equal(&ev, &zero, sizeof(ev));
	cJSON_Delete(j);

	j = load(FIX("run-event-finished.json"));
	assert_int_equal(cr_run_event_from_json(j, &ev), 0);
	assert_int_equal(ev.kind, CR_RUN_EV_FINISHED);
	assert_int_equal(ev.status, CR_RUN_SUCCEEDED);
	assert_string_equal(ev.report_id, "rpt-001");
	cr_run_event_clear(&ev);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fold_whole_run),
		cmocka_unit_test(fold_refusals),
		cmocka_unit_test(ex_run_events),
		cmocka_unit_test(run_fold_errors),
		cmocka_unit_test(run_all_stages),
		cmocka_unit_test(decode_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
