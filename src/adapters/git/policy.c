/*
 * The trusted policy store: a commit chain on refs/<ns>/policy whose tree
 * holds policy.json and registry.json (canonical JSON). Digests are SHA-256
 * of those blobs, so anyone can recompute them with plain git.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <git2.h>
#include "adapters/git/git.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"

struct store {
	git_repository *repo;
	cr_git_refs refs;
	const char *builtin_policy, *builtin_registry;
	int shared; /* core.sharedRepository */
};

static int read_blob(git_repository *repo, git_tree *tree, const char *name, char **out)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, name);
	int rc = e ? cr_git_blob_read(repo, git_tree_entry_id(e), out, NULL) : CR_ENOT_FOUND;
	if (rc == CR_ENOT_FOUND)
		return cr_error_set(CR_EINTEGRITY, "policy ref has no readable %s", name);
	return rc;
}

static int snapshot_of(const char *doc, const char *idkey, const char *ref, const char *commit, cr_snapshot *s)
{
	cJSON *j = NULL;
	int rc = cr_json_parse(&j, doc, strlen(doc), idkey);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	const char *id = cr_json_str(j, idkey);
	snprintf(s->id, sizeof(s->id), "%s", id ? id : "");
	s->version = cr_json_int(j, "version", 0);
	cr_sha256_hex(doc, strlen(doc), s->digest);
	snprintf(s->ref, sizeof(s->ref), "%s", ref);
	snprintf(s->commit, sizeof(s->commit), "%s", commit);
	cJSON_Delete(j);
	return 0;
}

/* Write a commit holding both documents with PARENT (may be NULL). */
static int write_commit(struct store *s, const char *policy_json, const char *registry_json,
			const git_signature *author, const git_signature *committer, const char *message,
			const git_commit *parent, git_oid *out)
{
	git_repository *repo = s->repo;
	git_treebuilder *tb = NULL;
	git_oid pblob, rblob, tree_id;
	git_tree *tree = NULL;
	int rc = 0;

	if (git_blob_create_from_buffer(&pblob, repo, policy_json, strlen(policy_json)) < 0 ||
	    git_blob_create_from_buffer(&rblob, repo, registry_json, strlen(registry_json)) < 0 ||
	    git_treebuilder_new(&tb, repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, "policy.json", &pblob, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_insert(NULL, tb, "registry.json", &rblob, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(&tree_id, tb) < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    git_commit_create(out, repo, NULL, author, committer, NULL, message, tree, parent ? 1 : 0,
			      (const git_commit **)&parent) < 0)
		rc = cr_git_error("cannot write the policy");
	if (rc == 0) {
		cr_git_share_object(repo, s->shared, &pblob);
		cr_git_share_object(repo, s->shared, &rblob);
		cr_git_share_object(repo, s->shared, &tree_id);
		cr_git_share_object(repo, s->shared, out);
	}
	git_tree_free(tree);
	git_treebuilder_free(tb);
	return rc;
}

static int store_prepare(void *impl, const char *policy_json, const char *registry_json, const char *actor,
			 const char *message, const char *parent_hex, char *out, size_t len)
{
	struct store *s = impl;
	git_commit *parent = NULL;
	git_signature *author = NULL, *committer = NULL;
	git_oid commit_id, pid;
	char name[300];
	size_t j = 0;
	int rc = 0;

	for (const char *p = actor; *p && j + 1 < sizeof(name); p++)
		name[j++] = (*p == '<' || *p == '>' || (unsigned char)*p < 0x20) ? '_' : *p;
	name[j] = 0;
	if (git_signature_now(&author, name, name) < 0 ||
	    git_signature_now(&committer, "clean-release", "clean-release@localhost") < 0) {
		rc = cr_git_error("cannot make a signature");
		goto cleanup;
	}
	if (parent_hex && (git_oid_fromstr(&pid, parent_hex) < 0 || git_commit_lookup(&parent, s->repo, &pid) < 0)) {
		rc = cr_error_set(CR_EINTEGRITY, "the policy in force (commit %.12s) is not in this repository", parent_hex);
		goto cleanup;
	}
	if ((rc = write_commit(s, policy_json, registry_json, author, committer, message, parent, &commit_id)) == 0)
		git_oid_tostr(out, len, &commit_id);
cleanup:
	git_commit_free(parent);
	git_signature_free(author);
	git_signature_free(committer);
	return rc;
}

static int store_advance(void *impl, const char *commit_hex)
{
	struct store *s = impl;
	git_oid id, tip;
	int rc = CR_ERETRY;

	if (git_oid_fromstr(&id, commit_hex) < 0)
		return cr_error_set(CR_EINTERNAL, "bad policy commit %.64s", commit_hex);
	for (int attempt = 0; attempt < 100 && rc == CR_ERETRY; attempt++) {
		int has_tip = git_reference_name_to_id(&tip, s->repo, s->refs.policy) == 0;
		if (has_tip && git_oid_equal(&tip, &id))
			return 0;
		rc = cr_git_ref_cas(s->repo, s->refs.policy, &id, has_tip ? &tip : NULL, "policy.publish");
		if (rc == 0)
			cr_git_share_ref(s->repo, s->shared, s->refs.policy);
		if (rc == CR_ERETRY) {
			struct timespec ts = {0, 2000000L * (attempt + 1)};
			nanosleep(&ts, NULL);
		}
	}
	return rc == CR_ERETRY ? cr_error_set(CR_ECONFLICT, "the policy ref kept moving; try again") : rc;
}

static int store_linear(void *impl, const char *from, const char *to, uint64_t *commits)
{
	struct store *s = impl;
	git_oid id, stop;
	int rc;

	*commits = 0;
	if (from && git_oid_fromstr(&stop, from) < 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "\"%.80s\" is not a commit id", from);
	if (to) {
		if (git_oid_fromstr(&id, to) < 0)
			return cr_error_set(CR_EINVALID_ARGUMENT, "\"%.80s\" is not a commit id", to);
	} else if ((rc = git_reference_name_to_id(&id, s->repo, s->refs.policy)) == GIT_ENOTFOUND) {
		return 0;
	} else if (rc < 0) {
		return cr_git_error("cannot read the policy ref");
	}
	for (;;) {
		git_commit *c = NULL;
		char hex[GIT_OID_HEXSZ + 1];
		if (from && git_oid_equal(&id, &stop))
			return 0;
		git_oid_tostr(hex, sizeof(hex), &id);
		if (git_commit_lookup(&c, s->repo, &id) < 0)
			return cr_error_set(CR_EINTEGRITY, "policy commit %.12s is missing", hex);
		unsigned np = git_commit_parentcount(c);
		(*commits)++;
		if (np > 1) {
			git_commit_free(c);
			return cr_error_set(CR_EINTEGRITY, "policy commit %.12s is a merge: the policy history is not linear", hex);
		}
		if (np == 1)
			git_oid_cpy(&id, git_commit_parent_id(c, 0));
		git_commit_free(c);
		if (np == 0)
			return from ? cr_error_set(CR_EINTEGRITY, "policy commit %.12s does not descend from %.12s: "
							       "the policy history was rewritten", to ? to : "tip", from)
				    : 0;
	}
}

static int builtin_commit(struct store *s, git_oid *out)
{
	char *cp = NULL, *cr = NULL;
	cJSON *jp = NULL, *jr = NULL;
	git_signature *sig = NULL;
	int rc = cr_json_parse(&jp, s->builtin_policy, strlen(s->builtin_policy), "built-in policy");
	if (rc == 0)
		rc = cr_json_parse(&jr, s->builtin_registry, strlen(s->builtin_registry), "built-in registry");
	if (rc == 0) {
		cp = cr_json_canonical(jp, NULL);
		cr = cr_json_canonical(jr, NULL);
		if (!cp || !cr)
			rc = cr_error_set(CR_EINTERNAL, "out of memory");
	}
	if (rc == 0 && git_signature_new(&sig, "clean-release", "clean-release@localhost", 0, 0) < 0)
		rc = cr_git_error("cannot make a signature");
	if (rc == 0)
		rc = write_commit(s, cp, cr, sig, sig, "policy.publish built-in policy\n", NULL, out);
	git_signature_free(sig);
	cJSON_Delete(jp);
	cJSON_Delete(jr);
	free(cp);
	free(cr);
	return rc;
}

/* Both documents of policy commit ID and their snapshots. */
static int read_commit(struct store *s, const git_oid *id, char **policy_json, char **registry_json, cr_snapshot *ps,
		       cr_snapshot *rs)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	char *p = NULL, *r = NULL, hex[GIT_OID_HEXSZ + 1];
	int rc;

	git_oid_tostr(hex, sizeof(hex), id);
	if (git_commit_lookup(&c, s->repo, id) < 0 || git_commit_tree(&tree, c) < 0) {
		rc = cr_git_error("cannot read the policy commit");
		goto cleanup;
	}
	if ((rc = read_blob(s->repo, tree, "policy.json", &p)) < 0 ||
	    (rc = read_blob(s->repo, tree, "registry.json", &r)) < 0)
		goto cleanup;
	if (ps && (rc = snapshot_of(p, "policy_id", s->refs.policy, hex, ps)) < 0)
		goto cleanup;
	if (rs && (rc = snapshot_of(r, "registry_id", s->refs.policy, hex, rs)) < 0)
		goto cleanup;
	if (policy_json) {
		*policy_json = p;
		p = NULL;
	}
	if (registry_json) {
		*registry_json = r;
		r = NULL;
	}
cleanup:
	free(p);
	free(r);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

static int store_at(void *impl, const char *commit, char **policy_json, char **registry_json, cr_snapshot *ps,
		    cr_snapshot *rs)
{
	git_oid id;
	if (git_oid_fromstr(&id, commit) < 0)
		return cr_error_set(CR_EINTEGRITY, "policy commit \"%.64s\" is not an object id", commit);
	return read_commit(impl, &id, policy_json, registry_json, ps, rs);
}

static int store_resolve(void *impl, char **policy_json, char **registry_json, cr_snapshot *ps, cr_snapshot *rs,
			 bool pin)
{
	struct store *s = impl;
	git_oid tip;
	int rc = git_reference_name_to_id(&tip, s->repo, s->refs.policy);

	if (rc == GIT_ENOTFOUND && s->builtin_policy) {
		/* The demo namespace ships its policy. Reading it writes no ref;
		 * a run pins it on the ref, as the same commit in every clone. */
		if ((rc = builtin_commit(s, &tip)) < 0)
			return rc;
		if (pin) {
			rc = cr_git_ref_cas(s->repo, s->refs.policy, &tip, NULL, "policy.publish built-in policy");
			if (rc == 0)
				cr_git_share_ref(s->repo, s->shared, s->refs.policy);
			if (rc == CR_ERETRY) /* someone else pinned or published first */
				rc = git_reference_name_to_id(&tip, s->repo, s->refs.policy);
			if (rc < 0)
				return rc == GIT_ENOTFOUND ? cr_git_error("cannot read the policy ref") : rc;
		}
	}
	if (rc == GIT_ENOTFOUND) {
		cr_error_set(CR_EPOLICY_MISSING, "no policy published on %s", s->refs.policy);
		cr_error_hint("publish one with: git clean-release policy publish --policy policy.json --registry registry.json");
		return CR_EPOLICY_MISSING;
	}
	if (rc < 0)
		return cr_git_error("cannot read the policy ref");
	return read_commit(s, &tip, policy_json, registry_json, ps, rs);
}

/* Whether DOC (canonical JSON) is the built-in document BUILTIN. */
static bool same_doc(const char *builtin, const char *doc)
{
	cJSON *j = NULL;
	char *canon = NULL;
	bool same = false;
	if (cr_json_parse(&j, builtin, strlen(builtin), "built-in document") == 0 && (canon = cr_json_canonical(j, NULL)))
		same = !strcmp(canon, doc);
	free(canon);
	cJSON_Delete(j);
	return same;
}

static int store_is_builtin(void *impl, const char *commit_hex)
{
	struct store *s = impl;
	char *p = NULL, *r = NULL;
	int yes = 0;

	/* Read only: the documents of COMMIT against the built-in ones. */
	if (s->builtin_policy && store_at(s, commit_hex, &p, &r, NULL, NULL) == 0)
		yes = same_doc(s->builtin_policy, p) && same_doc(s->builtin_registry, r);
	free(p);
	free(r);
	cr_error_clear();
	return yes;
}

static const char *store_ref(void *impl)
{
	return ((struct store *)impl)->refs.policy;
}

int cr_git_policy_open(cr_policy_port *out, git_repository *repo, const cr_git_refs *refs,
		       const char *builtin_policy, const char *builtin_registry)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	s->repo = repo;
	s->refs = *refs;
	s->builtin_policy = builtin_policy;
	s->builtin_registry = builtin_registry;
	s->shared = cr_git_shared(repo);
	out->impl = s;
	out->resolve = store_resolve;
	out->at = store_at;
	out->prepare = store_prepare;
	out->advance = store_advance;
	out->linear = store_linear;
	out->is_builtin = store_is_builtin;
	out->ref = store_ref;
	return 0;
}

void cr_git_policy_close(cr_policy_port *p)
{
	if (!p)
		return;
	free(p->impl);
	p->impl = NULL;
}
