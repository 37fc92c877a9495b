/* Compliance queries: a run's status, its violations, its report, and a
 * task's status. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/fold.h"
#include "domain/ids.h"
#include "services/compliance_internal.h"
#include "util/json.h"

/* ---- reading a run ---------------------------------------------------- */

int cr_compliance_check_run_id(const char *run_id)
{
	uint64_t n;
	if (!cr_id_parse(run_id, CR_ID_RUN, &n))
		return cr_error_set(CR_EINVALID_ARGUMENT, "invalid run id \"%.40s\" (expected run-NNN)", run_id);
	return 0;
}

/* Fold the run's stored events into OUT (no task progress). */
int cr_compliance_load_run(cr_txn *t, const cr_svc *s, const char *run_id, cr_run *out)
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

bool cr_compliance_run_finished(const cr_run *r)
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

int cr_compliance_orphaned(const cr_svc *s, const cr_run *r)
{
	if (cr_compliance_run_finished(r))
		return 0;
	int alive = s->tasks->alive(s->tasks->impl, r->task_id);
	return alive < 0 ? alive : !alive;
}

int cr_compliance_orphan_view(const cr_svc *s, cr_run *r, bool *orphaned)
{
	char why[CR_ORPHAN_REASON_MAX];
	cr_task task = {0};
	int rc;

	*orphaned = false;
	if ((rc = cr_compliance_orphaned(s, r)) <= 0)
		return rc;
	if (s->tasks->load(s->tasks->impl, r->task_id, &task) < 0)
		cr_error_clear(); /* gone meanwhile: no time of its last sign of life */
	cr_compliance_orphan_reason(why, sizeof(why), r->run_id, r->task_id);
	rc = cr_verdict_orphan_run(r, why, task.updated_at);
	cr_task_clear(&task);
	if (rc == 0)
		*orphaned = true;
	return rc;
}

int cr_compliance_open_run(const cr_svc *s, const char *run_id, cr_txn **t, cr_run *run, bool *orphaned)
{
	int rc;

	*t = NULL;
	*orphaned = false;
	memset(run, 0, sizeof(*run));
	if ((rc = cr_compliance_check_run_id(run_id)) < 0 || (rc = s->ledger->begin(s->ledger->impl, t)) < 0)
		return rc;
	if ((rc = cr_compliance_load_run(*t, s, run_id, run)) < 0 ||
	    (rc = cr_compliance_orphan_view(s, run, orphaned)) < 0) {
		cr_run_clear(run);
		s->ledger->end(*t);
		*t = NULL;
	}
	return rc;
}

/* ---- queries ---------------------------------------------------------- */

int cr_svc_run_status(const cr_svc *s, const char *run_id, cr_run *out)
{
	cr_txn *t = NULL;
	bool orphaned;
	int rc = cr_compliance_open_run(s, run_id, &t, out, &orphaned);

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
	bool paged = cr_page_wanted(pg), more = false, orphaned;
	uint64_t from_chunk = 1, from_index = 0;
	cr_run run;
	int rc;

	*out = NULL;
	*n = 0;
	if (next)
		next[0] = '\0';
	if ((rc = cr_compliance_check_run_id(run_id)) < 0)
		return rc;
	if (paged && (rc = violations_start(pg, run_id, stage, severity, &from_chunk, &from_index)) < 0)
		return rc;
	if ((rc = cr_compliance_open_run(s, run_id, &t, &run, &orphaned)) < 0)
		return rc;
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
	bool orphaned;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cr_compliance_open_run(s, run_id, &t, &run, &orphaned)) < 0)
		return rc;
	if (orphaned) {
		/* The report is evidence: until the finish is recorded there is
		 * none, though the run is reported FAILED/ERROR already. */
		rc = cr_error_set(CR_ERUN_NOT_FINISHED,
				  "run %s is FAILED (ERROR): its runner vanished, and its finish is not recorded yet; "
				  "no report yet",
				  run_id);
		cr_error_hint("record it: git clean-release task reap (or the next write to candidate %s)",
			      run.candidate_id);
		cr_run_clear(&run);
		goto cleanup;
	}
	if (!cr_compliance_run_finished(&run)) {
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
	/* The task of an orphaned run is reported FAILED, as its run is, from
	 * the same liveness; its file is rewritten when the finish is recorded. */
	if (out->status == CR_TASK_QUEUED || out->status == CR_TASK_RUNNING) {
		int alive = s->tasks->alive(s->tasks->impl, task_id);
		if (alive < 0) {
			cr_task_clear(out);
			return alive;
		}
		if (alive == 0) {
			char why[CR_ORPHAN_REASON_MAX];
			cr_compliance_orphan_reason(why, sizeof(why), out->run_id, task_id);
			if ((rc = cr_compliance_orphan_task(out, why)) < 0) {
				cr_task_clear(out);
				return rc;
			}
		}
	}
	return 0;
}
