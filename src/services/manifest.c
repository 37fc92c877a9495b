/* Manifests: freeze the latest import into an immutable, versioned bill. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/codec.h"
#include "domain/ids.h"
#include "services/internal.h"
#include "util/error.h"
#include "util/json.h"

static int cmp_path(const void *x, const void *y)
{
	return strcmp(((const cr_artifact *)x)->path, ((const cr_artifact *)y)->path);
}

struct build_ctx {
	const cr_svc *s;
	const char *cid;
	cr_svc_who who;
	cr_manifest m;
	char ref[72]; /* the stored manifest's object id */
};

static int build_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct build_ctx *x = vctx;
	const cr_svc *s = x->s;
	cr_candidate_view v;
	cr_import imp = {0};
	cr_strlist mans = {0};
	cJSON *doc = NULL;
	cr_audit_event ev = {0};
	int rc;

	cr_manifest_clear(&x->m);
	cr_svc_who_init(&x->who, x->who.claimed);
	if ((rc = cr_svc_candidate_view(t, s, x->cid, &v)) < 0)
		return rc;
	if (cr_lifecycle_may(v.status, CR_OP_MANIFEST_BUILD)) {
		rc = cr_svc_refuse_transition(t, s, CR_OP_MANIFEST_BUILD, &v, x->who.claimed, commit_anyway, msg, msglen);
		goto cleanup;
	}
	if ((rc = cr_svc_act(t, s, cr_op_audit_type(CR_OP_MANIFEST_BUILD), NULL, &x->who)) < 0)
		goto cleanup;
	if ((rc = cr_svc_get_json(t, s, CR_OBJ_IMPORT, v.latest_import_id, NULL, &doc)) < 0 ||
	    (rc = cr_import_from_json(doc, &imp)) < 0)
		goto cleanup;
	if ((rc = s->ledger->list(t, CR_OBJ_MANIFEST, x->cid, &mans)) < 0)
		goto cleanup;

	cr_manifest *m = &x->m;
	snprintf(m->candidate_id, sizeof(m->candidate_id), "%s", x->cid);
	m->version = (int64_t)mans.n + 1;
	snprintf(m->import_id, sizeof(m->import_id), "%s", imp.import_id);
	snprintf(m->source_commit, sizeof(m->source_commit), "%s", v.c.source_commit);
	m->created_by = strdup(x->who.actor);
	s->clock->now(s->clock->impl, m->created_at);
	/* Take the import's artifacts, sorted by path. */
	m->artifacts = imp.artifacts;
	m->artifact_count = imp.artifact_count;
	m->total_size = imp.total_size;
	imp.artifacts = NULL;
	imp.artifact_count = 0;
	qsort(m->artifacts, m->artifact_count, sizeof(*m->artifacts), cmp_path);
	if ((rc = cr_artifacts_digest(m->artifacts, m->artifact_count, m->manifest_digest)) < 0)
		goto cleanup;
	if ((rc = s->ledger->alloc(t, CR_ID_MANIFEST, m->manifest_id, sizeof(m->manifest_id))) < 0 ||
	    (rc = cr_svc_put_json_ref(t, s, CR_OBJ_MANIFEST, x->cid, m->manifest_id, NULL, cr_manifest_to_json(m),
				      x->ref, sizeof(x->ref))) < 0)
		goto cleanup;
	cr_svc_audit_event_init(&ev, cr_op_audit_type(CR_OP_MANIFEST_BUILD), x->cid, x->who.actor);
	cr_audit_detail(&ev, "manifest_id", m->manifest_id);
	cr_audit_detail(&ev, "import_id", m->import_id);
	cr_audit_detail(&ev, "manifest_digest", m->manifest_digest);
	cr_audit_detail(&ev, "status", cr_status_name(CR_STATUS_MANIFEST_BUILT));
	rc = cr_svc_audit_by(t, s, &ev, &x->who);
	snprintf(msg, msglen, "%s %s %s (%s)", ev.type, x->cid, m->manifest_id, ev.event_id);
	cr_svc_audit_event_done(&ev);
cleanup:
	cr_strlist_clear(&mans);
	cJSON_Delete(doc);
	cr_import_clear(&imp);
	cr_candidate_clear(&v.c);
	return rc;
}

int cr_svc_manifest_build(const cr_svc *s, const char *cid, const char *actor, cr_manifest *out)
{
	struct build_ctx x = {.s = s, .cid = cid};
	const char *why;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((why = cr_candidate_id_invalid(cid)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid candidate id \"%.140s\": %s", cid, why);
	if ((rc = cr_svc_reap_candidate(s, cid, actor)) < 0)
		return rc;
	cr_svc_who_init(&x.who, actor);
	rc = cr_ledger_transact(s->ledger, x.who.actor, build_txn, &x);
	if (rc < 0) {
		cr_manifest_clear(&x.m);
		return rc;
	}
	/* The run that follows reads it packed instead of parsing it. */
	cr_svc_cache_manifest(s, x.ref, &x.m);
	cr_svc_note(s, cid);
	*out = x.m;
	return 0;
}

int cr_svc_manifest_show(const cr_svc *s, const char *mid, cr_manifest *out)
{
	cr_txn *t = NULL;
	cJSON *doc = NULL;
	uint64_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!cr_id_parse(mid, CR_ID_MANIFEST, &n))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid manifest id \"%.40s\" (expected man-NNN)", mid);
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	rc = cr_svc_get_json(t, s, CR_OBJ_MANIFEST, mid, NULL, &doc);
	if (rc == 0)
		rc = cr_manifest_from_json(doc, out);
	cJSON_Delete(doc);
	s->ledger->end(t);
	return rc;
}

int cr_svc_manifest_list(const cr_svc *s, const char *cid, cr_manifest **out, size_t *n)
{
	cr_txn *t = NULL;
	cr_strlist ids = {0};
	cr_candidate_view v;
	cr_manifest *m = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	if ((rc = cr_svc_candidate_view(t, s, cid, &v)) < 0)
		goto cleanup;
	cr_candidate_clear(&v.c);
	if ((rc = s->ledger->list(t, CR_OBJ_MANIFEST, cid, &ids)) < 0)
		goto cleanup;
	if (ids.n && !(m = calloc(ids.n, sizeof(*m)))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < ids.n; i++) {
		cJSON *doc = NULL;
		if ((rc = cr_svc_get_json(t, s, CR_OBJ_MANIFEST, ids.v[i], NULL, &doc)) == 0)
			rc = cr_manifest_from_json(doc, &m[i]);
		cJSON_Delete(doc);
		if (rc < 0) {
			for (size_t k = 0; k <= i; k++)
				cr_manifest_clear(&m[k]);
			free(m);
			m = NULL;
			goto cleanup;
		}
	}
	*out = m;
	*n = ids.n;
cleanup:
	cr_strlist_clear(&ids);
	s->ledger->end(t);
	return rc;
}
