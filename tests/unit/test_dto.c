/*
 * The facade's DTO encoders (facade/dto.h): the OpenAPI bodies that are not
 * stored objects, byte for byte.
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
#include "facade/dto.h"
#include "util/error.h"
#include "util/json.h"

static void rt_candidate_view(void **s)
{
	(void)s;
	cr_candidate_view v = {0};
	cJSON *j;
	char *text;

	snprintf(v.c.candidate_id, sizeof(v.c.candidate_id), "rc1");
	snprintf(v.c.version, sizeof(v.c.version), "1.0");
	snprintf(v.c.source_snapshot, sizeof(v.c.source_snapshot), "main");
	snprintf(v.c.source_commit, sizeof(v.c.source_commit), "%040d", 0);
	v.c.created_by = dup("bot");
	snprintf(v.c.created_at, sizeof(v.c.created_at), "2026-03-09T10:00:00Z");
	v.status = CR_STATUS_PREPARED;
	snprintf(v.latest_import_id, sizeof(v.latest_import_id), "imp-002");
	snprintf(v.approved_report_id, sizeof(v.approved_report_id), "rpt-009"); /* not in the DTO */
	j = cr_candidate_view_to_json(&v);
	text = canon(j);
	assert_string_equal(text, "{\"candidate_id\":\"rc1\",\"created_at\":\"2026-03-09T10:00:00Z\","
				  "\"created_by\":\"bot\",\"latest_import_id\":\"imp-002\",\"latest_manifest_id\":null,"
				  "\"latest_report_id\":null,\"latest_run_id\":null,"
				  "\"source_commit\":\"0000000000000000000000000000000000000000\","
				  "\"source_snapshot\":\"main\",\"status\":\"PREPARED\",\"version\":\"1.0\"}");
	free(text);
	cJSON_Delete(j);

	/* The record alone has no derived field. */
	STRUCT_ROUND_TRIP(cr_candidate, &v.c, cr_candidate_from_json, cr_candidate_to_json, cr_candidate_clear);
	j = cr_candidate_to_json(&v.c);
	assert_int_equal(cJSON_GetArraySize(j), 6);
	cJSON_Delete(j);
	cr_candidate_view_clear(&v);
	cr_candidate_view_clear(NULL);
}

static void rt_manifest_summary(void **s)
{
	(void)s;
	cJSON *ex = load(FIX("manifest.json"));
	cr_manifest m = {0};
	cJSON *sum;

	assert_int_equal(cr_manifest_from_json(ex, &m), 0);
	m.artifact_root = dup("/builds/acme/app"); /* carried, never serialized */
	assert_same_json(ex, cr_manifest_to_json(&m));
	sum = cr_manifest_summary_to_json(&m);
	assert_non_null(sum);
	cJSON_DeleteItemFromObject(ex, "artifacts");
	assert_same_json(ex, sum);
	cr_manifest_clear(&m);
	cJSON_Delete(ex);
}

static void run_view(void **s)
{
	(void)s;
	cJSON *req = load(FIX("run-event-requested.json"));
	cJSON *fin = load(FIX("run-event-finished.json"));
	cr_run r = {0};
	cJSON *v;
	char *text;

	assert_int_equal(cr_run_apply_event(req, &r), 0);
	v = cr_run_to_json(&r);
	assert_non_null(v);
	text = canon(v);
	assert_string_equal(
		text,
		"{\"candidate_id\":\"2026.03.09-rc1\",\"final_status\":null,\"finished_at\":null,"
		"\"manifest_digest\":\"24bb4b928db0644df1678c190ec3bde4113c5e55a5575e06dbf2c41242cf58b7\","
		"\"manifest_id\":\"man-001\",\"policy_snapshot\":{\"policy_digest\":"
		"\"2213256d99c796253efb202347266b55c9648e948f5388cf0869fd6cdc1e64f3\",\"policy_id\":\"acme-release\","
		"\"policy_version\":3,\"resolved_from\":{\"commit\":\"0d5398533d1c68038d042e512fd5e495acbc3faf\","
		"\"ref\":\"refs/clean-release/policy\"}},\"progress\":{\"artifacts_done\":0,\"artifacts_total\":0},"
		"\"reason\":null,\"registry_snapshot\":{\"registry_digest\":"
		"\"1f0a9ee04e09a6b5e51ca58eda59480aacd426f2d44ca787107ddad5a47c6429\",\"registry_id\":"
		"\"acme-internal\",\"registry_version\":7,\"resolved_from\":{\"commit\":"
		"\"0d5398533d1c68038d042e512fd5e495acbc3faf\",\"ref\":\"refs/clean-release/policy\"}},"
		"\"report_id\":null,\"requested_at\":\"2026-03-09T10:04:00Z\",\"requested_by\":\"release-bot\","
		"\"run_id\":\"run-001\",\"started_at\":null,\"status\":\"PENDING\",\"task_id\":\"task-run-001\"}");
	free(text);
	cJSON_Delete(v);

	/* Finished without a started event (a runner that died early). */
	r.progress.done = 2;
	assert_int_equal(cr_run_apply_event(fin, &r), 0);
	v = cr_run_to_json(&r);
	assert_string_equal(cr_json_str(v, "status"), "SUCCEEDED");
	assert_string_equal(cr_json_str(v, "final_status"), "PASSED");
	assert_string_equal(cr_json_str(v, "report_id"), "rpt-001");
	assert_string_equal(cr_json_str(v, "finished_at"), "2026-03-09T10:04:03Z");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "started_at")));
	assert_null(cJSON_GetObjectItem(v, "stages"));
	assert_int_equal(cr_json_int(cJSON_GetObjectItem(v, "progress"), "artifacts_done", -1), 2);
	cJSON_Delete(v);

	cr_run_clear(&r);
	cJSON_Delete(req);
	cJSON_Delete(fin);
}

static void error_json(void **s)
{
	(void)s;
	cJSON *j;
	char *text;

	j = cr_error_to_json(CR_EINVALID_TRANSITION, "cannot approve rc1: status is DRAFT", "DRAFT",
			     "import-artifacts");
	text = canon(j);
	assert_string_equal(text, "{\"error\":{\"code\":\"INVALID_TRANSITION\",\"details\":{\"allowed\":"
				  "[\"import-artifacts\"],\"status\":\"DRAFT\"},\"message\":\"cannot approve rc1: "
				  "status is DRAFT\"}}");
	free(text);
	cJSON_Delete(j);

	j = cr_error_to_json(CR_EINVALID_TRANSITION, "m", "MANIFEST_BUILT",
			     "import-artifacts, manifest build, compliance run");
	text = canon(j);
	assert_string_equal(text, "{\"error\":{\"code\":\"INVALID_TRANSITION\",\"details\":{\"allowed\":"
				  "[\"import-artifacts\",\"manifest build\",\"compliance run\"],"
				  "\"status\":\"MANIFEST_BUILT\"},\"message\":\"m\"}}");
	free(text);
	cJSON_Delete(j);

	j = cr_error_to_json(CR_EINVALID_TRANSITION, "m", "REVOKED", "none");
	text = canon(j);
	assert_string_equal(text, "{\"error\":{\"code\":\"INVALID_TRANSITION\",\"details\":{\"allowed\":[],"
				  "\"status\":\"REVOKED\"},\"message\":\"m\"}}");
	free(text);
	cJSON_Delete(j);

	j = cr_error_to_json(CR_ENOT_FOUND, "no candidate rc9", "", NULL);
	text = canon(j);
	assert_string_equal(text, "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no candidate rc9\"}}");
	free(text);
	cJSON_Delete(j);

	j = cr_error_to_json(CR_EINTERNAL, NULL, NULL, NULL);
	text = canon(j);
	assert_string_equal(text, "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"INTERNAL\"}}");
	free(text);
	cJSON_Delete(j);
}

/* The one list envelope: items in order, next_cursor a string or null,
 * ViolationList with its run_id. */
static void list_envelopes(void **s)
{
	(void)s;
	cr_candidate_view v[2] = {0};
	cr_audit_event e = {0};
	cr_violation x = {0};
	cJSON *j;
	char *text;

	for (int i = 0; i < 2; i++) {
		snprintf(v[i].c.candidate_id, sizeof(v[i].c.candidate_id), "rc%d", i + 1);
		snprintf(v[i].c.version, sizeof(v[i].c.version), "1.0");
		snprintf(v[i].c.source_snapshot, sizeof(v[i].c.source_snapshot), "main");
		snprintf(v[i].c.source_commit, sizeof(v[i].c.source_commit), "%040d", 0);
		v[i].c.created_by = dup("bot");
		snprintf(v[i].c.created_at, sizeof(v[i].c.created_at), "%s", i ? "2026-03-09T10:00:01Z" : "2026-03-09T10:00:00Z");
		v[i].status = CR_STATUS_DRAFT;
	}
	j = cr_candidate_list_to_json(v, 2, "abc.0123456789abcdef");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(j), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "candidates")), 2);
	assert_string_equal(cr_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "candidates"), 1), "candidate_id"),
			    "rc2");
	assert_string_equal(cr_json_str(j, "next_cursor"), "abc.0123456789abcdef");
	cJSON_Delete(j);
	j = cr_candidate_list_to_json(NULL, 0, "");
	text = canon(j);
	assert_string_equal(text, "{\"candidates\":[],\"next_cursor\":null}");
	free(text);
	cJSON_Delete(j);

	snprintf(e.event_id, sizeof(e.event_id), "evt-001");
	snprintf(e.type, sizeof(e.type), "candidate.register");
	snprintf(e.candidate_id, sizeof(e.candidate_id), "rc1");
	e.actor = dup("bot");
	snprintf(e.at, sizeof(e.at), "2026-03-09T10:00:00Z");
	e.accepted = true;
	j = cr_audit_log_to_json(&e, 1, NULL);
	text = canon(j);
	assert_string_equal(text, "{\"events\":[{\"actor\":\"bot\",\"at\":\"2026-03-09T10:00:00Z\","
				  "\"candidate_id\":\"rc1\",\"details\":{},\"event_id\":\"evt-001\","
				  "\"outcome\":\"ACCEPTED\",\"type\":\"candidate.register\"}],\"next_cursor\":null}");
	free(text);
	cJSON_Delete(j);

	snprintf(x.violation_id, sizeof(x.violation_id), "run-001-v000001");
	snprintf(x.run_id, sizeof(x.run_id), "run-001");
	snprintf(x.rule_id, sizeof(x.rule_id), "r");
	x.message = dup("m");
	j = cr_violation_list_to_json("run-001", &x, 1, "n.0123456789abcdef");
	text = canon(j);
	assert_string_equal(text, "{\"next_cursor\":\"n.0123456789abcdef\",\"run_id\":\"run-001\",\"violations\":"
				  "[{\"artifact_path\":null,\"message\":\"m\",\"rule_id\":\"r\",\"run_id\":\"run-001\","
				  "\"severity\":\"BLOCKER\",\"stage\":\"DATA_PURITY\",\"violation_id\":"
				  "\"run-001-v000001\"}]}");
	free(text);
	cJSON_Delete(j);

	/* An item that cannot be encoded fails the whole list, with its error. */
	x.severity = (cr_severity)99;
	assert_null(cr_violation_list_to_json("run-001", &x, 1, NULL));
	assert_int_equal(cr_error_last()->code, CR_EINTERNAL);

	cr_violation_clear(&x);
	cr_audit_event_clear(&e);
	cr_candidate_clear(&v[0].c);
	cr_candidate_clear(&v[1].c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rt_candidate_view),
		cmocka_unit_test(rt_manifest_summary),
		cmocka_unit_test(run_view),
		cmocka_unit_test(error_json),
		cmocka_unit_test(list_envelopes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
