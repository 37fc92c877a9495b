#ifndef CR_FACADE_FACADE_H
#define CR_FACADE_FACADE_H
/*
 * The one facade every front end (CLI, REST API, TUI, hooks, CI) calls.
 * It opens the repository and the adapters for one namespace, resolves the
 * actor, and returns DTOs as plain structs (the front end serializes them
 * with facade/dto.h: the CLI's --json and the API print the same JSON).
 * Every function returns 0 or a negative CR_E* code with cr_error_last()
 * set; the front end maps the code through the one table of util/error.h.
 *
 * Ownership: what a call fills in OUT is the caller's, to release with the
 * matching *_clear / *_free named beside it (cr_candidate_clear,
 * cr_manifest_clear, cr_run_clear, … of domain/entities.h for single
 * structs); string arguments are borrowed for the call only.
 *
 * Threading: a cr_facade handle is used by one thread at a time (it holds
 * one libgit2 repository and its caches); a multi-threaded front end opens
 * one handle per thread, and any number of handles, in any threads and
 * processes, may work on one repository at once: writers meet only at the
 * ledger's compare-and-swap, so none loses an event or shares an id. The
 * error of cr_error_last() is per thread. Below the facade the only
 * process-wide state is libgit2's one-time set-up (pthread_once); the rest
 * belongs to a handle or a thread. A detached run executes in a process of
 * its own (see cr_facade_compliance_run), so any thread may start one.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "domain/entities.h"
#include "domain/page.h"

typedef struct cr_facade cr_facade;

typedef struct cr_facade_opts {
	bool demo; /* the demo namespace (refs/clean-release-demo/...), built-in demo policy */
	/* The repository: a work tree, a git dir or a directory inside one;
	 * NULL: the environment's (GIT_DIR, or discovered from the current
	 * directory). GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES
	 * are honoured either way, so a hook sees git's quarantined objects. */
	const char *repo;
	/* Every call that writes is CR_EFORBIDDEN before it reads anything:
	 * no git object, ref, note or task file is written (the local cache
	 * of derived forms still is, best effort). */
	bool read_only;
	/* Read the ledger at this commit (any revision naming one, whether a
	 * ref points at it or not) instead of its tip; implies read_only. */
	const char *ledger_at;
	/* The program a detached run is executed by, as
	 * `PROGRAM -C REPO [--demo] task run --task-id T --jobs N --lock-fd 3`
	 * (every front end is this one program); NULL: this process's own
	 * executable. */
	const char *program;
	/* Faults injected into the worker pool, for the tests (NULL: none). */
	const char *test_crash_path, *test_hang_path;
	/* For the tests: a worker stops itself (SIGSTOP) on this artifact, until SIGCONT. */
	const char *test_pause_path;
	/* For the tests: policy publish stops after the ledger recorded the
	 * policy, before the policy ref moves (as a kill there would). */
	bool test_publish_stop;
	/* verify: the digest the root of the policy chain must have (NULL: git
	 * config cleanRelease.policyRoot, if any). */
	const char *policy_root;
	/* verify: every ledger commit must be signed by a signer of the policy
	 * in force at it. */
	bool require_signatures;
	/* A server: the actor of every write is the requester it authenticated
	 * (a token's actor). Where the policy wants an operation signed, the
	 * key of the repository's git configuration signs it, and its principal
	 * is the actor recorded, the requester details.on_behalf_of. */
	bool delegated;
	/* For the tests: every task file save fails as on a full disk. */
	bool test_task_enospc;
} cr_facade_opts;

/* Open a repository for one namespace as O says (O NULL: the environment's
 * repository, the real namespace, writable). */
int cr_facade_open(cr_facade **out, const cr_facade_opts *o);
/* Close F and everything it opened (NULL is a no-op). */
void cr_facade_close(cr_facade *f);

/* "real" or "demo". */
const char *cr_facade_namespace(const cr_facade *f);
/* The repository's work tree (or git dir when bare), for display. */
const char *cr_facade_repo_path(const cr_facade *f);
/* The repository's work tree; NULL for a bare repository. */
const char *cr_facade_work_tree(const cr_facade *f);
/* The ledger ref's tip commit now (hex, OUT of 41 bytes; "" for no ledger
 * yet; a handle opened at ledger_at reads that commit instead):
 * every read of the evidence is a function of it, so a front end may keep
 * answers keyed by it. Cheap: one ref read, no object. */
int cr_facade_ledger_tip(cr_facade *f, char *out);

/* The actor of a state-changing call: GIVEN (--actor) if non-NULL, else
 * `git config user.email`; CR_EINVALID_ARGUMENT when neither (or invalid).
 * Where the policy wants an operation signed, the signer's principal is
 * the actor it records: a GIVEN actor must be that principal (else the
 * write is CR_EINVALID_ARGUMENT), the user.email one gives way to it; F
 * remembers which it was for the calls that follow (unless opened
 * delegated). Without this call an actor is taken as given. */
int cr_facade_actor(cr_facade *f, const char *given, char *out, size_t len);

/* ---- candidates ----------------------------------------------------- */

/* Register a candidate at SOURCE_SNAPSHOT (a revision of the repository);
 * OUT gets its view (cr_candidate_clear of OUT->c). */
int cr_facade_candidate_register(cr_facade *f, const char *candidate_id, const char *version,
				 const char *source_snapshot, const char *actor, cr_candidate_view *out);

/* Import artifacts from an artifacts document (schemas/artifacts.schema.json)
 * given as bytes. BASE_DIR is what a relative artifact_root (and the default
 * root) is relative to: the input file's directory for the CLI, the work
 * tree for the API. ROOT_OVERRIDE (may be NULL) wins over the document's
 * artifact_root (--artifact-root; relative to the current directory).
 * WHAT names the input in messages. */
int cr_facade_candidate_import(cr_facade *f, const char *candidate_id, const char *input, size_t len,
			       const char *what, const char *base_dir, const char *root_override,
			       const char *actor, cr_import *out);

/* The view of one candidate (cr_candidate_clear of OUT->c). */
int cr_facade_candidate_show(cr_facade *f, const char *candidate_id, cr_candidate_view *out);

/* Paged lists (candidates, audit log, violations): PAGE NULL or with no
 * limit gives the whole list; with a limit (1..CR_PAGE_LIMIT_MAX) one page
 * after PAGE->cursor, and NEXT (CR_CURSOR_MAX bytes; may be NULL only
 * without a page) the next page's cursor, "" on the last page. A cursor
 * that is malformed, altered, or of another list or other filters is
 * CR_EINVALID_ARGUMENT. Pages follow the whole list's order exactly. */

/* The candidates (newest first: created_at descending, then id), filtered
 * by STATUS unless CR_STATUS_NONE. Free with cr_facade_candidates_free. */
int cr_facade_candidate_list(cr_facade *f, cr_status status, const cr_page_req *page, cr_candidate_view **out,
			     size_t *n, char *next);
/* Free what cr_facade_candidate_list returned. */
void cr_facade_candidates_free(cr_candidate_view *v, size_t n);

/* ---- manifests ------------------------------------------------------ */

/* Freeze the candidate's imported artifacts into its next manifest
 * (cr_manifest_clear of OUT). */
int cr_facade_manifest_build(cr_facade *f, const char *candidate_id, const char *actor, cr_manifest *out);
/* One manifest with its artifacts (cr_manifest_clear of OUT). */
int cr_facade_manifest_show(cr_facade *f, const char *manifest_id, cr_manifest *out);
/* Every manifest of a candidate, version ascending (artifacts not loaded). */
int cr_facade_manifest_list(cr_facade *f, const char *candidate_id, cr_manifest **out, size_t *n);
/* Free what cr_facade_manifest_list returned. */
void cr_facade_manifests_free(cr_manifest *m, size_t n);

/* ---- policy --------------------------------------------------------- */

typedef struct cr_policy_view {
	const char *ns;        /* "real" / "demo" */
	char *policy_json;     /* as stored (canonical) */
	char *registry_json;
	cr_snapshot policy, registry;
} cr_policy_view;
/* Free what a policy call filled in V and zero it. */
void cr_policy_view_clear(cr_policy_view *v);

/* The policy in force (cr_policy_view_clear of OUT); in the demo namespace
 * with none published, the built-in one, without writing anything. */
int cr_facade_policy_show(cr_facade *f, cr_policy_view *out);
/* Validate both documents (schemas, every regex compiles) and append them to
 * the policy ref. The only way to set the policy. */
int cr_facade_policy_publish(cr_facade *f, const char *policy, size_t plen, const char *policy_what,
			     const char *registry, size_t rlen, const char *registry_what,
			     const char *actor, cr_policy_view *out);

/* ---- compliance ----------------------------------------------------- */

/* Live progress while a run waits (called from the runner, about 10/s). */
typedef void (*cr_progress_fn)(const cr_run *run, void *ctx);

/* Request a run of MANIFEST_ID for CANDIDATE_ID. DETACH: queue it, start
 * its runner as a process of its own (a fresh exec of the program, see
 * cr_facade_opts) and return at once (OUT is PENDING with run_id and
 * task_id): any caller may do so. Otherwise run it here with JOBS workers
 * (0: online CPUs), forked from the calling thread, and return the finished
 * run: for a single-threaded caller only (the CLI). */
int cr_facade_compliance_run(cr_facade *f, const char *candidate_id, const char *manifest_id,
			     const char *actor, unsigned jobs, bool detach,
			     cr_progress_fn progress, void *progress_ctx, cr_run *out);
/* The run's live view (events + task progress); an orphaned run is
 * reported FAILED/ERROR, derived in memory (nothing is written; report_id
 * and finished_at stay null until its finish is recorded). Includes the
 * completed stages. */
int cr_facade_compliance_status(cr_facade *f, const char *run_id, cr_run *out);
/* Violations in append order, optionally filtered (STAGE/SEVERITY < 0:
 * all), paged as above. Free with cr_facade_violations_free. */
int cr_facade_compliance_violations(cr_facade *f, const char *run_id, int stage, int severity,
				    const cr_page_req *page, cr_violation **out, size_t *n, char *next);
/* The whole list of violations in constant memory: FN(V, CTX) for each, in
 * order (V borrowed for the call; a negative return stops with that
 * error). */
int cr_facade_compliance_violations_each(cr_facade *f, const char *run_id, int stage, int severity,
					 int (*fn)(const cr_violation *v, void *ctx), void *ctx);
/* Free what cr_facade_compliance_violations returned. */
void cr_facade_violations_free(cr_violation *v, size_t n);
/* The report of a finished run; CR_ERUN_NOT_FINISHED ("run run-001 is
 * RUNNING; no report yet") otherwise, also for an orphaned run whose
 * finish is not recorded yet (there is no report until it is). */
int cr_facade_compliance_report(cr_facade *f, const char *run_id, cr_report *out);

/* Be the runner of the queued run of TASK_ID: the process a detached run
 * started, holding the task's lock on descriptor LOCK_FD (handed over by
 * the starting process). Executes the run with JOBS workers as the ledger
 * recorded its request; single-threaded processes only. */
int cr_facade_task_run(cr_facade *f, const char *task_id, unsigned jobs, int lock_fd);
/* The task of a run; an orphaned run's task is reported FAILED (not
 * recorded: reads never write). */
int cr_facade_task_status(cr_facade *f, const char *task_id, cr_task *out);

/* The actor a reap records when none is given and git config user.email
 * is unset. */
#define CR_FACADE_REAP_ACTOR "clean-release"
/* What a reap recorded: the actor and the runs whose finish it recorded
 * (malloc'd; free with cr_reap_result_clear). */
typedef struct cr_reap_result {
	char actor[1100];
	char **run_ids;
	size_t n;
} cr_reap_result;
/* Free what cr_facade_task_reap filled in R and zero it. */
void cr_reap_result_clear(cr_reap_result *r);
/* Record the finish (FAILED/ERROR) of every orphaned run of the namespace
 * (its task on this machine, its runner gone), one commit each; writes
 * nothing when there is none. The actor: ACTOR if non-NULL, else git config
 * user.email, else CR_FACADE_REAP_ACTOR. */
int cr_facade_task_reap(cr_facade *f, const char *actor, cr_reap_result *out);

/* ---- release gates -------------------------------------------------- */

/* Approve the candidate on the PASSED report REPORT_ID, which must be its
 * latest; OUT gets the decision (cr_approval_clear). */
int cr_facade_release_approve(cr_facade *f, const char *candidate_id, const char *report_id,
			      const char *actor, const char *comment, cr_approval *out);
/* Reject the candidate on its latest report, as approve decides. */
int cr_facade_release_reject(cr_facade *f, const char *candidate_id, const char *report_id,
			     const char *actor, const char *comment, cr_approval *out);
/* Publish an APPROVED candidate to CHANNEL with git tag TAG (cr_publication_clear of OUT). */
int cr_facade_release_publish(cr_facade *f, const char *candidate_id, const char *report_id,
			      const char *channel, const char *tag, const char *actor, cr_publication *out);
/* Revoke publication PUBLICATION_ID for REASON (cr_publication_clear of OUT). */
int cr_facade_release_revoke(cr_facade *f, const char *candidate_id, const char *publication_id,
			     const char *reason, const char *actor, cr_publication *out);

/* ---- audit and verify ----------------------------------------------- */

/* The audit log (oldest first), of one candidate or (NULL) all, paged as
 * above. Free with cr_facade_audit_free. */
int cr_facade_audit_log(cr_facade *f, const char *candidate_id, const cr_page_req *page, cr_audit_event **out,
			size_t *n, char *next);
/* Free what cr_facade_audit_log returned. */
void cr_facade_audit_free(cr_audit_event *e, size_t n);

typedef struct cr_verify_result {
	uint64_t commits;
	uint64_t objects;
	/* The root of the policy chain met (docs/trust.md): the first policy
	 * requiring signed publications, trusted on first use unless pinned
	 * (cr_facade_opts.policy_root or cleanRelease.policyRoot, which it
	 * then matched). "" when the range holds none. */
	char root_digest[65], root_commit[72], root_policy[120];
	bool root_pinned;
} cr_verify_result;
/* Check the ledger's commits after FROM (a revision naming a ledger commit,
 * e.g. the tip a push starts from; NULL: the whole chain) up to the tip:
 * append-only commits, every object canonical and valid, counters
 * consistent, FROM an ancestor of the tip; in time proportional to the
 * range. CR_EINTEGRITY naming the first bad commit and path. */
int cr_facade_verify(cr_facade *f, const char *from, cr_verify_result *out);
/* Put the ledger back on TO, an earlier tip of its reflog whose history
 * verifies, when the current tip does not (a commit pruned away); appends
 * nothing. OUT->commits: the commits verified at TO. */
int cr_facade_repair(cr_facade *f, const char *to, cr_verify_result *out);

/* ---- CI: tags ------------------------------------------------------- */

/* Whether REF (a full ref name, refs/tags/...) matches the trusted
 * policy's release_tag_pattern (PATTERN, LEN bytes, may be NULL, gets
 * it); CR_EPOLICY_MISSING when no policy is published. */
int cr_facade_release_tag(cr_facade *f, const char *ref, bool *is_release, char *pattern, size_t len);
/* The commit a revision of the repository names (a tag is peeled), hex
 * into HEX; CR_EINVALID_INPUT when it names none. */
int cr_facade_resolve(cr_facade *f, const char *rev, char *hex, size_t len);

/* ---- evidence between clones ---------------------------------------- */

/* CR_EINVALID_ARGUMENT unless REMOTE is a usable remote name (it becomes a
 * ref name component). */
int cr_facade_remote_name_check(const char *remote);
/* The remote-tracking ref of REMOTE for the namespace (DEMO) that a fetch
 * fills: WHICH "ledger", "policy" (refs/clean-release-remotes/<remote>/
 * <ns>/<which>) or "notes" (refs/clean-release-remotes/<remote>/notes/<ns>). */
void cr_facade_remote_ref(const char *remote, bool demo, const char *which, char *out, size_t len);

enum {
	CR_ADOPT_ABSENT = 0,   /* the remote has none */
	CR_ADOPT_UP_TO_DATE,   /* the same on both */
	CR_ADOPT_AHEAD,        /* the local ref holds more: for push */
	CR_ADOPT_CREATED,      /* taken: there was none here */
	CR_ADOPT_FAST_FORWARD, /* taken: the local ref was behind */
	CR_ADOPT_DIVERGED,     /* both moved: for sync */
};
/* "fast-forward", "diverged", … */
const char *cr_facade_adopt_state(int state);
typedef struct cr_adopt_result {
	int ledger, policy, notes; /* CR_ADOPT_* */
	uint64_t commits;          /* ledger commits verified and taken */
} cr_adopt_result;
/* Take what a fetch of REMOTE brought (its remote-tracking refs) into the
 * namespace O opens, where nothing is lost: each ref absent here or behind
 * the remote's fast-forwards (by compare-and-swap; the ledger only once
 * the commits it gains verify, CR_EINTEGRITY otherwise, nothing moved). A
 * ref ahead or diverged is left as it is. */
int cr_facade_adopt(const cr_facade_opts *o, const char *remote, cr_adopt_result *out);

typedef struct cr_sync_result {
	int ledger;                 /* CR_ADOPT_*: only DIVERGED replays */
	size_t commits;             /* local commits replayed (read) */
	size_t replayed, refused, dropped, renumbered;
	char tip[CR_OID_MAX];       /* the local ledger's tip after it */
} cr_sync_result;
/* After a fetch of REMOTE (cr_facade_adopt took what only adds): when the
 * namespace's local ledger and the remote's diverged, replay the local
 * operations on top of the remote's ledger (services/sync.c: each through
 * its gate again, REFUSED when the merged ledger refuses it, ids
 * renumbered), verify the chain, and move the local ledger to it; the
 * policy ref to the policy the merged ledger records; the notes to the
 * fetched notes with the replayed candidates' lines rewritten on top.
 * CR_ECONFLICT, nothing moved, while a run of the local operations is
 * unfinished. Nothing to do (OUT->ledger says why) otherwise. */
int cr_facade_sync_replay(const cr_facade_opts *o, const char *remote, cr_sync_result *out);

/* ---- a push (the git hooks) ---------------------------------------- */

/* The directory git runs the repository's hooks from (core.hooksPath,
 * else $GIT_DIR/hooks), into OUT. */
int cr_facade_hooks_dir(cr_facade *f, char *out, size_t len);
/* true for a bare repository. */
bool cr_facade_is_bare(cr_facade *f);

/* Parse one "<old> <new> <ref>" line as git's pre-receive reads them (an
 * all-zero id is "": a creation or deletion) into OUT, the ref copied into
 * REF (REFLEN bytes) which OUT->ref points at. CR_EINVALID_ARGUMENT when
 * the line is not one. */
int cr_facade_push_updates_parse(const char *line, cr_push_update *out, char *ref, size_t reflen);
/* Check the push U[0..N) as the server's gate (repository REPO, NULL: the
 * environment's, which is how a hook sees git's quarantined objects),
 * every namespace read at the ledger tip the push would leave, nothing
 * written: clean-release refs only move forward, the ledger commits it
 * adds verify (old tip to new, in time proportional to them), the policy
 * ref moves only to a valid policy the ledger records, nothing else is
 * pushed under the evidence namespaces, and a release tag (the trusted
 * policy's release_tag_pattern) names the source commit of an APPROVED or
 * PUBLISHED candidate. TAGS_ONLY: the release tags only, against the
 * ledger as it is (a client's pre-push). OUT: the findings
 * (cr_push_verdict_clear); OUT->refused > 0 refuses the push. */
int cr_facade_push_check(const char *repo, const cr_push_update *u, size_t n, bool tags_only,
			 cr_push_verdict *out);

#endif
