#ifndef CR_ADAPTERS_GIT_H
#define CR_ADAPTERS_GIT_H
/*
 * The git adapters: the evidence ledger on a ref (a commit chain whose trees
 * only grow), the trusted policy store on another ref, and the status notes.
 */
#include <stdbool.h>
#include <git2.h>
#include "ports/ledger.h"
#include "ports/policy_store.h"

/* Open the repository at PATH (a work tree, a git dir, or a directory
 * inside one), or, PATH NULL, the environment's (GIT_DIR, or discovered
 * from the current directory), the way git does: GIT_OBJECT_DIRECTORY and
 * GIT_ALTERNATE_OBJECT_DIRECTORIES are honoured either way, so a hook sees
 * the objects git holds in quarantine. CR_EINVALID_ARGUMENT when none. */
int cr_git_open(git_repository **out, const char *path);

/* Initialise libgit2 once per process and open the repository as
 * cr_git_open does; WORKDIR gets its work tree (or git dir when bare),
 * STATEDIR its common git dir (for local state such as task files), both
 * with a trailing '/'. */
int cr_git_session_open(git_repository **out, const char *path, char *workdir, size_t wlen, char *statedir,
			size_t slen);
void cr_git_session_close(git_repository *repo);
/* `git config user.email` of REPO into OUT; CR_ENOT_FOUND when unset. */
/* The commit REF points at, as hex into OUT (41 bytes); "" when REF does
 * not exist. */
int cr_git_ref_tip(git_repository *repo, const char *ref, char *out);
/* The directory git runs REPO's hooks from (core.hooksPath, else
 * $GIT_DIR/hooks) into OUT. */
int cr_git_hooks_dir(git_repository *repo, char *out, size_t len);
/* true for a bare repository (no work tree). */
bool cr_git_is_bare(git_repository *repo);
int cr_git_config_email(git_repository *repo, char *out, size_t len);

/* Blob ID of REPO into a malloc'd, NUL-terminated buffer (the caller's);
 * *LEN (may be NULL) its size. CR_ENOT_FOUND, with no message of its own,
 * when there is no such blob: the caller names what it was. */
int cr_git_blob_read(git_repository *repo, const git_oid *id, char **buf, size_t *len);

/* core.sharedRepository of REPO as util/fs.h's cr_fs_share takes it. */
int cr_git_shared(git_repository *repo);
/* Give a loose object (and its directory), or a ref and its reflog (and
 * their directories), the permissions of a shared repository. */
void cr_git_share_object(git_repository *repo, int shared, const git_oid *id);
void cr_git_share_ref(git_repository *repo, int shared, const char *ref);

/* Map the current libgit2 error to a CR_ESTORAGE error naming WHAT. */
int cr_git_error(const char *what);

/* Names of one namespace's refs. */
typedef struct cr_git_refs {
	char ledger[96]; /* refs/clean-release/ledger */
	char policy[96]; /* refs/clean-release/policy */
	char notes[96];  /* refs/notes/clean-release */
} cr_git_refs;
void cr_git_refs_for(cr_git_refs *r, const char *ns /* "clean-release" or "clean-release-demo" */);

typedef struct cr_git_ledger_opts {
	/* Every write (commit, write_blob, note) is CR_EFORBIDDEN. */
	bool read_only;
	/* Read this commit (a revision naming one: a ref need not point at
	 * it) as the ledger's tip instead of the ref's; implies read_only. */
	const char *at;
	/* With AT: writable, but detached from the ref: each commit goes on
	 * top of the last one this port made (starting at AT), no ref moves
	 * and no note is written. Sync replays onto a fetched ledger so, and
	 * moves the ref once at the end. */
	bool detached;
	/* The pinned digest of the policy chain's root (verify); NULL: git
	 * config cleanRelease.policyRoot, if set. */
	const char *policy_root;
	/* verify: every ledger commit must carry a valid signature by a signer
	 * of the policy in force at it. */
	bool require_signatures;
} cr_git_ledger_opts;

/* The ledger on REFS->ledger (notes on REFS->notes). REPO is borrowed; O
 * may be NULL. CR_EINVALID_INPUT when O->at names no commit. */
int cr_git_ledger_open(cr_ledger_port *out, git_repository *repo, const cr_git_refs *refs,
		       const cr_git_ledger_opts *o);
void cr_git_ledger_close(cr_ledger_port *p);

/* The policy store on REFS->policy; BUILTIN_POLICY/REGISTRY (may be NULL)
 * are published on first use when the ref does not exist. */
int cr_git_policy_open(cr_policy_port *out, git_repository *repo, const cr_git_refs *refs,
		       const char *builtin_policy, const char *builtin_registry);
void cr_git_policy_close(cr_policy_port *p);

/* Move REF to NEW only if it still points at OLD, or — OLD NULL — only if
 * it does not exist yet: compare-and-swap under the ref's lock (a plain
 * non-forced create checks for the ref before taking the lock, so two
 * creators could both win). 0, CR_ERETRY when the ref moved or is locked,
 * or CR_ESTORAGE. */
int cr_git_ref_cas(git_repository *repo, const char *ref, const git_oid *new_id, const git_oid *old,
		   const char *message);

/* Resolve a revision to a commit oid (hex). CR_EINVALID_INPUT when it does not. */
int cr_git_resolve_commit(git_repository *repo, const char *rev, char *hex, size_t hexlen);
/* 1 if OID (hex) names a commit in REPO, else 0. */
int cr_git_commit_exists(git_repository *repo, const char *hex);

/* Where the ledger keeps an object (exposed for verify and tests). */
int cr_git_ledger_path(char *buf, size_t len, cr_objkind kind, const char *cid, const char *key,
		       const char *sub, int index);

#endif
