/*
 * Codec: every stored example of the spec goes through from_json and comes
 * back from to_json byte for byte (canonically), and every entity survives
 * to_json -> canonical text -> parse -> from_json -> to_json unchanged.
 * Tests run from the repository root (fixtures are copies of spec/examples).
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
#include "domain/ids.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"

/* ---- examples ------------------------------------------------------- */

static void ex_candidate(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_candidate, "candidate.json", cr_candidate_from_json, cr_candidate_to_json,
			   cr_candidate_clear);
}

static void ex_import(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_import, "import.json", cr_import_from_json, cr_import_to_json, cr_import_clear);
}

static void ex_manifest(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_manifest, "manifest.json", cr_manifest_from_json, cr_manifest_to_json,
			   cr_manifest_clear);
}

/* The example manifest's digest recomputes from its artifacts. */
static void ex_manifest_digest(void **s)
{
	(void)s;
	cJSON *ex = load(FIX("manifest.json"));
	cr_manifest m = {0};
	cJSON *arts;
	char digest[65];

	assert_int_equal(cr_manifest_from_json(ex, &m), 0);
	assert_null(m.artifact_root);
	arts = cr_artifacts_to_json(m.artifacts, m.artifact_count);
	assert_non_null(arts);
	assert_int_equal(cr_json_digest(arts, digest), 0);
	assert_string_equal(digest, m.manifest_digest);
	cJSON_Delete(arts);
	cr_manifest_clear(&m);
	cJSON_Delete(ex);
}

static void ex_report(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_report, "report.json", cr_report_from_json, cr_report_to_json, cr_report_clear);
}

/* report_digest is the SHA-256 of the canonical JSON of every other field;
 * the example's recomputes. */
static void ex_report_digest(void **s)
{
	(void)s;
	cJSON *ex = load(FIX("report.json"));
	cr_report r = {0};
	char d1[CR_SHA_MAX], d2[CR_SHA_MAX];

	assert_int_equal(cr_report_from_json(ex, &r), 0);
	assert_int_equal(cr_report_digest(&r, d1), 0);
	assert_string_equal(d1, r.report_digest);
	/* Independent of the stored digest, and it sees every other field. */
	memset(r.report_digest, 0, sizeof(r.report_digest));
	assert_int_equal(cr_report_digest(&r, d2), 0);
	assert_string_equal(d1, d2);
	r.by_stage[CR_STAGE_MANIFEST_CONSISTENCY]++;
	assert_int_equal(cr_report_digest(&r, d2), 0);
	assert_string_not_equal(d1, d2);
	cr_report_clear(&r);
	cJSON_Delete(ex);
}

static void ex_approval(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_approval, "approval.json", cr_approval_from_json, cr_approval_to_json,
			   cr_approval_clear);
}

static void ex_publication(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_publication, "publication.json", cr_publication_from_json, cr_publication_to_json,
			   cr_publication_clear);
	EXAMPLE_ROUND_TRIP(cr_publication, "revocation.json", cr_publication_from_json, cr_publication_to_json,
			   cr_publication_clear);
}

static void ex_audit(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_audit_event, "audit-event.json", cr_audit_event_from_json, cr_audit_event_to_json,
			   cr_audit_event_clear);
	EXAMPLE_ROUND_TRIP(cr_audit_event, "audit-event-refused.json", cr_audit_event_from_json,
			   cr_audit_event_to_json, cr_audit_event_clear);
}

static void ex_audit_refused_fields(void **s)
{
	(void)s;
	cJSON *ex = load(FIX("audit-event-refused.json"));
	cr_audit_event e = {0};

	assert_int_equal(cr_audit_event_from_json(ex, &e), 0);
	assert_false(e.accepted);
	assert_int_equal(e.error_code, CR_EINVALID_TRANSITION);
	assert_non_null(strstr(e.error_message, "approve needs CHECK_PASSED"));
	assert_int_equal(e.ndetails, 2);
	cr_audit_event_clear(&e);
	cJSON_Delete(ex);
}

static void ex_violation(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_violation, "violation.json", cr_violation_from_json, cr_violation_to_json,
			   cr_violation_clear);
}

static void ex_stage_result(void **s)
{
	(void)s;
	EXAMPLE_ROUND_TRIP(cr_stage_result, "stage-result.json", cr_stage_result_from_json,
			   cr_stage_result_to_json, cr_stage_result_clear);
}

/* ---- hand-built entities -------------------------------------------- */

static void rt_import_minimal(void **s)
{
	(void)s;
	cr_import im = {0};
	cJSON *j;

	snprintf(im.import_id, sizeof(im.import_id), "imp-1000");
	snprintf(im.candidate_id, sizeof(im.candidate_id), "rc1");
	im.imported_by = dup("Jörg \"the bot\"");
	snprintf(im.imported_at, sizeof(im.imported_at), "2026-03-09T10:00:00Z");
	im.artifact_root = dup("/srv/a b");
	im.artifact_count = 2;
	im.artifacts = calloc(2, sizeof(*im.artifacts));
	im.artifacts[0].path = dup("a");
	snprintf(im.artifacts[0].sha256, sizeof(im.artifacts[0].sha256), "%064d", 1);
	im.artifacts[0].size = 9007199254740991ull; /* the schemas' largest */
	im.artifacts[1].path = dup("b/c.txt");
	snprintf(im.artifacts[1].sha256, sizeof(im.artifacts[1].sha256), "%064d", 2);
	im.artifacts[1].kind = dup("config");
	im.total_size = 9007199254740991ull;
	STRUCT_ROUND_TRIP(cr_import, &im, cr_import_from_json, cr_import_to_json, cr_import_clear);

	j = cr_artifact_to_json(&im.artifacts[0]);
	assert_int_equal(cJSON_GetArraySize(j), 3); /* absent source/kind/media_type omitted */
	cJSON_Delete(j);
	cr_import_clear(&im);
	cr_import_clear(NULL);
}

static void rt_violation_variants(void **s)
{
	(void)s;
	cr_violation v = {0};
	cJSON *j;

	cr_violation_id_format(v.violation_id, sizeof(v.violation_id), "run-002", 7);
	snprintf(v.run_id, sizeof(v.run_id), "run-002");
	v.stage = CR_STAGE_MANIFEST_CONSISTENCY;
	snprintf(v.rule_id, sizeof(v.rule_id), "builtin:manifest-digest-mismatch");
	v.severity = CR_SEV_BLOCKER;
	v.message = dup("manifest digest does not recompute");
	STRUCT_ROUND_TRIP(cr_violation, &v, cr_violation_from_json, cr_violation_to_json, cr_violation_clear);
	j = cr_violation_to_json(&v);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "artifact_path")));
	assert_null(cJSON_GetObjectItem(j, "location"));
	assert_null(cJSON_GetObjectItem(j, "excerpt"));
	cJSON_Delete(j);

	v.artifact_path = dup("dist/x");
	v.has_location = true;
	v.location.line = 1;
	v.location.column = 1;
	v.location.offset = 0;
	v.excerpt = dup("");
	STRUCT_ROUND_TRIP(cr_violation, &v, cr_violation_from_json, cr_violation_to_json, cr_violation_clear);
	cr_violation_clear(&v);
}

static void rt_violation_chunk_items(void **s)
{
	(void)s;
	cJSON *chunk = load(FIX("violation-chunk.json"));
	const cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItem(chunk, "violations")) {
		cr_violation v = {0};
		assert_int_equal(cr_violation_from_json(item, &v), 0);
		assert_same_json(item, cr_violation_to_json(&v));
		cr_violation_clear(&v);
	}
	cJSON_Delete(chunk);
}

/* The direct writers give byte for byte what cr_json_canonical gives for
 * the cJSON form: violations (with and without path, location, excerpt;
 * escapes, non-ASCII, large numbers), whole chunks, and artifact lists. */
static void assert_violation_bytes(const cr_violation *v)
{
	cr_sbuf b = {0};
	cJSON *j = cr_violation_to_json(v);
	char *want = canon(j);

	cr_violation_canonical(&b, v);
	assert_false(b.oom);
	assert_string_equal(b.p, want);
	assert_int_equal(b.len, strlen(want));
	free(want);
	cJSON_Delete(j);
	cr_sb_free(&b);
}

static void direct_writers_match_canonical(void **s)
{
	(void)s;
	cJSON *chunk = load(FIX("violation-chunk.json"));
	const cJSON *item;
	cr_violation v[8];
	size_t n = 0;

	memset(v, 0, sizeof(v));
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(chunk, "violations")) {
		assert_true(n < 6);
		assert_int_equal(cr_violation_from_json(item, &v[n]), 0);
		assert_violation_bytes(&v[n]);
		n++;
	}
	cr_violation_id_format(v[n].violation_id, sizeof(v[n].violation_id), "run-012", 123456789);
	snprintf(v[n].run_id, sizeof(v[n].run_id), "run-012");
	v[n].stage = CR_STAGE_DATA_PURITY;
	snprintf(v[n].rule_id, sizeof(v[n].rule_id), "quote\"back\\slash");
	v[n].severity = CR_SEV_WARNING;
	v[n].artifact_path = dup("dist/\xc3\xa9t\xc3\xa9/\"q\".js");
	v[n].message = dup("tab\there, nl\n, cr\r, bs\b, ff\f, ctl\x01\x1f end");
	v[n].has_location = true;
	v[n].location.line = 4294967297ull;
	v[n].location.column = 1;
	v[n].location.offset = 4503599627370496ull; /* 2^52 */
	v[n].excerpt = dup("k=****\x7f \xe2\x82\xac");
	assert_violation_bytes(&v[n]);
	n++;
	cr_violation_id_format(v[n].violation_id, sizeof(v[n].violation_id), "run-012", 1);
	snprintf(v[n].run_id, sizeof(v[n].run_id), "run-012");
	v[n].stage = CR_STAGE_MANIFEST_CONSISTENCY;
	snprintf(v[n].rule_id, sizeof(v[n].rule_id), "builtin:source-commit-missing");
	v[n].severity = CR_SEV_BLOCKER;
	v[n].message = dup("");
	assert_violation_bytes(&v[n]);
	n++;

	/* A whole chunk, against the document built with cJSON. */
	{
		cr_sbuf b = {0};
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_CreateArray();
		char *want;

		cr_json_add_str(doc, "run_id", "run-012");
		cr_json_add_int(doc, "chunk", 42);
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, cr_violation_to_json(&v[i]));
		cJSON_AddItemToObject(doc, "violations", arr);
		want = canon(doc);
		cr_violation_chunk_canonical(&b, "run-012", 42, v, n);
		assert_false(b.oom);
		assert_string_equal(b.p, want);
		free(want);
		cJSON_Delete(doc);
		cr_sb_free(&b);
	}
	for (size_t i = 0; i < n; i++)
		cr_violation_clear(&v[i]);
	cJSON_Delete(chunk);

	/* Artifact lists: the example manifest, and every optional field. */
	{
		cJSON *ex = load(FIX("manifest.json")), *arts;
		cr_manifest m = {0};
		cr_artifact extra[3];
		cr_sbuf b = {0};
		char *want, digest[CR_SHA_MAX];

		assert_int_equal(cr_manifest_from_json(ex, &m), 0);
		arts = cr_artifacts_to_json(m.artifacts, m.artifact_count);
		want = canon(arts);
		cr_artifacts_canonical(&b, m.artifacts, m.artifact_count);
		assert_string_equal(b.p, want);
		assert_int_equal(cr_artifacts_digest(m.artifacts, m.artifact_count, digest), 0);
		assert_string_equal(digest, m.manifest_digest);
		free(want);
		cJSON_Delete(arts);
		cr_sb_free(&b);

		memset(extra, 0, sizeof(extra));
		extra[0].path = dup("a/\"b\"");
		snprintf(extra[0].sha256, sizeof(extra[0].sha256), "%064d", 0);
		extra[0].size = 9007199254740993ull; /* above 2^53: both go through a double */
		extra[0].kind = dup("file");
		extra[0].media_type = dup("text/plain");
		extra[0].source = dup("git:\xc3\xa9");
		extra[1].path = dup("z");
		snprintf(extra[1].sha256, sizeof(extra[1].sha256), "%064d", 1);
		extra[1].media_type = dup("application/json");
		extra[2].path = dup("zz");
		snprintf(extra[2].sha256, sizeof(extra[2].sha256), "%064d", 2);
		extra[2].kind = dup("dir");
		extra[2].size = 0;
		arts = cr_artifacts_to_json(extra, 3);
		want = canon(arts);
		cr_artifacts_canonical(&b, extra, 3);
		assert_string_equal(b.p, want);
		free(want);
		cJSON_Delete(arts);
		cr_sb_free(&b);
		cr_artifacts_canonical(&b, extra, 0);
		assert_string_equal(b.p, "[]");
		cr_sb_free(&b);
		cr_artifact_clear(&extra[0]);
		cr_artifact_clear(&extra[1]);
		cr_artifact_clear(&extra[2]);
		cr_manifest_clear(&m);
		cJSON_Delete(ex);
	}
}

static void rt_stage_with_error(void **s)
{
	(void)s;
	cr_stage_result st = {0};
	cJSON *sum;
	char *text;

	snprintf(st.run_id, sizeof(st.run_id), "run-003");
	st.stage = CR_STAGE_NO_EXTERNAL_ENDPOINTS;
	st.status = CR_SS_ERROR;
	snprintf(st.started_at, sizeof(st.started_at), "2026-03-09T10:04:01Z");
	snprintf(st.finished_at, sizeof(st.finished_at), "2026-03-09T10:05:01Z");
	st.duration_ms = 60000;
	st.artifacts_checked = 2;
	st.error = dup("dist/big.bin: rule external-url hit its match limit");
	STRUCT_ROUND_TRIP(cr_stage_result, &st, cr_stage_result_from_json, cr_stage_result_to_json,
			  cr_stage_result_clear);
	sum = cr_stage_summary_to_json(&st);
	text = canon(sum);
	assert_string_equal(text, "{\"artifacts_checked\":2,\"duration_ms\":60000,\"error\":\"dist/big.bin: rule "
				  "external-url hit its match limit\",\"stage\":\"NO_EXTERNAL_ENDPOINTS\","
				  "\"status\":\"ERROR\",\"violation_count\":0}");
	free(text);
	cJSON_Delete(sum);
	cr_stage_result_clear(&st);
}

static void rt_report_blocked(void **s)
{
	(void)s;
	cJSON *ex = load(FIX("report.json"));
	cr_report r = {0};

	assert_int_equal(cr_report_from_json(ex, &r), 0);
	r.final_status = CR_FINAL_ERROR;
	r.stages[2].status = CR_SS_ERROR;
	r.stages[2].error = dup("worker killed");
	assert_int_equal(cr_report_digest(&r, r.report_digest), 0);
	STRUCT_ROUND_TRIP(cr_report, &r, cr_report_from_json, cr_report_to_json, cr_report_clear);
	cr_report_clear(&r);
	cJSON_Delete(ex);
}

static void rt_approval_rejection(void **s)
{
	(void)s;
	cr_approval a = {0};
	cJSON *j;

	snprintf(a.approval_id, sizeof(a.approval_id), "apr-002");
	snprintf(a.candidate_id, sizeof(a.candidate_id), "rc1");
	snprintf(a.report_id, sizeof(a.report_id), "rpt-001");
	a.approved = false;
	a.actor = dup("owner");
	snprintf(a.at, sizeof(a.at), "2026-03-09T10:30:00Z");
	STRUCT_ROUND_TRIP(cr_approval, &a, cr_approval_from_json, cr_approval_to_json, cr_approval_clear);
	j = cr_approval_to_json(&a);
	assert_string_equal(cr_json_str(j, "decision"), "REJECTED");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "comment")));
	cJSON_Delete(j);
	cr_approval_clear(&a);
}

static void rt_publication_no_tag(void **s)
{
	(void)s;
	cr_publication p = {0};
	cJSON *j;

	snprintf(p.publication_id, sizeof(p.publication_id), "pub-002");
	snprintf(p.candidate_id, sizeof(p.candidate_id), "rc1");
	snprintf(p.report_id, sizeof(p.report_id), "rpt-001");
	snprintf(p.channel, sizeof(p.channel), "staging");
	p.actor = dup("owner");
	snprintf(p.at, sizeof(p.at), "2026-03-09T10:30:00Z");
	STRUCT_ROUND_TRIP(cr_publication, &p, cr_publication_from_json, cr_publication_to_json,
			  cr_publication_clear);
	j = cr_publication_to_json(&p);
	assert_int_equal(cJSON_GetArraySize(j), 6);
	cJSON_Delete(j);
	cr_publication_clear(&p);
}

static void rt_audit_variants(void **s)
{
	(void)s;
	cr_audit_event e = {0};
	cJSON *j;
	char *text;

	snprintf(e.event_id, sizeof(e.event_id), "evt-1000");
	snprintf(e.type, sizeof(e.type), "policy.publish");
	e.actor = dup("admin");
	snprintf(e.at, sizeof(e.at), "2026-03-09T09:00:00Z");
	e.accepted = true;
	cr_audit_detail(&e, "policy_commit", "0d5398533d1c68038d042e512fd5e495acbc3faf");
	cr_audit_detail(&e, "policy_version", "2");
	cr_audit_detail(&e, "policy_version", "3"); /* replaces */
	cr_audit_detail(&e, "error", "not a string detail"); /* reserved: ignored */
	assert_int_equal(e.ndetails, 2);
	STRUCT_ROUND_TRIP(cr_audit_event, &e, cr_audit_event_from_json, cr_audit_event_to_json,
			  cr_audit_event_clear);
	j = cr_audit_event_to_json(&e);
	text = canon(j);
	assert_string_equal(text, "{\"actor\":\"admin\",\"at\":\"2026-03-09T09:00:00Z\",\"candidate_id\":null,"
				  "\"details\":{\"policy_commit\":\"0d5398533d1c68038d042e512fd5e495acbc3faf\","
				  "\"policy_version\":\"3\"},\"event_id\":\"evt-1000\",\"outcome\":\"ACCEPTED\","
				  "\"type\":\"policy.publish\"}");
	free(text);
	cJSON_Delete(j);

	/* Refusal with an error; details limited to 12. */
	e.accepted = false;
	e.error_code = CR_EGATE_REFUSED;
	e.error_message = dup("report rpt-001 is not the report of the latest run");
	for (int i = 0; i < 14; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		cr_audit_detail(&e, key, "v");
	}
	assert_int_equal(e.ndetails, 12);
	assert_int_equal(cr_audit_detail_set(&e, "k13", "v"), CR_EINVALID_ARGUMENT);
	assert_int_equal(cr_audit_detail_set(&e, "a-key-that-is-far-too-long-for-32", "v"), CR_EINVALID_ARGUMENT);
	STRUCT_ROUND_TRIP(cr_audit_event, &e, cr_audit_event_from_json, cr_audit_event_to_json,
			  cr_audit_event_clear);
	j = cr_audit_event_to_json(&e);
	assert_string_equal(cr_json_str(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "details"), "error"), "code"),
			    "GATE_REFUSED");
	cJSON_Delete(j);
	cr_audit_event_clear(&e);
	cr_audit_event_clear(NULL);
}

/* ---- policy and registry -------------------------------------------- */

static const cr_rule *rule(const cr_policy *p, const char *id)
{
	for (size_t i = 0; i < p->rule_count; i++)
		if (!strcmp(p->rules[i].id, id))
			return &p->rules[i];
	fail_msg("no rule %s", id);
	return NULL;
}

static void policy_examples(void **s)
{
	(void)s;
	cJSON *j = load(FIX("policy.json"));
	cr_policy p = {0};

	assert_int_equal(cr_policy_from_json(j, &p), 0);
	assert_string_equal(p.policy_id, "acme-release");
	assert_int_equal(p.version, 3);
	assert_string_equal(p.release_tag_pattern, "^refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$");
	assert_int_equal(p.rule_count, 12);
	assert_int_equal(p.limits.match_limit, 1000000);
	assert_int_equal(p.limits.depth_limit, 100000);
	assert_int_equal(p.limits.per_artifact_timeout_ms, 60000);
	assert_true(p.limits.max_artifact_bytes == 17179869184ull);
	assert_int_equal(rule(&p, "no-test-data")->matcher, CR_MATCH_PATH);
	assert_false(rule(&p, "no-test-data")->secret);
	assert_int_equal(rule(&p, "no-private-key")->matcher, CR_MATCH_CONTENT);
	assert_true(rule(&p, "no-private-key")->secret);
	assert_false(rule(&p, "debug-marker")->secret);
	assert_int_equal(rule(&p, "debug-marker")->severity, CR_SEV_WARNING);
	assert_int_equal(rule(&p, "external-url")->matcher, CR_MATCH_ENDPOINT);
	assert_int_equal(rule(&p, "external-url")->stage, CR_STAGE_NO_EXTERNAL_ENDPOINTS);
	assert_false(rule(&p, "external-url")->secret);
	cr_policy_clear(&p);
	cJSON_Delete(j);

	j = load(FIX("demo-policy.json"));
	assert_int_equal(cr_policy_from_json(j, &p), 0);
	assert_int_equal(p.rule_count, 4);
	assert_int_equal(p.limits.per_artifact_timeout_ms, 10000);
	assert_int_equal(p.limits.match_limit, 0);
	assert_int_equal(p.limits.max_artifact_bytes, 0);
	assert_true(rule(&p, "todo-marker")->secret); /* content rule, no "secret": defaults to true */
	assert_string_equal(rule(&p, "no-test-data")->pattern, "(^|/)(tests?|fixtures|demo)/");
	cr_policy_clear(&p);
	cJSON_Delete(j);
	cr_policy_clear(NULL);
}

static void policy_defaults_and_errors(void **s)
{
	(void)s;
	static const char *const bad[] = {
		/* two matchers */
		"{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\",\"rules\":[{\"id\":\"a\","
		"\"stage\":\"DATA_PURITY\",\"severity\":\"BLOCKER\",\"description\":\"d\",\"path_pattern\":\"x\","
		"\"content_pattern\":\"y\"}]}",
		/* no matcher */
		"{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\",\"rules\":[{\"id\":\"a\","
		"\"stage\":\"DATA_PURITY\",\"severity\":\"BLOCKER\",\"description\":\"d\"}]}",
		/* endpoint rule in DATA_PURITY */
		"{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\",\"rules\":[{\"id\":\"a\","
		"\"stage\":\"DATA_PURITY\",\"severity\":\"BLOCKER\",\"description\":\"d\",\"endpoint_pattern\":\"(x)\"}]}",
		/* a stage without policy rules */
		"{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\",\"rules\":[{\"id\":\"a\","
		"\"stage\":\"MANIFEST_CONSISTENCY\",\"severity\":\"BLOCKER\",\"description\":\"d\",\"path_pattern\":\"x\"}]}",
		/* duplicate rule ids */
		"{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\",\"rules\":[{\"id\":\"a\","
		"\"stage\":\"DATA_PURITY\",\"severity\":\"BLOCKER\",\"description\":\"d\",\"path_pattern\":\"x\"},"
		"{\"id\":\"a\",\"stage\":\"DATA_PURITY\",\"severity\":\"WARNING\",\"description\":\"d\","
		"\"content_pattern\":\"x\"}]}",
		/* secret not a boolean */
		"{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\",\"rules\":[{\"id\":\"a\","
		"\"stage\":\"DATA_PURITY\",\"severity\":\"BLOCKER\",\"description\":\"d\",\"path_pattern\":\"x\","
		"\"secret\":1}]}",
		/* version 0, a limit out of range, rules missing */
		"{\"policy_id\":\"p\",\"version\":0,\"release_tag_pattern\":\"^refs/tags/\",\"rules\":[]}",
		"{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\",\"rules\":[],"
		"\"limits\":{\"per_artifact_timeout_ms\":86400001}}",
		"{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\"}",
	};
	cJSON *j = parse_text("{\"policy_id\":\"p\",\"version\":1,\"release_tag_pattern\":\"^refs/tags/\","
			      "\"rules\":[{\"id\":\"a\",\"stage\":\"DATA_PURITY\",\"severity\":\"BLOCKER\","
			      "\"description\":\"d\",\"path_pattern\":\"x\",\"secret\":true}]}");
	cr_policy p = {0};

	assert_int_equal(cr_policy_from_json(j, &p), 0);
	assert_true(p.rules[0].secret);
	assert_int_equal(p.limits.per_artifact_timeout_ms, 60000); /* no limits: the default */
	cr_policy_clear(&p);
	cJSON_Delete(j);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = parse_text(bad[i]);
		if (cr_policy_from_json(j, &p) != CR_EINVALID_INPUT)
			fail_msg("accepted: %s", bad[i]);
		assert_null(p.rules);
		assert_int_equal(p.rule_count, 0);
		cJSON_Delete(j);
	}
}

static void registry_examples(void **s)
{
	(void)s;
	cJSON *j = load(FIX("registry.json"));
	cr_registry r = {0};

	assert_int_equal(cr_registry_from_json(j, &r), 0);
	assert_string_equal(r.registry_id, "acme-internal");
	assert_int_equal(r.version, 7);
	assert_int_equal(r.source_count, 2);
	assert_string_equal(r.sources[0].id, "nexus");
	assert_string_equal(r.sources[0].prefix, "https://nexus.acme.internal/repository/");
	assert_string_equal(r.sources[1].prefix, "build:acme-ci/");
	assert_int_equal(r.host_count, 3);
	assert_string_equal(r.hosts[2], "*.svc.acme.internal");
	cr_registry_clear(&r);
	cJSON_Delete(j);

	j = load(FIX("demo-registry.json"));
	assert_int_equal(cr_registry_from_json(j, &r), 0);
	assert_int_equal(r.source_count, 1);
	assert_int_equal(r.host_count, 1);
	cr_registry_clear(&r);
	cJSON_Delete(j);

	j = parse_text("{\"registry_id\":\"r\",\"version\":1,\"allowed_sources\":[{\"id\":\"a\",\"prefix\":\"x:y\"},"
		       "{\"id\":\"a\",\"prefix\":\"x:z\"}],\"allowed_hosts\":[]}");
	assert_int_equal(cr_registry_from_json(j, &r), CR_EINVALID_INPUT);
	cJSON_Delete(j);
	j = parse_text("{\"registry_id\":\"r\",\"version\":1,\"allowed_sources\":[{\"id\":\"a\",\"prefix\":\"x:y\"}],"
		       "\"allowed_hosts\":[1]}");
	assert_int_equal(cr_registry_from_json(j, &r), CR_EINVALID_INPUT);
	assert_null(r.sources);
	cJSON_Delete(j);
	j = parse_text("{\"registry_id\":\"r\",\"version\":1,\"allowed_sources\":[],\"allowed_hosts\":[]}");
	assert_int_equal(cr_registry_from_json(j, &r), CR_EINVALID_INPUT);
	cJSON_Delete(j);
	cr_registry_clear(NULL);
}

/* ---- from_json refusals --------------------------------------------- */

/* Remove or replace KEY in a copy of FILE's example and expect a refusal
 * naming KEY; the struct is left cleared (ASan checks for leaks). */
static cJSON *without(const char *file, const char *key, cJSON *replacement)
{
	cJSON *j = load(file);

	if (replacement)
		assert_true(cJSON_ReplaceItemInObjectCaseSensitive(j, key, replacement));
	else
		cJSON_DeleteItemFromObjectCaseSensitive(j, key);
	return j;
}

static void assert_refused(int rc, const char *file, const char *key, const void *obj, size_t size)
{
	const unsigned char *bytes = obj;

	if (rc != CR_EINVALID_INPUT)
		fail_msg("%s without a valid %s: rc %d", file, key, rc);
	if (!strstr(cr_error_last()->message, key))
		fail_msg("message does not name %s: %s", key, cr_error_last()->message);
	for (size_t i = 0; i < size; i++)
		if (bytes[i])
			fail_msg("%s: struct not cleared after a refusal", file);
}

#define REFUSE(file, key, repl, from, type)                                        \
	do {                                                                        \
		cJSON *j_ = without(FIX(file), key, repl);                         \
		type o_ = {0};                                                      \
		assert_refused(from(j_, &o_), file, key, &o_, sizeof(o_));         \
		cJSON_Delete(j_);                                                   \
	} while (0)

static void refusals(void **s)
{
	(void)s;
	char longid[300];

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';

	REFUSE("candidate.json", "created_by", NULL, cr_candidate_from_json, cr_candidate);
	REFUSE("candidate.json", "created_at", cJSON_CreateNumber(1), cr_candidate_from_json, cr_candidate);
	REFUSE("candidate.json", "candidate_id", cJSON_CreateString(longid), cr_candidate_from_json, cr_candidate);
	REFUSE("candidate.json", "version", cJSON_CreateNull(), cr_candidate_from_json, cr_candidate);
	REFUSE("import.json", "artifact_count", cJSON_CreateNumber(2), cr_import_from_json, cr_import);
	REFUSE("import.json", "total_size", cJSON_CreateNumber(-1), cr_import_from_json, cr_import);
	REFUSE("import.json", "total_size", cJSON_CreateNumber(1.5), cr_import_from_json, cr_import);
	REFUSE("import.json", "total_size", cJSON_CreateNumber(1e300), cr_import_from_json, cr_import);
	REFUSE("import.json", "artifacts", cJSON_CreateString("x"), cr_import_from_json, cr_import);
	REFUSE("import.json", "artifact_root", NULL, cr_import_from_json, cr_import);
	REFUSE("manifest.json", "manifest_digest", NULL, cr_manifest_from_json, cr_manifest);
	REFUSE("manifest.json", "version", cJSON_CreateNumber(0), cr_manifest_from_json, cr_manifest);
	REFUSE("report.json", "stages", cJSON_CreateArray(), cr_report_from_json, cr_report);
	REFUSE("report.json", "violation_counts", NULL, cr_report_from_json, cr_report);
	REFUSE("report.json", "final_status", cJSON_CreateString("MAYBE"), cr_report_from_json, cr_report);
	REFUSE("approval.json", "decision", cJSON_CreateString("OK"), cr_approval_from_json, cr_approval);
	REFUSE("approval.json", "comment", NULL, cr_approval_from_json, cr_approval);
	REFUSE("violation.json", "artifact_path", NULL, cr_violation_from_json, cr_violation);
	REFUSE("violation.json", "severity", cJSON_CreateString("INFO"), cr_violation_from_json, cr_violation);
	REFUSE("violation.json", "location", cJSON_CreateString("1:1"), cr_violation_from_json, cr_violation);
	REFUSE("stage-result.json", "stage", cJSON_CreateString("LINT"), cr_stage_result_from_json,
	       cr_stage_result);
	REFUSE("audit-event.json", "outcome", cJSON_CreateString("MAYBE"), cr_audit_event_from_json,
	       cr_audit_event);
	REFUSE("audit-event.json", "details", NULL, cr_audit_event_from_json, cr_audit_event);
	REFUSE("audit-event.json", "candidate_id", NULL, cr_audit_event_from_json, cr_audit_event);
}

/* Shapes that are refused by content, not by one key. */
static void refusals_by_content(void **s)
{
	(void)s;
	cr_publication p = {0};
	cr_audit_event e = {0};
	cr_report r = {0};
	cJSON *j;

	j = load(FIX("revocation.json"));
	cJSON_DeleteItemFromObject(j, "reason");
	assert_int_equal(cr_publication_from_json(j, &p), CR_EINVALID_INPUT);
	assert_null(p.revoked_by);
	cJSON_Delete(j);

	j = load(FIX("audit-event-refused.json"));
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(j, "details"), "error");
	assert_int_equal(cr_audit_event_from_json(j, &e), CR_EINVALID_INPUT);
	assert_null(e.actor);
	cJSON_Delete(j);

	j = load(FIX("audit-event.json"));
	cJSON_AddNumberToObject(cJSON_GetObjectItem(j, "details"), "count", 3);
	assert_int_equal(cr_audit_event_from_json(j, &e), CR_EINVALID_INPUT);
	cJSON_Delete(j);

	j = load(FIX("report.json"));
	{
		cJSON *stages = cJSON_GetObjectItem(j, "stages");
		cJSON *first = cJSON_DetachItemFromArray(stages, 0);
		cJSON_AddItemToArray(stages, first); /* DATA_PURITY last */
	}
	assert_int_equal(cr_report_from_json(j, &r), CR_EINVALID_INPUT);
	cJSON_Delete(j);

	j = parse_text("[]");
	assert_int_equal(cr_candidate_from_json(j, &(cr_candidate){0}), CR_EINVALID_INPUT);
	cJSON_Delete(j);
}

/* ---- enum names ------------------------------------------------------ */

static void enum_names(void **s)
{
	(void)s;
	cr_status st;
	cr_stage sg;
	cr_final f;
	int t;

	for (int i = CR_STATUS_DRAFT; i < CR_STATUS__COUNT; i++) {
		assert_int_equal(cr_status_parse(cr_status_name((cr_status)i), &st), 0);
		assert_int_equal(st, i);
	}
	assert_string_equal(cr_status_name(CR_STATUS_CHECK_PASSED), "CHECK_PASSED");
	assert_int_not_equal(cr_status_parse("NONE", &st), 0);
	assert_null(cr_status_name(CR_STATUS__COUNT));
	assert_string_equal(cr_stage_name(CR_STAGE_DATA_PURITY), "DATA_PURITY");
	assert_int_equal(cr_stage_parse("MANIFEST_CONSISTENCY", &sg), 0);
	assert_int_equal(sg, CR_STAGE_MANIFEST_CONSISTENCY);
	assert_int_not_equal(cr_stage_parse("data_purity", &sg), 0);
	assert_string_equal(cr_severity_name(CR_SEV_BLOCKER), "BLOCKER");
	assert_string_equal(cr_stage_status_name(CR_SS_SKIPPED), "SKIPPED");
	assert_string_equal(cr_run_status_name(CR_RUN_SUCCEEDED), "SUCCEEDED");
	assert_null(cr_final_name(CR_FINAL_NONE));
	assert_string_equal(cr_final_name(CR_FINAL_BLOCKED), "BLOCKED");
	assert_int_not_equal(cr_final_parse("NONE", &f), 0);
	assert_int_equal(cr_final_parse("ERROR", &f), 0);
	assert_int_equal(f, CR_FINAL_ERROR);
	assert_string_equal(cr_task_status_name(CR_TASK_RUNNING), "RUNNING");
	assert_null(cr_task_status_name(4));
	assert_int_equal(cr_task_status_parse("FAILED", &t), 0);
	assert_int_equal(t, CR_TASK_FAILED);
	assert_int_not_equal(cr_task_status_parse(NULL, &t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ex_candidate),
		cmocka_unit_test(ex_import),
		cmocka_unit_test(ex_manifest),
		cmocka_unit_test(ex_manifest_digest),
		cmocka_unit_test(ex_report),
		cmocka_unit_test(ex_report_digest),
		cmocka_unit_test(ex_approval),
		cmocka_unit_test(ex_publication),
		cmocka_unit_test(ex_audit),
		cmocka_unit_test(ex_audit_refused_fields),
		cmocka_unit_test(ex_violation),
		cmocka_unit_test(ex_stage_result),
		cmocka_unit_test(rt_import_minimal),
		cmocka_unit_test(rt_violation_variants),
		cmocka_unit_test(rt_violation_chunk_items),
		cmocka_unit_test(direct_writers_match_canonical),
		cmocka_unit_test(rt_stage_with_error),
		cmocka_unit_test(rt_report_blocked),
		cmocka_unit_test(rt_approval_rejection),
		cmocka_unit_test(rt_publication_no_tag),
		cmocka_unit_test(rt_audit_variants),
		cmocka_unit_test(policy_examples),
		cmocka_unit_test(policy_defaults_and_errors),
		cmocka_unit_test(registry_examples),
		cmocka_unit_test(refusals),
		cmocka_unit_test(refusals_by_content),
		cmocka_unit_test(enum_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
