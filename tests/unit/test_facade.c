/* The facade on a temporary repository named by path (the test never
 * changes directory): reads at a ledger commit no ref points at, a
 * read-only handle that refuses every write, and a range verify that reads
 * only the range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <git2.h>
#include "facade/facade.h"
#include "util/error.h"

#define LEDGER_REF "refs/clean-release/ledger"

struct fixture {
	char dir[64];
	git_repository *repo; /* the test's own view of the repository */
	char tip1[GIT_OID_HEXSZ + 1], tip2[GIT_OID_HEXSZ + 1];
};

static void ref_hex(git_repository *repo, char *hex)
{
	git_oid id;
	assert_int_equal(git_reference_name_to_id(&id, repo, LEDGER_REF), 0);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &id);
}

static void reg(cr_facade *f, const char *cid)
{
	cr_candidate_view v = {0};
	assert_int_equal(cr_facade_candidate_register(f, cid, "1.0.0", "HEAD", "tester", &v), 0);
	cr_candidate_clear(&v.c);
}

static size_t count_candidates(cr_facade *f)
{
	cr_candidate_view *v = NULL;
	size_t n = 0;
	assert_int_equal(cr_facade_candidate_list(f, CR_STATUS_NONE, &(cr_page_req){0}, &v, &n, NULL), 0);
	cr_facade_candidates_free(v, n);
	return n;
}

/* A repository with one source commit and a ledger of c1 (tip1) then c2
 * (tip2), whose ref is then moved back to tip1: tip2 is a ledger commit
 * that no ref points at, as a pushed tip is while pre-receive runs. */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	git_signature *sig = NULL;
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_oid tree_id, commit_id, tip1;
	git_reference *ref = NULL;
	cr_facade *f = NULL;

	git_libgit2_init();
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cr-facade-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(git_repository_init(&fx->repo, fx->dir, 0), 0);
	assert_int_equal(git_signature_now(&sig, "t", "t@example.com"), 0);
	assert_int_equal(git_treebuilder_new(&tb, fx->repo, NULL), 0);
	assert_int_equal(git_treebuilder_write(&tree_id, tb), 0);
	assert_int_equal(git_tree_lookup(&tree, fx->repo, &tree_id), 0);
	assert_int_equal(git_commit_create_v(&commit_id, fx->repo, "HEAD", sig, sig, NULL, "init", tree, 0), 0);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_signature_free(sig);

	assert_int_equal(cr_facade_open(&f, &(cr_facade_opts){.repo = fx->dir}), 0);
	reg(f, "c1");
	ref_hex(fx->repo, fx->tip1);
	reg(f, "c2");
	ref_hex(fx->repo, fx->tip2);
	cr_facade_close(f);
	git_oid_fromstr(&tip1, fx->tip1);
	assert_int_equal(git_reference_create(&ref, fx->repo, LEDGER_REF, &tip1, 1, "test: rewind"), 0);
	git_reference_free(ref);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];
	git_repository_free(fx->repo);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	git_libgit2_shutdown();
	return 0;
}

static void reads_at_a_commit_no_ref_points_at(void **state)
{
	struct fixture *fx = *state;
	cr_facade *at = NULL, *tip = NULL;
	cr_candidate_view v = {0};

	assert_int_equal(cr_facade_open(&at, &(cr_facade_opts){.repo = fx->dir, .ledger_at = fx->tip2}), 0);
	assert_int_equal(cr_facade_open(&tip, &(cr_facade_opts){.repo = fx->dir}), 0);
	assert_int_equal(count_candidates(at), 2);
	assert_int_equal(count_candidates(tip), 1);
	assert_int_equal(cr_facade_candidate_show(at, "c2", &v), 0);
	assert_string_equal(v.c.candidate_id, "c2");
	cr_candidate_clear(&v.c);
	assert_int_equal(cr_facade_candidate_show(tip, "c2", &v), CR_ENOT_FOUND);
	cr_facade_close(at);
	cr_facade_close(tip);

	/* A revision that names no commit is refused at open. */
	assert_int_equal(cr_facade_open(&at, &(cr_facade_opts){.repo = fx->dir, .ledger_at = "no-such-rev"}),
			 CR_EINVALID_INPUT);
	assert_null(at);
}

static void a_read_only_handle_refuses_every_write_and_writes_nothing(void **state)
{
	struct fixture *fx = *state;
	cr_facade *f = NULL;
	cr_candidate_view v = {0};
	cr_manifest m = {0};
	cr_reap_result r = {0};
	char after[GIT_OID_HEXSZ + 1];

	assert_int_equal(cr_facade_open(&f, &(cr_facade_opts){.repo = fx->dir, .read_only = true}), 0);
	assert_int_equal(count_candidates(f), 1);
	assert_int_equal(cr_facade_candidate_register(f, "c3", "1", "HEAD", "tester", &v), CR_EFORBIDDEN);
	assert_non_null(strstr(cr_error_last()->message, "read-only"));
	assert_int_equal(cr_facade_manifest_build(f, "c1", "tester", &m), CR_EFORBIDDEN);
	assert_int_equal(cr_facade_task_reap(f, "tester", &r), CR_EFORBIDDEN);
	cr_facade_close(f);
	/* At a given commit the handle is read-only too. */
	assert_int_equal(cr_facade_open(&f, &(cr_facade_opts){.repo = fx->dir, .ledger_at = fx->tip2}), 0);
	assert_int_equal(cr_facade_candidate_register(f, "c3", "1", "HEAD", "tester", &v), CR_EFORBIDDEN);
	cr_facade_close(f);
	ref_hex(fx->repo, after);
	assert_string_equal(after, fx->tip1);
}

/* The loose object of the first commit's audit event. */
static void audit_object_path(struct fixture *fx, const char *commit_hex, char *path, size_t len)
{
	git_oid id;
	git_commit *c = NULL;
	git_tree *t = NULL, *audit = NULL;
	const git_tree_entry *e;
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_fromstr(&id, commit_hex);
	assert_int_equal(git_commit_lookup(&c, fx->repo, &id), 0);
	assert_int_equal(git_commit_tree(&t, c), 0);
	/* audit/<fan-out>/.../evt-001.json: follow the only entry down. */
	assert_non_null(e = git_tree_entry_byname(t, "audit"));
	assert_int_equal(git_tree_lookup(&audit, fx->repo, git_tree_entry_id(e)), 0);
	while (e = git_tree_entry_byindex(audit, 0), git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		git_tree *sub = NULL;
		assert_int_equal(git_tree_lookup(&sub, fx->repo, git_tree_entry_id(e)), 0);
		git_tree_free(audit);
		audit = sub;
	}
	assert_non_null(strstr(git_tree_entry_name(e), "evt-001"));
	git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
	snprintf(path, len, "%s/.git/objects/%.2s/%s", fx->dir, hex, hex + 2);
	git_tree_free(audit);
	git_tree_free(t);
	git_commit_free(c);
}

static void a_range_verify_reads_only_the_range(void **state)
{
	struct fixture *fx = *state;
	cr_facade *f = NULL;
	cr_verify_result r = {0};
	char path[256];

	assert_int_equal(cr_facade_open(&f, &(cr_facade_opts){.repo = fx->dir, .ledger_at = fx->tip2}), 0);
	assert_int_equal(cr_facade_verify(f, NULL, &r), 0);
	assert_int_equal(r.commits, 2);
	assert_int_equal(cr_facade_verify(f, fx->tip1, &r), 0);
	assert_int_equal(r.commits, 1);
	assert_int_equal(cr_facade_verify(f, fx->tip2, &r), 0);
	assert_int_equal(r.commits, 0);

	/* An object only the first commit added goes missing: the whole chain
	 * no longer verifies, the range after that commit still does. */
	audit_object_path(fx, fx->tip1, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	cr_facade_close(f);
	assert_int_equal(cr_facade_open(&f, &(cr_facade_opts){.repo = fx->dir, .ledger_at = fx->tip2}), 0);
	assert_int_equal(cr_facade_verify(f, NULL, &r), CR_EINTEGRITY);
	assert_int_equal(cr_facade_verify(f, fx->tip1, &r), 0);
	assert_int_equal(r.commits, 1);

	/* The range's start must be an ancestor of its end. */
	assert_int_equal(cr_facade_verify(f, "HEAD", &r), CR_EINTEGRITY);
	assert_non_null(strstr(cr_error_last()->message, "not an ancestor"));
	cr_facade_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reads_at_a_commit_no_ref_points_at, setup, teardown),
		cmocka_unit_test_setup_teardown(a_read_only_handle_refuses_every_write_and_writes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_range_verify_reads_only_the_range, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
