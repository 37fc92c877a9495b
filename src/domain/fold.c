/* The pure folds: a candidate's view, a run's verdict (domain/fold.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/fold.h"
#include "domain/lifecycle.h"
#include "util/error.h"

const char *cr_audit_detail_get(const cr_audit_event *ev, const char *key)
{
	for (size_t i = 0; i < ev->ndetails; i++)
		if (!strcmp(ev->details[i].key, key))
			return ev->details[i].value;
	return NULL;
}

static void copy_detail(char *dst, size_t len, const cr_audit_event *ev, const char *key)
{
	const char *v = cr_audit_detail_get(ev, key);
	if (v)
		snprintf(dst, len, "%s", v);
}

/* The lifecycle event an accepted audit event records; false for a type
 * that does not move a candidate. */
static bool event_of(const cr_audit_event *ev, cr_event *out)
{
	for (int e = 0; e < CR_EV__COUNT; e++) {
		const char *type = cr_event_audit_type((cr_event)e);
		if (!type || strcmp(type, ev->type))
			continue;
		if (e == CR_EV_RUN_PASSED || e == CR_EV_RUN_BLOCKED || e == CR_EV_RUN_ERROR) {
			/* One type for the three outcomes: final_status says which. */
			const char *fs = cr_audit_detail_get(ev, "final_status");
			*out = fs && !strcmp(fs, "PASSED")    ? CR_EV_RUN_PASSED
			       : fs && !strcmp(fs, "BLOCKED") ? CR_EV_RUN_BLOCKED
							      : CR_EV_RUN_ERROR;
			return true;
		}
		*out = (cr_event)e;
		return true;
	}
	return false;
}

int cr_fold_candidate_event(cr_candidate_view *v, const cr_audit_event *ev)
{
	cr_event e;

	if (!ev->accepted || !event_of(ev, &e))
		return 0;
	if (cr_lifecycle_next(v->status, e, &v->status) < 0)
		return cr_error_set(CR_EINTEGRITY, "audit event %s (%s) is not possible in status %s", ev->event_id,
				    ev->type, cr_status_name(v->status));
	switch (e) {
	case CR_EV_IMPORTED:
		copy_detail(v->latest_import_id, sizeof(v->latest_import_id), ev, "import_id");
		snprintf(v->latest_import_event, sizeof(v->latest_import_event), "%s", ev->event_id);
		break;
	case CR_EV_MANIFEST_BUILT:
		copy_detail(v->latest_manifest_id, sizeof(v->latest_manifest_id), ev, "manifest_id");
		copy_detail(v->latest_manifest_import_id, sizeof(v->latest_manifest_import_id), ev, "import_id");
		copy_detail(v->latest_manifest_digest, sizeof(v->latest_manifest_digest), ev, "manifest_digest");
		break;
	case CR_EV_RUN_REQUESTED:
		copy_detail(v->latest_run_id, sizeof(v->latest_run_id), ev, "run_id");
		v->latest_task_id[0] = 0;
		copy_detail(v->latest_task_id, sizeof(v->latest_task_id), ev, "task_id");
		v->latest_report_id[0] = 0;
		v->run_unfinished = true;
		v->run_orphaned = false;
		break;
	case CR_EV_RUN_PASSED:
	case CR_EV_RUN_BLOCKED:
	case CR_EV_RUN_ERROR:
		copy_detail(v->latest_report_id, sizeof(v->latest_report_id), ev, "report_id");
		v->run_unfinished = false;
		v->run_orphaned = false;
		break;
	case CR_EV_APPROVED:
		copy_detail(v->approved_report_id, sizeof(v->approved_report_id), ev, "report_id");
		break;
	case CR_EV_PUBLISHED:
		copy_detail(v->latest_publication_id, sizeof(v->latest_publication_id), ev, "publication_id");
		break;
	default:
		break;
	}
	return 0;
}

void cr_fold_candidate_run(cr_candidate_view *v, bool started, bool orphaned)
{
	if (!v->run_unfinished)
		return;
	if (started)
		(void)cr_lifecycle_next(v->status, CR_EV_RUN_STARTED, &v->status);
	if (orphaned && cr_lifecycle_next(v->status, CR_EV_RUN_ERROR, &v->status) == 0)
		v->run_orphaned = true;
}

cr_final cr_verdict_final(const cr_stage_result *const st[CR_STAGE__COUNT])
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

cr_status cr_verdict_status(cr_final f)
{
	return f == CR_FINAL_PASSED ? CR_STATUS_CHECK_PASSED
	       : f == CR_FINAL_BLOCKED ? CR_STATUS_CHECK_BLOCKED
				       : CR_STATUS_CHECK_ERROR;
}

int cr_verdict_orphan_run(cr_run *r, const char *reason, const char *last_seen)
{
	char *copy = strdup(reason);

	if (!copy)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	free(r->reason);
	r->reason = copy;
	r->status = CR_RUN_FAILED;
	r->final_status = CR_FINAL_ERROR;
	snprintf(r->finished_at, sizeof(r->finished_at), "%s", last_seen);
	return 0;
}
