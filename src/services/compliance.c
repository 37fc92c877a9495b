/*
 * Compliance runs. A run is requested (gates, policy snapshot, task file),
 * executed by a runner that forks the worker pool and is the only ledger
 * writer of the run, and finished with exactly one report. A run whose runner
 * vanished is finished as ERROR by the next command that looks at it.
 *
 * Ledger commits of one run, in order: requested (+ audit compliance.run),
 * started, violation chunks as they fill, stage-1 … stage-4, then the
 * report with the finished event (+ audit compliance.finish).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "domain/codec.h"
#include "domain/ids.h"
#include "engine/engine.h"
#include "services/services.h"
#include "util/error.h"
#include "util/json.h"

#define CHUNK_MAX 4096      /* violations per chunk */
#define SEAL_MS 1000        /* a worker stores what it holds at least this often */
#define CHUNK_COMMIT_MS 1000 /* stored chunks join the ledger at most this often while the run goes on */

static const char *const stage_subs[CR_STAGE__COUNT] = {"stage-1", "stage-2", "stage-3", "stage-4"};

/* ---- reading a run ---------------------------------------------------- */

static int check_run_id(const char *run_id)
{
	uint64_t n;
	if (!cr_id_parse(run_id, CR_ID_RUN, &n))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid run id \"%.40s\" (expected run-NNN)", run_id);
	return 0;
}

/* Fold the run's stored events into OUT (no task progress). */
static int load_run(cr_txn *t, const cr_svc *s, const char *run_id, cr_run *out)
{
	static const char *const order[] = {"requested", "started", "stage-1", "stage-2", "stage-3", "stage-4", "finished"};
	int rc;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		cJSON *ev = NULL;
		rc = cr_svc_get_json(t, s, CR_OBJ_RUN_EVENT, run_id, order[i], &ev);
		if (rc == CR_ENOT_FOUND) {
			if (i == 0)
				return cr_error_set(CR_ENOT_FOUND, "run %s not found", run_id);
			continue;
		}
		if (rc == 0)
			rc = cr_run_apply_event(ev, out);
		cJSON_Delete(ev);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool run_finished(const cr_run *r)
{
	return r->status == CR_RUN_SUCCEEDED || r->status == CR_RUN_FAILED;
}

/* Live progress: the task's while it runs, else what the events say. */
static void add_progress(const cr_svc *s, cr_run *r)
{
	cr_task task = {0};
	if (r->status == CR_RUN_SUCCEEDED) {
		r->progress.done = r->progress.total;
		return;
	}
	if (s->tasks->load(s->tasks->impl, r->task_id, &task) == 0) {
		r->progress = task.progress;
		if (!r->progress.total)
			r->progress.total = task.progress.total;
	}
	cr_task_clear(&task);
	cr_error_clear();
}

/* ---- finishing a run -------------------------------------------------- */

/* A violation chunk stored (by a worker, or the runner) but not yet in a
 * ledger commit. */
struct stored_chunk {
	uint64_t chunk, count;
	char ref[CR_POOL_REF_MAX];
};

struct finish_ctx {
	const cr_svc *s;
	const char *run_id;
	const char *actor;
	/* Violation chunks stored and still to join the ledger, in this commit. */
	const struct stored_chunk *chunks;
	size_t nchunks;
	/* Stage results computed by the runner; NULL entries are SKIPPED. */
	cr_stage_result *stages[CR_STAGE__COUNT];
	uint64_t total, blocker, warning, by_stage[CR_STAGE__COUNT];
	bool aborted;       /* the run did not evaluate every stage */
	const char *reason; /* why, when aborted */
	cr_report report;   /* out */
	bool already;       /* someone else finished it */
};

static cr_final final_of(cr_stage_result *st[CR_STAGE__COUNT])
{
	bool error = false, failed = false;
	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		if (st[i]->status == CR_SS_ERROR || st[i]->status == CR_SS_SKIPPED)
			error = true;
		else if (st[i]->status == CR_SS_FAILED)
			failed = true;
	}
	return error ? CR_FINAL_ERROR : failed ? CR_FINAL_BLOCKED : CR_FINAL_PASSED;
}

/* One commit: any stage events still missing (SKIPPED), the report, the
 * finished event and the compliance.finish audit event. Idempotent. */
static int finish_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct finish_ctx *x = vctx;
	const cr_svc *s = x->s;
	cr_run run;
	cr_stage_result skipped[CR_STAGE__COUNT];
	cr_stage_result *st[CR_STAGE__COUNT];
	cr_audit_event ev = {0};
	char now[CR_TS_MAX];
	int rc;
	(void)commit_anyway;

	memset(skipped, 0, sizeof(skipped));
	cr_report_clear(&x->report);
	if ((rc = load_run(t, s, x->run_id, &run)) < 0)
		return rc;
	if (run_finished(&run)) {
		x->already = true;
		cr_run_clear(&run);
		return 0;
	}
	s->clock->now(s->clock->impl, now);
	for (size_t i = 0; i < x->nchunks; i++) {
		char sub[24];
		snprintf(sub, sizeof(sub), "%06" PRIu64, x->chunks[i].chunk);
		if ((rc = s->ledger->put_ref(t, CR_OBJ_VIOLATIONS, run.candidate_id, x->run_id, sub, x->chunks[i].ref)) < 0)
			goto cleanup;
	}
	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		if ((size_t)i < run.stage_count) {
			st[i] = &run.stages[i];
			continue;
		}
		if (x->stages[i]) {
			st[i] = x->stages[i];
		} else {
			cr_stage_result *k = &skipped[i];
			snprintf(k->run_id, sizeof(k->run_id), "%s", x->run_id);
			k->stage = (cr_stage)i;
			k->status = CR_SS_SKIPPED;
			snprintf(k->started_at, sizeof(k->started_at), "%s", run.started_at[0] ? run.started_at : now);
			snprintf(k->finished_at, sizeof(k->finished_at), "%s", now);
			k->error = strdup(x->reason ? x->reason : "not evaluated: the run was aborted");
			st[i] = k;
		}
		if ((rc = cr_svc_put_json(t, s, CR_OBJ_RUN_EVENT, run.candidate_id, x->run_id, stage_subs[i],
					  cr_run_stage_completed_to_json(st[i], now))) < 0)
			goto cleanup;
	}

	cr_report *r = &x->report;
	if ((rc = s->ledger->alloc(t, CR_ID_REPORT, r->report_id, sizeof(r->report_id))) < 0)
		goto cleanup;
	snprintf(r->run_id, sizeof(r->run_id), "%s", x->run_id);
	snprintf(r->candidate_id, sizeof(r->candidate_id), "%s", run.candidate_id);
	snprintf(r->manifest_id, sizeof(r->manifest_id), "%s", run.manifest_id);
	snprintf(r->manifest_digest, sizeof(r->manifest_digest), "%s", run.manifest_digest);
	snprintf(r->policy_digest, sizeof(r->policy_digest), "%s", run.policy.digest);
	snprintf(r->registry_digest, sizeof(r->registry_digest), "%s", run.registry.digest);
	r->final_status = final_of(st);
	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		r->stages[i] = *st[i];
		r->stages[i].error = st[i]->error ? strdup(st[i]->error) : NULL;
		r->by_stage[i] = x->by_stage[i];
	}
	r->total = x->total;
	r->blocker = x->blocker;
	r->warning = x->warning;
	snprintf(r->generated_at, sizeof(r->generated_at), "%s", now);
	if ((rc = cr_report_digest(r, r->report_digest)) < 0 ||
	    (rc = cr_svc_put_json(t, s, CR_OBJ_REPORT, run.candidate_id, r->report_id, NULL, cr_report_to_json(r))) < 0)
		goto cleanup;

	run.status = x->aborted ? CR_RUN_FAILED : CR_RUN_SUCCEEDED;
	run.final_status = r->final_status;
	snprintf(run.finished_at, sizeof(run.finished_at), "%s", now);
	snprintf(run.report_id, sizeof(run.report_id), "%s", r->report_id);
	free(run.reason);
	run.reason = x->aborted || r->final_status == CR_FINAL_ERROR
			     ? strdup(x->reason ? x->reason : "a stage could not be evaluated")
			     : NULL;
	if ((rc = cr_svc_put_json(t, s, CR_OBJ_RUN_EVENT, run.candidate_id, x->run_id, "finished",
				  cr_run_finished_to_json(&run))) < 0)
		goto cleanup;

	snprintf(ev.type, sizeof(ev.type), "compliance.finish");
	snprintf(ev.candidate_id, sizeof(ev.candidate_id), "%s", run.candidate_id);
	ev.actor = (char *)(x->actor ? x->actor : run.requested_by);
	ev.accepted = true;
	cr_audit_detail(&ev, "run_id", x->run_id);
	cr_audit_detail(&ev, "report_id", r->report_id);
	cr_audit_detail(&ev, "final_status", cr_final_name(r->final_status));
	cr_audit_detail(&ev, "status", r->final_status == CR_FINAL_PASSED    ? "CHECK_PASSED"
					: r->final_status == CR_FINAL_BLOCKED ? "CHECK_BLOCKED"
									      : "CHECK_ERROR");
	if (run.reason)
		cr_audit_detail(&ev, "reason", run.reason);
	rc = cr_svc_audit(t, s, &ev);
	snprintf(msg, msglen, "compliance.finish %s %s %s %s (%s)", run.candidate_id, x->run_id, r->report_id,
		 cr_final_name(r->final_status), ev.event_id);
	ev.actor = NULL;
	cr_audit_event_clear(&ev);
cleanup:
	for (int i = 0; i < CR_STAGE__COUNT; i++)
		cr_stage_result_clear(&skipped[i]);
	cr_run_clear(&run);
	return rc;
}

/* Count the violations already stored for a run (for a reaped run). */
static int count_stored(cr_txn *t, const cr_svc *s, const char *run_id, struct finish_ctx *x)
{
	cr_strlist chunks = {0};
	int rc = s->ledger->list(t, CR_OBJ_VIOLATIONS, run_id, &chunks);
	for (size_t i = 0; rc == 0 && i < chunks.n; i++) {
		cJSON *doc = NULL, *v;
		if ((rc = cr_svc_get_json(t, s, CR_OBJ_VIOLATIONS, run_id, chunks.v[i], &doc)) < 0)
			break;
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "violations"))
		{
			cr_stage st;
			cr_severity sev;
			const char *sn = cr_json_str(v, "stage"), *vn = cr_json_str(v, "severity");
			if (!sn || !vn || cr_stage_parse(sn, &st) < 0 || cr_severity_parse(vn, &sev) < 0)
				continue;
			x->total++;
			x->by_stage[st]++;
			if (sev == CR_SEV_BLOCKER)
				x->blocker++;
			else
				x->warning++;
		}
		cJSON_Delete(doc);
	}
	cr_strlist_clear(&chunks);
	return rc;
}

/* Finish RUN_ID as FAILED/ERROR if it is unfinished and its runner is gone. */
int cr_svc_reap_run(const cr_svc *s, const char *run_id)
{
	cr_txn *t = NULL;
	cr_run run;
	struct finish_ctx x = {.s = s, .run_id = run_id, .aborted = true};
	char reason[256];
	int rc;

	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	rc = load_run(t, s, run_id, &run);
	if (rc < 0 || run_finished(&run)) {
		s->ledger->end(t);
		if (rc == 0)
			cr_run_clear(&run);
		return rc;
	}
	int alive = s->tasks->alive(s->tasks->impl, run.task_id);
	if (alive != 0) {
		s->ledger->end(t);
		cr_run_clear(&run);
		return alive < 0 ? alive : 0;
	}
	snprintf(reason, sizeof(reason),
		 "the runner of %s vanished before the run finished (task %s); stages not evaluated are SKIPPED",
		 run_id, run.task_id);
	x.reason = reason;
	rc = count_stored(t, s, run_id, &x);
	s->ledger->end(t);
	if (rc == 0)
		rc = cr_ledger_transact(s->ledger, "clean-release", finish_txn, &x);
	if (rc == 0 && !x.already) {
		cr_task task = {0};
		if (s->tasks->load(s->tasks->impl, run.task_id, &task) == 0) {
			task.status = CR_TASK_FAILED;
			task.pid = 0;
			s->clock->now(s->clock->impl, task.updated_at);
			free(task.error);
			task.error = strdup(reason);
			s->tasks->save(s->tasks->impl, &task);
		}
		cr_task_clear(&task);
		cr_error_clear();
		cr_svc_note(s, run.candidate_id);
	}
	cr_report_clear(&x.report);
	cr_run_clear(&run);
	return rc;
}

int cr_svc_reap_candidate(const cr_svc *s, const char *cid)
{
	cr_txn *t = NULL;
	cr_candidate_view v;
	int rc = s->ledger->begin(s->ledger->impl, &t);
	if (rc < 0)
		return rc;
	rc = cr_svc_candidate_view(t, s, cid, &v);
	s->ledger->end(t);
	if (rc < 0)
		return rc == CR_ENOT_FOUND ? (cr_error_clear(), 0) : rc;
	cr_candidate_clear(&v.c);
	if (!v.run_unfinished)
		return 0;
	return cr_svc_reap_run(s, v.latest_run_id);
}

/* ---- requesting a run ------------------------------------------------- */

struct request_ctx {
	const cr_svc *s;
	const char *cid, *mid, *actor;
	unsigned jobs;
	bool start_now; /* the runner is this process: the request starts the run too */
	char *policy_json, *registry_json;
	cr_snapshot ps, rs;
	cr_run run;          /* the requested run */
	cr_manifest m;       /* its manifest */
	char *artifact_root; /* of the manifest's import */
	char locked_task[CR_ID_MAX];
};

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
	cr_manifest_clear(&x->m);
	free(x->artifact_root);
	x->artifact_root = NULL;
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
	r->requested_by = strdup(x->actor);
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
	snprintf(ev.type, sizeof(ev.type), "compliance.run");
	snprintf(ev.candidate_id, sizeof(ev.candidate_id), "%s", x->cid);
	ev.actor = (char *)x->actor;
	ev.accepted = true;
	cr_audit_detail(&ev, "run_id", r->run_id);
	cr_audit_detail(&ev, "manifest_id", x->mid);
	cr_audit_detail(&ev, "task_id", r->task_id);
	cr_audit_detail(&ev, "status", x->start_now ? "CHECK_RUNNING" : "CHECK_PENDING");
	rc = cr_svc_audit(t, s, &ev);
	snprintf(msg, msglen, "compliance.run %s %s %s (%s)", x->cid, r->run_id, x->mid, ev.event_id);
	ev.actor = NULL;
	cr_audit_event_clear(&ev);
cleanup:
	cr_task_clear(&task);
	cr_candidate_clear(&v.c);
	return rc;
}

/* ---- executing a run -------------------------------------------------- */

struct exec {
	const cr_svc *s;
	struct request_ctx *req;
	cr_policy pol;
	cr_registry reg;
	cr_rules *rules;
	cr_svc_progress_fn progress;
	void *pctx;
	cr_task task;
	/* The runner's own violations (manifest-wide, or a missing root). */
	cr_violation *own;
	size_t nown, aown;
	/* Chunks stored and not yet committed; the numbering of chunks and
	 * violation ids (the workers', then the runner's own). */
	struct stored_chunk *pend;
	size_t npend, apend;
	uint64_t last_commit_ms;
	cr_pool_seq seq;
	/* per stage */
	uint64_t checked[CR_STAGE__COUNT], count[CR_STAGE__COUNT], blockers[CR_STAGE__COUNT];
	uint64_t warnings;
	bool error[CR_STAGE__COUNT];
	char errmsg[CR_STAGE__COUNT][600];
	uint64_t done;
	int failure; /* a ledger error during the run */
	cr_error failure_err;
};

/* Encode V[0..N) as chunk CHUNK of the run and store it (in a worker, or
 * in the runner); REF names it for put_ref. */
static int store_chunk(struct exec *e, const cr_violation *v, size_t n, uint64_t chunk, char *ref, size_t reflen)
{
	cr_sbuf b = {0};
	int rc;

	cr_violation_chunk_canonical(&b, e->req->run.run_id, chunk, v, n);
	if (b.oom) {
		cr_sb_free(&b);
		return cr_error_set(CR_EINTERNAL, "out of memory encoding violation chunk %" PRIu64, chunk);
	}
	rc = e->s->ledger->write_blob(e->s->ledger->impl, b.p, b.len, ref, reflen);
	cr_sb_free(&b);
	return rc;
}

/* The pool's seal(), in a worker: its findings as violations, numbered
 * from B->first, stored as chunk B->chunk. */
static int seal_findings(const cr_pool_finding *f, size_t n, cr_pool_batch *b, void *ctx)
{
	struct exec *e = ctx;
	cr_violation *v = calloc(n, sizeof(*v));
	int rc;

	if (!v)
		return cr_error_set(CR_EINTERNAL, "out of memory sealing %zu violations", n);
	for (size_t i = 0; i < n; i++) {
		const cr_finding *x = &f[i].f;

		cr_violation_id_format(v[i].violation_id, sizeof(v[i].violation_id), e->req->run.run_id, b->first + i);
		snprintf(v[i].run_id, sizeof(v[i].run_id), "%s", e->req->run.run_id);
		v[i].stage = x->stage;
		snprintf(v[i].rule_id, sizeof(v[i].rule_id), "%s", x->rule_id);
		v[i].severity = x->severity;
		/* Borrowed, not owned: V is freed, never cleared. */
		v[i].artifact_path = e->req->m.artifacts[f[i].index].path;
		v[i].message = (char *)x->message;
		v[i].has_location = x->has_location;
		v[i].location = x->location;
		v[i].excerpt = (char *)x->excerpt;
	}
	rc = store_chunk(e, v, n, b->chunk, b->ref, sizeof(b->ref));
	free(v);
	return rc;
}

struct chunks_ctx {
	struct exec *e;
};

static int cmp_chunk(const void *a, const void *b)
{
	const struct stored_chunk *x = a, *y = b;
	return (x->chunk > y->chunk) - (x->chunk < y->chunk);
}

static int chunks_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct exec *e = ((struct chunks_ctx *)vctx)->e;
	const char *run_id = e->req->run.run_id;
	uint64_t total = 0;
	char sub[24];
	int rc;
	(void)commit_anyway;

	for (size_t i = 0; i < e->npend; i++) {
		snprintf(sub, sizeof(sub), "%06" PRIu64, e->pend[i].chunk);
		if ((rc = e->s->ledger->put_ref(t, CR_OBJ_VIOLATIONS, e->req->cid, run_id, sub, e->pend[i].ref)) < 0)
			return rc;
		total += e->pend[i].count;
	}
	if (e->npend == 1)
		snprintf(msg, msglen, "compliance.violations %s %s chunk %06" PRIu64 " (%" PRIu64 ")", e->req->cid,
			 run_id, e->pend[0].chunk, total);
	else
		snprintf(msg, msglen,
			 "compliance.violations %s %s chunks %06" PRIu64 "-%06" PRIu64 " (%zu chunks, %" PRIu64 ")",
			 e->req->cid, run_id, e->pend[0].chunk, e->pend[e->npend - 1].chunk, e->npend, total);
	return 0;
}

/* Append the stored chunks to the ledger, in one commit. */
static int commit_chunks(struct exec *e)
{
	struct chunks_ctx c = {e};
	int rc;

	if (e->npend == 0)
		return 0;
	qsort(e->pend, e->npend, sizeof(*e->pend), cmp_chunk);
	rc = cr_ledger_transact(e->s->ledger, e->req->actor, chunks_txn, &c);
	if (rc == 0)
		e->npend = 0;
	e->last_commit_ms = e->s->clock->ms(e->s->clock->impl);
	return rc;
}

/* Room for one more element in *P (N used of *CAP, SIZE bytes each). */
static int grow(void *p, size_t n, size_t *cap, size_t size)
{
	void **pp = p;
	size_t na;
	void *np;

	if (n < *cap)
		return 0;
	na = *cap ? *cap * 2 : 16;
	if (!(np = realloc(*pp, na * size)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	*pp = np;
	*cap = na;
	return 0;
}

static int add_stored(struct exec *e, uint64_t chunk, uint64_t count, const char *ref)
{
	int rc = grow(&e->pend, e->npend, &e->apend, sizeof(*e->pend));

	if (rc < 0)
		return rc;
	e->pend[e->npend].chunk = chunk;
	e->pend[e->npend].count = count;
	snprintf(e->pend[e->npend].ref, sizeof(e->pend[e->npend].ref), "%s", ref);
	e->npend++;
	return 0;
}

static void count_violations(struct exec *e, cr_stage stage, cr_severity sev, uint64_t n)
{
	e->count[stage] += n;
	if (sev == CR_SEV_BLOCKER)
		e->blockers[stage] += n;
	else
		e->warnings += n;
}

/* A violation the runner finds itself; stored by store_own. */
static int add_violation(struct exec *e, cr_stage stage, const char *rule, cr_severity sev, const char *path,
			 const char *message)
{
	int rc = grow(&e->own, e->nown, &e->aown, sizeof(*e->own));

	if (rc < 0)
		return rc;
	cr_violation *v = &e->own[e->nown];
	memset(v, 0, sizeof(*v));
	snprintf(v->run_id, sizeof(v->run_id), "%s", e->req->run.run_id);
	v->stage = stage;
	snprintf(v->rule_id, sizeof(v->rule_id), "%s", rule);
	v->severity = sev;
	v->artifact_path = path ? strdup(path) : NULL;
	v->message = strdup(message);
	if ((path && !v->artifact_path) || !v->message) {
		cr_violation_clear(v);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	e->nown++;
	count_violations(e, stage, sev, 1);
	return 0;
}

/* Store the runner's own violations as chunks after the workers'. */
static int store_own(struct exec *e)
{
	for (size_t at = 0; at < e->nown; at += CHUNK_MAX) {
		size_t n = e->nown - at < CHUNK_MAX ? e->nown - at : CHUNK_MAX;
		char ref[CR_POOL_REF_MAX];
		uint64_t chunk = ++e->seq.chunk;
		int rc;

		for (size_t i = 0; i < n; i++)
			cr_violation_id_format(e->own[at + i].violation_id, sizeof(e->own[at + i].violation_id),
					       e->req->run.run_id, ++e->seq.finding);
		if ((rc = store_chunk(e, e->own + at, n, chunk, ref, sizeof(ref))) < 0 ||
		    (rc = add_stored(e, chunk, n, ref)) < 0)
			return rc;
	}
	return 0;
}

static int on_batch(const cr_pool_batch *b, void *ctx)
{
	struct exec *e = ctx;
	int rc = add_stored(e, b->chunk, b->count, b->ref);

	for (int i = 0; rc == 0 && i < CR_STAGE__COUNT; i++) {
		count_violations(e, (cr_stage)i, CR_SEV_BLOCKER, b->blockers[i]);
		count_violations(e, (cr_stage)i, CR_SEV_WARNING, b->by_stage[i] - b->blockers[i]);
	}
	/* Live: what the workers found shows in the ledger while the run goes on. */
	if (rc == 0 && e->s->clock->ms(e->s->clock->impl) - e->last_commit_ms >= CHUNK_COMMIT_MS)
		rc = commit_chunks(e);
	if (rc < 0) {
		e->failure = rc;
		cr_error_save(&e->failure_err);
	}
	return rc < 0 ? 1 : 0;
}

static int on_done(size_t index, const cr_outcome *o, void *ctx)
{
	struct exec *e = ctx;
	(void)index;
	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		e->checked[i]++;
		if (o->stage_error[i] && !e->error[i]) {
			e->error[i] = true;
			snprintf(e->errmsg[i], sizeof(e->errmsg[i]), "%s", o->error);
		}
	}
	e->done++;
	return 0;
}

static void on_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct exec *e = ctx;
	e->task.progress.done = done;
	e->task.progress.total = total;
	e->s->clock->now(e->s->clock->impl, e->task.updated_at);
	e->s->tasks->save(e->s->tasks->impl, &e->task);
	if (e->progress) {
		cr_run r = e->req->run;
		r.status = CR_RUN_RUNNING;
		r.progress.done = done;
		r.progress.total = total;
		e->progress(&r, e->pctx);
	}
}

struct started_ctx {
	struct exec *e;
	char at[CR_TS_MAX];
};

static int started_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct started_ctx *c = vctx;
	struct exec *e = c->e;
	(void)commit_anyway;
	snprintf(msg, msglen, "compliance.started %s %s", e->req->cid, e->req->run.run_id);
	return cr_svc_put_json(t, e->s, CR_OBJ_RUN_EVENT, e->req->cid, e->req->run.run_id, "started",
			       cr_run_started_to_json(e->req->run.run_id, c->at, e->req->m.artifact_count,
						      (int64_t)e->req->jobs));
}

/* Manifest-wide checks of MANIFEST_CONSISTENCY: the digest recomputes and
 * the source commit exists. */
static int manifest_checks(struct exec *e)
{
	cr_manifest *m = &e->req->m;
	char digest[CR_SHA_MAX];
	char msg[300];
	int rc = cr_artifacts_digest(m->artifacts, m->artifact_count, digest);
	if (rc < 0)
		return rc;
	if (strcmp(digest, m->manifest_digest) || strcmp(digest, e->req->run.manifest_digest)) {
		snprintf(msg, sizeof(msg), "manifest digest recomputes to %s; the manifest records %s", digest,
			 m->manifest_digest);
		if ((rc = add_violation(e, CR_STAGE_MANIFEST_CONSISTENCY, "builtin:manifest-digest-mismatch",
					CR_SEV_BLOCKER, NULL, msg)) < 0)
			return rc;
	}
	if (!e->s->ledger->commit_exists(e->s->ledger->impl, m->source_commit)) {
		snprintf(msg, sizeof(msg), "source commit %s is not in this repository", m->source_commit);
		if ((rc = add_violation(e, CR_STAGE_MANIFEST_CONSISTENCY, "builtin:source-commit-missing",
					CR_SEV_BLOCKER, NULL, msg)) < 0)
			return rc;
	}
	return 0;
}

static int execute(struct exec *e)
{
	const cr_svc *s = e->s;
	struct request_ctx *q = e->req;
	cr_stage_result results[CR_STAGE__COUNT];
	struct finish_ctx fin = {.s = s, .run_id = q->run.run_id, .actor = q->actor};
	struct started_ctx sc = {.e = e};
	cJSON *pd = NULL, *rd = NULL;
	int root_fd = -1, rc;
	uint64_t t0 = s->clock->ms(s->clock->impl);

	memset(results, 0, sizeof(results));
	/* The task: RUNNING, with this process's pid. */
	snprintf(e->task.task_id, sizeof(e->task.task_id), "%s", q->run.task_id);
	snprintf(e->task.run_id, sizeof(e->task.run_id), "%s", q->run.run_id);
	e->task.status = CR_TASK_RUNNING;
	e->task.pid = (long)getpid();
	e->task.progress.total = q->m.artifact_count;
	s->clock->now(s->clock->impl, e->task.updated_at);
	memcpy(e->task.created_at, q->run.requested_at, sizeof(e->task.created_at));
	s->tasks->save(s->tasks->impl, &e->task);

	/* A run in the foreground was started in its request's commit; a
	 * detached runner says so itself. */
	if (!q->run.started_at[0]) {
		s->clock->now(s->clock->impl, sc.at);
		if ((rc = cr_ledger_transact(s->ledger, q->actor, started_txn, &sc)) < 0)
			goto abort;
		memcpy(q->run.started_at, sc.at, sizeof(sc.at));
	}

	/* The policy snapshot resolved when the run was requested. */
	if ((rc = cr_json_parse(&pd, q->policy_json, strlen(q->policy_json), "policy.json")) < 0 ||
	    (rc = cr_json_parse(&rd, q->registry_json, strlen(q->registry_json), "registry.json")) < 0 ||
	    (rc = cr_policy_from_json(pd, &e->pol)) < 0 || (rc = cr_registry_from_json(rd, &e->reg)) < 0 ||
	    (rc = s->tasks->compile(s->tasks->impl, &e->pol, &e->reg, &e->rules)) < 0)
		goto abort;

	root_fd = open(q->artifact_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		/* No root, no artifacts: each one is missing; nothing to scan. */
		char why[600];
		snprintf(why, sizeof(why), "artifact root %s cannot be opened: %s", q->artifact_root, strerror(errno));
		for (size_t i = 0; i < q->m.artifact_count; i++) {
			if ((rc = add_violation(e, CR_STAGE_MANIFEST_CONSISTENCY, "builtin:artifact-missing", CR_SEV_BLOCKER,
						q->m.artifacts[i].path, why)) < 0)
				goto abort;
			for (int k = 0; k < CR_STAGE__COUNT; k++)
				e->checked[k]++;
		}
		on_progress(q->m.artifact_count, q->m.artifact_count, e);
	} else {
		cr_pool_job job = {
			.artifacts = q->m.artifacts,
			.count = q->m.artifact_count,
			.root_fd = root_fd,
			.rules = e->rules,
			.jobs = q->jobs,
			.timeout_ms = e->pol.limits.per_artifact_timeout_ms,
			.seal = seal_findings,
			.batch_max = CHUNK_MAX,
			.seal_ms = SEAL_MS,
			.seq = &e->seq,
		};
		cr_pool_callbacks cb = {on_batch, on_done, on_progress};
		e->last_commit_ms = s->clock->ms(s->clock->impl);
		rc = s->tasks->scan(s->tasks->impl, &job, &cb, e);
		if (e->failure) {
			cr_error_restore(&e->failure_err);
			rc = e->failure;
		}
		if (rc < 0)
			goto abort;
	}
	if ((rc = manifest_checks(e)) < 0 || (rc = store_own(e)) < 0)
		goto abort;

	/* The stage results, in the fixed order, the last chunks, the report
	 * and the finished event: one commit (all are known at once). */
	char now[CR_TS_MAX];
	s->clock->now(s->clock->impl, now);
	uint64_t dur = s->clock->ms(s->clock->impl) - t0;
	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		cr_stage_result *sr = &results[i];
		snprintf(sr->run_id, sizeof(sr->run_id), "%s", q->run.run_id);
		sr->stage = (cr_stage)i;
		memcpy(sr->started_at, q->run.started_at, sizeof(sr->started_at));
		memcpy(sr->finished_at, now, sizeof(sr->finished_at));
		sr->duration_ms = dur;
		sr->artifacts_checked = e->checked[i];
		sr->violation_count = e->count[i];
		if (e->error[i]) {
			sr->status = CR_SS_ERROR;
			sr->error = strdup(e->errmsg[i]);
		} else {
			sr->status = e->blockers[i] ? CR_SS_FAILED : CR_SS_PASSED;
		}
		fin.stages[i] = sr;
	}
	fin.chunks = e->pend;
	fin.nchunks = e->npend;
	for (int i = 0; i < CR_STAGE__COUNT; i++) {
		fin.by_stage[i] = e->count[i];
		fin.total += e->count[i];
		fin.blocker += e->blockers[i];
	}
	fin.warning = e->warnings;
	char reason[700] = "";
	for (int i = 0; i < CR_STAGE__COUNT && !reason[0]; i++)
		if (e->error[i])
			snprintf(reason, sizeof(reason), "%s: %s", cr_stage_name((cr_stage)i), e->errmsg[i]);
	fin.reason = reason[0] ? reason : NULL;
	if ((rc = cr_ledger_transact(s->ledger, q->actor, finish_txn, &fin)) < 0)
		goto abort;
	e->npend = 0;
	e->task.status = CR_TASK_SUCCEEDED;
	e->task.pid = 0;
	e->task.progress.done = e->task.progress.total;
	goto done;

abort : {
	/* The run could not go on (storage error, …): finish it as FAILED/ERROR
	 * with what it has, so that nothing stays RUNNING. */
	cr_error saved;
	char why[CR_ERROR_MSG_MAX + 64];
	cr_error_save(&saved);
	snprintf(why, sizeof(why), "run aborted: %s", saved.message);
	struct finish_ctx ab = {.s = s, .run_id = q->run.run_id, .actor = q->actor, .aborted = true, .reason = why};
	cr_txn *t = NULL;
	commit_chunks(e); /* what is stored counts; best effort */
	if (s->ledger->begin(s->ledger->impl, &t) == 0)
		count_stored(t, s, q->run.run_id, &ab);
	s->ledger->end(t);
	cr_ledger_transact(s->ledger, q->actor, finish_txn, &ab);
	cr_report_clear(&ab.report);
	e->task.status = CR_TASK_FAILED;
	e->task.pid = 0;
	free(e->task.error);
	e->task.error = strdup(why);
	cr_error_restore(&saved);
}
done:
	s->clock->now(s->clock->impl, e->task.updated_at);
	s->tasks->save(s->tasks->impl, &e->task);
	if (root_fd >= 0)
		close(root_fd);
	cr_report_clear(&fin.report);
	for (int i = 0; i < CR_STAGE__COUNT; i++)
		cr_stage_result_clear(&results[i]);
	for (size_t i = 0; i < e->nown; i++)
		cr_violation_clear(&e->own[i]);
	free(e->own);
	e->own = NULL;
	e->nown = 0;
	free(e->pend);
	e->pend = NULL;
	e->npend = 0;
	cJSON_Delete(pd);
	cJSON_Delete(rd);
	cr_svc_note(s, q->cid);
	return rc;
}

static void exec_clear(struct exec *e)
{
	cr_rules_free(e->rules);
	cr_policy_clear(&e->pol);
	cr_registry_clear(&e->reg);
	cr_task_clear(&e->task);
}

/* Runner body of a detached run (in the spawned process). */
static int detached_main(void *arg)
{
	struct exec *e = arg;
	int rc = execute(e);
	exec_clear(e);
	return rc < 0 ? 1 : 0;
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
	if ((rc = cr_svc_reap_candidate(s, cid)) < 0)
		goto cleanup;
	if ((rc = cr_ledger_transact(s->ledger, actor, request_txn, &x)) < 0) {
		drop_task(&x);
		goto cleanup;
	}
	cr_svc_note(s, cid);

	struct exec e = {.s = s, .req = &x, .progress = progress, .pctx = pctx};
	if (detach) {
		/* The runner inherits the task lock across the fork; this
		 * process then lets go of its copy. */
		rc = s->tasks->spawn(s->tasks->impl, detached_main, &e);
		s->tasks->unlock(s->tasks->impl, x.run.task_id);
		if (rc < 0)
			goto cleanup; /* the next reader finishes it as ERROR */
		rc = cr_svc_run_status(s, x.run.run_id, out);
		goto cleanup;
	}
	rc = execute(&e);
	exec_clear(&e);
	s->tasks->unlock(s->tasks->impl, x.run.task_id);
	/* The finished run as anyone would now see it; an error of the run
	 * itself wins over one of this read. */
	cr_error saved;
	cr_error_save(&saved);
	int src = cr_svc_run_status(s, x.run.run_id, out);
	if (rc == 0)
		rc = src;
	else
		cr_error_restore(&saved);
cleanup:
	request_clear(&x);
	return rc;
}

/* ---- queries ---------------------------------------------------------- */

int cr_svc_run_status(const cr_svc *s, const char *run_id, cr_run *out)
{
	cr_txn *t = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_run_id(run_id)) < 0 || (rc = cr_svc_reap_run(s, run_id)) < 0)
		return rc;
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	rc = load_run(t, s, run_id, out);
	s->ledger->end(t);
	if (rc == 0)
		add_progress(s, out);
	return rc;
}

/* The cursor prefix of a run's violations with their filters. */
static void violations_prefix(char *buf, size_t len, const char *run_id, int stage, int severity)
{
	snprintf(buf, len, "v|%s|%d|%d|", run_id, stage, severity);
}

/* Where a page starts: chunk number and index in it (1, 0 for the first). */
static int violations_start(const cr_page_req *pg, const char *run_id, int stage, int severity, uint64_t *chunk,
			    uint64_t *index)
{
	char prefix[96], rest[48], *end = NULL, *dot;
	int rc;

	*chunk = 1;
	*index = 0;
	if (!pg->cursor || !*pg->cursor)
		return 0;
	violations_prefix(prefix, sizeof(prefix), run_id, stage, severity);
	if ((rc = cr_cursor_read(pg->cursor, prefix, rest, sizeof(rest))) < 0)
		return rc;
	dot = strchr(rest, '.');
	errno = 0;
	if (dot) {
		*dot = '\0';
		*chunk = strtoull(rest, &end, 10);
		if (!errno && end != rest && !*end && *chunk > 0)
			*index = strtoull(dot + 1, &end, 10);
	}
	if (!dot || errno || end == dot + 1 || *end || *chunk == 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid cursor: not a position in the violations of %s",
				    run_id);
	return 0;
}

static int violations_next(char *next, const char *run_id, int stage, int severity, uint64_t chunk, uint64_t index)
{
	char payload[160];
	size_t k;

	violations_prefix(payload, sizeof(payload), run_id, stage, severity);
	k = strlen(payload);
	snprintf(payload + k, sizeof(payload) - k, "%" PRIu64 ".%" PRIu64, chunk, index);
	return cr_cursor_make(next, payload);
}

/*
 * A page starts at a chunk number and an index in that chunk: it reads the
 * chunk list (one tree) and then only the chunks it returns violations from
 * (at most CHUNK_MAX each), whatever the number of chunks before it.
 */
int cr_svc_violations(const cr_svc *s, const char *run_id, int stage, int severity, const cr_page_req *pg,
		      cr_violation **out, size_t *n, char *next)
{
	cr_txn *t = NULL;
	cr_strlist chunks = {0};
	cr_violation *v = NULL;
	size_t m = 0, alloc = 0;
	bool paged = cr_page_wanted(pg), more = false;
	uint64_t from_chunk = 1, from_index = 0;
	cr_run run;
	int rc;

	*out = NULL;
	*n = 0;
	if (next)
		next[0] = '\0';
	if ((rc = check_run_id(run_id)) < 0)
		return rc;
	if (paged && (rc = violations_start(pg, run_id, stage, severity, &from_chunk, &from_index)) < 0)
		return rc;
	if ((rc = cr_svc_reap_run(s, run_id)) < 0)
		return rc;
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	if ((rc = load_run(t, s, run_id, &run)) < 0)
		goto cleanup;
	cr_run_clear(&run);
	if ((rc = s->ledger->list(t, CR_OBJ_VIOLATIONS, run_id, &chunks)) < 0)
		goto cleanup;
	for (size_t i = 0; i < chunks.n && !more; i++) {
		cJSON *doc = NULL, *it;
		uint64_t cnum = strtoull(chunks.v[i], NULL, 10), idx = 0;
		if (paged && cnum < from_chunk)
			continue;
		if ((rc = cr_svc_get_json(t, s, CR_OBJ_VIOLATIONS, run_id, chunks.v[i], &doc)) < 0)
			goto cleanup;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "violations"))
		{
			cr_violation one = {0};
			if (paged && cnum == from_chunk && idx < from_index) {
				idx++;
				continue;
			}
			if ((rc = cr_violation_from_json(it, &one)) < 0) {
				cJSON_Delete(doc);
				goto cleanup;
			}
			if ((stage >= 0 && (int)one.stage != stage) || (severity >= 0 && (int)one.severity != severity)) {
				cr_violation_clear(&one);
				idx++;
				continue;
			}
			if (paged && m == pg->limit) {
				/* One more matches: the next page starts at it. */
				cr_violation_clear(&one);
				more = true;
				if (next && (rc = violations_next(next, run_id, stage, severity, cnum, idx)) < 0) {
					cJSON_Delete(doc);
					goto cleanup;
				}
				break;
			}
			if (m == alloc) {
				alloc = alloc ? alloc * 2 : 64;
				cr_violation *nv = realloc(v, alloc * sizeof(*nv));
				if (!nv) {
					cr_violation_clear(&one);
					cJSON_Delete(doc);
					rc = cr_error_set(CR_EINTERNAL, "out of memory");
					goto cleanup;
				}
				v = nv;
			}
			v[m++] = one;
			idx++;
		}
		cJSON_Delete(doc);
	}
	*out = v;
	*n = m;
	v = NULL;
cleanup:
	if (v) {
		for (size_t i = 0; i < m; i++)
			cr_violation_clear(&v[i]);
		free(v);
	}
	cr_strlist_clear(&chunks);
	s->ledger->end(t);
	return rc;
}

int cr_svc_report(const cr_svc *s, const char *run_id, cr_report *out)
{
	cr_txn *t = NULL;
	cr_run run;
	cJSON *doc = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_run_id(run_id)) < 0 || (rc = cr_svc_reap_run(s, run_id)) < 0)
		return rc;
	if ((rc = s->ledger->begin(s->ledger->impl, &t)) < 0)
		return rc;
	if ((rc = load_run(t, s, run_id, &run)) < 0)
		goto cleanup;
	if (!run_finished(&run)) {
		rc = cr_error_set(CR_ERUN_NOT_FINISHED, "run %s is %s; no report yet", run_id, cr_run_status_name(run.status));
		cr_run_clear(&run);
		goto cleanup;
	}
	rc = cr_svc_get_json(t, s, CR_OBJ_REPORT, run.report_id, NULL, &doc);
	cr_run_clear(&run);
	if (rc == 0)
		rc = cr_report_from_json(doc, out);
cleanup:
	cJSON_Delete(doc);
	s->ledger->end(t);
	return rc;
}

int cr_svc_task_status(const cr_svc *s, const char *task_id, cr_task *out)
{
	const char *why = cr_task_id_invalid(task_id);
	int rc;
	memset(out, 0, sizeof(*out));
	if (why)
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid task id \"%.140s\": %s", task_id, why);
	if ((rc = s->tasks->load(s->tasks->impl, task_id, out)) < 0)
		return rc;
	/* An orphaned run is finished first, so the task and the run agree. */
	if (out->status == CR_TASK_QUEUED || out->status == CR_TASK_RUNNING) {
		char run_id[CR_SHORT_ID_MAX];
		snprintf(run_id, sizeof(run_id), "%s", out->run_id);
		cr_task_clear(out);
		if ((rc = cr_svc_reap_run(s, run_id)) < 0 && rc != CR_ENOT_FOUND)
			return rc;
		cr_error_clear();
		return s->tasks->load(s->tasks->impl, task_id, out);
	}
	return 0;
}
