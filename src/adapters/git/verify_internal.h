#ifndef CR_ADAPTERS_GIT_VERIFY_INTERNAL_H
#define CR_ADAPTERS_GIT_VERIFY_INTERNAL_H
/* The walk of verify (verify.c) and its checks of signatures against the
 * policy in force (verify_sig.c). */
#include "adapters/git/ledger_internal.h"
#include "domain/entities.h"
#include "util/schema.h"

struct vctx {
	struct ledger *l;
	git_odb *odb;
	git_tree *tree; /* the commit's tree */
	cr_schema *schemas[16];
	const char *commit_hex;
	uint64_t added[CR_ID__COUNT];
	uint64_t maxid[CR_ID__COUNT];
	uint64_t objects;
	uint64_t candidates; /* candidate records added */
	int rc;
	/* The audit event the commit adds (one an operation), for its signature. */
	bool has_ev;
	char ev_type[40], ev_outcome[16], ev_signed_by[260], ev_actor[1100];
	/* The policy in force last read (by its commit), for the signers. */
	char pol_commit[GIT_OID_HEXSZ + 1];
	cr_policy pol;
	git_oid pol_tree; /* the policy/ tree it was read from: unchanged, nothing to read */
	bool pol_tree_set;
	char pol_digest[65]; /* SHA-256 of its policy.json */
};

/* The commit's signature, against the signers of the policy in force (for
 * a policy.publish, the policy before it): required where the policy asks
 * for it, made by a signer holding the operation's role, matching the
 * commit, and naming the principal its event records. Any signature a
 * commit carries must match it. 0, or CR_EINTEGRITY naming the commit. */
int cr_gl_verify_signature(struct vctx *v, git_commit *c, git_tree *tree, git_tree *ptree);

#endif
