#ifndef CR_DOMAIN_ENTITIES_H
#define CR_DOMAIN_ENTITIES_H
/*
 * The entities of data-model.md section 2 as plain structs. Pure: no I/O, no
 * git, no clock. Strings that are ids or timestamps are fixed arrays; free
 * text is heap-allocated and released by the entity's *_clear function.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CR_ID_MAX 136        /* candidate ids: 128 + NUL, rounded */
#define CR_SHORT_ID_MAX 32   /* imp-001, run-001-v000001, evt-1234567 */
#define CR_TS_MAX 24         /* 2026-03-09T10:15:00Z */
#define CR_OID_MAX 72        /* 40 or 64 hex + NUL */
#define CR_SHA_MAX 65

typedef enum cr_status {
	CR_STATUS_NONE = 0, /* not registered */
	CR_STATUS_DRAFT,
	CR_STATUS_PREPARED,
	CR_STATUS_MANIFEST_BUILT,
	CR_STATUS_CHECK_PENDING,
	CR_STATUS_CHECK_RUNNING,
	CR_STATUS_CHECK_PASSED,
	CR_STATUS_CHECK_BLOCKED,
	CR_STATUS_CHECK_ERROR,
	CR_STATUS_APPROVED,
	CR_STATUS_REJECTED,
	CR_STATUS_PUBLISHED,
	CR_STATUS_REVOKED,
	CR_STATUS__COUNT
} cr_status;

typedef enum cr_stage {
	CR_STAGE_DATA_PURITY = 0,
	CR_STAGE_INTERNAL_SOURCES_ONLY,
	CR_STAGE_NO_EXTERNAL_ENDPOINTS,
	CR_STAGE_MANIFEST_CONSISTENCY,
	CR_STAGE__COUNT
} cr_stage;

typedef enum cr_severity { CR_SEV_BLOCKER = 0, CR_SEV_WARNING } cr_severity;
typedef enum cr_stage_status { CR_SS_PASSED = 0, CR_SS_FAILED, CR_SS_ERROR, CR_SS_SKIPPED } cr_stage_status;
typedef enum cr_run_status { CR_RUN_PENDING = 0, CR_RUN_RUNNING, CR_RUN_SUCCEEDED, CR_RUN_FAILED } cr_run_status;
typedef enum cr_final { CR_FINAL_NONE = 0, CR_FINAL_PASSED, CR_FINAL_BLOCKED, CR_FINAL_ERROR } cr_final;

const char *cr_status_name(cr_status s);
int cr_status_parse(const char *name, cr_status *out);
const char *cr_stage_name(cr_stage s);
int cr_stage_parse(const char *name, cr_stage *out);
const char *cr_severity_name(cr_severity s);
int cr_severity_parse(const char *name, cr_severity *out);
const char *cr_stage_status_name(cr_stage_status s);
int cr_stage_status_parse(const char *name, cr_stage_status *out);
const char *cr_run_status_name(cr_run_status s);
int cr_run_status_parse(const char *name, cr_run_status *out);
const char *cr_final_name(cr_final f); /* NULL for NONE */
int cr_final_parse(const char *name, cr_final *out);

/* ReleaseCandidate: the immutable record. */
typedef struct cr_candidate {
	char candidate_id[CR_ID_MAX];
	char version[80];
	char source_snapshot[264];
	char source_commit[CR_OID_MAX];
	char *created_by;
	char created_at[CR_TS_MAX];
} cr_candidate;

/* The candidate with the fields derived from its evidence. */
typedef struct cr_candidate_view {
	cr_candidate c;
	cr_status status;
	char latest_import_id[CR_SHORT_ID_MAX];   /* "" when none */
	char latest_manifest_id[CR_SHORT_ID_MAX];
	char latest_run_id[CR_SHORT_ID_MAX];
	char latest_report_id[CR_SHORT_ID_MAX];
	/* Derived helpers for gates (not in the DTO). */
	char latest_manifest_import_id[CR_SHORT_ID_MAX]; /* import the latest manifest froze */
	char latest_import_event[CR_SHORT_ID_MAX];       /* the audit event of the latest import */
	char latest_manifest_digest[CR_SHA_MAX];         /* as its manifest.build event records it */
	char approved_report_id[CR_SHORT_ID_MAX];
	char latest_publication_id[CR_SHORT_ID_MAX];
	char latest_task_id[CR_ID_MAX]; /* the latest run's task, as its compliance.run event names it */
	bool run_unfinished;            /* the latest run's finish is not recorded */
	bool run_orphaned;              /* ... and its runner is gone: reported as ERROR */
} cr_candidate_view;

typedef struct cr_artifact {
	char *path;
	char sha256[CR_SHA_MAX];
	uint64_t size;
	char *source;     /* NULL when absent */
	char *kind;       /* NULL when absent */
	char *media_type; /* NULL when absent */
} cr_artifact;

typedef struct cr_import {
	char import_id[CR_SHORT_ID_MAX];
	char candidate_id[CR_ID_MAX];
	char *imported_by;
	char imported_at[CR_TS_MAX];
	char *artifact_root;
	cr_artifact *artifacts;
	size_t artifact_count;
	uint64_t total_size;
} cr_import;

typedef struct cr_manifest {
	char manifest_id[CR_SHORT_ID_MAX];
	char candidate_id[CR_ID_MAX];
	int64_t version;
	char import_id[CR_SHORT_ID_MAX];
	char source_commit[CR_OID_MAX];
	char *created_by;
	char created_at[CR_TS_MAX];
	cr_artifact *artifacts; /* sorted by path (bytewise) */
	size_t artifact_count;
	uint64_t total_size;
	char manifest_digest[CR_SHA_MAX];
	/* Not stored in the manifest object; carried for the engine: the
	 * import's artifact_root. */
	char *artifact_root;
	/* Set by cr_manifest_unpack: every artifact string points into it. */
	char *strings;
} cr_manifest;

typedef struct cr_snapshot {
	char id[72];       /* policy_id / registry_id */
	int64_t version;
	char digest[CR_SHA_MAX];
	char ref[128];     /* resolved_from.ref */
	char commit[CR_OID_MAX];
} cr_snapshot;

typedef struct cr_progress {
	uint64_t done, total;
} cr_progress;

typedef struct cr_stage_result {
	char run_id[CR_SHORT_ID_MAX];
	cr_stage stage;
	cr_stage_status status;
	char started_at[CR_TS_MAX];
	char finished_at[CR_TS_MAX];
	uint64_t duration_ms;
	uint64_t artifacts_checked;
	uint64_t violation_count;
	char *error; /* set iff ERROR or SKIPPED */
} cr_stage_result;

/* ComplianceRun: the fold of the run's events plus the task's progress. */
typedef struct cr_run {
	char run_id[CR_SHORT_ID_MAX];
	char candidate_id[CR_ID_MAX];
	char manifest_id[CR_SHORT_ID_MAX];
	char manifest_digest[CR_SHA_MAX];
	cr_snapshot policy;
	cr_snapshot registry;
	char task_id[CR_ID_MAX];
	char *requested_by;
	char requested_at[CR_TS_MAX];
	char started_at[CR_TS_MAX];  /* "" when not started */
	char finished_at[CR_TS_MAX]; /* "" when not finished */
	cr_run_status status;
	cr_final final_status;
	cr_progress progress;
	char report_id[CR_SHORT_ID_MAX]; /* "" until finished */
	char *reason;                    /* why FAILED / ERROR, or NULL */
	int64_t jobs;                    /* from the started event, 0 if none */
	cr_stage_result stages[CR_STAGE__COUNT];
	size_t stage_count; /* completed prefix */
} cr_run;

typedef struct cr_location {
	uint64_t line, column, offset;
} cr_location;

typedef struct cr_violation {
	char violation_id[CR_SHORT_ID_MAX];
	char run_id[CR_SHORT_ID_MAX];
	cr_stage stage;
	char rule_id[72];
	cr_severity severity;
	char *artifact_path; /* NULL for manifest-wide findings */
	char *message;
	bool has_location;
	cr_location location;
	char *excerpt; /* NULL when none; at most 120 bytes */
	/* 0, or this is a summary standing for LEFT_OUT findings a cap kept
	 * from being recorded: the totals count it as that many. */
	uint64_t left_out;
} cr_violation;

typedef struct cr_report {
	char report_id[CR_SHORT_ID_MAX];
	char run_id[CR_SHORT_ID_MAX];
	char candidate_id[CR_ID_MAX];
	char manifest_id[CR_SHORT_ID_MAX];
	char manifest_digest[CR_SHA_MAX];
	char policy_digest[CR_SHA_MAX];
	char registry_digest[CR_SHA_MAX];
	cr_final final_status;
	cr_stage_result stages[CR_STAGE__COUNT]; /* summaries: stage, status, duration, checked, count, error */
	uint64_t total, blocker, warning;
	uint64_t by_stage[CR_STAGE__COUNT];
	char generated_at[CR_TS_MAX];
	char report_digest[CR_SHA_MAX];
} cr_report;

typedef struct cr_approval {
	char approval_id[CR_SHORT_ID_MAX];
	char candidate_id[CR_ID_MAX];
	char report_id[CR_SHORT_ID_MAX];
	bool approved; /* APPROVED or REJECTED */
	char *actor;
	char at[CR_TS_MAX];
	char *comment; /* NULL -> null */
} cr_approval;

typedef struct cr_publication {
	char publication_id[CR_SHORT_ID_MAX];
	char candidate_id[CR_ID_MAX];
	char report_id[CR_SHORT_ID_MAX];
	char channel[40];
	char *actor;
	char at[CR_TS_MAX];
	char tag[136];      /* "" when none */
	char tag_commit[CR_OID_MAX]; /* the commit the tag resolved to; "" when no tag */
	char *revoked_by;   /* set on a revocation record */
	char *reason;       /* set on a revocation record */
} cr_publication;

typedef struct cr_audit_event {
	char event_id[CR_SHORT_ID_MAX];
	char type[40];          /* "candidate.register", ... */
	char candidate_id[CR_ID_MAX]; /* "" -> null (policy.publish) */
	char *actor;
	char at[CR_TS_MAX];
	bool accepted;
	/* details: a flat list of string key/values (ids, status, final_status),
	 * plus the error of a refusal. */
	size_t ndetails;
	struct { char key[32]; char *value; } details[12];
	int error_code;       /* 0 when none */
	char *error_message;  /* NULL when none */
} cr_audit_event;

typedef struct cr_task {
	char task_id[CR_ID_MAX];
	char run_id[CR_SHORT_ID_MAX];
	enum { CR_TASK_QUEUED = 0, CR_TASK_RUNNING, CR_TASK_SUCCEEDED, CR_TASK_FAILED } status;
	long pid; /* 0 -> null */
	cr_progress progress;
	char created_at[CR_TS_MAX];
	char updated_at[CR_TS_MAX];
	char *error; /* NULL -> null */
} cr_task;
const char *cr_task_status_name(int s);
/* 0 and *OUT set for "QUEUED".."FAILED", else CR_EINVALID_INPUT. */
int cr_task_status_parse(const char *name, int *out);

/* Policy and registry, as parsed from the trusted store. */
typedef enum cr_matcher { CR_MATCH_PATH = 0, CR_MATCH_CONTENT, CR_MATCH_ENDPOINT } cr_matcher;

typedef struct cr_rule {
	char id[72];
	cr_stage stage;
	cr_severity severity;
	char *description;
	cr_matcher matcher;
	char *pattern;
	bool secret;
} cr_rule;

typedef struct cr_policy_limits {
	uint32_t match_limit;  /* 0: PCRE2 default */
	uint32_t depth_limit;  /* 0: PCRE2 default */
	uint64_t per_artifact_timeout_ms; /* default 60000 */
	uint64_t max_artifact_bytes;      /* 0: no limit */
	uint64_t max_per_rule_artifact;   /* violations of one rule in one artifact recorded; default 1000 */
	uint64_t max_per_run;             /* violations of one run recorded; default 100000 */
} cr_policy_limits;

/* A signer of the trusted policy: who, with which SSH key, in which roles. */
enum { CR_SIGNER_RELEASER = 1 << 0, CR_SIGNER_APPROVER = 1 << 1, CR_SIGNER_POLICY_ADMIN = 1 << 2 };
typedef struct cr_signer {
	char principal[260];
	char *public_key; /* "ssh-ed25519 AAAA…" */
	unsigned roles;   /* CR_SIGNER_* bits */
} cr_signer;

typedef struct cr_policy {
	char policy_id[72];
	int64_t version;
	char *release_tag_pattern;
	cr_rule *rules;
	size_t rule_count;
	cr_policy_limits limits;
	cr_signer *signers;
	size_t signer_count;
	char **require_signatures; /* audit types */
	size_t require_count;
} cr_policy;
/* The role an operation of audit TYPE needs when it is signed: approver for
 * approve, reject, publish, revoke; policy-admin for policy.publish;
 * releaser for the others. */
unsigned cr_role_for(const char *audit_type);
/* "releaser", "approver", "policy-admin" of one role bit. */
const char *cr_role_name(unsigned role);
/* true when P requires audit TYPE's ledger commits to be signed. */
bool cr_policy_requires_signature(const cr_policy *p, const char *audit_type);

typedef struct cr_allowed_source {
	char id[72];
	char *prefix;
} cr_allowed_source;

typedef struct cr_registry {
	char registry_id[72];
	int64_t version;
	cr_allowed_source *sources;
	size_t source_count;
	char **hosts; /* "*.suffix" or exact, compared case-insensitively */
	size_t host_count;
} cr_registry;

/* One ref update of a push: the ref, its old and new commit ids (hex; ""
 * for none: a creation, a deletion). */
typedef struct cr_push_update {
	const char *ref;
	char old[CR_OID_MAX], new_[CR_OID_MAX];
} cr_push_update;
/* What a check of a push found about one ref: a refusal (the push is
 * refused) or a note (it passes, and the pusher is told). */
typedef struct cr_push_finding {
	bool refused;
	char ref[256];
	char why[1024];
	char hint[1024]; /* what to do next, commands included; "" when none */
} cr_push_finding;
typedef struct cr_push_verdict {
	cr_push_finding *v;
	size_t n, cap;
	size_t refused;            /* of v[0..n) */
	uint64_t commits, objects; /* ledger commits and objects verified */
} cr_push_verdict;
/* Append a copy of F (counted in V->refused when it refuses). */
int cr_push_verdict_add(cr_push_verdict *v, const cr_push_finding *f);
void cr_push_verdict_clear(cr_push_verdict *v);

void cr_candidate_clear(cr_candidate *c);
void cr_candidate_view_clear(cr_candidate_view *v);
void cr_artifact_clear(cr_artifact *a);
void cr_import_clear(cr_import *i);
void cr_manifest_clear(cr_manifest *m);
void cr_stage_result_clear(cr_stage_result *s);
void cr_run_clear(cr_run *r);
void cr_violation_clear(cr_violation *v);
void cr_report_clear(cr_report *r);
void cr_approval_clear(cr_approval *a);
void cr_publication_clear(cr_publication *p);
void cr_audit_event_clear(cr_audit_event *e);
void cr_task_clear(cr_task *t);
void cr_policy_clear(cr_policy *p);
void cr_registry_clear(cr_registry *r);

/* Add a detail key/value to an audit event (copied; at most 12). */
void cr_audit_detail(cr_audit_event *e, const char *key, const char *value);
/* The same, reporting failure: a repeated key replaces its value; "error"
 * (the refusal's ErrorInfo, set through error_code/error_message), a key of
 * 32 bytes or more, a thirteenth key, or no memory is CR_EINVALID_ARGUMENT /
 * CR_EINTERNAL. cr_audit_detail() ignores those failures. */
int cr_audit_detail_set(cr_audit_event *e, const char *key, const char *value);

#endif
