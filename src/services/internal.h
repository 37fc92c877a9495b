#ifndef CR_SERVICES_INTERNAL_H
#define CR_SERVICES_INTERNAL_H
/*
 * What the services share among themselves (services/common.c): reading and
 * staging stored objects as cJSON, the candidate's derived view, audit
 * events and refusals. No front end or facade sees these.
 */
#include <cjson/cJSON.h>
#include "services/services.h"

/* Read and parse one stored object. */
int cr_svc_get_json(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *key, const char *sub, cJSON **out);
/* Canonical JSON of DOC staged as a new object (DOC is freed). */
int cr_svc_put_json(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *cid, const char *key,
		    const char *sub, cJSON *doc);
/* The same, with the object stored first by write_blob: REF gets its id. */
int cr_svc_put_json_ref(cr_txn *t, const cr_svc *s, cr_objkind kind, const char *cid, const char *key,
			const char *sub, cJSON *doc, char *ref, size_t reflen);
/* The local cache of packed manifests, keyed by the stored manifest's
 * object id (so an entry names that exact content): put is best effort;
 * get is 0 on a hit, negative on a miss or an entry that does not check
 * out. Whoever reads one still checks it against the evidence (the run
 * recomputes the manifest digest, which the manifest.build event records). */
void cr_svc_cache_manifest(const cr_svc *s, const char *ref, const cr_manifest *m);
int cr_svc_cached_manifest(const cr_svc *s, const char *ref, cr_manifest *out);
/* Derive a candidate's status and latest ids from its own audit events (an
 * orphaned run shows as CHECK_ERROR, derived in memory: reads write nothing). */
int cr_svc_candidate_view(cr_txn *t, const cr_svc *s, const char *cid, cr_candidate_view *out);
/* Every candidate's view at T, unsorted, *OUT[0..*N) the caller's: from
 * the local view cache where a candidate's evidence did not change since
 * the cache was written (services/view_cache.c), derived where it did; for
 * the whole list only, never for a gate. */
/* The trusted policy the ledger records as in force: the latest
 * policy.publish event (of no candidate) and what it names. */
typedef struct cr_policy_binding {
	bool found;
	char event_id[CR_SHORT_ID_MAX];
	char commit[CR_OID_MAX]; /* "" in an event written before the binding */
	char policy_id[72], policy_digest[CR_SHA_MAX], registry_digest[CR_SHA_MAX];
	int64_t version;
} cr_policy_binding;
int cr_svc_policy_binding(cr_txn *t, const cr_svc *s, cr_policy_binding *b);
/* CR_EINTEGRITY (naming both) unless SNAP, a policy the store resolved,
 * is the one the ledger at T records as in force, or, with no policy.publish
 * recorded, the built-in policy of the demo namespace. */
int cr_svc_policy_check_bound(cr_txn *t, const cr_svc *s, const cr_snapshot *snap);
/* An accepted operation of audit TYPE that the policy in force at T
 * requires signed: git's signing key must be a signer of that policy with
 * the operation's role (CR_EGATE_REFUSED naming what is missing); then
 * PRINCIPAL (LEN bytes) gets the signer and T's commit will be signed.
 * PRINCIPAL "" when no signature is required. A policy.publish is judged
 * by the policy before it (the one T reads). */
int cr_svc_sign_gate(cr_txn *t, const cr_svc *s, const char *type, char *principal, size_t len);
/* The same against POL. */
int cr_svc_sign_with(cr_txn *t, const cr_svc *s, const cr_policy *pol, const char *type, char *principal, size_t len);
/* Who does a write: the actor it records, and its signer. */
typedef struct cr_svc_who {
	const char *claimed;     /* the actor the caller gave (borrowed) */
	char actor[1100];        /* what the write records: CLAIMED, or the signer's principal */
	char principal[260];     /* the signer ("": the operation is not one the policy wants signed) */
	char on_behalf_of[1100]; /* CLAIMED, when a server's key acts for it ("") */
} cr_svc_who;
/* W->actor = CLAIMED, unsigned. */
void cr_svc_who_init(cr_svc_who *w, const char *claimed);
/* The sign gate of an accepted operation TYPE (cr_svc_sign_with, against
 * POL, or NULL: the policy in force at T), then who acts: where the
 * operation is signed, the signer's principal, as s->actor_mode says
 * (a claimed actor that is not the principal is CR_EINVALID_ARGUMENT).
 * Call before staging anything that records the actor; again on a retry. */
int cr_svc_act(cr_txn *t, const cr_svc *s, const char *type, const cr_policy *pol, cr_svc_who *w);
/* The policy the ledger at T records as in force, parsed (POL zeroed when none). */
int cr_svc_policy_in_force_at(cr_txn *t, const cr_svc *s, cr_policy *pol);
/* Validate POLICY and REGISTRY as a publish does (schemas, every rule
 * compiles, unique source ids), POL getting the policy (cr_policy_clear). */
int cr_svc_policy_validate(const cr_svc *s, const char *policy, const char *registry, cr_policy *pol);
int cr_svc_all_views(cr_txn *t, const cr_svc *s, cr_candidate_view **out, size_t *n);
/* One page of cr_svc_list (services/candidate_page.c). */
int cr_svc_list_page(const cr_svc *s, cr_status filter, const cr_page_req *pg, cr_candidate_view **out, size_t *n,
		     char *next);
/* The created_at of the newest candidate of snapshot T ("" if none). */
int cr_svc_newest_created_at(cr_txn *t, const cr_svc *s, char out[CR_TS_MAX]);
/* Start the accepted audit event EV of TYPE (a lifecycle audit type name:
 * cr_op_audit_type, cr_event_audit_type, CR_AUDIT_*) for candidate CID
 * (NULL: none) by ACTOR, which EV borrows; the caller adds details
 * (cr_audit_detail), stages it (cr_svc_audit) and ends it with
 * cr_svc_audit_event_done. */
void cr_svc_audit_event_init(cr_audit_event *ev, const char *type, const char *cid, const char *actor);
/* Free what EV owns (not the borrowed actor) and zero it. */
void cr_svc_audit_event_done(cr_audit_event *ev);
/* Stage audit event EV (type, candidate_id, actor, accepted, details and
 * error filled by the caller): allocates its event_id, stamps "at". An
 * accepted event passes the sign gate first (cr_svc_sign_gate). */
int cr_svc_audit(cr_txn *t, const cr_svc *s, cr_audit_event *ev);
/* The same for the operation W acts in (cr_svc_act gated it already):
 * EV's actor is W's, its details name the signer and on whose behalf. */
int cr_svc_audit_by(cr_txn *t, const cr_svc *s, cr_audit_event *ev, const cr_svc_who *w);
/* Refuse OP for the candidate in view V: sets the INVALID_TRANSITION error
 * ("cannot approve X: status is S; approve needs … (allowed now: …)") and
 * stages the REFUSED audit event; returns the code. */
int cr_svc_refuse_transition(cr_txn *t, const cr_svc *s, cr_op op, const cr_candidate_view *v,
			     const char *actor, int *commit_anyway, char *msg, size_t msglen);
/* Stage the REFUSED audit event for the current (gate) error. */
int cr_svc_refuse_gate(cr_txn *t, const cr_svc *s, cr_op op, const cr_candidate_view *v,
		       const char *actor, int *commit_anyway, char *msg, size_t msglen, const char *key,
		       const char *value);
/* Refresh the status note of a candidate (best effort). */
void cr_svc_note(const cr_svc *s, const char *cid);

#endif
