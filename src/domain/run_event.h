#ifndef CR_DOMAIN_RUN_EVENT_H
#define CR_DOMAIN_RUN_EVENT_H
/*
 * A compliance run is the fold of its stored events (run-event.schema.json):
 * "requested" fills the identity fields, "started", "stage_completed" and
 * "finished" the rest. The codec decodes one stored event into a
 * cr_run_event (domain/codec.h: cr_run_event_from_json); folding it into
 * the run is pure and lives here.
 */
#include "domain/entities.h"

typedef enum cr_run_event_kind {
	CR_RUN_EV_REQUESTED = 0,
	CR_RUN_EV_STARTED,
	CR_RUN_EV_STAGE_COMPLETED,
	CR_RUN_EV_FINISHED,
} cr_run_event_kind;

/* One decoded run event; only the fields of its kind are set. */
typedef struct cr_run_event {
	cr_run_event_kind kind;
	char run_id[CR_SHORT_ID_MAX];
	char at[CR_TS_MAX];
	cr_run requested;         /* REQUESTED: run_id, requested_at, candidate, manifest, snapshots, task, requested_by */
	uint64_t artifacts_total; /* STARTED */
	int64_t jobs;             /* STARTED: 0 when not recorded */
	cr_stage_result stage;    /* STAGE_COMPLETED */
	cr_run_status status;     /* FINISHED: SUCCEEDED or FAILED */
	cr_final final_status;    /* FINISHED */
	char report_id[CR_SHORT_ID_MAX]; /* FINISHED */
	char *reason;             /* FINISHED: NULL when none */
} cr_run_event;

/* Free what EV owns and zero it; NULL is fine. */
void cr_run_event_clear(cr_run_event *ev);

/* Fold EV into R. On success R takes what EV owns (EV is left cleared);
 * a refusal (CR_EINVALID_INPUT: an event of another run, a stage out of
 * order) leaves both as they were. */
int cr_run_event_apply(cr_run *r, cr_run_event *ev);

#endif
