#include <stdlib.h>
#include <string.h>
#include "domain/run_event.h"
#include "util/error.h"

void cr_run_event_clear(cr_run_event *ev)
{
	if (!ev)
		return;
	cr_run_clear(&ev->requested);
	cr_stage_result_clear(&ev->stage);
	free(ev->reason);
	memset(ev, 0, sizeof(*ev));
}

static const char *event_what(cr_run_event_kind kind)
{
	switch (kind) {
	case CR_RUN_EV_REQUESTED:
		return "requested event";
	case CR_RUN_EV_STARTED:
		return "started event";
	case CR_RUN_EV_STAGE_COMPLETED:
		return "stage_completed event";
	case CR_RUN_EV_FINISHED:
		return "finished event";
	}
	return "run event";
}

/* The run starts here: whatever R held is replaced. */
static void apply_requested(cr_run *r, cr_run_event *ev)
{
	cr_run_clear(r);
	*r = ev->requested;
	memset(&ev->requested, 0, sizeof(ev->requested));
	r->status = CR_RUN_PENDING;
	r->final_status = CR_FINAL_NONE;
}

int cr_run_event_apply(cr_run *r, cr_run_event *ev)
{
	const char *what = event_what(ev->kind);

	if (ev->kind == CR_RUN_EV_REQUESTED) {
		apply_requested(r, ev);
		cr_run_event_clear(ev);
		return 0;
	}
	/* Events after "requested" must name the run they are folded into. */
	if (r->run_id[0] && strcmp(ev->run_id, r->run_id) != 0)
		return cr_error_set(CR_EINVALID_INPUT, "%s: event of run %s folded into run %s", what, ev->run_id,
				    r->run_id);
	switch (ev->kind) {
	case CR_RUN_EV_STARTED:
		memcpy(r->started_at, ev->at, sizeof(r->started_at));
		r->status = CR_RUN_RUNNING;
		r->progress.total = ev->artifacts_total;
		r->jobs = ev->jobs;
		break;
	case CR_RUN_EV_STAGE_COMPLETED:
		/* Stages complete in the fixed order, exactly once each. */
		if (r->stage_count >= CR_STAGE__COUNT || (size_t)ev->stage.stage != r->stage_count)
			return cr_error_set(CR_EINVALID_INPUT,
					    "%s: stage %s out of order (%zu stages already completed)", what,
					    cr_stage_name(ev->stage.stage), r->stage_count);
		cr_stage_result_clear(&r->stages[r->stage_count]);
		r->stages[r->stage_count++] = ev->stage;
		memset(&ev->stage, 0, sizeof(ev->stage));
		break;
	case CR_RUN_EV_FINISHED:
		memcpy(r->finished_at, ev->at, sizeof(r->finished_at));
		memcpy(r->report_id, ev->report_id, sizeof(r->report_id));
		r->status = ev->status;
		r->final_status = ev->final_status;
		free(r->reason);
		r->reason = ev->reason;
		ev->reason = NULL;
		break;
	case CR_RUN_EV_REQUESTED:
		break;
	}
	memcpy(r->run_id, ev->run_id, sizeof(r->run_id));
	cr_run_event_clear(ev);
	return 0;
}
