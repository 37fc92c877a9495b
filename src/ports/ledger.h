#ifndef CR_PORTS_LEDGER_H
#define CR_PORTS_LEDGER_H
/*
 * Ledger port: the append-only evidence store. Services see objects by kind
 * and id, never paths or git; the layout is the adapter's business.
 *
 * Every change is an optimistic transaction: begin() takes a snapshot of the
 * tip, the service reads and checks its gates against that snapshot,
 * allocates ids and stages new objects, and commit() appends one ledger
 * commit by compare-and-swap. If the tip moved meanwhile, commit() returns
 * CR_ERETRY and the service runs its whole transaction again on the new tip
 * (cr_ledger_transact does the loop), so gates and ids always hold.
 */
#include <stddef.h>
#include <stdint.h>
#include "domain/ids.h"

typedef enum cr_objkind {
	CR_OBJ_CANDIDATE = 0, /* key: candidate_id */
	CR_OBJ_IMPORT,        /* key: imp-NNN */
	CR_OBJ_MANIFEST,      /* key: man-NNN */
	CR_OBJ_RUN,           /* only for list(): the run ids of a candidate */
	CR_OBJ_RUN_EVENT,     /* key: run-NNN, sub: "requested", "started", "stage-1".."stage-4", "finished" */
	CR_OBJ_VIOLATIONS,    /* key: run-NNN, sub: chunk number "000001" */
	CR_OBJ_REPORT,        /* key: rpt-NNN */
	CR_OBJ_APPROVAL,      /* key: apr-NNN */
	CR_OBJ_PUBLICATION,   /* key: pub-NNN */
	CR_OBJ_REVOCATION,    /* key: pub-NNN (the revoked publication) */
	CR_OBJ_AUDIT,         /* key: evt-NNN */
	CR_OBJ__COUNT
} cr_objkind;

typedef struct cr_strlist {
	char **v;
	size_t n, alloc;
} cr_strlist;
int cr_strlist_push(cr_strlist *l, const char *s);
void cr_strlist_clear(cr_strlist *l);

typedef struct cr_txn cr_txn; /* adapter-defined */

/* One object a ledger commit adds (commit_objects): borrowed for the call. */
typedef struct cr_ledger_object {
	cr_objkind kind;
	const char *cid; /* owning candidate; NULL for an event of no candidate */
	const char *key, *sub;
	const char *buf; /* as stored (canonical JSON) */
	size_t len;
} cr_ledger_object;
/* A ledger commit's message (subject and trailer) and author (the actor). */
typedef struct cr_commit_info {
	char message[4096];
	char actor[300];
} cr_commit_info;

typedef struct cr_ledger_port {
	void *impl;
	/* Snapshot the tip (an empty ledger is a valid snapshot): the ref's,
	 * or the commit the ledger was opened at. */
	int (*begin)(void *impl, cr_txn **out);
	void (*end)(cr_txn *t); /* free, committed or not */

	/* Read one object as stored (canonical JSON) into a malloc'd buffer.
	 * CR_ENOT_FOUND when absent (message names kind and key). */
	int (*get)(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char **buf, size_t *len);
	/* The object id of a stored object (REFLEN >= 41): it names the
	 * object's exact content, e.g. for a cache of its parsed form.
	 * CR_ENOT_FOUND as for get. */
	int (*ref_of)(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char *ref, size_t reflen);
	/* Keys of KIND that belong to OWNER, sorted by number:
	 *   CR_OBJ_CANDIDATE, owner NULL: every candidate id (sorted bytewise);
	 *   CR_OBJ_IMPORT…CR_OBJ_REVOCATION and CR_OBJ_RUN, owner = candidate id: that candidate's ids;
	 *   CR_OBJ_AUDIT, owner = candidate id, NULL for the whole log, or ""
	 *     for the events of no candidate (policy.publish: the binding of
	 *     the trusted policy);
	 *   CR_OBJ_RUN_EVENT / CR_OBJ_VIOLATIONS, owner = run id: the subs. */
	int (*list)(cr_txn *t, cr_objkind kind, const char *owner, cr_strlist *out);
	/* Candidate ids in the list's order (created_at descending, then
	 * candidate_id): at most MAX, those after the candidate (AFTER_AT,
	 * AFTER_ID) when AFTER_AT is not NULL, appended to OUT, in time
	 * proportional to MAX (the ledger's order index). 1, OUT untouched, when
	 * the ledger cannot answer so (written before the index existed): the
	 * caller orders the candidates itself. NULL in a port without one. */
	int (*list_newest)(cr_txn *t, const char *after_at, const char *after_id, size_t max, cr_strlist *out);
	/* The created_at of the newest candidate into OUT (LEN bytes; "" when
	 * there is none), from the same index in constant time; 1 as above.
	 * NULL in a port without one. */
	int (*newest_created_at)(cr_txn *t, char *out, size_t len);
	/* The candidates whose evidence differs between this snapshot and the
	 * one TOKEN names (a token this call gave before; NULL: none, every
	 * candidate): added, changed, or gone (a snapshot older than TOKEN's,
	 * or another clone's), appended to OUT, and this snapshot's token into
	 * TOKEN_OUT (LEN >= 41; "" for an empty ledger), in time proportional
	 * to what changed: a candidate's view derives from its own evidence
	 * only. CR_ENOT_FOUND when this ledger has nothing TOKEN names. NULL
	 * in a port without one. */
	int (*changed_since)(cr_txn *t, const char *token, cr_strlist *out, char *token_out, size_t len);
	/* Last allocated number of an id kind in this snapshot (0: none). */
	uint64_t (*counter)(cr_txn *t, cr_idkind k);
	/* Allocate the next id of kind K in this transaction. */
	int (*alloc)(cr_txn *t, cr_idkind k, char *out, size_t outlen);
	/* Stage a new object. CID is the owning candidate (NULL only for a
	 * policy.publish audit event). Staging a key that exists is
	 * CR_EINTEGRITY: objects are never replaced. */
	int (*put)(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
		   const char *buf, size_t len);
	/* Stage an object stored before by write_blob under REF (CR_EINTEGRITY
	 * when no such blob is stored), like put. */
	int (*put_ref)(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
		       const char *ref);
	/* Store BUF outside any transaction and name it in REF (REFLEN >= 41):
	 * content-addressed, and unreachable until a commit stages it with
	 * put_ref, so a crash leaves nothing but garbage. Callable from a
	 * process forked from the one that opened the ledger (the worker pool
	 * stores violation chunks so); such a process never commits. */
	int (*write_blob)(void *impl, const char *buf, size_t len, char *ref, size_t reflen);
	/* Append one commit with the staged objects: MESSAGE's first line names
	 * the operation and ids, author ACTOR. CR_ERETRY if the tip moved. A
	 * transaction with nothing staged commits nothing and returns 0. */
	int (*commit)(cr_txn *t, const char *message, const char *actor);
	/* Update the human-readable status note of SOURCE_COMMIT for candidate
	 * CID (best effort: a derived view, never evidence). */
	int (*note)(void *impl, const char *source_commit, const char *cid, const char *line);
	/* Resolve a revision of the repository the ledger lives in to a commit
	 * oid (hex); CR_EINVALID_INPUT naming REV when it does not resolve. */
	int (*resolve)(void *impl, const char *rev, char *hex, size_t hexlen);
	/* 1 if OID (hex) is a commit of that repository, else 0. */
	int (*commit_exists)(void *impl, const char *hex);
	/* 1 if commit NEW (hex) is OLD or descends from it, 0 if not, or an
	 * error (CR_EINVALID_INPUT when either is no commit). */
	int (*descends)(void *impl, const char *old_hex, const char *new_hex);
	/* Verification of the ledger's commits after FROM (a revision naming
	 * a ledger commit; NULL: from the root) up to the tip: every commit
	 * only adds, every object it adds hashes to its id and is valid
	 * against its schema, counters consistent, and FROM an ancestor of the
	 * tip. In time proportional to the range. 0, or CR_EINTEGRITY naming
	 * the first bad commit and path. *COMMITS gets the commits read. */
	int (*verify)(void *impl, const char *from, uint64_t *commits, uint64_t *objects);
	/* Put the ledger back on TO, an earlier tip its reflog holds whose
	 * history verifies, when the current tip does not (a commit pruned
	 * away): appends nothing. CR_EINVALID_ARGUMENT when TO was never a tip
	 * or the ledger verifies; CR_EINTEGRITY when TO does not verify.
	 * *COMMITS: the commits verified at TO. */
	int (*repair)(void *impl, const char *to, uint64_t *commits);

	/* ---- signatures ---- */
	/* The commit of T must be signed with git's signing key (its commit
	 * fails when it cannot be). */
	void (*require_signature)(cr_txn *t);
	/* The public key ("type base64") of git's signing key, or CR_ENOT_FOUND
	 * (none configured) / CR_EINVALID_ARGUMENT (one that cannot be used). */
	int (*signing_key)(void *impl, char *out, size_t len);
	/* The root of the policy chain the last verify met: the digest of the
	 * first policy that required signed publications, its ledger commit
	 * and "<policy_id> v<version>" ("" each when it met none); *PINNED
	 * whether a pin was set (which the root then matched). */
	void (*trust_root)(void *impl, char *digest, size_t dlen, char *commit, size_t clen, char *policy, size_t plen,
			   bool *pinned);

	/* ---- history, for sync ---- */
	/* The commits after FROM (hex, excluded; NULL: from the root) up to TO
	 * (hex), oldest first, appended to OUT; CR_EINTEGRITY when the chain
	 * from TO has a merge or does not reach FROM. */
	int (*history)(void *impl, const char *from, const char *to, cr_strlist *out);
	/* The last commit A and B (hex) share, into OUT ("" when none). */
	int (*merge_base)(void *impl, const char *a, const char *b, char *out, size_t len);
	/* INFO and every object commit HEX adds, FN(O, CTX) for each (once:
	 * not its index copies); a negative FN return stops with it. */
	int (*commit_objects)(void *impl, const char *hex, cr_commit_info *info,
			      int (*fn)(const cr_ledger_object *o, void *ctx), void *ctx);
	/* The tip this port reads now, hex into OUT ("" for none): the ref's,
	 * or the commit it was opened at (a detached port's moves with each
	 * commit it makes). */
	int (*head)(void *impl, char *out, size_t len);
} cr_ledger_port;

/* Run FN(txn, ctx) in a transaction and commit with the message FN left in
 * MSG; on CR_ERETRY start over on the new tip (bounded, with jittered
 * backoff; CR_ECONFLICT "concurrent update lost after N retries" at the end).
 * FN returns 0 to commit, or an error to abort (nothing is written, unless
 * FN set *COMMIT_ANYWAY, used to record a REFUSED audit event). FN may
 * return CR_ERETRY itself to start over (e.g. an id it allocated is taken).
 * ACTOR, the commit's author, is read when the commit is made: FN may
 * still change the string it points at (the signer's principal). */
typedef int (*cr_txn_fn)(cr_txn *t, void *ctx, char *msg, size_t msglen, int *commit_anyway);
int cr_ledger_transact(const cr_ledger_port *l, const char *actor, cr_txn_fn fn, void *ctx);

#endif
