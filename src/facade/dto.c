/* Encoders of the OpenAPI bodies that are not stored objects (facade/dto.h). */
#include <stdlib.h>
#include <string.h>
#include "adapters/tasks/task_json.h"
#include "domain/codec_fields.h"
#include "facade/dto.h"
#include "util/error.h"
#include "util/json.h"

/* The stored candidate's fields first, then the derived ones. */
cJSON *cr_candidate_view_to_json(const cr_candidate_view *v)
{
	cJSON *o = cr_candidate_to_json(&v->c);
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "status", cr_status_name(v->status));
		ok &= put_id_or_null(o, "latest_import_id", v->latest_import_id);
		ok &= put_id_or_null(o, "latest_manifest_id", v->latest_manifest_id);
		ok &= put_id_or_null(o, "latest_run_id", v->latest_run_id);
		ok &= put_id_or_null(o, "latest_report_id", v->latest_report_id);
	}
	return done(o, ok, "candidate view");
}

cJSON *cr_manifest_summary_to_json(const cr_manifest *m)
{
	return cr_manifest_head_to_json(m);
}

cJSON *cr_manifest_list_to_json(const char *candidate_id, const cr_manifest *m, size_t n)
{
	cJSON *o = cJSON_CreateObject(), *arr = NULL;
	bool ok = o && put_str(o, "candidate_id", candidate_id) && (arr = cJSON_AddArrayToObject(o, "manifests"));

	for (size_t i = 0; ok && i < n; i++) {
		cJSON *one = cr_manifest_summary_to_json(&m[i]);
		ok = one && cJSON_AddItemToArray(arr, one);
		if (!ok)
			cJSON_Delete(one);
	}
	return done(o, ok, "manifest list");
}

cJSON *cr_run_accepted_to_json(const cr_run *r)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "run_id", r->run_id);
		ok &= put_str(o, "task_id", r->task_id);
		ok &= put_str(o, "status", cr_run_status_name(r->status));
	}
	return done(o, ok, "accepted run");
}

cJSON *cr_policy_view_to_json(const cr_policy_view *v)
{
	cJSON *o = cJSON_CreateObject(), *policy = NULL, *registry = NULL;
	bool ok = o != NULL;

	if (ok && (cr_json_parse(&policy, v->policy_json, strlen(v->policy_json), "stored policy") < 0 ||
		   cr_json_parse(&registry, v->registry_json, strlen(v->registry_json), "stored registry") < 0)) {
		cJSON_Delete(policy);
		cJSON_Delete(o);
		return NULL; /* the parse's error stands */
	}
	if (ok) {
		ok &= put_str(o, "namespace", v->ns);
		ok &= put_item(o, "policy_snapshot", cr_snapshot_to_json(&v->policy, false));
		ok &= put_item(o, "registry_snapshot", cr_snapshot_to_json(&v->registry, true));
	}
	ok &= put_item(o, "policy", policy);
	ok &= put_item(o, "registry", registry);
	return done(o, ok, "policy view");
}

cJSON *cr_run_to_json(const cr_run *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *progress = cJSON_CreateObject();
	bool ok = o && progress;

	if (!ok) {
		cJSON_Delete(progress);
		return done(o, false, "run");
	}
	ok &= put_str(o, "run_id", r->run_id);
	ok &= cr_run_put_request(o, r);
	ok &= put_str(o, "requested_at", r->requested_at);
	ok &= put_id_or_null(o, "started_at", r->started_at);
	ok &= put_id_or_null(o, "finished_at", r->finished_at);
	ok &= put_str(o, "status", cr_run_status_name(r->status));
	ok &= put_nullable(o, "final_status", cr_final_name(r->final_status));
	ok &= put_u64(progress, "artifacts_done", r->progress.done);
	ok &= put_u64(progress, "artifacts_total", r->progress.total);
	ok &= put_item(o, "progress", progress);
	ok &= put_id_or_null(o, "report_id", r->report_id);
	ok &= put_nullable(o, "reason", r->reason);
	return done(o, ok, "run");
}

cJSON *cr_run_stages_to_json(const cr_run *r)
{
	cJSON *o = cJSON_CreateObject(), *arr = NULL;
	bool ok = o && put_str(o, "run_id", r->run_id) && (arr = cJSON_AddArrayToObject(o, "stages"));

	for (size_t i = 0; ok && i < r->stage_count && i < CR_STAGE__COUNT; i++) {
		ok = put_elem(arr, cr_stage_result_to_json(&r->stages[i]));
	}
	return done(o, ok, "stage list");
}

cJSON *cr_task_dto_to_json(const cr_task *t)
{
	return cr_task_to_json(t);
}

/* ---- list envelopes ------------------------------------------------ */

/* {KEY: [TO_JSON(ITEMS[i]) for i < N], "next_cursor": NEXT or null}, with
 * "run_id" first when RUN_ID is given. ITEMS are N elements of SIZE bytes. */
static cJSON *list_envelope(const char *key, const void *items, size_t n, size_t size,
			    cJSON *(*to_json)(const void *), const char *next, const char *run_id)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	bool ok = o && arr;

	if (!ok) {
		cJSON_Delete(arr);
		return done(o, false, key);
	}
	if (run_id)
		ok &= put_str(o, "run_id", run_id);
	for (size_t i = 0; ok && i < n; i++) {
		cJSON *item = to_json((const char *)items + i * size);
		if (!item) {
			cJSON_Delete(arr);
			cJSON_Delete(o);
			return NULL; /* the item's encoder said why */
		}
		if (!cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			ok = false;
		}
	}
	ok &= put_item(o, key, arr);
	ok &= put_nullable(o, "next_cursor", next && *next ? next : NULL);
	return done(o, ok, key);
}

static cJSON *candidate_item(const void *p) { return cr_candidate_view_to_json(p); }
static cJSON *audit_item(const void *p) { return cr_audit_event_to_json(p); }
static cJSON *violation_item(const void *p) { return cr_violation_to_json(p); }

cJSON *cr_candidate_list_to_json(const cr_candidate_view *v, size_t n, const char *next)
{
	return list_envelope("candidates", v, n, sizeof(*v), candidate_item, next, NULL);
}

cJSON *cr_audit_log_to_json(const cr_audit_event *e, size_t n, const char *next)
{
	return list_envelope("events", e, n, sizeof(*e), audit_item, next, NULL);
}

cJSON *cr_violation_list_to_json(const char *run_id, const cr_violation *v, size_t n, const char *next)
{
	return list_envelope("violations", v, n, sizeof(*v), violation_item, next, run_id);
}

/* ---- errors --------------------------------------------------------- */

/* ALLOWED_CSV is cr_lifecycle_allowed()'s output: ", "-separated names, or
 * "none" for an empty list. */
static bool put_allowed(cJSON *details, const char *csv)
{
	cJSON *arr = cJSON_CreateArray();
	bool ok = arr != NULL;
	const char *p = csv ? csv : "";

	if (!arr)
		return false;
	if (!strcmp(p, "none"))
		p = "";
	while (ok && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && p[len - 1] == ' ')
			len--;
		if (len) {
			cJSON *s;
			char *name = strndup(p, len);
			s = name ? cJSON_CreateString(name) : NULL;
			free(name);
			ok = s && cJSON_AddItemToArray(arr, s);
			if (s && !ok)
				cJSON_Delete(s);
		}
		if (!end)
			break;
		p = end + 1;
		while (*p == ' ')
			p++;
	}
	if (!ok) {
		cJSON_Delete(arr);
		return false;
	}
	return put_item(details, "allowed", arr);
}

cJSON *cr_error_to_json(int code, const char *message, const char *status, const char *allowed_csv)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *err = cJSON_CreateObject();
	bool ok = o && err;

	if (!ok) {
		cJSON_Delete(err);
		return done(o, false, "error");
	}
	ok &= put_str(err, "code", cr_error_name(code));
	/* message is minLength 1: an empty one still says what failed. */
	ok &= put_str(err, "message", message && *message ? message : cr_error_name(code));
	if (status && *status) {
		cJSON *details = cJSON_CreateObject();
		bool dok = details != NULL;
		if (details) {
			dok &= put_str(details, "status", status);
			dok &= put_allowed(details, allowed_csv);
		}
		if (!dok) {
			cJSON_Delete(details);
			details = NULL;
		}
		ok &= put_item(err, "details", details);
	}
	ok &= put_item(o, "error", err);
	return done(o, ok, "error");
}
