/* The git hooks: read git's lines, ask the facade, say why. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "facade/facade.h"
#include "hooks/hooks.h"
#include "util/embedded.h"
#include "util/error.h"

#define LINE_MAX_BYTES 4096
#define UPDATES_MAX 100000

struct updates {
	cr_push_update *u;
	char **refs; /* each update's ref name, which u[i].ref points at */
	size_t n, cap;
};

static void updates_free(struct updates *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->refs[i]);
	free(x->u);
	free(x->refs);
	memset(x, 0, sizeof(*x));
}

static int updates_grow(struct updates *x)
{
	if (x->n < x->cap)
		return 0;
	if (x->n >= UPDATES_MAX)
		return cr_error_set(CR_EINVALID_ARGUMENT, "more than %d ref updates in one push", UPDATES_MAX);
	size_t cap = x->cap ? x->cap * 2 : 16;
	cr_push_update *u = realloc(x->u, cap * sizeof(*u));
	if (u)
		x->u = u;
	char **r = realloc(x->refs, cap * sizeof(*r));
	if (r)
		x->refs = r;
	if (!u || !r)
		return cr_error_set(CR_EINTERNAL, "out of memory");
	x->cap = cap;
	return 0;
}

/* Parse LINE (pre-receive's form) into the next update. */
static int updates_add(struct updates *x, const char *line)
{
	char ref[LINE_MAX_BYTES];
	int rc = updates_grow(x);
	if (rc == 0)
		rc = cr_facade_push_updates_parse(line, &x->u[x->n], ref, sizeof(ref));
	if (rc == 0 && !(x->refs[x->n] = strdup(ref)))
		rc = cr_error_set(CR_EINTERNAL, "out of memory");
	if (rc == 0) {
		x->u[x->n].ref = x->refs[x->n];
		x->n++;
	}
	return rc;
}

/* Read git's lines: pre-receive's "<old> <new> <ref>", or pre-push's
 * "<local ref> <local oid> <remote ref> <remote oid>" turned into the
 * remote ref's update (old: what the remote has, new: what is pushed). */
static int read_updates(FILE *in, bool pre_push, struct updates *x)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((size_t)len >= LINE_MAX_BYTES) {
			rc = cr_error_set(CR_EINVALID_ARGUMENT, "a line of %zd bytes on standard input", len);
			break;
		}
		if (pre_push) {
			char lref[LINE_MAX_BYTES], lo[80], rref[LINE_MAX_BYTES], ro[80], rest[2];
			if (sscanf(line, "%4095s %79s %4095s %79s %1s", lref, lo, rref, ro, rest) != 4) {
				rc = cr_error_set(CR_EINVALID_ARGUMENT,
						  "not a \"<local ref> <local oid> <remote ref> <remote oid>\" line: %.120s",
						  line);
				break;
			}
			char as_pre_receive[LINE_MAX_BYTES + 200];
			snprintf(as_pre_receive, sizeof(as_pre_receive), "%s %s %s", ro, lo, rref);
			rc = updates_add(x, as_pre_receive);
		} else {
			rc = updates_add(x, line);
		}
	}
	if (rc == 0 && ferror(in))
		rc = cr_error_set(CR_EINVALID_ARGUMENT, "cannot read standard input: %s", strerror(errno));
	free(line);
	return rc;
}

static void say(FILE *err, const cr_push_verdict *v, size_t nrefs)
{
	for (size_t i = 0; i < v->n; i++) {
		const cr_push_finding *f = &v->v[i];
		fprintf(err, "clean-release: %s %s: %s\n", f->refused ? "refused" : "note:", f->ref, f->why);
		if (f->hint[0])
			fprintf(err, "clean-release:   what to do: %s\n", f->hint);
	}
	if (v->refused)
		fprintf(err, "clean-release: the push is refused (%zu of %zu ref update%s); nothing was changed\n",
			v->refused, nrefs, nrefs == 1 ? "" : "s");
	else if (v->commits)
		fprintf(err, "clean-release: ok: %llu ledger commit%s, %llu objects verified\n",
			(unsigned long long)v->commits, v->commits == 1 ? "" : "s", (unsigned long long)v->objects);
}

static int check(const char *repo, FILE *in, FILE *err, bool pre_push)
{
	struct updates x = {0};
	cr_push_verdict v = {0};
	int rc;

	if ((rc = read_updates(in, pre_push, &x)) == 0 && x.n > 0 &&
	    (rc = cr_facade_push_check(repo, x.u, x.n, pre_push, &v)) == 0) {
		say(err, &v, x.n);
		rc = v.refused ? 1 : 0;
	}
	cr_push_verdict_clear(&v);
	updates_free(&x);
	return rc;
}

int cr_hooks_pre_receive(const char *repo, FILE *in, FILE *err)
{
	return check(repo, in, err, false);
}

int cr_hooks_pre_push(const char *repo, FILE *in, FILE *err)
{
	return check(repo, in, err, true);
}

/* ---- install ---------------------------------------------------------- */

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

int cr_hooks_install(const char *repo, bool server, bool force, FILE *out)
{
	const char *name = server ? "pre-receive" : "pre-push";
	const struct cr_embedded_file *hook = cr_embedded_find(name);
	char dir[4096], path[4200], tmp[4300], old[8192];
	cr_facade *f = NULL;
	int rc, fd = -1;

	if (!hook)
		return cr_error_set(CR_EINTERNAL, "the %s hook is not built into this program", name);
	cr_facade_opts o = {.repo = repo, .read_only = true};
	if ((rc = cr_facade_open(&f, &o)) < 0)
		return rc;
	if (!server && cr_facade_is_bare(f)) {
		cr_facade_close(f);
		cr_error_set(CR_EINVALID_ARGUMENT, "this repository is bare: a pre-push hook belongs in a clone");
		return cr_error_hint("on a git server: git clean-release hook install --server");
	}
	rc = cr_facade_hooks_dir(f, dir, sizeof(dir));
	cr_facade_close(f);
	if (rc < 0)
		return rc;
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dir[--dl] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int n = read_small(path, old, sizeof(old));
	if (n >= 0 && strcmp(old, hook->data) == 0) {
		if (out)
			fprintf(out, "%s is installed already\n", path);
		return 0;
	}
	if (n >= 0 && !force) {
		cr_error_set(CR_ECONFLICT, "%s exists and is not clean-release's hook", path);
		return cr_error_hint("call 'git clean-release hook %s' from it, or replace it: git clean-release hook install%s --force",
				     name, server ? " --server" : "");
	}
	if (n < 0 && errno != ENOENT) {
		return cr_error_set(CR_ESTORAGE, "cannot read %s: %s", path, strerror(errno));
	}
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return cr_error_set(CR_ESTORAGE, "cannot create %s: %s", dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s/.%s.clean-release.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0755);
	if (fd < 0)
		return cr_error_set(CR_ESTORAGE, "cannot write %s: %s", tmp, strerror(errno));
	if (write(fd, hook->data, hook->size) != (ssize_t)hook->size || fchmod(fd, 0755) < 0 || fsync(fd) < 0) {
		rc = cr_error_set(CR_ESTORAGE, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return rc;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		rc = cr_error_set(CR_ESTORAGE, "cannot install %s: %s", path, strerror(errno));
		unlink(tmp);
		return rc;
	}
	if (out)
		fprintf(out, "installed %s\n", path);
	return 0;
}
