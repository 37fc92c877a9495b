#ifndef CR_DOMAIN_LIFECYCLE_H
#define CR_DOMAIN_LIFECYCLE_H
/*
 * The candidate lifecycle of data-model.md section 3 as one transition table.
 * cr_lifecycle_may() says whether an operation is allowed in a status (and
 * why not); cr_lifecycle_next() folds an accepted event into a status.
 */
#include "domain/entities.h"

typedef enum cr_op {
	CR_OP_REGISTER = 0,
	CR_OP_IMPORT,
	CR_OP_MANIFEST_BUILD,
	CR_OP_RUN,
	CR_OP_APPROVE,
	CR_OP_REJECT,
	CR_OP_PUBLISH,
	CR_OP_REVOKE,
	CR_OP__COUNT
} cr_op;

/* Events that move a candidate (the accepted audit events, run outcomes). */
typedef enum cr_event {
	CR_EV_REGISTERED = 0,
	CR_EV_IMPORTED,
	CR_EV_MANIFEST_BUILT,
	CR_EV_RUN_REQUESTED,
	CR_EV_RUN_STARTED,
	CR_EV_RUN_PASSED,
	CR_EV_RUN_BLOCKED,
	CR_EV_RUN_ERROR,
	CR_EV_APPROVED,
	CR_EV_REJECTED,
	CR_EV_PUBLISHED,
	CR_EV_REVOKED,
	CR_EV__COUNT
} cr_event;

/* Operation names as users see them ("manifest build") and as audit types
 * ("manifest.build"). */
const char *cr_op_name(cr_op op);
const char *cr_op_audit_type(cr_op op);
/* The audit type of the event that records EV: an operation's own type,
 * CR_AUDIT_COMPLIANCE_FINISH for a run's three outcomes, NULL for
 * CR_EV_RUN_STARTED (a run event, not an audit event). */
const char *cr_event_audit_type(cr_event ev);
#define CR_AUDIT_COMPLIANCE_FINISH "compliance.finish"
/* The audit type of a policy publication (no candidate, no lifecycle move). */
#define CR_AUDIT_POLICY_PUBLISH "policy.publish"

/* NULL if OP is allowed in status ST; otherwise a static sentence naming
 * what OP needs, e.g. "approve needs CHECK_PASSED". */
const char *cr_lifecycle_may(cr_status st, cr_op op);

/* Write into BUF the comma-separated user names of the operations allowed
 * in ST ("import-artifacts, manifest build"), or "none". */
void cr_lifecycle_allowed(cr_status st, char *buf, size_t len);
/* The same by audit type ("candidate.import_artifacts, manifest.build"),
 * for machine-readable details. */
void cr_lifecycle_allowed_types(cr_status st, char *buf, size_t len);

/* The status after event EV in status ST: 0 and *OUT set, or -1 if EV is
 * not possible in ST (the evidence is inconsistent). */
int cr_lifecycle_next(cr_status st, cr_event ev, cr_status *out);

#endif
