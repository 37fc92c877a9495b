/* The git ledger adapter on a temporary repository. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <git2.h>
#include "adapters/git/git.h"
#include "util/error.h"

#define CR_POOL_REF_MAX_TEST 72

struct fixture {
	char dir[64];
	git_repository *repo;
	cr_ledger_port l;
	cr_git_refs refs;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	git_libgit2_init();
	snprintf(f->dir, sizeof(f->dir), "/tmp/cr-ledger-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(git_repository_init(&f->repo, f->dir, 1), 0);
	cr_git_refs_for(&f->refs, "clean-release");
	assert_int_equal(cr_git_ledger_open(&f->l, f->repo, &f->refs, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	cr_git_ledger_close(&f->l);
	git_repository_free(f->repo);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	git_libgit2_shutdown();
	return 0;
}

static const char cand[] = "{\"candidate_id\":\"c1\",\"created_at\":\"2026-03-09T10:00:00Z\",\"created_by\":\"me\","
			   "\"source_commit\":\"aeb5aaa78b09b9807cd40d3da9011b01c4cc995c\",\"source_snapshot\":\"v1\","
			   "\"version\":\"1\"}";

static void put_commit(struct fixture *f, cr_objkind kind, const char *cid, const char *key, const char *body)
{
	cr_txn *t = NULL;
	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.put(t, kind, cid, key, NULL, body, strlen(body)), 0);
	assert_int_equal(f->l.commit(t, "test put", "tester"), 0);
	f->l.end(t);
}

static void empty_ledger_reads_as_empty(void **state)
{
	struct fixture *f = *state;
	cr_txn *t = NULL;
	cr_strlist l = {0};
	char *buf = NULL;
	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.get(t, CR_OBJ_CANDIDATE, "c1", NULL, &buf, NULL), CR_ENOT_FOUND);
	assert_int_equal(f->l.list(t, CR_OBJ_CANDIDATE, NULL, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(f->l.counter(t, CR_ID_EVENT), 0);
	/* Nothing staged: nothing committed, no ref created. */
	assert_int_equal(f->l.commit(t, "nothing", "tester"), 0);
	f->l.end(t);
	git_oid oid;
	assert_int_equal(git_reference_name_to_id(&oid, f->repo, f->refs.ledger), GIT_ENOTFOUND);
}

static void put_then_get_by_id_and_list(void **state)
{
	struct fixture *f = *state;
	cr_txn *t = NULL;
	cr_strlist l = {0};
	char *buf = NULL;
	size_t len = 0;

	put_commit(f, CR_OBJ_CANDIDATE, "c1", "c1", cand);
	put_commit(f, CR_OBJ_MANIFEST, "c1", "man-002", "{\"manifest_id\":\"man-002\"}");
	put_commit(f, CR_OBJ_MANIFEST, "c1", "man-010", "{\"manifest_id\":\"man-010\"}");
	put_commit(f, CR_OBJ_MANIFEST, "c1", "man-001", "{\"manifest_id\":\"man-001\"}");
	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.get(t, CR_OBJ_CANDIDATE, "c1", NULL, &buf, &len), 0);
	assert_int_equal(len, strlen(cand));
	assert_memory_equal(buf, cand, len);
	free(buf);
	/* By id alone, without the candidate. */
	assert_int_equal(f->l.get(t, CR_OBJ_MANIFEST, "man-010", NULL, &buf, NULL), 0);
	assert_string_equal(buf, "{\"manifest_id\":\"man-010\"}");
	free(buf);
	/* Listed in numeric order, not bytewise. */
	assert_int_equal(f->l.list(t, CR_OBJ_MANIFEST, "c1", &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "man-001");
	assert_string_equal(l.v[1], "man-002");
	assert_string_equal(l.v[2], "man-010");
	cr_strlist_clear(&l);
	assert_int_equal(f->l.list(t, CR_OBJ_CANDIDATE, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "c1");
	cr_strlist_clear(&l);
	f->l.end(t);
}

/* Blobs stored outside a transaction — in a forked child too, as the
 * pool's workers store violation chunks — are staged by ref; a ref that
 * names nothing stored is refused. */
static void blobs_written_by_a_child_are_staged_by_ref(void **state)
{
	struct fixture *f = *state;
	static const char body[] = "{\"chunk\":1,\"run_id\":\"run-001\",\"violations\":[]}";
	char parent_ref[CR_POOL_REF_MAX_TEST], child_ref[CR_POOL_REF_MAX_TEST] = "";
	int pipefd[2];
	cr_txn *t = NULL;
	char *buf = NULL;
	pid_t pid;
	int status;

	put_commit(f, CR_OBJ_CANDIDATE, "c1", "c1", cand);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char ref[CR_POOL_REF_MAX_TEST];
		int ok = f->l.write_blob(f->l.impl, body, strlen(body), ref, sizeof(ref)) == 0;
		/* a second write in the same child reuses its object database */
		ok = ok && f->l.write_blob(f->l.impl, "x", 1, ref + 0, sizeof(ref)) == 0;
		ok = ok && f->l.write_blob(f->l.impl, body, strlen(body), ref, sizeof(ref)) == 0;
		if (!ok || write(pipefd[1], ref, strlen(ref) + 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	assert_true(read(pipefd[0], child_ref, sizeof(child_ref)) == 41);
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the same content from the parent: the same object */
	assert_int_equal(f->l.write_blob(f->l.impl, body, strlen(body), parent_ref, sizeof(parent_ref)), 0);
	assert_string_equal(parent_ref, child_ref);
	assert_int_equal(f->l.write_blob(f->l.impl, body, strlen(body), parent_ref, 40), CR_EINTERNAL);

	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.put_ref(t, CR_OBJ_VIOLATIONS, "c1", "run-001", "000001", child_ref), 0);
	assert_int_equal(f->l.put_ref(t, CR_OBJ_VIOLATIONS, "c1", "run-001", "000002",
				      "0123456789012345678901234567890123456789"),
			 CR_EINTEGRITY);
	assert_int_equal(f->l.put_ref(t, CR_OBJ_VIOLATIONS, "c1", "run-001", "000003", "not-an-oid"), CR_EINTERNAL);
	assert_int_equal(f->l.commit(t, "test put_ref", "tester"), 0);
	f->l.end(t);
	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.get(t, CR_OBJ_VIOLATIONS, "run-001", "000001", &buf, NULL), 0);
	assert_string_equal(buf, body);
	free(buf);
	f->l.end(t);
}

static void objects_are_never_replaced(void **state)
{
	struct fixture *f = *state;
	cr_txn *t = NULL;
	put_commit(f, CR_OBJ_CANDIDATE, "c1", "c1", cand);
	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.put(t, CR_OBJ_CANDIDATE, "c1", "c1", NULL, "{}", 2), CR_EINTEGRITY);
	assert_non_null(strstr(cr_error_last()->message, "never replaced"));
	f->l.end(t);
}

static void alloc_counts_per_kind_and_persists(void **state)
{
	struct fixture *f = *state;
	cr_txn *t = NULL;
	char id[32];

	for (int round = 1; round <= 3; round++) {
		assert_int_equal(f->l.begin(f->l.impl, &t), 0);
		assert_int_equal(f->l.counter(t, CR_ID_RUN), (uint64_t)(round - 1));
		assert_int_equal(f->l.alloc(t, CR_ID_RUN, id, sizeof(id)), 0);
		char want[32];
		snprintf(want, sizeof(want), "run-%03d", round);
		assert_string_equal(id, want);
		assert_int_equal(f->l.put(t, CR_OBJ_AUDIT, NULL, want, NULL, "{}", 2), 0);
		assert_int_equal(f->l.commit(t, "alloc", "tester"), 0);
		f->l.end(t);
	}
	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.counter(t, CR_ID_RUN), 3);
	assert_int_equal(f->l.counter(t, CR_ID_MANIFEST), 0);
	f->l.end(t);
}

static void lost_race_is_retry_and_keeps_the_winner(void **state)
{
	struct fixture *f = *state;
	cr_txn *a = NULL, *b = NULL;
	char ida[32], idb[32];

	put_commit(f, CR_OBJ_CANDIDATE, "c1", "c1", cand);
	assert_int_equal(f->l.begin(f->l.impl, &a), 0);
	assert_int_equal(f->l.begin(f->l.impl, &b), 0);
	assert_int_equal(f->l.alloc(a, CR_ID_MANIFEST, ida, sizeof(ida)), 0);
	assert_int_equal(f->l.alloc(b, CR_ID_MANIFEST, idb, sizeof(idb)), 0);
	assert_string_equal(ida, idb); /* same snapshot, same id: only one may win */
	assert_int_equal(f->l.put(a, CR_OBJ_MANIFEST, "c1", ida, NULL, "{\"a\":1}", 7), 0);
	assert_int_equal(f->l.put(b, CR_OBJ_MANIFEST, "c1", idb, NULL, "{\"b\":1}", 7), 0);
	assert_int_equal(f->l.commit(a, "a", "tester"), 0);
	assert_int_equal(f->l.commit(b, "b", "tester"), CR_ERETRY);
	f->l.end(a);
	f->l.end(b);

	cr_txn *t = NULL;
	char *buf = NULL;
	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.get(t, CR_OBJ_MANIFEST, "man-001", NULL, &buf, NULL), 0);
	assert_string_equal(buf, "{\"a\":1}");
	free(buf);
	f->l.end(t);
}

struct tx_ctx {
	int calls;
};
static cr_ledger_port *tx_port;

static int tx_fn(cr_txn *t, void *vctx, char *msg, size_t msglen, int *commit_anyway)
{
	struct tx_ctx *c = vctx;
	char id[32];
	(void)commit_anyway;
	c->calls++;
	snprintf(msg, msglen, "tx");
	int rc = tx_port->alloc(t, CR_ID_EVENT, id, sizeof(id));
	return rc ? rc : tx_port->put(t, CR_OBJ_AUDIT, NULL, id, NULL, "{}", 2);
}

static void transact_commits_once_and_verify_rejects_invalid_objects(void **state)
{
	struct fixture *f = *state;
	struct tx_ctx c = {0};
	uint64_t commits = 0, objects = 0;
	tx_port = &f->l;
	assert_int_equal(cr_ledger_transact(&f->l, "tester", tx_fn, &c), 0);
	assert_int_equal(c.calls, 1);
	/* The audit blobs are "{}", not valid audit events: verify says so,
	 * naming the commit and the path. */
	assert_int_equal(f->l.verify(f->l.impl, NULL, &commits, &objects), CR_EINTEGRITY);
	assert_non_null(strstr(cr_error_last()->message, "audit/"));
	assert_non_null(strstr(cr_error_last()->message, "ledger commit "));
}

static void fanout_paths_are_fixed_and_shallow(void **state)
{
	(void)state;
	char p[256];
	/* printf %s 2026.03.09-rc1 | sha256sum → 40c… */
	assert_int_equal(cr_git_ledger_path(p, sizeof(p), CR_OBJ_CANDIDATE, "2026.03.09-rc1", "2026.03.09-rc1", NULL, 0), 0);
	assert_string_equal(p, "candidates/4/0/c/2026.03.09-rc1/candidate.json");
	assert_int_equal(cr_git_ledger_path(p, sizeof(p), CR_OBJ_RUN_EVENT, "2026.03.09-rc1", "run-001", "started", 0), 0);
	assert_string_equal(p, "candidates/4/0/c/2026.03.09-rc1/runs/run-001/started.json");
	assert_int_equal(cr_git_ledger_path(p, sizeof(p), CR_OBJ_VIOLATIONS, "2026.03.09-rc1", "run-001", "000001", 1), 0);
	assert_non_null(strstr(p, "ids/run/"));
	assert_non_null(strstr(p, "/run-001/violations/000001.json"));
	/* A candidate object has no id path. */
	assert_int_equal(cr_git_ledger_path(p, sizeof(p), CR_OBJ_CANDIDATE, "x", "x", NULL, 1), 1);
}

static void many_appends_touch_few_trees(void **state)
{
	struct fixture *f = *state;
	char cid[32];
	/* 300 candidates, then one more: the commit adds only its own paths. */
	for (int i = 0; i < 300; i++) {
		snprintf(cid, sizeof(cid), "cand-%d", i);
		put_commit(f, CR_OBJ_CANDIDATE, cid, cid, cand);
	}
	cr_txn *t = NULL;
	cr_strlist l = {0};
	assert_int_equal(f->l.begin(f->l.impl, &t), 0);
	assert_int_equal(f->l.list(t, CR_OBJ_CANDIDATE, NULL, &l), 0);
	assert_int_equal(l.n, 300);
	cr_strlist_clear(&l);
	f->l.end(t);
	git_oid tip;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	assert_int_equal(git_reference_name_to_id(&tip, f->repo, f->refs.ledger), 0);
	assert_int_equal(git_commit_lookup(&c, f->repo, &tip), 0);
	assert_int_equal(git_commit_tree(&tree, c), 0);
	const git_tree_entry *e = git_tree_entry_byname(tree, "candidates");
	assert_non_null(e);
	git_tree *top = NULL;
	assert_int_equal(git_tree_lookup(&top, f->repo, git_tree_entry_id(e)), 0);
	assert_true(git_tree_entrycount(top) <= 16);
	git_tree_free(top);
	git_tree_free(tree);
	git_commit_free(c);
}

static void notes_fan_out_and_keep_the_newest_lines(void **state)
{
	struct fixture *f = *state;
	git_treebuilder *tb = NULL;
	git_oid tree_id, commit_id;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	char hex[GIT_OID_HEXSZ + 1], cid[32], line[64];

	assert_int_equal(git_treebuilder_new(&tb, f->repo, NULL), 0);
	assert_int_equal(git_treebuilder_write(&tree_id, tb), 0);
	assert_int_equal(git_tree_lookup(&tree, f->repo, &tree_id), 0);
	assert_int_equal(git_signature_now(&sig, "t", "t@example.invalid"), 0);
	assert_int_equal(git_commit_create(&commit_id, f->repo, NULL, sig, sig, NULL, "c\n", tree, 0, NULL), 0);
	git_oid_tostr(hex, sizeof(hex), &commit_id);
	for (int i = 0; i < 70; i++) {
		snprintf(cid, sizeof(cid), "cand-%d", i);
		snprintf(line, sizeof(line), "cand-%d: DRAFT", i);
		assert_int_equal(f->l.note(f->l.impl, hex, cid, line), 0);
	}
	/* The same candidate again replaces its line instead of adding one. */
	assert_int_equal(f->l.note(f->l.impl, hex, "cand-69", "cand-69: PREPARED"), 0);

	git_note *note = NULL;
	assert_int_equal(git_note_read(&note, f->repo, f->refs.notes, &commit_id), 0);
	const char *msg = git_note_message(note);
	int lines = 0;
	for (const char *p = msg; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 64);
	assert_null(strstr(msg, "cand-5: "));     /* the oldest went first */
	assert_non_null(strstr(msg, "cand-6: ")); /* 6..68 and 69 stay */
	assert_non_null(strstr(msg, "cand-69: PREPARED\n"));
	assert_null(strstr(msg, "cand-69: DRAFT"));
	git_note_free(note);

	/* Stored under git's two-hex fan-out. */
	git_oid tip;
	git_commit *nc = NULL;
	git_tree *nt = NULL;
	git_tree_entry *e = NULL;
	char fanned[GIT_OID_HEXSZ + 2];
	snprintf(fanned, sizeof(fanned), "%.2s/%s", hex, hex + 2);
	assert_int_equal(git_reference_name_to_id(&tip, f->repo, f->refs.notes), 0);
	assert_int_equal(git_commit_lookup(&nc, f->repo, &tip), 0);
	assert_int_equal(git_commit_tree(&nt, nc), 0);
	assert_int_equal(git_tree_entry_bypath(&e, nt, fanned), 0);
	git_tree_entry_free(e);
	git_tree_free(nt);
	git_commit_free(nc);
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(empty_ledger_reads_as_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(put_then_get_by_id_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(objects_are_never_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(blobs_written_by_a_child_are_staged_by_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(alloc_counts_per_kind_and_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_race_is_retry_and_keeps_the_winner, setup, teardown),
		cmocka_unit_test_setup_teardown(transact_commits_once_and_verify_rejects_invalid_objects, setup, teardown),
		cmocka_unit_test(fanout_paths_are_fixed_and_shallow),
		cmocka_unit_test_setup_teardown(many_appends_touch_few_trees, setup, teardown),
		cmocka_unit_test_setup_teardown(notes_fan_out_and_keep_the_newest_lines, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
