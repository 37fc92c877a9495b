/* The repository, libgit2 errors, config, and compare-and-swap of refs. */
#include "adapters/git/ledger_internal.h"

/* ---- errors and repository ------------------------------------------- */

int cr_git_error(const char *what)
{
	const git_error *e = git_error_last();
	return cr_error_set(CR_ESTORAGE, "%s: %s", what, e && e->message ? e->message : "git error");
}

int cr_git_open(git_repository **out, const char *path)
{
	if (git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
		if (path) {
			const git_error *e = git_error_last();
			return cr_error_set(CR_EINVALID_ARGUMENT, "not a git repository: %.1024s (%s)", path,
					    e && e->message ? e->message : "cannot open it");
		}
		cr_error_set(CR_EINVALID_ARGUMENT, "not a git repository (or any of the parent directories)");
		cr_error_hint("run it inside a repository, or name one with -C DIR");
		return CR_EINVALID_ARGUMENT;
	}
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

