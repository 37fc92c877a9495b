/* verify's checks of signatures: each commit against the signers and the
 * requirements of the policy in force at it (docs/trust.md). */
#include "adapters/git/verify_internal.h"
#include "domain/codec.h"
#include "util/sha256.h"
#include "util/sshsig.h"

/* The policy in force at TREE (the latest policy/ event's commit) into
 * V->pol, read again only when it changed; V->pol_commit "" for none. */
static int policy_at(struct vctx *v, git_tree *tree)
{
	git_tree_entry *dir = NULL;
	git_tree *pt = NULL;
	char best[64] = "", commit[GIT_OID_HEXSZ + 1] = "";
	uint64_t bn = 0;
	int rc = 0;

	if (tree && git_tree_entry_bypath(&dir, tree, POLICY_ROOT) == 0) {
		if (v->pol_tree_set && git_oid_equal(&v->pol_tree, git_tree_entry_id(dir))) {
			git_tree_entry_free(dir);
			return 0; /* the same policy events: the same policy in force */
		}
		git_oid_cpy(&v->pol_tree, git_tree_entry_id(dir));
		v->pol_tree_set = true;
	} else {
		v->pol_tree_set = false;
	}
	if (dir && git_tree_lookup(&pt, v->l->repo, git_tree_entry_id(dir)) == 0)
		for (size_t i = 0; i < git_tree_entrycount(pt); i++) {
			const char *name = git_tree_entry_name(git_tree_entry_byindex(pt, i));
			char id[64];
			uint64_t n = 0;
			snprintf(id, sizeof(id), "%.*s", (int)strcspn(name, "."), name);
			if (cr_id_parse(id, CR_ID_EVENT, &n) && n > bn)
				bn = n, snprintf(best, sizeof(best), "%s", name);
		}
	if (best[0]) {
		char *buf = NULL;
		cJSON *doc = NULL;
		const git_tree_entry *e = git_tree_entry_byname(pt, best);
		if (cr_git_blob_read(v->l->repo, git_tree_entry_id(e), &buf, NULL) == 0 &&
		    cr_json_parse(&doc, buf, strlen(buf), "policy.publish") == 0) {
			const char *c = cr_json_str(cJSON_GetObjectItemCaseSensitive(doc, "details"), "policy_commit");
			snprintf(commit, sizeof(commit), "%s", c ? c : "");
		}
		cJSON_Delete(doc);
		free(buf);
		cr_error_clear();
	}
	git_tree_free(pt);
	git_tree_entry_free(dir);
	if (!strcmp(commit, v->pol_commit))
		return 0;
	cr_policy_clear(&v->pol);
	snprintf(v->pol_commit, sizeof(v->pol_commit), "%s", commit);
	if (!commit[0])
		return 0;
	/* policy.json of that policy commit (the policy ref's history). */
	git_oid oid;
	git_commit *pc = NULL;
	git_tree *ptree = NULL;
	char *pj = NULL;
	cJSON *doc = NULL;
	const git_tree_entry *pe;
	if (git_oid_fromstr(&oid, commit) < 0 || git_commit_lookup(&pc, v->l->repo, &oid) < 0 ||
	    git_commit_tree(&ptree, pc) < 0 || !(pe = git_tree_entry_byname(ptree, "policy.json")) ||
	    cr_git_blob_read(v->l->repo, git_tree_entry_id(pe), &pj, NULL) < 0 ||
	    (cr_sha256_hex(pj, strlen(pj), v->pol_digest), cr_json_parse(&doc, pj, strlen(pj), "policy.json") < 0) ||
	    cr_policy_from_json(doc, &v->pol) < 0)
		rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: the policy in force (%.12s) cannot be read", v->commit_hex,
				  commit);
	cJSON_Delete(doc);
	free(pj);
	git_tree_free(ptree);
	git_commit_free(pc);
	return rc;
}

int cr_gl_verify_signature(struct vctx *v, git_commit *c, git_tree *tree, git_tree *ptree)
{
	git_buf sig = {0}, data = {0};
	unsigned char key[2048], want[2048];
	size_t kl = 0, wl = 0;
	int rc;

	bool publish = v->has_ev && !strcmp(v->ev_type, "policy.publish") && !strcmp(v->ev_outcome, "ACCEPTED");
	if ((rc = policy_at(v, publish ? ptree : tree)) < 0)
		return rc;
	bool required = v->has_ev && !strcmp(v->ev_outcome, "ACCEPTED") && cr_policy_requires_signature(&v->pol, v->ev_type);
	/* The first policy to require signed publications roots the chain: it
	 * is judged by its own admins (trust on first use), and recorded so
	 * that verify says so, or checks it against a pinned digest. */
	if (publish && !required && (rc = policy_at(v, tree)) == 0 &&
	    cr_policy_requires_signature(&v->pol, "policy.publish")) {
		required = true;
		struct ledger *l = v->l;
		snprintf(l->root_digest, sizeof(l->root_digest), "%s", v->pol_digest);
		snprintf(l->root_commit, sizeof(l->root_commit), "%s", v->commit_hex);
		snprintf(l->root_policy, sizeof(l->root_policy), "%s v%lld", v->pol.policy_id, (long long)v->pol.version);
		if (l->policy_root[0] && strcmp(l->policy_root, v->pol_digest)) {
			cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: the root of the policy chain (%s, sha256 %.16s…) is not "
						    "the pinned policy root %.16s…", v->commit_hex, l->root_policy, v->pol_digest,
				     l->policy_root);
			return cr_error_hint("the pin is --policy-root or git config cleanRelease.policyRoot");
		}
	}
	if (rc < 0)
		return rc;
	int got = git_commit_extract_signature(&sig, &data, v->l->repo, (git_oid *)git_commit_id(c), NULL);
	git_error_clear();
	if (got < 0) {
		if (required)
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s needs a signature (policy %s v%lld requires it), "
							 "and the commit is unsigned", v->commit_hex, v->ev_type, v->pol.policy_id,
					  (long long)v->pol.version);
		else if (v->l->require_all)
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s is unsigned (--require-signatures)", v->commit_hex);
		goto done;
	}
	if (cr_sshsig_verify(sig.ptr, data.ptr, data.size, "git", key, sizeof(key), &kl) < 0) {
		char why[CR_ERROR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", cr_error_last()->message);
		rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s", v->commit_hex, why);
		goto done;
	}
	if (!required && !v->l->require_all)
		goto done;
	const cr_signer *who = NULL;
	for (size_t i = 0; i < v->pol.signer_count && !who; i++)
		if (cr_sshsig_pubkey_blob(v->pol.signers[i].public_key, want, sizeof(want), &wl) == 0 && wl == kl &&
		    !memcmp(want, key, kl))
			who = &v->pol.signers[i];
	cr_error_clear();
	unsigned role = cr_role_for(v->ev_type);
	if (!required) { /* --require-signatures: any signer of the policy in force */
		if (!who)
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s is signed by a key that is not a signer of %s "
							 "(--require-signatures)", v->commit_hex,
					  v->pol_commit[0] ? v->pol.policy_id : "any policy");
		goto done;
	}
	if (!who)
		rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s is signed by a key that is not a signer of policy %s "
						 "v%lld", v->commit_hex, v->ev_type, v->pol.policy_id, (long long)v->pol.version);
	else if (!(who->roles & role))
		rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s is signed by %s, who is not a%s %s in policy %s v%lld",
				  v->commit_hex, v->ev_type, who->principal, role == CR_SIGNER_APPROVER ? "n" : "",
				  cr_role_name(role), v->pol.policy_id, (long long)v->pol.version);
	else if (strcmp(v->ev_signed_by, who->principal))
		rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: its event names the signer %s, but %s signed it",
				  v->commit_hex, v->ev_signed_by[0] ? v->ev_signed_by : "(none)", who->principal);
	else if (strcmp(v->ev_actor, who->principal))
		rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: its %s records the actor %.100s, but %s signed it",
				  v->commit_hex, v->ev_type, v->ev_actor, who->principal);
done:
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return rc;
}
