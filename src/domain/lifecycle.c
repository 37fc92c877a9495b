#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "domain/lifecycle.h"

/*
 * data-model.md section 3 as one table: for each (status, operation) the
 * status the accepted operation leads to, or NONE (0) when it is refused.
 * NONE is never the target of an operation, so 0 can mean "refused".
 */
#define X 0 /* refused */
#define S(name) CR_STATUS_##name
static const cr_status transitions[CR_STATUS__COUNT][CR_OP__COUNT] = {
	/*                   register  import       manifest          run                approve      reject       publish       revoke */
	[CR_STATUS_NONE]           = {S(DRAFT), X,           X,                X,                 X,           X,           X,            X},
	[CR_STATUS_DRAFT]          = {X,        S(PREPARED), X,                X,                 X,           X,           X,            X},
	[CR_STATUS_PREPARED]       = {X,        S(PREPARED), S(MANIFEST_BUILT), X,                X,           X,           X,            X},
	[CR_STATUS_MANIFEST_BUILT] = {X,        S(PREPARED), S(MANIFEST_BUILT), S(CHECK_PENDING), X,           X,           X,            X},
	[CR_STATUS_CHECK_PENDING]  = {X,        X,           X,                X,                 X,           X,           X,            X},
	[CR_STATUS_CHECK_RUNNING]  = {X,        X,           X,                X,                 X,           X,           X,            X},
	[CR_STATUS_CHECK_PASSED]   = {X,        X,           X,                X,                 S(APPROVED), S(REJECTED), X,            X},
	[CR_STATUS_CHECK_BLOCKED]  = {X,        S(PREPARED), S(MANIFEST_BUILT), S(CHECK_PENDING), X,           X,           X,            X},
	[CR_STATUS_CHECK_ERROR]    = {X,        S(PREPARED), S(MANIFEST_BUILT), S(CHECK_PENDING), X,           X,           X,            X},
	[CR_STATUS_APPROVED]       = {X,        X,           X,                X,                 X,           S(REJECTED), S(PUBLISHED), X},
	[CR_STATUS_REJECTED]       = {X,        X,           X,                X,                 X,           X,           X,            X},
	[CR_STATUS_PUBLISHED]      = {X,        X,           X,                X,                 X,           X,           X,            S(REVOKED)},
	[CR_STATUS_REVOKED]        = {X,        X,           X,                X,                 X,           X,           X,            X},
};
#undef S
#undef X

/* Per operation: the user's name, the audit type, and the refusal sentence
 * (it lists the statuses of the operation's column above; the unit test
 * checks that they agree). */
static const struct {
	const char *name;
	const char *audit_type;
	const char *needs;
} ops[CR_OP__COUNT] = {
	[CR_OP_REGISTER] = {"register", "candidate.register", "candidate is already registered"},
	[CR_OP_IMPORT] = {"import-artifacts", "candidate.import_artifacts",
			  "import-artifacts needs DRAFT, PREPARED, MANIFEST_BUILT, CHECK_BLOCKED or CHECK_ERROR"},
	[CR_OP_MANIFEST_BUILD] = {"manifest build", "manifest.build",
				  "manifest build needs PREPARED, MANIFEST_BUILT, CHECK_BLOCKED or CHECK_ERROR"},
	[CR_OP_RUN] = {"compliance run", "compliance.run",
		       "compliance run needs MANIFEST_BUILT, CHECK_BLOCKED or CHECK_ERROR"},
	[CR_OP_APPROVE] = {"approve", "release.approve", "approve needs CHECK_PASSED"},
	[CR_OP_REJECT] = {"reject", "release.reject", "reject needs CHECK_PASSED or APPROVED"},
	[CR_OP_PUBLISH] = {"publish", "release.publish", "publish needs APPROVED"},
	[CR_OP_REVOKE] = {"revoke", "release.revoke", "revoke needs PUBLISHED"},
};

static const char not_registered[] = "candidate is not registered";

static bool valid_status(cr_status st) { return (int)st >= 0 && st < CR_STATUS__COUNT; }
static bool valid_op(cr_op op) { return (int)op >= 0 && op < CR_OP__COUNT; }

const char *cr_op_name(cr_op op) { return valid_op(op) ? ops[op].name : NULL; }
const char *cr_op_audit_type(cr_op op) { return valid_op(op) ? ops[op].audit_type : NULL; }

const char *cr_lifecycle_may(cr_status st, cr_op op)
{
	if (!valid_status(st) || !valid_op(op))
		return "unknown status or operation";
	if (transitions[st][op] != CR_STATUS_NONE)
		return NULL;
	/* Register has one allowed status, NONE, so every refusal of it means
	 * the id is taken; every other operation refused in NONE is refused
	 * because there is no candidate yet. */
	if (st == CR_STATUS_NONE && op != CR_OP_REGISTER)
		return not_registered;
	return ops[op].needs;
}

static void list_allowed(cr_status st, bool types, char *buf, size_t len);

void cr_lifecycle_allowed(cr_status st, char *buf, size_t len)
{
	list_allowed(st, false, buf, len);
}

void cr_lifecycle_allowed_types(cr_status st, char *buf, size_t len)
{
	list_allowed(st, true, buf, len);
}

static void list_allowed(cr_status st, bool types, char *buf, size_t len)
{
	size_t used = 0;

	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (!valid_status(st)) {
		snprintf(buf, len, "none");
		return;
	}
	for (size_t op = 0; op < CR_OP__COUNT; op++) {
		int n;
		if (transitions[st][op] == CR_STATUS_NONE)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
			     types ? cr_op_audit_type((cr_op)op) : ops[op].name);
		if (n < 0 || (size_t)n >= len - used)
			return; /* truncated, still NUL-terminated */
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, len, "none");
}

/* Events that record an accepted operation move the candidate exactly as the
 * operation's column of the table says; -1 marks the run's own progress
 * events, which no user requests and which are handled below. */
static const int event_op[CR_EV__COUNT] = {
	[CR_EV_REGISTERED] = CR_OP_REGISTER,
	[CR_EV_IMPORTED] = CR_OP_IMPORT,
	[CR_EV_MANIFEST_BUILT] = CR_OP_MANIFEST_BUILD,
	[CR_EV_RUN_REQUESTED] = CR_OP_RUN,
	[CR_EV_RUN_STARTED] = -1,
	[CR_EV_RUN_PASSED] = -1,
	[CR_EV_RUN_BLOCKED] = -1,
	[CR_EV_RUN_ERROR] = -1,
	[CR_EV_APPROVED] = CR_OP_APPROVE,
	[CR_EV_REJECTED] = CR_OP_REJECT,
	[CR_EV_PUBLISHED] = CR_OP_PUBLISH,
	[CR_EV_REVOKED] = CR_OP_REVOKE,
};

const char *cr_event_audit_type(cr_event ev)
{
	if ((int)ev < 0 || ev >= CR_EV__COUNT)
		return NULL;
	if (event_op[ev] >= 0)
		return cr_op_audit_type((cr_op)event_op[ev]);
	return ev == CR_EV_RUN_STARTED ? NULL : CR_AUDIT_COMPLIANCE_FINISH;
}

int cr_lifecycle_next(cr_status st, cr_event ev, cr_status *out)
{
	cr_status to = CR_STATUS_NONE;
	bool checking;

	if (!valid_status(st) || (int)ev < 0 || ev >= CR_EV__COUNT)
		return -1;
	if (event_op[ev] >= 0) {
		to = transitions[st][event_op[ev]];
	} else {
		/* A run finishes from PENDING too: a runner that died before its
		 * started event is finished as ERROR by the next reader. */
		checking = st == CR_STATUS_CHECK_PENDING || st == CR_STATUS_CHECK_RUNNING;
		switch (ev) {
		case CR_EV_RUN_STARTED:
			if (st == CR_STATUS_CHECK_PENDING)
				to = CR_STATUS_CHECK_RUNNING;
			break;
		case CR_EV_RUN_PASSED:
			if (checking)
				to = CR_STATUS_CHECK_PASSED;
			break;
		case CR_EV_RUN_BLOCKED:
			if (checking)
				to = CR_STATUS_CHECK_BLOCKED;
			break;
		case CR_EV_RUN_ERROR:
			if (checking)
				to = CR_STATUS_CHECK_ERROR;
			break;
		default:
			break;
		}
	}
	if (to == CR_STATUS_NONE)
		return -1;
	if (out)
		*out = to;
	return 0;
}
