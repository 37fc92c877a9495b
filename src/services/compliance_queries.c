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
/* Visit the violations of RUN_ID in append order, of STAGE / SEVERITY only
 * (-1: any), from violation FROM_INDEX of chunk FROM_CHUNK on, one chunk in
 * memory at a time. FN owns nothing it is given; it returns 0 to go on, 1
 * to stop there (the cursor of that violation into *AT_CHUNK and *AT_INDEX),
 * or an error. */
static int violations_walk(cr_txn *t, const cr_svc *s, const char *run_id, int stage, int severity,
			   uint64_t from_chunk, uint64_t from_index, int (*fn)(cr_violation *, void *), void *ctx,
			   uint64_t *at_chunk, uint64_t *at_index)
{
	cr_strlist chunks = {0};
	int rc;

	if ((rc = s->ledger->list(t, CR_OBJ_VIOLATIONS, run_id, &chunks)) < 0)
		return rc;
	for (size_t i = 0; i < chunks.n && rc == 0; i++) {
		cJSON *doc = NULL, *it;
		uint64_t cnum = strtoull(chunks.v[i], NULL, 10), idx = 0;
		if (cnum < from_chunk)
			continue;
		if ((rc = cr_svc_get_json(t, s, CR_OBJ_VIOLATIONS, run_id, chunks.v[i], &doc)) < 0)
			break;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "violations"))
		{
			cr_violation one = {0};
			if (cnum == from_chunk && idx < from_index) {
				idx++;
				continue;
			}
			if ((rc = cr_violation_from_json(it, &one)) < 0)
				break;
			if ((stage < 0 || (int)one.stage == stage) && (severity < 0 || (int)one.severity == severity))
				rc = fn(&one, ctx);
			cr_violation_clear(&one);
			if (rc == 1) {
				*at_chunk = cnum;
				*at_index = idx;
				break;
			}
			if (rc < 0)
				break;
			idx++;
		}
		cJSON_Delete(doc);
	}
	cr_strlist_clear(&chunks);
	return rc < 0 ? rc : 0;
}

struct collect {
	cr_violation *v;
	size_t n, alloc, limit; /* limit 0: all */
};

static int collect_one(cr_violation *one, void *ctx)
{
	struct collect *c = ctx;
	if (c->limit && c->n == c->limit)
		return 1; /* one more matches: the next page starts at it */
	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 64;
		cr_violation *nv = realloc(c->v, na * sizeof(*nv));
		if (!nv)
			return cr_error_set(CR_EINTERNAL, "out of memory");
		c->v = nv;
		c->alloc = na;
	}
	c->v[c->n++] = *one;
	memset(one, 0, sizeof(*one)); /* moved */
	return 0;
}

int cr_svc_violations(const cr_svc *s, const char *run_id, int stage, int severity, const cr_page_req *pg,
		      cr_violation **out, size_t *n, char *next)
{
	cr_txn *t = NULL;
	struct collect c = {0};
	bool paged = cr_page_wanted(pg), orphaned;
	uint64_t from_chunk = 1, from_index = 0, at_chunk = 0, at_index = 0;
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
	c.limit = paged ? pg->limit : 0;
	rc = violations_walk(t, s, run_id, stage, severity, from_chunk, from_index, collect_one, &c, &at_chunk,
			     &at_index);
	if (rc == 0 && at_chunk && next)
		rc = violations_next(next, run_id, stage, severity, at_chunk, at_index);
	s->ledger->end(t);
	if (rc < 0) {
		for (size_t i = 0; i < c.n; i++)
			cr_violation_clear(&c.v[i]);
		free(c.v);
		return rc;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

struct each {
	int (*fn)(const cr_violation *v, void *ctx);
	void *ctx;
};

static int each_one(cr_violation *v, void *vctx)
{
	const struct each *e = vctx;
	int rc = e->fn(v, e->ctx);
	return rc > 0 ? 0 : rc;
}

int cr_svc_violations_each(const cr_svc *s, const char *run_id, int stage, int severity,
			   int (*fn)(const cr_violation *v, void *ctx), void *ctx)
{
	cr_txn *t = NULL;
	cr_run run;
	bool orphaned;
	uint64_t ac = 0, ai = 0;
	int rc;

	if ((rc = cr_compliance_check_run_id(run_id)) < 0)
		return rc;
	if ((rc = cr_compliance_open_run(s, run_id, &t, &run, &orphaned)) < 0)
		return rc;
	cr_run_clear(&run);
	struct each e = {fn, ctx};
	rc = violations_walk(t, s, run_id, stage, severity, 1, 0, each_one, &e, &ac, &ai);
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
