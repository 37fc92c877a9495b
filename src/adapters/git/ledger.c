/* The ledger port over the git adapter: open and close. */
#include "adapters/git/ledger_internal.h"

static int ledger_resolve(void *impl, const char *rev, char *hex, size_t hexlen)
{
	return cr_git_resolve_commit(((struct ledger *)impl)->repo, rev, hex, hexlen);
}

static int ledger_commit_exists(void *impl, const char *hex)
{
	return cr_git_commit_exists(((struct ledger *)impl)->repo, hex);
}

static int ledger_descends(void *impl, const char *old_hex, const char *new_hex)
{
	git_repository *repo = ((struct ledger *)impl)->repo;
	git_oid o, n;

	if (git_oid_fromstr(&o, old_hex) < 0 || git_oid_fromstr(&n, new_hex) < 0)
		return cr_error_set(CR_EINVALID_INPUT, "not a commit id: %.80s / %.80s", old_hex, new_hex);
	if (git_oid_equal(&o, &n))
		return 1;
	int rc = git_graph_descendant_of(repo, &n, &o);
	return rc < 0 ? cr_git_error("cannot walk the history") : rc;
}

static void ledger_require_signature(cr_txn *t)
{
	t->sign = true;
}

static void ledger_trust_root(void *impl, char *digest, size_t dlen, char *commit, size_t clen, char *policy,
			      size_t plen, bool *pinned)
{
	struct ledger *l = impl;
	*pinned = l->policy_root[0] != '\0';
	snprintf(digest, dlen, "%s", l->root_digest);
	snprintf(commit, clen, "%s", l->root_commit);
	snprintf(policy, plen, "%s", l->root_policy);
}

static int ledger_signing_key(void *impl, char *out, size_t len)
{
	return cr_git_signing_pubkey(((struct ledger *)impl)->repo, out, len);
}

/* ---- open ------------------------------------------------------------- */

int cr_gl_writable(const struct ledger *l, const char *what)
{
	if (!l->read_only && git_repository_is_shallow(l->repo) == 1) {
		cr_error_set(CR_EINTEGRITY, "cannot %s: this clone is shallow, so its ledger may be incomplete", what);
		return cr_error_hint("fetch the whole history first: git fetch --unshallow");
	}
	if (!l->read_only)
		return 0;
	return cr_error_set(CR_EFORBIDDEN, "cannot %s: the ledger was opened read-only%s", what,
			    l->pinned ? " (at a given commit)" : "");
}

int cr_git_ledger_open(cr_ledger_port *out, git_repository *repo, const cr_git_refs *refs,
		       const cr_git_ledger_opts *o)
{
	struct ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	l->repo = repo;
	l->refs = *refs;
	l->owner = getpid();
	l->shared = cr_git_shared(repo);
	l->detached = o && o->at && o->detached && !o->read_only;
	l->require_all = o && o->require_signatures;
	if (o && o->policy_root) {
		snprintf(l->policy_root, sizeof(l->policy_root), "%s", o->policy_root);
	} else {
		git_config *cfg = NULL;
		git_buf b = {0};
		if (git_repository_config_snapshot(&cfg, repo) == 0 &&
		    git_config_get_string_buf(&b, cfg, "cleanrelease.policyroot") == 0 && b.ptr)
			snprintf(l->policy_root, sizeof(l->policy_root), "%s", b.ptr);
		git_buf_dispose(&b);
		git_config_free(cfg);
		git_error_clear();
	}
	l->read_only = o && (o->read_only || (o->at && !l->detached));
	if (o && o->at) {
		char hex[GIT_OID_HEXSZ + 1];
		int rc = cr_git_resolve_commit(repo, o->at, hex, sizeof(hex));
		if (rc < 0) {
			free(l);
			return rc;
		}
		git_oid_fromstr(&l->at, hex);
		l->pinned = true;
	}
	memset(out, 0, sizeof(*out));
	out->impl = l;
	out->begin = cr_gl_txn_begin;
	out->end = cr_gl_txn_end;
	out->get = cr_gl_txn_get;
	out->ref_of = cr_gl_txn_ref_of;
	out->list = cr_gl_txn_list;
	out->list_newest = cr_gl_txn_list_newest;
	out->changed_since = cr_gl_txn_changed_since;
	out->newest_created_at = cr_gl_txn_newest_created_at;
	out->counter = cr_gl_txn_counter;
	out->alloc = cr_gl_txn_alloc;
	out->put = cr_gl_txn_put;
	out->put_ref = cr_gl_txn_put_ref;
	out->write_blob = cr_gl_ledger_write_blob;
	out->commit = cr_gl_txn_commit;
	out->note = cr_gl_ledger_note;
	out->verify = cr_gl_ledger_verify;
	out->repair = cr_gl_ledger_repair;
	out->resolve = ledger_resolve;
	out->commit_exists = ledger_commit_exists;
	out->descends = ledger_descends;
	out->require_signature = ledger_require_signature;
	out->signing_key = ledger_signing_key;
	out->trust_root = ledger_trust_root;
	out->history = cr_gl_ledger_history;
	out->merge_base = cr_gl_ledger_merge_base;
	out->commit_objects = cr_gl_ledger_commit_objects;
	out->head = cr_gl_ledger_head;
	return 0;
}

void cr_git_ledger_close(cr_ledger_port *p)
{
	struct ledger *l;

	if (!p)
		return;
	l = p->impl;
	if (l && l->child_odb && l->child == getpid())
		git_odb_free(l->child_odb);
	free(p->impl);
	p->impl = NULL;
}
