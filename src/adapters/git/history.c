/*
 * Reading the ledger's history, for sync: the commits between two tips,
 * where two ledgers part, and what one commit adds, as objects by kind and
 * id (each once: its path under its candidate, or policy/ for the events of
 * no candidate; the ids/, audit/ and order/ copies are the same blobs).
 */
#include "adapters/git/ledger_internal.h"

static int oid_of(const char *hex, git_oid *out)
{
	if (!hex || git_oid_fromstr(out, hex) < 0)
		return cr_error_set(CR_EINVALID_ARGUMENT, "not a commit id: %.80s", hex ? hex : "(none)");
	return 0;
}

int cr_gl_ledger_history(void *impl, const char *from, const char *to, cr_strlist *out)
{
	struct ledger *l = impl;
	git_oid id, stop;
	cr_strlist rev = {0};
	int rc;

	if ((rc = oid_of(to, &id)) < 0 || (from && (rc = oid_of(from, &stop)) < 0))
		return rc;
	for (;;) {
		char hex[GIT_OID_HEXSZ + 1];
		git_commit *c = NULL;
		if (from && git_oid_equal(&id, &stop))
			break;
		git_oid_tostr(hex, sizeof(hex), &id);
		if (git_commit_lookup(&c, l->repo, &id) < 0) {
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s is missing", hex);
			goto done;
		}
		unsigned np = git_commit_parentcount(c);
		if (np == 1)
			git_oid_cpy(&id, git_commit_parent_id(c, 0));
		git_commit_free(c);
		if ((rc = cr_strlist_push(&rev, hex)) < 0)
			goto done;
		if (np > 1) {
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s is a merge; the ledger is a linear chain", hex);
			goto done;
		}
		if (np == 0) {
			if (from)
				rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s does not descend from %.12s", to, from);
			break;
		}
	}
	for (size_t i = rev.n; rc == 0 && i-- > 0;)
		rc = cr_strlist_push(out, rev.v[i]);
done:
	cr_strlist_clear(&rev);
	return rc;
}

int cr_gl_ledger_merge_base(void *impl, const char *a, const char *b, char *out, size_t len)
{
	struct ledger *l = impl;
	git_oid x, y, base;
	int rc;

	out[0] = '\0';
	if ((rc = oid_of(a, &x)) < 0 || (rc = oid_of(b, &y)) < 0)
		return rc;
	rc = git_merge_base(&base, l->repo, &x, &y);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return cr_git_error("cannot find where the ledgers part");
	git_oid_tostr(out, len, &base);
	return 0;
}

int cr_gl_ledger_head(void *impl, char *out, size_t len)
{
	struct ledger *l = impl;
	if (l->pinned) {
		git_oid_tostr(out, len, &l->at);
		return 0;
	}
	return cr_git_ref_tip(l->repo, l->refs.ledger, out);
}

/* Split PATH (under candidates/ or policy/) into O's kind, candidate, key
 * and sub, in BUF; 1 for a path that is no object of its own. */
static int parse_path(const char *path, char *buf, size_t len, cr_ledger_object *o)
{
	char *part[10];
	size_t n = 0;

	if (snprintf(buf, len, "%s", path) >= (int)len)
		return cr_error_set(CR_EINTEGRITY, "ledger path too long: %.200s", path);
	for (char *save = NULL, *p = strtok_r(buf, "/", &save); p && n < 10; p = strtok_r(NULL, "/", &save))
		part[n++] = p;
	memset(o, 0, sizeof(*o));
	if (n == 2 && !strcmp(part[0], POLICY_ROOT)) {
		o->kind = CR_OBJ_AUDIT;
		o->key = part[1];
		goto strip;
	}
	if (n < 6 || strcmp(part[0], "candidates"))
		return 1;
	o->cid = part[4];
	if (n == 6 && !strcmp(part[5], "candidate.json")) {
		o->kind = CR_OBJ_CANDIDATE;
		o->key = o->cid;
		return 0;
	}
	if (n == 7) {
		static const struct { const char *dir; cr_objkind kind; } dirs[] = {
			{"events", CR_OBJ_AUDIT}, {"imports", CR_OBJ_IMPORT}, {"manifests", CR_OBJ_MANIFEST},
			{"reports", CR_OBJ_REPORT}, {"approvals", CR_OBJ_APPROVAL}, {"publications", CR_OBJ_PUBLICATION},
			{"revocations", CR_OBJ_REVOCATION},
		};
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			if (!strcmp(part[5], dirs[i].dir)) {
				o->kind = dirs[i].kind;
				o->key = part[6];
				goto strip;
			}
		return 1;
	}
	if (!strcmp(part[5], "runs") && (n == 8 || (n == 9 && !strcmp(part[7], "violations")))) {
		o->kind = n == 8 ? CR_OBJ_RUN_EVENT : CR_OBJ_VIOLATIONS;
		o->key = part[6];
		o->sub = part[n - 1];
		char *dot = strrchr(part[n - 1], '.');
		if (dot && !strcmp(dot, ".json"))
			*dot = '\0';
		return 0;
	}
	return 1;
strip:;
	char *dot = strrchr((char *)o->key, '.');
	if (dot && !strcmp(dot, ".json"))
		*dot = '\0';
	return 0;
}

int cr_gl_ledger_commit_objects(void *impl, const char *hex, cr_commit_info *info,
				int (*fn)(const cr_ledger_object *o, void *ctx), void *ctx)
{
	struct ledger *l = impl;
	git_commit *c = NULL, *parent = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	git_diff *diff = NULL;
	git_oid id;
	char *paths[] = {"candidates", POLICY_ROOT};
	git_diff_options opts;
	int rc;

	if ((rc = oid_of(hex, &id)) < 0)
		return rc;
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	if (git_commit_lookup(&c, l->repo, &id) < 0 || git_commit_tree(&tree, c) < 0 ||
	    (git_commit_parentcount(c) > 0 && (git_commit_parent(&parent, c, 0) < 0 || git_commit_tree(&ptree, parent) < 0))) {
		rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s cannot be read", hex);
		goto done;
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->message, sizeof(info->message), "%s", git_commit_message(c));
	snprintf(info->actor, sizeof(info->actor), "%s", git_commit_author(c)->name);
	opts.pathspec.strings = paths;
	opts.pathspec.count = 2;
	if (git_diff_tree_to_tree(&diff, l->repo, ptree, tree, &opts) < 0) {
		rc = cr_git_error("cannot read what a ledger commit adds");
		goto done;
	}
	for (size_t i = 0; i < git_diff_num_deltas(diff) && rc == 0; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		char buf[1024];
		cr_ledger_object o;
		if (d->status != GIT_DELTA_ADDED) {
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s changes %s: it is not append-only", hex,
					  d->new_file.path);
			break;
		}
		if ((rc = parse_path(d->new_file.path, buf, sizeof(buf), &o)) != 0) {
			rc = rc > 0 ? 0 : rc;
			continue;
		}
		char *data = NULL;
		size_t len = 0;
		if ((rc = cr_git_blob_read(l->repo, &d->new_file.id, &data, &len)) < 0) {
			rc = cr_error_set(CR_EINTEGRITY, "ledger entry %s is not a readable blob", d->new_file.path);
			break;
		}
		o.buf = data;
		o.len = len;
		rc = fn(&o, ctx);
		free(data);
	}
done:
	git_diff_free(diff);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	git_commit_free(c);
	return rc;
}
