/*
 * A run's violations as SARIF 2.1.0, the format code-scanning views read
 * (GitHub, GitLab, IDEs). Within their limits: GitHub rejects a run of more
 * than 25,000 results and shows 5,000, so at most MAX results are written,
 * the most severe first (every BLOCKER before any WARNING, each in append
 * order), and the run's properties say how many were left out. The totals
 * there are the report's, true also for the findings a cap kept from being
 * recorded (a summary violation's left_out). Streamed: one violation in
 * memory at a time, two passes (one a severity).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "facade/dto.h"
#include "facade/sarif.h"
#include "util/error.h"
#include "util/json.h"

#define SARIF_SCHEMA "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

struct rule {
	char id[72];
	cr_stage stage;
	cr_severity severity;
	char *text;
};

struct sarif {
	FILE *out;
	size_t max, written, left_out;
	uint64_t not_recorded;
	struct rule *rules;
	size_t nrules, cap;
	bool first;
	int err;
};

static const char *level_of(cr_severity s)
{
	return s == CR_SEV_BLOCKER ? "error" : "warning";
}

static int rule_index(struct sarif *x, const cr_violation *v)
{
	for (size_t i = 0; i < x->nrules; i++)
		if (!strcmp(x->rules[i].id, v->rule_id))
			return (int)i;
	if (x->nrules == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct rule *r = realloc(x->rules, cap * sizeof(*r));
		if (!r)
			return cr_error_set(CR_EINTERNAL, "out of memory");
		x->rules = r;
		x->cap = cap;
	}
	struct rule *r = &x->rules[x->nrules];
	snprintf(r->id, sizeof(r->id), "%s", v->rule_id);
	r->stage = v->stage;
	r->severity = v->severity;
	r->text = strdup(v->message ? v->message : v->rule_id);
	if (!r->text)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	return (int)x->nrules++;
}

static int put(cJSON *o, const char *k, cJSON *v)
{
	if (!v || !cJSON_AddItemToObject(o, k, v)) {
		cJSON_Delete(v);
		return -1;
	}
	return 0;
}

static cJSON *text_obj(const char *s)
{
	cJSON *o = cJSON_CreateObject();
	if (o && !cJSON_AddStringToObject(o, "text", s)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* One result: the rule, its level, the message, where. */
static cJSON *result_of(const cr_violation *v, int index)
{
	cJSON *r = cJSON_CreateObject(), *props = cJSON_CreateObject();
	bool ok = r && props && cJSON_AddStringToObject(r, "ruleId", v->rule_id) &&
		  cJSON_AddNumberToObject(r, "ruleIndex", index) && cJSON_AddStringToObject(r, "level", level_of(v->severity)) &&
		  put(r, "message", text_obj(v->message ? v->message : v->rule_id)) == 0;
	if (ok && v->artifact_path) {
		cJSON *locs = cJSON_CreateArray(), *loc = cJSON_CreateObject(), *phys = cJSON_CreateObject(),
		      *art = cJSON_CreateObject();
		ok = locs && loc && phys && art && cJSON_AddStringToObject(art, "uri", v->artifact_path) &&
		     cJSON_AddStringToObject(art, "uriBaseId", "ARTIFACT_ROOT");
		if (ok && v->has_location && v->location.line > 0) {
			cJSON *region = cJSON_CreateObject();
			ok = region && cJSON_AddNumberToObject(region, "startLine", (double)v->location.line) &&
			     (v->location.column == 0 ||
			      cJSON_AddNumberToObject(region, "startColumn", (double)v->location.column)) &&
			     (!v->excerpt || put(region, "snippet", text_obj(v->excerpt)) == 0);
			ok = ok && cJSON_AddItemToObject(phys, "region", region);
			if (!ok)
				cJSON_Delete(region);
		}
		ok = ok && cJSON_AddItemToObject(phys, "artifactLocation", art);
		if (!ok)
			cJSON_Delete(art);
		ok = ok && cJSON_AddItemToObject(loc, "physicalLocation", phys);
		if (!ok)
			cJSON_Delete(phys);
		ok = ok && cJSON_AddItemToArray(locs, loc);
		if (!ok)
			cJSON_Delete(loc);
		ok = ok && cJSON_AddItemToObject(r, "locations", locs);
		if (!ok)
			cJSON_Delete(locs);
	}
	ok = ok && cJSON_AddStringToObject(props, "violation_id", v->violation_id) &&
	     cJSON_AddStringToObject(props, "stage", cr_stage_name(v->stage)) &&
	     cJSON_AddStringToObject(props, "severity", cr_severity_name(v->severity)) &&
	     (!v->left_out || cJSON_AddNumberToObject(props, "left_out", (double)v->left_out));
	ok = ok && cJSON_AddItemToObject(r, "properties", props);
	if (!ok) {
		cJSON_Delete(props);
		cJSON_Delete(r);
		cr_error_set(CR_EINTERNAL, "out of memory writing SARIF");
		return NULL;
	}
	return r;
}

static int emit(const cr_violation *v, void *ctx)
{
	struct sarif *x = ctx;
	x->not_recorded += v->left_out;
	if (x->written >= x->max) {
		x->left_out++;
		return 0;
	}
	int index = rule_index(x, v);
	if (index < 0)
		return index;
	cJSON *r = result_of(v, index);
	char *s = r ? cJSON_PrintUnformatted(r) : NULL;
	cJSON_Delete(r);
	if (!s)
		return cr_error_set(CR_EINTERNAL, "out of memory writing SARIF");
	if (fprintf(x->out, "%s%s", x->first ? "" : ",\n", s) < 0)
		x->err = 1;
	x->first = false;
	x->written++;
	free(s);
	return 0;
}

static cJSON *rules_json(const struct sarif *x)
{
	cJSON *rules = cJSON_CreateArray();
	for (size_t i = 0; rules && i < x->nrules; i++) {
		const struct rule *r = &x->rules[i];
		cJSON *o = cJSON_CreateObject(), *cfg = cJSON_CreateObject(), *props = cJSON_CreateObject();
		bool ok = o && cfg && props && cJSON_AddStringToObject(o, "id", r->id) &&
			  put(o, "shortDescription", text_obj(r->text)) == 0 &&
			  cJSON_AddStringToObject(cfg, "level", level_of(r->severity)) &&
			  cJSON_AddStringToObject(props, "stage", cr_stage_name(r->stage)) &&
			  cJSON_AddStringToObject(props, "severity", cr_severity_name(r->severity));
		ok = ok && cJSON_AddItemToObject(o, "defaultConfiguration", cfg);
		if (!ok)
			cJSON_Delete(cfg);
		ok = ok && cJSON_AddItemToObject(o, "properties", props);
		if (!ok)
			cJSON_Delete(props);
		if (!ok || !cJSON_AddItemToArray(rules, o)) {
			cJSON_Delete(o);
			cJSON_Delete(rules);
			return NULL;
		}
	}
	return rules;
}

int cr_sarif_write(cr_facade *f, const char *run_id, const char *tool_version, size_t max, FILE *out,
		   cr_sarif_stats *st)
{
	struct sarif x = {.out = out, .max = max ? max : CR_SARIF_MAX_RESULTS, .first = true};
	cr_report rep = {0};
	cJSON *tail = NULL, *driver = NULL;
	char *s = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = cr_facade_compliance_report(f, run_id, &rep)) < 0)
		return rc;
	if (fprintf(out, "{\"$schema\":\"%s\",\"version\":\"2.1.0\",\"runs\":[{\"results\":[\n", SARIF_SCHEMA) < 0)
		x.err = 1;
	/* The most severe first: BLOCKER, then WARNING, each in append order. */
	for (int sev = CR_SEV_BLOCKER; rc == 0 && sev <= CR_SEV_WARNING; sev++)
		rc = cr_facade_compliance_violations_each(f, run_id, -1, sev, emit, &x);
	if (rc < 0)
		goto cleanup;

	/* The rest of the run: the tool and its rules (known only now), where
	 * the artifact paths are relative to, and the totals. */
	tail = cJSON_CreateObject();
	driver = cJSON_CreateObject();
	cJSON *tool = cJSON_CreateObject(), *bases = cJSON_CreateObject(), *root = cJSON_CreateObject(),
	      *inv = cJSON_CreateArray(), *inv0 = cJSON_CreateObject(), *props = cJSON_CreateObject();
	bool ok = tail && driver && tool && bases && root && inv && inv0 && props &&
		  cJSON_AddStringToObject(driver, "name", "clean-release") &&
		  cJSON_AddStringToObject(driver, "version", tool_version ? tool_version : "unknown") &&
		  put(driver, "rules", rules_json(&x)) == 0 && cJSON_AddItemToObject(tool, "driver", driver);
	if (ok)
		driver = NULL;
	ok = ok && cJSON_AddItemToObject(tail, "tool", tool);
	if (ok)
		tool = NULL;
	ok = ok && put(root, "description", text_obj("the candidate's artifact root (the paths of its manifest)")) == 0 &&
	     cJSON_AddItemToObject(bases, "ARTIFACT_ROOT", root);
	if (ok)
		root = NULL;
	ok = ok && cJSON_AddItemToObject(tail, "originalUriBaseIds", bases);
	if (ok)
		bases = NULL;
	ok = ok && cJSON_AddStringToObject(tail, "columnKind", "unicodeCodePoints") &&
	     cJSON_AddBoolToObject(inv0, "executionSuccessful", rep.final_status != CR_FINAL_ERROR) &&
	     cJSON_AddItemToArray(inv, inv0);
	if (ok)
		inv0 = NULL;
	ok = ok && cJSON_AddItemToObject(tail, "invocations", inv);
	if (ok)
		inv = NULL;
	ok = ok && cJSON_AddStringToObject(props, "candidate_id", rep.candidate_id) &&
	     cJSON_AddStringToObject(props, "run_id", rep.run_id) && cJSON_AddStringToObject(props, "report_id", rep.report_id) &&
	     cJSON_AddStringToObject(props, "manifest_id", rep.manifest_id) &&
	     cJSON_AddStringToObject(props, "final_status", cr_final_name(rep.final_status)) &&
	     cJSON_AddNumberToObject(props, "violations_total", (double)rep.total) &&
	     cJSON_AddNumberToObject(props, "violations_blocker", (double)rep.blocker) &&
	     cJSON_AddNumberToObject(props, "violations_warning", (double)rep.warning) &&
	     cJSON_AddNumberToObject(props, "results_written", (double)x.written) &&
	     cJSON_AddNumberToObject(props, "results_left_out", (double)x.left_out) &&
	     cJSON_AddNumberToObject(props, "violations_not_recorded", (double)x.not_recorded) &&
	     cJSON_AddItemToObject(tail, "properties", props);
	if (ok)
		props = NULL;
	cJSON_Delete(tool);
	cJSON_Delete(bases);
	cJSON_Delete(root);
	cJSON_Delete(inv);
	cJSON_Delete(inv0);
	cJSON_Delete(props);
	if (!ok || !(s = cJSON_PrintUnformatted(tail))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory writing SARIF");
		goto cleanup;
	}
	/* TAIL's members follow "results" in the same run object. */
	if (fprintf(out, "\n],%s]}\n", s + 1) < 0 || fflush(out) != 0 || x.err)
		rc = cr_error_set(CR_ESTORAGE, "cannot write the SARIF file");
	st->written = x.written;
	st->left_out = x.left_out;
	st->total = rep.total;
cleanup:
	free(s);
	cJSON_Delete(tail);
	cJSON_Delete(driver);
	for (size_t i = 0; i < x.nrules; i++)
		free(x.rules[i].text);
	free(x.rules);
	cr_report_clear(&rep);
	return rc;
}
