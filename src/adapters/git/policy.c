/*
 * The trusted policy store: a commit chain on refs/<ns>/policy whose tree
 * holds policy.json and registry.json (canonical JSON). Digests are SHA-256
 * of those blobs, so anyone can recompute them with plain git.
 */
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
};

static int read_blob(git_repository *repo, git_tree *tree, const char *name, char **out)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, name);
	git_blob *b = NULL;
	if (!e || git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0)
		return cr_error_set(CR_EINTEGRITY, "policy ref has no readable %s", name);
	size_t n = (size_t)git_blob_rawsize(b);
	char *p = malloc(n + 1);
	if (!p) {
		git_blob_free(b);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	memcpy(p, git_blob_rawcontent(b), n);
	p[n] = 0;
	git_blob_free(b);
	*out = p;
	return 0;
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

static int store_publish(void *impl, const char *policy_json, const char *registry_json,
			 const char *actor, const char *message)
{
	struct store *s = impl;
	git_repository *repo = s->repo;
	git_treebuilder *tb = NULL;
	git_oid pblob, rblob, tree_id, commit_id, tip;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_signature *author = NULL, *committer = NULL;
	git_reference *ref = NULL;
	int rc = 0;

	if (git_blob_create_from_buffer(&pblob, repo, policy_json, strlen(policy_json)) < 0 ||
	    git_blob_create_from_buffer(&rblob, repo, registry_json, strlen(registry_json)) < 0 ||
	    git_treebuilder_new(&tb, repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, "policy.json", &pblob, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_insert(NULL, tb, "registry.json", &rblob, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(&tree_id, tb) < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0) {
		rc = cr_git_error("cannot write the policy");
		goto cleanup;
	}
	char name[300];
	size_t j = 0;
	for (const char *p = actor; *p && j + 1 < sizeof(name); p++)
		name[j++] = (*p == '<' || *p == '>') ? '_' : *p;
	name[j] = 0;
	if (git_signature_now(&author, name, name) < 0 ||
	    git_signature_now(&committer, "clean-release", "clean-release@localhost") < 0) {
		rc = cr_git_error("cannot make a signature");
		goto cleanup;
	}
	for (int attempt = 0; attempt < 100; attempt++) {
		int has_tip = git_reference_name_to_id(&tip, repo, s->refs.policy) == 0;
		git_commit_free(parent);
		parent = NULL;
		if (has_tip && git_commit_lookup(&parent, repo, &tip) < 0) {
			rc = cr_git_error("cannot read the policy ref");
			goto cleanup;
		}
		const git_commit *parents[1] = {parent};
		if (git_commit_create(&commit_id, repo, NULL, author, committer, NULL, message, tree,
				      parent ? 1 : 0, parents) < 0) {
			rc = cr_git_error("cannot write the policy commit");
			goto cleanup;
		}
		rc = has_tip ? git_reference_create_matching(&ref, repo, s->refs.policy, &commit_id, 1, &tip, message)
			     : git_reference_create(&ref, repo, s->refs.policy, &commit_id, 0, message);
		git_reference_free(ref);
		ref = NULL;
		if (rc == 0)
			break;
		rc = cr_git_error("cannot move the policy ref");
		struct timespec ts = {0, 2000000L * (attempt + 1)};
		nanosleep(&ts, NULL);
	}
cleanup:
	git_commit_free(parent);
	git_signature_free(author);
	git_signature_free(committer);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	return rc;
}

static int store_resolve(void *impl, char **policy_json, char **registry_json, cr_snapshot *ps, cr_snapshot *rs)
{
	struct store *s = impl;
	git_oid tip;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	char *p = NULL, *r = NULL, hex[GIT_OID_HEXSZ + 1];
	int rc = git_reference_name_to_id(&tip, s->repo, s->refs.policy);

	if (rc == GIT_ENOTFOUND && s->builtin_policy) {
		/* The demo namespace ships its policy: publish it on first use. */
		char *cp = NULL, *cr = NULL;
		cJSON *jp = NULL, *jr = NULL;
		rc = cr_json_parse(&jp, s->builtin_policy, strlen(s->builtin_policy), "built-in policy");
		if (rc == 0)
			rc = cr_json_parse(&jr, s->builtin_registry, strlen(s->builtin_registry), "built-in registry");
		if (rc == 0) {
			cp = cr_json_canonical(jp, NULL);
			cr = cr_json_canonical(jr, NULL);
			rc = (cp && cr) ? store_publish(s, cp, cr, "clean-release", "policy.publish built-in demo policy")
					: cr_error_set(CR_EINTERNAL, "out of memory");
		}
		cJSON_Delete(jp);
		cJSON_Delete(jr);
		free(cp);
		free(cr);
		if (rc < 0)
			return rc;
		rc = git_reference_name_to_id(&tip, s->repo, s->refs.policy);
	}
	if (rc == GIT_ENOTFOUND) {
		cr_error_set(CR_EPOLICY_MISSING, "no policy published on %s", s->refs.policy);
		cr_error_hint("publish one with: git clean-release policy publish --policy policy.json --registry registry.json");
		return CR_EPOLICY_MISSING;
	}
	if (rc < 0 || git_commit_lookup(&c, s->repo, &tip) < 0 || git_commit_tree(&tree, c) < 0) {
		rc = cr_git_error("cannot read the policy ref");
		goto cleanup;
	}
	git_oid_tostr(hex, sizeof(hex), &tip);
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
	out->impl = s;
	out->resolve = store_resolve;
	out->publish = store_publish;
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
