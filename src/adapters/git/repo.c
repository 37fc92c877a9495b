/* The repository, libgit2 errors, config, and compare-and-swap of refs. */
#include "adapters/git/ledger_internal.h"

/* ---- errors and repository ------------------------------------------- */

int cr_git_error(const char *what)
{
	const git_error *e = git_error_last();
	return cr_error_set(CR_ESTORAGE, "%s: %s", what, e && e->message ? e->message : "git error");
}

/* The repository that the directory START or one of its parents holds
 * (a ".git", or START itself when it is a git dir), for messages: its
 * path into OUT and its owner into *UID. false when there is none. */
static bool find_repo_dir(const char *start, char *out, size_t len, uid_t *uid)
{
	char dir[4096], probe[4200];
	struct stat st;

	if (!realpath(start, dir))
		return false;
	for (;;) {
		snprintf(probe, sizeof(probe), "%s/.git", dir);
		if (stat(probe, &st) == 0 ||
		    (snprintf(probe, sizeof(probe), "%s/HEAD", dir), stat(probe, &st) == 0 &&
		     (snprintf(probe, sizeof(probe), "%s/objects", dir), stat(probe, &st) == 0))) {
			snprintf(out, len, "%s", dir);
			snprintf(probe, sizeof(probe), "%s/.git", dir);
			*uid = stat(probe, &st) == 0 ? st.st_uid : (stat(dir, &st) == 0 ? st.st_uid : 0);
			return true;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return false;
		*slash = '\0';
	}
}

/* Why the repository did not open, in words a user can act on. */
static int open_failed(const char *path, int rc)
{
	const git_error *e = git_error_last();
	const char *m = e && e->message ? e->message : "cannot open it";
	const char *start = path ? path : getenv("GIT_DIR") ? getenv("GIT_DIR") : ".";
	char repo[4096];
	uid_t owner = 0;

	if (strstr(m, "objectformat")) {
		cr_error_set(CR_EINVALID_ARGUMENT, "the repository uses SHA-256 object names (extensions.objectFormat), "
						   "which this build's libgit2 cannot read");
		return cr_error_hint("use a repository with SHA-1 object names");
	}
	if (find_repo_dir(start, repo, sizeof(repo), &owner) && owner != geteuid()) {
		cr_error_set(CR_EINVALID_ARGUMENT, "the repository %.1024s is owned by another user (uid %ld), which libgit2 refuses",
			     repo, (long)owner);
		return cr_error_hint("trust it by name (this libgit2 does not honour safe.directory=*): "
				     "git config --global --add safe.directory %.1024s", repo);
	}
	if (rc == GIT_ENOTFOUND) {
		if (path)
			return cr_error_set(CR_EINVALID_ARGUMENT, "not a git repository: %.1024s", path);
		cr_error_set(CR_EINVALID_ARGUMENT, "not a git repository (or any of the parent directories)");
		return cr_error_hint("run it inside a repository, or name one with -C DIR");
	}
	return cr_error_set(CR_EINVALID_ARGUMENT, "cannot open the repository %.1024s: %s", start, m);
}

/* The object directories of the environment (GIT_OBJECT_DIRECTORY,
 * GIT_ALTERNATE_OBJECT_DIRECTORIES), as GIT_REPOSITORY_OPEN_FROM_ENV would
 * honour them, for an open that cannot use it. */
static int env_objects(git_repository *repo)
{
	const char *od = getenv("GIT_OBJECT_DIRECTORY"), *alt = getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES");
	git_odb *odb = NULL;
	int rc = 0;

	if (od) {
		if (git_odb_open(&odb, od) < 0)
			return cr_git_error("cannot open GIT_OBJECT_DIRECTORY");
		git_repository_set_odb(repo, odb);
		git_odb_free(odb);
		odb = NULL;
	}
	if (alt && *alt && git_repository_odb(&odb, repo) == 0) {
		char *list = strdup(alt), *save = NULL;
		for (char *p = list ? strtok_r(list, ":", &save) : NULL; p && rc == 0; p = strtok_r(NULL, ":", &save))
			if (git_odb_add_disk_alternate(odb, p) < 0)
				rc = cr_git_error("cannot add an alternate object directory");
		free(list);
		git_odb_free(odb);
	}
	return rc;
}

int cr_git_open(git_repository **out, const char *path)
{
	int rc;

	*out = NULL;
	if (!getenv("GIT_WORK_TREE") && !getenv("GIT_COMMON_DIR")) {
		rc = git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
		if (rc < 0)
			return open_failed(path, rc);
		goto config;
	}
	/* libgit2 1.5 refuses GIT_WORK_TREE with OPEN_FROM_ENV; the tool needs
	 * no work tree, so the repository is found as git would find it and
	 * the work tree left alone. */
	const char *gd = path ? NULL : getenv("GIT_DIR");
	rc = git_repository_open_ext(out, path ? path : gd ? gd : ".", gd ? GIT_REPOSITORY_OPEN_NO_SEARCH : 0,
				     getenv("GIT_CEILING_DIRECTORIES"));
	if (rc < 0)
		return open_failed(path, rc);
	if ((rc = env_objects(*out)) < 0)
		goto fail;
config:
	if ((rc = cr_git_config_env(*out)) < 0)
		goto fail;
	return 0;
fail:
	git_repository_free(*out);
	*out = NULL;
	return rc;
}

/* The system's CA bundle, which Debian's libgit2 (built on mbedTLS) parses
 * in git_libgit2_init for its HTTPS transport: ~5 ms of every process, more
 * than a page of the candidate list costs (docs/benchmarks.md). clean-release
 * never uses libgit2's transports (fetch and push run git itself), so this
 * definition, which the program's own symbol comes before the library's in
 * the dynamic linker's lookup, parses nothing and loads no certificate. Should
 * a libgit2 transport ever be used, it fails closed: with no certificate to
 * trust, no TLS peer verifies. With a libgit2 built on OpenSSL it is never
 * called. docs/design.md, "Process start". */
struct mbedtls_x509_crt;
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path);
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}

/* libgit2 is set up once per process, by whichever thread opens first; it
 * is never shut down (a handle may be opened again at any time). */
static pthread_once_t libgit2_once = PTHREAD_ONCE_INIT;

static void libgit2_setup(void)
{
	git_libgit2_init();
	/* As git does, objects are not re-hashed on every read (a 2.7 MB
	 * manifest costs 8 ms more, and zlib's checksum still catches a
	 * damaged object); verify hashes what it reads for itself. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	/* The evidence is small JSON blobs, read again and again by a
	 * long-lived process (the server): keep those up to 16 KiB in
	 * libgit2's object cache (by default it keeps no blob), and the whole
	 * cache, for every repository of the process, within 8 MiB (by
	 * default 256 MiB). */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_BLOB, (size_t)16 * 1024);
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)8 * 1024 * 1024);
}

int cr_git_session_open(git_repository **out, const char *path, char *workdir, size_t wlen, char *statedir,
			size_t slen)
{
	int rc;
	pthread_once(&libgit2_once, libgit2_setup);
	if ((rc = cr_git_open(out, path)) < 0)
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

int cr_git_ref_tip(git_repository *repo, const char *ref, char *out)
{
	git_oid id;
	int rc = git_reference_name_to_id(&id, repo, ref);

	out[0] = '\0';
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return cr_git_error("cannot read the ledger ref");
	git_oid_tostr(out, GIT_OID_HEXSZ + 1, &id);
	return 0;
}

bool cr_git_is_bare(git_repository *repo) { return git_repository_is_bare(repo) != 0; }

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

int cr_git_blob_read(git_repository *repo, const git_oid *id, char **buf, size_t *len)
{
	git_blob *b = NULL;
	size_t n;
	char *p;

	if (git_blob_lookup(&b, repo, id) < 0)
		return CR_ENOT_FOUND;
	n = (size_t)git_blob_rawsize(b);
	if (!(p = malloc(n + 1))) {
		git_blob_free(b);
		return cr_error_set(CR_EINTERNAL, "out of memory");
	}
	memcpy(p, git_blob_rawcontent(b), n);
	p[n] = '\0';
	git_blob_free(b);
	*buf = p;
	if (len)
		*len = n;
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
	/* Every move is kept in the ref's reflog, as git keeps branches':
	 * an earlier tip can be named and restored (repair). */
	git_reference_ensure_log(repo, name);
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
		return cr_error_set(CR_EINVALID_INPUT, "\"%.200s\" is not a revision", rev);
	if (git_revparse_single(&obj, repo, rev) < 0) {
		return cr_error_set(CR_EINVALID_INPUT, "\"%.200s\" does not resolve to a commit", rev);
	}
	git_object *commit = NULL;
	int rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return cr_error_set(CR_EINVALID_INPUT, "\"%.200s\" does not resolve to a commit", rev);
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


/* A commit whose object and tree are in the store (a prune may have taken
 * either while it was written). */
static bool readable_commit(git_repository *repo, git_odb *odb, const git_oid *id)
{
	git_commit *c = NULL;
	bool ok = cr_gl_in_store(odb, id) && git_commit_lookup(&c, repo, id) == 0 &&
		  cr_gl_in_store(odb, git_commit_tree_id(c));
	git_commit_free(c);
	return ok;
}

void cr_git_reflog_forget(git_repository *repo, const char *ref, const git_oid *newest_kept)
{
	git_reflog *log = NULL;
	git_odb *odb = NULL;

	if (git_reflog_read(&log, repo, ref) < 0 || git_repository_odb(&odb, repo) < 0)
		goto done;
	git_odb_refresh(odb);
	/* Entries are newest first: the tips after NEWEST_KEPT went with it. */
	size_t keep_from = 0;
	if (newest_kept)
		for (size_t i = 1; i < git_reflog_entrycount(log); i++)
			if (git_oid_equal(git_reflog_entry_id_new(git_reflog_entry_byindex(log, i)), newest_kept)) {
				keep_from = i;
				break;
			}
	for (size_t i = git_reflog_entrycount(log); i-- > 0;) {
		const git_oid *id = git_reflog_entry_id_new(git_reflog_entry_byindex(log, i));
		bool gone = (i > 0 && i < keep_from) || (!git_oid_is_zero(id) && !readable_commit(repo, odb, id));
		if (gone)
			git_reflog_drop(log, i, 1);
	}
	git_reflog_write(log);
done:
	git_odb_free(odb);
	git_reflog_free(log);
	cr_error_clear();
}

int cr_git_shared(git_repository *repo)
{
	git_config *cfg = NULL;
	git_buf v = {0};
	int shared = 0;

	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_string_buf(&v, cfg, "core.sharedrepository") == 0 && v.ptr) {
		const char *s = v.ptr;
		if (!strcasecmp(s, "group") || !strcasecmp(s, "true") || !strcmp(s, "1"))
			shared = CR_FS_SHARED_GROUP;
		else if (!strcasecmp(s, "all") || !strcasecmp(s, "world") || !strcasecmp(s, "everybody") || !strcmp(s, "2"))
			shared = CR_FS_SHARED_ALL;
		else if (s[0] == '0' && s[1]) {
			char *end = NULL;
			long m = strtol(s, &end, 8);
			if (end && !*end && (m & 0600) == 0600)
				shared = (int)(m & 0666);
		}
	}
	git_buf_dispose(&v);
	git_config_free(cfg);
	cr_error_clear();
	return shared;
}

void cr_git_share_object(git_repository *repo, int shared, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], path[4200];

	if (!shared)
		return;
	git_oid_tostr(hex, sizeof(hex), id);
	snprintf(path, sizeof(path), "%sobjects/%.2s", git_repository_commondir(repo), hex);
	cr_fs_share(path, shared);
	snprintf(path, sizeof(path), "%sobjects/%.2s/%s", git_repository_commondir(repo), hex, hex + 2);
	cr_fs_share(path, shared);
}

void cr_git_share_ref(git_repository *repo, int shared, const char *ref)
{
	char path[4200];
	const char *common = git_repository_commondir(repo);

	if (!shared)
		return;
	snprintf(path, sizeof(path), "%s%s", common, ref);
	cr_fs_share_up(path, common, shared);
	snprintf(path, sizeof(path), "%slogs/%s", common, ref);
	cr_fs_share_up(path, common, shared);
}

int cr_git_hooks_dir(git_repository *repo, char *out, size_t len)
{
	git_config *cfg = NULL;
	git_buf b = {0};
	int rc = 0;

	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_path(&b, cfg, "core.hookspath") == 0 && b.ptr && b.ptr[0]) {
		/* Relative to where git runs hooks: the work tree, or the git dir when bare. */
		const char *base = git_repository_workdir(repo) ? git_repository_workdir(repo) : git_repository_path(repo);
		if (b.ptr[0] == '/')
			snprintf(out, len, "%s", b.ptr);
		else
			snprintf(out, len, "%s%s", base, b.ptr);
	} else {
		git_buf_dispose(&b);
		if (git_repository_item_path(&b, repo, GIT_REPOSITORY_ITEM_HOOKS) < 0)
			rc = cr_git_error("cannot find the hooks directory");
		else
			snprintf(out, len, "%s", b.ptr);
	}
	git_buf_dispose(&b);
	git_config_free(cfg);
	return rc;
}
