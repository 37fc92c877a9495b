#include "adapters/git/ledger_internal.h"

/* ---- the list-order index --------------------------------------------- */

/*
 * order/<d>/<d>/<d>/<d>/<d>/<d>/<d>/<d>/<d>.json: the candidate records
 * again (the same blobs as candidates/<f>/<cid>/candidate.json), numbered
 * 1..N in registration order, nine decimal digits one per level (every tree
 * at most 10 entries). created_at never decreases along the numbers (a
 * register stamps at least the newest candidate's created_at), so the
 * candidate list's order (created_at descending, then candidate_id) is the
 * numbers read downwards with each run of one created_at sorted by id: a
 * page reads its own entries and one run, after a binary search for the
 * cursor's created_at. A ledger written before the index has no order/
 * tree; the first register after it writes the whole index (verify checks
 * it is complete from then on).
 */

struct order_key {
	char at[CR_TS_MAX];
	char id[CR_ID_MAX];
	git_oid blob;
};

static void order_path(char *buf, size_t len, uint64_t seq)
{
	char d[ORDER_DIGITS + 1];
	size_t k;

	snprintf(d, sizeof(d), "%0*" PRIu64, ORDER_DIGITS, seq);
	k = (size_t)snprintf(buf, len, "%s", ORDER_ROOT);
	for (int i = 0; i < ORDER_DIGITS && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "/%c", d[i]);
	if (k < len)
		snprintf(buf + k, len - k, ".json");
}

/* The highest number in the index of TREE (0: no index, or TREE NULL): the
 * largest digit at each level, one small tree each. */
int cr_gl_order_top(git_repository *repo, git_tree *tree, uint64_t *top)
{
	const git_tree_entry *e;
	git_tree *cur = NULL, *next = NULL;
	uint64_t n = 0;
	int rc = 0;

	*top = 0;
	if (!tree || !(e = git_tree_entry_byname(tree, ORDER_ROOT)))
		return 0;
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE || git_tree_lookup(&cur, repo, git_tree_entry_id(e)) < 0)
		return cr_error_set(CR_EINTEGRITY, "ledger entry %s is not a tree", ORDER_ROOT);
	for (int level = 0; level < ORDER_DIGITS; level++) {
		const git_tree_entry *best = NULL;
		for (size_t i = 0; i < git_tree_entrycount(cur); i++) {
			const git_tree_entry *x = git_tree_entry_byindex(cur, i);
			const char *name = git_tree_entry_name(x);
			if (name[0] >= '0' && name[0] <= '9' && (!best || name[0] > git_tree_entry_name(best)[0]))
				best = x;
		}
		if (!best) {
			rc = cr_error_set(CR_EINTEGRITY, "ledger order index: an empty tree at level %d", level + 1);
			break;
		}
		n = n * 10 + (uint64_t)(git_tree_entry_name(best)[0] - '0');
		if (level + 1 == ORDER_DIGITS)
			break;
		if (git_tree_entry_type(best) != GIT_OBJECT_TREE || git_tree_lookup(&next, repo, git_tree_entry_id(best)) < 0) {
			rc = cr_error_set(CR_EINTEGRITY, "ledger order index: level %d is not a tree", level + 2);
			break;
		}
		git_tree_free(cur);
		cur = next;
		next = NULL;
	}
	git_tree_free(cur);
	if (rc == 0)
		*top = n;
	return rc;
}

/* created_at and candidate_id of the candidate record BLOB. */
static int order_read_blob(git_repository *repo, const git_oid *blob, const char *path, struct order_key *k)
{
	git_blob *b = NULL;
	cJSON *doc = NULL;
	const char *at, *id;
	int rc = 0;

	if (git_blob_lookup(&b, repo, blob) < 0)
		return cr_error_set(CR_EINTEGRITY, "ledger entry %s: object missing", path);
	if (cr_json_parse(&doc, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), path) < 0) {
		rc = cr_error_set(CR_EINTEGRITY, "ledger entry %s is not valid JSON", path);
	} else if (!(at = cr_json_str(doc, "created_at")) || !(id = cr_json_str(doc, "candidate_id")) ||
		   strlen(at) >= sizeof(k->at) || strlen(id) >= sizeof(k->id)) {
		rc = cr_error_set(CR_EINTEGRITY, "ledger entry %s is not a candidate record", path);
	} else {
		memcpy(k->at, at, strlen(at) + 1);
		memcpy(k->id, id, strlen(id) + 1);
		git_oid_cpy(&k->blob, blob);
	}
	cJSON_Delete(doc);
	git_blob_free(b);
	return rc;
}

/* The key of index entry SEQ of TREE. */
static int order_key_at(git_repository *repo, git_tree *tree, uint64_t seq, struct order_key *k)
{
	char path[64];
	git_tree_entry *e = NULL;
	int rc;

	order_path(path, sizeof(path), seq);
	if (git_tree_entry_bypath(&e, tree, path) < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		git_tree_entry_free(e);
		return cr_error_set(CR_EINTEGRITY, "ledger order index: %s is missing", path);
	}
	rc = order_read_blob(repo, git_tree_entry_id(e), path, k);
	git_tree_entry_free(e);
	return rc;
}

/* Registration order for the index of a ledger written before it: the list
 * order reversed (created_at ascending, then candidate_id descending). */
static int order_backfill_cmp(const void *a, const void *b)
{
	const struct order_key *x = a, *y = b;
	int c = strcmp(x->at, y->at);
	return c ? c : strcmp(y->id, x->id);
}

/* Stage the index entries of every candidate of the snapshot, in the order
 * above; *N gets their count. */
static int order_backfill(cr_txn *t, uint64_t *n)
{
	cr_strlist ids = {0};
	struct order_key *k = NULL;
	char path[1024];
	int rc;

	*n = 0;
	if ((rc = cr_gl_list_fanout(t, "candidates", 1, &ids)) < 0 || ids.n == 0)
		goto cleanup;
	if (!(k = calloc(ids.n, sizeof(*k)))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < ids.n; i++) {
		git_tree_entry *e = NULL;
		if ((rc = cr_git_ledger_path(path, sizeof(path), CR_OBJ_CANDIDATE, NULL, ids.v[i], NULL, 0)) != 0)
			goto cleanup;
		if (cr_gl_entry_at(t, path, &e) < 0) {
			rc = cr_error_set(CR_EINTEGRITY, "ledger entry %s is missing", path);
			goto cleanup;
		}
		rc = order_read_blob(t->l->repo, git_tree_entry_id(e), path, &k[i]);
		git_tree_entry_free(e);
		if (rc < 0)
			goto cleanup;
	}
	qsort(k, ids.n, sizeof(*k), order_backfill_cmp);
	for (size_t i = 0; i < ids.n; i++) {
		order_path(path, sizeof(path), (uint64_t)i + 1);
		if ((rc = cr_gl_stage_path(t, path, &k[i].blob)) < 0)
			goto cleanup;
	}
	*n = ids.n;
cleanup:
	free(k);
	cr_strlist_clear(&ids);
	return rc;
}

/* A candidate record is being staged as blob ID: give it the next number. */
int cr_gl_order_append(cr_txn *t, const git_oid *id)
{
	char path[64];
	uint64_t top = 0;
	int rc = cr_gl_order_top(t->l->repo, t->tree, &top);

	if (rc == 0 && top == 0)
		rc = order_backfill(t, &top);
	if (rc < 0)
		return rc;
	order_path(path, sizeof(path), top + 1);
	return cr_gl_stage_path(t, path, id);
}

/* Without an index: 0 for an empty ledger, 1 for one written before the
 * index existed (it has candidates). */
static int order_missing(cr_txn *t)
{
	return t->tree && git_tree_entry_byname(t->tree, "candidates") ? 1 : 0;
}

static int order_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct order_key *)a)->id, ((const struct order_key *)b)->id);
}

int cr_gl_txn_list_newest(cr_txn *t, const char *after_at, const char *after_id, size_t max, cr_strlist *out)
{
	git_repository *repo = t->l->repo;
	struct order_key *run = NULL, k;
	size_t nrun = 0, arun = 0;
	uint64_t top = 0, s;
	int rc = cr_gl_order_top(repo, t->tree, &top);

	if (rc < 0)
		return rc;
	if (top == 0)
		return order_missing(t);
	s = top;
	if (after_at) {
		/* The highest number whose created_at is at most AFTER_AT. */
		uint64_t lo = 1, hi = top, found = 0;
		while (lo <= hi) {
			uint64_t mid = lo + (hi - lo) / 2;
			if ((rc = order_key_at(repo, t->tree, mid, &k)) < 0)
				return rc;
			if (strcmp(k.at, after_at) <= 0) {
				found = mid;
				lo = mid + 1;
			} else {
				hi = mid - 1;
			}
		}
		s = found;
	}
	/* Downwards, one run of equal created_at at a time, each sorted by id. */
	for (; rc == 0; s--) {
		bool end = s == 0;
		if (!end && (rc = order_key_at(repo, t->tree, s, &k)) < 0)
			break;
		if (!end && nrun && strcmp(k.at, run[0].at) > 0) {
			/* Not in created_at order: the index cannot say; the caller sorts. */
			rc = 1;
			break;
		}
		if (nrun && (end || strcmp(k.at, run[0].at) != 0)) {
			qsort(run, nrun, sizeof(*run), order_key_cmp);
			for (size_t i = 0; rc == 0 && i < nrun && out->n < max; i++)
				rc = cr_strlist_push(out, run[i].id);
			nrun = 0;
			if (rc < 0 || out->n >= max)
				break;
		}
		if (end)
			break;
		if (after_at && !strcmp(k.at, after_at) && strcmp(k.id, after_id) <= 0)
			continue;
		if (nrun == arun) {
			size_t na = arun ? arun * 2 : 64;
			struct order_key *nr = realloc(run, na * sizeof(*nr));
			if (!nr) {
				rc = cr_error_set(CR_EINTERNAL, "out of memory");
				break;
			}
			run = nr;
			arun = na;
		}
		run[nrun++] = k;
	}
	free(run);
	if (rc != 0) {
		for (size_t i = 0; i < out->n; i++)
			free(out->v[i]);
		out->n = 0;
	}
	return rc;
}

int cr_gl_txn_newest_created_at(cr_txn *t, char *out, size_t len)
{
	struct order_key k;
	uint64_t top = 0;
	int rc = cr_gl_order_top(t->l->repo, t->tree, &top);

	if (len)
		out[0] = '\0';
	if (rc < 0)
		return rc;
	if (top == 0)
		return order_missing(t);
	if ((rc = order_key_at(t->l->repo, t->tree, top, &k)) < 0)
		return rc;
	snprintf(out, len, "%s", k.at);
	return 0;
}

/* At the tip: the index, when there is one, numbers every candidate record
 * exactly once, 1..N without a gap, created_at never decreasing. */
/* The candidates of TREE, counted from its fan-out (a ledger whose range
 * starts before the index existed). */
static uint64_t count_candidates(git_repository *repo, git_tree *tree)
{
	static const char hexd[] = "0123456789abcdef";
	uint64_t n = 0;
	char path[32];

	for (int a = 0; a < 16; a++)
		for (int b = 0; b < 16; b++)
			for (int c = 0; c < 16; c++) {
				git_tree_entry *e = NULL;
				git_tree *sub = NULL;
				snprintf(path, sizeof(path), "candidates/%c/%c/%c", hexd[a], hexd[b], hexd[c]);
				if (git_tree_entry_bypath(&e, tree, path) < 0)
					continue;
				if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) == 0)
					n += git_tree_entrycount(sub);
				git_tree_free(sub);
				git_tree_entry_free(e);
			}
	return n;
}

int cr_gl_order_verify(git_repository *repo, git_tree *tree, const char *hex, uint64_t from, uint64_t added)
{
	uint64_t top = 0;
	char prev[CR_TS_MAX] = "", path[1024];
	git_tree_entry *e = NULL;
	int rc = cr_gl_order_top(repo, tree, &top);

	if (rc < 0)
		return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s", hex, cr_error_last()->message);
	if (top == 0)
		return 0;
	if (top < from)
		return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: the order index lost numbers", hex);
	if (from > 0) {
		struct order_key k;
		if ((rc = order_key_at(repo, tree, from, &k)) < 0)
			return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s", hex, cr_error_last()->message);
		memcpy(prev, k.at, sizeof(prev));
	}
	for (uint64_t s = from + 1; s <= top; s++) {
		struct order_key k;
		if ((rc = order_key_at(repo, tree, s, &k)) < 0)
			return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s", hex, cr_error_last()->message);
		order_path(path, sizeof(path), s);
		if (strcmp(k.at, prev) < 0)
			return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s: created_at before the one numbered before it",
					    hex, path);
		memcpy(prev, k.at, sizeof(prev));
		char cpath[1024];
		if (cr_git_ledger_path(cpath, sizeof(cpath), CR_OBJ_CANDIDATE, NULL, k.id, NULL, 0) != 0 ||
		    git_tree_entry_bypath(&e, tree, cpath) < 0 || git_oid_cmp(git_tree_entry_id(e), &k.blob) != 0) {
			git_tree_entry_free(e);
			return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s is not the record of candidate %s",
					    hex, path, k.id);
		}
		git_tree_entry_free(e);
		e = NULL;
	}
	/* As many new numbers as new candidates (each number names another:
	 * the records are distinct paths, each checked above). */
	if (added == UINT64_MAX) {
		from = 0;
		added = count_candidates(repo, tree);
	}
	if (top - from != added)
		return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: the order index numbers %" PRIu64
				    " candidates, the ledger holds %" PRIu64, hex, top, added + from);
	return 0;
}

/* The loose-object database of a forked child. The parent's handles are not
 * the child's to use: pack fds were closed (the pool's workers close every
 * fd they do not know) and may be reused for artifacts, and caches are a
 * copy. Writing a loose object needs none of them. */
