/* Requesting a compliance run: the gates, the policy snapshot, the task
 * file and the requested event in one transaction; then the run is handed
 * to its runner (this process, or a detached one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "domain/ids.h"
#include "services/compliance_internal.h"
#include "util/json.h"

static void drop_task(struct request_ctx *x)
{
	if (!x->locked_task[0])
		return;
	x->s->tasks->discard(x->s->tasks->impl, x->locked_task);
	x->s->tasks->unlock(x->s->tasks->impl, x->locked_task);
	x->locked_task[0] = 0;
}

/* The artifact root of the candidate's latest import (the one its latest
 * manifest froze, as the gates made sure), from the import's audit event,
 * which names it; from the import itself, a whole artifact list to parse,
 * only for a ledger written before events named it. */
static int artifact_root_of(cr_txn *t, const cr_svc *s, const cr_candidate_view *v, char **out)
{
	cJSON *doc = NULL;
	cr_import imp = {0};
	const char *root = NULL;
	int rc;

	*out = NULL;
	if (v->latest_import_event[0] &&
	    (rc = cr_svc_get_json(t, s, CR_OBJ_AUDIT, v->latest_import_event, NULL, &doc)) < 0)
		return rc;
	root = cr_json_str(cJSON_GetObjectItemCaseSensitive(doc, "details"), "artifact_root");
	if (root && root[0] == '/') {
		*out = strdup(root);
		cJSON_Delete(doc);
		return *out ? 0 : cr_error_set(CR_EINTERNAL, "out of memory");
	}
	cJSON_Delete(doc);
	if ((rc = cr_svc_get_json(t, s, CR_OBJ_IMPORT, v->latest_import_id, NULL, &doc)) < 0 ||
	    (rc = cr_import_from_json(doc, &imp)) < 0) {
		cJSON_Delete(doc);
		return rc;
	}
	cJSON_Delete(doc);
	*out = imp.artifact_root;
	imp.artifact_root = NULL;
	cr_import_clear(&imp);
	return 0;
}

/* Manifest MID as stored, from the local cache of packed manifests when it
 * has the entry for this exact object (a 2.7 MB manifest parses in ~30 ms,
 * unpacks in ~2), else from its JSON, and then into the cache. Either way
 * the digest must be the one its manifest.build audit event recorded, and
 * the run recomputes it from the very artifacts it checks
 * (MANIFEST_CONSISTENCY): a cache entry that lied about them cannot pass. */
static int load_manifest(cr_txn *t, const cr_svc *s, const char *mid, const cr_candidate_view *v, cr_manifest *m)
{
	char ref[72];
	cJSON *doc = NULL;
	int rc = s->ledger->ref_of(t, CR_OBJ_MANIFEST, mid, NULL, ref, sizeof(ref));

	if (rc == CR_ENOT_FOUND)
		return cr_error_set(CR_ENOT_FOUND, "manifest %s not found", mid);
	if (rc < 0)
		return rc;
	if (cr_svc_cached_manifest(s, ref, m) < 0 || strcmp(m->manifest_id, mid)) {
		cr_manifest_clear(m);
		cr_error_clear();
		if ((rc = cr_svc_get_json(t, s, CR_OBJ_MANIFEST, mid, NULL, &doc)) < 0 ||
		    (rc = cr_manifest_from_json(doc, m)) < 0) {
			cJSON_Delete(doc);
			return rc;
		}
		cJSON_Delete(doc);
		cr_svc_cache_manifest(s, ref, m);
	}
	if (!strcmp(mid, v->latest_manifest_id) && v->latest_manifest_digest[0] &&
	    strcmp(m->manifest_digest, v->latest_manifest_digest)) {
		rc = cr_error_set(CR_EINTEGRITY, "manifest %s records digest %.12s…, its manifest.build event %.12s…", mid,
				  m->manifest_digest, v->latest_manifest_digest);
		cr_manifest_clear(m);
		return rc;
	}
	return 0;
}

static int request_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct request_ctx *x = vctx;
	const cr_svc *s = x->s;
	cr_candidate_view v;
	cr_audit_event ev = {0};
	cr_task task = {0};
	int rc;

	drop_task(x); /* from a previous attempt that lost its race */
	cr_svc_who_init(&x->who, x->actor);
	cr_manifest_clear(&x->m);
	free(x->artifact_root);
	x->artifact_root = NULL;
	/* Only the policy the ledger records as in force is trusted. */
	if ((rc = cr_svc_policy_check_bound(t, s, &x->ps)) < 0)
		return rc;
	if ((rc = cr_svc_candidate_view(t, s, x->cid, &v)) < 0)
		return rc;
	if (cr_lifecycle_may(v.status, CR_OP_RUN)) {
		rc = cr_svc_refuse_transition(t, s, CR_OP_RUN, &v, x->actor, commit_anyway, msg, msglen);
		goto cleanup;
	}
	if ((rc = load_manifest(t, s, x->mid, &v, &x->m)) < 0)
		goto cleanup;
	if (strcmp(x->m.candidate_id, x->cid)) {
		cr_error_set(CR_EGATE_REFUSED, "cannot run a compliance check of %s: manifest %s belongs to candidate %s",
			     x->cid, x->mid, x->m.candidate_id);
		rc = cr_svc_refuse_gate(t, s, CR_OP_RUN, &v, x->actor, commit_anyway, msg, msglen, "manifest_id", x->mid);
		goto cleanup;
	}
	if (strcmp(x->mid, v.latest_manifest_id)) {
		cr_error_set(CR_EGATE_REFUSED,
			     "cannot run a compliance check of %s: manifest %s is not the latest manifest (%s)", x->cid,
			     x->mid, v.latest_manifest_id);
		rc = cr_svc_refuse_gate(t, s, CR_OP_RUN, &v, x->actor, commit_anyway, msg, msglen, "manifest_id", x->mid);
		goto cleanup;
	}
	if (strcmp(x->m.import_id, v.latest_import_id)) {
		cr_error_set(CR_EGATE_REFUSED,
			     "cannot run a compliance check of %s: manifest %s was built from %s, but the latest import is %s",
			     x->cid, x->mid, x->m.import_id, v.latest_import_id);
		cr_error_hint("build a new manifest: git clean-release manifest build --candidate-id %s", x->cid);
		rc = cr_svc_refuse_gate(t, s, CR_OP_RUN, &v, x->actor, commit_anyway, msg, msglen, "manifest_id", x->mid);
		goto cleanup;
	}
	if ((rc = artifact_root_of(t, s, &v, &x->artifact_root)) < 0)
		goto cleanup;

	if ((rc = cr_svc_act(t, s, cr_op_audit_type(CR_OP_RUN), NULL, &x->who)) < 0)
		goto cleanup;
	/* Allocate the run; its task file is locked and written before the
	 * ledger commit, so a runner that dies at any point is detectable. */
	cr_run *r = &x->run;
	cr_run_clear(r);
	if ((rc = s->ledger->alloc(t, CR_ID_RUN, r->run_id, sizeof(r->run_id))) < 0)
		goto cleanup;
	snprintf(r->task_id, sizeof(r->task_id), "task-%s", r->run_id);
	rc = s->tasks->lock(s->tasks->impl, r->task_id);
	if (rc == CR_ECONFLICT) {
		rc = CR_ERETRY; /* another process took this run id: start over */
		goto cleanup;
	}
	if (rc < 0)
		goto cleanup;
	snprintf(x->locked_task, sizeof(x->locked_task), "%s", r->task_id);
	snprintf(task.task_id, sizeof(task.task_id), "%s", r->task_id);
	snprintf(task.run_id, sizeof(task.run_id), "%s", r->run_id);
	task.status = CR_TASK_QUEUED;
	task.progress.total = x->m.artifact_count;
	s->clock->now(s->clock->impl, task.created_at);
	memcpy(task.updated_at, task.created_at, sizeof(task.updated_at));
	rc = s->tasks->create(s->tasks->impl, &task);
	if (rc == CR_ECONFLICT) /* a stale file of a request that never committed */
		rc = s->tasks->save(s->tasks->impl, &task);
	if (rc < 0)
		goto cleanup;

	snprintf(r->candidate_id, sizeof(r->candidate_id), "%s", x->cid);
	snprintf(r->manifest_id, sizeof(r->manifest_id), "%s", x->mid);
	snprintf(r->manifest_digest, sizeof(r->manifest_digest), "%s", x->m.manifest_digest);
	r->policy = x->ps;
	r->registry = x->rs;
	r->requested_by = strdup(x->who.actor);
	s->clock->now(s->clock->impl, r->requested_at);
	r->status = CR_RUN_PENDING;
	r->progress.total = x->m.artifact_count;
	if ((rc = cr_svc_put_json(t, s, CR_OBJ_RUN_EVENT, x->cid, r->run_id, "requested", cr_run_requested_to_json(r))) < 0)
		goto cleanup;
	if (x->start_now) {
		memcpy(r->started_at, r->requested_at, sizeof(r->started_at));
		if ((rc = cr_svc_put_json(t, s, CR_OBJ_RUN_EVENT, x->cid, r->run_id, "started",
					  cr_run_started_to_json(r->run_id, r->started_at, x->m.artifact_count,
								 (int64_t)x->jobs))) < 0)
			goto cleanup;
	}
	cr_svc_audit_event_init(&ev, cr_op_audit_type(CR_OP_RUN), x->cid, x->who.actor);
	cr_audit_detail(&ev, "run_id", r->run_id);
	cr_audit_detail(&ev, "manifest_id", x->mid);
	cr_audit_detail(&ev, "task_id", r->task_id);
	cr_audit_detail(&ev, "status", cr_status_name(x->start_now ? CR_STATUS_CHECK_RUNNING : CR_STATUS_CHECK_PENDING));
	rc = cr_svc_audit_by(t, s, &ev, &x->who);
	snprintf(msg, msglen, "%s %s %s %s (%s)", ev.type, x->cid, r->run_id, x->mid, ev.event_id);
	cr_svc_audit_event_done(&ev);
cleanup:
	cr_task_clear(&task);
	cr_candidate_clear(&v.c);
	return rc;
}

static void request_clear(struct request_ctx *x)
{
	free(x->policy_json);
	free(x->registry_json);
	cr_run_clear(&x->run);
	cr_manifest_clear(&x->m);
	free(x->artifact_root);
}

int cr_svc_run(const cr_svc *s, const char *cid, const char *mid, const char *actor, unsigned jobs, bool detach,
	       cr_svc_progress_fn progress, void *pctx, cr_run *out)
{
	struct request_ctx x = {.s = s, .cid = cid, .mid = mid, .actor = actor, .start_now = !detach};
	const char *why;
	uint64_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((why = cr_candidate_id_invalid(cid)))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid candidate id \"%.140s\": %s", cid, why);
	if (!cr_id_parse(mid, CR_ID_MANIFEST, &n))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid manifest id \"%.40s\" (expected man-NNN)", mid);
	if (jobs == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = c > 0 ? (unsigned)c : 1;
	}
	x.jobs = jobs;
	/* Trusted policy only: the tip of the policy ref, now. */
	if ((rc = s->policy->resolve(s->policy->impl, &x.policy_json, &x.registry_json, &x.ps, &x.rs, true)) < 0)
		goto cleanup;
	if ((rc = cr_svc_reap_candidate(s, cid, actor)) < 0)
		goto cleanup;
	if ((rc = cr_ledger_transact(s->ledger, x.who.actor, request_txn, &x)) < 0) {
		drop_task(&x);
		goto cleanup;
	}
	x.actor = x.who.actor;

	struct exec e = {.s = s, .req = &x, .progress = progress, .pctx = pctx};
	if (detach) {
		/* The runner is handed the task lock; this process then lets go
		 * of its copy (the lock stays held by the runner). The status
		 * note is written while the runner starts, not before. */
		rc = s->tasks->spawn(s->tasks->impl, x.run.task_id, jobs);
		s->tasks->unlock(s->tasks->impl, x.run.task_id);
		cr_svc_note(s, cid);
		if (rc < 0)
			goto cleanup; /* the next reader finishes it as ERROR */
		rc = cr_svc_run_status(s, x.run.run_id, out);
		goto cleanup;
	}
	cr_svc_note(s, cid);
	rc = cr_compliance_execute(&e);
	cr_compliance_exec_clear(&e);
	s->tasks->unlock(s->tasks->impl, x.run.task_id);
	/* The finished run as anyone would now see it; an error of the run
	 * itself wins over one of this read. */
	cr_error saved;
	cr_error_save(&saved);
	int src = cr_svc_run_status(s, x.run.run_id, out);
	if (rc == 0)
		rc = src;
	else if (src == 0 && out->status == CR_RUN_FAILED && out->reason)
		rc = 0; /* the run ended ERROR, recorded, its reason the cause */
	else
		cr_error_restore(&saved);
cleanup:
	request_clear(&x);
	return rc;
}

/* The request of a queued run rebuilt from the ledger, for its runner: the
 * run's requested event, the policy snapshot it names, the manifest and the
 * artifact root, all as they were when it was requested. */
static int queued_request(const cr_svc *s, const char *run_id, struct request_ctx *x)
{
	cr_txn *t = NULL;
	cr_candidate_view v = {0};
	cr_snapshot ps, rs;
	int rc;

	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	if ((rc = cr_compliance_load_run(t, s, run_id, &x->run)) < 0)
		goto cleanup;
	if (x->run.started_at[0] || cr_compliance_run_finished(&x->run)) {
		rc = cr_error_set(CR_EINVALID_TRANSITION, "run %s is not queued: it was started already", run_id);
		goto cleanup;
	}
	x->cid = x->run.candidate_id;
	x->mid = x->run.manifest_id;
	x->actor = x->run.requested_by;
	x->ps = x->run.policy;
	x->rs = x->run.registry;
	if ((rc = s->policy->at(s->policy->impl, x->ps.commit, &x->policy_json, &x->registry_json, &ps, &rs)) < 0)
		goto cleanup;
	if (strcmp(ps.digest, x->ps.digest) || strcmp(rs.digest, x->rs.digest)) {
		rc = cr_error_set(CR_EINTEGRITY, "run %s: policy commit %.12s does not hold the policy it was requested with",
				  run_id, x->ps.commit);
		goto cleanup;
	}
	if ((rc = cr_svc_candidate_view(t, s, x->cid, &v)) < 0 || (rc = load_manifest(t, s, x->mid, &v, &x->m)) < 0 ||
	    (rc = artifact_root_of(t, s, &v, &x->artifact_root)) < 0)
		goto cleanup;
cleanup:
	cr_candidate_clear(&v.c);
	s->ledger->end(t);
	return rc;
}

int cr_svc_task_run(const cr_svc *s, const char *task_id, unsigned jobs, int lock_fd)
{
	struct request_ctx x = {.s = s, .jobs = jobs ? jobs : 1};
	const char *why = cr_task_id_invalid(task_id);
	int rc;

	if (why)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid task id \"%.140s\": %s", task_id, why);
	if (strncmp(task_id, "task-", 5))
		return cr_error_set(CR_EINVALID_ARGUMENT, "task %s is not a compliance run's task", task_id);
	if ((rc = s->tasks->adopt(s->tasks->impl, task_id, lock_fd)) < 0)
		return rc;
	if ((rc = queued_request(s, task_id + 5, &x)) == 0) {
		struct exec e = {.s = s, .req = &x};
		rc = cr_compliance_execute(&e);
		cr_compliance_exec_clear(&e);
	}
	/* A request that cannot be rebuilt leaves the run to the reaper: the
	 * lock goes with this process, and every reader reports it ERROR. */
	s->tasks->unlock(s->tasks->impl, task_id);
	request_clear(&x);
	return rc;
}
