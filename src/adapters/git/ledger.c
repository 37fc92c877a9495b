/*
 * The evidence ledger as a chain of git commits on one ref.
 *
 * Layout of every ledger tree (docs/evidence-layout.md):
 *
 *   candidates/<f>/<cid>/candidate.json
 *   candidates/<f>/<cid>/{imports,manifests,reports,approvals,publications,revocations}/<id>.json
 *   candidates/<f>/<cid>/runs/<run>/{requested,started,stage-N,finished}.json
 *   candidates/<f>/<cid>/runs/<run>/violations/<chunk>.json
 *   candidates/<f>/<cid>/events/<evt>.json
 *   ids/<kind>/<f>/<id>.json       the same blob, found by id alone
 *   ids/run/<f>/<run>/…            the same run tree, found by run id alone
 *   audit/<f>/<evt>.json           the whole audit log
 *
 * <f> is a fixed three-level fan-out "a/b/c" from the first hex digits of
 * SHA-256(key): every tree on a path has at most 16 entries above the leaf,
 * so one append writes O(log n) small trees (git notes fan out the same way;
 * the fan-out is fixed from the first commit because paths never move).
 *
 * Counters (the last imp/man/run/… number) ride in each commit message as a
 * "Clean-Release-Counters:" trailer, so allocation reads one commit; verify
 * checks each trailer against the ids the commit adds.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <git2.h>
#include <git2/sys/odb_backend.h>
#include "adapters/git/git.h"
#include "domain/entities.h"
#include "domain/ids.h"
#include "util/error.h"
#include "util/json.h"
#include "util/schema.h"
#include "util/sha256.h"

#define COUNTERS_TRAILER "Clean-Release-Counters:"

struct ledger {
	git_repository *repo;
	cr_git_refs refs;
	pid_t owner;        /* the process that opened it */
	pid_t child;        /* the forked process child_odb belongs to */
	git_odb *child_odb; /* loose objects only: write_blob in a forked process */
};

struct staged {
	char *path;
	git_oid id;
};

struct cr_txn {
	struct ledger *l;
	int has_tip;
	git_oid tip;
	git_tree *tree; /* NULL for an empty ledger */
	uint64_t counters[CR_ID__COUNT];
	uint64_t next[CR_ID__COUNT];
	struct staged *st;
	size_t nst, ast;
};

/* ---- errors and repository ------------------------------------------- */

int cr_git_error(const char *what)
{
	const git_error *e = git_error_last();
	return cr_error_set(CR_ESTORAGE, "%s: %s", what, e && e->message ? e->message : "git error");
}

int cr_git_open(git_repository **out)
{
	if (git_repository_open_ext(out, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
		cr_error_set(CR_EINVALID_ARGUMENT, "not a git repository (or any of the parent directories)");
		cr_error_hint("run it inside a repository, or name one with -C DIR");
		return CR_EINVALID_ARGUMENT;
	}
	return 0;
}

int cr_git_session_open(git_repository **out, char *workdir, size_t wlen, char *statedir, size_t slen)
{
	static int ready;
	int rc;
	if (!ready) {
		git_libgit2_init();
		/* As git does, objects are not re-hashed on every read (a 2.7 MB
		 * manifest costs 8 ms more, and zlib's checksum still catches a
		 * damaged object); verify turns it on for its whole walk. */
		git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
		ready = 1;
	}
	if ((rc = cr_git_open(out)) < 0)
		return rc;
	const char *wd = git_repository_workdir(*out);
	snprintf(workdir, wlen, "%s", wd ? wd : git_repository_path(*out));
	snprintf(statedir, slen, "%s", git_repository_commondir(*out));
	return 0;
}

void cr_git_session_close(git_repository *repo)
{
	git_repository_free(repo);
}

int cr_git_config_email(git_repository *repo, char *out, size_t len)
{
	git_config *cfg = NULL;
	git_buf email = {0};
	int rc = -1;
	if (git_repository_config_snapshot(&cfg, repo) == 0)
		rc = git_config_get_string_buf(&email, cfg, "user.email");
	git_config_free(cfg);
	if (rc < 0 || !email.ptr || !email.ptr[0]) {
		git_buf_dispose(&email);
		return cr_error_set(CR_ENOT_FOUND, "git config user.email is not set");
	}
	snprintf(out, len, "%s", email.ptr);
	git_buf_dispose(&email);
	return 0;
}

/* A writer holds a ref's lock for milliseconds. A lock older than this was
 * left by a writer that was killed between taking it and renaming it (git
 * leaves one too after kill -9); removing it lets the ledger accept writes
 * again instead of refusing them forever. */
#define STALE_LOCK_SECONDS 5

static void clear_stale_lock(git_repository *repo, const char *name)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s%s.lock", git_repository_commondir(repo), name);
	if (stat(path, &st) == 0 && time(NULL) - st.st_mtime > STALE_LOCK_SECONDS)
		unlink(path);
}

int cr_git_ref_cas(git_repository *repo, const char *name, const git_oid *new_id, const git_oid *old,
		   const char *message)
{
	git_reference *ref = NULL;
	git_oid zero;
	memset(&zero, 0, sizeof(zero));
	/* With force=1 the expected value is compared under the lock; a zero
	 * expected id means "must not exist". */
	int rc = git_reference_create_matching(&ref, repo, name, new_id, 1, old ? old : &zero, message);
	git_reference_free(ref);
	if (rc == 0)
		return 0;
	if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS)
		return CR_ERETRY;
	/* libgit2 reports a held lock as GIT_ELOCKED or, at times, a generic
	 * error naming the lock. */
	const git_error *e = git_error_last();
	if (rc == GIT_ELOCKED || (e && e->message && (strstr(e->message, "lock") || strstr(e->message, "modified")))) {
		clear_stale_lock(repo, name);
		return CR_ERETRY;
	}
	return cr_git_error("cannot move the ref");
}

void cr_git_refs_for(cr_git_refs *r, const char *ns)
{
	snprintf(r->ledger, sizeof(r->ledger), "refs/%s/ledger", ns);
	snprintf(r->policy, sizeof(r->policy), "refs/%s/policy", ns);
	snprintf(r->notes, sizeof(r->notes), "refs/notes/%s", ns);
}

int cr_git_resolve_commit(git_repository *repo, const char *rev, char *hex, size_t hexlen)
{
	git_object *obj = NULL;
	if (!rev[0] || rev[0] == '-')
		return cr_error_set(CR_EINVALID_INPUT, "source snapshot \"%s\" is not a revision", rev);
	if (git_revparse_single(&obj, repo, rev) < 0) {
		cr_error_set(CR_EINVALID_INPUT, "source snapshot \"%s\" does not resolve to a commit", rev);
		return CR_EINVALID_INPUT;
	}
	git_object *commit = NULL;
	int rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return cr_error_set(CR_EINVALID_INPUT, "source snapshot \"%s\" does not resolve to a commit", rev);
	git_oid_tostr(hex, hexlen, git_object_id(commit));
	git_object_free(commit);
	return 0;
}

int cr_git_commit_exists(git_repository *repo, const char *hex)
{
	git_oid oid;
	git_commit *c = NULL;
	if (git_oid_fromstr(&oid, hex) < 0 || git_commit_lookup(&c, repo, &oid) < 0)
		return 0;
	git_commit_free(c);
	return 1;
}

/* ---- paths ------------------------------------------------------------ */

static void fanout(const char *key, char out[8])
{
	char h[65];
	cr_sha256_hex(key, strlen(key), h);
	snprintf(out, 8, "%c/%c/%c", h[0], h[1], h[2]);
}

static const char *const candidate_dir[CR_OBJ__COUNT] = {
	[CR_OBJ_IMPORT] = "imports",
	[CR_OBJ_MANIFEST] = "manifests",
	[CR_OBJ_RUN] = "runs",
	[CR_OBJ_REPORT] = "reports",
	[CR_OBJ_APPROVAL] = "approvals",
	[CR_OBJ_PUBLICATION] = "publications",
	[CR_OBJ_REVOCATION] = "revocations",
	[CR_OBJ_AUDIT] = "events",
};

static const char *const index_dir[CR_OBJ__COUNT] = {
	[CR_OBJ_IMPORT] = "imp",
	[CR_OBJ_MANIFEST] = "man",
	[CR_OBJ_RUN] = "run",
	[CR_OBJ_RUN_EVENT] = "run",
	[CR_OBJ_VIOLATIONS] = "run",
	[CR_OBJ_REPORT] = "rpt",
	[CR_OBJ_APPROVAL] = "apr",
	[CR_OBJ_PUBLICATION] = "pub",
	[CR_OBJ_REVOCATION] = "rev",
};

static int fits(int n, size_t len)
{
	if (n < 0 || (size_t)n >= len)
		return cr_error_set(CR_EINVALID_ARGUMENT, "ledger path too long");
	return 0;
}

/* INDEX 0: the path under the candidate; 1: the path found by id alone
 * (ids/… or audit/…). Returns 1 if the object has no such path. */
int cr_git_ledger_path(char *buf, size_t len, cr_objkind kind, const char *cid, const char *key,
		       const char *sub, int index)
{
	char f[8];
	int n;

	if (kind == CR_OBJ_CANDIDATE) {
		if (index)
			return 1;
		fanout(key, f);
		return fits(snprintf(buf, len, "candidates/%s/%s/candidate.json", f, key), len);
	}
	if (kind == CR_OBJ_AUDIT) {
		if (index) {
			fanout(key, f);
			return fits(snprintf(buf, len, "audit/%s/%s.json", f, key), len);
		}
		if (!cid || !cid[0])
			return 1;
		fanout(cid, f);
		return fits(snprintf(buf, len, "candidates/%s/%s/events/%s.json", f, cid, key), len);
	}
	if (index) {
		fanout(key, f);
		n = snprintf(buf, len, "ids/%s/%s/%s", index_dir[kind], f, key);
	} else {
		if (!cid)
			return 1;
		fanout(cid, f);
		n = snprintf(buf, len, "candidates/%s/%s/%s/%s", f, cid,
			     candidate_dir[kind == CR_OBJ_RUN_EVENT || kind == CR_OBJ_VIOLATIONS ? CR_OBJ_RUN : kind],
			     key);
	}
	if (fits(n, len) < 0)
		return -1;
	size_t used = (size_t)n;
	if (kind == CR_OBJ_RUN_EVENT)
		n = snprintf(buf + used, len - used, "/%s.json", sub);
	else if (kind == CR_OBJ_VIOLATIONS)
		n = snprintf(buf + used, len - used, "/violations/%s.json", sub);
	else if (kind == CR_OBJ_RUN)
		n = 0;
	else
		n = snprintf(buf + used, len - used, ".json");
	return fits(n, len - used);
}

/* ---- counters trailer ------------------------------------------------- */

static void parse_counters(const char *msg, uint64_t c[CR_ID__COUNT])
{
	memset(c, 0, sizeof(uint64_t) * CR_ID__COUNT);
	const char *p = msg ? strstr(msg, COUNTERS_TRAILER) : NULL;
	if (!p)
		return;
	p += strlen(COUNTERS_TRAILER);
	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		for (int k = 0; k < CR_ID__COUNT; k++) {
			const char *pre = cr_id_prefix((cr_idkind)k);
			size_t pl = strlen(pre);
			if (!strncmp(p, pre, pl) && p[pl] == '=') {
				char *end;
				c[k] = strtoull(p + pl + 1, &end, 10);
				p = end;
				break;
			}
		}
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
}

static void format_counters(char *buf, size_t len, const uint64_t c[CR_ID__COUNT])
{
	size_t used = (size_t)snprintf(buf, len, "%s", COUNTERS_TRAILER);
	for (int k = 0; k < CR_ID__COUNT && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used, " %s=%" PRIu64, cr_id_prefix((cr_idkind)k), c[k]);
}

/* ---- transactions ----------------------------------------------------- */

static int txn_begin(void *impl, cr_txn **out)
{
	struct ledger *l = impl;
	cr_txn *t = calloc(1, sizeof(*t));
	git_commit *c = NULL;
	int rc;

	if (!t)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	t->l = l;
	rc = git_reference_name_to_id(&t->tip, l->repo, l->refs.ledger);
	if (rc == GIT_ENOTFOUND) {
		*out = t;
		return 0;
	}
	if (rc < 0 || git_commit_lookup(&c, l->repo, &t->tip) < 0 || git_commit_tree(&t->tree, c) < 0) {
		git_commit_free(c);
		free(t);
		return cr_git_error("cannot read the ledger");
	}
	t->has_tip = 1;
	parse_counters(git_commit_message(c), t->counters);
	memcpy(t->next, t->counters, sizeof(t->next));
	git_commit_free(c);
	*out = t;
	return 0;
}

static void txn_end(cr_txn *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nst; i++)
		free(t->st[i].path);
	free(t->st);
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

static int entry_at(cr_txn *t, const char *path, git_tree_entry **out)
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
	rc = entry_at(t, path, e);
	if (rc == GIT_ENOTFOUND) {
		if (sub)
			return cr_error_set(CR_ENOT_FOUND, "%s %s/%s not found", kind_name(kind), key, sub);
		return cr_error_set(CR_ENOT_FOUND, "%s %s not found", kind_name(kind), key);
	}
	return rc < 0 ? cr_git_error("cannot read the ledger") : 0;
}

static int txn_get(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char **buf, size_t *len)
{
	char path[1024];
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	int rc = find_entry(t, kind, key, sub, path, sizeof(path), &e);
	if (rc < 0)
		return rc;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&b, t->l->repo, git_tree_entry_id(e)) < 0) {
		git_tree_entry_free(e);
		return cr_error_set(CR_EINTEGRITY, "ledger entry %s is not a readable blob", path);
	}
	git_tree_entry_free(e);
	size_t n = (size_t)git_blob_rawsize(b);
	char *p = malloc(n + 1);
	if (!p) {
		git_blob_free(b);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	memcpy(p, git_blob_rawcontent(b), n);
	p[n] = 0;
	git_blob_free(b);
	*buf = p;
	if (len)
		*len = n;
	return 0;
}

static int txn_ref_of(cr_txn *t, cr_objkind kind, const char *key, const char *sub, char *ref, size_t reflen)
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
	int rc = entry_at(t, path, &e);
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

/* Names in one tree, ".json" stripped; DIRS selects trees or blobs. */
static int list_tree(cr_txn *t, const char *path, int dirs, cr_strlist *out)
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
	git_tree_free(tree);
	return rc;
}

/* Every leaf name below a three-level fan-out directory. */
static int list_fanout(cr_txn *t, const char *root, int dirs, cr_strlist *out)
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

static int txn_list(cr_txn *t, cr_objkind kind, const char *owner, cr_strlist *out)
{
	char path[1024], f[8];
	int rc;

	if (kind == CR_OBJ_CANDIDATE) {
		rc = list_fanout(t, "candidates", 1, out);
		if (rc == 0 && out->n > 1)
			qsort(out->v, out->n, sizeof(char *), cmp_str);
		return rc;
	}
	if (kind == CR_OBJ_AUDIT && !owner) {
		rc = list_fanout(t, "audit", 0, out);
	} else if (kind == CR_OBJ_RUN_EVENT || kind == CR_OBJ_VIOLATIONS) {
		fanout(owner, f);
		snprintf(path, sizeof(path), "ids/run/%s/%s%s", f, owner,
			 kind == CR_OBJ_VIOLATIONS ? "/violations" : "");
		rc = list_tree(t, path, 0, out);
		if (rc == 0 && out->n > 1)
			qsort(out->v, out->n, sizeof(char *), cmp_str);
		return rc;
	} else {
		fanout(owner, f);
		snprintf(path, sizeof(path), "candidates/%s/%s/%s", f, owner, candidate_dir[kind]);
		rc = list_tree(t, path, kind == CR_OBJ_RUN, out);
	}
	if (rc == 0 && out->n > 1)
		qsort(out->v, out->n, sizeof(char *), cmp_num);
	return rc;
}

static uint64_t txn_counter(cr_txn *t, cr_idkind k)
{
	return t->counters[k];
}

static int txn_alloc(cr_txn *t, cr_idkind k, char *out, size_t outlen)
{
	t->next[k]++;
	cr_id_format(out, outlen, k, t->next[k]);
	return 0;
}

static int stage_path(cr_txn *t, const char *path, const git_oid *id)
{
	git_tree_entry *e = NULL;
	if (entry_at(t, path, &e) == 0) {
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

static int order_append(cr_txn *t, const git_oid *id);

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
		if ((rc = stage_path(t, path, id)) < 0)
			return rc;
	}
	return kind == CR_OBJ_CANDIDATE ? order_append(t, id) : 0;
}

static int txn_put(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
		   const char *buf, size_t len)
{
	git_oid id;

	/* Objects are written before the ref moves: a crash leaves only
	 * unreachable blobs behind. */
	if (git_blob_create_from_buffer(&id, t->l->repo, buf, len) < 0)
		return cr_git_error("cannot write a ledger object");
	return stage_object(t, kind, cid, key, sub, &id);
}

static int txn_put_ref(cr_txn *t, cr_objkind kind, const char *cid, const char *key, const char *sub,
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
#define ORDER_ROOT "order"
#define ORDER_DIGITS 9

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

/* The highest number in the index of TREE (0: no index): the largest
 * digit at each level, one small tree each. */
static int order_top(git_repository *repo, git_tree *tree, uint64_t *top)
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
	if ((rc = list_fanout(t, "candidates", 1, &ids)) < 0 || ids.n == 0)
		goto cleanup;
	if (!(k = calloc(ids.n, sizeof(*k)))) {
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < ids.n; i++) {
		git_tree_entry *e = NULL;
		if ((rc = cr_git_ledger_path(path, sizeof(path), CR_OBJ_CANDIDATE, NULL, ids.v[i], NULL, 0)) != 0)
			goto cleanup;
		if (entry_at(t, path, &e) < 0) {
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
		if ((rc = stage_path(t, path, &k[i].blob)) < 0)
			goto cleanup;
	}
	*n = ids.n;
cleanup:
	free(k);
	cr_strlist_clear(&ids);
	return rc;
}

/* A candidate record is being staged as blob ID: give it the next number. */
static int order_append(cr_txn *t, const git_oid *id)
{
	char path[64];
	uint64_t top = 0;
	int rc = order_top(t->l->repo, t->tree, &top);

	if (rc == 0 && top == 0)
		rc = order_backfill(t, &top);
	if (rc < 0)
		return rc;
	order_path(path, sizeof(path), top + 1);
	return stage_path(t, path, id);
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

static int txn_list_newest(cr_txn *t, const char *after_at, const char *after_id, size_t max, cr_strlist *out)
{
	git_repository *repo = t->l->repo;
	struct order_key *run = NULL, k;
	size_t nrun = 0, arun = 0;
	uint64_t top = 0, s;
	int rc = order_top(repo, t->tree, &top);

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

static int txn_newest_created_at(cr_txn *t, char *out, size_t len)
{
	struct order_key k;
	uint64_t top = 0;
	int rc = order_top(t->l->repo, t->tree, &top);

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
static int order_verify(git_repository *repo, git_tree *tree, const char *hex)
{
	uint64_t top = 0, ncand = 0;
	char prev[CR_TS_MAX] = "", path[1024];
	git_tree_entry *e = NULL;
	int rc = order_top(repo, tree, &top);

	if (rc < 0)
		return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: %s", hex, cr_error_last()->message);
	if (top == 0)
		return 0;
	for (uint64_t s = 1; s <= top; s++) {
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
	/* As many candidates as numbers (each number names another: the
	 * records are distinct paths, each checked above). */
	{
		static const char hexd[] = "0123456789abcdef";
		git_tree *sub = NULL;
		for (int a = 0; a < 16; a++)
			for (int b = 0; b < 16; b++)
				for (int c = 0; c < 16; c++) {
					snprintf(path, sizeof(path), "candidates/%c/%c/%c", hexd[a], hexd[b], hexd[c]);
					if (git_tree_entry_bypath(&e, tree, path) < 0)
						continue;
					if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) == 0)
						ncand += git_tree_entrycount(sub);
					git_tree_free(sub);
					sub = NULL;
					git_tree_entry_free(e);
					e = NULL;
				}
	}
	if (ncand != top)
		return cr_error_set(CR_EINTEGRITY, "ledger commit %.12s: the order index numbers %" PRIu64
				    " candidates, the ledger holds %" PRIu64, hex, top, ncand);
	return 0;
}

/* The loose-object database of a forked child. The parent's handles are not
 * the child's to use: pack fds were closed (the pool's workers close every
 * fd they do not know) and may be reused for artifacts, and caches are a
 * copy. Writing a loose object needs none of them. */
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

static int ledger_write_blob(void *impl, const char *buf, size_t len, char *ref, size_t reflen)
{
	struct ledger *l = impl;
	git_oid id;
	int rc;

	if (reflen < GIT_OID_HEXSZ + 1)
		return cr_error_set(CR_EINTERNAL, "object id buffer too small");
	if (getpid() == l->owner) {
		rc = git_blob_create_from_buffer(&id, l->repo, buf, len);
	} else {
		git_odb *odb = NULL;
		if ((rc = child_odb(l, &odb)) < 0)
			return rc;
		rc = git_odb_write(&id, odb, buf, len, GIT_OBJECT_BLOB);
	}
	if (rc < 0)
		return cr_git_error("cannot write a ledger object");
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

static int txn_commit(cr_txn *t, const char *message, const char *actor)
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
	}
	if (git_tree_create_updated(&tree_id, repo, base, t->nst, upd) < 0 ||
	    git_tree_lookup(&newtree, repo, &tree_id) < 0) {
		rc = cr_git_error("cannot write the ledger tree");
		goto cleanup;
	}

	char trailer[512];
	format_counters(trailer, sizeof(trailer), t->next);
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
	if (git_commit_create(&commit_id, repo, NULL, author, committer, NULL, msg, newtree,
			      parent ? 1 : 0, parents) < 0) {
		rc = cr_git_error("cannot write a ledger commit");
		goto cleanup;
	}
	/* The ref moves only forward, by compare-and-swap from the tip we read. */
	rc = cr_git_ref_cas(repo, t->l->refs.ledger, &commit_id, t->has_tip ? &t->tip : NULL, message);
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

/* ---- status notes ----------------------------------------------------- */

/* A note keeps at most this many candidate lines (a source commit that many
 * candidates were built from); the oldest lines go first. The note is a
 * convenience view: `candidate list` has them all. */
#define NOTE_MAX_LINES 64

/* The note text for OLDMSG with CID's line replaced by LINE (appended last),
 * malloc'd. */
static char *note_text(const char *oldmsg, size_t oldlen, const char *cid, const char *line)
{
	size_t plen = strlen(cid) + 2, cap = oldlen + strlen(line) + 2, used = 0, nlines = 0;
	const char *starts[NOTE_MAX_LINES + 1];
	size_t lens[NOTE_MAX_LINES + 1];
	char *text = malloc(cap + 1);

	if (!text)
		return NULL;
	/* Keep the other candidates' lines, the newest NOTE_MAX_LINES - 1. */
	for (const char *p = oldmsg, *end = oldmsg + oldlen; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && !(n >= plen && !strncmp(p, cid, plen - 2) && p[plen - 2] == ':' && p[plen - 1] == ' ')) {
			if (nlines == NOTE_MAX_LINES - 1) {
				memmove(starts, starts + 1, sizeof(starts[0]) * (nlines - 1));
				memmove(lens, lens + 1, sizeof(lens[0]) * (nlines - 1));
				nlines--;
			}
			starts[nlines] = p;
			lens[nlines++] = n;
		}
		p += n + 1;
	}
	for (size_t i = 0; i < nlines; i++) {
		memcpy(text + used, starts[i], lens[i]);
		used += lens[i];
		text[used++] = '\n';
	}
	used += (size_t)snprintf(text + used, cap + 1 - used, "%s\n", line);
	return text;
}

/* The status note of a commit lives at "ab/cdef…" (git's two-hex fan-out,
 * which libgit2 does not write by itself), so one update writes a few small
 * trees instead of one tree with an entry per noted commit. */
static int ledger_note(void *impl, const char *source_commit, const char *cid, const char *line)
{
	struct ledger *l = impl;
	git_repository *repo = l->repo;
	git_signature *sig = NULL;
	char fanned[GIT_OID_HEXSZ + 2];
	int rc = 0;

	if (strlen(source_commit) != GIT_OID_HEXSZ)
		return cr_error_set(CR_EINVALID_ARGUMENT, "bad source commit %s", source_commit);
	snprintf(fanned, sizeof(fanned), "%.2s/%s", source_commit, source_commit + 2);
	if (git_signature_now(&sig, "clean-release", "clean-release@localhost") < 0)
		return cr_git_error("cannot make a signature");

	for (int attempt = 0; attempt < 100; attempt++) {
		git_oid tip, blob, tree_id, commit_id;
		git_commit *parent = NULL;
		git_tree *base = NULL, *tree = NULL;
		git_tree_entry *old = NULL, *flat = NULL;
		git_blob *oldblob = NULL;
		char *text = NULL;
		int has_tip = git_reference_name_to_id(&tip, repo, l->refs.notes) == 0;

		rc = 0;
		if (has_tip) {
			if (git_commit_lookup(&parent, repo, &tip) < 0 || git_commit_tree(&base, parent) < 0)
				rc = cr_git_error("cannot read the notes");
		} else {
			git_treebuilder *tb = NULL;
			git_oid empty;
			if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&empty, tb) < 0 ||
			    git_tree_lookup(&base, repo, &empty) < 0)
				rc = cr_git_error("cannot write the notes");
			git_treebuilder_free(tb);
		}
		if (rc == 0) {
			/* A note git wrote without fan-out moves to the fanned path. */
			git_tree_entry_bypath(&flat, base, source_commit);
			git_tree_entry_bypath(&old, base, fanned);
			const git_tree_entry *from = old ? old : flat;
			if (from && git_blob_lookup(&oldblob, repo, git_tree_entry_id(from)) < 0)
				rc = cr_git_error("cannot read the status note");
		}
		if (rc == 0 && !(text = note_text(oldblob ? git_blob_rawcontent(oldblob) : NULL,
						  oldblob ? (size_t)git_blob_rawsize(oldblob) : 0, cid, line)))
			rc = cr_error_set(CR_EINTERNAL, "out of memory");
		if (rc == 0) {
			git_tree_update upd[2];
			size_t n = 0;
			memset(upd, 0, sizeof(upd));
			if (git_blob_create_from_buffer(&blob, repo, text, strlen(text)) < 0) {
				rc = cr_git_error("cannot write the status note");
			} else {
				upd[n].action = GIT_TREE_UPDATE_UPSERT;
				upd[n].id = blob;
				upd[n].filemode = GIT_FILEMODE_BLOB;
				upd[n++].path = fanned;
				if (flat) {
					upd[n].action = GIT_TREE_UPDATE_REMOVE;
					upd[n++].path = source_commit;
				}
				const git_commit *parents[1] = {parent};
				if (git_tree_create_updated(&tree_id, repo, base, n, upd) < 0 ||
				    git_tree_lookup(&tree, repo, &tree_id) < 0 ||
				    git_commit_create(&commit_id, repo, NULL, sig, sig, NULL, "clean-release: status note\n",
						      tree, parent ? 1 : 0, parents) < 0)
					rc = cr_git_error("cannot write the status note");
			}
		}
		if (rc == 0)
			rc = cr_git_ref_cas(repo, l->refs.notes, &commit_id, has_tip ? &tip : NULL,
					    "clean-release: status note");
		free(text);
		git_blob_free(oldblob);
		git_tree_entry_free(old);
		git_tree_entry_free(flat);
		git_tree_free(tree);
		git_tree_free(base);
		git_commit_free(parent);
		if (rc != CR_ERETRY)
			break;
		rc = cr_error_set(CR_ECONFLICT, "the status note kept moving; not updated");
		/* Up to ~8 s in all: longer than a stale lock takes to clear. */
		long ms = attempt < 50 ? 2L * (attempt + 1) : 100L;
		struct timespec ts = {0, ms * 1000000L};
		nanosleep(&ts, NULL);
	}
	git_signature_free(sig);
	return rc;
}

/* ---- verify ----------------------------------------------------------- */

struct vctx {
	struct ledger *l;
	cr_schema *schemas[16];
	const char *commit_hex;
	uint64_t added[CR_ID__COUNT];
	uint64_t maxid[CR_ID__COUNT];
	uint64_t objects;
	int rc;
};

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

/* Check one added blob: canonical JSON, valid against its schema, and
 * stored under its own id. */
static int verify_blob(struct vctx *v, const char *path, const git_oid *id)
{
	git_blob *b = NULL;
	cJSON *doc = NULL;
	char *canon = NULL;
	int which = -1, rc = 0;

	/* Pick the schema by the path's last directory component. */
	if (!strncmp(path, "audit/", 6)) {
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

/* Collect ids added under ids/run/<f>/<run>/ (run trees are added as a whole
 * only on their first event). */
static int verify_delta(const git_diff_delta *d, float progress, void *payload)
{
	struct vctx *v = payload;
	(void)progress;
	if (d->status != GIT_DELTA_ADDED) {
		const char *what = d->status == GIT_DELTA_DELETED ? "removed (the ledger is append-only)"
								 : "modified (the ledger is append-only)";
		return vfail(v, d->old_file.path, what);
	}
	if (verify_blob(v, d->new_file.path, &d->new_file.id) < 0)
		return -1;
	/* A run's first event adds its run directory: count the run id. */
	const char *p = d->new_file.path;
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

static int verify_walk(struct ledger *l, uint64_t *ncommits, uint64_t *nobjects)
{
	git_oid oid;
	git_oid *chain = NULL;
	size_t n = 0, alloc = 0;
	struct vctx v = {.l = l};
	int rc = git_reference_name_to_id(&oid, l->repo, l->refs.ledger);

	*ncommits = *nobjects = 0;
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return cr_git_error("cannot read the ledger ref");
	/* Collect the chain tip → root, then check root → tip so the first
	 * bad commit is the oldest one. */
	for (;;) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, l->repo, &oid) < 0) {
			char hex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(hex, sizeof(hex), &oid);
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s is missing", hex);
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
			char hex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(hex, sizeof(hex), &oid);
			git_commit_free(c);
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s is a merge; the ledger is a linear chain", hex);
			goto cleanup;
		}
		if (np == 0) {
			git_commit_free(c);
			break;
		}
		git_oid_cpy(&oid, git_commit_parent_id(c, 0));
		git_commit_free(c);
	}

	uint64_t prev[CR_ID__COUNT] = {0};
	for (size_t i = n; i-- > 0;) {
		git_commit *c = NULL;
		git_tree *tree = NULL, *ptree = NULL;
		git_diff *diff = NULL;
		char hex[GIT_OID_HEXSZ + 1];
		uint64_t cur[CR_ID__COUNT];

		git_oid_tostr(hex, sizeof(hex), &chain[i]);
		v.commit_hex = hex;
		memset(v.added, 0, sizeof(v.added));
		memset(v.maxid, 0, sizeof(v.maxid));
		if (git_commit_lookup(&c, l->repo, &chain[i]) < 0 || git_commit_tree(&tree, c) < 0) {
			git_commit_free(c);
			rc = cr_error_set(CR_EINTEGRITY, "ledger commit %.12s cannot be read", hex);
			goto cleanup;
		}
		if (i + 1 < n) {
			git_commit *pc = NULL;
			if (git_commit_lookup(&pc, l->repo, &chain[i + 1]) == 0)
				git_commit_tree(&ptree, pc);
			git_commit_free(pc);
		}
		git_diff_options opts;
		git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
		opts.flags |= GIT_DIFF_SKIP_BINARY_CHECK;
		rc = git_diff_tree_to_tree(&diff, l->repo, ptree, tree, &opts);
		if (rc == 0) {
			v.rc = 0;
			rc = git_diff_foreach(diff, verify_delta, NULL, NULL, NULL, &v);
			if (rc != 0)
				rc = v.rc ? v.rc : cr_git_error("cannot diff ledger commits");
		} else {
			rc = cr_git_error("cannot diff ledger commits");
		}
		parse_counters(git_commit_message(c), cur);
		for (int k = 0; rc == 0 && k < CR_ID__COUNT; k++) {
			if (cur[k] - prev[k] != v.added[k] || (v.added[k] && v.maxid[k] != cur[k]) || cur[k] < prev[k])
				rc = cr_error_set(CR_EINTEGRITY,
						  "ledger commit %.12s: counter %s=%" PRIu64 " does not match the %s ids it adds",
						  hex, cr_id_prefix((cr_idkind)k), cur[k], cr_id_prefix((cr_idkind)k));
		}
		memcpy(prev, cur, sizeof(prev));
		if (rc == 0 && i == 0)
			rc = order_verify(l->repo, tree, hex);
		git_diff_free(diff);
		git_tree_free(tree);
		git_tree_free(ptree);
		git_commit_free(c);
		if (rc < 0)
			goto cleanup;
		(*ncommits)++;
	}
	*nobjects = v.objects;
cleanup:
	for (size_t i = 0; i < sizeof(v.schemas) / sizeof(v.schemas[0]); i++)
		cr_schema_free(v.schemas[i]);
	free(chain);
	return rc;
}

/* Every object verify reads is hashed again against its id (ordinary
 * reads skip that, as git's do). The option is process-wide: it stays on
 * while any verify runs (a server may run two at once). */
static pthread_mutex_t strict_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned strict_users;

static void strict_hashing(bool on)
{
	pthread_mutex_lock(&strict_lock);
	if (on ? strict_users++ == 0 : --strict_users == 0)
		git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, on ? 1 : 0);
	pthread_mutex_unlock(&strict_lock);
}

static int ledger_verify(void *impl, uint64_t *ncommits, uint64_t *nobjects)
{
	int rc;

	strict_hashing(true);
	rc = verify_walk(impl, ncommits, nobjects);
	strict_hashing(false);
	return rc;
}

static int ledger_resolve(void *impl, const char *rev, char *hex, size_t hexlen)
{
	return cr_git_resolve_commit(((struct ledger *)impl)->repo, rev, hex, hexlen);
}

static int ledger_commit_exists(void *impl, const char *hex)
{
	return cr_git_commit_exists(((struct ledger *)impl)->repo, hex);
}

/* ---- open ------------------------------------------------------------- */

int cr_git_ledger_open(cr_ledger_port *out, git_repository *repo, const cr_git_refs *refs)
{
	struct ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	l->repo = repo;
	l->refs = *refs;
	l->owner = getpid();
	memset(out, 0, sizeof(*out));
	out->impl = l;
	out->begin = txn_begin;
	out->end = txn_end;
	out->get = txn_get;
	out->ref_of = txn_ref_of;
	out->list = txn_list;
	out->list_newest = txn_list_newest;
	out->newest_created_at = txn_newest_created_at;
	out->counter = txn_counter;
	out->alloc = txn_alloc;
	out->put = txn_put;
	out->put_ref = txn_put_ref;
	out->write_blob = ledger_write_blob;
	out->commit = txn_commit;
	out->note = ledger_note;
	out->verify = ledger_verify;
	out->resolve = ledger_resolve;
	out->commit_exists = ledger_commit_exists;
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
