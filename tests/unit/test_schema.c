/* JSON Schema validation: every spec example against its schema (and the
 * OpenAPI components), invalid variants with their exact messages, keyword
 * semantics, schema loading errors, and speed on a large document. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util/embedded.h"
#include "util/error.h"
#include "util/json.h"
#include "util/schema.h"

#define FIXTURES "tests/unit/fixtures/"
#define MAX_FIXTURE (1024 * 1024)

static cJSON *read_json(const char *path)
{
	cJSON *doc = NULL;
	if (cr_json_read_file(&doc, path, MAX_FIXTURE, path))
		fail_msg("%s (run from the source tree root)", cr_error_last()->message);
	return doc;
}

static cJSON *example(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), FIXTURES "examples/%s", name);
	return read_json(path);
}

static cJSON *parse(const char *text)
{
	cJSON *doc = NULL;
	if (cr_json_parse(&doc, text, strlen(text), "inline"))
		fail_msg("%s", cr_error_last()->message);
	return doc;
}

static cr_schema *load(const char *name)
{
	cr_schema *s = NULL;
	if (cr_schema_load(&s, name))
		fail_msg("%s", cr_error_last()->message);
	return s;
}

static cr_schema *inline_schema(const char *text)
{
	cr_schema *s = NULL;
	if (cr_schema_from_json(&s, parse(text), ""))
		fail_msg("%s", cr_error_last()->message);
	return s;
}

static void expect_valid_doc(const cr_schema *s, const cJSON *doc, const char *what)
{
	if (cr_schema_validate(s, doc, what))
		fail_msg("%s", cr_error_last()->message);
}

static void expect_invalid(const cr_schema *s, const cJSON *doc, const char *what,
			   const char *msg)
{
	assert_int_equal(cr_schema_validate(s, doc, what), CR_EINVALID_INPUT);
	if (strcmp(cr_error_last()->message, msg))
		fail_msg("got  \"%s\"\nwant \"%s\"", cr_error_last()->message, msg);
}

/* SCHEMA validates TEXT (inline) or not, with message MSG (prefix "t"). */
static void check_inline(const cr_schema *s, const char *text, const char *msg)
{
	cJSON *doc = parse(text);
	if (msg)
		expect_invalid(s, doc, "t", msg);
	else
		expect_valid_doc(s, doc, "t");
	cJSON_Delete(doc);
}

static const struct {
	const char *example, *schema, *component;
} examples[] = {
	{"approval.json", "approval.schema.json", "Approval"},
	{"artifacts.json", "artifacts.schema.json", "ArtifactsInput"},
	{"audit-event.json", "audit-event.schema.json", "AuditEvent"},
	{"audit-event-refused.json", "audit-event.schema.json", "AuditEvent"},
	{"candidate.json", "candidate.schema.json", NULL}, /* the API's Candidate adds status */
	{"demo-policy.json", "policy.schema.json", "Policy"},
	{"demo-registry.json", "registry.schema.json", "Registry"},
	{"import.json", "import.schema.json", "Import"},
	{"manifest.json", "manifest.schema.json", "Manifest"},
	{"policy.json", "policy.schema.json", "Policy"},
	{"publication.json", "publication.schema.json", "Publication"},
	{"registry.json", "registry.schema.json", "Registry"},
	{"report.json", "report.schema.json", "Report"},
	{"revocation.json", "publication.schema.json", "Revocation"},
	{"run-event-requested.json", "run-event.schema.json", NULL},
	{"run-event-started.json", "run-event.schema.json", NULL},
	{"run-event-stage-completed.json", "run-event.schema.json", NULL},
	{"run-event-finished.json", "run-event.schema.json", NULL},
	{"stage-result.json", "stage-result.schema.json", "StageResult"},
	{"violation.json", "violation.schema.json", "Violation"},
	{"violation-chunk.json", "violation-chunk.schema.json", NULL},
};

static void test_examples_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		cr_schema *s = load(examples[i].schema);
		cJSON *doc = example(examples[i].example);
		expect_valid_doc(s, doc, examples[i].example);
		cJSON_Delete(doc);
		cr_schema_free(s);
	}
}

/* Every embedded schema loads (patterns compile, refs resolve), and the
 * embedded demo documents are valid. */
static void test_embedded(void **state)
{
	(void)state;
	size_t schemas = 0;
	for (const struct cr_embedded_file *f = cr_embedded; f->name; f++) {
		if (!strstr(f->name, ".schema.json"))
			continue;
		cr_schema_free(load(f->name));
		schemas++;
	}
	assert_true(schemas >= 14);
	const char *demo[][2] = {{"demo-policy.json", "policy.schema.json"},
				 {"demo-registry.json", "registry.schema.json"}};
	for (size_t i = 0; i < 2; i++) {
		const struct cr_embedded_file *f = cr_embedded_find(demo[i][0]);
		cJSON *doc = NULL;
		assert_non_null(f);
		assert_int_equal(cr_json_parse(&doc, f->data, f->size, f->name), 0);
		cr_schema *s = load(demo[i][1]);
		expect_valid_doc(s, doc, f->name);
		cr_schema_free(s);
		cJSON_Delete(doc);
	}
	cr_schema *s = NULL;
	assert_int_equal(cr_schema_load(&s, "nope.schema.json"), CR_EINTERNAL);
	assert_null(s);
}

/* The OpenAPI components (YAML converted to JSON once, into the fixture)
 * accept the same stored objects, with $refs to #/components/schemas/... */
static void test_openapi_components(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char root[128];
		if (!examples[i].component)
			continue;
		snprintf(root, sizeof(root), "#/components/schemas/%s", examples[i].component);
		cr_schema *s = NULL;
		if (cr_schema_from_json(&s, read_json(FIXTURES "openapi-components.json"), root))
			fail_msg("%s", cr_error_last()->message);
		cJSON *doc = example(examples[i].example);
		expect_valid_doc(s, doc, examples[i].example);
		cJSON_Delete(doc);
		cr_schema_free(s);
	}
	/* maxProperties: 0 */
	cr_schema *s = NULL;
	assert_int_equal(cr_schema_from_json(&s, read_json(FIXTURES "openapi-components.json"),
					     "#/components/schemas/BuildManifestRequest"),
			 0);
	check_inline(s, "{}", NULL);
	check_inline(s, "{\"x\":1}", "t: (document): unknown field \"x\"");
	cr_schema_free(s);
}

/* Parse example NAME, let MUTATE change it, expect MSG. */
static void expect_variant(const char *schema, const char *name, void (*mutate)(cJSON *),
			   const char *msg)
{
	cr_schema *s = load(schema);
	cJSON *doc = example(name);
	mutate(doc);
	expect_invalid(s, doc, name, msg);
	cJSON_Delete(doc);
	cr_schema_free(s);
}

static cJSON *artifact(cJSON *doc, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "artifacts"), i);
}

static cJSON *rule(cJSON *doc, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "rules"), i);
}

static void m_unknown_field(cJSON *d)
{
	cJSON_AddStringToObject(artifact(d, 0), "sha", "x");
}
static void m_wrong_type(cJSON *d)
{
	cJSON_ReplaceItemInObject(artifact(d, 2), "size", cJSON_CreateString("16384"));
}
static void m_fraction(cJSON *d)
{
	cJSON_ReplaceItemInObject(artifact(d, 2), "size", cJSON_CreateNumber(1.5));
}
static void m_negative(cJSON *d)
{
	cJSON_ReplaceItemInObject(artifact(d, 2), "size", cJSON_CreateNumber(-1));
}
static void m_missing_path(cJSON *d)
{
	cJSON_DeleteItemFromObject(artifact(d, 1), "path");
}
static void m_bad_path(cJSON *d)
{
	cJSON_ReplaceItemInObject(artifact(d, 1), "path", cJSON_CreateString("dist/../etc"));
}
static void m_no_artifacts(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "artifacts", cJSON_CreateArray());
}
static void m_root_array(cJSON *d)
{
	cJSON_DeleteItemFromObject(d, "artifacts");
	cJSON_AddItemToObject(d, "artifacts", cJSON_CreateObject());
}
static void m_candidate_slash(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "candidate_id", cJSON_CreateString("2026/rc1"));
}
static void m_two_matchers(cJSON *d)
{
	cJSON_AddStringToObject(rule(d, 0), "content_pattern", "secret");
}
static void m_no_matcher(cJSON *d)
{
	cJSON_DeleteItemFromObject(rule(d, 0), "path_pattern");
}
static void m_endpoint_stage(cJSON *d)
{
	cJSON_ReplaceItemInObject(rule(d, 11), "stage", cJSON_CreateString("DATA_PURITY"));
}
static void m_timeout(cJSON *d)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "limits"), "per_artifact_timeout_ms",
				  cJSON_CreateNumber(86400001));
}
static void m_version_zero(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "version", cJSON_CreateNumber(0));
}
static void m_tag_pattern(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "release_tag_pattern", cJSON_CreateString("^v[0-9]+$"));
}
static void m_error_but_passed(cJSON *d)
{
	cJSON_AddStringToObject(d, "error", "worker crashed on dist/app.js");
}
static void m_error_status_no_error(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "status", cJSON_CreateString("ERROR"));
}
static void m_decision(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "decision", cJSON_CreateString("MAYBE"));
}
static void m_empty_actor(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "actor", cJSON_CreateString(""));
}

/* A string of N copies of the UTF-8 character C. */
static cJSON *repeat(const char *c, size_t n)
{
	size_t len = strlen(c);
	char *buf = malloc(n * len + 1);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * len, c, len);
	buf[n * len] = '\0';
	cJSON *s = cJSON_CreateString(buf);
	free(buf);
	return s;
}
static void m_comment_4097(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "comment", repeat("\xc3\xa9", 4097));
}
static void m_actor_257(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "actor", repeat("a", 257));
}
static void m_artifact_path_number(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "artifact_path", cJSON_CreateNumber(5));
}
static void m_artifact_path_absolute(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "artifact_path", cJSON_CreateString("/etc/passwd"));
}
static void m_location_column(cJSON *d)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "location"), "column",
				  cJSON_CreateNumber(0));
}
static void m_refused_without_error(cJSON *d)
{
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(d, "details"), "error");
}
static void m_refused_bad_code(cJSON *d)
{
	cJSON *err = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "details"), "error");
	cJSON_ReplaceItemInObject(err, "code", cJSON_CreateString("OOPS"));
}
static void m_candidate_number(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "candidate_id", cJSON_CreateNumber(7));
}
static void m_revocation_no_reason(cJSON *d)
{
	cJSON_DeleteItemFromObject(d, "reason");
}
static void m_publication_bad_channel(cJSON *d)
{
	cJSON_ReplaceItemInObject(d, "channel", cJSON_CreateString("Prod"));
}
static void m_five_stages(cJSON *d)
{
	cJSON *stages = cJSON_GetObjectItem(d, "stages");
	cJSON_AddItemToArray(stages, cJSON_Duplicate(cJSON_GetArrayItem(stages, 0), 1));
}
static void m_stage_order(cJSON *d)
{
	cJSON *s1 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "stages"), 1);
	cJSON_ReplaceItemInObject(s1, "stage", cJSON_CreateString("DATA_PURITY"));
}
static void m_duplicate_host(cJSON *d)
{
	cJSON_AddItemToArray(cJSON_GetObjectItem(d, "allowed_hosts"),
			     cJSON_CreateString("sso.acme.internal"));
}

static void test_invalid_variants(void **state)
{
	(void)state;
	expect_variant("artifacts.schema.json", "artifacts.json", m_unknown_field,
		       "artifacts.json: artifacts[0]: unknown field \"sha\"");
	expect_variant("artifacts.schema.json", "artifacts.json", m_wrong_type,
		       "artifacts.json: artifacts[2].size: expected integer, got string");
	expect_variant("artifacts.schema.json", "artifacts.json", m_fraction,
		       "artifacts.json: artifacts[2].size: expected integer, got number");
	expect_variant("artifacts.schema.json", "artifacts.json", m_negative,
		       "artifacts.json: artifacts[2].size: must be >= 0");
	expect_variant("artifacts.schema.json", "artifacts.json", m_missing_path,
		       "artifacts.json: artifacts[1]: missing required field \"path\"");
	expect_variant("artifacts.schema.json", "artifacts.json", m_bad_path,
		       "artifacts.json: artifacts[1].path: does not match pattern "
		       "^(?!/)(?![^\\x00]*//)(?![^\\x00]*/$)(?!(?:[^\\x00]*/)?\\.{1,2}(?...");
	expect_variant("artifacts.schema.json", "artifacts.json", m_no_artifacts,
		       "artifacts.json: artifacts: must have at least 1 item");
	expect_variant("artifacts.schema.json", "artifacts.json", m_root_array,
		       "artifacts.json: artifacts: expected array, got object");
	expect_variant("candidate.schema.json", "candidate.json", m_candidate_slash,
		       "candidate.json: candidate_id: does not match pattern "
		       "^(?!.*\\.\\.)(?!.*\\.lock$)(?!.*\\.$)[A-Za-z0-9][A-Za-z0-9._-]{0...");
	expect_variant("policy.schema.json", "policy.json", m_two_matchers,
		       "policy.json: rules[0]: matches more than one alternative of oneOf (#1 and #2)");
	expect_variant("policy.schema.json", "policy.json", m_no_matcher,
		       "policy.json: rules[0]: missing required field \"path_pattern\"");
	expect_variant("policy.schema.json", "policy.json", m_endpoint_stage,
		       "policy.json: rules[11].stage: must be \"NO_EXTERNAL_ENDPOINTS\"");
	expect_variant("policy.schema.json", "policy.json", m_timeout,
		       "policy.json: limits.per_artifact_timeout_ms: must be <= 86400000");
	expect_variant("policy.schema.json", "policy.json", m_version_zero,
		       "policy.json: version: must be >= 1");
	expect_variant("policy.schema.json", "policy.json", m_tag_pattern,
		       "policy.json: release_tag_pattern: does not match pattern ^\\^refs/tags/");
	expect_variant("stage-result.schema.json", "stage-result.json", m_error_but_passed,
		       "stage-result.json: status: must be one of [\"ERROR\",\"SKIPPED\"]");
	expect_variant("stage-result.schema.json", "stage-result.json", m_error_status_no_error,
		       "stage-result.json: status: must be one of [\"PASSED\",\"FAILED\"]");
	expect_variant("approval.schema.json", "approval.json", m_decision,
		       "approval.json: decision: must be one of [\"APPROVED\",\"REJECTED\"]");
	expect_variant("approval.schema.json", "approval.json", m_empty_actor,
		       "approval.json: actor: must be at least 1 character long (is 0)");
	/* maxLength counts code points: 4097 "é" is 8194 bytes. */
	expect_variant("approval.schema.json", "approval.json", m_comment_4097,
		       "approval.json: comment: must be at most 4096 characters long (is 4097)");
	expect_variant("approval.schema.json", "approval.json", m_actor_257,
		       "approval.json: actor: must be at most 256 characters long (is 257)");
	/* anyOf [ArtifactPath, null]: the type errors merge; a pattern error wins. */
	expect_variant("violation.schema.json", "violation.json", m_artifact_path_number,
		       "violation.json: artifact_path: expected string or null, got number");
	expect_variant("violation.schema.json", "violation.json", m_artifact_path_absolute,
		       "violation.json: artifact_path: does not match pattern "
		       "^(?!/)(?![^\\x00]*//)(?![^\\x00]*/$)(?!(?:[^\\x00]*/)?\\.{1,2}(?...");
	expect_variant("violation.schema.json", "violation.json", m_location_column,
		       "violation.json: location.column: must be >= 1");
	expect_variant("audit-event.schema.json", "audit-event-refused.json",
		       m_refused_without_error,
		       "audit-event-refused.json: details: missing required field \"error\"");
	expect_variant("audit-event.schema.json", "audit-event-refused.json", m_refused_bad_code,
		       "audit-event-refused.json: details.error.code: must be one of "
		       "[\"INVALID_ARGUMENT\",\"INVALID_INPUT\",\"POLICY_MISSING\",\"INVALID_TRANSITION\","
		       "\"GATE_REFUSED\",\"NOT_FOUND\",\"CONFLICT\",\"INTEGRI...");
	expect_variant("audit-event.schema.json", "audit-event.json", m_candidate_number,
		       "audit-event.json: candidate_id: expected string or null, got number");
	/* oneOf [Publication, Revocation]: the branch that got furthest speaks. */
	expect_variant("publication.schema.json", "revocation.json", m_revocation_no_reason,
		       "revocation.json: (document): missing required field \"reason\"");
	expect_variant("publication.schema.json", "publication.json", m_publication_bad_channel,
		       "publication.json: channel: does not match pattern ^[a-z][a-z0-9-]{0,31}$");
	/* prefixItems + items: false + maxItems */
	expect_variant("report.schema.json", "report.json", m_five_stages,
		       "report.json: stages: must have at most 4 items (has 5)");
	expect_variant("report.schema.json", "report.json", m_stage_order,
		       "report.json: stages[1].stage: must be \"INTERNAL_SOURCES_ONLY\"");
	expect_variant("registry.schema.json", "registry.json", m_duplicate_host,
		       "registry.json: allowed_hosts: items 1 and 3 are equal");
}

static void test_keywords(void **state)
{
	(void)state;
	cr_schema *s;

	/* `$` is the end of the string only; patterns search unless anchored. */
	s = inline_schema("{\"type\":\"string\",\"pattern\":\"^a+$\"}");
	check_inline(s, "\"aaa\"", NULL);
	check_inline(s, "\"aaa\\n\"", "t: (document): does not match pattern ^a+$");
	cr_schema_free(s);
	s = inline_schema("{\"pattern\":\"b\\\\u0041\"}"); /* ECMA \\uXXXX escape */
	check_inline(s, "\"xxbAyy\"", NULL);
	check_inline(s, "\"xxbayy\"", "t: (document): does not match pattern b\\u0041");
	check_inline(s, "42", NULL); /* pattern applies to strings only */
	cr_schema_free(s);
	s = inline_schema("{\"pattern\":\"^a[^]b$\"}"); /* ECMA [^]: any character */
	check_inline(s, "\"a\\nb\"", NULL);
	check_inline(s, "\"ab\"", "t: (document): does not match pattern ^a[^]b$");
	cr_schema_free(s);
	s = inline_schema("{\"pattern\":\"^.{3}$\"}"); /* UTF mode: . is a character */
	check_inline(s, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", NULL);
	cr_schema_free(s);

	/* Lengths are code points. */
	s = inline_schema("{\"minLength\":2,\"maxLength\":3}");
	check_inline(s, "\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"", NULL);
	check_inline(s, "\"\xf0\x9f\x98\x80\"", "t: (document): must be at least 2 characters long (is 1)");
	cr_schema_free(s);

	/* integer vs number, type arrays, bounds. */
	s = inline_schema("{\"type\":[\"integer\",\"null\"],\"minimum\":-2,\"exclusiveMaximum\":10,"
			  "\"multipleOf\":2}");
	check_inline(s, "null", NULL);
	check_inline(s, "4.0", NULL);
	check_inline(s, "-2", NULL);
	check_inline(s, "4.5", "t: (document): expected integer or null, got number");
	check_inline(s, "\"4\"", "t: (document): expected integer or null, got string");
	check_inline(s, "-4", "t: (document): must be >= -2");
	check_inline(s, "10", "t: (document): must be < 10");
	check_inline(s, "3", "t: (document): must be a multiple of 2");
	cr_schema_free(s);

	/* const and enum compare deeply. */
	s = inline_schema("{\"const\":{\"a\":[1,{\"b\":null}]}}");
	check_inline(s, "{\"a\":[1.0,{\"b\":null}]}", NULL);
	check_inline(s, "{\"a\":[1,{\"b\":false}]}", "t: (document): must be {\"a\":[1,{\"b\":null}]}");
	cr_schema_free(s);
	s = inline_schema("{\"enum\":[1,\"1\",[true]]}");
	check_inline(s, "[true]", NULL);
	check_inline(s, "\"1\"", NULL);
	check_inline(s, "true", "t: (document): must be one of [1,\"1\",[true]]");
	cr_schema_free(s);

	/* Objects: additionalProperties as a schema, min/maxProperties, odd keys. */
	s = inline_schema("{\"properties\":{\"a.b\":{\"type\":\"object\",\"properties\":"
			  "{\"c\":{\"type\":\"string\"}}}},\"additionalProperties\":{\"type\":"
			  "\"integer\"},\"minProperties\":1,\"maxProperties\":2}");
	check_inline(s, "{\"x\":1}", NULL);
	check_inline(s, "{\"x\":\"1\"}", "t: x: expected integer, got string");
	check_inline(s, "{\"a.b\":{\"c\":1}}", "t: [\"a.b\"].c: expected string, got number");
	check_inline(s, "{}", "t: (document): must have at least 1 field");
	check_inline(s, "{\"x\":1,\"y\":2,\"z\":3}", "t: (document): must have at most 2 fields");
	check_inline(s, "[]", NULL); /* object keywords ignore other types */
	cr_schema_free(s);

	/* Arrays: prefixItems + items false, uniqueItems on mixed values. */
	s = inline_schema("{\"prefixItems\":[{\"type\":\"integer\"},{\"type\":\"string\"}],"
			  "\"items\":false,\"uniqueItems\":true}");
	check_inline(s, "[1,\"a\"]", NULL);
	check_inline(s, "[1]", NULL);
	check_inline(s, "[1,2]", "t: [1]: expected string, got number");
	check_inline(s, "[1,\"a\",null]", "t: [2]: unexpected item (at most 2 allowed)");
	cr_schema_free(s);
	s = inline_schema("{\"uniqueItems\":true}");
	check_inline(s, "[{\"a\":1},{\"a\":2},[1]]", NULL);
	check_inline(s, "[{\"a\":1,\"b\":2},3,{\"b\":2,\"a\":1}]", "t: (document): items 0 and 2 are equal");
	cr_schema_free(s);

	/* not, allOf, anyOf, oneOf, if/then/else, boolean schemas. */
	s = inline_schema("{\"not\":{\"type\":\"string\"}}");
	check_inline(s, "1", NULL);
	check_inline(s, "\"x\"", "t: (document): must not match the schema of \"not\"");
	cr_schema_free(s);
	s = inline_schema("{\"oneOf\":[{\"minimum\":5},{\"maximum\":10}]}");
	check_inline(s, "3", NULL);
	check_inline(s, "11", NULL);
	check_inline(s, "7", "t: (document): matches more than one alternative of oneOf (#1 and #2)");
	cr_schema_free(s);
	s = inline_schema("{\"if\":{\"properties\":{\"k\":{\"const\":\"a\"}}},"
			  "\"then\":{\"required\":[\"a\"]},\"else\":{\"required\":[\"b\"]}}");
	check_inline(s, "{\"k\":\"a\",\"a\":1}", NULL);
	check_inline(s, "{\"k\":\"x\",\"b\":1}", NULL);
	check_inline(s, "{\"k\":\"a\",\"b\":1}", "t: (document): missing required field \"a\"");
	check_inline(s, "{\"k\":\"x\",\"a\":1}", "t: (document): missing required field \"b\"");
	cr_schema_free(s);
	s = inline_schema("{\"properties\":{\"no\":false,\"yes\":true}}");
	check_inline(s, "{\"yes\":[1]}", NULL);
	check_inline(s, "{\"no\":1}", "t: no: not allowed here");
	cr_schema_free(s);
	s = inline_schema("false");
	check_inline(s, "{}", "t: (document): not allowed here");
	cr_schema_free(s);

	/* A recursive schema through $ref, and annotations ignored. */
	s = inline_schema("{\"$ref\":\"#/$defs/Tree\",\"$defs\":{\"Tree\":{\"type\":\"object\","
			  "\"description\":\"d\",\"format\":\"x\",\"x-extra\":1,\"properties\":"
			  "{\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/Tree\"}}}}}}");
	check_inline(s, "{\"kids\":[{\"kids\":[]},{\"kids\":[{}]}]}", NULL);
	check_inline(s, "{\"kids\":[{\"kids\":[]},{\"kids\":[7]}]}",
		     "t: kids[1].kids[0]: expected object, got number");
	cr_schema_free(s);
}

static void expect_bad_schema(const char *text, const char *root, const char *msg)
{
	cr_schema *s = (cr_schema *)&s;
	assert_int_equal(cr_schema_from_json(&s, parse(text), root), CR_EINVALID_INPUT);
	assert_null(s);
	if (strcmp(cr_error_last()->message, msg))
		fail_msg("got  \"%s\"\nwant \"%s\"", cr_error_last()->message, msg);
}

static void test_schema_errors(void **state)
{
	(void)state;
	expect_bad_schema("{\"properties\":{\"a\":{\"pattern\":\"(\"}}}", "",
			  "schema #/properties/a: pattern does not compile at offset 1: "
			  "missing closing parenthesis");
	expect_bad_schema("{\"$ref\":\"#/$defs/Nope\"}", "",
			  "schema #: cannot resolve $ref \"#/$defs/Nope\"");
	expect_bad_schema("{\"$ref\":\"other.json#/x\"}", "",
			  "schema #: cannot resolve $ref \"other.json#/x\"");
	expect_bad_schema("{\"patternProperties\":{}}", "",
			  "schema #: keyword \"patternProperties\" is not supported");
	expect_bad_schema("{\"type\":\"int\"}", "", "schema #: unknown type \"int\"");
	expect_bad_schema("{\"minLength\":-1}", "",
			  "schema #: \"minLength\" must be a non-negative integer");
	expect_bad_schema("{\"items\":3}", "",
			  "schema #/items: a schema must be an object or a boolean");
	expect_bad_schema("{\"$defs\":{\"Broken\":{\"pattern\":\"[\"}}}", "",
			  "schema #/$defs/Broken: pattern does not compile at offset 1: "
			  "missing terminating ] for character class");
	expect_bad_schema("{\"components\":{}}", "#/components/schemas/X",
			  "schema: no schema at \"#/components/schemas/X\"");
	/* JSON pointer escapes: ~1 is '/', ~0 is '~'. */
	cr_schema *s = NULL;
	assert_int_equal(cr_schema_from_json(&s, parse("{\"$defs\":{\"a/b~c\":{\"type\":\"null\"}},"
						       "\"$ref\":\"#/$defs/a~1b~0c\"}"),
					     ""),
			 0);
	check_inline(s, "null", NULL);
	check_inline(s, "1", "t: (document): expected null, got number");
	cr_schema_free(s);
	/* A $ref cycle that never consumes the instance is caught, not a crash. */
	s = inline_schema("{\"$defs\":{\"A\":{\"$ref\":\"#/$defs/B\"},\"B\":{\"$ref\":\"#/$defs/A\"}},"
			  "\"$ref\":\"#/$defs/A\"}");
	check_inline(s, "1", "t: (document): schema nests deeper than 1024 levels (a $ref cycle?)");
	cr_schema_free(s);
	cr_schema_free(NULL);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_speed(void **state)
{
	(void)state;
	const int n = 15000;
	cJSON *doc = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(doc, "artifacts");
	cJSON_AddStringToObject(doc, "artifact_root", "/srv/build/out");
	for (int i = 0; i < n; i++) {
		char path[96];
		cJSON *a = cJSON_CreateObject();
		snprintf(path, sizeof(path), "dist/module-%d/lib/component-%d/file-%d.js", i % 97,
			 i % 13, i);
		cJSON_AddStringToObject(a, "path", path);
		cJSON_AddStringToObject(a, "sha256", "a1f259d4365ed4320c377ce26f5c8c56dcdc9a89e7b641bfd8eabfbbeac86654");
		cJSON_AddNumberToObject(a, "size", 1000 + i);
		cJSON_AddStringToObject(a, "source", "https://nexus.acme.internal/repository/npm-releases/acme-app/-/acme-app-1.2.0.tgz");
		cJSON_AddStringToObject(a, "kind", "script");
		cJSON_AddStringToObject(a, "media_type", "text/javascript; charset=utf-8");
		cJSON_AddItemToArray(arr, a);
	}
	cr_schema *s = load("artifacts.schema.json");
	double t0 = now_ms();
	expect_valid_doc(s, doc, "big.json");
	double ms = now_ms() - t0;
	print_message("validated %d artifacts in %.1f ms\n", n, ms);
#if defined(__SANITIZE_ADDRESS__)
	assert_true(ms < 5000);
#else
	assert_true(ms < 250); /* typically a few tens of ms */
#endif
	/* The last artifact broken: the location says which. */
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(arr, n - 1), "sha256", cJSON_CreateString("ABC"));
	expect_invalid(s, doc, "big.json",
		       "big.json: artifacts[14999].sha256: does not match pattern ^[0-9a-f]{64}$");
	cr_schema_free(s);
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_valid),
		cmocka_unit_test(test_embedded),
		cmocka_unit_test(test_openapi_components),
		cmocka_unit_test(test_invalid_variants),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_schema_errors),
		cmocka_unit_test(test_speed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
