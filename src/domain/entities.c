#include <stdlib.h>
#include <string.h>
#include "domain/entities.h"
#include "util/error.h"

/*
 * Names are the schema enums, indexed by the C enum. A name function returns
 * NULL for a value outside its enum so that a corrupted value cannot be
 * serialized as if it were valid (the codec checks for NULL).
 */
static const char *const status_names[CR_STATUS__COUNT] = {
	"NONE", "DRAFT", "PREPARED", "MANIFEST_BUILT", "CHECK_PENDING",
	"CHECK_RUNNING", "CHECK_PASSED", "CHECK_BLOCKED", "CHECK_ERROR",
	"APPROVED", "REJECTED", "PUBLISHED", "REVOKED",
};
static const char *const stage_names[CR_STAGE__COUNT] = {
	"DATA_PURITY", "INTERNAL_SOURCES_ONLY", "NO_EXTERNAL_ENDPOINTS",
	"MANIFEST_CONSISTENCY",
};
static const char *const severity_names[] = {"BLOCKER", "WARNING"};
static const char *const stage_status_names[] = {"PASSED", "FAILED", "ERROR", "SKIPPED"};
static const char *const run_status_names[] = {"PENDING", "RUNNING", "SUCCEEDED", "FAILED"};
static const char *const final_names[] = {NULL, "PASSED", "BLOCKED", "ERROR"};
static const char *const task_status_names[] = {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n)
		return NULL;
	return names[v];
}

/* Index of NAME in NAMES[FIRST..N), or -1. */
static int index_of(const char *const *names, size_t first, size_t n, const char *name)
{
	if (!name)
		return -1;
	for (size_t i = first; i < n; i++)
		if (names[i] && !strcmp(names[i], name))
			return (int)i;
	return -1;
}

static int unknown(const char *what, const char *name)
{
	return cr_error_set(CR_EINVALID_INPUT, "unknown %s \"%.64s\"", what, name ? name : "(null)");
}

const char *cr_status_name(cr_status s) { return name_of(status_names, NELEM(status_names), (int)s); }
const char *cr_stage_name(cr_stage s) { return name_of(stage_names, NELEM(stage_names), (int)s); }
const char *cr_severity_name(cr_severity s) { return name_of(severity_names, NELEM(severity_names), (int)s); }
const char *cr_stage_status_name(cr_stage_status s) { return name_of(stage_status_names, NELEM(stage_status_names), (int)s); }
const char *cr_run_status_name(cr_run_status s) { return name_of(run_status_names, NELEM(run_status_names), (int)s); }
const char *cr_final_name(cr_final f) { return name_of(final_names, NELEM(final_names), (int)f); }
const char *cr_task_status_name(int s) { return name_of(task_status_names, NELEM(task_status_names), s); }

/* "NONE" is not a CandidateStatus of the schemas (an unregistered candidate
 * has no status), so parsing starts at DRAFT. */
int cr_status_parse(const char *name, cr_status *out)
{
	int i = index_of(status_names, CR_STATUS_DRAFT, NELEM(status_names), name);
	if (i < 0)
		return unknown("candidate status", name);
	*out = (cr_status)i;
	return 0;
}

int cr_stage_parse(const char *name, cr_stage *out)
{
	int i = index_of(stage_names, 0, NELEM(stage_names), name);
	if (i < 0)
		return unknown("stage", name);
	*out = (cr_stage)i;
	return 0;
}

int cr_severity_parse(const char *name, cr_severity *out)
{
	int i = index_of(severity_names, 0, NELEM(severity_names), name);
	if (i < 0)
		return unknown("severity", name);
	*out = (cr_severity)i;
	return 0;
}

int cr_stage_status_parse(const char *name, cr_stage_status *out)
{
	int i = index_of(stage_status_names, 0, NELEM(stage_status_names), name);
	if (i < 0)
		return unknown("stage status", name);
	*out = (cr_stage_status)i;
	return 0;
}

int cr_run_status_parse(const char *name, cr_run_status *out)
{
	int i = index_of(run_status_names, 0, NELEM(run_status_names), name);
	if (i < 0)
		return unknown("run status", name);
	*out = (cr_run_status)i;
	return 0;
}

/* Only the three verdicts parse: a stored final_status is never "none". */
int cr_final_parse(const char *name, cr_final *out)
{
	int i = index_of(final_names, CR_FINAL_PASSED, NELEM(final_names), name);
	if (i < 0)
		return unknown("final status", name);
	*out = (cr_final)i;
	return 0;
}

int cr_task_status_parse(const char *name, int *out)
{
	int i = index_of(task_status_names, 0, NELEM(task_status_names), name);
	if (i < 0)
		return unknown("task status", name);
	*out = i;
	return 0;
}

void cr_candidate_clear(cr_candidate *c)
{
	if (!c)
		return;
	free(c->created_by);
	memset(c, 0, sizeof(*c));
}

void cr_candidate_view_clear(cr_candidate_view *v)
{
	if (!v)
		return;
	cr_candidate_clear(&v->c);
	memset(v, 0, sizeof(*v));
}

void cr_artifact_clear(cr_artifact *a)
{
	if (!a)
		return;
	free(a->path);
	free(a->source);
	free(a->kind);
	free(a->media_type);
	memset(a, 0, sizeof(*a));
}

static void artifacts_free(cr_artifact *a, size_t n)
{
	if (!a)
		return;
	for (size_t i = 0; i < n; i++)
		cr_artifact_clear(&a[i]);
	free(a);
}

void cr_import_clear(cr_import *i)
{
	if (!i)
		return;
	free(i->imported_by);
	free(i->artifact_root);
	artifacts_free(i->artifacts, i->artifact_count);
	memset(i, 0, sizeof(*i));
}

void cr_manifest_clear(cr_manifest *m)
{
	if (!m)
		return;
	free(m->created_by);
	free(m->artifact_root);
	if (m->strings) {
		free(m->artifacts);
		free(m->strings);
	} else {
		artifacts_free(m->artifacts, m->artifact_count);
	}
	memset(m, 0, sizeof(*m));
}

void cr_stage_result_clear(cr_stage_result *s)
{
	if (!s)
		return;
	free(s->error);
	memset(s, 0, sizeof(*s));
}

void cr_run_clear(cr_run *r)
{
	if (!r)
		return;
	free(r->requested_by);
	free(r->reason);
	/* All slots, not just the completed prefix: a failed fold may have
	 * left an error string past stage_count. */
	for (size_t i = 0; i < CR_STAGE__COUNT; i++)
		cr_stage_result_clear(&r->stages[i]);
	memset(r, 0, sizeof(*r));
}

void cr_violation_clear(cr_violation *v)
{
	if (!v)
		return;
	free(v->artifact_path);
	free(v->message);
	free(v->excerpt);
	memset(v, 0, sizeof(*v));
}

void cr_report_clear(cr_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < CR_STAGE__COUNT; i++)
		cr_stage_result_clear(&r->stages[i]);
	memset(r, 0, sizeof(*r));
}

void cr_approval_clear(cr_approval *a)
{
	if (!a)
		return;
	free(a->actor);
	free(a->comment);
	memset(a, 0, sizeof(*a));
}

void cr_publication_clear(cr_publication *p)
{
	if (!p)
		return;
	free(p->actor);
	free(p->revoked_by);
	free(p->reason);
	memset(p, 0, sizeof(*p));
}

void cr_audit_event_clear(cr_audit_event *e)
{
	if (!e)
		return;
	free(e->actor);
	for (size_t i = 0; i < e->ndetails && i < NELEM(e->details); i++)
		free(e->details[i].value);
	free(e->error_message);
	memset(e, 0, sizeof(*e));
}

void cr_task_clear(cr_task *t)
{
	if (!t)
		return;
	free(t->error);
	memset(t, 0, sizeof(*t));
}

unsigned cr_role_for(const char *t)
{
	if (!strcmp(t, "release.approve") || !strcmp(t, "release.reject") || !strcmp(t, "release.publish") ||
	    !strcmp(t, "release.revoke"))
		return CR_SIGNER_APPROVER;
	if (!strcmp(t, "policy.publish"))
		return CR_SIGNER_POLICY_ADMIN;
	return CR_SIGNER_RELEASER;
}

const char *cr_role_name(unsigned role)
{
	return role == CR_SIGNER_APPROVER ? "approver" : role == CR_SIGNER_POLICY_ADMIN ? "policy-admin" : "releaser";
}

bool cr_policy_requires_signature(const cr_policy *p, const char *t)
{
	for (size_t i = 0; p && i < p->require_count; i++)
		if (!strcmp(p->require_signatures[i], t))
			return true;
	return false;
}

void cr_policy_clear(cr_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->signer_count; i++)
		free(p->signers[i].public_key);
	free(p->signers);
	for (size_t i = 0; i < p->require_count; i++)
		free(p->require_signatures[i]);
	free(p->require_signatures);
	free(p->release_tag_pattern);
	if (p->rules) {
		for (size_t i = 0; i < p->rule_count; i++) {
			free(p->rules[i].description);
			free(p->rules[i].pattern);
		}
		free(p->rules);
	}
	memset(p, 0, sizeof(*p));
}

void cr_registry_clear(cr_registry *r)
{
	if (!r)
		return;
	if (r->sources) {
		for (size_t i = 0; i < r->source_count; i++)
			free(r->sources[i].prefix);
		free(r->sources);
	}
	if (r->hosts) {
		for (size_t i = 0; i < r->host_count; i++)
			free(r->hosts[i]);
		free(r->hosts);
	}
	memset(r, 0, sizeof(*r));
}

int cr_audit_detail_set(cr_audit_event *e, const char *key, const char *value)
{
	size_t i;
	char *copy;

	if (!e || !key || !value || !*key)
		return cr_error_set(CR_EINVALID_ARGUMENT, "audit detail needs a key and a value");
	/* "error" is the ErrorInfo object of a refusal (error_code/message),
	 * never a string; a longer key would be truncated into another key. */
	if (!strcmp(key, "error"))
		return cr_error_set(CR_EINVALID_ARGUMENT, "audit detail \"error\" is reserved for the refusal's error");
	if (strlen(key) >= sizeof(e->details[0].key))
		return cr_error_set(CR_EINVALID_ARGUMENT, "audit detail key \"%.40s\" is too long", key);
	copy = strdup(value);
	if (!copy)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	/* Same key twice replaces the value: a JSON object has unique keys. */
	for (i = 0; i < e->ndetails; i++) {
		if (!strcmp(e->details[i].key, key)) {
			free(e->details[i].value);
			e->details[i].value = copy;
			return 0;
		}
	}
	if (e->ndetails >= NELEM(e->details)) {
		free(copy);
		return cr_error_set(CR_EINVALID_ARGUMENT, "an audit event holds at most %zu details", NELEM(e->details));
	}
	memcpy(e->details[e->ndetails].key, key, strlen(key) + 1);
	e->details[e->ndetails].value = copy;
	e->ndetails++;
	return 0;
}

void cr_audit_detail(cr_audit_event *e, const char *key, const char *value)
{
	(void)cr_audit_detail_set(e, key, value);
}

int cr_push_verdict_add(cr_push_verdict *v, const cr_push_finding *f)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		cr_push_finding *p = realloc(v->v, cap * sizeof(*p));
		if (!p)
			return cr_error_set(CR_EINTERNAL, "out of memory");
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = *f;
	v->refused += f->refused;
	return 0;
}

void cr_push_verdict_clear(cr_push_verdict *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}
