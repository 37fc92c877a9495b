/* The routes of the contract and their handlers: each one facade call,
 * answered with the DTO the CLI's --json prints (facade/dto.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"
#include "domain/ids.h"
#include "domain/page.h"
#include "facade/dto.h"
#include "util/error.h"
#include "util/json.h"

static const char *body_str(const cr_api_req *r, const char *key) { return cr_json_str(r->json, key); }

/* limit (1..1000, default 100) and cursor of a paged list: 0, or answered 400. */
static int page_query(cr_api_req *r, cr_page_req *page, char *cursor, size_t clen)
{
	char lim[16];
	int got;

	page->limit = CR_PAGE_LIMIT_DEFAULT;
	page->cursor = NULL;
	if ((got = cr_api_query(r, "limit", lim, sizeof(lim))) != 0) {
		char *end = lim;
		long v = 0;

		errno = 0;
		if (got > 0 && lim[0] >= '0' && lim[0] <= '9')
			v = strtol(lim, &end, 10);
		if (got < 0 || errno || end == lim || *end || v < 1 || v > CR_PAGE_LIMIT_MAX) {
			cr_api_reply_error(r, CR_EINVALID_ARGUMENT, "limit must be a whole number from 1 to 1000", false);
			return -1;
		}
		page->limit = (size_t)v;
	}
	if ((got = cr_api_query(r, "cursor", cursor, clen)) < 0 || (got > 0 && !cursor[0])) {
		cr_api_reply_error(r, CR_EINVALID_ARGUMENT, "invalid cursor", false);
		return -1;
	}
	if (got > 0)
		page->cursor = cursor;
	return 0;
}

/* An enum query parameter NAME parsed by PARSE: 1 given, 0 absent, -1 answered 400. */
static int enum_query(cr_api_req *r, const char *name, int (*parse)(const char *, int *), int *out)
{
	char v[64], msg[200];
	int got = cr_api_query(r, name, v, sizeof(v));

	if (got == 0)
		return 0;
	if (got < 0 || parse(v, out) < 0) {
		snprintf(msg, sizeof(msg), "invalid %s: %.64s", name, got < 0 ? "(bad escape)" : v);
		cr_api_reply_error(r, CR_EINVALID_ARGUMENT, msg, false);
		return -1;
	}
	return 1;
}

static int parse_status(const char *s, int *out)
{
	cr_status v;
	int rc = cr_status_parse(s, &v);
	*out = (int)v;
	return rc;
}

static int parse_stage(const char *s, int *out)
{
	cr_stage v;
	int rc = cr_stage_parse(s, &v);
	*out = (int)v;
	return rc;
}

static int parse_severity(const char *s, int *out)
{
	cr_severity v;
	int rc = cr_severity_parse(s, &v);
	*out = (int)v;
	return rc;
}

static void location(char *buf, size_t len, const char *kind, const char *id)
{
	snprintf(buf, len, CR_API_BASE "/%s/%s", kind, id);
}

/* ---- candidates ------------------------------------------------------ */

static enum MHD_Result h_candidate_list(cr_api_req *r, cr_facade *f)
{
	char cursor[CR_CURSOR_MAX], next[CR_CURSOR_MAX];
	cr_candidate_view *v = NULL;
	cr_page_req page;
	int status = CR_STATUS_NONE;
	size_t n = 0;
	enum MHD_Result ok;

	if (enum_query(r, "status", parse_status, &status) < 0 || page_query(r, &page, cursor, sizeof(cursor)) < 0)
		return MHD_YES;
	if (cr_facade_candidate_list(f, (cr_status)status, &page, &v, &n, next) < 0)
		return cr_api_reply_last(r);
	r->cacheable = true;
	for (size_t i = 0; i < n; i++)
		r->cacheable &= !v[i].run_unfinished; /* its runner's liveness is not evidence */
	ok = cr_api_reply_json(r, 200, cr_candidate_list_to_json(v, n, next), NULL);
	cr_facade_candidates_free(v, n);
	return ok;
}

static enum MHD_Result h_register(cr_api_req *r, cr_facade *f)
{
	cr_candidate_view v = {0};
	char loc[300];
	enum MHD_Result ok;

	if (cr_facade_candidate_register(f, body_str(r, "candidate_id"), body_str(r, "version"),
					 body_str(r, "source_snapshot"), r->actor, &v) < 0)
		return cr_api_reply_last(r);
	location(loc, sizeof(loc), "candidates", v.c.candidate_id);
	ok = cr_api_reply_json(r, 201, cr_candidate_view_to_json(&v), loc);
	cr_candidate_view_clear(&v);
	return ok;
}

static enum MHD_Result h_candidate_show(cr_api_req *r, cr_facade *f)
{
	cr_candidate_view v = {0};
	enum MHD_Result ok;

	if (cr_facade_candidate_show(f, r->params[0], &v) < 0)
		return cr_api_reply_last(r);
	r->cacheable = !v.run_unfinished;
	ok = cr_api_reply_json(r, 200, cr_candidate_view_to_json(&v), NULL);
	cr_candidate_view_clear(&v);
	return ok;
}

/* Where an import's files are: its artifact_root (relative to the work
 * tree), else the work tree, resolved and beneath one of the server's
 * roots. 0 with OUT set, or answered 422. */
static int import_root(cr_api_req *r, char *out)
{
	const cr_api_srv *s = r->srv;
	const char *given = body_str(r, "artifact_root");
	char joined[PATH_MAX + 8], msg[PATH_MAX + 200];

	if (!given && !s->work_tree[0]) {
		cr_api_reply_error(r, CR_EINVALID_INPUT,
				   "artifact_root is required: the repository is bare (no work tree to default to)", false);
		return -1;
	}
	if (given && given[0] != '/' && !s->work_tree[0]) {
		cr_api_reply_error(r, CR_EINVALID_INPUT,
				   "artifact_root must be absolute: the repository is bare (no work tree to start from)", false);
		return -1;
	}
	if (!given)
		snprintf(joined, sizeof(joined), "%s", s->work_tree);
	else if (given[0] == '/')
		snprintf(joined, sizeof(joined), "%s", given);
	else
		snprintf(joined, sizeof(joined), "%s/%s", s->work_tree, given);
	if (!realpath(joined, out)) {
		snprintf(msg, sizeof(msg), "artifact_root %.4096s: %s", given ? given : joined, strerror(errno));
		cr_api_reply_error(r, CR_EINVALID_INPUT, msg, false);
		return -1;
	}
	for (size_t i = 0; i < s->nroots; i++) {
		size_t n = strlen(s->roots[i]);
		if (!strncmp(out, s->roots[i], n) && (out[n] == '/' || out[n] == '\0' || (n == 1 && out[0] == '/')))
			return 0;
	}
	snprintf(msg, sizeof(msg), "artifact_root %.4096s is outside the artifact roots this server reads beneath",
		 given ? given : joined);
	cr_api_reply_error(r, CR_EINVALID_INPUT, msg, false);
	return -1;
}

static enum MHD_Result h_import(cr_api_req *r, cr_facade *f)
{
	char root[PATH_MAX];
	cr_import imp = {0};
	enum MHD_Result ok;

	if (import_root(r, root) < 0)
		return MHD_YES;
	if (cr_facade_candidate_import(f, r->params[0], r->body, r->blen, "request body",
				       r->srv->work_tree[0] ? r->srv->work_tree : root, root, r->actor, &imp) < 0)
		return cr_api_reply_last(r);
	ok = cr_api_reply_json(r, 201, cr_import_to_json(&imp), NULL);
	cr_import_clear(&imp);
	return ok;
}

/* ---- manifests ------------------------------------------------------- */

static enum MHD_Result h_manifest_build(cr_api_req *r, cr_facade *f)
{
	cr_manifest m = {0};
	char loc[300];
	enum MHD_Result ok;

	if (cr_facade_manifest_build(f, r->params[0], r->actor, &m) < 0)
		return cr_api_reply_last(r);
	location(loc, sizeof(loc), "manifests", m.manifest_id);
	ok = cr_api_reply_json(r, 201, cr_manifest_to_json(&m), loc);
	cr_manifest_clear(&m);
	return ok;
}

static enum MHD_Result h_manifest_list(cr_api_req *r, cr_facade *f)
{
	cr_manifest *m = NULL;
	size_t n = 0;
	enum MHD_Result ok;

	if (cr_facade_manifest_list(f, r->params[0], &m, &n) < 0)
		return cr_api_reply_last(r);
	r->cacheable = true;
	ok = cr_api_reply_json(r, 200, cr_manifest_list_to_json(r->params[0], m, n), NULL);
	cr_facade_manifests_free(m, n);
	return ok;
}

static enum MHD_Result h_manifest_show(cr_api_req *r, cr_facade *f)
{
	cr_manifest m = {0};
	enum MHD_Result ok;

	if (cr_facade_manifest_show(f, r->params[0], &m) < 0)
		return cr_api_reply_last(r);
	r->cacheable = true;
	ok = cr_api_reply_json(r, 200, cr_manifest_to_json(&m), NULL);
	cr_manifest_clear(&m);
	return ok;
}

/* ---- compliance ------------------------------------------------------ */

static enum MHD_Result h_run_start(cr_api_req *r, cr_facade *f)
{
	cr_run run = {0};
	char loc[300];
	enum MHD_Result ok;

	/* Detached: queued, its runner a process of its own; nothing of the
	 * artifacts is read before the answer. */
	if (cr_facade_compliance_run(f, r->params[0], body_str(r, "manifest_id"), r->actor, 0, true, NULL, NULL,
				     &run) < 0)
		return cr_api_reply_last(r);
	location(loc, sizeof(loc), "compliance-runs", run.run_id);
	ok = cr_api_reply_json(r, 202, cr_run_accepted_to_json(&run), loc);
	cr_run_clear(&run);
	return ok;
}

static enum MHD_Result run_view(cr_api_req *r, cr_facade *f, bool stages)
{
	cr_run run = {0};
	enum MHD_Result ok;

	if (cr_facade_compliance_status(f, r->params[0], &run) < 0)
		return cr_api_reply_last(r);
	r->cacheable = run.finished_at[0] != '\0'; /* its finish recorded: nothing of it is live */
	ok = cr_api_reply_json(r, 200, stages ? cr_run_stages_to_json(&run) : cr_run_to_json(&run), NULL);
	cr_run_clear(&run);
	return ok;
}

static enum MHD_Result h_run_status(cr_api_req *r, cr_facade *f) { return run_view(r, f, false); }
static enum MHD_Result h_run_stages(cr_api_req *r, cr_facade *f) { return run_view(r, f, true); }

static enum MHD_Result h_violations(cr_api_req *r, cr_facade *f)
{
	char cursor[CR_CURSOR_MAX], next[CR_CURSOR_MAX];
	int stage = -1, sev = -1;
	cr_violation *v = NULL;
	cr_page_req page;
	size_t n = 0;
	enum MHD_Result ok;

	if (enum_query(r, "stage", parse_stage, &stage) < 0 || enum_query(r, "severity", parse_severity, &sev) < 0 ||
	    page_query(r, &page, cursor, sizeof(cursor)) < 0)
		return MHD_YES;
	if (cr_facade_compliance_violations(f, r->params[0], stage, sev, &page, &v, &n, next) < 0)
		return cr_api_reply_last(r);
	r->cacheable = true;
	ok = cr_api_reply_json(r, 200, cr_violation_list_to_json(r->params[0], v, n, next), NULL);
	cr_facade_violations_free(v, n);
	return ok;
}

static enum MHD_Result h_report(cr_api_req *r, cr_facade *f)
{
	cr_report rep = {0};
	enum MHD_Result ok;

	if (cr_facade_compliance_report(f, r->params[0], &rep) < 0)
		return cr_api_reply_last(r);
	r->cacheable = true;
	ok = cr_api_reply_json(r, 200, cr_report_to_json(&rep), NULL);
	cr_report_clear(&rep);
	return ok;
}

/* ---- release gates --------------------------------------------------- */

static enum MHD_Result decide(cr_api_req *r, cr_facade *f, bool approve)
{
	cr_approval a = {0};
	enum MHD_Result ok;
	int rc = (approve ? cr_facade_release_approve : cr_facade_release_reject)(
		f, r->params[0], body_str(r, "report_id"), r->actor, body_str(r, "comment"), &a);

	if (rc < 0)
		return cr_api_reply_last(r);
	ok = cr_api_reply_json(r, 200, cr_approval_to_json(&a), NULL);
	cr_approval_clear(&a);
	return ok;
}

static enum MHD_Result h_approve(cr_api_req *r, cr_facade *f) { return decide(r, f, true); }
static enum MHD_Result h_reject(cr_api_req *r, cr_facade *f) { return decide(r, f, false); }

static enum MHD_Result h_publish(cr_api_req *r, cr_facade *f)
{
	cr_publication p = {0};
	enum MHD_Result ok;

	if (cr_facade_release_publish(f, r->params[0], body_str(r, "report_id"), body_str(r, "channel"),
				      body_str(r, "tag"), r->actor, &p) < 0)
		return cr_api_reply_last(r);
	ok = cr_api_reply_json(r, 200, cr_publication_to_json(&p), NULL);
	cr_publication_clear(&p);
	return ok;
}

static enum MHD_Result h_revoke(cr_api_req *r, cr_facade *f)
{
	cr_publication p = {0};
	enum MHD_Result ok;

	if (cr_facade_release_revoke(f, r->params[0], body_str(r, "publication_id"), body_str(r, "reason"), r->actor,
				     &p) < 0)
		return cr_api_reply_last(r);
	ok = cr_api_reply_json(r, 200, cr_publication_to_json(&p), NULL);
	cr_publication_clear(&p);
	return ok;
}

/* ---- audit, tasks, policy, health ------------------------------------ */

static enum MHD_Result h_audit(cr_api_req *r, cr_facade *f)
{
	char cursor[CR_CURSOR_MAX], next[CR_CURSOR_MAX], cid[160];
	cr_audit_event *e = NULL;
	cr_page_req page;
	size_t n = 0;
	int got;
	enum MHD_Result ok;

	if ((got = cr_api_query(r, "candidate_id", cid, sizeof(cid))) < 0 ||
	    (got > 0 && cr_candidate_id_invalid(cid))) {
		char msg[300];
		snprintf(msg, sizeof(msg), "invalid candidate_id: %s", got < 0 ? "a bad %-escape" : cr_candidate_id_invalid(cid));
		return cr_api_reply_error(r, CR_EINVALID_ARGUMENT, msg, false);
	}
	if (page_query(r, &page, cursor, sizeof(cursor)) < 0)
		return MHD_YES;
	if (cr_facade_audit_log(f, got > 0 ? cid : NULL, &page, &e, &n, next) < 0)
		return cr_api_reply_last(r);
	r->cacheable = true;
	ok = cr_api_reply_json(r, 200, cr_audit_log_to_json(e, n, next), NULL);
	cr_facade_audit_free(e, n);
	return ok;
}

static enum MHD_Result h_task(cr_api_req *r, cr_facade *f)
{
	cr_task t = {0};
	enum MHD_Result ok;

	if (cr_facade_task_status(f, r->params[0], &t) < 0)
		return cr_api_reply_last(r);
	ok = cr_api_reply_json(r, 200, cr_task_dto_to_json(&t), NULL);
	cr_task_clear(&t);
	return ok;
}

static enum MHD_Result h_policy(cr_api_req *r, cr_facade *f)
{
	cr_policy_view v = {0};
	enum MHD_Result ok;

	if (cr_facade_policy_show(f, &v) < 0)
		return cr_api_reply_last(r);
	ok = cr_api_reply_json(r, 200, cr_policy_view_to_json(&v), NULL);
	cr_policy_view_clear(&v);
	return ok;
}

static enum MHD_Result h_health(cr_api_req *r, cr_facade *f)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddStringToObject(o, "status", "ok") ||
	    !cJSON_AddStringToObject(o, "version", r->srv->o.version ? r->srv->o.version : "unknown") ||
	    !cJSON_AddStringToObject(o, "namespace", cr_facade_namespace(f))) {
		cJSON_Delete(o);
		return cr_api_reply_error(r, CR_EINTERNAL, "out of memory", false);
	}
	return cr_api_reply_json(r, 200, o, NULL);
}

/* ---- the table ------------------------------------------------------- */

static const char *const q_candidates[] = {"status", "limit", "cursor", NULL};
static const char *const q_violations[] = {"stage", "severity", "limit", "cursor", NULL};
static const char *const q_audit[] = {"candidate_id", "limit", "cursor", NULL};

const cr_api_route cr_api_routes[] = {
	{"GET", "/candidates", CR_ROLE_VIEWER, CR_BODY_NONE, q_candidates, h_candidate_list, true},
	{"POST", "/candidates", CR_ROLE_RELEASER, CR_BODY_REGISTER, NULL, h_register, false},
	{"GET", "/candidates/{}", CR_ROLE_VIEWER, CR_BODY_NONE, NULL, h_candidate_show, true},
	{"POST", "/candidates/{}/artifacts/import", CR_ROLE_RELEASER, CR_BODY_ARTIFACTS, NULL, h_import, false},
	{"POST", "/candidates/{}/manifest", CR_ROLE_RELEASER, CR_BODY_MANIFEST, NULL, h_manifest_build, false},
	{"GET", "/candidates/{}/manifests", CR_ROLE_VIEWER, CR_BODY_NONE, NULL, h_manifest_list, true},
	{"GET", "/manifests/{}", CR_ROLE_VIEWER, CR_BODY_NONE, NULL, h_manifest_show, true},
	{"POST", "/candidates/{}/compliance-runs", CR_ROLE_RELEASER, CR_BODY_START_RUN, NULL, h_run_start, false},
	{"GET", "/compliance-runs/{}", CR_ROLE_VIEWER, CR_BODY_NONE, NULL, h_run_status, true},
	{"GET", "/compliance-runs/{}/stages", CR_ROLE_VIEWER, CR_BODY_NONE, NULL, h_run_stages, true},
	{"GET", "/compliance-runs/{}/violations", CR_ROLE_VIEWER, CR_BODY_NONE, q_violations, h_violations, true},
	{"GET", "/compliance-runs/{}/report", CR_ROLE_VIEWER, CR_BODY_NONE, NULL, h_report, true},
	{"POST", "/candidates/{}/approve", CR_ROLE_APPROVER, CR_BODY_DECISION, NULL, h_approve, false},
	{"POST", "/candidates/{}/reject", CR_ROLE_APPROVER, CR_BODY_DECISION, NULL, h_reject, false},
	{"POST", "/candidates/{}/publish", CR_ROLE_APPROVER, CR_BODY_PUBLISH, NULL, h_publish, false},
	{"POST", "/candidates/{}/revoke", CR_ROLE_APPROVER, CR_BODY_REVOKE, NULL, h_revoke, false},
	{"GET", "/audit", CR_ROLE_VIEWER, CR_BODY_NONE, q_audit, h_audit, true},
	{"GET", "/tasks/{}", CR_ROLE_VIEWER, CR_BODY_NONE, NULL, h_task, false},
	{"GET", "/policy", CR_ROLE_VIEWER, CR_BODY_NONE, NULL, h_policy, false},
	{"GET", "/healthz", CR_ROLE_NONE, CR_BODY_NONE, NULL, h_health, false},
	/* Removed: every method, answered 410 before anything else. */
	{NULL, "/checks", CR_ROLE_NONE, CR_BODY_NONE, NULL, NULL, false},
	{NULL, "/checks/{}", CR_ROLE_NONE, CR_BODY_NONE, NULL, NULL, false},
	{NULL, NULL, CR_ROLE_NONE, CR_BODY_NONE, NULL, NULL, false},
};
