/* Ledger transactions: a snapshot of the tip, reads, staging, one commit by compare-and-swap. */
#include "adapters/git/ledger_internal.h"

/* ---- transactions ----------------------------------------------------- */

int cr_gl_txn_begin(void *impl, cr_txn **out)
{
	struct ledger *l = impl;
	cr_txn *t = calloc(1, sizeof(*t));
	git_commit *c = NULL;
	int rc;

	if (!t)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	t->l = l;
	if (l->pinned) {
		git_oid_cpy(&t->tip, &l->at);
		rc = 0;
	} else {
		rc = git_reference_name_to_id(&t->tip, l->repo, l->refs.ledger);
	}
	if (rc == GIT_ENOTFOUND) {
		*out = t;
		return 0;
	}
	if (rc < 0 || git_commit_lookup(&c, l->repo, &t->tip) < 0 || git_commit_tree(&t->tree, c) < 0) {
		git_commit_free(c);
		free(t);
		rc = cr_git_error("cannot read the ledger");
		return cr_error_hint("git clean-release verify says what is wrong, and names an earlier tip to restore if one is needed");
	}
	t->has_tip = 1;
	cr_gl_parse_counters(git_commit_message(c), t->counters);
	memcpy(t->next, t->counters, sizeof(t->next));
	git_commit_free(c);
	*out = t;
	return 0;
}

void cr_gl_txn_end(cr_txn *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nst; i++)
		free(t->st[i].path);
	free(t->st);
	git_tree_free(t->listed);
	git_tree_free(t->tree);
	free(t);
}

static const char *kind_name(cr_objkind k)
{
	static const char *const n[CR_OBJ__COUNT] = {
		"candidate", "import", "manifest", "run", "run event", "violations",
		"report", "approval", "publication", "revocation", "audit event",
	};
	return n[k];
}

int cr_gl_entry_at(cr_txn *t, const char *path, git_tree_entry **out)
{
	if (!t->tree)
		return GIT_ENOTFOUND;
	return git_tree_entry_bypath(out, t->tree, path);
}

/* The tree entry of an object, found by id (its index path); PATH gets it. */
static int find_entry(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char *path, size_t plen,
		      git_tree_entry **e)
{
	int rc = cr_git_ledger_path(path, plen, kind, NULL, key, sub, kind != CR_OBJ_CANDIDATE);
	if (rc)
		return rc < 0 ? rc : cr_error_set(CR_EINTERNAL, "no index path for %s", kind_name(kind));
	if (t->listed && t->listed_kind == kind && !sub) {
		char name[512];
		const git_tree_entry *x;
		snprintf(name, sizeof(name), "%s.json", key);
		if ((x = git_tree_entry_byname(t->listed, name)) && git_tree_entry_type(x) == GIT_OBJECT_BLOB)
			return git_tree_entry_dup(e, x) < 0 ? cr_git_error("cannot read the ledger") : 0;
	}
	rc = cr_gl_entry_at(t, path, e);
	if (rc == GIT_ENOTFOUND) {
		if (sub)
			return cr_error_set(CR_ENOT_FOUND, "%s %s/%s not found", kind_name(kind), key, sub);
		return cr_error_set(CR_ENOT_FOUND, "%s %s not found", kind_name(kind), key);
	}
	return rc < 0 ? cr_git_error("cannot read the ledger") : 0;
}

int cr_gl_txn_get(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char **buf, size_t *len)
{
	char path[1024];
	git_tree_entry *e = NULL;
	int rc = find_entry(t, kind, key, sub, path, sizeof(path), &e);
	if (rc < 0)
		return rc;
	rc = git_tree_entry_type(e) == GIT_OBJECT_BLOB ? cr_git_blob_read(t->l->repo, git_tree_entry_id(e), buf, len)
						       : CR_ENOT_FOUND;
	git_tree_entry_free(e);
	if (rc == CR_ENOT_FOUND)
		return cr_error_set(CR_EINTEGRITY, "ledger entry %s is not a readable blob", path);
	return rc;
}

int cr_gl_txn_ref_of(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char *ref, size_t reflen)
{
	char path[1024];
	git_tree_entry *e = NULL;
	int rc;

	if (reflen < GIT_OID_HEXSZ + 1)
		return cr_error_set(CR_EINTERNAL, "object id buffer too small");
	if ((rc = find_entry(t, kind, key, sub, path, sizeof(path), &e)) < 0)
		return rc;
	git_oid_tostr(ref, reflen, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return 0;
}

static int lookup_tree(cr_txn *t, const char *path, git_tree **out)
{
	git_tree_entry *e = NULL;
	int rc = cr_gl_entry_at(t, path, &e);
	if (rc == GIT_ENOTFOUND)
		return 1;
	if (rc < 0)
		return cr_git_error("cannot read the ledger");
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		git_tree_entry_free(e);
		return cr_error_set(CR_EINTEGRITY, "ledger entry %s is not a tree", path);
	}
	rc = git_tree_lookup(out, t->l->repo, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return rc < 0 ? cr_git_error("cannot read the ledger") : 0;
}

/* Names in one tree, ".json" stripped; DIRS selects trees or blobs. KEEP
 * (may be NULL) gets the tree, when there is one. */
static int list_tree_keep(cr_txn *t, const char *path, int dirs, cr_strlist *out, git_tree **keep)
{
	git_tree *tree = NULL;
	int rc = lookup_tree(t, path, &tree);
	if (rc)
		return rc > 0 ? 0 : rc;
	for (size_t i = 0; i < git_tree_entrycount(tree); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		int is_dir = git_tree_entry_type(e) == GIT_OBJECT_TREE;
		if (is_dir != dirs)
			continue;
		char name[512];
		snprintf(name, sizeof(name), "%s", git_tree_entry_name(e));
		size_t n = strlen(name);
		if (!dirs && n > 5 && !strcmp(name + n - 5, ".json"))
			name[n - 5] = 0;
		if ((rc = cr_strlist_push(out, name)) < 0)
			break;
	}
	if (keep && rc == 0)
		*keep = tree;
	else
		git_tree_free(tree);
	return rc;
}

static int list_tree(cr_txn *t, const char *path, int dirs, cr_strlist *out)
{
	return list_tree_keep(t, path, dirs, out, NULL);
}

/* Every leaf name below a three-level fan-out directory. */
int cr_gl_list_fanout(cr_txn *t, const char *root, int dirs, cr_strlist *out)
{
	static const char hex[] = "0123456789abcdef";
	char path[256];
	git_tree *top = NULL;
	int rc = lookup_tree(t, root, &top);
	if (rc)
		return rc > 0 ? 0 : rc;
	git_tree_free(top);
	for (int a = 0; a < 16; a++)
		for (int b = 0; b < 16; b++)
			for (int c = 0; c < 16; c++) {
				snprintf(path, sizeof(path), "%s/%c/%c/%c", root, hex[a], hex[b], hex[c]);
				if ((rc = list_tree(t, path, dirs, out)) < 0)
					return rc;
			}
	return 0;
}

static uint64_t id_number(const char *s)
{
	const char *p = strrchr(s, '-');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

static int cmp_num(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	uint64_t nx = id_number(x), ny = id_number(y);
	return nx < ny ? -1 : nx > ny ? 1 : strcmp(x, y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cr_gl_txn_list(cr_txn *t, cr_objkind kind, const char *owner, cr_strlist *out)
{
	char path[1024], f[8];
	int rc;

	if (kind == CR_OBJ_CANDIDATE) {
		rc = cr_gl_list_fanout(t, "candidates", 1, out);
		if (rc == 0 && out->n > 1)
			qsort(out->v, out->n, sizeof(char *), cmp_str);
		return rc;
	}
	if (kind == CR_OBJ_AUDIT && owner && !owner[0]) {
		rc = list_tree(t, POLICY_ROOT, 0, out);
	} else if (kind == CR_OBJ_AUDIT && !owner) {
		rc = cr_gl_list_fanout(t, "audit", 0, out);
	} else if (kind == CR_OBJ_RUN_EVENT || kind == CR_OBJ_VIOLATIONS) {
		cr_gl_fanout(owner, f);
		snprintf(path, sizeof(path), "ids/run/%s/%s%s", f, owner,
			 kind == CR_OBJ_VIOLATIONS ? "/violations" : "");
		rc = list_tree(t, path, 0, out);
		if (rc == 0 && out->n > 1)
			qsort(out->v, out->n, sizeof(char *), cmp_str);
		return rc;
	} else {
		git_tree *dir = NULL;
		cr_gl_fanout(owner, f);
		snprintf(path, sizeof(path), "candidates/%s/%s/%s", f, owner, cr_gl_candidate_dir[kind]);
		rc = list_tree_keep(t, path, kind == CR_OBJ_RUN, out, &dir);
		if (dir) {
			git_tree_free(t->listed);
			t->listed = dir;
			t->listed_kind = kind;
		}
	}
	if (rc == 0 && out->n > 1)
		qsort(out->v, out->n, sizeof(char *), cmp_num);
	return rc;
}

uint64_t cr_gl_txn_counter(cr_txn *t, cr_idkind k)
{
	return t->counters[k];
}

int cr_gl_txn_alloc(cr_txn *t, cr_idkind k, char *out, size_t outlen)
{
	t->next[k]++;
	cr_id_format(out, outlen, k, t->next[k]);
	return 0;
}

int cr_gl_stage_path(cr_txn *t, const char *path, const git_oid *id)
{
	git_tree_entry *e = NULL;
	if (cr_gl_entry_at(t, path, &e) == 0) {
		git_tree_entry_free(e);
		return cr_error_set(CR_EINTEGRITY, "ledger entry %s exists; evidence is never replaced", path);
	}
	for (size_t i = 0; i < t->nst; i++)
		if (!strcmp(t->st[i].path, path))
			return cr_error_set(CR_EINTEGRITY, "ledger entry %s staged twice", path);
	if (t->nst == t->ast) {
		size_t na = t->ast ? t->ast * 2 : 8;
		struct staged *ns = realloc(t->st, na * sizeof(*ns));
		if (!ns)
			return cr_error_set(CR_EINTERNAL, "out of memory");
		t->st = ns;
		t->ast = na;
	}
	if (!(t->st[t->nst].path = strdup(path)))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	git_oid_cpy(&t->st[t->nst].id, id);
	t->nst++;
	return 0;
}


/* Stage blob ID at both of the object's paths (a candidate record also at
 * its number in the order index). */
static int stage_object(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
			const git_oid *id)
{
	char path[1024];
	int rc;

	for (int index = 0; index < 2; index++) {
		rc = cr_git_ledger_path(path, sizeof(path), kind, cid, key, sub, index);
		if (rc < 0)
			return rc;
		if (rc > 0)
			continue;
		if ((rc = cr_gl_stage_path(t, path, id)) < 0)
			return rc;
	}
	return kind == CR_OBJ_CANDIDATE ? cr_gl_order_append(t, id) : 0;
}

/* A blob written again when a concurrent prune removed its fan-out
 * directory under libgit2 (the rename then fails with ENOENT). */
static int blob_write(git_repository *repo, git_oid *id, const char *buf, size_t len)
{
	int rc = -1;
	for (int attempt = 0; attempt < 3 && rc < 0; attempt++)
		rc = git_blob_create_from_buffer(id, repo, buf, len);
	return rc;
}

int cr_gl_txn_put(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
		   const char *buf, size_t len)
{
	git_oid id;

	/* Objects are written before the ref moves: a crash leaves only
	 * unreachable blobs behind. */
	if (blob_write(t->l->repo, &id, buf, len) < 0)
		return cr_git_error("cannot write a ledger object");
	return stage_object(t, kind, cid, key, sub, &id);
}

int cr_gl_txn_put_ref(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
		       const char *ref)
{
	git_oid id;
	git_odb *odb = NULL;
	git_object_t type = GIT_OBJECT_INVALID;
	size_t size = 0;
	int rc;

	if (strlen(ref) != GIT_OID_HEXSZ || git_oid_fromstr(&id, ref) < 0)
		return cr_error_set(CR_EINTERNAL, "not an object id: \"%.64s\"", ref);
	if (git_repository_odb(&odb, t->l->repo) < 0)
		return cr_git_error("cannot open the object database");
	rc = git_odb_read_header(&size, &type, odb, &id);
	git_odb_free(odb);
	if (rc < 0 || type != GIT_OBJECT_BLOB)
		return cr_error_set(CR_EINTEGRITY, "ledger object %s (%s %s) is not a stored blob", ref, kind_name(kind),
				    key);
	return stage_object(t, kind, cid, key, sub, &id);
}


static int child_odb(struct ledger *l, git_odb **out)
{
	git_buf dir = GIT_BUF_INIT;
	git_odb_backend *loose = NULL;
	git_odb *odb = NULL;

	if (l->child_odb && l->child == getpid()) {
		*out = l->child_odb;
		return 0;
	}
	l->child_odb = NULL; /* a grandparent's: never freed by this process */
	if (git_repository_item_path(&dir, l->repo, GIT_REPOSITORY_ITEM_OBJECTS) < 0 || git_odb_new(&odb) < 0 ||
	    git_odb_backend_loose(&loose, dir.ptr, -1, 0, 0, 0) < 0 || git_odb_add_backend(odb, loose, 1) < 0) {
		int rc = cr_git_error("cannot open the object database");
		if (loose && odb && !git_odb_num_backends(odb))
			loose->free(loose);
		git_odb_free(odb);
		git_buf_dispose(&dir);
		return rc;
	}
	git_buf_dispose(&dir);
	l->child_odb = odb;
	l->child = getpid();
	*out = odb;
	return 0;
}

int cr_gl_ledger_write_blob(void *impl, const char *buf, size_t len, char *ref, size_t reflen)
{
	struct ledger *l = impl;
	git_oid id;
	int rc;

	if (reflen < GIT_OID_HEXSZ + 1)
		return cr_error_set(CR_EINTERNAL, "object id buffer too small");
	if ((rc = cr_gl_writable(l, "write a ledger object")) < 0)
		return rc;
	if (getpid() == l->owner) {
		rc = blob_write(l->repo, &id, buf, len);
	} else {
		git_odb *odb = NULL;
		if ((rc = child_odb(l, &odb)) < 0)
			return rc;
		rc = git_odb_write(&id, odb, buf, len, GIT_OBJECT_BLOB);
	}
	if (rc < 0)
		return cr_git_error("cannot write a ledger object");
	cr_git_share_object(l->repo, l->shared, &id);
	git_oid_tostr(ref, reflen, &id);
	return 0;
}

static int sanitize_sig(git_signature **out, const char *who)
{
	char name[300];
	size_t j = 0;
	for (const char *p = who; *p && j + 1 < sizeof(name); p++)
		name[j++] = (*p == '<' || *p == '>' || (unsigned char)*p < 0x20) ? '_' : *p;
	name[j] = 0;
	if (!j)
		snprintf(name, sizeof(name), "unknown");
	return git_signature_now(out, name, name);
}

bool cr_gl_in_store(git_odb *odb, const git_oid *id)
{
	for (size_t i = 0; i < git_odb_num_backends(odb); i++) {
		git_odb_backend *b = NULL;
		if (git_odb_get_backend(&b, odb, i) == 0 && b->exists && b->exists(b, id))
			return true;
	}
	return false;
}

/* The new commit, its trees and every staged object are in the store
 * (after the ref moved, reachable from then on). */
static bool objects_present(cr_txn *t, const git_oid *commit, git_tree *tree)
{
	git_odb *odb = NULL;
	char dir[1024];
	bool ok;

	if (git_repository_odb(&odb, t->l->repo) < 0)
		return true; /* cannot tell: nothing to undo */
	git_odb_refresh(odb);
	ok = cr_gl_in_store(odb, commit) && cr_gl_in_store(odb, git_tree_id(tree));
	for (size_t i = 0; ok && i < t->nst; i++) {
		ok = cr_gl_in_store(odb, &t->st[i].id);
		snprintf(dir, sizeof(dir), "%s", t->st[i].path);
		for (char *slash; ok && (slash = strrchr(dir, '/'));) {
			git_tree_entry *e = NULL;
			*slash = '\0';
			if (git_tree_entry_bypath(&e, tree, dir) == 0)
				ok = cr_gl_in_store(odb, git_tree_entry_id(e));
			git_tree_entry_free(e);
		}
	}
	git_odb_free(odb);
	return ok;
}

/* A shared repository (core.sharedRepository): what this commit wrote
 * gets git's permissions, so that the group can read and write after it. */
static void share_written(cr_txn *t, const git_oid *commit, git_tree *tree)
{
	struct ledger *l = t->l;
	char dir[1024];

	if (!l->shared)
		return;
	cr_git_share_object(l->repo, l->shared, commit);
	cr_git_share_object(l->repo, l->shared, git_tree_id(tree));
	for (size_t i = 0; i < t->nst; i++) {
		cr_git_share_object(l->repo, l->shared, &t->st[i].id);
		snprintf(dir, sizeof(dir), "%s", t->st[i].path);
		for (char *slash; (slash = strrchr(dir, '/'));) {
			git_tree_entry *e = NULL;
			*slash = '\0';
			if (git_tree_entry_bypath(&e, tree, dir) == 0)
				cr_git_share_object(l->repo, l->shared, git_tree_entry_id(e));
			git_tree_entry_free(e);
		}
	}
	cr_git_share_ref(l->repo, l->shared, l->refs.ledger);
}

int cr_gl_txn_commit(cr_txn *t, const char *message, const char *actor)
{
	git_repository *repo = t->l->repo;
	git_tree_update *upd = NULL;
	git_tree *base = NULL, *newtree = NULL;
	git_commit *parent = NULL;
	git_signature *author = NULL, *committer = NULL;
	git_oid tree_id, commit_id, empty_id;
	char *msg = NULL;
	int rc = 0;

	if (t->nst == 0)
		return 0;
	if ((rc = cr_gl_writable(t->l, "append to the ledger")) < 0)
		return rc;
	if (!(upd = calloc(t->nst, sizeof(*upd))))
		return cr_error_set(CR_EINTERNAL, "out of memory");
	for (size_t i = 0; i < t->nst; i++) {
		upd[i].action = GIT_TREE_UPDATE_UPSERT;
		upd[i].id = t->st[i].id;
		upd[i].filemode = GIT_FILEMODE_BLOB;
		upd[i].path = t->st[i].path;
	}
	if (t->tree) {
		base = t->tree;
	} else {
		git_treebuilder *tb = NULL;
		if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&empty_id, tb) < 0 ||
		    git_tree_lookup(&base, repo, &empty_id) < 0) {
			git_treebuilder_free(tb);
			rc = cr_git_error("cannot write the ledger");
			goto cleanup;
		}
		git_treebuilder_free(tb);
		cr_git_share_object(repo, t->l->shared, &empty_id);
	}
	if (git_tree_create_updated(&tree_id, repo, base, t->nst, upd) < 0 ||
	    git_tree_lookup(&newtree, repo, &tree_id) < 0) {
		rc = cr_git_error("cannot write the ledger tree");
		/* A staged object a concurrent prune took: write it all again. */
		git_odb *odb = NULL;
		if (git_repository_odb(&odb, repo) == 0) {
			git_odb_refresh(odb);
			for (size_t i = 0; i < t->nst && rc != CR_ERETRY; i++)
				if (!cr_gl_in_store(odb, &t->st[i].id))
					rc = CR_ERETRY;
			git_odb_free(odb);
		}
		goto cleanup;
	}

	char trailer[512];
	cr_gl_format_counters(trailer, sizeof(trailer), t->next);
	if (!message[0])
		message = "clean-release";
	size_t ml = strlen(message) + strlen(trailer) + 4;
	if (!(msg = malloc(ml))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	snprintf(msg, ml, "%s\n\n%s\n", message, trailer);

	if (sanitize_sig(&author, actor) < 0 ||
	    git_signature_now(&committer, "clean-release", "clean-release@localhost") < 0) {
		rc = cr_git_error("cannot make a signature");
		goto cleanup;
	}
	if (t->has_tip && git_commit_lookup(&parent, repo, &t->tip) < 0) {
		rc = cr_git_error("cannot read the ledger tip");
		goto cleanup;
	}
	const git_commit *parents[1] = {parent};
	if (t->sign || cr_git_sign_all(repo)) {
		/* Signed as git signs: the commit's bytes, then gpgsig. */
		git_buf content = {0};
		char *sig = NULL;
		if (git_commit_create_buffer(&content, repo, author, committer, NULL, msg, newtree, parent ? 1 : 0,
					     parents) < 0) {
			rc = cr_git_error("cannot write a ledger commit");
			goto cleanup;
		}
		rc = cr_git_sign_buffer(repo, content.ptr, content.size, &sig);
		if (rc == 0 && git_commit_create_with_signature(&commit_id, repo, content.ptr, sig, NULL) < 0)
			rc = cr_git_error("cannot write a signed ledger commit");
		git_buf_dispose(&content);
		free(sig);
		if (rc < 0)
			goto cleanup;
	} else if (git_commit_create(&commit_id, repo, NULL, author, committer, NULL, msg, newtree,
				     parent ? 1 : 0, parents) < 0) {
		rc = cr_git_error("cannot write a ledger commit");
		goto cleanup;
	}
	/* Detached (sync's replay): the chain grows, no ref moves. */
	if (t->l->detached) {
		git_oid_cpy(&t->l->at, &commit_id);
		share_written(t, &commit_id, newtree);
		goto cleanup;
	}
	/* The ref moves only forward, by compare-and-swap from the tip we read. */
	rc = cr_git_ref_cas(repo, t->l->refs.ledger, &commit_id, t->has_tip ? &t->tip : NULL, message);
	/* A prune running meanwhile (git prune --expire=now) may have taken
	 * the objects while they were not yet reachable: then the ref is put
	 * back and the whole transaction written again. */
	if (rc == 0 && !objects_present(t, &commit_id, newtree)) {
		int back = -1;
		if (t->has_tip) {
			back = cr_git_ref_cas(repo, t->l->refs.ledger, &t->tip, &commit_id, "clean-release: objects pruned, put back");
		} else {
			git_reference *ref = NULL;
			if (git_reference_lookup(&ref, repo, t->l->refs.ledger) == 0 && git_reference_target(ref) &&
			    git_oid_equal(git_reference_target(ref), &commit_id))
				back = git_reference_delete(ref);
			git_reference_free(ref);
		}
		/* The reflog forgets the tip that never was (git fsck would
		 * report it). */
		if (back == 0)
			cr_git_reflog_forget(repo, t->l->refs.ledger, NULL);
		rc = back == 0 ? CR_ERETRY : cr_error_set(CR_ESTORAGE, "ledger commit objects were pruned while it was written");
	}
	if (rc == 0)
		share_written(t, &commit_id, newtree);
cleanup:
	git_commit_free(parent);
	git_signature_free(author);
	git_signature_free(committer);
	git_tree_free(newtree);
	if (base != t->tree)
		git_tree_free(base);
	free(msg);
	free(upd);
	return rc;
}


/* The candidate directories (at fan-out DEPTH under candidates/) that
 * differ between OLD and NEW (either NULL: none): added, changed or gone.
 * Equal subtrees are skipped, so the walk costs what changed. */
static int changed_dirs(git_repository *repo, git_tree *old, git_tree *new, int depth, cr_strlist *out)
{
	int rc = 0;

	for (int side = 0; rc == 0 && side < 2; side++) {
		git_tree *a = side ? old : new, *b = side ? new : old;
		for (size_t i = 0; rc == 0 && a && i < git_tree_entrycount(a); i++) {
			const git_tree_entry *e = git_tree_entry_byindex(a, i);
			const git_tree_entry *o = b ? git_tree_entry_byname(b, git_tree_entry_name(e)) : NULL;
			git_tree *sa = NULL, *sb = NULL;

			/* Pairs present on both sides are walked from NEW's side. */
			if (o && (side || git_oid_equal(git_tree_entry_id(o), git_tree_entry_id(e))))
				continue;
			if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
				continue;
			if (depth == 3) { /* candidates/<a>/<b>/<c>/<candidate_id> */
				rc = cr_strlist_push(out, git_tree_entry_name(e));
				continue;
			}
			if (git_tree_lookup(&sa, repo, git_tree_entry_id(e)) < 0 ||
			    (o && git_tree_entry_type(o) == GIT_OBJECT_TREE &&
			     git_tree_lookup(&sb, repo, git_tree_entry_id(o)) < 0))
				rc = cr_git_error("cannot read the ledger");
			else
				rc = side ? changed_dirs(repo, sa, NULL, depth + 1, out)
					  : changed_dirs(repo, sb, sa, depth + 1, out);
			git_tree_free(sa);
			git_tree_free(sb);
		}
	}
	return rc;
}

int cr_gl_txn_changed_since(cr_txn *t, const char *token, cr_strlist *out, char *token_out, size_t len)
{
	git_repository *repo = t->l->repo;
	const git_tree_entry *e = t->tree ? git_tree_entry_byname(t->tree, "candidates") : NULL;
	git_tree *old = NULL, *new = NULL;
	git_oid id;
	int rc = 0;

	if (len < GIT_OID_HEXSZ + 1)
		return cr_error_set(CR_EINTERNAL, "token buffer too small");
	token_out[0] = '\0';
	if (token && *token && (git_oid_fromstr(&id, token) < 0 || git_tree_lookup(&old, repo, &id) < 0))
		return cr_error_set(CR_ENOT_FOUND, "the ledger has no candidates tree %.64s", token);
	if (e) {
		git_oid_tostr(token_out, len, git_tree_entry_id(e));
		if (git_tree_lookup(&new, repo, git_tree_entry_id(e)) < 0)
			rc = cr_git_error("cannot read the ledger");
		else
			rc = changed_dirs(repo, old, new, 0, out);
	}
	git_tree_free(old);
	git_tree_free(new);
	return rc;
}
