#include "adapters/git/verify_internal.h"
#include "domain/codec.h"

/* ---- verify ----------------------------------------------------------- */

static const struct {
	const char *dir;    /* path component before the file */
	const char *schema; /* schemas/ file */
	const char *idfield;
} kinds[] = {
	{"imports", "import.schema.json", "import_id"},
	{"manifests", "manifest.schema.json", "manifest_id"},
	{"reports", "report.schema.json", "report_id"},
	{"approvals", "approval.schema.json", "approval_id"},
	{"publications", "publication.schema.json", "publication_id"},
	{"revocations", "publication.schema.json", "publication_id"},
	{"events", "audit-event.schema.json", "event_id"},
	{"violations", "violation-chunk.schema.json", NULL},
	{"runs", "run-event.schema.json", "run_id"},
	{"candidate.json", "candidate.schema.json", "candidate_id"},
};

static int vfail(struct vctx *v, const char *path, const char *why)
{
	v->rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s: %s", v->commit_hex, path, why);
	return -1;
}

/* Every object verify reads is hashed again against its id. Ordinary reads
 * skip that, as git's do, and libgit2's switch for it is process-wide, so
 * verify hashes for itself: the odb keeps what it read, and the lookup
 * that follows costs nothing more. */
static int rehash(struct vctx *v, const git_oid *id, const char *what)
{
	git_odb_object *o = NULL;
	git_oid got;
	int bad;

	if (git_odb_read(&o, v->odb, id) < 0)
		return vfail(v, what, "object missing");
	bad = git_odb_hash(&got, git_odb_object_data(o), git_odb_object_size(o), git_odb_object_type(o)) < 0 ||
	      !git_oid_equal(&got, id);
	git_odb_object_free(o);
	return bad ? vfail(v, what, "object does not hash to its id (its bytes were swapped)") : 0;
}

/* Check one added blob: canonical JSON, valid against its schema, and
 * stored under its own id. */
/* An object under its candidate (candidates/<f>/<f>/<f>/<cid>/<dir>/<id>.json,
 * …/runs/<run>/<event>.json, …/runs/<run>/violations/<n>.json) is the very
 * blob its id index holds (ids/… or audit/…): readers take either copy. */
static int check_twin(struct vctx *v, const char *path, const git_oid *id)
{
	char dup[1024], ipath[1024], why[1200], *part[9];
	git_tree_entry *e = NULL;
	int n = 0, rc = 0;

	if (strncmp(path, "candidates/", 11) || snprintf(dup, sizeof(dup), "%s", path) >= (int)sizeof(dup))
		return 0;
	for (char *save = NULL, *x = strtok_r(dup, "/", &save); x && n < 9; x = strtok_r(NULL, "/", &save))
		part[n++] = x;
	char *leaf = part[n - 1];
	size_t ll = strlen(leaf);
	if (n < 7 || ll <= 5 || strcmp(leaf + ll - 5, ".json"))
		return 0; /* candidate.json */
	leaf[ll - 5] = '\0';
	int got = 1;
	if (n == 8 && !strcmp(part[5], "runs")) /* runs/<run>/<event>.json */
		got = cr_git_ledger_path(ipath, sizeof(ipath), CR_OBJ_RUN_EVENT, NULL, part[6], leaf, 1);
	else if (n == 9 && !strcmp(part[5], "runs") && !strcmp(part[7], "violations"))
		got = cr_git_ledger_path(ipath, sizeof(ipath), CR_OBJ_VIOLATIONS, NULL, part[6], leaf, 1);
	else if (n == 7)
		for (int k = 0; k < CR_OBJ__COUNT && got; k++)
			if (k != CR_OBJ_RUN && cr_gl_candidate_dir[k] && !strcmp(part[5], cr_gl_candidate_dir[k]))
				got = cr_git_ledger_path(ipath, sizeof(ipath), (cr_objkind)k, NULL, leaf, NULL, 1);
	if (got != 0)
		return 0; /* no id path: verify_blob says what it is */
	if (git_tree_entry_bypath(&e, v->tree, ipath) < 0 || !git_oid_equal(git_tree_entry_id(e), id)) {
		snprintf(why, sizeof(why), "not the same object as %s holds", ipath);
		rc = vfail(v, path, why);
	}
	git_tree_entry_free(e);
	return rc;
}

static int verify_blob(struct vctx *v, const char *path, const git_oid *id)
{
	git_blob *b = NULL;
	cJSON *doc = NULL;
	char *canon = NULL;
	int which = -1, rc = 0;

	/* Pick the schema by the path's last directory component. */
	if (!strncmp(path, "audit/", 6) || !strncmp(path, POLICY_ROOT "/", sizeof(POLICY_ROOT))) {
		which = 6;
	} else if (!strncmp(path, ORDER_ROOT "/", sizeof(ORDER_ROOT))) {
		/* Checked against the candidate's own record at the tip. */
		which = 9;
	} else {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (!strcmp(base, "candidate.json")) {
			which = 9;
		} else {
			char dir[64] = "";
			const char *end = base - 1;
			const char *start = end;
			while (start > path && start[-1] != '/')
				start--;
			if (end > start && (size_t)(end - start) < sizeof(dir))
				memcpy(dir, start, (size_t)(end - start)), dir[end - start] = 0;
			for (int i = 0; i < 9; i++)
				if (!strcmp(dir, kinds[i].dir))
					which = i;
			if (which < 0 && strstr(path, "/runs/") && !strstr(path, "/violations/"))
				which = 8;
			if (which < 0 && !strncmp(path, "ids/run/", 8))
				which = strstr(path, "/violations/") ? 7 : 8;
			if (which < 0 && !strncmp(path, "ids/", 4)) {
				static const char *const ik[] = {"imp", "man", "rpt", "apr", "pub", "rev"};
				for (int i = 0; i < 6; i++)
					if (!strncmp(path + 4, ik[i], 3))
						which = i;
			}
		}
	}
	if (which < 0)
		return vfail(v, path, "not a path the ledger writes");
	if (rehash(v, id, path) < 0)
		return -1;
	if (git_blob_lookup(&b, v->l->repo, id) < 0)
		return vfail(v, path, "object missing");
	if (cr_json_parse(&doc, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), path) < 0) {
		rc = vfail(v, path, cr_error_last()->message);
		goto cleanup;
	}
	canon = cr_json_canonical(doc, NULL);
	if (!canon || strlen(canon) != (size_t)git_blob_rawsize(b) ||
	    memcmp(canon, git_blob_rawcontent(b), strlen(canon))) {
		rc = vfail(v, path, "not canonical JSON");
		goto cleanup;
	}
	if (!v->schemas[which] && cr_schema_load(&v->schemas[which], kinds[which].schema) < 0) {
		v->rc = cr_error_last()->code;
		rc = -1;
		goto cleanup;
	}
	if (cr_schema_validate(v->schemas[which], doc, "object") < 0) {
		rc = vfail(v, path, cr_error_last()->message);
		goto cleanup;
	}
	/* The object must sit under its own id. */
	if (kinds[which].idfield && which != 8) {
		const char *want = cr_json_str(doc, kinds[which].idfield);
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (which == 9 && !strncmp(path, ORDER_ROOT "/", sizeof(ORDER_ROOT))) {
			/* order_verify: the same blob as candidates/<f>/<cid>/candidate.json */
		} else if (which == 9) {
			v->candidates++;
			char *dup = strdup(path), *slash;
			if (dup && (slash = strrchr(dup, '/'))) {
				*slash = 0;
				const char *dirname = strrchr(dup, '/');
				dirname = dirname ? dirname + 1 : dup;
				if (!want || strcmp(dirname, want))
					rc = vfail(v, path, "candidate_id does not match its directory");
			}
			free(dup);
		} else if (!want || strncmp(base, want, strlen(want)) || strcmp(base + strlen(want), ".json")) {
			rc = vfail(v, path, "stored under a name that is not its id");
		}
	}
	/* policy/<evt>.json binds the policy ref: the very blob of its audit
	 * copy, a policy.publish of no candidate. */
	if (rc == 0 && !strncmp(path, POLICY_ROOT "/", sizeof(POLICY_ROOT))) {
		const char *type = cr_json_str(doc, "type"), *eid = cr_json_str(doc, "event_id");
		char apath[1024];
		git_tree_entry *e = NULL;
		if (!type || strcmp(type, "policy.publish") || cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "candidate_id")))
			rc = vfail(v, path, "not a policy.publish event of no candidate");
		else if (!eid || cr_git_ledger_path(apath, sizeof(apath), CR_OBJ_AUDIT, NULL, eid, NULL, 1) != 0 ||
			 git_tree_entry_bypath(&e, v->tree, apath) < 0 || !git_oid_equal(git_tree_entry_id(e), id))
			rc = vfail(v, path, "not the same event as the audit log holds");
		git_tree_entry_free(e);
	}
	if (rc == 0)
		rc = check_twin(v, path, id);
	if (rc == 0 && !strncmp(path, "audit/", 6)) {
		const char *t = cr_json_str(doc, "type"), *o = cr_json_str(doc, "outcome");
		const char *by = cr_json_str(cJSON_GetObjectItemCaseSensitive(doc, "details"), "signed_by");
		v->has_ev = true;
		snprintf(v->ev_type, sizeof(v->ev_type), "%s", t ? t : "");
		snprintf(v->ev_outcome, sizeof(v->ev_outcome), "%s", o ? o : "");
		snprintf(v->ev_signed_by, sizeof(v->ev_signed_by), "%s", by ? by : "");
		snprintf(v->ev_actor, sizeof(v->ev_actor), "%s", cr_json_str(doc, "actor") ? cr_json_str(doc, "actor") : "");
	}
	if (rc == 0 && (!strncmp(path, "audit/", 6) || !strncmp(path, "ids/", 4))) {
		/* Count ids for the counters check: each id once, by its index path. */
		const char *base = strrchr(path, '/');
		char idbuf[64];
		snprintf(idbuf, sizeof(idbuf), "%s", base ? base + 1 : path);
		char *dot = strstr(idbuf, ".json");
		if (dot)
			*dot = 0;
		int k = cr_id_kind(idbuf);
		if (!strncmp(path, "ids/rev/", 8))
			k = -1; /* a revocation reuses its publication's id */
		if (k >= 0) {
			uint64_t n = 0;
			cr_id_parse(idbuf, (cr_idkind)k, &n);
			v->added[k]++;
			if (n > v->maxid[k])
				v->maxid[k] = n;
		}
	}
	v->objects++;
cleanup:
	free(canon);
	cJSON_Delete(doc);
	git_blob_free(b);
	return rc;
}

/* Check an added blob, and collect the ids added under ids/run/<f>/<run>/
 * (run trees are added as a whole only on their first event). */
static int verify_added(struct vctx *v, const char *p, const git_oid *id)
{
	if (verify_blob(v, p, id) < 0)
		return -1;
	/* A run's first event adds its run directory: count the run id. */
	if (!strncmp(p, "ids/run/", 8) && strstr(p, "/requested.json")) {
		char runid[64];
		const char *end = strstr(p, "/requested.json");
		const char *start = end;
		while (start > p && start[-1] != '/')
			start--;
		if ((size_t)(end - start) < sizeof(runid)) {
			memcpy(runid, start, (size_t)(end - start));
			runid[end - start] = 0;
			uint64_t n;
			if (cr_id_parse(runid, CR_ID_RUN, &n)) {
				v->added[CR_ID_RUN]++;
				if (n > v->maxid[CR_ID_RUN])
					v->maxid[CR_ID_RUN] = n;
			}
		}
	}
	return 0;
}

static int lookup_tree(struct vctx *v, const git_oid *id, const char *path, git_tree **out)
{
	if (rehash(v, id, path) < 0)
		return -1;
	if (git_tree_lookup(out, v->l->repo, id) < 0)
		return vfail(v, path, "tree missing");
	return 0;
}

/* PATH + the first file under the removed entry O (a directory goes with
 * its last file), to name what was removed. */
static void removed_path(struct vctx *v, const git_tree_entry *o, char *path, size_t len, size_t cap)
{
	git_tree *t = NULL;

	snprintf(path + len, cap - len, "%s", git_tree_entry_name(o));
	while (git_tree_entry_type(o) == GIT_OBJECT_TREE && git_tree_lookup(&t, v->l->repo, git_tree_entry_id(o)) == 0 &&
	       git_tree_entrycount(t) > 0) {
		o = git_tree_entry_byindex(t, 0);
		len = strlen(path);
		snprintf(path + len, cap - len, "/%s", git_tree_entry_name(o));
		git_tree_free(t);
		t = NULL;
	}
	git_tree_free(t);
}

/* What NEW adds to OLD (NULL: nothing) under PATH (LEN bytes, PATH[LEN]
 * free): every added blob checked, anything removed or modified refused.
 * Subtrees with equal ids are skipped, as git diff-tree skips them, so the
 * walk costs what changed (libgit2's tree diff expands every tree). Each
 * new tree is hashed against its id before it is read. */
static int walk_added(struct vctx *v, git_tree *old, git_tree *new, char *path, size_t len, size_t cap)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && old && i < git_tree_entrycount(old); i++) {
		const git_tree_entry *o = git_tree_entry_byindex(old, i);
		if (!git_tree_entry_byname(new, git_tree_entry_name(o))) {
			removed_path(v, o, path, len, cap);
			rc = vfail(v, path, "removed (the ledger is append-only)");
		}
	}
	for (size_t i = 0; rc == 0 && i < git_tree_entrycount(new); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(new, i);
		const git_tree_entry *o = old ? git_tree_entry_byname(old, git_tree_entry_name(e)) : NULL;
		size_t n = len + strlen(git_tree_entry_name(e));

		if (n + 2 >= cap)
			return vfail(v, path, "path too long");
		memcpy(path + len, git_tree_entry_name(e), n - len + 1);
		if (o && git_oid_equal(git_tree_entry_id(o), git_tree_entry_id(e)) &&
		    git_tree_entry_filemode(o) == git_tree_entry_filemode(e))
			continue; /* unchanged */
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			git_tree *sub_new = NULL, *sub_old = NULL;
			if (o && git_tree_entry_type(o) != GIT_OBJECT_TREE)
				return vfail(v, path, "modified (the ledger is append-only)");
			if (lookup_tree(v, git_tree_entry_id(e), path, &sub_new) < 0)
				return -1;
			if (o && git_tree_lookup(&sub_old, v->l->repo, git_tree_entry_id(o)) < 0) {
				git_tree_free(sub_new);
				return vfail(v, path, "the tree it replaces is missing");
			}
			path[n] = '/';
			path[n + 1] = '\0';
			rc = walk_added(v, sub_old, sub_new, path, n + 1, cap);
			git_tree_free(sub_old);
			git_tree_free(sub_new);
		} else if (o) {
			rc = vfail(v, path, "modified (the ledger is append-only)");
		} else if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
			rc = vfail(v, path, "not a path the ledger writes");
		} else {
			rc = verify_added(v, path, git_tree_entry_id(e));
		}
	}
	path[len] = '\0';
	return rc;
}

/* The commit the range starts after (FROM), its counters, tree and order
 * index top; nothing when the walk starts at the root. */
struct vfrom {
	bool set;
	git_oid id;
	uint64_t counters[CR_ID__COUNT];
	git_tree *tree;
	uint64_t top;
};

static int from_open(struct ledger *l, const char *from, struct vfrom *f)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_commit *c = NULL;
	int rc;

	if ((rc = cr_git_resolve_commit(l->repo, from, hex, sizeof(hex))) < 0)
		return rc;
	git_oid_fromstr(&f->id, hex);
	if (git_commit_lookup(&c, l->repo, &f->id) < 0 || git_commit_tree(&f->tree, c) < 0) {
		git_commit_free(c);
		return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s cannot be read", hex);
	}
	cr_gl_parse_counters(git_commit_message(c), f->counters);
	git_commit_free(c);
	f->set = true;
	return cr_gl_order_top(l->repo, f->tree, &f->top);
}

/* Verify the commits after FROM (NULL: from the root) up to the tip. */
static int verify_walk(struct ledger *l, const char *from, uint64_t *ncommits, uint64_t *nobjects)
{
	git_oid oid;
	git_oid *chain = NULL;
	size_t n = 0, alloc = 0;
	struct vctx v = {.l = l};
	struct vfrom fr = {0};
	int rc = 0;

	*ncommits = *nobjects = 0;
	l->root_digest[0] = l->root_commit[0] = l->root_policy[0] = '\0';
	if (l->pinned)
		git_oid_cpy(&oid, &l->at);
	else
		rc = git_reference_name_to_id(&oid, l->repo, l->refs.ledger);
	if (rc == GIT_ENOTFOUND && !from)
		return 0;
	if (rc == GIT_ENOTFOUND)
		return cr_error_set(CR_EINTEGRITY, "the ledger is empty: the range from %.64s has no end", from);
	if (rc < 0)
		return cr_git_error("cannot read the ledger ref");
	if (from && (rc = from_open(l, from, &fr)) < 0)
		goto cleanup;
	if (fr.set && git_oid_equal(&fr.id, &oid))
		goto cleanup; /* an empty range */
	if (git_repository_odb(&v.odb, l->repo) < 0) {
		rc = cr_git_error("cannot open the object database");
		goto cleanup;
	}
	/* Collect the chain tip → FROM (or the root), then check the other way
	 * so the first bad commit is the oldest one. */
	for (;;) {
		git_commit *c = NULL;
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &oid);
		v.commit_hex = hex;
		if (git_commit_lookup(&c, l->repo, &oid) < 0) {
			if (git_repository_is_shallow(l->repo) == 1) {
				cr_error_set(CR_EINTEGRITY, "the ledger is incomplete: this clone is shallow "
							    "(ledger commit %.12s is not here)", hex);
				rc = cr_error_hint("fetch the whole history, then verify: git fetch --unshallow");
			} else {
				rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s is missing", hex);
			}
			goto cleanup;
		}
		if (rehash(&v, &oid, "the commit") < 0) {
			git_commit_free(c);
			rc = v.rc;
			goto cleanup;
		}
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			git_oid *nc = realloc(chain, alloc * sizeof(*nc));
			if (!nc) {
				git_commit_free(c);
				rc = cr_error_set(CR_EINTERNAL, "out of memory");
				goto cleanup;
			}
			chain = nc;
		}
		git_oid_cpy(&chain[n++], &oid);
		unsigned np = git_commit_parentcount(c);
		if (np > 1) {
			git_commit_free(c);
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s is a merge; the ledger is a linear chain", hex);
			goto cleanup;
		}
		if (np == 0 && fr.set) {
			char fhex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(fhex, sizeof(fhex), &fr.id);
			git_commit_free(c);
			rc = cr_error_set(CR_EINTEGRITY,
					  "ledger commit %.12s is not an ancestor of the tip: the ledger was rewound or rewritten",
					  fhex);
			goto cleanup;
		}
		if (np == 0) {
			git_commit_free(c);
			break;
		}
		git_oid_cpy(&oid, git_commit_parent_id(c, 0));
		git_commit_free(c);
		if (fr.set && git_oid_equal(&oid, &fr.id))
			break;
	}

	uint64_t prev[CR_ID__COUNT] = {0};
	if (fr.set)
		memcpy(prev, fr.counters, sizeof(prev));
	for (size_t i = n; i-- > 0;) {
		git_commit *c = NULL;
		git_tree *tree = NULL, *ptree = NULL;
		char hex[GIT_OID_HEXSZ + 1], path[1024] = "";
		uint64_t cur[CR_ID__COUNT];

		git_oid_tostr(hex, sizeof(hex), &chain[i]);
		v.commit_hex = hex;
		memset(v.added, 0, sizeof(v.added));
		memset(v.maxid, 0, sizeof(v.maxid));
		v.has_ev = false;
		if (git_commit_lookup(&c, l->repo, &chain[i]) < 0 || git_commit_tree(&tree, c) < 0) {
			git_commit_free(c);
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s cannot be read", hex);
			goto cleanup;
		}
		v.tree = tree;
		if (rehash(&v, git_tree_id(tree), "the tree") < 0) {
			git_tree_free(tree);
			git_commit_free(c);
			rc = v.rc;
			goto cleanup;
		}
		if (i + 1 < n) {
			git_commit *pc = NULL;
			if (git_commit_lookup(&pc, l->repo, &chain[i + 1]) == 0)
				git_commit_tree(&ptree, pc);
			git_commit_free(pc);
		} else if (fr.set) {
			git_tree_dup(&ptree, fr.tree);
		}
		v.rc = 0;
		rc = walk_added(&v, ptree, tree, path, 0, sizeof(path)) < 0 ? v.rc : 0;
		if (rc == 0)
			rc = cr_gl_verify_signature(&v, c, tree, ptree);
		cr_gl_parse_counters(git_commit_message(c), cur);
		for (int k = 0; rc == 0 && k < CR_ID__COUNT; k++) {
			if (cur[k] - prev[k] != v.added[k] || (v.added[k] && v.maxid[k] != cur[k]) || cur[k] < prev[k])
				rc = cr_error_set(CR_EINTEGRITY,
						  "ledger commit %.12s: counter %s=%" PRIu64 " does not match the %s ids it adds",
						  hex, cr_id_prefix((cr_idkind)k), cur[k], cr_id_prefix((cr_idkind)k));
		}
		memcpy(prev, cur, sizeof(prev));
		/* A range from a ledger without the index cannot count its
		 * candidates from the range: the index check counts the tree. */
		if (rc == 0 && i == 0)
			rc = cr_gl_order_verify(l->repo, tree, hex, fr.top,
						fr.set && !fr.top ? UINT64_MAX : v.candidates);
		git_tree_free(tree);
		git_tree_free(ptree);
		git_commit_free(c);
		if (rc < 0)
			goto cleanup;
		(*ncommits)++;
	}
	*nobjects = v.objects;
cleanup:
	git_tree_free(fr.tree);
	git_odb_free(v.odb);
	for (size_t i = 0; i < sizeof(v.schemas) / sizeof(v.schemas[0]); i++)
		cr_schema_free(v.schemas[i]);
	cr_policy_clear(&v.pol);
	free(chain);
	return rc;
}

/* The newest tip of the ledger's reflog (other than the current one, and
 * at most the 8 newest: each is a whole verify) whose history verifies,
 * into OUT. */
static bool good_tip(struct ledger *l, char *out, size_t len)
{
	git_reflog *log = NULL;
	git_oid cur;
	bool found = false;

	if (git_reflog_read(&log, l->repo, l->refs.ledger) < 0)
		return false;
	bool has_cur = git_reference_name_to_id(&cur, l->repo, l->refs.ledger) == 0;
	for (size_t i = 0; !found && i < git_reflog_entrycount(log) && i < 8; i++) {
		const git_oid *id = git_reflog_entry_id_new(git_reflog_entry_byindex(log, i));
		struct ledger at = *l;
		uint64_t c, o;
		if (git_oid_is_zero(id) || (has_cur && git_oid_equal(id, &cur)))
			continue;
		at.pinned = true;
		git_oid_cpy(&at.at, id);
		if (verify_walk(&at, NULL, &c, &o) == 0) {
			git_oid_tostr(out, len, id);
			found = true;
		}
	}
	git_reflog_free(log);
	return found;
}

int cr_gl_ledger_verify(void *impl, const char *from, uint64_t *ncommits, uint64_t *nobjects)
{
	struct ledger *l = impl;
	int rc = verify_walk(l, from, ncommits, nobjects);
	char good[GIT_OID_HEXSZ + 1];
	cr_error e;

	if (rc != CR_EINTEGRITY || l->pinned || cr_error_last()->hint[0])
		return rc;
	/* Name an earlier tip that verifies, for repair. */
	cr_error_save(&e);
	bool found = good_tip(l, good, sizeof(good));
	cr_error_restore(&e);
	if (found)
		cr_error_hint("the reflog's last tip that verifies is %.12s; restore it with: git clean-release repair --to %s",
			      good, good);
	return rc;
}


int cr_gl_ledger_repair(void *impl, const char *to, uint64_t *ncommits)
{
	struct ledger *l = impl, at;
	char hex[GIT_OID_HEXSZ + 1];
	git_oid want, tip;
	git_reflog *log = NULL;
	bool listed = false;
	uint64_t nobj = 0;
	int rc;

	*ncommits = 0;
	if ((rc = cr_gl_writable(l, "repair the ledger")) < 0)
		return rc;
	if ((rc = cr_git_resolve_commit(l->repo, to, hex, sizeof(hex))) < 0)
		return rc;
	git_oid_fromstr(&want, hex);
	if (git_reflog_read(&log, l->repo, l->refs.ledger) == 0) {
		for (size_t i = 0; !listed && i < git_reflog_entrycount(log); i++)
			listed = git_oid_equal(git_reflog_entry_id_new(git_reflog_entry_byindex(log, i)), &want);
		git_reflog_free(log);
	}
	if (!listed)
		return cr_error_set(CR_EINVALID_ARGUMENT, "%.12s was never a tip of %s (not in its reflog): repair restores "
							  "an earlier tip only", hex, l->refs.ledger);
	if (git_reference_name_to_id(&tip, l->repo, l->refs.ledger) < 0)
		return cr_git_error("cannot read the ledger ref");
	if (git_oid_equal(&tip, &want))
		return cr_error_set(CR_EINVALID_ARGUMENT, "the ledger is at %.12s already", hex);
	/* Only a ledger that does not verify is repaired: a whole one would
	 * lose evidence. */
	if (verify_walk(l, NULL, ncommits, &nobj) == 0) {
		cr_error_set(CR_EINVALID_ARGUMENT, "the ledger verifies: nothing to repair");
		return cr_error_hint("repair only restores a tip whose history is whole when the current one is not");
	}
	cr_error_clear();
	at = *l;
	at.pinned = true;
	git_oid_cpy(&at.at, &want);
	if ((rc = verify_walk(&at, NULL, ncommits, &nobj)) < 0)
		return cr_error_set(CR_EINTEGRITY, "%.12s does not verify either: %s", hex, cr_error_last()->message);
	if ((rc = cr_git_ref_cas(l->repo, l->refs.ledger, &want, &tip, "clean-release repair")) < 0)
		return rc;
	/* The reflog forgets the tips that are gone (git fsck reports them). */
	cr_git_reflog_forget(l->repo, l->refs.ledger, &want);
	cr_error_clear();
	return 0;
}
