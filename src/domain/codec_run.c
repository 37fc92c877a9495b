#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/codec_fields.h"
#include "domain/run_event.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"

/* ---- policy / registry snapshots ------------------------------------ */

static const char *const snapshot_keys[2][3] = {
	{"policy_id", "policy_version", "policy_digest"},
	{"registry_id", "registry_version", "registry_digest"},
};

cJSON *cr_snapshot_to_json(const cr_snapshot *s, bool registry)
{
	const char *const *k = snapshot_keys[registry ? 1 : 0];
	cJSON *o = cJSON_CreateObject();
	cJSON *from = cJSON_CreateObject();
	bool ok = o && from;

	if (ok) {
		ok &= put_str(o, k[0], s->id);
		ok &= put_i64(o, k[1], s->version);
		ok &= put_str(o, k[2], s->digest);
		ok &= put_str(from, "ref", s->ref);
		ok &= put_str(from, "commit", s->commit);
		ok &= put_item(o, "resolved_from", from);
	} else {
		cJSON_Delete(from);
	}
	return done(o, ok, registry ? "registry snapshot" : "policy snapshot");
}

int cr_snapshot_from_json(const cJSON *j, bool registry, cr_snapshot *s)
{
	const char *const *k = snapshot_keys[registry ? 1 : 0];
	const char *what = registry ? "registry_snapshot" : "policy_snapshot";
	const cJSON *from;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, k[0], true, false, s->id, sizeof(s->id)));
	TRY(get_int(j, what, k[1], true, 1, MAX_SAFE_INT, &s->version, NULL));
	TRY(get_fixed(j, what, k[2], true, false, s->digest, sizeof(s->digest)));
	TRY(get_obj(j, what, "resolved_from", true, &from));
	TRY(get_fixed(from, what, "ref", true, false, s->ref, sizeof(s->ref)));
	TRY(get_fixed(from, what, "commit", true, false, s->commit, sizeof(s->commit)));
	return 0;
cleanup:
	memset(s, 0, sizeof(*s));
	return rc;
}

/* ---- stage results -------------------------------------------------- */

static bool put_stage_common(cJSON *o, const cr_stage_result *s, bool full)
{
	bool ok = true;

	if (full)
		ok &= put_str(o, "run_id", s->run_id);
	ok &= put_str(o, "stage", cr_stage_name(s->stage));
	ok &= put_str(o, "status", cr_stage_status_name(s->status));
	if (full) {
		ok &= put_str(o, "started_at", s->started_at);
		ok &= put_str(o, "finished_at", s->finished_at);
	}
	ok &= put_u64(o, "duration_ms", s->duration_ms);
	ok &= put_u64(o, "artifacts_checked", s->artifacts_checked);
	ok &= put_u64(o, "violation_count", s->violation_count);
	if (s->error)
		ok &= put_str(o, "error", s->error);
	return ok;
}

cJSON *cr_stage_result_to_json(const cr_stage_result *s)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && put_stage_common(o, s, true);

	return done(o, ok, "stage result");
}

cJSON *cr_stage_summary_to_json(const cr_stage_result *s)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && put_stage_common(o, s, false);

	return done(o, ok, "stage summary");
}

/* FULL: a stage result (with run_id and times); else a report's summary. */
static int stage_from_json(const cJSON *j, const char *what, bool full, cr_stage_result *s)
{
	int rc;

	TRY(need_object(j, what));
	if (full)
		TRY(get_fixed(j, what, "run_id", true, false, s->run_id, sizeof(s->run_id)));
	GET_ENUM(j, what, "stage", cr_stage_parse, &s->stage);
	GET_ENUM(j, what, "status", cr_stage_status_parse, &s->status);
	if (full) {
		TRY(get_fixed(j, what, "started_at", true, false, s->started_at, sizeof(s->started_at)));
		TRY(get_fixed(j, what, "finished_at", true, false, s->finished_at, sizeof(s->finished_at)));
	}
	TRY(get_u64(j, what, "duration_ms", &s->duration_ms));
	TRY(get_u64(j, what, "artifacts_checked", &s->artifacts_checked));
	TRY(get_u64(j, what, "violation_count", &s->violation_count));
	TRY(get_dup(j, what, "error", false, false, &s->error));
	return 0;
cleanup:
	cr_stage_result_clear(s);
	return rc;
}

int cr_stage_result_from_json(const cJSON *j, cr_stage_result *s)
{
	return stage_from_json(j, "stage result", true, s);
}

/* ---- run events and the run view ------------------------------------ */

static cJSON *event_head(const char *event, const char *run_id, const char *at, bool *ok)
{
	cJSON *o = cJSON_CreateObject();

	*ok = o != NULL;
	if (o) {
		*ok &= put_str(o, "event", event);
		*ok &= put_str(o, "run_id", run_id);
		*ok &= put_str(o, "at", at);
	}
	return o;
}

cJSON *cr_run_requested_to_json(const cr_run *r)
{
	bool ok;
	cJSON *o = event_head("requested", r->run_id, r->requested_at, &ok);

	if (o)
		ok &= cr_run_put_request(o, r);
	return done(o, ok, "requested event");
}

bool cr_run_put_request(cJSON *o, const cr_run *r)
{
	bool ok = put_str(o, "candidate_id", r->candidate_id);
	ok &= put_str(o, "manifest_id", r->manifest_id);
	ok &= put_str(o, "manifest_digest", r->manifest_digest);
	ok &= put_item(o, "policy_snapshot", cr_snapshot_to_json(&r->policy, false));
	ok &= put_item(o, "registry_snapshot", cr_snapshot_to_json(&r->registry, true));
	ok &= put_str(o, "task_id", r->task_id);
	ok &= put_str(o, "requested_by", r->requested_by);
	return ok;
}

/* jobs is optional in the schema (minimum 1): 0 means "not recorded". */
cJSON *cr_run_started_to_json(const char *run_id, const char *at, uint64_t artifacts_total, int64_t jobs)
{
	bool ok;
	cJSON *o = event_head("started", run_id, at, &ok);

	if (o) {
		ok &= put_u64(o, "artifacts_total", artifacts_total);
		if (jobs > 0)
			ok &= put_i64(o, "jobs", jobs);
	}
	return done(o, ok, "started event");
}

cJSON *cr_run_stage_completed_to_json(const cr_stage_result *s, const char *at)
{
	bool ok;
	cJSON *o = event_head("stage_completed", s->run_id, at, &ok);

	if (o)
		ok &= put_item(o, "stage_result", cr_stage_result_to_json(s));
	return done(o, ok, "stage_completed event");
}

/* The schema requires a reason when the run FAILED and allows one when it
 * SUCCEEDED with an ERROR verdict; a FAILED run is always ERROR. */
cJSON *cr_run_finished_to_json(const cr_run *r)
{
	bool ok;
	cJSON *o;

	if (r->status != CR_RUN_SUCCEEDED && r->status != CR_RUN_FAILED) {
		cr_error_set(CR_EINTERNAL, "finished event of %s: status is not SUCCEEDED or FAILED", r->run_id);
		return NULL;
	}
	if (r->status == CR_RUN_FAILED && (r->final_status != CR_FINAL_ERROR || !r->reason || !*r->reason)) {
		cr_error_set(CR_EINTERNAL, "finished event of %s: a FAILED run needs final_status ERROR and a reason",
			     r->run_id);
		return NULL;
	}
	o = event_head("finished", r->run_id, r->finished_at, &ok);
	if (o) {
		ok &= put_str(o, "status", cr_run_status_name(r->status));
		ok &= put_str(o, "final_status", cr_final_name(r->final_status));
		ok &= put_str(o, "report_id", r->report_id);
		if (r->reason && *r->reason)
			ok &= put_str(o, "reason", r->reason);
	}
	return done(o, ok, "finished event");
}


/* The identity fields of a run, from its "requested" event. */
static int decode_requested(const cJSON *ev, cr_run_event *out)
{
	static const char what[] = "requested event";
	cr_run *n = &out->requested;
	const cJSON *snap;
	int rc;

	TRY(get_fixed(ev, what, "run_id", true, false, n->run_id, sizeof(n->run_id)));
	TRY(get_fixed(ev, what, "at", true, false, n->requested_at, sizeof(n->requested_at)));
	TRY(get_fixed(ev, what, "candidate_id", true, false, n->candidate_id, sizeof(n->candidate_id)));
	TRY(get_fixed(ev, what, "manifest_id", true, false, n->manifest_id, sizeof(n->manifest_id)));
	TRY(get_fixed(ev, what, "manifest_digest", true, false, n->manifest_digest, sizeof(n->manifest_digest)));
	TRY(get_obj(ev, what, "policy_snapshot", true, &snap));
	TRY(cr_snapshot_from_json(snap, false, &n->policy));
	TRY(get_obj(ev, what, "registry_snapshot", true, &snap));
	TRY(cr_snapshot_from_json(snap, true, &n->registry));
	TRY(get_fixed(ev, what, "task_id", true, false, n->task_id, sizeof(n->task_id)));
	TRY(get_dup(ev, what, "requested_by", true, false, &n->requested_by));
	memcpy(out->run_id, n->run_id, sizeof(out->run_id));
	memcpy(out->at, n->requested_at, sizeof(out->at));
cleanup:
	return rc;
}

static int decode_started(const cJSON *ev, cr_run_event *out)
{
	static const char what[] = "started event";
	int rc;

	TRY(get_fixed(ev, what, "run_id", true, false, out->run_id, sizeof(out->run_id)));
	TRY(get_fixed(ev, what, "at", true, false, out->at, sizeof(out->at)));
	TRY(get_u64(ev, what, "artifacts_total", &out->artifacts_total));
	TRY(get_int(ev, what, "jobs", false, 1, 4096, &out->jobs, NULL));
cleanup:
	return rc;
}

static int decode_stage_completed(const cJSON *ev, cr_run_event *out)
{
	static const char what[] = "stage_completed event";
	const cJSON *sj;
	int rc;

	TRY(get_fixed(ev, what, "run_id", true, false, out->run_id, sizeof(out->run_id)));
	TRY(get_fixed(ev, what, "at", true, false, out->at, sizeof(out->at)));
	TRY(get_obj(ev, what, "stage_result", true, &sj));
	TRY(stage_from_json(sj, "stage_result", true, &out->stage));
	if (strcmp(out->stage.run_id, out->run_id) != 0)
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: stage_result of run %s in an event of run %s", what,
				  out->stage.run_id, out->run_id);
cleanup:
	return rc;
}

static int decode_finished(const cJSON *ev, cr_run_event *out)
{
	static const char what[] = "finished event";
	int rc;

	TRY(get_fixed(ev, what, "run_id", true, false, out->run_id, sizeof(out->run_id)));
	TRY(get_fixed(ev, what, "at", true, false, out->at, sizeof(out->at)));
	GET_ENUM(ev, what, "status", cr_run_status_parse, &out->status);
	if (out->status != CR_RUN_SUCCEEDED && out->status != CR_RUN_FAILED) {
		rc = bad(what, "status", "is not SUCCEEDED or FAILED");
		goto cleanup;
	}
	GET_ENUM(ev, what, "final_status", cr_final_parse, &out->final_status);
	TRY(get_fixed(ev, what, "report_id", true, false, out->report_id, sizeof(out->report_id)));
	TRY(get_dup(ev, what, "reason", false, false, &out->reason));
	if (out->status == CR_RUN_FAILED && (out->final_status != CR_FINAL_ERROR || !out->reason))
		rc = cr_error_set(CR_EINVALID_INPUT, "%s: a FAILED run needs final_status ERROR and a reason", what);
cleanup:
	return rc;
}

int cr_run_event_from_json(const cJSON *j, cr_run_event *ev)
{
	static const struct {
		const char *name;
		cr_run_event_kind kind;
		int (*decode)(const cJSON *, cr_run_event *);
	} kinds[] = {
		{"requested", CR_RUN_EV_REQUESTED, decode_requested},
		{"started", CR_RUN_EV_STARTED, decode_started},
		{"stage_completed", CR_RUN_EV_STAGE_COMPLETED, decode_stage_completed},
		{"finished", CR_RUN_EV_FINISHED, decode_finished},
	};
	const char *name;
	int rc;

	memset(ev, 0, sizeof(*ev));
	TRY(need_object(j, "run event"));
	TRY(get_str(j, "run event", "event", true, false, &name));
	for (size_t i = 0; i < NELEM(kinds); i++) {
		if (strcmp(name, kinds[i].name) != 0)
			continue;
		ev->kind = kinds[i].kind;
		TRY(kinds[i].decode(j, ev));
		return 0;
	}
	rc = bad("run event", "event", "has an unknown value");
cleanup:
	cr_run_event_clear(ev);
	return rc;
}

int cr_run_apply_event(const cJSON *event, cr_run *r)
{
	cr_run_event ev;
	int rc = cr_run_event_from_json(event, &ev);

	if (rc == 0)
		rc = cr_run_event_apply(r, &ev);
	cr_run_event_clear(&ev);
	return rc;
}
/* ---- violations ----------------------------------------------------- */

cJSON *cr_violation_to_json(const cr_violation *v)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		ok &= put_str(o, "violation_id", v->violation_id);
		ok &= put_str(o, "run_id", v->run_id);
		ok &= put_str(o, "stage", cr_stage_name(v->stage));
		ok &= put_str(o, "rule_id", v->rule_id);
		ok &= put_str(o, "severity", cr_severity_name(v->severity));
		ok &= put_nullable(o, "artifact_path", v->artifact_path);
		ok &= put_str(o, "message", v->message);
		if (v->has_location) {
			cJSON *loc = cJSON_CreateObject();
			bool lok = loc != NULL;
			if (loc) {
				lok &= put_u64(loc, "line", v->location.line);
				lok &= put_u64(loc, "column", v->location.column);
				lok &= put_u64(loc, "offset", v->location.offset);
			}
			if (!lok) {
				cJSON_Delete(loc);
				loc = NULL;
			}
			ok &= put_item(o, "location", loc);
		}
		if (v->excerpt)
			ok &= put_str(o, "excerpt", v->excerpt);
		if (v->left_out)
			ok &= put_u64(o, "left_out", v->left_out);
	}
	return done(o, ok, "violation");
}

void cr_violation_canonical(cr_sbuf *b, const cr_violation *v)
{
	/* Keys in bytewise order, as cr_json_canonical sorts them. */
	cr_sb_puts(b, "{\"artifact_path\":");
	if (v->artifact_path)
		cr_sb_json_str(b, v->artifact_path);
	else
		cr_sb_puts(b, "null");
	if (v->excerpt) {
		sb_key(b, ",", "excerpt");
		cr_sb_json_str(b, v->excerpt);
	}
	if (v->left_out) {
		sb_key(b, ",", "left_out");
		sb_u64(b, v->left_out);
	}
	if (v->has_location) {
		cr_sb_puts(b, ",\"location\":{\"column\":");
		sb_u64(b, v->location.column);
		cr_sb_puts(b, ",\"line\":");
		sb_u64(b, v->location.line);
		cr_sb_puts(b, ",\"offset\":");
		sb_u64(b, v->location.offset);
		cr_sb_put(b, "}", 1);
	}
	sb_key(b, ",", "message");
	cr_sb_json_str(b, v->message);
	sb_key(b, ",", "rule_id");
	cr_sb_json_str(b, v->rule_id);
	sb_key(b, ",", "run_id");
	cr_sb_json_str(b, v->run_id);
	sb_key(b, ",", "severity");
	cr_sb_json_str(b, cr_severity_name(v->severity));
	sb_key(b, ",", "stage");
	cr_sb_json_str(b, cr_stage_name(v->stage));
	sb_key(b, ",", "violation_id");
	cr_sb_json_str(b, v->violation_id);
	cr_sb_put(b, "}", 1);
}

void cr_violation_chunk_canonical(cr_sbuf *b, const char *run_id, uint64_t chunk, const cr_violation *v, size_t n)
{
	cr_sb_puts(b, "{\"chunk\":");
	sb_u64(b, chunk);
	sb_key(b, ",", "run_id");
	cr_sb_json_str(b, run_id);
	cr_sb_puts(b, ",\"violations\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			cr_sb_put(b, ",", 1);
		cr_violation_canonical(b, &v[i]);
	}
	cr_sb_puts(b, "]}");
}

int cr_violation_from_json(const cJSON *j, cr_violation *v)
{
	static const char what[] = "violation";
	const cJSON *loc;
	int64_t left = 0;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "violation_id", true, false, v->violation_id, sizeof(v->violation_id)));
	TRY(get_fixed(j, what, "run_id", true, false, v->run_id, sizeof(v->run_id)));
	GET_ENUM(j, what, "stage", cr_stage_parse, &v->stage);
	TRY(get_fixed(j, what, "rule_id", true, false, v->rule_id, sizeof(v->rule_id)));
	GET_ENUM(j, what, "severity", cr_severity_parse, &v->severity);
	/* Required key, null for a manifest-wide finding. */
	TRY(get_dup(j, what, "artifact_path", true, true, &v->artifact_path));
	TRY(get_dup(j, what, "message", true, false, &v->message));
	TRY(get_obj(j, what, "location", false, &loc));
	if (loc) {
		int64_t line = 0, column = 0, offset = 0;
		TRY(get_int(loc, "violation location", "line", true, 1, MAX_SAFE_INT, &line, NULL));
		TRY(get_int(loc, "violation location", "column", true, 1, MAX_SAFE_INT, &column, NULL));
		TRY(get_int(loc, "violation location", "offset", true, 0, MAX_SAFE_INT, &offset, NULL));
		v->has_location = true;
		v->location.line = (uint64_t)line;
		v->location.column = (uint64_t)column;
		v->location.offset = (uint64_t)offset;
	}
	TRY(get_dup(j, what, "excerpt", false, false, &v->excerpt));
	TRY(get_int(j, what, "left_out", false, 1, MAX_SAFE_INT, &left, NULL));
	v->left_out = (uint64_t)left;
	return 0;
cleanup:
	cr_violation_clear(v);
	return rc;
}

/* ---- report --------------------------------------------------------- */

cJSON *cr_report_to_json(const cr_report *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *stages = cJSON_CreateArray();
	cJSON *counts = cJSON_CreateObject();
	cJSON *by_stage = cJSON_CreateObject();
	bool ok = o && stages && counts && by_stage;

	if (!ok) {
		cJSON_Delete(stages);
		cJSON_Delete(counts);
		cJSON_Delete(by_stage);
		return done(o, false, "report");
	}
	ok &= put_str(o, "report_id", r->report_id);
	ok &= put_str(o, "run_id", r->run_id);
	ok &= put_str(o, "candidate_id", r->candidate_id);
	ok &= put_str(o, "manifest_id", r->manifest_id);
	ok &= put_str(o, "manifest_digest", r->manifest_digest);
	ok &= put_str(o, "policy_digest", r->policy_digest);
	ok &= put_str(o, "registry_digest", r->registry_digest);
	ok &= put_str(o, "final_status", cr_final_name(r->final_status));
	for (size_t i = 0; i < CR_STAGE__COUNT; i++)
		ok &= put_elem(stages, cr_stage_summary_to_json(&r->stages[i]));
	ok &= put_item(o, "stages", stages);
	ok &= put_u64(counts, "total", r->total);
	ok &= put_u64(counts, "blocker", r->blocker);
	ok &= put_u64(counts, "warning", r->warning);
	for (size_t i = 0; i < CR_STAGE__COUNT; i++)
		ok &= put_u64(by_stage, cr_stage_name((cr_stage)i), r->by_stage[i]);
	ok &= put_item(counts, "by_stage", by_stage);
	ok &= put_item(o, "violation_counts", counts);
	ok &= put_str(o, "generated_at", r->generated_at);
	ok &= put_str(o, "report_digest", r->report_digest);
	return done(o, ok, "report");
}

int cr_report_from_json(const cJSON *j, cr_report *r)
{
	static const char what[] = "report";
	const cJSON *stages, *item, *counts, *by_stage;
	size_t i = 0;
	int rc;

	TRY(need_object(j, what));
	TRY(get_fixed(j, what, "report_id", true, false, r->report_id, sizeof(r->report_id)));
	TRY(get_fixed(j, what, "run_id", true, false, r->run_id, sizeof(r->run_id)));
	TRY(get_fixed(j, what, "candidate_id", true, false, r->candidate_id, sizeof(r->candidate_id)));
	TRY(get_fixed(j, what, "manifest_id", true, false, r->manifest_id, sizeof(r->manifest_id)));
	TRY(get_fixed(j, what, "manifest_digest", true, false, r->manifest_digest, sizeof(r->manifest_digest)));
	TRY(get_fixed(j, what, "policy_digest", true, false, r->policy_digest, sizeof(r->policy_digest)));
	TRY(get_fixed(j, what, "registry_digest", true, false, r->registry_digest, sizeof(r->registry_digest)));
	GET_ENUM(j, what, "final_status", cr_final_parse, &r->final_status);
	TRY(get_array(j, what, "stages", &stages));
	if (cJSON_GetArraySize(stages) != CR_STAGE__COUNT) {
		rc = bad(what, "stages", "does not hold the four stages");
		goto cleanup;
	}
	cJSON_ArrayForEach(item, stages) {
		TRY(stage_from_json(item, "report stage", false, &r->stages[i]));
		if ((size_t)r->stages[i].stage != i) {
			rc = bad(what, "stages", "is not in the fixed stage order");
			goto cleanup;
		}
		i++;
	}
	TRY(get_obj(j, what, "violation_counts", true, &counts));
	TRY(get_u64(counts, "violation_counts", "total", &r->total));
	TRY(get_u64(counts, "violation_counts", "blocker", &r->blocker));
	TRY(get_u64(counts, "violation_counts", "warning", &r->warning));
	TRY(get_obj(counts, "violation_counts", "by_stage", true, &by_stage));
	for (i = 0; i < CR_STAGE__COUNT; i++)
		TRY(get_u64(by_stage, "violation_counts.by_stage", cr_stage_name((cr_stage)i), &r->by_stage[i]));
	TRY(get_fixed(j, what, "generated_at", true, false, r->generated_at, sizeof(r->generated_at)));
	TRY(get_fixed(j, what, "report_digest", true, false, r->report_digest, sizeof(r->report_digest)));
	return 0;
cleanup:
	cr_report_clear(r);
	return rc;
}

int cr_report_digest(const cr_report *r, char out[CR_SHA_MAX])
{
	cJSON *o = cr_report_to_json(r);
	int rc;

	if (!o)
		return cr_error_last()->code ? cr_error_last()->code : CR_EINTERNAL;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "report_digest");
	rc = cr_json_digest(o, out);
	cJSON_Delete(o);
	return rc;
}
