#ifndef CR_DOMAIN_CODEC_H
#define CR_DOMAIN_CODEC_H
/*
 * Stored evidence <-> JSON, one pair per entity. *_to_json builds the stored
 * form with exactly the field names of schemas/ (which the OpenAPI document
 * reuses for these objects); the caller serializes it (canonically for
 * storage) and frees it.
 * *_from_json fills a zeroed struct from a document that passed its schema;
 * it returns 0, or CR_EINVALID_INPUT naming the first missing/mistyped field.
 * Absent optional fields are NULL / "" in the struct and omitted (or null
 * where the schema requires the key) in JSON.
 * Split by entity group: codec_candidate.c (candidate, artifacts, import,
 * manifest), codec_run.c (snapshots, stage results, run events, violations,
 * report), codec_release.c (approval, publication, audit event),
 * codec_policy.c (policy, registry). The encoders of OpenAPI bodies that are
 * not stored objects are in facade/dto.h; the packed manifest of the local
 * cache in services/manifest_pack.h; the task file in adapters/tasks.
 */
#include <cjson/cJSON.h>
#include "domain/entities.h"
#include "domain/run_event.h"
#include "util/json.h"

cJSON *cr_candidate_to_json(const cr_candidate *c);            /* candidate.schema.json */
int cr_candidate_from_json(const cJSON *j, cr_candidate *c);

cJSON *cr_artifact_to_json(const cr_artifact *a);
int cr_artifact_from_json(const cJSON *j, cr_artifact *a);
/* The "artifacts" array of A[0..N) (as in a manifest, for manifest_digest). */
cJSON *cr_artifacts_to_json(const cr_artifact *a, size_t n);
/* The same array written straight as canonical JSON (the bytes
 * cr_json_canonical gives for cr_artifacts_to_json), appended to B; and the
 * manifest_digest of A[0..N): SHA-256 of those bytes. */
void cr_artifacts_canonical(cr_sbuf *b, const cr_artifact *a, size_t n);
int cr_artifacts_digest(const cr_artifact *a, size_t n, char out[CR_SHA_MAX]);

cJSON *cr_import_to_json(const cr_import *i);                  /* import.schema.json */
int cr_import_from_json(const cJSON *j, cr_import *i);

cJSON *cr_manifest_to_json(const cr_manifest *m);              /* manifest.schema.json */
int cr_manifest_from_json(const cJSON *j, cr_manifest *m);
/* Every stored field of M but the artifacts array (the head a summary shows). */
cJSON *cr_manifest_head_to_json(const cr_manifest *m);

cJSON *cr_snapshot_to_json(const cr_snapshot *s, bool registry); /* PolicySnapshot / RegistrySnapshot */
int cr_snapshot_from_json(const cJSON *j, bool registry, cr_snapshot *s);

cJSON *cr_stage_result_to_json(const cr_stage_result *s);      /* stage-result.schema.json */
cJSON *cr_stage_summary_to_json(const cr_stage_result *s);     /* report's StageSummary */
int cr_stage_result_from_json(const cJSON *j, cr_stage_result *s);

/* Run events (run-event.schema.json). */
cJSON *cr_run_requested_to_json(const cr_run *r);  /* event "requested" from run fields */
/* Add the fields a run is requested with (candidate_id … requested_by, in
 * the contract's order) to O: the "requested" event and the run DTO share
 * them. false when out of memory. */
bool cr_run_put_request(cJSON *o, const cr_run *r);
cJSON *cr_run_started_to_json(const char *run_id, const char *at, uint64_t artifacts_total, int64_t jobs);
cJSON *cr_run_stage_completed_to_json(const cr_stage_result *s, const char *at);
cJSON *cr_run_finished_to_json(const cr_run *r);   /* event "finished": status, final_status, report_id, reason if FAILED */
/* Decode one stored run event into *EV (zeroed first; cleared on failure;
 * the caller frees it with cr_run_event_clear). */
int cr_run_event_from_json(const cJSON *j, cr_run_event *ev);
/* Decode one stored run event and fold it into R (cr_run_event_apply). */
int cr_run_apply_event(const cJSON *event, cr_run *r);

cJSON *cr_violation_to_json(const cr_violation *v);            /* violation.schema.json */
/* V as canonical JSON appended to B, without a cJSON tree (violation chunks
 * are written this way: the same bytes as cr_json_canonical of the above). */
void cr_violation_canonical(cr_sbuf *b, const cr_violation *v);
/* A stored violation chunk (violation-chunk.schema.json) of V[0..N), as
 * canonical JSON appended to B. */
void cr_violation_chunk_canonical(cr_sbuf *b, const char *run_id, uint64_t chunk, const cr_violation *v, size_t n);
int cr_violation_from_json(const cJSON *j, cr_violation *v);

cJSON *cr_report_to_json(const cr_report *r);                  /* report.schema.json (with report_digest) */
int cr_report_from_json(const cJSON *j, cr_report *r);
/* SHA-256 of the canonical JSON of every field but report_digest. */
int cr_report_digest(const cr_report *r, char out[CR_SHA_MAX]);

cJSON *cr_approval_to_json(const cr_approval *a);              /* approval.schema.json */
int cr_approval_from_json(const cJSON *j, cr_approval *a);

cJSON *cr_publication_to_json(const cr_publication *p);        /* publication.schema.json (either form) */
int cr_publication_from_json(const cJSON *j, cr_publication *p);

cJSON *cr_audit_event_to_json(const cr_audit_event *e);        /* audit-event.schema.json */
int cr_audit_event_from_json(const cJSON *j, cr_audit_event *e);

int cr_policy_from_json(const cJSON *j, cr_policy *p);         /* policy.schema.json */
int cr_registry_from_json(const cJSON *j, cr_registry *r);     /* registry.schema.json */

#endif
