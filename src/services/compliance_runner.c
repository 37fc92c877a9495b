/* Executing a compliance run: the runner forks the worker pool through the
 * task port, commits violation chunks as they fill, and finishes the run
 * with exactly one report; it is the only ledger writer of the run. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "domain/fold.h"
#include "domain/ids.h"
#include "services/compliance_internal.h"
#include "util/json.h"
#include "util/mem.h"

static const char *const stage_subs[CR_STAGE__COUNT] = {"stage-1", "stage-2", "stage-3", "stage-4"};

/* ---- finishing a run -------------------------------------------------- */

/* One commit: any stage events still missing (SKIPPED), the report, the
 * finished event and the compliance.finish audit event. Idempotent. */
int cr_compliance_finish_txn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
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
	if ((rc = cr_compliance_load_run(t, s, x->run_id, &run)) < 0)
		return rc;
	if (cr_compliance_run_finished(&run)) {
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
	r->final_status = cr_verdict_final((const cr_stage_result *const *)st);
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
	snprintf(run.finished_at, sizeof(run.finished_at), "%s", x->finished_at ? x->finished_at : now);
	snprintf(run.report_id, sizeof(run.report_id), "%s", r->report_id);
	free(run.reason);
	run.reason = x->aborted || r->final_status == CR_FINAL_ERROR
			     ? strdup(x->reason ? x->reason : "a stage could not be evaluated")
			     : NULL;
	if ((rc = cr_svc_put_json(t, s, CR_OBJ_RUN_EVENT, run.candidate_id, x->run_id, "finished",
				  cr_run_finished_to_json(&run))) < 0)
		goto cleanup;

	cr_svc_audit_event_init(&ev, CR_AUDIT_COMPLIANCE_FINISH, run.candidate_id,
				x->actor ? x->actor : run.requested_by);
	cr_audit_detail(&ev, "run_id", x->run_id);
	cr_audit_detail(&ev, "report_id", r->report_id);
	cr_audit_detail(&ev, "final_status", cr_final_name(r->final_status));
	cr_audit_detail(&ev, "status", cr_status_name(cr_verdict_status(r->final_status)));
	if (run.reason)
		cr_audit_detail(&ev, "reason", run.reason);
	rc = cr_svc_audit(t, s, &ev);
	snprintf(msg, msglen, "%s %s %s %s %s (%s)", ev.type, run.candidate_id, x->run_id, r->report_id,
		 cr_final_name(r->final_status), ev.event_id);
	cr_svc_audit_event_done(&ev);
cleanup:
	for (int i = 0; i < CR_STAGE__COUNT; i++)
		cr_stage_result_clear(&skipped[i]);
	cr_run_clear(&run);
	return rc;
}

/* Count the violations already stored for a run (for a reaped run). */
int cr_compliance_count_stored(cr_txn *t, const cr_svc *s, const char *run_id, struct finish_ctx *x)
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
			/* A summary counts as the findings it stands for. */
			double left = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "left_out"));
			uint64_t n = left >= 1 && left <= 9007199254740991.0 ? (uint64_t)left : 1;

			x->total += n;
			x->by_stage[st] += n;
			if (sev == CR_SEV_BLOCKER)
				x->blocker += n;
			else
				x->warning += n;
		}
		cJSON_Delete(doc);
	}
	cr_strlist_clear(&chunks);
	return rc;
}

/* ---- executing a run -------------------------------------------------- */

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
		v[i].left_out = f[i].left_out;
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

static int add_stored(struct exec *e, uint64_t chunk, uint64_t count, const char *ref)
{
	int rc = cr_grow((void **)&e->pend, &e->apend, e->npend + 1, sizeof(*e->pend));

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

/* Keep a violation of the runner's own, or a summary of LEFT_OUT. */
static int own_push(struct exec *e, cr_stage stage, const char *rule, cr_severity sev, const char *path,
		    const char *message, uint64_t left_out)
{
	int rc = cr_grow((void **)&e->own, &e->aown, e->nown + 1, sizeof(*e->own));

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
	v->left_out = left_out;
	if ((path && !v->artifact_path) || !v->message) {
		cr_violation_clear(v);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	e->nown++;
	return 0;
}

/* A violation the runner finds itself; stored by store_own, or counted
 * only once the run holds limits.max_violations_per_run. */
static int add_violation(struct exec *e, cr_stage stage, const char *rule, cr_severity sev, const char *path,
			 const char *message)
{
	uint64_t cap = e->pol.limits.max_per_run;
	int rc = 0;

	if (cap && e->seq.held >= cap)
		e->left_out[stage][sev]++;
	else if ((rc = own_push(e, stage, rule, sev, path, message, 0)) == 0)
		e->seq.held++;
	if (rc == 0)
		count_violations(e, stage, sev, 1);
	return rc;
}

/* One summary per stage and severity for what the run's cap left out
 * (already counted). */
static int run_cap_summaries(struct exec *e)
{
	char msg[300];
	int rc = 0;

	for (int st = 0; st < CR_STAGE__COUNT && rc == 0; st++)
		for (int sev = 0; sev < 2 && rc == 0; sev++) {
			if (!e->left_out[st][sev])
				continue;
			snprintf(msg, sizeof(msg),
				 "%" PRIu64 " more %s violations of stage %s are not recorded "
				 "(limits.max_violations_per_run: %" PRIu64 "); the totals count them",
				 e->left_out[st][sev], cr_severity_name((cr_severity)sev), cr_stage_name((cr_stage)st),
				 e->pol.limits.max_per_run);
			rc = own_push(e, (cr_stage)st, "builtin:run-violations-not-recorded", (cr_severity)sev, NULL,
				      msg, e->left_out[st][sev]);
		}
	return rc;
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
		uint64_t blockers = o->left_out_blockers[i], warnings = o->left_out[i] - blockers;

		count_violations(e, (cr_stage)i, CR_SEV_BLOCKER, blockers);
		count_violations(e, (cr_stage)i, CR_SEV_WARNING, warnings);
		e->left_out[i][CR_SEV_BLOCKER] += blockers;
		e->left_out[i][CR_SEV_WARNING] += warnings;
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

/* A detached runner's started event (a foreground run was started in its
 * request's commit): once, from the pool as soon as its workers have their
 * first artifacts, so the commit overlaps their scanning; or before
 * anything else is recorded when there is no pool. */
static int mark_started(struct exec *e)
{
	struct request_ctx *q = e->req;
	struct started_ctx sc = {.e = e};
	int rc;

	if (q->run.started_at[0])
		return 0;
	e->s->clock->now(e->s->clock->impl, sc.at);
	if ((rc = cr_ledger_transact(e->s->ledger, q->actor, started_txn, &sc)) < 0)
		return rc;
	memcpy(q->run.started_at, sc.at, sizeof(sc.at));
	return 0;
}

static int on_started(void *ctx)
{
	return mark_started(ctx);
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

int cr_compliance_execute(struct exec *e)
{
	const cr_svc *s = e->s;
	struct request_ctx *q = e->req;
	cr_stage_result results[CR_STAGE__COUNT];
	struct finish_ctx fin = {.s = s, .run_id = q->run.run_id, .actor = q->actor};
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
	/* A runner whose task cannot say it runs would be taken for a dead
	 * one: the run ends here, ERROR, with the real cause. */
	if ((rc = s->tasks->save(s->tasks->impl, &e->task)) < 0)
		goto abort;

	/* The policy snapshot resolved when the run was requested. */
	if ((rc = cr_json_parse(&pd, q->policy_json, strlen(q->policy_json), "policy.json")) < 0 ||
	    (rc = cr_json_parse(&rd, q->registry_json, strlen(q->registry_json), "registry.json")) < 0 ||
	    (rc = cr_policy_from_json(pd, &e->pol)) < 0 || (rc = cr_registry_from_json(rd, &e->reg)) < 0 ||
	    (rc = s->rules->compile(s->rules->impl, &e->pol, &e->reg, &e->rules)) < 0)
		goto abort;

	root_fd = open(q->artifact_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		/* No root, no artifacts: each one is missing; nothing to scan. */
		char why[600];
		snprintf(why, sizeof(why), "artifact root %s cannot be opened: %s", q->artifact_root, strerror(errno));
		if ((rc = mark_started(e)) < 0)
			goto abort;
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
			.max_per_rule_artifact = e->pol.limits.max_per_rule_artifact,
			.max_per_run = e->pol.limits.max_per_run,
			.seal = seal_findings,
			.batch_max = CHUNK_MAX,
			.seal_ms = SEAL_MS,
			.seq = &e->seq,
		};
		cr_pool_callbacks cb = {on_batch, on_done, on_progress, on_started};
		e->last_commit_ms = s->clock->ms(s->clock->impl);
		rc = s->tasks->scan(s->tasks->impl, &job, &cb, e);
		if (e->failure) {
			cr_error_restore(&e->failure_err);
			rc = e->failure;
		}
		if (rc < 0)
			goto abort;
	}
	if ((rc = mark_started(e)) < 0 || (rc = manifest_checks(e)) < 0 || (rc = run_cap_summaries(e)) < 0 ||
	    (rc = store_own(e)) < 0)
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
	if ((rc = cr_ledger_transact(s->ledger, q->actor, cr_compliance_finish_txn, &fin)) < 0)
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
		cr_compliance_count_stored(t, s, q->run.run_id, &ab);
	s->ledger->end(t);
	cr_ledger_transact(s->ledger, q->actor, cr_compliance_finish_txn, &ab);
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

void cr_compliance_exec_clear(struct exec *e)
{
	if (e->rules)
		e->s->rules->release(e->s->rules->impl, e->rules);
	e->rules = NULL;
	cr_policy_clear(&e->pol);
	cr_registry_clear(&e->reg);
	cr_task_clear(&e->task);
}
