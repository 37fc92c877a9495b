#ifndef CR_FACADE_DTO_H
#define CR_FACADE_DTO_H
/*
 * The JSON of every body the facade answers (OpenAPI components), for the
 * front ends: the CLI's --json and the API print the same bytes. The stored
 * objects that are also API bodies (Import, Manifest, StageResult,
 * Violation, Report, Approval, Publication, AuditEvent, PolicySnapshot) come
 * from domain/codec.h, included here; the encoders below are of the bodies
 * that are not stored as such. Each returns a new tree the caller frees
 * with cJSON_Delete, or NULL with cr_error_last() set.
 */
#include <cjson/cJSON.h>
#include "domain/codec.h"
#include "domain/entities.h"
#include "facade/facade.h"

/* OpenAPI Candidate: the stored record plus its derived status and latest ids. */
cJSON *cr_candidate_view_to_json(const cr_candidate_view *v);
/* OpenAPI ManifestSummary: the manifest without its artifacts. */
cJSON *cr_manifest_summary_to_json(const cr_manifest *m);
/* OpenAPI ComplianceRun: the run's identity and live state (no stage results). */
cJSON *cr_run_to_json(const cr_run *r);
/* {"run_id", "stages": [StageResult…]}: the completed stages of a run. */
cJSON *cr_run_stages_to_json(const cr_run *r);
/* OpenAPI Task (the task file has the same form: adapters/tasks/task_json.h). */
cJSON *cr_task_dto_to_json(const cr_task *t);
/* The list envelopes of one page (or the whole list) with its next_cursor
 * (NEXT NULL or "": null, the last page): OpenAPI CandidateList,
 * AuditEventList and ViolationList. */
cJSON *cr_candidate_list_to_json(const cr_candidate_view *v, size_t n, const char *next);
cJSON *cr_audit_log_to_json(const cr_audit_event *e, size_t n, const char *next);
cJSON *cr_violation_list_to_json(const char *run_id, const cr_violation *v, size_t n, const char *next);
/* OpenAPI ManifestList: every manifest of CANDIDATE_ID, as summaries. */
cJSON *cr_manifest_list_to_json(const char *candidate_id, const cr_manifest *m, size_t n);
/* OpenAPI RunAccepted: {run_id, task_id, status} of a run just queued. */
cJSON *cr_run_accepted_to_json(const cr_run *r);
/* OpenAPI PolicyView: the namespace, both snapshots and both documents. */
cJSON *cr_policy_view_to_json(const cr_policy_view *v);
/* OpenAPI Error: {"error":{"code":…,"message":…[,"details":{status, allowed[]}]}};
 * STATUS ("" or NULL: no details) and ALLOWED_CSV as cr_lifecycle_allowed() gives them. */
cJSON *cr_error_to_json(int code, const char *message, const char *status, const char *allowed_csv);

#endif
