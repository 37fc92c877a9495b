#ifndef CR_ADAPTERS_GIT_LEDGER_INTERNAL_H
#define CR_ADAPTERS_GIT_LEDGER_INTERNAL_H
/*
 * What the files of the git ledger adapter share: the adapter's and a
 * transaction's state, and the helpers one file offers the others.
 *   repo.c    repository, errors, config, ref compare-and-swap
 *   layout.c  paths, fan-out, the counters trailer
 *   txn.c     transactions: snapshot, reads, staging, commit
 *   order.c   the list-order index
 *   notes.c   status notes
 *   verify.c  verification of the whole chain
 *   ledger.c  the port: open and close
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
#include "adapters/git/git.h"
#include "domain/entities.h"
#include "domain/ids.h"
#include "util/error.h"
#include "util/json.h"
#include "util/schema.h"
#include "util/fs.h"
#include "util/sha256.h"

#define COUNTERS_TRAILER "Clean-Release-Counters:"

struct ledger {
	git_repository *repo;
	cr_git_refs refs;
	pid_t owner;        /* the process that opened it */
	pid_t child;        /* the forked process child_odb belongs to */
	git_odb *child_odb; /* loose objects only: write_blob in a forked process */
	bool read_only;     /* every write is CR_EFORBIDDEN */
	int shared;         /* core.sharedRepository (util/fs.h) */
	bool pinned;        /* read AT as the tip, not the ref's */
	bool detached;      /* writable at AT: commits move AT, not the ref */
	git_oid at;
	/* The root of the policy chain the last verify met (trust on first
	 * use), and the pinned digest it must have ("" when none is pinned). */
	char root_digest[65], root_commit[GIT_OID_HEXSZ + 1], root_policy[120];
	char policy_root[65];
	bool require_all; /* verify --require-signatures */
};

/* CR_EFORBIDDEN for a write to a ledger opened read-only, else 0. */
int cr_gl_writable(const struct ledger *l, const char *what);

struct staged {
	char *path;
	git_oid id;
};

struct cr_txn {
	struct ledger *l;
	int has_tip;
	git_oid tip;
	git_tree *tree; /* NULL for an empty ledger */
	uint64_t counters[CR_ID__COUNT];
	uint64_t next[CR_ID__COUNT];
	struct staged *st;
	size_t nst, ast;
	bool sign; /* the commit must be signed (sign.c) */
	/* The candidate directory list() read last (its objects of kind
	 * LISTED_KIND), where get() finds them without walking the id index:
	 * the same blobs, in the same snapshot. */
	git_tree *listed;
	cr_objkind listed_kind;
};

#define ORDER_ROOT "order"
#define POLICY_ROOT "policy"
#define ORDER_DIGITS 9

/* layout.c */
extern const char *const cr_gl_candidate_dir[CR_OBJ__COUNT];
/* Add git -c's configuration (GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT) to
 * REPO as its highest level (config_env.c). */
int cr_git_config_env(git_repository *repo);

void cr_gl_fanout(const char *key, char out[8]);
void cr_gl_parse_counters(const char *msg, uint64_t c[CR_ID__COUNT]);
void cr_gl_format_counters(char *buf, size_t len, const uint64_t c[CR_ID__COUNT]);
/* sign.c */
bool cr_git_sign_all(git_repository *repo);
int cr_git_signing_pubkey(git_repository *repo, char *out, size_t len);
int cr_git_sign_buffer(git_repository *repo, const char *buf, size_t len, char **sig);
/* history.c */
int cr_gl_ledger_history(void *impl, const char *from, const char *to, cr_strlist *out);
int cr_gl_ledger_merge_base(void *impl, const char *a, const char *b, char *out, size_t len);
int cr_gl_ledger_head(void *impl, char *out, size_t len);
int cr_gl_ledger_commit_objects(void *impl, const char *hex, cr_commit_info *info,
				int (*fn)(const cr_ledger_object *o, void *ctx), void *ctx);
/* txn.c */
int cr_gl_txn_begin(void *impl, cr_txn **out);
void cr_gl_txn_end(cr_txn *t);
int cr_gl_entry_at(cr_txn *t, const char *path, git_tree_entry **out);
int cr_gl_txn_get(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char **buf, size_t *len);
int cr_gl_txn_ref_of(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char *ref, size_t reflen);
int cr_gl_list_fanout(cr_txn *t, const char *root, int dirs, cr_strlist *out);
int cr_gl_txn_list(cr_txn *t, cr_objkind kind, const char *owner, cr_strlist *out);
int cr_gl_txn_changed_since(cr_txn *t, const char *token, cr_strlist *out, char *token_out, size_t len);
uint64_t cr_gl_txn_counter(cr_txn *t, cr_idkind k);
int cr_gl_txn_alloc(cr_txn *t, cr_idkind k, char *out, size_t outlen);
int cr_gl_stage_path(cr_txn *t, const char *path, const git_oid *id);
int cr_gl_txn_put(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
				const char *buf, size_t len);
int cr_gl_txn_put_ref(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
				const char *ref);
int cr_gl_ledger_write_blob(void *impl, const char *buf, size_t len, char *ref, size_t reflen);
int cr_gl_txn_commit(cr_txn *t, const char *message, const char *actor);
/* ID is in the object store itself, not only in libgit2's cache of it (a
 * concurrent prune may have taken it). */
bool cr_gl_in_store(git_odb *odb, const git_oid *id);
/* repo.c: drop from REF's reflog every entry whose commit or tree is gone
 * and, NEWEST_KEPT given, every tip newer than it (they went with it), as
 * git's `reflog expire --stale-fix` would; best effort. */
void cr_git_reflog_forget(git_repository *repo, const char *ref, const git_oid *newest_kept);
/* order.c */
int cr_gl_order_append(cr_txn *t, const git_oid *id);
int cr_gl_txn_list_newest(cr_txn *t, const char *after_at, const char *after_id, size_t max, cr_strlist *out);
int cr_gl_txn_newest_created_at(cr_txn *t, char *out, size_t len);
int cr_gl_order_top(git_repository *repo, git_tree *tree, uint64_t *top);
int cr_gl_order_verify(git_repository *repo, git_tree *tree, const char *hex, uint64_t from, uint64_t added);
/* notes.c */
int cr_gl_ledger_note(void *impl, const char *source_commit, const char *cid, const char *line);
/* verify.c */
int cr_gl_ledger_verify(void *impl, const char *from, uint64_t *ncommits, uint64_t *nobjects);
int cr_gl_ledger_repair(void *impl, const char *to, uint64_t *ncommits);

#endif
