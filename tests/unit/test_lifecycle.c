/* The lifecycle table against data-model.md section 3, pair by pair. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "domain/lifecycle.h"

#define ST(x) (1u << CR_STATUS_##x)

/* Written from the document, independently of lifecycle.c: for each
 * operation, the set of statuses it is allowed in, and where it leads. */
static const struct {
	cr_op op;
	unsigned allowed;
	cr_status to;
	const char *name;
	const char *audit;
} spec[CR_OP__COUNT] = {
	{CR_OP_REGISTER, ST(NONE), CR_STATUS_DRAFT, "register", "candidate.register"},
	{CR_OP_IMPORT, ST(DRAFT) | ST(PREPARED) | ST(MANIFEST_BUILT) | ST(CHECK_BLOCKED) | ST(CHECK_ERROR),
	 CR_STATUS_PREPARED, "import-artifacts", "candidate.import_artifacts"},
	{CR_OP_MANIFEST_BUILD, ST(PREPARED) | ST(MANIFEST_BUILT) | ST(CHECK_BLOCKED) | ST(CHECK_ERROR),
	 CR_STATUS_MANIFEST_BUILT, "manifest build", "manifest.build"},
	{CR_OP_RUN, ST(MANIFEST_BUILT) | ST(CHECK_BLOCKED) | ST(CHECK_ERROR), CR_STATUS_CHECK_PENDING,
	 "compliance run", "compliance.run"},
	{CR_OP_APPROVE, ST(CHECK_PASSED), CR_STATUS_APPROVED, "approve", "release.approve"},
	{CR_OP_REJECT, ST(CHECK_PASSED) | ST(APPROVED), CR_STATUS_REJECTED, "reject", "release.reject"},
	{CR_OP_PUBLISH, ST(APPROVED), CR_STATUS_PUBLISHED, "publish", "release.publish"},
	{CR_OP_REVOKE, ST(PUBLISHED), CR_STATUS_REVOKED, "revoke", "release.revoke"},
};

/* The op events, in cr_op order. */
static const cr_event op_event[CR_OP__COUNT] = {
	CR_EV_REGISTERED, CR_EV_IMPORTED, CR_EV_MANIFEST_BUILT, CR_EV_RUN_REQUESTED,
	CR_EV_APPROVED, CR_EV_REJECTED, CR_EV_PUBLISHED, CR_EV_REVOKED,
};

static void names(void **state)
{
	(void)state;
	for (int op = 0; op < CR_OP__COUNT; op++) {
		assert_int_equal(spec[op].op, op);
		assert_string_equal(cr_op_name((cr_op)op), spec[op].name);
		assert_string_equal(cr_op_audit_type((cr_op)op), spec[op].audit);
	}
	assert_null(cr_op_name(CR_OP__COUNT));
	assert_null(cr_op_audit_type((cr_op)-1));
}

/* "X needs A, B or C" built from the spec's status set. */
static void needs_sentence(char *buf, size_t len, int op)
{
	const char *names[CR_STATUS__COUNT];
	size_t n = 0, used;

	for (int st = 0; st < CR_STATUS__COUNT; st++)
		if (spec[op].allowed & (1u << st))
			names[n++] = cr_status_name((cr_status)st);
	used = (size_t)snprintf(buf, len, "%s needs ", spec[op].name);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
					 names[i]);
}

static void every_pair(void **state)
{
	(void)state;
	int allowed_count = 0;

	for (int st = 0; st < CR_STATUS__COUNT; st++) {
		for (int op = 0; op < CR_OP__COUNT; op++) {
			const char *why = cr_lifecycle_may((cr_status)st, (cr_op)op);
			bool allowed = spec[op].allowed & (1u << st);
			char expect[200];

			if (allowed) {
				if (why)
					fail_msg("%s in %s refused: %s", spec[op].name, cr_status_name((cr_status)st), why);
				allowed_count++;
				continue;
			}
			if (!why)
				fail_msg("%s in %s allowed", spec[op].name, cr_status_name((cr_status)st));
			assert_true(why[0] != '\0');
			if (op == CR_OP_REGISTER)
				assert_string_equal(why, "candidate is already registered");
			else if (st == CR_STATUS_NONE)
				assert_string_equal(why, "candidate is not registered");
			else {
				needs_sentence(expect, sizeof(expect), op);
				assert_string_equal(why, expect);
			}
		}
	}
	/* 1 + 5 + 4 + 3 + 1 + 2 + 1 + 1 */
	assert_int_equal(allowed_count, 18);
}

static void refusal_sentences(void **state)
{
	(void)state;
	assert_string_equal(cr_lifecycle_may(CR_STATUS_MANIFEST_BUILT, CR_OP_APPROVE), "approve needs CHECK_PASSED");
	assert_string_equal(cr_lifecycle_may(CR_STATUS_CHECK_PASSED, CR_OP_IMPORT),
			    "import-artifacts needs DRAFT, PREPARED, MANIFEST_BUILT, CHECK_BLOCKED or CHECK_ERROR");
	assert_string_equal(cr_lifecycle_may(CR_STATUS_DRAFT, CR_OP_REGISTER), "candidate is already registered");
	assert_string_equal(cr_lifecycle_may(CR_STATUS_REVOKED, CR_OP_REGISTER), "candidate is already registered");
	assert_string_equal(cr_lifecycle_may(CR_STATUS_NONE, CR_OP_REVOKE), "candidate is not registered");
	assert_string_equal(cr_lifecycle_may(CR_STATUS_NONE, CR_OP_IMPORT), "candidate is not registered");
	assert_non_null(cr_lifecycle_may(CR_STATUS__COUNT, CR_OP_IMPORT));
	assert_non_null(cr_lifecycle_may(CR_STATUS_DRAFT, CR_OP__COUNT));
}

static void next_for_operations(void **state)
{
	(void)state;
	for (int st = 0; st < CR_STATUS__COUNT; st++) {
		for (int op = 0; op < CR_OP__COUNT; op++) {
			cr_status out = CR_STATUS__COUNT;
			int rc = cr_lifecycle_next((cr_status)st, op_event[op], &out);
			if (spec[op].allowed & (1u << st)) {
				assert_int_equal(rc, 0);
				assert_int_equal(out, spec[op].to);
			} else {
				assert_int_equal(rc, -1);
				assert_int_equal(out, CR_STATUS__COUNT); /* untouched */
			}
		}
	}
}

static void next_for_run_progress(void **state)
{
	(void)state;
	static const struct {
		cr_event ev;
		cr_status to;
	} finish[] = {
		{CR_EV_RUN_PASSED, CR_STATUS_CHECK_PASSED},
		{CR_EV_RUN_BLOCKED, CR_STATUS_CHECK_BLOCKED},
		{CR_EV_RUN_ERROR, CR_STATUS_CHECK_ERROR},
	};
	cr_status out;

	for (int st = 0; st < CR_STATUS__COUNT; st++) {
		int rc = cr_lifecycle_next((cr_status)st, CR_EV_RUN_STARTED, &out);
		if (st == CR_STATUS_CHECK_PENDING) {
			assert_int_equal(rc, 0);
			assert_int_equal(out, CR_STATUS_CHECK_RUNNING);
		} else {
			assert_int_equal(rc, -1);
		}
		for (size_t i = 0; i < sizeof(finish) / sizeof(finish[0]); i++) {
			rc = cr_lifecycle_next((cr_status)st, finish[i].ev, &out);
			if (st == CR_STATUS_CHECK_PENDING || st == CR_STATUS_CHECK_RUNNING) {
				assert_int_equal(rc, 0);
				assert_int_equal(out, finish[i].to);
			} else {
				assert_int_equal(rc, -1);
			}
		}
	}
}

static void impossible_events(void **state)
{
	(void)state;
	cr_status out;

	assert_int_equal(cr_lifecycle_next(CR_STATUS_DRAFT, CR_EV_REGISTERED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_NONE, CR_EV_IMPORTED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_DRAFT, CR_EV_MANIFEST_BUILT, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_PREPARED, CR_EV_RUN_REQUESTED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_CHECK_RUNNING, CR_EV_RUN_REQUESTED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_CHECK_RUNNING, CR_EV_RUN_STARTED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_CHECK_BLOCKED, CR_EV_APPROVED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_MANIFEST_BUILT, CR_EV_RUN_PASSED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_CHECK_PASSED, CR_EV_PUBLISHED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_REJECTED, CR_EV_APPROVED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_REVOKED, CR_EV_PUBLISHED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_APPROVED, CR_EV_REVOKED, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS_DRAFT, CR_EV__COUNT, &out), -1);
	assert_int_equal(cr_lifecycle_next(CR_STATUS__COUNT, CR_EV_IMPORTED, &out), -1);
	/* A NULL out is allowed: the caller only asks whether it is possible. */
	assert_int_equal(cr_lifecycle_next(CR_STATUS_DRAFT, CR_EV_IMPORTED, NULL), 0);
}

/* The quickstart path, folded event by event. */
static void happy_path(void **state)
{
	(void)state;
	static const cr_event evs[] = {
		CR_EV_REGISTERED, CR_EV_IMPORTED, CR_EV_MANIFEST_BUILT, CR_EV_RUN_REQUESTED, CR_EV_RUN_STARTED,
		CR_EV_RUN_BLOCKED, CR_EV_IMPORTED, CR_EV_MANIFEST_BUILT, CR_EV_RUN_REQUESTED, CR_EV_RUN_STARTED,
		CR_EV_RUN_PASSED, CR_EV_APPROVED, CR_EV_PUBLISHED, CR_EV_REVOKED,
	};
	cr_status st = CR_STATUS_NONE;

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		assert_int_equal(cr_lifecycle_next(st, evs[i], &st), 0);
	assert_int_equal(st, CR_STATUS_REVOKED);
}

static void allowed_lists(void **state)
{
	(void)state;
	char buf[256];

	cr_lifecycle_allowed(CR_STATUS_NONE, buf, sizeof(buf));
	assert_string_equal(buf, "register");
	cr_lifecycle_allowed(CR_STATUS_DRAFT, buf, sizeof(buf));
	assert_string_equal(buf, "import-artifacts");
	cr_lifecycle_allowed(CR_STATUS_MANIFEST_BUILT, buf, sizeof(buf));
	/* As in the refused audit event example. */
	assert_string_equal(buf, "import-artifacts, manifest build, compliance run");
	cr_lifecycle_allowed(CR_STATUS_CHECK_PASSED, buf, sizeof(buf));
	assert_string_equal(buf, "approve, reject");
	cr_lifecycle_allowed(CR_STATUS_APPROVED, buf, sizeof(buf));
	assert_string_equal(buf, "reject, publish");
	cr_lifecycle_allowed(CR_STATUS_PUBLISHED, buf, sizeof(buf));
	assert_string_equal(buf, "revoke");
	cr_lifecycle_allowed(CR_STATUS_CHECK_RUNNING, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	cr_lifecycle_allowed(CR_STATUS_REJECTED, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	cr_lifecycle_allowed(CR_STATUS_REVOKED, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	/* A short buffer truncates but stays a string. */
	cr_lifecycle_allowed(CR_STATUS_MANIFEST_BUILT, buf, 10);
	assert_true(strlen(buf) < 10);
}

/* The list agrees with may() for every status. */
static void allowed_matches_may(void **state)
{
	(void)state;
	for (int st = 0; st < CR_STATUS__COUNT; st++) {
		char buf[256], expect[256] = "";
		size_t used = 0;
		for (int op = 0; op < CR_OP__COUNT; op++)
			if (!cr_lifecycle_may((cr_status)st, (cr_op)op))
				used += (size_t)snprintf(expect + used, sizeof(expect) - used, "%s%s", used ? ", " : "",
							 cr_op_name((cr_op)op));
		if (!used)
			snprintf(expect, sizeof(expect), "none");
		cr_lifecycle_allowed((cr_status)st, buf, sizeof(buf));
		assert_string_equal(buf, expect);
	}
}

static void allowed_types_name_audit_types(void **state)
{
	char buf[256];
	(void)state;
	cr_lifecycle_allowed_types(CR_STATUS_DRAFT, buf, sizeof(buf));
	assert_string_equal(buf, "candidate.import_artifacts");
	cr_lifecycle_allowed_types(CR_STATUS_CHECK_PASSED, buf, sizeof(buf));
	assert_string_equal(buf, "release.approve, release.reject");
	cr_lifecycle_allowed_types(CR_STATUS_REVOKED, buf, sizeof(buf));
	assert_string_equal(buf, "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(every_pair),
		cmocka_unit_test(refusal_sentences),
		cmocka_unit_test(next_for_operations),
		cmocka_unit_test(next_for_run_progress),
		cmocka_unit_test(impossible_events),
		cmocka_unit_test(happy_path),
		cmocka_unit_test(allowed_lists),
		cmocka_unit_test(allowed_matches_may),
		cmocka_unit_test(allowed_types_name_audit_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
