/*
 * A push checked as a git server's pre-receive hook checks it, and the
 * release tags of a push as a client's pre-push hook does. Each namespace
 * is opened read-only at the ledger tip the push would leave, so the
 * quarantined objects are read and nothing is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "facade/internal.h"
#include "util/error.h"

static const char *const known_refs[] = {
	"refs/clean-release/ledger", "refs/clean-release/policy", "refs/notes/clean-release",
	"refs/clean-release-demo/ledger", "refs/clean-release-demo/policy", "refs/notes/clean-release-demo",
	NULL,
};
/* Everything that looks like clean-release evidence: only KNOWN_REFS may be pushed. */
static const char *const evidence_prefixes[] = {"refs/clean-release/", "refs/clean-release-", "refs/notes/clean-release",
						NULL};

static bool is_hex_oid(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return (n == 40 || n == 64) && !s[n];
}

int cr_facade_push_updates_parse(const char *line, cr_push_update *out, char *ref, size_t reflen)
{
	char old[80], new_[80];
	int used = 0;

	memset(out, 0, sizeof(*out));
	if (sscanf(line, "%79s %79s %n", old, new_, &used) != 2 || !is_hex_oid(old) || !is_hex_oid(new_) ||
	    !line[used] || strlen(line + used) >= reflen || strpbrk(line + used, " \t\r\n"))
		return cr_error_set(CR_EINVALID_ARGUMENT, "not an \"<old> <new> <ref>\" line: %.120s", line);
	snprintf(ref, reflen, "%s", line + used);
	out->ref = ref;
	snprintf(out->old, sizeof(out->old), "%.64s", strspn(old, "0") == strlen(old) ? "" : old);
	snprintf(out->new_, sizeof(out->new_), "%.64s", strspn(new_, "0") == strlen(new_) ? "" : new_);
	return 0;
}

static int merge(cr_push_verdict *into, cr_push_verdict *from)
{
	int rc = 0;
	for (size_t i = 0; i < from->n && rc == 0; i++)
		rc = cr_push_verdict_add(into, &from->v[i]);
	into->commits += from->commits;
	into->objects += from->objects;
	cr_push_verdict_clear(from);
	return rc;
}

/* One namespace's check: opened at the ledger tip the push leaves. */
static int check_ns(const char *repo, bool demo, bool tags_only, const cr_push_update *u, size_t n,
		    cr_push_verdict *out)
{
	cr_git_refs refs;
	const char *at = NULL;
	cr_facade *f = NULL;
	cr_push_verdict v = {0};
	int rc;

	cr_git_refs_for(&refs, demo ? "clean-release-demo" : "clean-release");
	for (size_t i = 0; i < n && !tags_only; i++)
		if (!strcmp(u[i].ref, refs.ledger) && u[i].new_[0])
			at = u[i].new_;
	cr_facade_opts o = {.demo = demo, .repo = repo, .read_only = true, .ledger_at = at};
	if ((rc = cr_facade_open(&f, &o)) < 0)
		return rc;
	cr_push_names nm = {.known = known_refs, .tags = !demo};
	if (!tags_only) {
		nm.ledger = refs.ledger;
		nm.policy = refs.policy;
		nm.notes = refs.notes;
		nm.evidence_prefixes = demo ? NULL : evidence_prefixes;
	}
	if ((rc = cr_svc_push_check(&f->svc, &nm, u, n, &v)) == 0)
		rc = merge(out, &v);
	cr_facade_close(f);
	return rc;
}

int cr_facade_push_check(const char *repo, const cr_push_update *u, size_t n, bool tags_only,
			 cr_push_verdict *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_ns(repo, false, tags_only, u, n, out)) < 0 ||
	    (!tags_only && (rc = check_ns(repo, true, false, u, n, out)) < 0))
		cr_push_verdict_clear(out);
	return rc;
}
